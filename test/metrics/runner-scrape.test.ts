import { type ChildProcess, spawn } from 'node:child_process';
import { afterEach, describe, expect, test } from 'vitest';
import {
  BIN,
  HANDLERS,
  runCli,
  SHARED_YAML,
  sqliteConfig,
  uniquePrefix,
  withConfig,
} from '../cli/helpers.js';
import { describeIfService, services } from '../helpers/env.js';

/** Samples of one metric in an exposition text, as `{labels} value` lines → value by label text. */
function samples(text: string, name: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const at = line.lastIndexOf(' ');
    out.set(line.slice(name.length, at), Number(line.slice(at + 1)));
  }
  return out;
}

/** The value of the sample of `name` whose labels include every `label="value"` pair given. */
function value(text: string, name: string, labels: Record<string, string>): number | undefined {
  let found: number | undefined;
  for (const [l, v] of samples(text, name)) {
    if (Object.entries(labels).every(([k, x]) => l.includes(`${k}="${x}"`))) found = (found ?? 0) + v;
  }
  return found;
}

const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
});

/** Spawns `switchyard runner --metrics-port 0` and resolves with its metrics URL. */
function startRunner(config: string): Promise<{ url: string; child: ChildProcess; stderr: () => string }> {
  const child = spawn(
    process.execPath,
    [BIN, 'runner', '--config', config, '--handlers', HANDLERS, '--json', '--metrics-port', '0'],
    { env: { ...process.env, SWITCHYARD_CLI_SOURCE: '1' }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  children.push(child);
  let stderr = '';
  return new Promise((resolve, reject) => {
    child.stderr?.on('data', (d: Buffer) => {
      stderr += d.toString();
      const m = /metrics: (http:\/\/\S+\/metrics)/.exec(stderr);
      if (m?.[1]) resolve({ url: m[1], child, stderr: () => stderr });
    });
    child.on('close', (code) => reject(new Error(`runner exited ${code}: ${stderr}`)));
  });
}

async function scrapeUntil(url: string, done: (text: string) => boolean): Promise<string> {
  const deadline = Date.now() + 30_000;
  let text = '';
  while (Date.now() < deadline) {
    const res = await fetch(url);
    expect(res.status).toBe(200);
    text = await res.text();
    if (done(text)) return text;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`metrics never reached the expected state:\n${text}`);
}

function scenario(name: string, makeConfig: () => { config: string }, backend: string): void {
  test(`${name}: /metrics of a real runner process counts the jobs it ran`, async () => {
    const { config } = makeConfig();
    const lines = [
      ...Array.from({ length: 5 }, (_, n) => ({ type: 't1', params: { n } })),
      ...Array.from({ length: 3 }, (_, n) => ({ type: 't2', params: { n } })),
      ...Array.from({ length: 2 }, (_, n) => ({ type: 'fail', params: { n } })),
    ]
      .map((j) => JSON.stringify(j))
      .join('\n');
    const pushed = await runCli(['push', '--config', config], { input: `${lines}\n` });
    expect(pushed.code, pushed.stderr).toBe(0);
    const later = await runCli([
      'push',
      '--config',
      config,
      '-t',
      't1',
      '-p',
      '{"later":1}',
      '--delay',
      '3600',
    ]);
    expect(later.code, later.stderr).toBe(0);

    const { url, child } = await startRunner(config);
    const text = await scrapeUntil(url, (t) => (value(t, 'switchyard_runner_jobs_total', {}) ?? 0) >= 10);

    expect(value(text, 'switchyard_runner_jobs_total', { type: 't1', status: 'ok' })).toBe(5);
    expect(value(text, 'switchyard_runner_jobs_total', { type: 't2', status: 'ok' })).toBe(3);
    expect(value(text, 'switchyard_runner_jobs_total', { type: 'fail', status: 'failed' })).toBe(2);
    expect(value(text, 'switchyard_runner_jobs_total', {})).toBe(10);
    expect(value(text, 'switchyard_runner_run_time_seconds_count', { type: 't1' })).toBe(5);
    expect(value(text, 'switchyard_queue_pops_total', { type: 't1', backend })).toBe(5);
    expect(value(text, 'switchyard_queue_pops_total', { type: 't2', backend })).toBe(3);
    expect(value(text, 'switchyard_queue_acks_total', { type: 't1', backend })).toBe(5);
    expect(value(text, 'switchyard_queue_pickup_delay_seconds_count', { type: 't1', backend })).toBe(5);
    // The delayed job is still in the store; sampled by the gauges. Store gauges are cached for
    // 5 s, so the scrape that first saw 10 jobs may carry a sample taken mid-run, or even before
    // the first pop (CI hit it): scrape until a sample shows t1 drained (ready 0, claimed 0),
    // bounded by scrapeUntil's 30 s, then check that the delayed job is counted in it.
    const t1 = { type: 't1', backend };
    const gauges = await scrapeUntil(
      url,
      (t) => value(t, 'switchyard_queue_ready', t1) === 0 && value(t, 'switchyard_queue_claimed', t1) === 0,
    );
    expect(value(gauges, 'switchyard_queue_delayed', t1)).toBe(1);
    expect(value(gauges, 'switchyard_queue_claimed', t1)).toBe(0);

    child.kill('SIGTERM');
    await new Promise((r) => child.once('close', r));
  }, 60_000);
}

describe('Prometheus exporter over a real runner', () => {
  scenario('SQLite', sqliteConfig, 'sql');
});

describeIfService(services.redis, 'Prometheus exporter over a real runner (Redis)', (redisUrl) => {
  scenario(
    'Redis',
    () =>
      withConfig(
        `connections:\n  r: { class: redis, url: ${JSON.stringify(redisUrl)}, prefix: ${uniquePrefix()} }\n` +
          `jobTypeConf:\n  default: { class: redis, connection: r, maxTries: 2 }\n${SHARED_YAML}`,
      ),
    'redis',
  );
});
