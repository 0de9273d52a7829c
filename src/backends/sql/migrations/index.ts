/**
 * Schema migrations: numbered, append-only, compiled into the package, recorded in a ledger
 * table `${prefix}migrations` (version, name, breaking, applied_at). {@link migrate} is safe when
 * several processes run it at once: it holds a lock for the whole run (PostgreSQL: a transaction
 * advisory lock; MySQL: `GET_LOCK`; SQLite: the database write lock, taken by the first statement
 * of the transaction, which is what `BEGIN IMMEDIATE` does).
 *
 * @packageDocumentation
 */
import { configInvalid, type SwitchyardError } from '../../../core/errors.js';
import { DIALECTS } from '../dialects/index.js';
import { isMissingTable } from '../errors.js';
import {
  type DialectName,
  dialectOf,
  type KnexLike,
  type KnexRawLike,
  SUPPORTED_DRIVERS,
} from '../knex-like.js';
import { type Tables, tablesFor } from '../queries.js';
import { DEFAULT_PREFIX, PREFIX_PATTERN } from '../settings.js';
import { migration0001 } from './0001_init.js';
import { migration0002 } from './0002_partial_dedup_index.js';
import { migration0003 } from './0003_paused_queues.js';
import { migration0004 } from './0004_periodic_ticks.js';
import { migration0005 } from './0005_priorities.js';
import { migration0006 } from './0006_flows.js';
import { migration0007 } from './0007_groups.js';
import type { Migration } from './migration.js';

export type { Migration } from './migration.js';

/** Every migration, in order. Append only. */
export const MIGRATIONS: readonly Migration[] = Object.freeze([
  migration0001,
  migration0002,
  migration0003,
  migration0004,
  migration0005,
  migration0006,
  migration0007,
]);

/** The schema version this switchyard needs (the last migration's). */
export const SCHEMA_VERSION: number = MIGRATIONS[MIGRATIONS.length - 1]?.version ?? 0;

/** Options of {@link migrate}, {@link schemaStatus} and {@link dropSchema}. */
export interface MigrateOptions {
  /** Table prefix. Default `switchyard_`. */
  readonly prefix?: string;
}

/** What {@link migrate} did. */
export interface MigrateResult {
  /** Versions applied by this call (empty when the schema was up to date). */
  readonly applied: readonly number[];
  /** The schema version now. */
  readonly version: number;
}

/** The ledger as read by {@link schemaStatus}. */
export interface SchemaStatus {
  /** Versions recorded in the ledger. */
  readonly applied: readonly number[];
  /** Known versions not applied yet. */
  readonly pending: readonly number[];
  /** Applied versions this switchyard does not know that are marked breaking. */
  readonly unknownBreaking: readonly number[];
}

function prefixOf(options: MigrateOptions): string {
  const prefix = options.prefix ?? DEFAULT_PREFIX;
  if (typeof prefix !== 'string' || !PREFIX_PATTERN.test(prefix)) {
    throw configInvalid(
      [{ path: 'prefix', message: 'must be up to 32 lowercase letters, digits and _', value: prefix }],
      'sql migration options',
    );
  }
  return prefix;
}

/**
 * The dialect of `knex`.
 * @throws `SWITCHYARD_CONFIG_INVALID` (labelled with `source`) for a driver the backend does not support.
 */
export function dialectFor(knex: KnexRawLike, source = 'sql migration'): DialectName {
  const dialect = dialectOf(knex);
  if (dialect === null) {
    throw configInvalid(
      [
        {
          path: 'knex',
          message: 'uses a knex driver the sql backend does not support',
          choices: SUPPORTED_DRIVERS,
        },
      ],
      source,
    );
  }
  return dialect;
}

function ledgerDdl(dialect: DialectName, t: Tables): string {
  const engine = dialect === 'mysql' ? ' ENGINE=InnoDB' : '';
  return `CREATE TABLE IF NOT EXISTS ${t.migrations} (version INTEGER NOT NULL PRIMARY KEY, name VARCHAR(100) NOT NULL, breaking SMALLINT NOT NULL DEFAULT 0, applied_at BIGINT NOT NULL)${engine}`;
}

async function readLedger(db: KnexRawLike, dialect: DialectName, t: Tables): Promise<SchemaStatus> {
  const result = await db.raw(`SELECT version, breaking FROM ${t.migrations} ORDER BY version`, []);
  const rows = DIALECTS[dialect].rows(result);
  const applied = rows.map((r) => Number(r.version));
  const known = new Set(MIGRATIONS.map((m) => m.version));
  const done = new Set(applied);
  return {
    applied,
    pending: MIGRATIONS.filter((m) => !done.has(m.version)).map((m) => m.version),
    unknownBreaking: rows
      .filter((r) => !known.has(Number(r.version)) && Number(r.breaking) !== 0)
      .map((r) => Number(r.version)),
  };
}

/**
 * Reads the ledger without changing anything; null when there is none (never migrated).
 *
 * @param db - a knex instance or transaction.
 */
