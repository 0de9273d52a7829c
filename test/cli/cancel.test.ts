// `switchyard cancel` as a real process over one SQLite file: by id (the job's state is reported,
// the job is gone), and by the dedup key of --params (only that key's queued holders go).
import { describe, expect, test } from 'vitest';
import { runCli, sqliteConfig } from './helpers.js';

interface Listed {
  readonly id: string;
  readonly params: { readonly page?: string; readonly n?: number };
}

describe('cli: cancel', () => {
  test('cancels by id and by dedup key; reports what it did', async () => {
    const { config } = sqliteConfig();
    const cli = (...args: string[]) => runCli([...args, '--config', config]);
    expect((await cli('migrate')).code).toBe(0);
    const lines = [
      {
        type: 't1',
        params: { page: 'A', n: 0 },
        removeDuplicates: true,
        removeDuplicatesIgnoreParams: ['n'],
      },
      {
        type: 't1',
        params: { page: 'B', n: 1 },
        removeDuplicates: true,
        removeDuplicatesIgnoreParams: ['n'],
      },
      { type: 't1', params: { page: 'C', n: 2 } },
    ];
    const pushed = await runCli(['push', '--config', config], {
      input: `${lines.map((l) => JSON.stringify(l)).join('\n')}\n`,
    });
    expect(pushed.code).toBe(0);
    const list = async (): Promise<Listed[]> =>
      JSON.parse((await cli('show-jobs', '--list', '--type', 't1', '--json')).stdout) as Listed[];
    const c = (await list()).find((j) => j.params.page === 'C');
    expect(c).toBeDefined();
    const byId = await cli('cancel', '--type', 't1', '--id', (c as Listed).id, '--json');
    expect(byId.code).toBe(0);
    expect(JSON.parse(byId.stdout)).toMatchObject({ id: (c as Listed).id, cancelled: true, state: 'ready' });
    const again = await cli('cancel', '--type', 't1', '--id', (c as Listed).id);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/no job/);
    const byKey = await cli(
      'cancel',
      '--type',
      't1',
      '--params',
      '{"page":"A","n":9}',
      '--ignore-params',
      'n',
      '--json',
    );
    expect(byKey.code).toBe(0);
    expect(JSON.parse(byKey.stdout)).toMatchObject({ cancelled: 1 });
    expect((await list()).map((j) => j.params.page)).toEqual(['B']);
  }, 60_000);

  test('cancel needs exactly one of --id and --params (exit 2)', async () => {
    const { config } = sqliteConfig();
    const neither = await runCli(['cancel', '--type', 't1', '--config', config]);
    expect(neither.code).toBe(2);
    expect(neither.stderr).toMatch(/--id|--params/);
    const both = await runCli(['cancel', '--type', 't1', '--id', '1', '--params', '{}', '--config', config]);
    expect(both.code).toBe(2);
  });
});
