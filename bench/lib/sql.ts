/**
 * Helpers shared by the SQL-backed subjects (`sql-sqlite`, `sql-postgres`, `sql-mysql`, and the
 * PostgreSQL peers `pg-boss` and `graphile-worker`): where the servers are, whether they answer,
 * unique per-run table prefixes / schema names, and a switchyard `SqlJobQueue` subject that owns
 * its database and drops its tables on teardown.
 *
 * @packageDocumentation
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SqlConnectionSettings, SqlDatabase } from '../../src/backends/sql/index.js';
import type { JobQueue } from '../../src/core/job-queue.js';
import { jobQueueSubject } from './job-queue-subject.js';
import type { SetupContext, Subject, SubjectDefaults, SubjectGroup } from './types.js';

/** The environment variable naming the PostgreSQL the PostgreSQL subjects use. */
export const PG_URL_ENV = 'SWITCHYARD_PG_URL';

/** The environment variable naming the MySQL / MariaDB the `sql-mysql` subject uses. */
export const MYSQL_URL_ENV = 'SWITCHYARD_MYSQL_URL';

/** The value of `env`, or undefined when it is unset or empty. */
export function envUrl(env: string): string | undefined {
  const url = process.env[env];
  return url === undefined || url === '' ? undefined : url;
}

/**
 * A per-run identifier usable as a SQL table prefix or schema name: lowercase letters, digits and
 * `_` only (switchyard's prefix pattern), e.g. `bench-1234-7` → `b1234_7`.
 */
export function sqlIdent(runId: string): string {
  return `b${runId
    .replace(/^bench-/, '')
    .replace(/[^a-z0-9]+/gi, '_')
    .toLowerCase()}`;
}

/** Null when PostgreSQL at {@link PG_URL_ENV} answers `SELECT 1`, else why not. */
export async function pgAvailable(): Promise<string | null> {
  const url = envUrl(PG_URL_ENV);
  if (url === undefined) return `set ${PG_URL_ENV} (e.g. postgres://postgres@127.0.0.1:5432/test)`;
  try {
    await withPg(url, (c) => c.query('SELECT 1'));
    return null;
  } catch (error) {
    return `postgres at ${PG_URL_ENV} did not answer: ${error instanceof Error ? error.message : String(error)}`;
  }
}

/** The slice of `pg.Client` the helpers use. */
export interface PgClientLike {
  query(sql: string): Promise<unknown>;
}

/** Runs `fn` on a fresh `pg` client on `url`, then closes it. */
export async function withPg<T>(url: string, fn: (client: PgClientLike) => Promise<T>): Promise<T> {
  const pg = (await import('pg')).default;
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** Drops a PostgreSQL schema and everything in it (peers' per-run schemas). */
export async function dropPgSchema(url: string, schema: string): Promise<void> {
  if (!/^[a-z_][a-z0-9_]*$/.test(schema)) throw new Error(`refusing to drop schema ${schema}`);
  await withPg(url, (c) => c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`));
}

/** Null when MySQL / MariaDB at {@link MYSQL_URL_ENV} answers `SELECT 1`, else why not. */
export async function mysqlAvailable(): Promise<string | null> {
  const url = envUrl(MYSQL_URL_ENV);
  if (url === undefined) return `set ${MYSQL_URL_ENV} (e.g. mysql://root@127.0.0.1:3306/test)`;
  try {
    const mysql = (await import('mysql2/promise')).default;
    const conn = await mysql.createConnection({ uri: url, connectTimeout: 5000 });
    try {
      await conn.query('SELECT 1');
    } finally {
      await conn.end();
    }
    return null;
  } catch (error) {
    return `mysql at ${MYSQL_URL_ENV} did not answer: ${error instanceof Error ? error.message : String(error)}`;
  }
}

/** Where one run's jobs live: connection settings, plus what to remove after the run. */
interface SqlTarget {
  readonly settings: SqlConnectionSettings;
  /** Extra cleanup after the tables are dropped and the database is closed (e.g. a temp dir). */
  readonly cleanup?: () => void;
}

/** Options of {@link sqlQueueSubject}. */
export interface SqlQueueSubjectOptions {
  readonly group: SubjectGroup;
  readonly description: string;
  readonly defaults: SubjectDefaults;
  readonly available: () => Promise<string | null>;
  /** Connection settings of one run (pool size from `ctx.concurrency`). */
  readonly target: (ctx: SetupContext) => SqlTarget;
}

/** What teardown needs of a live queue. */
interface RunState {
  readonly db: SqlDatabase;
  readonly prefix: string;
  readonly cleanup: (() => void) | undefined;
}

/**
 * A switchyard `SqlJobQueue` subject. Every run opens its own database (knex pool) with a unique
 * table prefix (`swy_<run>_`), so runs never share tables; teardown deletes the queue's jobs,
 * closes the queue, drops every table of the prefix (`dropSchema`), closes the pool, then runs the
 * target's cleanup. Claim tracking is on (default claimTTL) and the order is the default `any`.
 */
export function sqlQueueSubject(name: string, options: SqlQueueSubjectOptions): Subject {
  const runs = new WeakMap<JobQueue<string>, RunState>();
  return jobQueueSubject(
    name,
    async (ctx) => {
      const { SqlDatabase, SqlJobQueue } = await import('../../src/backends/sql/index.js');
      const target = options.target(ctx);
      const prefix = `swy_${sqlIdent(ctx.runId)}_`;
      const db = SqlDatabase.open({ ...target.settings, prefix });
      const queue = new SqlJobQueue({ type: 'bench', domain: 'bench', database: db });
      runs.set(queue, { db, prefix, cleanup: target.cleanup });
      return queue;
    },
    {
      group: options.group,
      description: options.description,
      defaults: options.defaults,
      available: options.available,
      async dispose(queue) {
        const run = runs.get(queue);
        runs.delete(queue);
        try {
          await queue.delete();
        } finally {
          await queue.close();
          if (run !== undefined) {
            try {
              const { dropSchema } = await import('../../src/backends/sql/index.js');
              await dropSchema(await run.db.knex(), { prefix: run.prefix });
            } finally {
              await run.db.close();
              run.cleanup?.();
            }
          }
        }
      },
    },
  );
}

/** A fresh temp directory holding one SQLite file; `cleanup` removes it (db, -wal, -shm). */
export function sqliteTempTarget(): SqlTarget {
  const dir = mkdtempSync(join(tmpdir(), 'swy-bench-'));
  return {
    settings: { client: 'sqlite', filename: join(dir, 'bench.sqlite') },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}
