import { readFileSync } from 'node:fs';
import { expect, test } from 'vitest';
import { MemoryJobQueue } from '../../src/backends/memory/index.js';
import { ManualClock } from '../../src/core/clock.js';
import { createJobQueueGroup } from '../../src/core/farm.js';
import { type ExecutorCounter, ExecutorMetrics } from '../../src/executor/metrics.js';
import { OTHER_LABEL, PrometheusMetrics } from '../../src/metrics/prometheus.js';
import { serveMetrics } from '../../src/metrics/server.js';
import { memoryGroup } from '../runner/helpers.js';

/** `name{labels} value` → value, for samples whose label text contains every fragment. */
function sum(text: string, name: string, ...fragments: string[]): number {
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    if (fragments.every((f) => line.includes(f))) total += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return total;
}

test('queue events become counters and histograms with domain / type / backend labels', async () => {
  const prom = new PrometheusMetrics();
  const group = memoryGroup();
  const metricsGroup = createJobQueueGroup(group.config, 'enwiki', { metrics: prom });
  await metricsGroup.push([
    { type: 'a', params: { n: 1 }, removeDuplicates: true },
    { type: 'a', params: { n: 1 }, removeDuplicates: true },
    { type: 'a', params: { n: 2 } },
  ]);
  const job = await metricsGroup.pop('a');
  expect(job).not.toBeNull();
  if (job) await metricsGroup.get('a').ack(job);
  const text = await prom.metrics();
  const l = ['domain="enwiki"', 'type="a"', 'backend="memory"'];
  expect(sum(text, 'switchyard_queue_inserts_total', ...l)).toBe(3);
  expect(sum(text, 'switchyard_queue_actual_inserts_total', ...l)).toBe(2);
  expect(sum(text, 'switchyard_queue_dupe_inserts_total', ...l)).toBe(1);
  expect(sum(text, 'switchyard_queue_pops_total', ...l)).toBe(1);
  expect(sum(text, 'switchyard_queue_acks_total', ...l)).toBe(1);
  expect(sum(text, 'switchyard_queue_pickup_delay_seconds_count', ...l)).toBe(1);
  expect(sum(text, 'switchyard_queue_call_time_seconds_count', ...l, 'op="push"')).toBe(1);
  await metricsGroup.close();
  await group.close();
});

test('label cardinality is capped: domains beyond maxDomains fold into _other', async () => {
  const prom = new PrometheusMetrics({ maxDomains: 3, maxTypes: 2 });
  for (let i = 0; i < 1000; i++) {
    prom.increment('inserts', { domain: `wiki${i}`, type: `t${i % 5}`, backend: 'sql' }, 1);
  }
  const text = await prom.metrics();
  const series = text.split('\n').filter((s) => s.startsWith('switchyard_queue_inserts_total{'));
  // 3 named domains + _other, × 2 named types + _other, at most.
  expect(series.length).toBeLessThanOrEqual(4 * 3);
  expect(sum(text, 'switchyard_queue_inserts_total')).toBe(1000);
  expect(sum(text, 'switchyard_queue_inserts_total', `domain="${OTHER_LABEL}"`)).toBe(997);
  expect(sum(text, 'switchyard_queue_inserts_total', 'domain="wiki0"', 'type="t0"')).toBe(1);
});

test('store gauges are sampled at scrape time and cached for gaugeCacheMs', async () => {
  const prom = new PrometheusMetrics({ gaugeCacheMs: 60_000 });
  const group = memoryGroup();
  const farm = {
    config: group.config,
    group: () => group,
  } as unknown as Parameters<PrometheusMetrics['watchFarm']>[0];
  prom.watchFarm(farm);
  await group.push([
    { type: 'a', params: { n: 1 } },
    { type: 'a', params: { n: 2 } },
    { type: 'a', params: { n: 3 }, releaseTimestamp: Date.now() + 3_600_000 },
  ]);
  await group.pop('a');
  let text = await prom.metrics();
  expect(sum(text, 'switchyard_queue_ready', 'type="a"')).toBe(1);
  expect(sum(text, 'switchyard_queue_claimed', 'type="a"')).toBe(1);
  expect(sum(text, 'switchyard_queue_delayed', 'type="a"')).toBe(1);
  expect(sum(text, 'switchyard_queue_abandoned', 'type="a"')).toBe(0);
  // The one ready job was pushed just now: its age is small, and present.
  expect(text).toMatch(/switchyard_queue_oldest_ready_age_seconds\{[^}]*type="a"[^}]*\} /);
  const age = sum(text, 'switchyard_queue_oldest_ready_age_seconds', 'type="a"');
  expect(age).toBeGreaterThanOrEqual(0);
  expect(age).toBeLessThan(60);
  await group.push({ type: 'a', params: { n: 4 } });
  text = await prom.metrics();
  expect(sum(text, 'switchyard_queue_ready', 'type="a"')).toBe(1); // cached
  await group.close();
});

