/**
 * Migration 4: the `${prefix}periodic_ticks` table, one row per (domain, type, schedule name)
 * holding the last tick claimed. A claim is an insert-ignore of the row (the first tick ever) or
 * an `UPDATE … WHERE tick < ?` (a later tick): each one statement, so exactly one process wins a
 * tick (see claimPeriodicTick in the queue).
 *
 * Not breaking: an older switchyard ignores the table (and has no periodic jobs).
 *
 * @packageDocumentation
 */
import type { DialectName } from '../knex-like.js';
import type { Tables } from '../queries.js';
import type { Migration } from './migration.js';

function up(dialect: DialectName, t: Tables): string[] {
  if (dialect === 'postgres') {
    return [
      `CREATE TABLE ${t.ticks} (
        domain VARCHAR(255) COLLATE "C" NOT NULL,
        type VARCHAR(255) COLLATE "C" NOT NULL,
        name VARCHAR(128) COLLATE "C" NOT NULL,
        tick BIGINT NOT NULL,
        PRIMARY KEY (domain, type, name)
      )`,
    ];
  }
  if (dialect === 'mysql') {
    // InnoDB keys are at most 3,072 bytes: (255 + 255 + 128) utf8mb4 characters × 4 fit.
    const col = (n: number) => `VARCHAR(${n}) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL`;
    return [
      `CREATE TABLE ${t.ticks} (
        domain ${col(255)},
        type ${col(255)},
        name ${col(128)},
        tick BIGINT NOT NULL,
        PRIMARY KEY (domain, type, name)
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
    ];
  }
  return [
    `CREATE TABLE ${t.ticks} (
      domain TEXT NOT NULL,
      type TEXT NOT NULL,
      name TEXT NOT NULL,
      tick INTEGER NOT NULL,
      PRIMARY KEY (domain, type, name)
    )`,
  ];
}

/** Migration 4: periodic ticks. */
export const migration0004: Migration = Object.freeze({
  version: 4,
  name: 'periodic-ticks',
  breaking: false,
  up,
  tables: (t: Tables) => [t.ticks],
});
