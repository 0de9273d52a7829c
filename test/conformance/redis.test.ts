import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, test } from 'vitest';
import { RedisJobQueue, redisSupports } from '../../src/backends/redis/index.js';
import { runBackendConformance } from '../../src/testing/index.js';
import { describeIfService, services } from '../helpers/env.js';

// One shared client and one key prefix per run of this file: every test uses its own random
// domain and type under it, and teardown deletes every key of the prefix.
const prefix = `swytest-conf-${process.pid}-${Date.now().toString(36)}`;

describeIfService(services.redis, 'redis backend', (url) => {
  let client: Redis | null = null;
  const shared = (): Redis => {
    client ??= new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
    return client;
  };

  runBackendConformance({
    name: 'redis',
    supports: redisSupports,
    describe,
    test,
    beforeAll,
    afterAll,
    factory: (options) => new RedisJobQueue({ ...options, client: shared(), prefix }),
    setup: async () => {
      await shared().connect();
    },
    teardown: async () => {
      const c = shared();
      let cursor = '0';
      do {
        const [next, keys] = await c.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
        cursor = next;
        if (keys.length > 0) await c.del(...keys);
      } while (cursor !== '0');
      await c.quit();
    },
  });
});
