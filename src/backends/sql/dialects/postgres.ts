/**
 * PostgreSQL (pg, PostgreSQL ≥ 12): `||`, `ON CONFLICT DO NOTHING`, `RETURNING`,
 * `FOR UPDATE SKIP LOCKED`. pg returns `{ rows, rowCount }` and BIGINT as strings.
 *
 * @packageDocumentation
 */
import type { Dialect, Row } from './dialect.js';
import { returningStrategies } from './returning.js';

/** The largest BIGINT id. */
const MAX_BIGINT = 2n ** 63n - 1n;

/** The PostgreSQL dialect. */
export const postgres: Dialect = Object.freeze({
  name: 'postgres',
  concat: (...parts: readonly string[]) => parts.join(' || '),
  insertIgnore: Object.freeze({ head: 'INSERT INTO', tail: ' ON CONFLICT DO NOTHING' }),
  // No UPDATE IGNORE: a statement that can hit the dedup index is retried (see queue.ts#rekey).
  updateIgnore: 'UPDATE',
  returning: true,
  skipLocked: ' FOR UPDATE SKIP LOCKED',
  oneConnection: false,
  // One commit for a push of several statements, not one per statement.
  batchInOneTransaction: true,
  rows(result: unknown): Row[] {
    return ((result as { rows?: Row[] } | null)?.rows ?? []) as Row[];
  },
  affected(result: unknown): number {
    return Number((result as { rowCount?: unknown } | null)?.rowCount ?? 0);
  },
  // BIGINT ids are bound as strings (pg returns them as strings, and they may pass 2^53).
  bindId: (id: string) => (BigInt(id) <= MAX_BIGINT ? id : null),
  ...returningStrategies,
});
