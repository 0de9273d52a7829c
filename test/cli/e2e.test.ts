import { expect, test } from 'vitest';
import { describeIfService, services } from '../helpers/env.js';
import { HANDLERS, runCli, SHARED_YAML, sqliteConfig, uniquePrefix, withConfig } from './helpers.js';

const JOBS = 10_000;

/** 10,000 job specifications as JSON lines: half t1 (group "ones"), half t2 (group "twos"). */
function jsonLines(): string {
  const lines: string[] = [];
  for (let n = 0; n < JOBS; n++)
    lines.push(JSON.stringify({ type: n % 2 === 0 ? 't1' : 't2', params: { n } }));
  return `${lines.join('\n')}\n`;
}

/** Pushes 10,000 jobs with the CLI, drains them with `switchyard runner` (2 groups), checks show-jobs. */
async function pushDrainShow(config: string): Promise<void> {
  const pushed = await runCli(['push', '--config', config, '--json'], { input: jsonLines() });
  expect(pushed.code, pushed.stderr).toBe(0);
  expect(JSON.parse(pushed.stdout)).toEqual({ jobs: JOBS, inserted: JOBS, duplicates: 0 });

  const before = await runCli(['show-jobs', '--config', config, '--group', '--json']);
  expect(JSON.parse(before.stdout)).toMatchObject({ t1: { ready: JOBS / 2 }, t2: { ready: JOBS / 2 } });

  const ran = await runCli(['runner', '--config', config, '--handlers', HANDLERS, '--until-empty', '--json']);
  expect(ran.code, ran.stderr).toBe(0);
  // Issue 14: one abort listener leaked per job on the runner's stop signal.
  expect(ran.stderr).not.toMatch(/MaxListenersExceededWarning/);
  expect(JSON.parse(ran.stdout)).toMatchObject({
    jobs: JOBS,
    ok: JOBS,
    byGroup: { ones: JOBS / 2, twos: JOBS / 2 },
    reached: 'idle',
  });

  const after = await runCli(['show-jobs', '--config', config, '--json']);
  expect(after.code).toBe(0);
  expect(JSON.parse(after.stdout)).toEqual({
    domain: 'default',
    ready: 0,
    claimed: 0,
    delayed: 0,
    abandoned: 0,
  });
}

test('SQLite: 10,000 jobs pushed with the CLI, drained by `switchyard runner` with 2 groups, show-jobs reports zero', async () => {
  await pushDrainShow(sqliteConfig().config);
}, 180_000);

describeIfService(services.postgres, 'PostgreSQL: CLI end to end', (url) => {
  test('10,000 jobs pushed, drained by 2 runner groups, show-jobs reports zero', async () => {
    const { config } = withConfig(
      `connections:\n  db: { class: sql, connection: ${JSON.stringify(url)}, prefix: ${uniquePrefix()} }\n` +
        `jobTypeConf:\n  default: { class: sql, connection: db }\n${SHARED_YAML}`,
    );
    await pushDrainShow(config);
  }, 300_000);
});

describeIfService(services.mysql, 'MariaDB/MySQL: CLI end to end', (url) => {
  test('10,000 jobs pushed, drained by 2 runner groups, show-jobs reports zero', async () => {
    const { config } = withConfig(
      `connections:\n  db: { class: sql, connection: ${JSON.stringify(url)}, prefix: ${uniquePrefix()} }\n` +
        `jobTypeConf:\n  default: { class: sql, connection: db }\n${SHARED_YAML}`,
    );
    await pushDrainShow(config);
  }, 300_000);
});

describeIfService(services.redis, 'Redis: CLI end to end', (url) => {
  test('10,000 jobs pushed, drained by 2 runner groups, show-jobs reports zero', async () => {
    const { config } = withConfig(
      `connections:\n  r: { class: redis, url: ${JSON.stringify(url)}, prefix: ${uniquePrefix()} }\n` +
        `jobTypeConf:\n  default: { class: redis, connection: r }\n${SHARED_YAML}`,
    );
    await pushDrainShow(config);
  }, 300_000);
});
