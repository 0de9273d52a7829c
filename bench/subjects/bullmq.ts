/**
 * Subject `bullmq`: the BullMQ peer (group `redis`) on the same Redis as switchyard's `redis`
 * subject, on the settings BullMQ documents for throughput: finished jobs removed at once
 * (`removeOnComplete: true`), `addBulk` for batches, and one `Worker` whose `concurrency` is the
 * harness's drain concurrency. The `Worker` is BullMQ's fast path: completing a job fetches the
 * next one in the same script call (`moveToFinished`), which a manual `getNextJob` +
 * `moveToCompleted` loop would only re-implement.
 *
 * - single push: `queue.add(name, data)`, awaited, one job at a time;
 * - bulk push: `queue.addBulk(jobs)` in batches of 1000;
 * - drain: a `Worker` with a no-op processor over the pre-filled queue (created and connected in
 *   `setup()`, started by `run()` when the clock starts), counting `completed` events (emitted
 *   after the completion is written to Redis) until N.
 *
 * Every run gets its own key prefix (`bmq-<runId>`); teardown closes the worker and the queue and
 * deletes every key under the prefix (SCAN + UNLINK).
 *
 * @packageDocumentation
 */
import type { JsonObject } from '../../src/core/job.js';
import { deleteKeysWithPrefix, openRedis, redisAvailable, redisBenchUrl } from '../lib/redis.js';
import type { BenchJob, DrainOptions, SetupContext, Subject } from '../lib/types.js';

/** The slice of BullMQ's `Queue` the bench uses. */
interface BullQueue {
  waitUntilReady(): Promise<unknown>;
  add(name: string, data: JsonObject): Promise<unknown>;
  addBulk(jobs: { name: string; data: JsonObject }[]): Promise<unknown[]>;
  close(): Promise<void>;
}

/** The slice of BullMQ's `Worker` the bench uses. */
interface BullWorker {
  waitUntilReady(): Promise<unknown>;
  run(): Promise<void>;
  on(event: 'completed', listener: () => void): unknown;
  on(event: 'failed', listener: (job: unknown, error: Error) => void): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
  removeAllListeners(): unknown;
  close(force?: boolean): Promise<void>;
}

interface BullMqModule {
  Queue: new (name: string, options: Record<string, unknown>) => BullQueue;
  Worker: new (name: string, processor: () => Promise<void>, options: Record<string, unknown>) => BullWorker;
}

/** Jobs per `addBulk` call. */
const ADD_BULK_BATCH = 1000;
/** The queue name (keys are `<prefix>:bench:…`). */
const QUEUE_NAME = 'bench';
/** The job name every bench job carries. */
const JOB_NAME = 'bench';

async function loadBullMq(): Promise<BullMqModule> {
  return (await import('bullmq')) as unknown as BullMqModule;
}

let queue: BullQueue | null = null;
let worker: BullWorker | null = null;
let prefix = '';

function current(): BullQueue {
  if (queue === null) throw new Error('bench subject bullmq: setup() was not called');
  return queue;
}

/** BullMQ on its documented throughput settings. */
const bullmq: Subject = {
  name: 'bullmq',
  group: 'redis',
  kind: 'peer',
  description:
    'BullMQ 6 (SWITCHYARD_REDIS_URL): removeOnComplete, addBulk, one Worker with concurrency = drain workers',
  defaults: { single: 20_000, bulk: 200_000, drain: 50_000, concurrency: 16 },

  async available(): Promise<string | null> {
    try {
      await loadBullMq();
    } catch (error) {
      return `bullmq is not installed (${error instanceof Error ? error.message : String(error)})`;
    }
    return redisAvailable();
  },

  async setup(ctx: SetupContext): Promise<void> {
    if (queue !== null) throw new Error('bench subject bullmq: setup() twice without teardown()');
    const url = redisBenchUrl();
    if (url === undefined) throw new Error('bullmq subject: SWITCHYARD_REDIS_URL is not set');
    const { Queue, Worker } = await loadBullMq();
    prefix = `bmq-${ctx.runId}`;
    // BullMQ wants `maxRetriesPerRequest: null` on worker connections (it retries itself).
    const connection = { url, maxRetriesPerRequest: null };
    const q = new Queue(QUEUE_NAME, {
      connection,
      prefix,
      defaultJobOptions: { removeOnComplete: true, removeOnFail: false },
    });
    await q.waitUntilReady();
    queue = q;
    if (ctx.phase === 'drain') {
      const w = new Worker(QUEUE_NAME, async () => {}, {
        connection,
        prefix,
        autorun: false,
        concurrency: ctx.concurrency,
        removeOnComplete: { count: 0 },
      });
      await w.waitUntilReady();
      worker = w;
    }
  },

  async singlePush(job: BenchJob): Promise<void> {
    await current().add(JOB_NAME, job.params);
  },

  async bulkPush(jobs: readonly BenchJob[]): Promise<void> {
    const q = current();
    for (let start = 0; start < jobs.length; start += ADD_BULK_BATCH) {
      const end = Math.min(start + ADD_BULK_BATCH, jobs.length);
      const batch: { name: string; data: JsonObject }[] = new Array(end - start);
      for (let k = start; k < end; k++)
        batch[k - start] = { name: JOB_NAME, data: (jobs[k] as BenchJob).params };
      await q.addBulk(batch);
    }
  },

  drain(opts: DrainOptions): Promise<number> {
    const w = worker;
    if (w === null) return Promise.reject(new Error('bench subject bullmq: no worker (not a drain setup)'));
    const { jobs, tick } = opts;
    return new Promise<number>((resolve, reject) => {
      let done = 0;
      if (jobs === 0) {
        resolve(0);
        return;
      }
      w.on('completed', () => {
        done++;
        tick(1);
        if (done === jobs) resolve(done);
      });
      w.on('failed', (_job, error) => reject(new Error(`bullmq: a job failed: ${error.message}`)));
      w.on('error', (error) => reject(error));
      w.run().catch(reject);
    });
  },

  async teardown(): Promise<void> {
    const q = queue;
    const w = worker;
    queue = null;
    worker = null;
    try {
      if (w !== null) {
        // force: do not wait out the blocking fetch on the (now empty) queue.
        await w.close(true);
        w.removeAllListeners();
      }
      if (q !== null) await q.close();
    } finally {
      const url = redisBenchUrl();
      if (url !== undefined && prefix !== '') {
        const client = await openRedis(url);
        try {
          await deleteKeysWithPrefix(client, `${prefix}:`);
        } finally {
          await client.quit();
        }
      }
    }
  },
};

export default bullmq;
