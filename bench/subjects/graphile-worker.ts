/**
 * Subject `graphile-worker`: the graphile-worker 0.17 peer (group `postgres`) on the PostgreSQL named
 * by `SWITCHYARD_PG_URL` — the same server as switchyard's `sql-postgres` subject.
 *
 * Settings (https://worker.graphile.org/docs/performance, "Quick stats" configuration and
 * "Batching"; the 0.17 release notes):
 * - `localQueue: { size: 500 }`: the pool fetches and locks 500 jobs per query and hands them to its
 *   workers locally;
 * - `completeJobBatchDelay: 0`, `failJobBatchDelay: 0`: completions batched into one statement per
 *   tick;
 * - `concurrency` = the harness's drain workers (16; the docs' run uses 24 on a bigger box) and
 *   `maxPoolSize` = concurrency + 1 (the docs: 24 / 25);
 * - a silent logger: graphile logs a line per completed job at `info` otherwise;
 * - a fresh schema per run (`schema: 'gw_<run>'`, created by `migrate()`), dropped
 *   (`DROP SCHEMA … CASCADE`) on teardown.
 *
 * Phases:
 * - single push: `workerUtils.addJob('bench', payload)`, awaited (the pooled form of `quickAddJob`,
 *   which opens and closes a pool per call);
 * - bulk push: `workerUtils.addJobs(specs)` — one `add_jobs` call per harness batch of 1000;
 * - drain: `run({ concurrency, pollInterval, noHandleSignals: true, taskList })` over the pre-filled
 *   queue, counting `job:complete` events until N, then `runner.stop()` (inside the timed run), which
 *   flushes the last batch of completions to the database.
 *
 * @packageDocumentation
 */
import type { JsonObject } from '../../src/core/job.js';
import { dropPgSchema, envUrl, PG_URL_ENV, pgAvailable, sqlIdent } from '../lib/sql.js';
import type { BenchJob, DrainOptions, SetupContext, Subject } from '../lib/types.js';

type GraphileModule = typeof import('graphile-worker');
type WorkerUtils = Awaited<ReturnType<GraphileModule['makeWorkerUtils']>>;

/** The task identifier. */
const TASK = 'bench';

/** graphile-worker's documented high-throughput batching settings (docs/performance). */
const LOCAL_QUEUE_SIZE = 500;

/** How often an idle worker polls (ms); jobs arrive by LISTEN/NOTIFY, so this barely matters here. */
const POLL_INTERVAL_MS = 500;

let utils: WorkerUtils | null = null;
let schema = '';

function current(): WorkerUtils {
  if (utils === null) throw new Error('bench subject graphile-worker: setup() was not called');
  return utils;
}

async function loadGraphile(): Promise<GraphileModule> {
  return import('graphile-worker');
}

/** graphile-worker on its documented throughput settings. */
const graphileWorker: Subject = {
  name: 'graphile-worker',
  group: 'postgres',
  kind: 'peer',
  description: `graphile-worker 0.17 (SWITCHYARD_PG_URL): addJob / addJobs / run(), localQueue ${LOCAL_QUEUE_SIZE}, batched completions`,
  defaults: { single: 5_000, bulk: 100_000, drain: 20_000, concurrency: 16 },

  async available(): Promise<string | null> {
    try {
      await loadGraphile();
    } catch (error) {
      return `graphile-worker is not installed (${error instanceof Error ? error.message : String(error)})`;
    }
    return pgAvailable();
  },

  async setup(ctx: SetupContext): Promise<void> {
    if (utils !== null) throw new Error('bench subject graphile-worker: setup() twice without teardown()');
    const url = envUrl(PG_URL_ENV);
    if (url === undefined) throw new Error(`graphile-worker subject: ${PG_URL_ENV} is not set`);
    const { makeWorkerUtils, Logger } = await loadGraphile();
    schema = `gw_${sqlIdent(ctx.runId)}`;
    const u = await makeWorkerUtils({
      connectionString: url,
      schema,
      logger: new Logger(() => () => {}),
    });
    utils = u;
    await u.migrate();
  },

  async singlePush(job: BenchJob): Promise<void> {
    await current().addJob(TASK, job.params);
  },

  async bulkPush(jobs: readonly BenchJob[]): Promise<void> {
    const specs: { identifier: string; payload: JsonObject }[] = new Array(jobs.length);
    for (let k = 0; k < jobs.length; k++)
      specs[k] = { identifier: TASK, payload: (jobs[k] as BenchJob).params };
    const added = await current().addJobs(specs);
    if (added.length !== jobs.length) {
      throw new Error(`graphile-worker: addJobs stored ${added.length} of ${jobs.length} jobs`);
    }
  },

  async drain(opts: DrainOptions): Promise<number> {
    current();
    const url = envUrl(PG_URL_ENV);
    if (url === undefined) throw new Error(`graphile-worker subject: ${PG_URL_ENV} is not set`);
    const { jobs, tick } = opts;
    if (jobs === 0) return 0;
    const { run, Logger } = await loadGraphile();
    let done = 0;
    let failure: Error | null = null;
    let finish: () => void = () => {};
    const finished = new Promise<void>((resolve) => {
      finish = resolve;
    });
    const runner = await run({
      connectionString: url,
      schema,
      concurrency: opts.concurrency,
      maxPoolSize: opts.concurrency + 1,
      pollInterval: POLL_INTERVAL_MS,
      noHandleSignals: true,
      logger: new Logger(() => () => {}),
      taskList: { [TASK]: async () => {} },
      preset: {
        worker: {
          localQueue: { size: LOCAL_QUEUE_SIZE },
          completeJobBatchDelay: 0,
          failJobBatchDelay: 0,
        },
      },
    });
    runner.events.on('job:complete', ({ error }) => {
      if (error !== undefined && error !== null && failure === null) {
        failure = error instanceof Error ? error : new Error(String(error));
        finish();
        return;
      }
      done++;
      tick(1);
      if (done === jobs) finish();
    });
    try {
      await Promise.race([finished, runner.promise]);
    } finally {
      await runner.stop(); // flushes the pending batch of completions
    }
    if (failure !== null) throw failure;
    return done;
  },

  async teardown(): Promise<void> {
    const u = utils;
    utils = null;
    if (u === null) return;
    try {
      await u.release();
    } finally {
      const url = envUrl(PG_URL_ENV);
      if (url !== undefined) await dropPgSchema(url, schema);
    }
  },
};

export default graphileWorker;
