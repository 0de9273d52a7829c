/**
 * Migration 6: job dependencies (`pushFlow`). A links table `${prefix}job_deps`, one row per
 * unsettled link (dependency → dependent), deleted when the dependency settles; a waiting job
 * is `state = 3` in the jobs table (no claim index entry is read for it: the claim reads state 0)
 * and is ready once no link row names it. The job's `flags` carry "has dependents" and "ignore a
 * failed dependency" (no new jobs column). Indexes: the primary key (dependency_id, dependent_id)
 * serves a settle, `_dependent` the "anything left?" check, `_queue` maintenance's sweep.
 *
 * Additive and not breaking: an older switchyard never sees state 3 in its claims, counts or
 * listings (it filters states 0–2), so waiting jobs just wait under it.
 *
 * @packageDocumentation
 */
import type { DialectName } from '../knex-like.js';
import type { Tables } from '../queries.js';
import type { Migration } from './migration.js';

function up(dialect: DialectName, t: Tables): string[] {
  const indexes = [
    `CREATE INDEX ${t.deps}_dependent ON ${t.deps} (dependent_id)`,
    `CREATE INDEX ${t.deps}_queue ON ${t.deps} (domain, type, dependency_id)`,
  ];
  if (dialect === 'postgres') {
    return [
      `CREATE TABLE ${t.deps} (
        domain VARCHAR(255) COLLATE "C" NOT NULL,
        type VARCHAR(255) COLLATE "C" NOT NULL,
        dependency_id BIGINT NOT NULL,
        dependent_id BIGINT NOT NULL,
        PRIMARY KEY (dependency_id, dependent_id)
      )`,
      ...indexes,
    ];
  }
  if (dialect === 'mysql') {
    const name = 'VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL';
    return [
      `CREATE TABLE ${t.deps} (
        domain ${name},
        type ${name},
        dependency_id BIGINT UNSIGNED NOT NULL,
        dependent_id BIGINT UNSIGNED NOT NULL,
        PRIMARY KEY (dependency_id, dependent_id),
        KEY ${t.deps}_dependent (dependent_id),
        KEY ${t.deps}_queue (domain, type, dependency_id)
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
    ];
  }
  return [
    `CREATE TABLE ${t.deps} (
      domain TEXT NOT NULL,
      type TEXT NOT NULL,
      dependency_id INTEGER NOT NULL,
      dependent_id INTEGER NOT NULL,
      PRIMARY KEY (dependency_id, dependent_id)
    )`,
    ...indexes,
  ];
}

/** Migration 6: job dependencies. */
export const migration0006: Migration = Object.freeze({
  version: 6,
  name: 'flows',
  breaking: false,
  up,
  tables: (t: Tables) => [t.deps],
});
