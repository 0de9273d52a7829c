/**
 * {@link SqlDatabase}: one database the sql backend talks to, through a knex instance it either
 * owns (created lazily from settings, destroyed on close) or borrows from the host (never
 * closed). knex and its driver are imported on first use, with an install hint when missing.
 *
 * @packageDocumentation
 */
import { configInvalid, ErrorCode, type Issue, SwitchyardError } from '../../core/errors.js';
import { DIALECTS, type Dialect } from './dialects/index.js';
import { knexLogOption } from './driver-log.js';
import type { DialectName, KnexLike, KnexRawLike } from './knex-like.js';
import {
  applyMigrations,
  dialectFor,
  MIGRATIONS,
  migrate,
  newerSchemaError,
  schemaStatus,
} from './migrations/index.js';
import { tablesFor } from './queries.js';
import {
  CLIENT_PACKAGES,
  CONNECTION_KEYS,
  connectionSpec,
  DEFAULT_MAX_JOB_BYTES,
  DEFAULT_PREFIX,
  type MigrateMode,
  type OwnedConnectionSpec,
  SETTING_KEYS,
  type SqlClient,
  type SqlConnectionSettings,
  validateSqlSettings,
} from './settings.js';

/** Creates a knex instance from a config (knex's default export). */
export type KnexFactory = (config: Readonly<Record<string, unknown>>) => KnexLike;

/** Imports the knex module. Replaceable for tests. */
export type KnexImporter = () => Promise<unknown>;

const KNEX_MODULE = 'knex';

/** Imports knex lazily (a variable specifier keeps bundlers and type checkers from requiring it). */
export const importKnex: KnexImporter = () => import(KNEX_MODULE);

const DIALECT_OF_CLIENT: Readonly<Record<SqlClient, DialectName>> = Object.freeze({
  sqlite: 'sqlite',
  pg: 'postgres',
  mysql2: 'mysql',
});

function installHint(client: SqlClient, cause: unknown): SwitchyardError {
  const packages = CLIENT_PACKAGES[client];
  const issue: Issue = {
    path: 'class',
    message: `the sql backend with client ${client} needs ${packages.join(' and ')}: run npm install ${packages.join(' ')}`,
    value: 'sql',
  };
  return configInvalid([issue], 'sql backend', { cause });
}

function isModuleNotFound(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') return true;
  return err instanceof Error && /Cannot find (module|package)|npm install/.test(err.message);
}

/**
 * Loads knex and builds an instance for `client`.
 *
 * @throws `SWITCHYARD_CONFIG_INVALID` naming `npm install knex <driver>` when knex or the driver
 *   is missing.
 */
export async function createKnex(
  client: SqlClient,
  config: Readonly<Record<string, unknown>>,
  importer: KnexImporter = importKnex,
): Promise<KnexLike> {
  let factory: KnexFactory;
  try {
    const mod = (await importer()) as { knex?: unknown; default?: unknown };
    const candidate = typeof mod.knex === 'function' ? mod.knex : mod.default;
    if (typeof candidate !== 'function') throw new TypeError('the knex module exports no knex() function');
    factory = candidate as KnexFactory;
  } catch (err) {
    throw isModuleNotFound(err) ? installHint(client, err) : err;
  }
  try {
    return factory(config);
  } catch (err) {
    throw isModuleNotFound(err) ? installHint(client, err) : err;
  }
}

/** Statements each SQLite connection keeps prepared (see {@link cachePreparedStatements}). */
const SQLITE_STATEMENT_CACHE = 256;

/** The slice of a better-sqlite3 connection the backend configures. */
interface SqliteConnection {
  pragma(sql: string): unknown;
  prepare(sql: string): unknown;
}

/**
 * Makes `conn.prepare(sql)` reuse the statement prepared for the same text (least recently used
 * dropped past {@link SQLITE_STATEMENT_CACHE}). knex's better-sqlite3 client prepares every query
 * anew, which was ~15% of a SQLite drain's CPU; the backend's statements repeat (the claim, the
 * ack of a given batch size, the insert of a given chunk). A better-sqlite3 statement is reusable
 * once `all()` / `run()` returned, which is all knex calls, and re-prepares itself after a schema
 * change. Only on connections the backend opens: a host's knex is left as it is.
 */