test('GET /metrics serves the exposition text; other paths are 404', async () => {
  const prom = new PrometheusMetrics();
  prom.recordRunnerJob({ domain: 'd', type: 't', status: 'ok', ms: 12 });
  const ex = new ExecutorMetrics();
  ex.setLag('rule1', 'topic1', 0, 7);
  prom.addText(() => ex.toPrometheus());
  const server = await serveMetrics(prom, 0);
  try {
    const res = await fetch(`http://127.0.0.1:${server.port}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    const text = await res.text();
    expect(sum(text, 'switchyard_runner_jobs_total', 'status="ok"')).toBe(1);
    expect(sum(text, 'switchyard_executor_consumer_lag', 'topic="topic1"', 'partition="0"')).toBe(7);
    expect((await fetch(`http://127.0.0.1:${server.port}/`)).status).toBe(404);
  } finally {
    await server.close();
  }
});

/** Every metric name a PromQL expression mentions (ours and the process metrics). */
function metricNames(expr: string): string[] {
  return [...expr.matchAll(/\b((?:switchyard|process|nodejs)_[a-z0-9_]+)\b/g)].map((m) => m[1] as string);
}

test('the Grafana dashboard is valid JSON and every query names only metrics we export', async () => {
  const dash = JSON.parse(
    readFileSync(new URL('../../dashboards/switchyard.grafana.json', import.meta.url), 'utf8'),
  ) as {
    panels: { title: string; targets: { expr: string }[] }[];
    templating: { list: { query: unknown }[] };
  };
  const titles = dash.panels.map((p) => p.title);
  for (const wmf of [
    'Job insertion rate per type',
    'Job processing rate per type',
    'Job processing time p50 / p95',
    'Enqueue → run delay p50 / p95',
    'Root-job delay p75 / p99',
    'Retry and abandon rates',
    'Deduplication rate per strategy',
    'Executor memory',
  ]) {
    expect(titles).toContain(wmf);
  }

  // Exercise everything that registers or prints a metric, then list the exported names.
  const prom = new PrometheusMetrics({ processMetrics: true });
  prom.recordRunnerJob({ domain: 'd', type: 't', status: 'retried', ms: 1 });
  const ex = new ExecutorMetrics(prom);
  const counters: ExecutorCounter[] = [
    'consumed',
    'executed',
    'failed',
    'retries',
    'errors',
    'dedup',
    'commits',
  ];
  for (const c of counters) ex.increment(c, { rule: 'r', type: 't', domain: 'd', reason: 'sha1' });
  ex.observe('run_time', { rule: 'r', type: 't', domain: 'd' }, 5);
  ex.setLag('r', 'topic', 0, 1);
  prom.addText(() => ex.toPrometheus());
  const text = await prom.metrics();
  const exported = new Set<string>();
  for (const m of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    const [, name, kind] = m as unknown as [string, string, string];
    exported.add(name);
    if (kind === 'histogram') for (const s of ['_bucket', '_sum', '_count']) exported.add(name + s);
    if (kind === 'summary') for (const s of ['_sum', '_count']) exported.add(name + s);
  }

  const used = new Set<string>();
  for (const p of dash.panels) {
    expect(p.targets.length, p.title).toBeGreaterThan(0);
    for (const t of p.targets) {
      const names = metricNames(t.expr);
      expect(names.length, `${p.title}: ${t.expr}`).toBeGreaterThan(0);
      for (const n of names) used.add(n);
    }
  }
  for (const v of dash.templating.list)
    for (const n of metricNames(JSON.stringify(v.query ?? ''))) used.add(n);
  const unknown = [...used].filter((n) => !exported.has(n));
  expect(unknown).toEqual([]);
});

test('a queue observes into its own histograms; each scrape folds only what changed, and close folds the rest', async () => {
  const prom = new PrometheusMetrics({ buckets: [1, 10], callTimeEvery: 1 });
  expect(prom.histogramBoundsMs).toEqual([1000, 10000]);
  const clock = new ManualClock(1_000_000);
  const queue = new MemoryJobQueue({ type: 't', domain: 'd', clock, metrics: prom });
  const l = ['domain="d"', 'type="t"', 'backend="memory"'];
  const bucket = (text: string, le: string): number =>
    sum(text, 'switchyard_queue_pickup_delay_seconds_bucket', ...l, `le="${le}"`);
  await queue.push([
    { type: 't', params: { n: 1 } },
    { type: 't', params: { n: 2 } },
    { type: 't', params: { n: 3 } },
  ]);
  clock.advance(500); // 0.5 s: the first bucket
  const a = await queue.pop();
  if (a) await queue.ack(a);
  let text = await prom.metrics();
  expect([bucket(text, '1'), bucket(text, '10'), bucket(text, '+Inf')]).toEqual([1, 1, 1]);
  expect(sum(text, 'switchyard_queue_pickup_delay_seconds_sum', ...l)).toBeCloseTo(0.5, 9);
  expect(sum(text, 'switchyard_queue_call_time_seconds_count', ...l, 'op="push"')).toBe(1);
  expect(sum(text, 'switchyard_queue_call_time_seconds_count', ...l, 'op="pop"')).toBe(1);
  expect(sum(text, 'switchyard_queue_call_time_seconds_count', ...l, 'op="ack"')).toBe(1);
  clock.advance(4500); // 5 s since the push: the second bucket
  const b = await queue.pop();
  if (b) await queue.ack(b);
  text = await prom.metrics(); // a second scrape adds only the new observation
  expect([bucket(text, '1'), bucket(text, '10'), bucket(text, '+Inf')]).toEqual([1, 2, 2]);
  expect(sum(text, 'switchyard_queue_pickup_delay_seconds_sum', ...l)).toBeCloseTo(5.5, 9);
  clock.advance(60_000); // 65 s: +Inf only
  const c = await queue.pop();
  if (c) await queue.ack(c);
  await queue.close(); // folds what the queue counted since the last scrape
  text = await prom.metrics();
  expect([bucket(text, '1'), bucket(text, '10'), bucket(text, '+Inf')]).toEqual([1, 2, 3]);
  expect(sum(text, 'switchyard_queue_pickup_delay_seconds_count', ...l)).toBe(3);
  expect(sum(text, 'switchyard_queue_pops_total', ...l)).toBe(3);
  expect(sum(text, 'switchyard_queue_call_time_seconds_count', ...l, 'op="pop"')).toBe(3);
});

test('when a store fails the sibling query, the gauges of the queues that still answer are kept', async () => {
  const prom = new PrometheusMetrics();
  const stats = { ready: 2, claimed: 1, delayed: 0, abandoned: 0, oldestReadyAt: Date.now() };
  const group = {
    getQueueStats: () => Promise.reject(new Error('store down')),
    getQueueTypes: () => ['up', 'down'],
    get: (type: string) => ({
      backendName: 'sql',
      getQueueStats: () => (type === 'up' ? Promise.resolve(stats) : Promise.reject(new Error('down'))),
    }),
  };
  const farm = { config: { domains: ['enwiki'], defaultDomain: 'enwiki' }, group: () => group };
  prom.watchFarm(farm as unknown as Parameters<PrometheusMetrics['watchFarm']>[0]);
  const text = await prom.metrics();
  expect(sum(text, 'switchyard_queue_ready', 'type="up"')).toBe(2);
  expect(sum(text, 'switchyard_queue_claimed', 'type="up"')).toBe(1);
  expect(text).not.toContain('type="down"');
});
