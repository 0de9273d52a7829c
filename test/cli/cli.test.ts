import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { HANDLERS, MAP_HANDLERS, NO_HANDLERS, runCli, sqliteConfig, withConfig } from './helpers.js';

const noStack = (text: string): void => {
  expect(text).not.toMatch(/\n\s+at /);
};

/** A one-line error on stderr, no stack trace. */
function oneLineError(stderr: string, pattern: RegExp): void {
  const lines = stderr.trim().split('\n');
  expect(lines, stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^switchyard: /);
  expect(lines[0]).toMatch(pattern);
  noStack(stderr);
}

describe('switchyard: usage and bad input', () => {
  test('--help and --version exit 0; no command is a usage error', async () => {
    const help = await runCli(['--help']);
    expect(help.code).toBe(0);
    for (const cmd of [
      'run-jobs',
      'show-jobs',
      'manage-jobs',
      'runner',
      'chron',
      'next-job-domain',
      'push',
      'migrate',
      'demo',
      'init',
    ]) {
      expect(help.stdout).toContain(cmd);
    }
    const version = await runCli(['--version']);
    expect(version.code).toBe(0);
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
    const none = await runCli([]);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('Usage: switchyard');
  });

  test('an unknown command or flag is a one-line usage error (exit 2)', async () => {
    const cmd = await runCli(['frobnicate']);
    expect(cmd.code).toBe(2);
    oneLineError(cmd.stderr, /unknown command 'frobnicate'/);
    const flag = await runCli(['show-jobs', '--frobnicate']);
    expect(flag.code).toBe(2);
    oneLineError(flag.stderr, /unknown option '--frobnicate'/);
    const value = await runCli(['run-jobs', '--max-jobs', 'lots']);
    expect(value.code).toBe(2);
    oneLineError(value.stderr, /--max-jobs.*integer/);
    const choice = await runCli(['manage-jobs', '--action', 'explode']);
    expect(choice.code).toBe(2);
    oneLineError(choice.stderr, /explode/);
  });

  test('a missing or invalid config is a one-line config error (exit 3)', async () => {
    // No config at all falls back to the embedded SQLite default (test/cli/empty-folder.test.ts);
    // a config that is named but missing stays an error, from the flag or the environment.
    const { dir } = withConfig('');
    const fromEnv = await runCli(['show-jobs'], {
      cwd: dir,
      env: { SWITCHYARD_CONFIG: join(dir, 'nope.yaml') },
    });
    expect(fromEnv.code).toBe(3);
    oneLineError(fromEnv.stderr, /config file not found/);
    const missing = await runCli(['show-jobs', '--config', join(dir, 'nope.yaml')]);
    expect(missing.code).toBe(3);
    oneLineError(missing.stderr, /config file not found/);
    const bad = withConfig(
      'runners:\n  basic: { runners: many }\njobTypeConf: { default: { class: nosuch } }\n',
    );
    const invalid = await runCli(['show-jobs', '--config', bad.config]);
    expect(invalid.code).toBe(3);
    oneLineError(invalid.stderr, /runners\.basic\.runners.*nosuch|nosuch.*runners\.basic\.runners/);
  });

  test('secrets in the config never reach the output', async () => {
    const { config } = withConfig(
      'connections:\n  db: { class: sql, connection: "postgres://app:hunter2secret@127.0.0.1:1/db" }\n' +
        'jobTypeConf:\n  default: { class: sql, connection: db }\njobTypes: [t1]\n',
    );
    const r = await runCli(['show-jobs', '--config', config, '--verbose']);
    expect(r.code).toBe(4); // backend unavailable
    expect(r.stderr).toMatch(/^switchyard: .*ECONNREFUSED/);
    expect(r.stderr + r.stdout).not.toContain('hunter2secret');
    const bad = withConfig(
      'jobTypeConf:\n  default: { class: sql, connection: "postgres://app:hunter2secret@h/db" }\n',
    );
    const invalid = await runCli(['show-jobs', '--config', bad.config, '--verbose']);
    expect(invalid.code).toBe(3);
    expect(invalid.stderr + invalid.stdout).not.toContain('hunter2secret');
  });

  describe('with a SQLite config', () => {
    let config = '';
    beforeAll(() => {
      config = sqliteConfig().config;
    });

    test('push: an unknown type and --params that is not JSON are one-line usage errors', async () => {
      const unknown = await runCli(['push', '--config', config, '--type', 'nosuch', '--params', '{}']);
      expect(unknown.code).toBe(2);
      oneLineError(unknown.stderr, /unknown job type "nosuch" \(known: t1, t2, fail, slow\)/);
      const notJson = await runCli(['push', '--config', config, '--type', 't1', '--params', '{oops']);
      expect(notJson.code).toBe(2);
      oneLineError(notJson.stderr, /--params is not valid JSON/);
      const notObject = await runCli(['push', '--config', config, '--type', 't1', '--params', '[1]']);
      expect(notObject.code).toBe(2);
      const badLine = await runCli(['push', '--config', config], {
        input: '{"type":"t1"}\nnot json\n{"tpye":"t1"}\n',
      });
      expect(badLine.code).toBe(2);
      oneLineError(badLine.stderr, /line 2: not valid JSON.*line 3: unknown field tpye/);
      const shown = await runCli(['show-jobs', '--config', config, '--json']);
      expect(JSON.parse(shown.stdout)).toMatchObject({ ready: 0 }); // nothing pushed from a bad batch
    });

    test('run-jobs: a handlers module that is missing or exports nothing (exit 5); --verbose adds the stack', async () => {
      const missing = await runCli(['run-jobs', '--config', config, '--handlers', './no/such/module.ts']);
      expect(missing.code).toBe(5);
      oneLineError(missing.stderr, /handlers module not found: .\/no\/such\/module.ts/);
      const empty = await runCli(['run-jobs', '--config', config, '--handlers', NO_HANDLERS]);
      expect(empty.code).toBe(5);
      oneLineError(empty.stderr, /exports no handlers/);
      const none = await runCli(['run-jobs', '--config', config]);
      expect(none.code).toBe(2);
      oneLineError(none.stderr, /missing --handlers/);
      const verbose = await runCli(['run-jobs', '--config', config, '--handlers', NO_HANDLERS, '--verbose']);
      expect(verbose.code).toBe(5);
      expect(verbose.stderr).toMatch(/\n\s+at /);
      const unknownType = await runCli([
        'run-jobs',
        '--config',
        config,
        '--handlers',
        HANDLERS,
        '--type',
        'zzz',
      ]);
      expect(unknownType.code).toBe(2);
      oneLineError(unknownType.stderr, /unknown job type "zzz"/);
    });
  });
});

