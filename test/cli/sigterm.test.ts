import { spawn } from 'node:child_process';
import { expect, test } from 'vitest';
import { BIN, HANDLERS, runCli, sqliteConfig } from './helpers.js';

test('SIGTERM to `switchyard runner` mid-batch: every job is either acked or back in the queue', async () => {
  const { config } = sqliteConfig();
  const lines = Array.from({ length: 20 }, (_, n) => JSON.stringify({ type: 'slow', params: { n } })).join(
    '\n',
  );
  expect((await runCli(['push', '--config', config], { input: `${lines}\n` })).code).toBe(0);

  const child = spawn(
    process.execPath,
    [BIN, 'runner', '--config', config, '--handlers', HANDLERS, '--json'],
    {
      env: { ...process.env, SWITCHYARD_CLI_SOURCE: '1', ANNOUNCE_JOBS: '1', SLOW_MS: '300' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
  });
  const code = await new Promise<number | null>((resolve) => {
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      // Stop once a few jobs have started: some are in flight, most are still queued.
      if ((stderr.match(/job started/g) ?? []).length === 3) child.kill('SIGTERM');
    });
    child.on('close', resolve);
  });
  expect(code, stderr).toBe(0);
  const result = JSON.parse(stdout) as { reached: string; ok: number; retried: number };
  expect(result.reached).toBe('stopped');

  const shown = await runCli(['show-jobs', '--config', config, '--json']);
  const counts = JSON.parse(shown.stdout) as {
    ready: number;
    claimed: number;
    delayed: number;
    abandoned: number;
  };
  expect(counts.claimed).toBe(0);
  expect(counts.abandoned).toBe(0);
  expect(result.ok + counts.ready + counts.delayed).toBe(20);
  expect(counts.ready).toBeGreaterThan(0);
}, 60_000);
