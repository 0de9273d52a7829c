/** The runner on the sql backend over embedded SQLite (always runs; no services). */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { resolveConfig } from '../../src/container.js';
import { createJobQueueGroup } from '../../src/core/farm.js';
import { defineHandlers, JobRunner, silentLogger } from '../../src/runner/index.js';
import { delay } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'switchyard-runner-sqlite-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test('on SQLite: jobs run in batches with bounded concurrency; a failing job is retried then abandoned', async () => {
  const config = await resolveConfig({
    connections: { local: { class: 'sql', filename: join(dir, 'runner.sqlite') } },
    jobTypeConf: { default: { class: 'sql', connection: 'local', order: 'fifo', maxTries: 2 } },
  });
  const group = createJobQueueGroup(config, 'default');
  try {
    await group.push(Array.from({ length: 30 }, (_, i) => ({ type: 'work', params: { i } })));
    await group.push({ type: 'flaky', params: {} });
    let now = 0;
    let peak = 0;
    const runner = new JobRunner(group, {
      logger: silentLogger,
      backoff: { base: 0.01, jitter: 0 },
      handlers: defineHandlers({
        work: {
          run: async () => {
            now++;
            peak = Math.max(peak, now);
            await delay(2);
            now--;
          },
        },
        flaky: {
          run: () => {
            throw new Error('boom');
          },
        },
      }),
    });
    const res = await runner.run({ type: 'work', concurrency: 4 });
    expect(res.jobs.filter((j) => j.status === 'ok')).toHaveLength(30);
    expect(peak).toBeLessThanOrEqual(4);
    const statuses: string[] = [];
    for (let i = 0; i < 20 && (await group.get('flaky').getAbandonedCount()) === 0; i++) {
      statuses.push(...(await runner.run({ type: 'flaky' })).jobs.map((j) => j.status));
      await delay(30);
    }
    expect(statuses).toEqual(['retried', 'abandoned']);
    expect(await group.get('work').getSize()).toBe(0);
    expect(await group.get('work').getAcquiredCount()).toBe(0);
  } finally {
    await group.close();
  }
});
