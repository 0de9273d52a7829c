/**
 * Periodic schedules through the CLI on one SQLite file: two `switchyard runner` processes push a
 * per-second schedule once per tick between them (the store's tick claim), and
 * `show-jobs --periodic` lists the schedule with its last and next ticks.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { HANDLERS, runCli, withConfig } from './helpers.js';

test('two runner processes push a per-second schedule once per tick; show-jobs --periodic lists it', async () => {
  const { dir, config } = withConfig('');
  const yaml = `jobTypeConf:
  default: { class: sql, filename: ${JSON.stringify(join(dir, 'jobs.sqlite'))} }
jobTypes: [t1, t2]
runners:
  basic: { runners: 1, include: [t2] }
periodic:
  everySecond: { type: t1, cron: '* * * * * *', params: { from: cron } }
  nightly: { type: t2, cron: '0 3 * * *', timezone: Europe/Berlin, domain: dewiki }
`;
  writeFileSync(config, yaml);
  const before = await runCli(['show-jobs', '--config', config, '--periodic', '--json']);
  expect(before.code, before.stderr).toBe(0);
  const listed = JSON.parse(before.stdout) as Array<Record<string, unknown>>;
  expect(listed.map((r) => [r.name, r.type, r.domain, r.last])).toEqual([
    ['everySecond', 't1', 'default', null],
    ['nightly', 't2', 'dewiki', null],
  ]);
  expect(Date.parse(String(listed[1]?.next)) % 3_600_000).toBe(0); // 03:00 Berlin is a whole UTC hour
  // Two runners for ~3 s; neither runs t1 (the group includes only t2), so t1's jobs stay ready.
  const started = Date.now();
  const runs = await Promise.all(
    [0, 1].map(() =>
      runCli(['runner', '--config', config, '--handlers', HANDLERS, '--max-time', '3', '--json']),
    ),
  );
  const elapsed = (Date.now() - started) / 1000;
  for (const r of runs) expect(r.code, r.stderr).toBe(0);
  const counted = await runCli(['show-jobs', '--config', config, '--group', '--json', '--type', 't1']);
  const ready = (JSON.parse(counted.stdout) as Record<string, { ready: number }>).t1?.ready ?? 0;
  // One job per second boundary the two overlapping 3-second runs saw, never one per runner.
  expect(ready).toBeGreaterThanOrEqual(2);
  expect(ready).toBeLessThanOrEqual(Math.ceil(elapsed) + 1);
  const listedJobs = await runCli(['show-jobs', '--config', config, '--list', '--json', '--type', 't1']);
  const jobs = JSON.parse(listedJobs.stdout) as Array<{ enqueuedAt: number; params: unknown }>;
  expect(jobs.every((j) => JSON.stringify(j.params) === '{"from":"cron"}')).toBe(true);
  const seconds = jobs.map((j) => Math.floor(j.enqueuedAt / 1000));
  expect(new Set(seconds).size).toBe(seconds.length); // never two jobs for one tick
  const after = await runCli(['show-jobs', '--config', config, '--periodic', '--json']);
  const last = (JSON.parse(after.stdout) as Array<Record<string, unknown>>)[0]?.last;
  expect(typeof last).toBe('string');
}, 60_000);
