/**
 * Migration 3: the `${prefix}paused_queues` table, one row per paused (domain, type). Every claim
 * statement checks it with `NOT EXISTS` on its primary key (one index probe per claim), so a pause
 * is seen by every runner process at its next pop.
 *
 * Not breaking: an older switchyard ignores the table (and so does not honour pauses).
 *
 * @packageDocumentation
 */
import type { DialectName } from '../knex-like.js';
import type { Tables } from '../queries.js';
import type { Migration } from './migration.js';

function up(dialect: DialectName, t: Tables): string[] {
  if (dialect === 'postgres') {
    return [
      `CREATE TABLE ${t.paused} (
        domain VARCHAR(255) COLLATE "C" NOT NULL,
        type VARCHAR(255) COLLATE "C" NOT NULL,
        paused_at BIGINT NOT NULL,
        PRIMARY KEY (domain, type)
      )`,
    ];
  }
  if (dialect === 'mysql') {
    const name = 'VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL';
    return [
      `CREATE TABLE ${t.paused} (
        domain ${name},
        type ${name},
        paused_at BIGINT NOT NULL,
        PRIMARY KEY (domain, type)
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
    ];
  }
  return [
    `CREATE TABLE ${t.paused} (
      domain TEXT NOT NULL,
      type TEXT NOT NULL,
      paused_at INTEGER NOT NULL,
      PRIMARY KEY (domain, type)
    )`,
  ];
}

/** Migration 3: paused queues. */
export const migration0003: Migration = Object.freeze({
  version: 3,
  name: 'paused-queues',
  breaking: false,
  up,
  tables: (t: Tables) => [t.paused],
});
