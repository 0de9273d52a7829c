/**
 * The backend and the aggregator conformance suites over a real Redis Cluster (issue 16 point
 * 1): three masters with one replica each, started by scripts/redis/cluster.mjs, reached through
 * an ioredis `Cluster` client. Every key of a queue shares its `{domain:type}` hash tag and the
 * aggregator's keys share theirs, so each Lua script touches one slot; the wake subscriber is a
 * duplicate of the Cluster client (PUBLISH reaches every node). Runs with the other Redis suites
 * (SWITCHYARD_REDIS_URL set; the cluster itself needs only the redis-server and redis-cli
 * binaries).
 */
import { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, test } from 'vitest';
import { RedisAggregator } from '../../src/aggregators/redis/index.js';
import { RedisJobQueue, redisSupports } from '../../src/backends/redis/index.js';
import { runAggregatorConformance, runBackendConformance } from '../../src/testing/index.js';
import { describeIfService, services } from '../helpers/env.js';

interface RedisCluster {
  readonly nodes: ReadonlyArray<{ host: string; port: number }>;
  stop(): Promise<void>;
}

describeIfService(services.redis, 'Redis Cluster (3 masters × 1 replica)', () => {
  let cluster: RedisCluster | null = null;
  let client: Cluster | null = null;
  const prefix = `swytest-cluster-${process.pid}`;
  const shared = (): Cluster => {
    if (!client) throw new Error('the Redis Cluster did not start');
    return client;
  };

  beforeAll(async () => {
    // @ts-expect-error: a plain .mjs script without types.
    const mod = (await import('../../scripts/redis/cluster.mjs')) as {
      startRedisCluster(o?: object): Promise<RedisCluster>;
    };
    cluster = await mod.startRedisCluster();
    client = new Cluster([...cluster.nodes.slice(0, 1)], { redisOptions: { maxRetriesPerRequest: 2 } });
  }, 60_000);

  afterAll(async () => {
    client?.disconnect();
    await cluster?.stop();
  });

  runBackendConformance({
    name: 'redis on a Redis Cluster',
    supports: redisSupports,
    describe,
    test,
    timeout: 30_000,
    factory: (options) => new RedisJobQueue({ ...options, client: shared(), prefix }),
  });

  runAggregatorConformance({
    name: 'redis on a Redis Cluster',
    describe,
    test,
    factory: ({ namespace, clock, cacheTTL }) =>
      new RedisAggregator({
        client: shared(),
        prefix: `${prefix}:${namespace}`,
        clock,
        ...(cacheTTL === undefined ? {} : { cacheTTL }),
      }),
  });
});