export async function schemaStatus(
  db: KnexRawLike,
  options: MigrateOptions = {},
): Promise<SchemaStatus | null> {
  const t = tablesFor(prefixOf(options));
  const dialect = dialectFor(db);
  try {
    return await readLedger(db, dialect, t);
  } catch (err) {
    if (isMissingTable(err)) return null;
    throw err;
  }
}

/** `SWITCHYARD_CONFIG_INVALID` for a ledger holding a breaking migration this version does not know. */
export function newerSchemaError(prefix: string, versions: readonly number[]): SwitchyardError {
  return configInvalid(
    [
      {
        path: 'prefix',
        message: `the schema has breaking migration ${versions.join(', ')}, newer than this switchyard (schema ${SCHEMA_VERSION}): upgrade switchyard`,
        value: prefix,
      },
    ],
    'sql schema',
  );
}

/**
 * Applies the pending migrations through `db`, which must already hold the migration lock (or be
 * a transaction that serialises writers, as a SQLite one does). Exported for the backend's
 * transactional-enqueue path; hosts call {@link migrate}.
 *
 * @internal
 */
export async function applyMigrations(db: KnexRawLike, dialect: DialectName, t: Tables): Promise<number[]> {
  await db.raw(ledgerDdl(dialect, t), []);
  const status = await readLedger(db, dialect, t);
  if (status.unknownBreaking.length > 0) throw newerSchemaError(t.prefix, status.unknownBreaking);
  const applied: number[] = [];
  for (const m of MIGRATIONS) {
    if (!status.pending.includes(m.version)) continue;
    for (const statement of m.up(dialect, t)) await db.raw(statement, []);
    await db.raw(`INSERT INTO ${t.migrations} (version, name, breaking, applied_at) VALUES (?, ?, ?, ?)`, [
      m.version,
      m.name,
      m.breaking ? 1 : 0,
      Date.now(),
    ]);
    applied.push(m.version);
  }
  return applied;
}

/** A 31-bit key for PostgreSQL's advisory lock (FNV-1a of the lock name). */
function lockKey(name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) {
    h ^= name.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h & 0x7fffffff;
}

/** Runs `fn` holding the migration lock of `prefix`, through one pinned connection. */
async function withMigrationLock<T>(
  knex: KnexLike,
  dialect: DialectName,
  t: Tables,
  fn: (db: KnexRawLike) => Promise<T>,
): Promise<T> {
  const name = `switchyard_migrate:${t.prefix}`;
  switch (dialect) {
    case 'postgres':
      // DDL is transactional in PostgreSQL: the whole run commits or nothing does.
      return knex.transaction(async (trx) => {
        await trx.raw('SELECT pg_advisory_xact_lock(CAST(? AS BIGINT))', [lockKey(name)]);
        return fn(trx);
      });
    case 'mysql':
      // MySQL commits DDL implicitly, so the transaction only pins the connection GET_LOCK is on.
      return knex.transaction(async (trx) => {
        const got = DIALECTS.mysql.rows(await trx.raw('SELECT GET_LOCK(?, 120) AS got', [name]));
        if (Number(got[0]?.got) !== 1) {
          throw new Error(`could not take the migration lock ${name} within 120 s`);
        }
        try {
          return await fn(trx);
        } finally {
          await trx.raw('SELECT RELEASE_LOCK(?)', [name]);
        }
      });
    default:
      // knex opens SQLite transactions with a deferred BEGIN; the first statement is a write, so
      // the transaction takes the database write lock at once (BEGIN IMMEDIATE), waiting on
      // busy_timeout while another process migrates.
      await knex.raw(ledgerDdl(dialect, t), []);
      return knex.transaction(async (trx) => {
        await trx.raw(`DELETE FROM ${t.migrations} WHERE version < 0`, []);
        return fn(trx);
      });
  }
}

/**
 * Brings the schema of `prefix` up to date: creates the ledger, applies every pending migration in
 * order and records each. Safe to run from many processes at once; a no-op when up to date.
 *
 * @example
 * ```ts
 * import knex from 'knex';
 * import { migrate } from 'switchyard/backends/sql';
 * const db = knex({ client: 'pg', connection: process.env.DATABASE_URL });
 * await migrate(db, { prefix: 'switchyard_' });
 * ```
 * @throws `SWITCHYARD_CONFIG_INVALID` for a bad prefix, a knex client the backend does not speak,
 *   or a ledger holding a breaking migration newer than this switchyard; driver errors as they are.
 */
export async function migrate(knex: KnexLike, options: MigrateOptions = {}): Promise<MigrateResult> {
  const t = tablesFor(prefixOf(options));
  const dialect = dialectFor(knex);
  const applied = await withMigrationLock(knex, dialect, t, (db) => applyMigrations(db, dialect, t));
  return { applied, version: SCHEMA_VERSION };
}

/**
 * Drops every table of `prefix` (jobs, root jobs, the ledger). Destructive: for tests and uninstalls.
 */
export async function dropSchema(knex: KnexLike, options: MigrateOptions = {}): Promise<void> {
  const t = tablesFor(prefixOf(options));
  dialectFor(knex);
  const tables = MIGRATIONS.flatMap((m) => [...m.tables(t)]).reverse();
  for (const table of [...tables, t.migrations]) await knex.raw(`DROP TABLE IF EXISTS ${table}`, []);
}
