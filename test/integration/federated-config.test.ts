/**
 * A federated queue built from a config file's entry through a farm: a Redis partition on a
 * shared `connections` entry (opened once by the farm's pool, shared by every domain's queues)
 * and a SQLite partition of its own. Runs when SWITCHYARD_REDIS_URL is set.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, expect, test } from 'vitest';
import { FederatedJobQueue } from '../../src/backends/federated/index.js';
import { resolveConfig } from '../../src/container.js';
import { JobQueueFarm } from '../../src/core/farm.js';
import { describeIfService, services } from '../helpers/env.js';
import { deleteKeysMatching } from '../helpers/redis.js';

describeIfService(services.redis, 'federated backend from a config (Redis connection + SQLite)', (url) => {
  const dir = mkdtempSync(join(tmpdir(), 'swy-fed-config-'));
  const prefix = `swytest-fedconf-${process.pid}-${Date.now().toString(36)}`;

  afterAll(async () => {
    const c = new Redis(url);
    await deleteKeysMatching(c, `${prefix}:*`);
    await c.quit();
    rmSync(dir, { recursive: true, force: true });
  });

  test('partitions of two classes, one on a shared connection; jobs of two domains round-trip', async () => {
    const config = await resolveConfig({
      connections: { redis1: { class: 'redis', url } },
      jobTypeConf: {
        default: {
          class: 'federated',
          claimTTL: 60,
          partitionsBySection: { default: { rdb: 1, lite: 1 } },
          configByPartition: {
            rdb: { class: 'redis', connection: 'redis1', prefix },
            lite: { class: 'sql', filename: join(dir, 'partition.sqlite') },
          },
        },
      },
    });
    const farm = new JobQueueFarm(config);
    try {
      for (const domain of ['enwiki', 'dewiki']) {
        const group = farm.group(domain);
        for (let n = 0; n < 40; n++) await group.push({ type: 'refresh', params: { n, domain } });
        const q = group.get('refresh');
        expect(q).toBeInstanceOf(FederatedJobQueue);
        expect(q.supports.durable).toBe(true);
        expect(await q.getSize()).toBe(40);
        const from = new Set<string>();
        const seen = new Set<number>();
        for (let job = await q.pop(); job; job = await q.pop()) {
          from.add(job.partition as string);
          seen.add(job.params.n as number);
          expect(job.params.domain).toBe(domain);
          expect(await q.ack(job)).toBe(true);
        }
        expect(seen.size).toBe(40);
        expect([...from].sort()).toEqual(['lite', 'rdb']);
      }
      // One Redis connection for both domains' partitions.
      expect(farm.connections.opened).toEqual(['redis1']);
    } finally {
      await farm.close();
    }
  });
});
