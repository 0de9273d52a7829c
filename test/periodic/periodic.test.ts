/**
 * Periodic jobs: the `periodic` section's validation, the scheduler's ticks (latest due only,
 * missed-tick policies, time zones and DST) on the memory backend with a manual clock, exactly one
 * push per tick among many schedulers, and RunnerService running the schedules.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { resolveConfig } from '../../src/container.js';
import { ManualClock } from '../../src/core/clock.js';
import { JobQueueFarm } from '../../src/core/farm.js';
import {
  PeriodicScheduler,
  parsePeriodicSection,
  validatePeriodicSection,
} from '../../src/periodic/index.js';
import { defineHandlers, silentLogger } from '../../src/runner/index.js';
import { RunnerService } from '../../src/runner/service.js';

const T0 = Date.parse('2026-12-06T12:01:00Z');

async function memoryFarm(
  periodic: Record<string, unknown>,
  clock: ManualClock,
  store = `periodic-${randomUUID()}`,
) {
  const config = await resolveConfig({
    connections: { mem: { class: 'memory', store } },
    jobTypeConf: { default: { class: 'memory', connection: 'mem' } },
    periodic,
  });
  return { farm: new JobQueueFarm(config, { clock }), config, store };
}

describe('periodic section', () => {
  test('every problem is an issue naming its path', () => {
    const issues = validatePeriodicSection(
      {
        ok: { type: 't', cron: '*/5 * * * *' },
        'bad name!': { type: 't', cron: '* * * * *' },
        noType: { cron: '* * * * *' },
        badCron: { type: 't', cron: 'every day' },
        badZone: { type: 't', cron: '* * * * *', timezone: 'Mars/Olympus' },
        badMissed: { type: 't', cron: '* * * * *', missed: 'all' },
        badParams: { type: 't', cron: '* * * * *', params: [1] },
        extra: { type: 't', cron: '* * * * *', every: 5 },
        noCron: { type: 't' },
      },
      'periodic',
    );
    expect(issues.map((i) => i.path).sort()).toEqual(
      [
        'periodic.bad name!',
        'periodic.noType.type',
        'periodic.badCron.cron',
        'periodic.badZone.timezone',
        'periodic.badMissed.missed',
        'periodic.badParams.params',
        'periodic.extra.every',
        'periodic.noCron.cron',
      ].sort(),
    );
  });

  test('loadConfig refuses a bad section with SWITCHYARD_CONFIG_INVALID; a good one parses with defaults', async () => {
    await expect(resolveConfig({ periodic: { x: { type: 't', cron: '61 * * * *' } } })).rejects.toMatchObject(
      {
        code: 'SWITCHYARD_CONFIG_INVALID',
        issues: [expect.objectContaining({ path: 'periodic.x.cron' })],
      },
    );
    const config = await resolveConfig({
      periodic: { nightly: { type: 'purge', cron: '0 3 * * *', params: { days: 30 } } },
    });
    expect(parsePeriodicSection(config.sections.periodic)).toEqual([
      {
        name: 'nightly',
        type: 'purge',
        cron: '0 3 * * *',
        timezone: 'UTC',
        domain: null,
        params: { days: 30 },
        missed: 'skip',
      },
    ]);
  });
});

