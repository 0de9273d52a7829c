/**
 * Subject `redis`: switchyard's Redis backend (one Lua script per pop / ack / push batch, group
 * commit of concurrent `pop()` / `ack()` calls) on the Redis named by `SWITCHYARD_REDIS_URL`.
 *
 * Two subjects: `redis` (default settings) and `redis-prefetch` (`prefetch: 64`, or
 * `SWITCHYARD_BENCH_REDIS_PREFETCH`: jobs claimed ahead of `pop()` per handle).
 *
 * Every run gets its own key prefix (`swy-<runId>`), and teardown deletes every key under it
 * (SCAN + UNLINK, after `queue.delete()`) before closing the queue's own client.
 *
 * @packageDocumentation
 */
import type { RedisJobQueue } from '../../src/backends/redis/index.js';
import type { JobQueue } from '../../src/core/job-queue.js';
import { jobQueueSubject } from '../lib/job-queue-subject.js';
import { deleteKeysWithPrefix, redisAvailable, redisBenchUrl } from '../lib/redis.js';
import type { Subject } from '../lib/types.js';

/** Key prefix of each live queue, so teardown knows what to delete. */
const prefixes = new WeakMap<JobQueue<string>, string>();

/** Jobs the `redis-prefetch` subject's handle claims ahead of its pops. */
const PREFETCH = Number(process.env.SWITCHYARD_BENCH_REDIS_PREFETCH ?? 64);

/** switchyard's Redis backend, with `prefetch` jobs claimed ahead per handle (0 = the default). */
function redisSubject(name: string, prefetch: number): Subject {
  return jobQueueSubject(
    name,
    async (ctx) => {
      const url = redisBenchUrl();
      if (url === undefined) throw new Error(`${name} subject: SWITCHYARD_REDIS_URL is not set`);
      const { RedisJobQueue } = await import('../../src/backends/redis/index.js');
      const prefix = `swy-${ctx.runId}`;
      const queue: RedisJobQueue = new RedisJobQueue({
        type: 'bench',
        domain: 'bench',
        url,
        prefix,
        prefetch,
      });
      prefixes.set(queue, prefix);
      return queue;
    },
    {
      group: 'redis',
      description: `switchyard redis backend (SWITCHYARD_REDIS_URL), claim tracking on, prefetch ${prefetch}`,
      // Round trips to Redis: far below memory's rates; sized for a couple of seconds per run on 2 cores.
      defaults: { single: 20_000, bulk: 200_000, drain: 50_000, concurrency: 16 },
      available: redisAvailable,
      async dispose(queue) {
        const prefix = prefixes.get(queue);
        prefixes.delete(queue);
        try {
          await queue.delete();
          if (prefix !== undefined) {
            await deleteKeysWithPrefix((queue as RedisJobQueue).client, `${prefix}:`);
          }
        } finally {
          await queue.close();
        }
      },
    },
  );
}

/** `redis`: the defaults; `redis-prefetch`: the same with a prefetch buffer. */
const subjects: Subject[] = [redisSubject('redis', 0), redisSubject('redis-prefetch', PREFETCH)];

export default subjects;
