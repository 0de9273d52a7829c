/**
 * PostgreSQL (pg, PostgreSQL ≥ 12): `||`, `ON CONFLICT DO NOTHING`, `RETURNING`,
 * `FOR UPDATE SKIP LOCKED`. pg returns `{ rows, rowCount }` and BIGINT as strings.
 *
 * @packageDocumentation
 */
import type { Dialect, Row } from './dialect.js';

/** The PostgreSQL dialect. */
export const postgres: Dialect = Object.freeze({
  name: 'postgres',
  concat: (...parts: readonly string[]) => parts.join(' || '),
  insertIgnore: Object.freeze({ head: 'INSERT INTO', tail: ' ON CONFLICT DO NOTHING' }),
  // No UPDATE IGNORE: a statement that can hit the dedup index is retried (see store.ts#rekey).
  updateIgnore: 'UPDATE',
  returning: true,
  skipLocked: ' FOR UPDATE SKIP LOCKED',
  rows(result: unknown): Row[] {
    return ((result as { rows?: Row[] } | null)?.rows ?? []) as Row[];
  },
  affected(result: unknown): number {
    return Number((result as { rowCount?: unknown } | null)?.rowCount ?? 0);
  },
});
