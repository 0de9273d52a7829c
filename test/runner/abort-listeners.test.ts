/**
 * Issue 14 point 7: `switchyard runner` on PostgreSQL printed `MaxListenersExceededWarning: 11
 * abort listeners added to [AbortSignal]`. The stop signal the service hands every slice must
 * keep a bounded number of abort listeners however many jobs run. The leak was the runner's
 * wait for an in-flight job (one listener per job, on every backend), so SQLite runs it too.
 * Real PostgreSQL, unique prefix.
 */
import { randomUUID } from 'node:crypto';
import { getEventListeners } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { dropSchema, SqlDatabase } from '../../src/backends/sql/index.js';
import { resolveConfig } from '../../src/container.js';
import { JobQueueFarm } from '../../src/core/farm.js';
import { defineHandlers, silentLogger } from '../../src/runner/index.js';
import { RunnerService } from '../../src/runner/service.js';
import { describeIfService, services } from '../helpers/env.js';

const JOBS = 10_000;

/** Runs {@link JOBS} jobs through a RunnerService on `connection` and checks the stop signal. */
async function leakTest(connection: Record<string, unknown>, prefix: string): Promise<JobQueueFarm> {
  const config = await resolveConfig({
    connections: { db: { class: 'sql', ...connection } },
    jobTypeConf: { default: { class: 'sql', connection: 'db', prefix } },
    jobTypes: ['leak'],
    runners: { basic: { runners: 2, concurrency: 2, include: ['*'] } },
  });
  const farm = new JobQueueFarm(config);
  try {
    const group = farm.group(config.defaultDomain);
    for (let i = 0; i < JOBS; i += 1000) {
      await group.push(Array.from({ length: 1000 }, (_, j) => ({ type: 'leak', params: { n: i + j } })));
    }
    const stop = new AbortController();
    let max = 0;
    let ran = 0;
    const handlers = defineHandlers({
      leak: {
        run: () => {
          ran++;
          max = Math.max(max, getEventListeners(stop.signal, 'abort').length);
        },
      },
    });
    const service = new RunnerService(farm, { handlers, logger: silentLogger });
    const result = await service.run({ signal: stop.signal, exitWhenIdle: true });
    expect(ran).toBe(JOBS);
    expect(result.jobs.ok).toBe(JOBS);
    const after = getEventListeners(stop.signal, 'abort').length;
    expect({ max, after }).toEqual({ max: expect.any(Number), after: 0 });
    expect(max).toBeLessThanOrEqual(10);
  } catch (err) {
    await farm.close();
    throw err;
  }
  return farm;
}

describeIfService(services.postgres, 'runner on PostgreSQL: abort listeners', (url) => {
  const prefix = `syl_${randomUUID().replaceAll('-', '').slice(0, 8)}_`;
  let farm: JobQueueFarm | null = null;

  afterAll(async () => {
    await farm?.close();
    if (url === '') return;
    const db = SqlDatabase.open({ connection: url, prefix });
    await dropSchema(await db.knex(), { prefix });
    await db.close();
  });

  test(`the stop signal keeps a bounded number of abort listeners over ${JOBS} jobs`, async () => {
    farm = await leakTest({ connection: url, pool: { max: 4 } }, prefix);
  }, 240_000);
});

describe('runner on SQLite: abort listeners', () => {
  test(`the stop signal keeps a bounded number of abort listeners over ${JOBS} jobs`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'switchyard-leak-'));
    const farm = await leakTest({ filename: join(dir, 'jobs.sqlite') }, 'syl_');
    await farm.close();
    rmSync(dir, { recursive: true, force: true });
  }, 240_000);
});
