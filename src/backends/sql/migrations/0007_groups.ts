/**
 * Migration 7: flow-control groups (`groupKey`, `groupLimits`; `groups.ts`).
 *
 * - `group_key` on the jobs table (NULL for a keyless job). A grouped job that is queued has
 *   `state = 4` instead of 0, so the keyless claim (which reads `state = 0` through the claim
 *   index) never sees it and costs what it did before groups.
 * - The index `_group (domain, type, group_key, state, neg_priority, sort_key, id, release_at)`
 *   serves the grouped claim (one group's ready rows in pop order) and the count of a group's
 *   claims (`state = 1`, at most its cap). PostgreSQL and SQLite build it partial, `WHERE
 *   group_key IS NOT NULL`, so a keyless row never has an entry in it (inserts, claims and acks
 *   of keyless jobs touch no more index than before); MySQL / MariaDB have no partial indexes, so
 *   there every row has one entry (NULL group key; see the README for its measured cost).
 * - `${prefix}job_groups`: one row per (domain, type, group key) that has had queued jobs, plus
 *   the row `''` for the keyless jobs while any group has one: its `turn` (round-robin order:
 *   the lowest turn is served next, a served group takes the highest turn + 1) and its rate window
 *   (`window_end`, `window_count`), and `served`, the jobs its claims have taken (only claims move
 *   it: a claim that locks the row sees from it whether another claimed from the group since its
 *   look-ahead read). The claims a group holds are counted from the jobs, never kept as a counter,
 *   so every way a claim ends (ack, release, recycle, abandon, cancel, a crash) frees its slot
 *   with no bookkeeping.
 *
 * Additive and not breaking: an older switchyard never reads `state = 4` (it filters states 0–3)
 * and refuses `groupKey` itself, so grouped jobs just wait under it.
 *
 * @packageDocumentation
 */
import type { DialectName } from '../knex-like.js';
import type { Tables } from '../queries.js';
import type { Migration } from './migration.js';

/** The group index's columns. */
export const GROUP_INDEX_COLUMNS = 'domain, type, group_key, state, neg_priority, sort_key, id, release_at';

function up(dialect: DialectName, t: Tables): string[] {
  if (dialect === 'mysql') {
    const name = 'VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL';
    // The group key as its UTF-8 bytes: a utf8mb4 VARCHAR(255) counts 1,020 bytes in an index
    // key, and (domain, type, group_key, …) would pass InnoDB's 3,072-byte limit; 765 bytes hold
    // any key of up to 255 UTF-16 units (3 bytes per unit at most), compared bytewise as `_bin` is.
    const key = 'VARBINARY(765)';
    return [
      `ALTER TABLE ${t.jobs} ADD COLUMN group_key ${key} NULL, ADD INDEX ${t.jobs}_group (${GROUP_INDEX_COLUMNS})`,
      `CREATE TABLE ${t.groups} (
        domain ${name},
        type ${name},
        group_key ${key} NOT NULL,
        turn BIGINT NOT NULL DEFAULT 0,
        window_end BIGINT NOT NULL DEFAULT 0,
        window_count INT NOT NULL DEFAULT 0,
        served BIGINT NOT NULL DEFAULT 0,
        PRIMARY KEY (domain, type, group_key),
        KEY ${t.groups}_turn (domain, type, turn)
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
    ];
  }
  const [text, collate] = dialect === 'postgres' ? ['VARCHAR(255)', ' COLLATE "C"'] : ['TEXT', ''];
  return [
    `ALTER TABLE ${t.jobs} ADD COLUMN group_key ${text}${collate}`,
    `CREATE INDEX ${t.jobs}_group ON ${t.jobs} (${GROUP_INDEX_COLUMNS}) WHERE group_key IS NOT NULL`,
    `CREATE TABLE ${t.groups} (
      domain ${text}${collate} NOT NULL,
      type ${text}${collate} NOT NULL,
      group_key ${text}${collate} NOT NULL,
      turn BIGINT NOT NULL DEFAULT 0,
      window_end BIGINT NOT NULL DEFAULT 0,
      window_count INTEGER NOT NULL DEFAULT 0,
      served BIGINT NOT NULL DEFAULT 0,
      PRIMARY KEY (domain, type, group_key)
    )`,
    `CREATE INDEX ${t.groups}_turn ON ${t.groups} (domain, type, turn)`,
  ];
}

/** Migration 7: flow-control groups. */
export const migration0007: Migration = Object.freeze({
  version: 7,
  name: 'groups',
  breaking: false,
  up,
  tables: (t: Tables) => [t.groups],
});
