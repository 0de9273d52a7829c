/**
 * Subject `bee-queue`: the bee-queue peer (group `redis`) on the same Redis as switchyard's `redis`
 * subject, with its documented throughput settings: no events sent or received, no job objects
 * kept in the process, jobs removed on success, no delayed-job activation.
 *
 * - single push: `createJob(data).save()`, awaited, one job at a time;
 * - bulk push: `saveAll(jobs)` in batches of 1000;
 * - drain: `queue.process(concurrency, async () => {})` over the pre-filled queue, counting
 *   `succeeded` events (emitted after bee-queue has written the job's completion) until N.
 *
 * Every run gets its own key prefix (`bq-<runId>`); teardown closes the queue and deletes every key
 * under the prefix (SCAN + UNLINK).
 *
 * @packageDocumentation
 */
import type { JsonObject } from '../../src/core/job.js';
import { deleteKeysWithPrefix, openRedis, redisAvailable, redisBenchUrl } from '../lib/redis.js';
import type { BenchJob, DrainOptions, SetupContext, Subject } from '../lib/types.js';

/** The slice of bee-queue's `Job` the bench uses. */
interface BeeJob {
  save(): Promise<unknown>;
}

/** The slice of bee-queue's `Queue` the bench uses. */
interface BeeQueue {
  ready(): Promise<unknown>;
  createJob(data: JsonObject): BeeJob;
  saveAll(jobs: BeeJob[]): Promise<Map<BeeJob, Error>>;
  process(concurrency: number, handler: () => Promise<void>): unknown;
  on(event: 'succeeded', listener: () => void): unknown;
  on(event: 'failed' | 'error', listener: (error: Error) => void): unknown;
  removeAllListeners(): unknown;
  close(timeout?: number): Promise<void>;
}

type BeeQueueConstructor = new (name: string, settings: Record<string, unknown>) => BeeQueue;

/** Jobs per `saveAll` call. */
const SAVE_ALL_BATCH = 1000;

async function loadBeeQueue(): Promise<BeeQueueConstructor> {
  const mod = (await import('bee-queue')) as unknown as { default?: unknown };
  return (mod.default ?? mod) as BeeQueueConstructor;
}

let queue: BeeQueue | null = null;
let prefix = '';

function current(): BeeQueue {
  if (queue === null) throw new Error('bench subject bee-queue: setup() was not called');
  return queue;
}

/** bee-queue on its throughput settings. */
const beeQueue: Subject = {
  name: 'bee-queue',
  group: 'redis',
  kind: 'peer',
  description:
    'bee-queue 2 (SWITCHYARD_REDIS_URL): no events, storeJobs off, removeOnSuccess, no delayed activation',
  defaults: { single: 20_000, bulk: 200_000, drain: 50_000, concurrency: 16 },

  async available(): Promise<string | null> {
    try {
      await loadBeeQueue();
    } catch (error) {
      return `bee-queue is not installed (${error instanceof Error ? error.message : String(error)})`;
    }
    return redisAvailable();
  },

  async setup(ctx: SetupContext): Promise<void> {
    if (queue !== null) throw new Error('bench subject bee-queue: setup() twice without teardown()');
    const url = redisBenchUrl();
    if (url === undefined) throw new Error('bee-queue subject: SWITCHYARD_REDIS_URL is not set');
    const Queue = await loadBeeQueue();
    prefix = `bq-${ctx.runId}`;
    const q = new Queue('bench', {
      prefix,
      redis: { url },
      isWorker: true,
      getEvents: false,
      sendEvents: false,
      storeJobs: false,
      removeOnSuccess: true,
      removeOnFailure: false,
      activateDelayedJobs: false,
    });
    await q.ready();
    queue = q;
  },

  async singlePush(job: BenchJob): Promise<void> {
    await current().createJob(job.params).save();
  },

  async bulkPush(jobs: readonly BenchJob[]): Promise<void> {
    const q = current();
    for (let start = 0; start < jobs.length; start += SAVE_ALL_BATCH) {
      const end = Math.min(start + SAVE_ALL_BATCH, jobs.length);
      const batch: BeeJob[] = new Array(end - start);
      for (let k = start; k < end; k++) batch[k - start] = q.createJob((jobs[k] as BenchJob).params);
      const errors = await q.saveAll(batch);
      if (errors.size > 0) {
        const first = errors.values().next().value;
        throw new Error(
          `bee-queue: saveAll failed for ${errors.size} of ${batch.length} jobs: ${first?.message}`,
        );
      }
    }
  },

  drain(opts: DrainOptions): Promise<number> {
    const q = current();
    const { jobs, tick } = opts;
    return new Promise<number>((resolve, reject) => {
      let done = 0;
      if (jobs === 0) {
        resolve(0);
        return;
      }
      q.on('succeeded', () => {
        done++;
        tick(1);
        if (done === jobs) resolve(done);
      });
      q.on('failed', (error) => reject(new Error(`bee-queue: a job failed: ${error.message}`)));
      q.on('error', (error) => reject(error));
      q.process(opts.concurrency, async () => {});
    });
  },

  async teardown(): Promise<void> {
    const q = queue;
    queue = null;
    if (q === null) return;
    try {
      await q.close(5000);
    } finally {
      q.removeAllListeners();
      const url = redisBenchUrl();
      if (url !== undefined) {
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

export default beeQueue;
