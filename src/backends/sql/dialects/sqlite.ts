/**
 * SQLite (better-sqlite3, SQLite ≥ 3.35 for RETURNING): `||`, `INSERT OR IGNORE`,
 * `UPDATE OR IGNORE`, `RETURNING`; no row locks (a write statement holds the database's write
 * lock, so one `UPDATE … RETURNING` claims atomically). knex returns the rows of a reading
 * statement and `{ changes }` for the others.
 *
 * @packageDocumentation
 */
import { type Dialect, numericId, type Row } from './dialect.js';
import { returningStrategies } from './returning.js';

/** The SQLite dialect. */
export const sqlite: Dialect = Object.freeze({
  name: 'sqlite',
  concat: (...parts: readonly string[]) => parts.join(' || '),
  insertIgnore: Object.freeze({ head: 'INSERT OR IGNORE INTO', tail: '' }),
  updateIgnore: 'UPDATE OR IGNORE',
  returning: true,
  skipLocked: '',
  // The pool is one connection: a host's transaction holds it.
  oneConnection: true,
  batchInOneTransaction: false,
  rows(result: unknown): Row[] {
    return Array.isArray(result) ? (result as Row[]) : [];
  },
  affected(result: unknown): number {
    return Number((result as { changes?: unknown } | null)?.changes ?? 0);
  },
  bindId: numericId,
  ...returningStrategies,
});