describe('switchyard: every command on SQLite', () => {
  let config = '';
  let dir = '';
  beforeAll(() => {
    ({ config, dir } = sqliteConfig());
  });
  const cli = (...args: string[]) => runCli([...args, '--config', config]);

  test('migrate creates the tables; a second run is up to date', async () => {
    const first = await cli('migrate', '--json');
    expect(first.code).toBe(0);
    const out = JSON.parse(first.stdout) as { stores: Array<{ store: string; version: number }> };
    expect(out.stores).toHaveLength(1);
    expect(out.stores[0]?.store).toMatch(/sqlite/);
    const again = await cli('migrate');
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/up to date/);
  });

  test('push from flags, with --remove-duplicates and --delay', async () => {
    const one = await cli('push', '--type', 't1', '--params', '{"page":1}', '--json');
    expect(one.code).toBe(0);
    expect(JSON.parse(one.stdout)).toEqual({ jobs: 1, inserted: 1, duplicates: 0 });
    await cli('push', '--type', 't2', '--params', '{"page":2}', '--remove-duplicates');
    const dupe = await cli('push', '--type', 't2', '--params', '{"page":2}', '--remove-duplicates');
    expect(dupe.stdout).toMatch(/pushed 0 jobs \(1 duplicate skipped\)/);
    const delayed = await cli('push', '--type', 't1', '--params', '{}', '--delay', '3600');
    expect(delayed.code).toBe(0);
    const lines = [
      JSON.stringify({ type: 'fail', params: { n: 1 } }),
      JSON.stringify({ type: 't2', params: { n: 2 }, domain: 'otherwiki' }),
    ].join('\n');
    const stdin = await runCli(['push', '--config', config, '--json'], { input: `${lines}\n` });
    expect(JSON.parse(stdin.stdout)).toEqual({ jobs: 2, inserted: 2, duplicates: 0 });
  });

  test('show-jobs: totals, --group per type, --list with --status and --limit', async () => {
    const totals = await cli('show-jobs', '--json');
    expect(JSON.parse(totals.stdout)).toEqual({
      domain: 'default',
      ready: 3,
      claimed: 0,
      delayed: 1,
      abandoned: 0,
    });
    const text = await cli('show-jobs');
    expect(text.stdout.trim()).toBe('ready 3, claimed 0, delayed 1, abandoned 0');
    const group = await cli('show-jobs', '--group', '--json');
    expect(JSON.parse(group.stdout)).toEqual({
      t1: { ready: 1, claimed: 0, delayed: 1, abandoned: 0, waiting: 0 },
      t2: { ready: 1, claimed: 0, delayed: 0, abandoned: 0, waiting: 0 },
      fail: { ready: 1, claimed: 0, delayed: 0, abandoned: 0, waiting: 0 },
      slow: { ready: 0, claimed: 0, delayed: 0, abandoned: 0, waiting: 0 },
    });
    const table = await cli('show-jobs', '--group');
    expect(table.stdout).toMatch(/type\s+ready\s+claimed\s+delayed\s+abandoned/);
    const list = await cli('show-jobs', '--list', '--status', 'all', '--json');
    const jobs = JSON.parse(list.stdout) as Array<{ type: string; state: string; params: unknown }>;
    expect(jobs.map((j) => `${j.type}:${j.state}`).sort()).toEqual([
      'fail:ready',
      't1:delayed',
      't1:ready',
      't2:ready',
    ]);
    const limited = await cli(
      'show-jobs',
      '--list',
      '--limit',
      '1',
      '--type',
      't1',
      '--status',
      'delayed',
      '--json',
    );
    expect(JSON.parse(limited.stdout)).toHaveLength(1);
    const other = await runCli(['show-jobs', '--config', config, '--domain', 'otherwiki', '--json']);
    expect(JSON.parse(other.stdout)).toMatchObject({ domain: 'otherwiki', ready: 1 });
  });

  test('next-job-domain prints a domain with ready jobs (of --type), or nothing', async () => {
    const any = await cli('next-job-domain', '--json');
    expect(['default', 'otherwiki']).toContain((JSON.parse(any.stdout) as { domain: string }).domain);
    const none = await cli('next-job-domain', '--type', 'slow');
    expect(none.code).toBe(0);
    expect(none.stdout.trim()).toBe('');
    const oneDomain = await runCli([
      'next-job-domain',
      '--config',
      config,
      '--domain',
      'otherwiki',
      '--type',
      't2',
    ]);
    expect(oneDomain.stdout.trim()).toBe('otherwiki');
  });

  test('run-jobs runs a type, then all; a failed job means exit 1; --json summary', async () => {
    const t1 = await cli('run-jobs', '--handlers', HANDLERS, '--type', 't1', '--json');
    expect(t1.code).toBe(0);
    expect(JSON.parse(t1.stdout)).toMatchObject({ jobs: 1, ok: 1, reached: 'none-ready' });
    const all = await cli('run-jobs', '--handlers', HANDLERS, '--json');
    expect(all.code).toBe(1);
    const out = JSON.parse(all.stdout) as Record<string, unknown>;
    expect(out).toMatchObject({ jobs: 2, ok: 1, failed: 1, reached: 'none-ready' });
    expect(out.failures).toEqual([expect.objectContaining({ type: 'fail', error: 'this job always fails' })]);
    const plain = await cli('run-jobs', '--handlers', MAP_HANDLERS, '--max-jobs', '5');
    expect(plain.code).toBe(0);
    expect(plain.stdout).toMatch(/^ran 0 jobs in [\d.]+ s; stopped: none-ready/);
  });

  test('run-jobs --procs 2 --wait --max-time sums its processes', async () => {
    await runCli(['push', '--config', config], {
      input: `${Array.from({ length: 40 }, (_, n) => JSON.stringify({ type: 't2', params: { n } })).join('\n')}\n`,
    });
    const r = await cli(
      'run-jobs',
      '--handlers',
      HANDLERS,
      '--procs',
      '2',
      '--wait',
      '--max-time',
      '2',
      '--json',
    );
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ jobs: 40, ok: 40, procs: 2 });
  });

  test('manage-jobs repush-abandoned and delete', async () => {
    const repush = await cli('manage-jobs', '--action', 'repush-abandoned', '--json');
    expect(repush.code).toBe(0);
    expect(JSON.parse(repush.stdout)).toMatchObject({ action: 'repush-abandoned', total: 0 });
    const del = await cli('manage-jobs', '--action', 'delete', '--type', 't1', '--json');
    expect(JSON.parse(del.stdout)).toEqual({
      action: 'delete',
      domain: 'default',
      total: 1,
      types: { t1: 1 },
    });
    const after = await cli('show-jobs', '--group', '--json');
    expect((JSON.parse(after.stdout) as Record<string, { delayed: number }>).t1?.delayed).toBe(0);
  });

  test('chron --once reports a maintenance pass; chron --max-time runs passes until then', async () => {
    const once = await cli('chron', '--once', '--json');
    expect(once.code).toBe(0);
    expect(JSON.parse(once.stdout)).toMatchObject({ recycled: 0, abandoned: 0, pruned: 0, released: 0 });
    const timed = await cli('chron', '--interval', '0.2', '--max-time', '0.7');
    expect(timed.code).toBe(0);
    expect(timed.stdout.trim().split('\n').length).toBeGreaterThanOrEqual(2);
    expect(timed.stdout).toMatch(/maintenance: \d+ queues; recycled 0/);
  });

  test('runner --until-empty runs both groups and reports per group', async () => {
    await runCli(['push', '--config', config], {
      input: `${[
        ...Array.from({ length: 10 }, (_, n) => ({ type: 't1', params: { n } })),
        ...Array.from({ length: 5 }, (_, n) => ({ type: 't2', params: { n } })),
      ]
        .map((s) => JSON.stringify(s))
        .join('\n')}\n`,
    });
    const r = await cli('runner', '--handlers', HANDLERS, '--until-empty', '--json');
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({
      jobs: 15,
      ok: 15,
      byGroup: { ones: 10, twos: 5 },
      reached: 'idle',
    });
  });

  test('runner --domain runs that domain only; run-jobs --memory-limit stops at the limit', async () => {
    await runCli(['push', '--config', config, '--domain', 'd1', '--type', 't1']);
    await runCli(['push', '--config', config, '--domain', 'd2', '--type', 't1']);
    const r = await cli('runner', '--handlers', HANDLERS, '--domain', 'd2', '--until-empty', '--json');
    expect(JSON.parse(r.stdout)).toMatchObject({ jobs: 1, reached: 'idle' });
    const left = await runCli(['show-jobs', '--config', config, '--domain', 'd1', '--json']);
    expect(JSON.parse(left.stdout)).toMatchObject({ ready: 1 });
    const mem = await runCli([
      'run-jobs',
      '--config',
      config,
      '--domain',
      'd1',
      '--handlers',
      HANDLERS,
      '--memory-limit',
      '1',
      '--json',
    ]);
    expect(JSON.parse(mem.stdout)).toMatchObject({ jobs: 0, reached: 'memory-limit' });
  });

  test('demo runs with no config and no services', async () => {
    const r = await runCli(['demo', '--json'], { cwd: dir });
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as { ran: number; after: Record<string, { ready: number }> };
    expect(out.ran).toBe(60);
    expect(Object.values(out.after).every((c) => c.ready === 0)).toBe(true);
    const text = await runCli(['demo', '--jobs', '9'], { cwd: dir });
    expect(text.stdout).toMatch(/type\s+ready\s+claimed\s+delayed\s+abandoned/);
  });

  test('run-jobs holds a type to its backoffThrottling rate', async () => {
    const t = withConfig(
      `jobTypeConf:\n  default: { class: sql, filename: ${JSON.stringify(join(dir, 'throttle.sqlite'))} }\n` +
        'jobTypes: [t1]\nbackoffThrottling: { t1: 5 }\n',
    );
    const lines = Array.from({ length: 50 }, (_, n) => JSON.stringify({ type: 't1', params: { n } })).join(
      '\n',
    );
    await runCli(['push', '--config', t.config], { input: `${lines}\n` });
    const r = await runCli([
      'run-jobs',
      '--config',
      t.config,
      '--handlers',
      HANDLERS,
      '--max-time',
      '1',
      '--json',
    ]);
    const out = JSON.parse(r.stdout) as { jobs: number; seconds: number };
    expect(out.jobs).toBeGreaterThan(0);
    expect(out.jobs).toBeLessThanOrEqual(5 + Math.ceil(5 * out.seconds) + 1);
  });

  test('executor: no executor section is a config error; an unreachable broker is exit 4, one line', async () => {
    const none = await runCli(['executor', '--config', config]);
    expect(none.code).toBe(3);
    oneLineError(none.stderr, /executor/);
    writeFileSync(
      join(dir, 'executor.yaml'),
      [
        'executor:',
        '  brokers: 127.0.0.1:1',
        '  secret: s3cret-value',
        '  connectionTimeout: 300',
        '  retries: 0',
        '  rules: [{ name: basic, topics: [mediawiki.job.t1] }]',
        '',
      ].join('\n'),
    );
    const down = await runCli(['executor', '--config', join(dir, 'executor.yaml'), '--handlers', HANDLERS]);
    expect(down.code).toBe(4);
    expect(down.stderr).toMatch(/^switchyard: .*(broker|Kafka|connect)/im);
    expect(down.stderr).not.toContain('s3cret-value');
    noStack(down.stderr);
  });

  test('a runner config section that is wrong names its path', async () => {
    writeFileSync(join(dir, 'bad.yaml'), 'runners:\n  g: { include: x }\n');
    const r = await runCli(['runner', '--config', join(dir, 'bad.yaml'), '--handlers', HANDLERS]);
    expect(r.code).toBe(3);
    oneLineError(r.stderr, /runners\.g\.include/);
  });
});