function cachePreparedStatements(conn: SqliteConnection): void {
  const prepare = conn.prepare.bind(conn);
  const cache = new Map<string, unknown>();
  conn.prepare = (sql: string): unknown => {
    let statement = cache.get(sql);
    if (statement !== undefined) {
      cache.delete(sql); // re-inserted below: most recently used last
    } else {
      statement = prepare(sql);
      if (cache.size >= SQLITE_STATEMENT_CACHE) {
        const oldest = cache.keys().next();
        if (oldest.done !== true) cache.delete(oldest.value);
      }
    }
    cache.set(sql, statement);
    return statement;
  };
}

/** SQLite pragmas on every new connection: WAL (readers never block the writer), a busy timeout. */
function withSqlitePragmas(config: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const pool = (config.pool ?? {}) as Record<string, unknown>;
  const hostAfterCreate = pool.afterCreate as
    | ((conn: unknown, done: (err: Error | null, conn: unknown) => void) => void)
    | undefined;
  return {
    ...config,
    pool: {
      min: 1,
      max: 1,
      ...pool,
      afterCreate(conn: SqliteConnection, done: (err: Error | null, conn: unknown) => void) {
        try {
          conn.pragma('journal_mode = WAL');
          conn.pragma('busy_timeout = 5000');
          conn.pragma('synchronous = NORMAL');
          cachePreparedStatements(conn);
        } catch (err) {
          done(err as Error, conn);
          return;
        }
        if (hostAfterCreate) hostAfterCreate(conn, done);
        else done(null, conn);
      },
    },
  };
}

let nextIdentity = 0;

/**
 * What databases on the same knex instance share: the instance (or its lazy creation), the
 * identity, and which prefixes are known to be migrated. One per host knex instance, one per
 * SQLite file in a process (better-sqlite3 is synchronous: two connections of one process
 * waiting on each other's write lock would block the event loop both need), one per
 * {@link SqlDatabase.open} otherwise.
 */
class Engine {
  readonly identity: string;
  readonly dialect: Dialect;
  readonly secrets: readonly string[];
  readonly owned: boolean;
  readonly #spec: OwnedConnectionSpec | null;
  #knex: Promise<KnexLike> | null;
  readonly #schemas = new Map<string, Promise<void>>();
  #maxPacket: Promise<number> | null = null;
  /** Open databases using this engine (owned engines are destroyed when it drops to 0). */
  refs = 0;

  constructor(
    identity: string,
    dialect: DialectName,
    spec: OwnedConnectionSpec | null,
    knex: KnexLike | null,
  ) {
    this.identity = identity;
    this.dialect = DIALECTS[dialect];
    this.owned = spec !== null;
    this.secrets = spec?.secrets ?? [];
    this.#spec = spec;
    this.#knex = knex ? Promise.resolve(knex) : null;
  }

