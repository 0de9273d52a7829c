/**
 * The sql backend's settings: validation (every problem with its path; passwords never echoed),
 * client names, table prefixes, and the knex config built from a validated entry.
 *
 * ```yaml
 * connections:
 *   main: { class: sql, client: pg, connection: "postgres://app:${PGPASSWORD}@db/app", pool: { max: 20 } }
 *   local: { class: sql, filename: ./var/jobs.sqlite }       # client sqlite is implied
 * jobTypeConf:
 *   default: { class: sql, connection: main }
 *   refreshLinks: { class: sql, connection: main, prefix: wiki_ }
 * ```
 *
 * @packageDocumentation
 */
import { resolve } from 'node:path';
import { isPlainObject, redactUrl } from '../../core/checks.js';
import { describeValue, type Issue } from '../../core/errors.js';
import { isKnexLike, type KnexLike } from './knex-like.js';

export { redactUrl };

/** Default {@link SqlConnectionSettings.maxJobBytes}: 16 MiB, MariaDB's default `max_allowed_packet`. */
export const DEFAULT_MAX_JOB_BYTES = 16 * 1024 * 1024;

/** The largest `maxJobBytes` accepted: PostgreSQL's and SQLite's 1 GB limit on one value. */
export const MAX_JOB_BYTES_LIMIT = 1_000_000_000;

/** The default table prefix. */
export const DEFAULT_PREFIX = 'switchyard_';

/** The SQLite file used when neither a connection nor a knex instance is configured. */
export const DEFAULT_SQLITE_FILE = './switchyard.sqlite';

/** Valid table prefixes: lowercase, so identifiers never need quoting; short, so index names fit. */
export const PREFIX_PATTERN: RegExp = /^(?:[a-z_][a-z0-9_]{0,31})?$/;

/** The drivers the backend knows, by their canonical client name. */
export type SqlClient = 'sqlite' | 'pg' | 'mysql2';

/** Canonical client names (what messages list). */
export const SQL_CLIENTS: readonly SqlClient[] = Object.freeze(['sqlite', 'pg', 'mysql2']);

/** Accepted spellings of each client. */
const CLIENT_ALIASES: Readonly<Record<string, SqlClient>> = Object.freeze(
  Object.assign(Object.create(null) as Record<string, SqlClient>, {
    sqlite: 'sqlite',
    'better-sqlite3': 'sqlite',
    sqlite3: 'sqlite',
    pg: 'pg',
    postgres: 'pg',
    postgresql: 'pg',
    mysql2: 'mysql2',
    mysql: 'mysql2',
    mariadb: 'mysql2',
  }),
);

/** URL schemes that imply a client. */
const CLIENT_BY_SCHEME: Readonly<Record<string, SqlClient>> = Object.freeze(
  Object.assign(Object.create(null) as Record<string, SqlClient>, {
    'postgres:': 'pg',
    'postgresql:': 'pg',
    'mysql:': 'mysql2',
    'mysql2:': 'mysql2',
    'mariadb:': 'mysql2',
    'sqlite:': 'sqlite',
    'file:': 'sqlite',
  }),
);

/** The npm packages each client needs (for the install hint). */
export const CLIENT_PACKAGES: Readonly<Record<SqlClient, readonly string[]>> = Object.freeze({
  sqlite: Object.freeze(['knex', 'better-sqlite3']),
  pg: Object.freeze(['knex', 'pg']),
  mysql2: Object.freeze(['knex', 'mysql2']),
});

/** When the schema is migrated. */
export type MigrateMode = 'on-first-use' | 'manual';

/** Valid {@link MigrateMode}s. */
export const MIGRATE_MODES: readonly MigrateMode[] = Object.freeze(['on-first-use', 'manual']);

/** knex pool options the backend passes through. */
export interface SqlPoolSettings {
  readonly min?: number;
  readonly max?: number;
  readonly [option: string]: unknown;
}

/**
 * Settings of a `connections` entry of class `sql`, and of a `jobTypeConf` entry without a named
 * connection (the queue then opens a private one). All optional: with nothing set, the backend
 * uses SQLite at `./switchyard.sqlite`.
 */
