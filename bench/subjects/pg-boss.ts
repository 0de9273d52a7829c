/**
 * Subject `pg-boss`: the pg-boss 10 peer (group `postgres`) on the PostgreSQL named by
 * `SWITCHYARD_PG_URL` — the same server as switchyard's `sql-postgres` subject.
 *
 * Settings (pg-boss 10 README / docs/readme.md, "constructor options" and "work()/fetch()"):
 * - a fresh schema per run (`schema: 'pgb_<run>'`, created by `start()` with `migrate: true`), dropped
 *   (`DROP SCHEMA … CASCADE`) on teardown;
 * - `max: concurrency` (the connection pool, as large as the switchyard subject's knex pool);
 * - `supervise: false`, `schedule: false`: no maintenance / cron loops competing with the run (the
 *   documented way to run an instance that only sends and works);
 * - one queue created with `createQueue('bench')` (required in v10; default `standard` policy).
 *
 * Phases:
 * - single push: `boss.send('bench', data)`, awaited, one job at a time;
 * - bulk push: `boss.insert(jobs)` — pg-boss's documented bulk insert (one statement per call, the
 *   harness's batches of 1000);
 * - drain: `concurrency` loops of `boss.fetch('bench', { batchSize })` → `boss.complete('bench', ids)`
 *   until a fetch comes back empty. That is the manual form of `boss.work(name, { batchSize })`
 *   (work() calls the same fetch and completes the batch when the handler resolves), without
 *   work()'s polling delay between fetches (`pollingIntervalSeconds`, ≥ 0.5 s, slept whenever a
 *   fetch + handler took less than the interval minus 100 ms) and with every completion counted
 *   after it is written. `batchSize` is the harness's `--drain-batch` when above 1, else 100.
 *
 * @packageDocumentation
 */
import { dropPgSchema, envUrl, PG_URL_ENV, pgAvailable, sqlIdent } from '../lib/sql.js';
import type { BenchJob, DrainOptions, SetupContext, Subject } from '../lib/types.js';

/** The slice of pg-boss 10's `PgBoss` the bench uses. */
interface Boss {
  start(): Promise<unknown>;
  stop(options?: { graceful?: boolean; close?: boolean; wait?: boolean; timeout?: number }): Promise<void>;
  createQueue(name: string): Promise<void>;
  send(name: string, data: object): Promise<string | null>;
  insert(jobs: { name: string; data: object }[]): Promise<unknown>;
  fetch(name: string, options: { batchSize: number }): Promise<{ id: string }[]>;
  complete(name: string, ids: string[]): Promise<{ affected: number }>;
  on(event: 'error', listener: (error: Error) => void): unknown;
}

type BossConstructor = new (options: Record<string, unknown>) => Boss;

/** The queue name. */
const QUEUE = 'bench';

/** Jobs per fetch when the harness runs the unbatched drain (`--drain-batch 1`). */
const DEFAULT_BATCH = 100;

async function loadPgBoss(): Promise<BossConstructor> {
  const mod = (await import('pg-boss')) as unknown as { default?: unknown };
  return (mod.default ?? mod) as BossConstructor;
}

let boss: Boss | null = null;
let schema = '';
let lastError: Error | null = null;

function current(): Boss {
  if (boss === null) throw new Error('bench subject pg-boss: setup() was not called');
  return boss;
}

/** pg-boss 10 on its throughput settings. */
const pgBoss: Subject = {
  name: 'pg-boss',
  group: 'postgres',
  kind: 'peer',
  description: 'pg-boss 10 (SWITCHYARD_PG_URL): send / insert / fetch(batchSize)+complete, no supervision',
  // drainBatch only labels the table's shape column: the drain uses fetch({ batchSize: 100 }) anyway.
  defaults: { single: 5_000, bulk: 100_000, drain: 20_000, concurrency: 16, drainBatch: 100 },

  async available(): Promise<string | null> {
    try {
      await loadPgBoss();
    } catch (error) {
      return `pg-boss is not installed (${error instanceof Error ? error.message : String(error)})`;
    }
    return pgAvailable();
  },

  async setup(ctx: SetupContext): Promise<void> {
    if (boss !== null) throw new Error('bench subject pg-boss: setup() twice without teardown()');
    const url = envUrl(PG_URL_ENV);
    if (url === undefined) throw new Error(`pg-boss subject: ${PG_URL_ENV} is not set`);
    const PgBoss = await loadPgBoss();
    schema = `pgb_${sqlIdent(ctx.runId)}`;
    lastError = null;
    const b = new PgBoss({
      connectionString: url,
      schema,
      max: ctx.concurrency,
      migrate: true,
      supervise: false,
      schedule: false,
    });
    b.on('error', (error) => {
      lastError = error;
    });
    boss = b;
    await b.start();
    await b.createQueue(QUEUE);
  },

  async singlePush(job: BenchJob): Promise<void> {
    const id = await current().send(QUEUE, job.params);
    if (id === null) throw new Error('pg-boss: send() stored no job');
  },

  async bulkPush(jobs: readonly BenchJob[]): Promise<void> {
    const rows: { name: string; data: object }[] = new Array(jobs.length);
    for (let k = 0; k < jobs.length; k++) rows[k] = { name: QUEUE, data: (jobs[k] as BenchJob).params };
    await current().insert(rows);
  },

  async drain(opts: DrainOptions): Promise<number> {
    const b = current();
    const batchSize = opts.batch > 1 ? opts.batch : DEFAULT_BATCH;
    let done = 0;
    const worker = async (): Promise<void> => {
      for (;;) {
        const jobs = await b.fetch(QUEUE, { batchSize });
        if (jobs.length === 0) return;
        const ids = jobs.map((j) => j.id);
        const r = await b.complete(QUEUE, ids);
        if (r.affected !== ids.length) {
          throw new Error(`pg-boss: complete() affected ${r.affected} of ${ids.length} jobs`);
        }
        done += ids.length;
        opts.tick(ids.length);
      }
    };
    const workers: Promise<void>[] = [];
    for (let w = 0; w < opts.concurrency; w++) workers.push(worker());
    await Promise.all(workers);
    if (lastError !== null) throw lastError;
    return done;
  },

  async teardown(): Promise<void> {
    const b = boss;
    boss = null;
    if (b === null) return;
    try {
      await b.stop({ graceful: false, close: true, wait: true });
    } finally {
      const url = envUrl(PG_URL_ENV);
      if (url !== undefined) await dropPgSchema(url, schema);
    }
  },
};

export default pgBoss;
