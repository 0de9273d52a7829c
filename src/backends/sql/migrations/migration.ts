/**
 * The shape of one schema migration.
 *
 * @packageDocumentation
 */
import type { DialectName } from '../knex-like.js';
import type { Tables } from '../queries.js';

/**
 * One numbered, append-only schema change, compiled into the package (STYLE 14).
 *
 * @remarks `breaking` marks a change older switchyard versions cannot run against: a process that
 * finds a breaking migration it does not know in the ledger refuses to start instead of
 * corrupting data. Additive changes (a new index, a nullable column) are not breaking.
 */
export interface Migration {
  /** 1, 2, 3 … in file order; recorded in the `${prefix}migrations` ledger. */
  readonly version: number;
  /** A short name, recorded in the ledger (`init`, `add-priority`, …). */
  readonly name: string;
  /** True when older switchyard versions cannot work with the migrated schema. */
  readonly breaking: boolean;
  /** The statements, in order, for a dialect and table set. */
  up(dialect: DialectName, tables: Tables): readonly string[];
  /** The tables this migration creates (dropped, in reverse, by `dropSchema`). */
  tables(tables: Tables): readonly string[];
}
