/**
 * The SQL aggregator's statements as pure builders returning `{ sql, bindings }` (STYLE 13), one
 * place for what differs between SQLite, PostgreSQL and MySQL / MariaDB. Table names come from a
 * validated prefix (lowercase letters, digits, `_`), so identifiers never need quoting.
 *
 * Tables:
 * - `<prefix>aggregator_ready` (domain_name, job_type, marked_at): one row per ready queue, with
 *   the epoch ms of its latest non-empty mark; primary key (domain_name, job_type). MySQL columns
 *   use a binary collation so `enwiki` and `ENWIKI` stay two domains.
 * - `<prefix>aggregator_meta` (id = 1, built_at, expires_at): the built marker. The row always
 *   exists once the schema is ensured; `built_at IS NULL` means no map. A swap or purge updates it
 *   first, which serialises concurrent swaps on every dialect.
 *
 * @packageDocumentation
 */
import type { Binding, DialectName } from '../../backends/sql/knex-like.js';

/** A statement and its `?` bindings. */
export interface Statement {
  readonly sql: string;
  readonly bindings: readonly Binding[];
}

/** The aggregator's table names for a prefix. */
export interface AggregatorTables {
  readonly ready: string;
  readonly meta: string;
}

/** Valid table prefixes: lowercase, so identifiers never need quoting; short, so names fit 63 chars. */
export const SQL_AGGREGATOR_PREFIX_PATTERN: RegExp = /^(?:[a-z_][a-z0-9_]{0,31})?$/;

/** Table names under `prefix`. */
export function aggregatorTables(prefix: string): AggregatorTables {
  return Object.freeze({ ready: `${prefix}aggregator_ready`, meta: `${prefix}aggregator_meta` });
}

/** Rows per multi-row INSERT of a rebuild (3 bindings each; well under every driver's limit). */
export const INSERT_CHUNK = 500;

const q = (sql: string, bindings: readonly Binding[] = []): Statement => ({ sql, bindings });

/** `CREATE TABLE IF NOT EXISTS` for both tables, then the meta row (idempotent). */
export function ensureSchema(dialect: DialectName, t: AggregatorTables): Statement[] {
  const name =
    dialect === 'mysql' ? 'VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin' : 'VARCHAR(255)';
  const engine = dialect === 'mysql' ? ' ENGINE=InnoDB' : '';
  return [
    q(
      `CREATE TABLE IF NOT EXISTS ${t.ready} (domain_name ${name} NOT NULL, job_type ${name} NOT NULL, ` +
        `marked_at BIGINT NOT NULL, PRIMARY KEY (domain_name, job_type))${engine}`,
    ),
    q(
      `CREATE TABLE IF NOT EXISTS ${t.meta} (id SMALLINT NOT NULL PRIMARY KEY, built_at BIGINT NULL, ` +
        `expires_at BIGINT NULL)${engine}`,
    ),
    q(
      `${insertIgnoreHead(dialect)} ${t.meta} (id, built_at, expires_at) VALUES (1, NULL, NULL)${insertIgnoreTail(dialect)}`,
    ),
  ];
}

function insertIgnoreHead(dialect: DialectName): string {
  return dialect === 'mysql'
    ? 'INSERT IGNORE INTO'
    : dialect === 'sqlite'
      ? 'INSERT OR IGNORE INTO'
      : 'INSERT INTO';
}

function insertIgnoreTail(dialect: DialectName): string {
  return dialect === 'postgres' ? ' ON CONFLICT DO NOTHING' : '';
}

/** Sets the mark of (domain, type) to max(stored, at): one upsert. */
export function notifyNonEmpty(
  dialect: DialectName,
  t: AggregatorTables,
  domain: string,
  type: string,
  at: number,
): Statement {
  const head = `INSERT INTO ${t.ready} (domain_name, job_type, marked_at) VALUES (?, ?, ?)`;
  switch (dialect) {
    case 'mysql':
      return q(`${head} ON DUPLICATE KEY UPDATE marked_at = GREATEST(marked_at, VALUES(marked_at))`, [
        domain,
        type,
        at,
      ]);
    case 'postgres':
      return q(
        `${head} ON CONFLICT (domain_name, job_type) DO UPDATE SET marked_at = EXCLUDED.marked_at ` +
          `WHERE ${t.ready}.marked_at < EXCLUDED.marked_at`,
        [domain, type, at],
      );
    case 'sqlite':
      return q(
        `${head} ON CONFLICT (domain_name, job_type) DO UPDATE SET marked_at = excluded.marked_at ` +
          'WHERE marked_at < excluded.marked_at',
        [domain, type, at],
      );
  }
}

/** Deletes the mark of (domain, type) iff it is strictly older than `observedAt`. */
export function notifyEmpty(
  t: AggregatorTables,
  domain: string,
  type: string,
  observedAt: number,
): Statement {
  return q(`DELETE FROM ${t.ready} WHERE domain_name = ? AND job_type = ? AND marked_at < ?`, [
    domain,
    type,
    observedAt,
  ]);
}

/**
 * The built marker and every ready queue in ONE statement (one snapshot on every dialect): no row
 * when there is no map; one row with NULL names for a built, empty map.
 */
export function readAll(t: AggregatorTables): Statement {
  return q(
    `SELECT m.built_at, m.expires_at, r.domain_name, r.job_type FROM ${t.meta} m ` +
      `LEFT JOIN ${t.ready} r ON 1 = 1 WHERE m.id = 1 AND m.built_at IS NOT NULL`,
  );
}

/** First statement of a swap or purge: takes the meta row's write lock (serialises swaps). */
export function lockMeta(t: AggregatorTables): Statement {
  return q(`UPDATE ${t.meta} SET built_at = built_at WHERE id = 1`);
}

/** Drops every mark not newer than `builtAt` (newer ones were pushes during the rebuild). */
export function dropOlderMarks(t: AggregatorTables, builtAt: number): Statement {
  return q(`DELETE FROM ${t.ready} WHERE marked_at <= ?`, [builtAt]);
}

/** Inserts rows at `builtAt`, skipping queues that kept a newer mark. */
export function insertMarks(
  dialect: DialectName,
  t: AggregatorTables,
  rows: readonly (readonly [domain: string, type: string])[],
  builtAt: number,
): Statement {
  const bindings: Binding[] = [];
  for (const [domain, type] of rows) bindings.push(domain, type, builtAt);
  const values = rows.map(() => '(?, ?, ?)').join(', ');
  return q(
    `${insertIgnoreHead(dialect)} ${t.ready} (domain_name, job_type, marked_at) VALUES ${values}${insertIgnoreTail(dialect)}`,
    bindings,
  );
}

/** Sets (or, with nulls, clears) the built marker. */
export function setBuilt(t: AggregatorTables, builtAt: number | null, expiresAt: number | null): Statement {
  return q(`UPDATE ${t.meta} SET built_at = ?, expires_at = ? WHERE id = 1`, [builtAt, expiresAt]);
}

/** Deletes every mark. */
export function deleteAllMarks(t: AggregatorTables): Statement {
  return q(`DELETE FROM ${t.ready}`);
}

/** Drops both tables (tests, uninstall). */
export function dropSchema(t: AggregatorTables): Statement[] {
  return [q(`DROP TABLE IF EXISTS ${t.ready}`), q(`DROP TABLE IF EXISTS ${t.meta}`)];
}
