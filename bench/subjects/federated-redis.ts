/**
 * Subject `federated-redis`: switchyard's federated backend over two Redis partitions of equal
 * weight on the Redis named by `SWITCHYARD_REDIS_URL` (different key prefixes, one client each),
 * to measure what the federation layer costs next to the plain `redis` subject in the same run.
 *
 * Every run gets its own key prefixes (`swy-<runId>-p1`, `-p2`); teardown deletes both.
 *
 * @packageDocumentation
 */
import type { JobQueue } from '../../src/core/job-queue.js';
import { jobQueueSubject } from '../lib/job-queue-subject.js';
import { deleteKeysWithPrefix, openRedis, redisAvailable, redisBenchUrl } from '../lib/redis.js';
import type { Subject } from '../lib/types.js';

/** Key prefixes of each live queue, so teardown knows what to delete. */
const prefixes = new WeakMap<JobQueue<string>, readonly string[]>();

/** The federated backend over two Redis partitions. */
const federatedRedis: Subject = jobQueueSubject(
  'federated-redis',
  async (ctx) => {
    const url = redisBenchUrl();
    if (url === undefined) throw new Error('federated-redis subject: SWITCHYARD_REDIS_URL is not set');
    const { FederatedJobQueue } = await import('../../src/backends/federated/index.js');
    const { RedisJobQueue } = await import('../../src/backends/redis/index.js');
    const names = ['p1', 'p2'];
    const queue = new FederatedJobQueue({
      type: 'bench',
      domain: 'bench',
      partitions: names.map((name) => ({
        name,
        weight: 1,
        create: (o) => new RedisJobQueue({ ...o, url, prefix: `swy-${ctx.runId}-${name}` }),
      })),
    });
    prefixes.set(
      queue,
      names.map((name) => `swy-${ctx.runId}-${name}:`),
    );
    return queue;
  },
  {
    group: 'redis',
    description: 'switchyard federated backend over 2 redis partitions (SWITCHYARD_REDIS_URL)',
    // The same sizes as the redis subject, so the two compare phase for phase.
    defaults: { single: 20_000, bulk: 200_000, drain: 50_000, concurrency: 16 },
    available: redisAvailable,
    async dispose(queue) {
      const list = prefixes.get(queue) ?? [];
      prefixes.delete(queue);
      const url = redisBenchUrl();
      try {
        await queue.delete();
        if (url !== undefined && list.length > 0) {
          const client = await openRedis(url);
          try {
            for (const prefix of list) await deleteKeysWithPrefix(client, prefix);
          } finally {
            client.disconnect();
          }
        }
      } finally {
        await queue.close();
      }
    },
  },
);

export default federatedRedis;
