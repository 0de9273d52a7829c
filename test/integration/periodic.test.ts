/**
 * Periodic ticks on the real stores: 8 schedulers, each with its own farm (own connection pool
 * or client, like 8 runner processes), claim the same ticks at once; exactly one pushes per tick.
 */

import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { dropSchema, SqlDatabase } from '../../src/backends/sql/index.js';
import { resolveConfig } from '../../src/container.js';
import { ManualClock } from '../../src/core/clock.js';
import { JobQueueFarm } from '../../src/core/farm.js';
import { PeriodicScheduler, parsePeriodicSection } from '../../src/periodic/index.js';
import { describeIfService, services } from '../helpers/env.js';

const FARMS = 8;
const TICKS = 4;

/** Runs the race on `connection` (a config connection entry) and returns the queue size after it. */
async function race(connection: Record<string, unknown>, entry: Record<string, unknown>): Promise<void> {
  const clock = new ManualClock(Date.parse('2026-12-06T12:00:30Z'));
  const type = `periodic_${randomUUID().slice(0, 8)}`;
  const config = await resolveConfig({
    connections: { db: connection },
    jobTypeConf: { default: { connection: 'db', ...entry } },
    periodic: { race: { type, cron: '* * * * *', params: { from: 'cron' } } },
  });
  const farms = Array.from({ length: FARMS }, () => new JobQueueFarm(config, { clock }));
  try {
    const schedulers = farms.map(
      (farm) => new PeriodicScheduler(farm, parsePeriodicSection(config.sections.periodic), { clock }),
    );
    await Promise.all(schedulers.map((s) => s.init()));
    for (let i = 1; i <= TICKS; i++) {
      clock.advance(60_000);
      const rounds = await Promise.all(schedulers.map((s) => s.runDue()));
      expect(rounds.flatMap((r) => r.failed)).toEqual([]);
      expect(rounds.flatMap((r) => r.pushed).map((p) => p.tick)).toEqual([
        Date.parse(`2026-12-06T12:0${i}:00Z`),
      ]);
    }
    const q = farms[0]?.group().get(type);
    expect(await q?.getSize()).toBe(TICKS);
    expect(await q?.lastPeriodicTick('race')).toBe(Date.parse(`2026-12-06T12:0${TICKS}:00Z`));
    await q?.delete();
  } finally {
    for (const farm of farms) await farm.close();
  }
}

const prefix = `syp_${randomUUID().replaceAll('-', '').slice(0, 8)}_`;

describe('periodic ticks on SQLite (one file, 8 connections)', () => {
  test(`${FARMS} schedulers push one job per tick`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'switchyard-periodic-'));
    try {
      await race({ class: 'sql', filename: join(dir, 'jobs.sqlite') }, { class: 'sql', prefix });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});

for (const [service, label] of [
  [services.postgres, 'PostgreSQL'],
  [services.mysql, 'MariaDB'],
] as const) {
  describeIfService(service, `periodic ticks on ${label}`, (url) => {
    afterAll(async () => {
      const db = SqlDatabase.open({ connection: url, prefix });
      await dropSchema(await db.knex(), { prefix });
      await db.close();
    });
    test(`${FARMS} schedulers (own pools) push one job per tick`, async () => {
      await race({ class: 'sql', connection: url, pool: { max: 2 } }, { class: 'sql', prefix });
    }, 60_000);
  });
}

describeIfService(services.redis, 'periodic ticks on Redis', (url) => {
  test(`${FARMS} schedulers (own clients) push one job per tick`, async () => {
    await race({ class: 'redis', url }, { class: 'redis', prefix: `swytest-periodic-${process.pid}` });
  }, 60_000);
});
