/**
 * The SQL aggregator (promises §7) on knex: SQLite (better-sqlite3), PostgreSQL (pg) and MySQL /
 * MariaDB (mysql2). Its own two tables under a configurable prefix (see `./queries.ts`), created
 * idempotently on first use (`CREATE TABLE IF NOT EXISTS`), so it needs no migration step and
 * never touches the sql backend's tables or migration ledger.
 *
 * Every notification is one statement (an upsert keeping the newer mark, or a conditional
 * delete); a read is one statement (a snapshot of the marker and the marks together); a swap is
 * one transaction that first locks the marker row, so concurrent swaps serialise and readers see
 * the old map or the new one.
 *
 * @packageDocumentation
 */
import { SqlDatabase } from '../../backends/sql/database.js';
import { isKnexLike, type KnexLike, type KnexRawLike } from '../../backends/sql/knex-like.js';
import type { SqlConnectionSettings } from '../../backends/sql/settings.js';
import type { ReadyQueueMap } from '../../core/aggregator.js';
import { configInvalid, wrapDriverError } from '../../core/errors.js';
import { type AggregatorOptions, BaseAggregator, type ReadyEntry, type ReplaceHookOptions } from '../base.js';
import { type AggregatorContext, type AggregatorModule, validateSqlAggregatorSettings } from '../module.js';
import {
  type AggregatorTables,
  aggregatorTables,
  deleteAllMarks,
  dropOlderMarks,
  dropSchema,
  ensureSchema,
  INSERT_CHUNK,
  insertMarks,
  lockMeta,
  notifyEmpty,
  notifyNonEmpty,
  readAll,
  SQL_AGGREGATOR_PREFIX_PATTERN,
  type Statement,
  setBuilt,
} from './queries.js';

export { aggregatorTables, SQL_AGGREGATOR_PREFIX_PATTERN } from './queries.js';

/**
 * Options of {@link SqlAggregator}: exactly one of `database` (a shared sql connection, not
 * closed), `knex` (a host instance, not closed) or `connection` (settings of a database the
 * aggregator opens and closes). With none: SQLite at `./switchyard.sqlite`, owned.
 */
export interface SqlAggregatorOptions extends AggregatorOptions {
  /** A database from a `connections` entry of class sql (or `SqlDatabase.open`); never closed here. */
  readonly database?: SqlDatabase;
  /** A host knex instance; never closed here. */
  readonly knex?: KnexLike;
  /** Settings of a database the aggregator owns (client, connection URL, filename, pool). */
  readonly connection?: SqlConnectionSettings;
  /** Table prefix. Default `switchyard_` (tables `switchyard_aggregator_ready` / `_meta`). */
  readonly prefix?: string;
}

/** Defaults of {@link SqlAggregatorOptions}. */
export const SQL_AGGREGATOR_DEFAULTS = Object.freeze({ prefix: 'switchyard_' });

/** Attempts of each idempotent schema statement (concurrent creators may collide). */
const ENSURE_ATTEMPTS = 4;

/** Swap attempts when the database reports a deadlock or serialisation failure. */
const SWAP_ATTEMPTS = 3;

/** The ready-queue map in SQL tables. */
export class SqlAggregator extends BaseAggregator {
  readonly name = 'sql';
  /** The table prefix. */
  readonly prefix: string;
  /** The table names. */
  readonly tables: AggregatorTables;
  readonly #database: SqlDatabase;
  readonly #owned: boolean;
  #ensured: Promise<KnexLike> | null = null;