export interface SqlConnectionSettings {
  /** `sqlite` (better-sqlite3), `pg` or `mysql2`; implied by a connection URL's scheme or by `filename`. */
  readonly client?: string;
  /** A URL (`postgres://…`, `mysql://…`) or a knex connection object; for SQLite a file name. */
  readonly connection?: string | Readonly<Record<string, unknown>>;
  /** SQLite: the database file (`:memory:` for a private in-memory database). */
  readonly filename?: string;
  /** knex pool options (`min`, `max`, …). */
  readonly pool?: SqlPoolSettings;
  /** Table prefix, so several apps share one database. Default `switchyard_`. */
  readonly prefix?: string;
  /** `on-first-use` (default) migrates the schema on the first call; `manual` only checks it. */
  readonly migrate?: MigrateMode;
  /**
   * The largest job this queue stores: its params as JSON, in UTF-8 bytes (default
   * {@link DEFAULT_MAX_JOB_BYTES}). A larger job is `SWITCHYARD_INVALID_JOB` before anything is
   * written. On MySQL / MariaDB the server's `max_allowed_packet` bounds it further.
   */
  readonly maxJobBytes?: number;
  /** A host knex instance (API only): used as is, never closed by switchyard. */
  readonly knex?: KnexLike;
}

/** Every setting key. */
export const SETTING_KEYS: readonly string[] = Object.freeze([
  'client',
  'connection',
  'filename',
  'pool',
  'prefix',
  'migrate',
  'maxJobBytes',
  'knex',
]);

/** Keys that describe a connection (not allowed next to `knex`, nor on an entry that names a connection). */
export const CONNECTION_KEYS: readonly string[] = Object.freeze(['client', 'connection', 'filename', 'pool']);

/** The canonical client for a spelling, or null. */
export function canonicalClient(name: unknown): SqlClient | null {
  return typeof name === 'string' ? (CLIENT_ALIASES[name.toLowerCase()] ?? null) : null;
}

/** Every accepted client spelling (for messages). */
export function clientChoices(): string[] {
  return Object.keys(CLIENT_ALIASES);
}

/** A connection setting made safe to show: URL passwords and `password` fields masked. */
export function redactConnection(value: unknown): unknown {
  if (typeof value === 'string') return redactUrl(value);
  if (isPlainObject(value)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      out[k] = /pass(word)?|secret|token/i.test(k) ? '***' : typeof v === 'string' ? redactUrl(v) : v;
    }
    return out;
  }
  return value;
}

/** Passwords found in connection settings (scrubbed from every error message). */
export function secretsOf(settings: SqlConnectionSettings): string[] {
  const out: string[] = [];
  const c = settings.connection;
  const fromUrl = (text: string) => {
    try {
      const url = new URL(text);
      if (url.password !== '') out.push(decodeURIComponent(url.password), url.password);
    } catch {
      // not a URL: nothing to extract
    }
  };
  if (typeof c === 'string') fromUrl(c);
  else if (isPlainObject(c)) {
    for (const [k, v] of Object.entries(c)) {
      if (typeof v !== 'string') continue;
      if (/pass(word)?|secret|token/i.test(k)) out.push(v);
      else fromUrl(v);
    }
  }
  return [...new Set(out)];
}

/** The client an entry uses: explicit, implied by the URL scheme or `filename`, else SQLite. */
export function clientOf(settings: SqlConnectionSettings): SqlClient | null {
  if (settings.client !== undefined) return canonicalClient(settings.client);
  const c = settings.connection;
  if (typeof c === 'string') {
    const scheme = /^([a-z][a-z0-9+.-]*:)/i.exec(c)?.[1]?.toLowerCase();
    if (scheme !== undefined && scheme.length > 2) return CLIENT_BY_SCHEME[scheme] ?? null;
    return 'sqlite'; // a bare path
  }
  if (isPlainObject(c)) return typeof c.filename === 'string' ? 'sqlite' : null;
  return 'sqlite';
}

