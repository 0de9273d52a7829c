/** Redis clean-up shared by the suites that run on a real server. */
import { Redis as IORedis, type Redis } from 'ioredis';
import { afterAll, beforeAll } from 'vitest';
import { RedisJobQueue, type RedisJobQueueOptions } from '../../src/backends/redis/index.js';

/** Deletes every key matching `pattern` (SCAN, so a big keyspace is never blocked). */
export async function deleteKeysMatching(client: Redis, pattern: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) await client.del(...keys);
  } while (cursor !== '0');
}

/**
 * The fixture of a Redis integration suite: one client (connected on first use, pinged before
 * the tests), a factory of queues on `prefix` in `domain` (a new type per queue, no opportunistic
 * maintenance), and after the suite every queue closed, every key under the prefix deleted and
 * the client quit. Call it inside the suite's `describe`.
 */
export function redisQueues(
  url: string,
  prefix: string,
  domain: string,
): {
  readonly client: Redis;
  readonly opened: RedisJobQueue[];
  readonly queue: (options?: Partial<RedisJobQueueOptions>) => RedisJobQueue;
} {
  const client = new IORedis(url, { maxRetriesPerRequest: 1, lazyConnect: true });
  const opened: RedisJobQueue[] = [];
  beforeAll(async () => {
    await client.ping();
  });
  afterAll(async () => {
    for (const q of opened) await q.close();
    await deleteKeysMatching(client, `${prefix}:*`);
    await client.quit();
  });
  const queue = (options: Partial<RedisJobQueueOptions> = {}): RedisJobQueue => {
    const q = new RedisJobQueue({
      type: `t${opened.length}`,
      domain,
      client,
      prefix,
      maintenanceInterval: null,
      ...options,
    });
    opened.push(q);
    return q;
  };
  return { client, opened, queue };
}
