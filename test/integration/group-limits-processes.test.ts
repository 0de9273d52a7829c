/**
 * Flow-control groups across processes (issue 17 "Done when"): 8 runner processes, 4 jobs at a
 * time each, drain one Redis queue whose groups are capped by `groupLimits`; the handlers count,
 * in Redis, how many jobs of their group run at once. The cap is never exceeded (and is reached:
 * the limit binds), every job runs exactly once, and keyless jobs are not capped.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { expect, test } from 'vitest';
import { RedisJobQueue } from '../../src/backends/redis/index.js';
import { describeIfService, services } from '../helpers/env.js';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const workerFile = fileURLToPath(new URL('./fixtures/group-runner.ts', import.meta.url));

describeIfService(services.redis, 'groupLimits across 8 runner processes (Redis)', (url) => {
  test('maxConcurrent is never exceeded, counted by the handlers; every job runs once', async () => {
    const id = randomUUID().slice(0, 8);
    const prefix = `swy-glp-${id}`;
    const counters = `swy-glp-counters-${id}`;
    const domain = 'glp';
    const groupLimits = { maxConcurrent: 3, keys: { big: { maxConcurrent: 5 } } };
    const queue = new RedisJobQueue({ type: 'work', domain, url, prefix, groupLimits });
    const redis = new Redis(url);
    try {
      const specs = [
        ...Array.from({ length: 300 }, () => 'hot'),
        ...Array.from({ length: 100 }, () => 'big'),
        ...Array.from({ length: 100 }, (_, i) => `cold${i % 5}`),
        ...Array.from({ length: 100 }, () => null),
      ].map((groupKey, n) => ({ type: 'work', params: { n }, ...(groupKey === null ? {} : { groupKey }) }));
      await queue.push(specs);
      const total = specs.length;
      const children = Array.from({ length: 8 }, () =>
        spawn(
          process.execPath,
          [
            '--import',
            'tsx',
            workerFile,
            JSON.stringify({ url, prefix, domain, total, counters, groupLimits }),
          ],
          { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] },
        ),
      );
      const exits = await Promise.all(
        children.map(
          (child) =>
            new Promise<{ code: number | null; stderr: string }>((resolve) => {
              let stderr = '';
              child.stderr?.on('data', (c: Buffer) => {
                stderr += c.toString('utf8');
              });
              child.on('exit', (code) => resolve({ code, stderr }));
            }),
        ),
      );
      for (const exit of exits) expect(exit, exit.stderr).toMatchObject({ code: 0 });
      const runs = await redis.hgetall(`${counters}:runs`);
      expect(Object.keys(runs).length).toBe(total);
      expect(Object.values(runs).every((v) => v === '1')).toBe(true);
      const peaks = Object.fromEntries(
        Object.entries(await redis.hgetall(`${counters}:peaks`)).map(([g, v]) => [g, Number(v)]),
      );
      expect(peaks.hot).toBe(3);
      expect(peaks.big).toBeLessThanOrEqual(5);
      expect(peaks.big).toBeGreaterThanOrEqual(4);
      for (let i = 0; i < 5; i++) expect(peaks[`cold${i}`]).toBeLessThanOrEqual(3);
      // Keyless jobs are one more group in the turns but not capped: more than 3 ran at once.
      expect(peaks['-']).toBeGreaterThan(3);
      expect(await queue.getSize()).toBe(0);
    } finally {
      await queue.delete();
      await queue.close();
      const keys = await redis.keys(`${counters}:*`);
      if (keys.length > 0) await redis.del(...keys);
      redis.disconnect();
    }
  }, 180_000);
});
