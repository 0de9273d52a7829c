/**
 * MySQL 8 / MariaDB ≥ 10.6 (mysql2): `CONCAT()`, `INSERT IGNORE`, `UPDATE IGNORE`,
 * `FOR UPDATE SKIP LOCKED`, no `UPDATE … RETURNING` (the claim is a SELECT … SKIP LOCKED plus an
 * UPDATE in one short transaction). mysql2 returns `[rows, fields]`, or `[ResultSetHeader]`.
 *
 * @packageDocumentation
 */
import type { Dialect, Row } from './dialect.js';

/** The MySQL / MariaDB dialect. */
export const mysql: Dialect = Object.freeze({
  name: 'mysql',
  concat: (...parts: readonly string[]) => `CONCAT(${parts.join(', ')})`,
  insertIgnore: Object.freeze({ head: 'INSERT IGNORE INTO', tail: '' }),
  updateIgnore: 'UPDATE IGNORE',
  returning: false,
  skipLocked: ' FOR UPDATE SKIP LOCKED',
  rows(result: unknown): Row[] {
    const first = Array.isArray(result) ? (result[0] as unknown) : undefined;
    return Array.isArray(first) ? (first as Row[]) : [];
  },
  affected(result: unknown): number {
    const header = (Array.isArray(result) ? result[0] : result) as
      | { affectedRows?: unknown; info?: unknown }
      | undefined;
    // "Rows matched" (UPDATE) does not depend on the CLIENT_FOUND_ROWS flag of a host's pool:
    // an UPDATE that sets a value to itself still matched the row.
    const matched = typeof header?.info === 'string' ? /Rows matched:\s*(\d+)/.exec(header.info) : null;
    if (matched?.[1] !== undefined) return Number(matched[1]);
    return Number(header?.affectedRows ?? 0);
  },
});