  knex(): Promise<KnexLike> {
    if (!this.#knex) {
      const spec = this.#spec as OwnedConnectionSpec;
      const base = spec.client === 'sqlite' ? withSqlitePragmas(spec.knexConfig) : spec.knexConfig;
      // knex's own notices ("Connection Error: …") go to the driver logger, not console.log.
      const config = { ...base, log: knexLogOption(spec.secrets) };
      const created = createKnex(spec.client, config);
      this.#knex = created;
      created.catch(() => {
        if (this.#knex === created) this.#knex = null; // a failed load can be retried (e.g. after npm install)
      });
    }
    return this.#knex;
  }

  ensureSchema(prefix: string, mode: MigrateMode, via: KnexRawLike | undefined): Promise<void> {
    const known = this.#schemas.get(prefix);
    if (known) return known;
    if (via) return this.#ensure(prefix, mode, via);
    const promise = this.#ensure(prefix, mode, undefined);
    this.#schemas.set(prefix, promise);
    promise.catch(() => {
      if (this.#schemas.get(prefix) === promise) this.#schemas.delete(prefix);
    });
    return promise;
  }

  /**
   * The largest statement the server accepts, in bytes: MySQL's `max_allowed_packet` (read once
   * per instance; MariaDB 10.11 defaults to 16 MiB, and a larger INSERT fails with
   * ER_NET_PACKET_TOO_LARGE); unbounded (`Infinity`) for PostgreSQL and SQLite, whose limits are on
   * values (1 GB), not statements.
   */
  maxPacket(via: KnexRawLike): Promise<number> {
    if (this.dialect.name !== 'mysql') return Promise.resolve(Number.POSITIVE_INFINITY);
    if (!this.#maxPacket) {
      const read = Promise.resolve(via.raw('SELECT @@max_allowed_packet AS p', [])).then((result) => {
        const value = Number(this.dialect.rows(result)[0]?.p);
        return Number.isFinite(value) && value > 0 ? value : 4 * 1024 * 1024; // MySQL's smallest default
      });
      this.#maxPacket = read;
      read.catch(() => {
        if (this.#maxPacket === read) this.#maxPacket = null;
      });
    }
    return this.#maxPacket;
  }

  async #ensure(prefix: string, mode: MigrateMode, via: KnexRawLike | undefined): Promise<void> {
    const knex = await this.knex();
    const status = await schemaStatus(via ?? knex, { prefix });
    if (status && status.unknownBreaking.length > 0) throw newerSchemaError(prefix, status.unknownBreaking);
    if (status && status.pending.length === 0) return;
    if (mode === 'manual') {
      const missing = status ? status.pending : MIGRATIONS.map((m) => m.version);
      throw configInvalid(
        [
          {
            path: 'migrate',
            message: `is manual and the schema ${prefix} lacks migration ${missing.join(', ')}: run switchyard migrate, or migrate(knex, { prefix })`,
            value: mode,
          },
        ],
        `sql database ${this.identity}`,
      );
    }
    if (via) await applyMigrations(via, this.dialect.name, tablesFor(prefix));
    else await migrate(knex, { prefix });
  }

  async destroy(): Promise<void> {
    if (!this.owned) return; // a host instance: never ours to close
    const pending = this.#knex;
    this.#knex = null;
    this.#schemas.clear();
    if (!pending) return;
    let knex: KnexLike;
    try {
      knex = await pending;
    } catch {
      return; // never opened
    }
    await knex.destroy();
  }
}

const hostEngines = new WeakMap<object, Engine>();
const sqliteEngines = new Map<string, Engine>();

/** Options of a {@link SqlDatabase}. */
export interface SqlDatabaseOptions {
  /** Default table prefix of queues on this database. */
  readonly prefix?: string;
  /** Default migrate mode of queues on this database. */
  readonly migrate?: MigrateMode;
  /** Default largest job of queues on this database (bytes of params JSON). */
  readonly maxJobBytes?: number;
}

/**
 * A database the sql backend talks to: what a `connections` entry of class `sql` opens, and what
 * queues on it share (knex pool, migration state, store key for sibling queries).
 */
export class SqlDatabase {
  /** Default table prefix. */
  readonly prefix: string;
  /** Default migrate mode. */
  readonly migrateMode: MigrateMode;
  /** Default largest job (bytes of params JSON). */
  readonly maxJobBytes: number;
  readonly #engine: Engine;
  #closed = false;

  private constructor(engine: Engine, options: SqlDatabaseOptions) {
    this.#engine = engine;
    engine.refs++;
    this.prefix = options.prefix ?? DEFAULT_PREFIX;
    this.migrateMode = options.migrate ?? 'on-first-use';
    this.maxJobBytes = options.maxJobBytes ?? DEFAULT_MAX_JOB_BYTES;
  }

  /**
   * Opens (lazily: no I/O until the first query) a database the backend owns, from validated
   * settings. With no settings: SQLite at `./switchyard.sqlite`. Databases of one SQLite file
   * share one connection per process.
   *
   * @throws `SWITCHYARD_CONFIG_INVALID` listing every bad setting (passwords redacted).
   */
  static open(settings: SqlConnectionSettings = {}, path = ''): SqlDatabase {
    const issues = validateSqlSettings(settings as Readonly<Record<string, unknown>>, path);
    if (issues.length > 0) throw configInvalid(issues, 'sql connection settings');
    const options: { prefix?: string; migrate?: MigrateMode; maxJobBytes?: number } = {};
    if (settings.prefix !== undefined) options.prefix = settings.prefix;
    if (settings.migrate !== undefined) options.migrate = settings.migrate;
    if (settings.maxJobBytes !== undefined) options.maxJobBytes = settings.maxJobBytes;
    if (settings.knex) return SqlDatabase.forKnex(settings.knex, options);
    const spec = connectionSpec(settings);
    const dialect = DIALECT_OF_CLIENT[spec.client];
    if (spec.client !== 'sqlite' || spec.target === 'sqlite::memory:') {
      return new SqlDatabase(new Engine(spec.target, dialect, spec, null), options);
    }
    let engine = sqliteEngines.get(spec.target);
    if (!engine) {
      engine = new Engine(spec.target, dialect, spec, null);
      sqliteEngines.set(spec.target, engine);
    }
    return new SqlDatabase(engine, options);
  }

  /**
   * A database on a host knex instance, never closed by switchyard. Every database on one
   * instance shares its identity (store key) and migration state.
   *
   * @throws `SWITCHYARD_CONFIG_INVALID` when the knex client is not SQLite, PostgreSQL or MySQL.
   */
  static forKnex(knex: KnexLike, options: SqlDatabaseOptions = {}): SqlDatabase {
    let engine = hostEngines.get(knex);
    if (!engine) {
      const dialect = dialectFor(knex, 'sql backend');
      engine = new Engine(`knex#${++nextIdentity}`, dialect, null, knex);
      hostEngines.set(knex, engine);
    }
    return new SqlDatabase(engine, options);
  }

  /** Identifies the database in store keys: `sqlite:/abs/file`, `pg:postgres://user@host/db`, or `knex#3`. */
  get identity(): string {
    return this.#engine.identity;
  }

  /** The SQL dialect. */
  get dialect(): Dialect {
    return this.#engine.dialect;
  }

  /** True when switchyard created the knex instance (and destroys it with the last database using it). */
  get owned(): boolean {
    return this.#engine.owned;
  }

  /** Passwords to scrub from messages. */
  get secrets(): readonly string[] {
    return this.#engine.secrets;
  }

  /** True after {@link SqlDatabase.close}. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * The knex instance (created on the first call when owned).
   *
   * @throws `SWITCHYARD_QUEUE_CLOSED` after close; `SWITCHYARD_CONFIG_INVALID` with an
   *   `npm install` hint when knex or the driver is missing.
   */
  knex(): Promise<KnexLike> {
    if (this.#closed) {
      return Promise.reject(
        new SwitchyardError(ErrorCode.QUEUE_CLOSED, `sql database ${this.identity} is closed`),
      );
    }
    return this.#engine.knex();
  }

  /**
   * Makes sure the schema of `prefix` is current: migrates it (`on-first-use`) or checks it
   * (`manual`). Once per knex instance and prefix; a failure is retried on the next call.
   *
   * @param via - a host transaction to check (and migrate) through, for SQLite transactional
   *   enqueue, where the pool's only connection is the host's; nothing is remembered then.
   * @throws `SWITCHYARD_CONFIG_INVALID` when `manual` and the schema is not current, or when the
   *   schema has a breaking migration newer than this switchyard; driver errors as they are.
   */
  async ensureSchema(prefix: string, mode: MigrateMode, via?: KnexRawLike): Promise<void> {
    if (this.#closed)
      throw new SwitchyardError(ErrorCode.QUEUE_CLOSED, `sql database ${this.identity} is closed`);
    await this.#engine.ensureSchema(prefix, mode, via);
  }

  /**
   * The largest statement the server accepts, in bytes (`Infinity` where only values are bounded).
   * @param via - the connection or transaction to ask through.
   */
  maxPacket(via: KnexRawLike): Promise<number> {
    return this.#engine.maxPacket(via);
  }

  /**
   * Closes this database: destroys the knex pool when switchyard owns it and no other open
   * database shares it; never touches a host instance. Idempotent.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const engine = this.#engine;
    engine.refs--;
    if (engine.refs > 0) return;
    for (const [target, e] of sqliteEngines) if (e === engine) sqliteEngines.delete(target);
    await engine.destroy();
  }
}

/** Private databases (queues without a connection or knex), shared by identical settings. */
const privateDatabases = new Map<string, { db: SqlDatabase; refs: number }>();

/**
 * A private database for queues configured without a named connection: identical settings share
 * one pool, destroyed when the last queue using it closes.
 */
export function acquirePrivateDatabase(settings: SqlConnectionSettings, path = ''): SqlDatabase {
  const { prefix: _p, migrate: _m, maxJobBytes: _b, knex: _k, ...connection } = settings;
  const spec = connectionSpec(connection);
  const key = `${spec.target}\u0000${JSON.stringify(connection.pool ?? null)}`;
  const entry = privateDatabases.get(key);
  if (entry && !entry.db.closed) {
    entry.refs++;
    return entry.db;
  }
  const db = SqlDatabase.open(connection, path);
  privateDatabases.set(key, { db, refs: 1 });
  return db;
}

/** Releases a database from {@link acquirePrivateDatabase}; the last release closes it. */
export async function releasePrivateDatabase(db: SqlDatabase): Promise<void> {
  for (const [key, entry] of privateDatabases) {
    if (entry.db !== db) continue;
    entry.refs--;
    if (entry.refs > 0) return;
    privateDatabases.delete(key);
    await db.close();
    return;
  }
}

/** A queue's hold on its database: what it uses, and what its close() releases. */
export interface DatabaseHold {
  readonly db: SqlDatabase;
  release(): Promise<void>;
}

/**
 * The database of a queue: `shared` (never closed by the queue), else a handle on the host's
 * `settings.knex` (closing it never destroys the host's instance), else a private database from
 * the connection settings ({@link acquirePrivateDatabase}).
 */
export function holdDatabase(settings: SqlConnectionSettings, shared: SqlDatabase | undefined): DatabaseHold {
  if (shared) return { db: shared, release: async () => {} };
  if (settings.knex) {
    const db = SqlDatabase.forKnex(settings.knex);
    return { db, release: () => db.close() };
  }
  const db = acquirePrivateDatabase(settings);
  return { db, release: () => releasePrivateDatabase(db) };
}

/** Longest domain / type name (the VARCHAR(255) columns). */
const MAX_NAME_LENGTH = 255;

/**
 * The SQL settings among a queue's options, checked: names that fit the columns, valid settings,
 * and no connection settings next to a shared `database`.
 *
 * @throws `SWITCHYARD_CONFIG_INVALID` naming every bad option or setting (passwords redacted).
 */
export function queueSettings(
  options: SqlConnectionSettings & { readonly database?: unknown },
  names: { readonly domain: string; readonly type: string },
): SqlConnectionSettings {
  const issues: Issue[] = [];
  for (const key of ['domain', 'type'] as const) {
    const name = names[key];
    if (name.length > MAX_NAME_LENGTH) {
      issues.push({
        path: key,
        message: `must be at most ${MAX_NAME_LENGTH} characters`,
        value: name.slice(0, 40),
      });
    }
  }
  const settings: Record<string, unknown> = {};
  const given = options as unknown as Readonly<Record<string, unknown>>;
  for (const key of SETTING_KEYS) {
    if (given[key] !== undefined) settings[key] = given[key];
  }
  issues.push(...validateSqlSettings(settings, ''));
  if (options.database !== undefined) {
    if (!(options.database instanceof SqlDatabase)) {
      issues.push({ path: 'database', message: 'must be a SqlDatabase (SqlDatabase.open(settings))' });
    }
    for (const key of [...CONNECTION_KEYS, 'knex']) {
      if (settings[key] !== undefined) issues.push({ path: key, message: 'does not apply next to database' });
    }
  }
  if (issues.length > 0) throw configInvalid(issues, `options of sql queue "${names.type}"`);
  return settings as SqlConnectionSettings;
}
