// `switchyard pause | resume | paused` as real processes over one SQLite file: the flag one
// process stores stops another process's runner; pushes still land.
import { describe, expect, test } from 'vitest';
import { HANDLERS, runCli, sqliteConfig } from './helpers.js';

describe('cli: pause / resume', () => {
  test('a pause from one process stops run-jobs in another; pushes land; resume lets them run', async () => {
    const { config } = sqliteConfig();
    const cli = (...args: string[]) => runCli([...args, '--config', config]);
    expect((await cli('migrate')).code).toBe(0);
    const paused = await cli('pause', '--type', 't1', '--json');
    expect(paused.code).toBe(0);
    expect(JSON.parse(paused.stdout)).toMatchObject({ type: 't1', paused: true });
    expect((await cli('push', '--type', 't1', '--params', '{"n":1}')).code).toBe(0);
    expect((await cli('push', '--type', 't2', '--params', '{"n":2}')).code).toBe(0);
    const run = await cli('run-jobs', '--handlers', HANDLERS, '--max-time', '1', '--json');
    expect(run.code).toBe(0);
    const shown = await cli('show-jobs', '--json', '--group');
    const counts = JSON.parse(shown.stdout) as Record<string, { ready: number }>;
    expect(counts.t1?.ready).toBe(1);
    expect(counts.t2?.ready).toBe(0);
    const status = await cli('paused', '--type', 't1');
    expect(status.stdout).toMatch(/t1 in .*: paused/);
    const resumed = await cli('resume', '--type', 't1', '--json');
    expect(JSON.parse(resumed.stdout)).toMatchObject({ type: 't1', paused: false });
    expect((await cli('run-jobs', '--handlers', HANDLERS, '--max-time', '1')).code).toBe(0);
    const after = JSON.parse((await cli('show-jobs', '--json', '--group')).stdout) as Record<
      string,
      { ready: number }
    >;
    expect(after.t1?.ready).toBe(0);
  }, 60_000);

  test('pause without --type is a usage error (exit 2)', async () => {
    const { config } = sqliteConfig();
    const r = await runCli(['pause', '--config', config]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--type/);
  });
});
