import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, test } from 'vitest';
import { RedisJobQueue, redisSupports } from '../../src/backends/redis/index.js';
import { runBackendConformance } from '../../src/testing/index.js';
import { describeIfService, services } from '../helpers/env.js';
import { deleteKeysMatching } from '../helpers/redis.js';

// One shared client and one key prefix per run of this file: every test uses its own random
// domain and type under it, and teardown deletes every key of the prefix.
const prefix = `swytest-conf-${process.pid}-${Date.now().toString(36)}`;

describeIfService(services.redis, 'redis backend', (url) => {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });

  beforeAll(async () => {
    await client.connect();
  });

  afterAll(async () => {
    await deleteKeysMatching(client, `${prefix}:*`);
    await client.quit();
  });

  // The suite runs twice: as configured by default, and with a prefetch buffer per handle (jobs
  // claimed ahead of pop() and handed out without a round trip; given back on close).
  for (const prefetch of [0, 64]) {
    runBackendConformance({
      name: prefetch === 0 ? 'redis' : `redis (prefetch ${prefetch})`,
      supports: redisSupports,
      describe,
      test,
      beforeAll,
      afterAll,
      factory: (options) => new RedisJobQueue({ ...options, client, prefix, prefetch }),
    });
  }
});
