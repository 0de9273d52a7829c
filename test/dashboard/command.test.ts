/** `switchyard dashboard` as a real process over SQLite: serves counts, takes the token from the environment, stops on SIGTERM. */
import { spawn } from 'node:child_process';
import { expect, test } from 'vitest';
import { BIN, runCli, sqliteConfig } from '../cli/helpers.js';

test('switchyard dashboard --port 0 serves the overview and guards actions with $SWITCHYARD_DASHBOARD_TOKEN', async () => {
  const { config } = sqliteConfig();
  const push = await runCli(['push', '--config', config], {
    input: `${JSON.stringify({ type: 't1', params: {} })}\n`,
  });
  expect(push.code).toBe(0);
  const child = spawn(process.execPath, [BIN, 'dashboard', '--config', config, '--port', '0'], {
    env: { ...process.env, SWITCHYARD_CLI_SOURCE: '1', SWITCHYARD_DASHBOARD_TOKEN: 'cli-token' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  try {
    const base = await new Promise<string>((resolve, reject) => {
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
        const m = /on (http:\/\/\S+\/) \(actions on\)/.exec(stderr);
        if (m?.[1]) resolve(m[1]);
      });
      child.once('exit', (code) => reject(new Error(`dashboard exited ${code}: ${stderr}`)));
    });
    const html = await (await fetch(base)).text();
    expect(html).toContain('data-type="t1"><td>default</td>');
    expect(html).toMatch(/data-type="t1">.*?<td class="ready">1<\/td>/);
    const form = new URLSearchParams({ domain: 'default', type: 't1', action: 'delete' });
    const headers = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' };
    expect((await fetch(`${base}action`, { method: 'POST', headers, body: form })).status).toBe(401);
    const ok = await fetch(`${base}action`, {
      method: 'POST',
      headers: { ...headers, 'x-switchyard-token': 'cli-token' },
      body: form,
    });
    expect(await ok.json()).toEqual({ action: 'delete', type: 't1', domain: 'default', count: 1 });
  } finally {
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  }
}, 30_000);

test('switchyard dashboard: a missing --port or an empty token is a one-line usage error (exit 2)', async () => {
  const { config } = sqliteConfig();
  const noPort = await runCli(['dashboard', '--config', config]);
  expect(noPort.code).toBe(2);
  expect(noPort.stderr).toContain('--port');
  const empty = await runCli(['dashboard', '--config', config, '--port', '0', '--token', '']);
  expect(empty.code).toBe(2);
  expect(empty.stderr).toContain('must not be empty');
});