describe('PeriodicScheduler (memory, manual clock)', () => {
  test('pushes once per tick; a late scheduler fires only the latest due tick', async () => {
    const clock = new ManualClock(T0);
    const { farm, config } = await memoryFarm(
      { every5: { type: 'report', cron: '*/5 * * * *', params: { k: 1 } } },
      clock,
    );
    const q = farm.group().get('report');
    const s = new PeriodicScheduler(farm, parsePeriodicSection(config.sections.periodic), { clock });
    expect((await s.runDue()).pushed).toEqual([]);
    expect(await s.nextTicks()).toEqual({ every5: Date.parse('2026-12-06T12:05:00Z') });
    clock.set(Date.parse('2026-12-06T12:05:00Z'));
    expect((await s.runDue()).pushed).toEqual([{ name: 'every5', tick: Date.parse('2026-12-06T12:05:00Z') }]);
    expect((await s.runDue()).pushed).toEqual([]);
    clock.set(Date.parse('2026-12-06T12:17:30Z')); // 12:10 and 12:15 are due: only 12:15 fires
    expect((await s.runDue()).pushed).toEqual([{ name: 'every5', tick: Date.parse('2026-12-06T12:15:00Z') }]);
    expect(await q.getSize()).toBe(2);
    const job = await q.pop();
    expect(job?.params).toEqual({ k: 1 });
    expect(await q.lastPeriodicTick('every5')).toBe(Date.parse('2026-12-06T12:15:00Z'));
    await farm.close();
  });

  test('8 schedulers over one store push exactly one job per tick', async () => {
    const clock = new ManualClock(T0);
    const store = `periodic-${randomUUID()}`;
    const farms = await Promise.all(
      Array.from({ length: 8 }, () =>
        memoryFarm({ m: { type: 'minutely', cron: '* * * * *' } }, clock, store),
      ),
    );
    const schedulers = farms.map(
      ({ farm, config }) =>
        new PeriodicScheduler(farm, parsePeriodicSection(config.sections.periodic), { clock }),
    );
    await Promise.all(schedulers.map((s) => s.init())); // from 12:01: ticks after it fire
    for (let minute = 1; minute <= 5; minute++) {
      clock.advance(60_000);
      const rounds = await Promise.all(schedulers.map((s) => s.runDue()));
      expect(rounds.flatMap((r) => r.pushed)).toHaveLength(1);
      expect(rounds.flatMap((r) => r.claimedElsewhere)).toHaveLength(7);
    }
    expect(await farms[0]?.farm.group().get('minutely').getSize()).toBe(5);
    for (const f of farms) await f.farm.close();
  });

  test('missed: once fires the latest tick missed while no scheduler ran; missed: skip fires none', async () => {
    const clock = new ManualClock(Date.parse('2026-12-06T10:00:00Z'));
    const store = `periodic-${randomUUID()}`;
    const sections = {
      once: { type: 'hourlyA', cron: '0 * * * *', missed: 'once' },
      skip: { type: 'hourlyB', cron: '0 * * * *' },
    };
    const first = await memoryFarm(sections, clock, store);
    const before = new PeriodicScheduler(first.farm, parsePeriodicSection(first.config.sections.periodic), {
      clock,
    });
    await before.init();
    clock.set(Date.parse('2026-12-06T11:00:00Z'));
    expect((await before.runDue()).pushed.map((p) => p.name).sort()).toEqual(['once', 'skip']);
    // Down from 11:00 to 14:20: 12:00, 13:00 and 14:00 were missed.
    clock.set(Date.parse('2026-12-06T14:20:00Z'));
    const second = await memoryFarm(sections, clock, store);
    const after = new PeriodicScheduler(second.farm, parsePeriodicSection(second.config.sections.periodic), {
      clock,
    });
    expect((await after.runDue()).pushed).toEqual([
      { name: 'once', tick: Date.parse('2026-12-06T14:00:00Z') },
    ]);
    expect((await after.runDue()).pushed).toEqual([]);
    const group = second.farm.group();
    expect(await group.get('hourlyA').getSize()).toBe(2);
    expect(await group.get('hourlyB').getSize()).toBe(1);
    await first.farm.close();
    await second.farm.close();
  });

  test('a schedule reads its cron in its time zone, across the DST change', async () => {
    const clock = new ManualClock(Date.parse('2026-03-28T12:00:00Z'));
    const { farm, config } = await memoryFarm(
      { berlin: { type: 'nightly', cron: '0 3 * * *', timezone: 'Europe/Berlin', domain: 'dewiki' } },
      clock,
    );
    const s = new PeriodicScheduler(farm, parsePeriodicSection(config.sections.periodic), { clock });
    // 29 March 2026: Berlin moves from UTC+1 to UTC+2 at 02:00, so 03:00 local is 01:00 UTC.
    expect(await s.nextTicks()).toEqual({ berlin: Date.parse('2026-03-29T01:00:00Z') });
    clock.set(Date.parse('2026-03-29T01:00:00Z'));
    expect((await s.runDue()).pushed).toHaveLength(1);
    expect(await s.nextTicks()).toEqual({ berlin: Date.parse('2026-03-30T01:00:00Z') });
    expect(await farm.group('dewiki').get('nightly').getSize()).toBe(1);
    expect(await farm.group().get('nightly').getSize()).toBe(0);
    await farm.close();
  });

  test('a type routed to a backend without periodic ticks fails init with the schedule path', async () => {
    const clock = new ManualClock(T0);
    const config = await resolveConfig({
      connections: { kafka: { class: 'eventbus', brokers: '127.0.0.1:1', secret: 'x'.repeat(32) } },
      jobTypeConf: { default: { class: 'memory' }, events: { class: 'eventbus', connection: 'kafka' } },
      periodic: { p: { type: 'events', cron: '* * * * *' } },
    });
    const farm = new JobQueueFarm(config, { clock });
    const s = new PeriodicScheduler(farm, parsePeriodicSection(config.sections.periodic), { clock });
    await expect(s.init()).rejects.toMatchObject({
      code: 'SWITCHYARD_CONFIG_INVALID',
      issues: [expect.objectContaining({ path: 'periodic.p.type' })],
    });
    await farm.close();
  });
});

describe('RunnerService with periodic schedules', () => {
  test('three services over one store run a per-second schedule once per second', async () => {
    const store = `periodic-${randomUUID()}`;
    const config = await resolveConfig({
      connections: { mem: { class: 'memory', store } },
      jobTypeConf: { default: { class: 'memory', connection: 'mem' } },
      periodic: { tick: { type: 'tick', cron: '* * * * * *' } },
      runners: { basic: { runners: 1, include: ['*'] } },
    });
    const seconds: number[] = [];
    const handlers = defineHandlers({
      tick: { run: (job) => void seconds.push(Math.floor(job.enqueuedAt / 1000)) },
    });
    const farms = [0, 1, 2].map(() => new JobQueueFarm(config));
    const stop = new AbortController();
    const runs = farms.map((farm) =>
      new RunnerService(farm, { handlers, logger: silentLogger, idleWait: 0.05 }).run({
        signal: stop.signal,
      }),
    );
    await new Promise((r) => setTimeout(r, 3_300));
    stop.abort();
    await Promise.all(runs);
    expect(seconds.length).toBeGreaterThanOrEqual(2);
    expect(seconds.length).toBeLessThanOrEqual(4);
    expect(new Set(seconds).size).toBe(seconds.length); // never two jobs for one tick
    for (const f of farms) await f.close();
  });
});