  /** @throws `TypeError` for contradictory options or a bad prefix; `SWITCHYARD_CONFIG_INVALID` for bad settings. */
  constructor(options: SqlAggregatorOptions = {}) {
    super(options);
    const prefix = options.prefix ?? SQL_AGGREGATOR_DEFAULTS.prefix;
    if (typeof prefix !== 'string' || !SQL_AGGREGATOR_PREFIX_PATTERN.test(prefix)) {
      throw new TypeError(
        `SqlAggregator({ prefix }): must match ${SQL_AGGREGATOR_PREFIX_PATTERN} (lowercase letters, digits, _), got ${String(prefix)}`,
      );
    }
    const given = [options.database, options.knex, options.connection].filter((x) => x !== undefined);
    if (given.length > 1) throw new TypeError('SqlAggregator: give one of database, knex or connection');
    if (options.database !== undefined) {
      if (!(options.database instanceof SqlDatabase)) {
        throw new TypeError('SqlAggregator({ database }): not a SqlDatabase');
      }
      this.#database = options.database;
      this.#owned = false;
    } else if (options.knex !== undefined) {
      if (!isKnexLike(options.knex)) throw new TypeError('SqlAggregator({ knex }): not a knex instance');
      this.#database = SqlDatabase.forKnex(options.knex);
      this.#owned = true; // the wrapper, never the host's knex: SqlDatabase.close leaves it alone
    } else {
      this.#database = SqlDatabase.open(options.connection ?? {}, 'aggregator');
      this.#owned = true;
    }
    this.prefix = prefix;
    this.tables = aggregatorTables(prefix);
  }

  /** Creates the tables if missing (also done on first use). Idempotent; safe from many processes. */
  async ensureSchema(): Promise<void> {
    await this.#knex();
  }

  /** Drops the aggregator's tables (tests, uninstall). */
  async dropSchema(): Promise<void> {
    const knex = await this.#database.knex();
    for (const s of dropSchema(this.tables)) await run(knex, s);
    this.#ensured = null;
  }

  protected async doNotifyNonEmpty(domain: string, type: string, at: number): Promise<void> {
    const knex = await this.#knex();
    await this.#guard('notifyQueueNonEmpty', async () => {
      await run(knex, notifyNonEmpty(this.#database.dialect.name, this.tables, domain, type, at));
    });
  }

  protected async doNotifyEmpty(domain: string, type: string, observedAt: number): Promise<void> {
    const knex = await this.#knex();
    await this.#guard('notifyQueueEmpty', async () => {
      await run(knex, notifyEmpty(this.tables, domain, type, observedAt));
    });
  }

  protected async doGetAllReadyQueues(now: number): Promise<ReadyQueueMap | null> {
    const knex = await this.#knex();
    const rows = await this.#guard('getAllReadyQueues', async () =>
      this.#database.dialect.rows(await run(knex, readAll(this.tables))),
    );
    const first = rows[0];
    if (first === undefined) return null;
    const expires = first.expires_at;
    if (expires !== null && expires !== undefined && now >= Number(expires)) return null;
    const out: Record<string, string[]> = {};
    for (const row of rows) {
      const type = row.job_type;
      const domain = row.domain_name;
      if (typeof type !== 'string' || typeof domain !== 'string') continue;
      const list = out[type];
      if (list) list.push(domain);
      else out[type] = [domain];
    }
    return out;
  }

  protected async doReplaceReadyQueues(
    entries: readonly ReadyEntry[],
    options: ReplaceHookOptions,
  ): Promise<void> {
    const knex = await this.#knex();
    const dialect = this.#database.dialect.name;
    const pairs: [string, string][] = [];
    for (const [type, domains] of entries) for (const domain of domains) pairs.push([domain, type]);
    await this.#retrying('replaceReadyQueues', () =>
      knex.transaction(async (trx) => {
        await run(trx, lockMeta(this.tables));
        await run(trx, dropOlderMarks(this.tables, options.builtAt));
        for (let i = 0; i < pairs.length; i += INSERT_CHUNK) {
          await run(
            trx,
            insertMarks(dialect, this.tables, pairs.slice(i, i + INSERT_CHUNK), options.builtAt),
          );
        }
        await run(trx, setBuilt(this.tables, options.builtAt, options.expiresAt));
      }),
    );
  }

  protected async doPurge(): Promise<void> {
    const knex = await this.#knex();
    await this.#retrying('purge', () =>
      knex.transaction(async (trx) => {
        await run(trx, lockMeta(this.tables));
        await run(trx, deleteAllMarks(this.tables));
        await run(trx, setBuilt(this.tables, null, null));
      }),
    );
  }

  protected override async doClose(): Promise<void> {
    if (this.#owned) await this.#database.close();
  }

  /** The knex instance, after the schema was ensured once (a failure is retried next call). */
  #knex(): Promise<KnexLike> {
    if (!this.#ensured) {
      const p = this.#ensure();
      this.#ensured = p;
      p.catch(() => {
        if (this.#ensured === p) this.#ensured = null;
      });
    }
    return this.#ensured;
  }

  async #ensure(): Promise<KnexLike> {
    const knex = await this.#database.knex();
    const statements = ensureSchema(this.#database.dialect.name, this.tables);
    await this.#guard('creating the aggregator tables', async () => {
      for (const s of statements) {
        // Two processes creating a table at once: PostgreSQL may report a duplicate pg_type row
        // for the loser. The statements are idempotent, so trying again settles it.
        for (let attempt = 1; ; attempt++) {
          try {
            await run(knex, s);
            break;
          } catch (error) {
            if (attempt >= ENSURE_ATTEMPTS) throw error;
          }
        }
      }
    });
    return knex;
  }

  async #guard<R>(what: string, fn: () => Promise<R>): Promise<R> {
    try {
      return await fn();
    } catch (error) {
      throw wrapDriverError(error, `${what} on ${String(this)} ${this.#database.identity}`);
    }
  }

  async #retrying(what: string, fn: () => Promise<void>): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await fn();
        return;
      } catch (error) {
        if (attempt >= SWAP_ATTEMPTS || !isRetryable(error)) {
          throw wrapDriverError(error, `${what} on ${String(this)} ${this.#database.identity}`);
        }
      }
    }
  }
}

