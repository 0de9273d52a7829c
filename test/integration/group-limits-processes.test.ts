/**
 * Flow-control groups across processes (issue 17 "Done when"): 8 runner processes, 4 jobs at a
 * time each, drain one queue (Redis, PostgreSQL, MariaDB) whose groups are capped by
 * `groupLimits`; the handlers count,
 * in Redis, how many jobs of their group run at once. The cap is never exceeded (and is reached:
 * the limit binds), every job runs exactly once, and keyless jobs are not capped.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { expect, test } from 'vitest';
import { RedisJobQueue } from '../../src/backends/redis/index.js';
import { dropSchema, SqlJobQueue } from '../../src/backends/sql/index.js';
import type { JobQueue } from '../../src/core/job-queue.js';
import type { GroupLimits } from '../../src/core/queue-options.js';
import { describeIfService, services } from '../helpers/env.js';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const workerFile = fileURLToPath(new URL('./fixtures/group-runner.ts', import.meta.url));

/** One store under test: its queue handle for the test, and its connection entry for the runners. */
interface Store {
  readonly queue: (groupLimits: GroupLimits) => JobQueue;
  /**
   * How long a job runs (ms, plus 0–4): long enough that the runners hold more jobs at once than
   * the caps, so the caps bind (a SQL claim is a transaction of several statements: its runners
   * claim fewer jobs per second than Redis's, and run fewer at once for jobs as short).
   */
  readonly runMs: number;
  readonly connection: { readonly class: 'redis' | 'sql' } & Record<string, unknown>;
}

/** Drains 600 grouped jobs with 8 runner processes; the handlers' counters are in Redis at `url`. */
async function drainWithProcesses(url: string, store: Store, id: string): Promise<void> {
  const counters = `swy-glp-counters-${id}`;
  const domain = 'glp';
  const groupLimits = { maxConcurrent: 3, keys: { big: { maxConcurrent: 5 } } };
  const queue = store.queue(groupLimits);
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
          JSON.stringify({
            url,
            connection: store.connection,
            domain,
            total,
            counters,
            groupLimits,
            runMs: store.runMs,
          }),
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
}

describeIfService(services.redis, 'groupLimits across 8 runner processes (Redis)', (url) => {
  test('maxConcurrent is never exceeded, counted by the handlers; every job runs once', async () => {
    const id = randomUUID().slice(0, 8);
    const prefix = `swy-glp-${id}`;
    await drainWithProcesses(
      url,
      {
        queue: (groupLimits) => new RedisJobQueue({ type: 'work', domain: 'glp', url, prefix, groupLimits }),
        connection: { class: 'redis', url, prefix },
        runMs: 2,
      },
      id,
    );
  }, 180_000);
});

for (const [service, client] of [
  [services.postgres, 'pg'],
  [services.mysql, 'mysql2'],
] as const) {
  describeIfService(service, `groupLimits across 8 runner processes (SQL: ${service.name})`, (sqlUrl) => {
    describeIfService(services.redis, 'with the handlers counting in Redis', (url) => {
      test('maxConcurrent is never exceeded, counted by the handlers; every job runs once', async () => {
        const id = randomUUID().slice(0, 8);
        const prefix = `glp_${id}_`;
        const connection = { class: 'sql', client, connection: sqlUrl, prefix } as const;
        const queues: SqlJobQueue[] = [];
        try {
          await drainWithProcesses(
            url,
            {
              queue: (groupLimits) => {
                const q = new SqlJobQueue({
                  type: 'work',
                  domain: 'glp',
                  client,
                  connection: sqlUrl,
                  prefix,
                  groupLimits,
                });
                queues.push(q);
                return q;
              },
              connection,
              runMs: 15,
            },
            id,
          );
        } finally {
          const q = new SqlJobQueue({ type: 'work', domain: 'glp', client, connection: sqlUrl, prefix });
          const knex = await q.database.knex();
          await dropSchema(knex, { prefix });
          await q.close();
        }
      }, 180_000);
    });
  });
}