/** Where the entry is used, for the rules that differ. */
export type SettingsKind = 'connection' | 'queue';

/**
 * Checks sql settings; returns every problem with its path. Never echoes a password: connection
 * values are shown redacted.
 */
export function validateSqlSettings(settings: Readonly<Record<string, unknown>>, path: string): Issue[] {
  const issues: Issue[] = [];
  const at = (key: string) => (path ? `${path}.${key}` : key);
  for (const key of Object.keys(settings)) {
    if (!SETTING_KEYS.includes(key)) {
      issues.push({ path: at(key), message: 'is not a sql backend setting', choices: SETTING_KEYS });
    }
  }
  const s = settings as SqlConnectionSettings & Record<string, unknown>;
  if (s.prefix !== undefined && (typeof s.prefix !== 'string' || !PREFIX_PATTERN.test(s.prefix))) {
    issues.push({
      path: at('prefix'),
      message: 'must be up to 32 lowercase letters, digits and _, not starting with a digit',
      value: s.prefix,
    });
  }
  if (s.migrate !== undefined && !MIGRATE_MODES.includes(s.migrate)) {
    issues.push({
      path: at('migrate'),
      message: 'is not a migrate mode',
      value: s.migrate,
      choices: MIGRATE_MODES,
    });
  }
  if (
    s.maxJobBytes !== undefined &&
    (typeof s.maxJobBytes !== 'number' ||
      !Number.isInteger(s.maxJobBytes) ||
      s.maxJobBytes < 1024 ||
      s.maxJobBytes > MAX_JOB_BYTES_LIMIT)
  ) {
    issues.push({
      path: at('maxJobBytes'),
      message: `must be an integer from 1024 to ${MAX_JOB_BYTES_LIMIT} (bytes of params JSON)`,
      value: s.maxJobBytes,
    });
  }
  if (s.knex !== undefined) {
    if (!isKnexLike(s.knex)) {
      issues.push({
        path: at('knex'),
        message: 'must be a knex instance (with raw, transaction and destroy)',
      });
    }
    for (const key of CONNECTION_KEYS) {
      if (s[key] !== undefined) {
        issues.push({ path: at(key), message: 'does not apply next to a host knex instance (knex)' });
      }
    }
    return issues;
  }
  let client: SqlClient | null = null;
  if (s.client !== undefined) {
    client = canonicalClient(s.client);
    if (client === null) {
      issues.push({
        path: at('client'),
        message: 'is not a known sql client',
        value: s.client,
        choices: SQL_CLIENTS,
      });
    }
  }
  const c = s.connection;
  if (c !== undefined) {
    if (typeof c === 'string') {
      if (c.length === 0) issues.push({ path: at('connection'), message: 'must not be empty' });
      const implied = clientOf({ connection: c });
      if (implied === null) {
        issues.push({
          path: at('connection'),
          message: 'has an unknown URL scheme (use postgres://, mysql:// or a SQLite file name)',
          value: redactUrl(c),
        });
      } else if (client !== null && implied !== client) {
        issues.push({
          path: at('connection'),
          message: `is a ${implied === 'sqlite' ? 'SQLite file name' : `${implied} URL`}, but client is ${client}`,
          value: redactUrl(c),
        });
      } else if (implied !== 'sqlite') {
        try {
          const url = new URL(c);
          if (url.hostname === '') {
            issues.push({ path: at('connection'), message: 'has no host', value: redactUrl(c) });
          }
        } catch {
          issues.push({ path: at('connection'), message: 'is not a valid URL', value: redactUrl(c) });
        }
      }
    } else if (!isPlainObject(c)) {
      issues.push({
        path: at('connection'),
        message: 'must be a URL string or a knex connection object',
        value: describeValue(redactConnection(c)),
      });
    } else if (s.client === undefined && typeof c.filename !== 'string') {
      issues.push({
        path: at('client'),
        message: 'is required with a connection object (which driver?)',
        choices: SQL_CLIENTS,
      });
    }
  }
  const effective = client ?? (s.client === undefined ? clientOf(s) : null);
  if (s.filename !== undefined) {
    if (typeof s.filename !== 'string' || s.filename.length === 0) {
      issues.push({ path: at('filename'), message: 'must be a file name (or :memory:)', value: s.filename });
    } else if (effective !== null && effective !== 'sqlite') {
      issues.push({ path: at('filename'), message: `is a SQLite setting, but client is ${effective}` });
    } else if (c !== undefined) {
      issues.push({ path: at('filename'), message: 'contradicts connection: give one of them' });
    }
  }
  if ((effective === 'pg' || effective === 'mysql2') && c === undefined) {
    issues.push({
      path: at('connection'),
      message: `is required for client ${effective} (a URL or a knex connection object)`,
    });
  }
  if (s.pool !== undefined) {
    if (!isPlainObject(s.pool)) {
      issues.push({ path: at('pool'), message: 'must be a mapping of knex pool options', value: s.pool });
    } else {
      for (const k of ['min', 'max'] as const) {
        const v = s.pool[k];
        if (v !== undefined && (typeof v !== 'number' || !Number.isInteger(v) || v < (k === 'max' ? 1 : 0))) {
          issues.push({
            path: at(`pool.${k}`),
            message: `must be an integer ≥ ${k === 'max' ? 1 : 0}`,
            value: v,
          });
        }
      }
      const { min, max } = s.pool;
      if (typeof min === 'number' && typeof max === 'number' && min > max) {
        issues.push({ path: at('pool.min'), message: 'must not exceed pool.max', value: min });
      }
      if (effective === 'sqlite' && typeof max === 'number' && max > 1) {
        // better-sqlite3 is synchronous: two connections of one process waiting on each other's
        // write lock would block the event loop both need. Other processes are fine (WAL).
        issues.push({
          path: at('pool.max'),
          message: 'must be 1 for SQLite (one connection per process)',
          value: max,
        });
      }
    }
  }
  return issues;
}

