import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect, test } from 'vitest';

const child = fileURLToPath(new URL('./fixtures/sigterm-child.ts', import.meta.url));

test('SIGTERM to a child runner mid-batch loses no job: each is acked or back in the queue', async () => {
  const proc = spawn(process.execPath, ['--import', 'tsx', child], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  proc.stderr.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const code = await new Promise<number | null>((resolve) => {
    proc.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('started\n') && !proc.killed) setTimeout(() => proc.kill('SIGTERM'), 100);
    });
    proc.on('exit', (c) => resolve(c));
  });
  expect(err).toBe('');
  expect(code).toBe(0);
  const last = out.trim().split('\n').at(-1) ?? '';
  const r = JSON.parse(last) as Record<string, number | string>;
  expect(r.reached).toBe('stopped');
  expect(r.claimed).toBe(0);
  expect(Number(r.ok) + Number(r.ready) + Number(r.delayed)).toBe(20);
  expect(Number(r.ready)).toBeGreaterThan(0);
});
