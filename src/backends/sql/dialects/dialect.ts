/**
 * What differs between SQLite, PostgreSQL and MySQL / MariaDB, in one small interface (knex's
 * "one base client, a subclass per dialect overriding only what differs", STYLE). Everything else
 * is shared SQL in `../queries.ts`.
 *
 * @packageDocumentation
 */
import type { DialectName } from '../knex-like.js';

/** One result row, as the driver returns it. */
export type Row = Readonly<Record<string, unknown>>;

/** The SQL and result-shape differences of one dialect. */
export interface Dialect {
  readonly name: DialectName;
  /** A string concatenation expression of SQL expressions. */
  concat(...parts: readonly string[]): string;
  /** `INSERT … ` head and tail that skip rows hitting a unique index (P-13: never read-then-insert). */
  readonly insertIgnore: { readonly head: string; readonly tail: string };
  /**
   * An `UPDATE` head that skips rows hitting a unique index (`UPDATE IGNORE`, `UPDATE OR IGNORE`),
   * or plain `UPDATE` where the dialect has none (PostgreSQL: the caller retries on a conflict).
   */
  readonly updateIgnore: string;
  /** True when `UPDATE` / `DELETE … RETURNING` works (PostgreSQL, SQLite ≥ 3.35; not MySQL 8). */
  readonly returning: boolean;
  /** The row-locking clause of the claim's SELECT (`FOR UPDATE SKIP LOCKED`), or '' (SQLite). */
  readonly skipLocked: string;
  /** The rows of a raw result. */
  rows(result: unknown): Row[];
  /** The rows matched by an UPDATE / DELETE / INSERT. */
  affected(result: unknown): number;
}