function run(knex: KnexRawLike, s: Statement): PromiseLike<unknown> {
  return knex.raw(s.sql, s.bindings);
}

/** Deadlocks (MySQL 1213, PostgreSQL 40P01), serialisation failures (40001) and SQLite busy. */
function isRetryable(error: unknown): boolean {
  const e = error as { code?: unknown; errno?: unknown } | null;
  const code = e?.code;
  return (
    code === 'ER_LOCK_DEADLOCK' ||
    code === '40P01' ||
    code === '40001' ||
    code === 'SQLITE_BUSY' ||
    e?.errno === 1213
  );
}

/**
 * The sql aggregator as the registry loads it: `aggregator: { class: sql, connection?, prefix?,
 * filename?, cacheTTL? }`. A named connection of class sql lends its database (or, without a
 * farm's pool, its settings open a private one); with neither, SQLite at `filename` (default
 * `./switchyard.sqlite`).
 */
export const sqlAggregator: AggregatorModule = Object.freeze({
  name: 'sql',
  validateSettings: validateSqlAggregatorSettings,
  create(context: AggregatorContext): SqlAggregator {
    const where = 'sql aggregator';
    const issues = validateSqlAggregatorSettings(context.settings, context.path);
    const s = context.settings;
    const conf = context.connectionConf;
    if (conf !== null && s.filename !== undefined) {
      issues.push({
        path: `${context.path}.filename`,
        message: 'give either connection or filename, not both',
      });
    }
    if (conf !== null && conf.class !== 'sql' && !(context.connection?.handle instanceof SqlDatabase)) {
      issues.push({
        path: `${context.path}.connection`,
        message: 'is not a sql connection',
        value: conf.name,
      });
    }
    if (issues.length > 0) throw configInvalid(issues, where);
    const common = {
      ...(typeof s.prefix === 'string' ? { prefix: s.prefix } : {}),
      ...(context.cacheTTL === undefined ? {} : { cacheTTL: context.cacheTTL }),
      ...(context.clock === undefined ? {} : { clock: context.clock }),
    };
    const lent = context.connection?.handle;
    if (lent instanceof SqlDatabase) return new SqlAggregator({ ...common, database: lent });
    if (conf !== null)
      return new SqlAggregator({ ...common, connection: conf.settings as SqlConnectionSettings });
    return new SqlAggregator({
      ...common,
      connection: typeof s.filename === 'string' ? { filename: s.filename } : {},
    });
  },
});
