/**
 * The conformance suite on a federated queue over heterogeneous partitions: one Redis partition
 * and one SQLite partition (promises §3 [beyond]). Runs when SWITCHYARD_REDIS_URL is set.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, test } from 'vitest';
import { FederatedJobQueue, federatedSupports } from '../../src/backends/federated/index.js';
import { RedisJobQueue, redisSupports } from '../../src/backends/redis/index.js';
import { SqlDatabase, SqlJobQueue, sqlSupports } from '../../src/backends/sql/index.js';
import { runBackendConformance } from '../../src/testing/index.js';
import { describeIfService, services } from '../helpers/env.js';
import { deleteKeysMatching } from '../helpers/redis.js';

const prefix = `swytest-fed-${process.pid}-${Date.now().toString(36)}`;

describeIfService(services.redis, 'federated backend (Redis + SQLite)', (url) => {
  let client: Redis | null = null;
  const shared = (): Redis => {
    client ??= new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
    return client;
  };
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-fed-'));
  const database = SqlDatabase.open({ filename: join(dir, 'partition.sqlite') });

  runBackendConformance({
    name: 'federated (Redis + SQLite)',
    supports: federatedSupports([redisSupports, sqlSupports]),
    describe,
    test,
    beforeAll,
    afterAll,
    factory: (options) =>
      new FederatedJobQueue({
        ...options,
        partitions: [
          { name: 'rdb', weight: 1, create: (o) => new RedisJobQueue({ ...o, client: shared(), prefix }) },
          { name: 'lite', weight: 1, create: (o) => new SqlJobQueue({ ...o, database }) },
        ],
      }),
    setup: async () => {
      await shared().connect();
      await database.ensureSchema(database.prefix, 'on-first-use');
    },
    teardown: async () => {
      const c = shared();
      await deleteKeysMatching(c, `${prefix}:*`);
      await c.quit();
      await database.close();
      rmSync(dir, { recursive: true, force: true });
    },
  });
});
