/**
 * Migration 5: job priorities. A `neg_priority` column (the job's priority negated, NOT NULL
 * DEFAULT 0, so every existing row is priority 0) and the claim index rebuilt with it right
 * before `sort_key`: `(domain, type, state, neg_priority, sort_key, id, release_at)`. The claim's
 * `ORDER BY neg_priority, sort_key, id` is then the index order (highest priority first, the
 * queue's order within one priority) in all three dialects with no DESC index, and the claim
 * stays one range scan of that index with no sort (EXPLAIN notes on the claim in `queries.ts`).
 *
 * The index rebuild locks the jobs table for writes while it runs (PostgreSQL and SQLite: inside
 * the migration's transaction; MySQL / MariaDB: one `ALTER TABLE`, the column added and the index
 * swapped together). Not breaking: an older switchyard inserts priority 0 through the default and
 * ignores the column (its claims still work, ordered by `sort_key, id` only, but need a sort).
 *
 * @packageDocumentation
 */
import type { DialectName } from '../knex-like.js';
import type { Tables } from '../queries.js';
import type { Migration } from './migration.js';

/** The claim index's columns from migration 5 on. */
export const CLAIM_INDEX_COLUMNS = 'domain, type, state, neg_priority, sort_key, id, release_at';

function up(dialect: DialectName, t: Tables): string[] {
  if (dialect === 'mysql') {
    return [
      `ALTER TABLE ${t.jobs} ADD COLUMN neg_priority INT NOT NULL DEFAULT 0, DROP INDEX ${t.jobs}_claim, ADD INDEX ${t.jobs}_claim (${CLAIM_INDEX_COLUMNS})`,
    ];
  }
  return [
    `ALTER TABLE ${t.jobs} ADD COLUMN neg_priority INTEGER NOT NULL DEFAULT 0`,
    `DROP INDEX ${t.jobs}_claim`,
    `CREATE INDEX ${t.jobs}_claim ON ${t.jobs} (${CLAIM_INDEX_COLUMNS})`,
  ];
}

/** Migration 5: job priorities. */
export const migration0005: Migration = Object.freeze({
  version: 5,
  name: 'priorities',
  breaking: false,
  up,
  tables: () => [],
});
