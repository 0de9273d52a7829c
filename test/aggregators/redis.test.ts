/**
 * The aggregator conformance suite on the Redis aggregator: one shared client, a key prefix per
 * test namespace under one per-file prefix; teardown deletes every key of the file.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { fieldOf, parseField, RedisAggregator } from '../../src/aggregators/redis/index.js';
import { runAggregatorConformance } from '../../src/testing/index.js';
import { describeIfService, services } from '../helpers/env.js';
import { deleteKeysMatching } from '../helpers/redis.js';

const filePrefix = `swytest-agg-${process.pid}-${Date.now().toString(36)}`;

test('hash fields round-trip any domain and type', () => {
  for (const [d, t] of [
    ['a', 'b'],
    ['1:2', '3'],
    ['1', '2:3'],
    ['ünï', 'cødé'],
  ] as const) {
    expect(parseField(fieldOf(d, t))).toEqual([t, d]);
  }
  expect(parseField('garbage')).toBeNull();
});

describeIfService(services.redis, 'redis aggregator', (url) => {
  let client: Redis | null = null;
  const shared = (): Redis => {
    client ??= new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
    return client;
  };

  runAggregatorConformance({
    name: 'redis',
    describe,
    test,
    beforeAll,
    afterAll,
    factory: ({ namespace, clock, cacheTTL }) =>
      new RedisAggregator({
        client: shared(),
        prefix: `${filePrefix}:${namespace}`,
        clock,
        ...(cacheTTL === undefined ? {} : { cacheTTL }),
      }),
    setup: async () => {
      await shared().connect();
    },
    teardown: async () => {
      const c = shared();
      await deleteKeysMatching(c, `{${filePrefix}:*`);
      await c.quit();
    },
  });

  test('an owned client (url) is closed by close(); a host client is not', async () => {
    const owned = new RedisAggregator({ url, prefix: `${filePrefix}:owned` });
    await owned.replaceReadyQueues({ t: ['d'] });
    expect(await owned.getAllReadyQueues()).toEqual({ t: ['d'] });
    await owned.purge();
    await owned.close();
    const host = new Redis(url, { maxRetriesPerRequest: 1 });
    const borrowed = new RedisAggregator({ client: host, prefix: `${filePrefix}:host` });
    await borrowed.notifyQueueNonEmpty('d', 't');
    await borrowed.close();
    expect(await host.ping()).toBe('PONG');
    await host.del(`{${filePrefix}:host}:ready`);
    await host.quit();
  });
});

describeIfService(services.redis, 'redis aggregator from the config', (url) => {
  test('aggregator: { class: redis, connection } reuses the farm’s client for that connection', async () => {
    const { createFarmWithAggregator, resolveConfig } = await import('../../src/container.js');
    const prefix = `${filePrefix}:cfg`;
    const config = await resolveConfig({
      connections: { cache: { class: 'redis', url, prefix: `${filePrefix}:q` } },
      jobTypeConf: { default: { class: 'redis', connection: 'cache', maintenanceInterval: null } },
      jobTypes: ['x'],
      domains: ['a'],
      aggregator: { class: 'redis', connection: 'cache', prefix, cacheTTL: 60 },
    });
    const farm = await createFarmWithAggregator(config);
    try {
      const agg = farm.aggregator as RedisAggregator;
      expect(agg).toBeInstanceOf(RedisAggregator);
      await agg.replaceReadyQueues({});
      await farm.group('a').push({ type: 'x', params: {} });
      expect(await agg.getAllReadyQueues()).toEqual({ x: ['a'] });
    } finally {
      const cleanup = new Redis(url);
      for (const p of [`{${prefix}}:*`, `${filePrefix}:q*`]) {
        const keys = await cleanup.keys(p);
        if (keys.length > 0) await cleanup.del(...keys);
      }
      await cleanup.quit();
      await farm.close();
    }
  });
});