/** A validated connection, ready to open: the knex config and what identifies it. */
export interface OwnedConnectionSpec {
  readonly client: SqlClient;
  /** The knex config (without the SQLite pragma hook, which the opener adds). */
  readonly knexConfig: Readonly<Record<string, unknown>>;
  /** What the connection points at, password-free (`sqlite:/abs/file`, `pg:postgres://u@h/db`). */
  readonly target: string;
  readonly secrets: readonly string[];
}

/** Builds the knex config of validated settings (no I/O; relative SQLite paths resolved against the cwd). */
export function connectionSpec(settings: SqlConnectionSettings): OwnedConnectionSpec {
  const client = clientOf(settings) ?? 'sqlite';
  const pool = settings.pool ? { ...settings.pool } : undefined;
  const secrets = secretsOf(settings);
  if (client === 'sqlite') {
    const c = settings.connection;
    let filename = settings.filename ?? DEFAULT_SQLITE_FILE;
    if (typeof c === 'string') filename = c.replace(/^(?:sqlite|file):(?:\/\/)?/i, '');
    else if (isPlainObject(c) && typeof c.filename === 'string') filename = c.filename;
    const file = filename === ':memory:' ? filename : resolve(filename);
    const connection = isPlainObject(c) ? { ...c, filename: file } : { filename: file };
    return {
      client,
      knexConfig: { client: 'better-sqlite3', connection, useNullAsDefault: true, ...(pool ? { pool } : {}) },
      target: `sqlite:${file}`,
      secrets,
    };
  }
  const c = settings.connection ?? {};
  let target: string;
  if (typeof c === 'string') target = redactUrl(c);
  else {
    const o = c as Record<string, unknown>;
    target = `${String(o.user ?? '')}@${String(o.host ?? 'localhost')}:${String(o.port ?? '')}/${String(o.database ?? '')}`;
  }
  return {
    client,
    // An unreachable server fails within 10 s (SWITCHYARD_CONNECTION_LOST), not knex's 60 s.
    knexConfig: { client, connection: c, acquireConnectionTimeout: 10_000, ...(pool ? { pool } : {}) },
    target: `${client}:${target}`,
    secrets,
  };
}
