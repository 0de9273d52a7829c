/**
 * `npm run bench:metrics [-- --memory 200000 --redis 20000 --rounds 5]`: the cost of the
 * Prometheus exporter on the hot path. Drains a queue (pop → ack, after a bulk push) with metrics
 * off (the default no-op sink) and on (`PrometheusMetrics`, scraped once per run), alternating
 * off / on in the same process, and prints the median drain rate of each and their ratio.
 * Memory always; Redis when SWITCHYARD_REDIS_URL is set (each run on a fresh key prefix, deleted after).
 *
 * @packageDocumentation
 */
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import type { JobQueue } from '../src/core/job-queue.js';
import type { MetricsSink } from '../src/core/metrics.js';
import { PrometheusMetrics } from '../src/metrics/prometheus.js';
import { deleteKeysWithPrefix, openRedis, redisBenchUrl } from './lib/redis.js';

const { values } = parseArgs({
  options: {
    memory: { type: 'string', default: '200000' },
    redis: { type: 'string', default: '20000' },
    rounds: { type: 'string', default: '5' },
    concurrency: { type: 'string', default: '16' },
  },
});
const ROUNDS = Number(values.rounds);
const CONCURRENCY = Number(values.concurrency);

interface Target {
  readonly name: string;
  readonly jobs: number;
  readonly concurrency: number;
  open(metrics: MetricsSink | undefined): Promise<{ queue: JobQueue<string>; dispose(): Promise<void> }>;
}

const targets: Target[] = [
  {
    name: 'memory drain',
    jobs: Number(values.memory),
    concurrency: 1,
    async open(metrics) {
      const { MemoryJobQueue } = await import('../src/backends/memory/index.js');
      const queue = new MemoryJobQueue({ type: 'bench', domain: 'bench', ...(metrics ? { metrics } : {}) });
      return { queue, dispose: () => queue.close() };
    },
  },
];
const redisUrl = redisBenchUrl();
if (redisUrl !== undefined) {
  targets.push({
    name: 'redis drain',
    jobs: Number(values.redis),
    concurrency: CONCURRENCY,
    async open(metrics) {
      const { RedisJobQueue } = await import('../src/backends/redis/index.js');
      const prefix = `swy-metricsbench-${randomUUID().slice(0, 8)}`;
      const queue = new RedisJobQueue({
        type: 'bench',
        domain: 'bench',
        url: redisUrl,
        prefix,
        ...(metrics ? { metrics } : {}),
      });
      return {
        queue,
        async dispose() {
          await queue.close();
          const client = await openRedis(redisUrl);
          await deleteKeysWithPrefix(client, prefix);
          client.disconnect();
        },
      };
    },
  });
}

/** One run: bulk push, then timed drain; returns jobs/s of the drain. */
async function run(t: Target, on: boolean): Promise<number> {
  const prom = on ? new PrometheusMetrics() : undefined;
  const { queue, dispose } = await t.open(prom);
  try {
    for (let i = 0; i < t.jobs; i += 1000) {
      const batch = Array.from({ length: Math.min(1000, t.jobs - i) }, (_, k) => ({
        type: 'bench',
        params: { n: i + k },
      }));
      await queue.push(batch);
    }
    let done = 0;
    const start = performance.now();
    await Promise.all(
      Array.from({ length: t.concurrency }, async () => {
        while (true) {
          const job = await queue.pop();
          if (job === null) return;
          if (!(await queue.ack(job))) throw new Error('ack lost');
          done++;
        }
      }),
    );
    const seconds = (performance.now() - start) / 1000;
    if (done !== t.jobs) throw new Error(`${t.name}: drained ${done} of ${t.jobs}`);
    if (prom) {
      const text = await prom.metrics();
      if (!text.includes(`switchyard_queue_acks_total{domain="bench",type="bench"`))
        throw new Error('no acks metric');
    }
    return done / seconds;
  } finally {
    await dispose();
  }
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
};

const rows: string[] = [];
for (const t of targets) {
  await run(t, false); // warm-up
  await run(t, true);
  const off: number[] = [];
  const onRates: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    off.push(await run(t, false));
    onRates.push(await run(t, true));
  }
  const mOff = median(off);
  const mOn = median(onRates);
  const overhead = (1 - mOn / mOff) * 100;
  rows.push(
    `| ${t.name} | ${t.jobs} | ${Math.round(mOff)} | ${Math.round(mOn)} | ${(mOn / mOff).toFixed(3)} | ${overhead.toFixed(1)} % |`,
  );
  process.stdout.write(
    `${JSON.stringify({ bench: 'metrics', target: t.name, jobs: t.jobs, rounds: ROUNDS, off: off.map(Math.round), on: onRates.map(Math.round), ratio: mOn / mOff })}\n`,
  );
}
process.stdout.write(
  `\n| drain | jobs | metrics off (jobs/s, median) | metrics on (jobs/s, median) | on/off | overhead |\n|---|---|---|---|---|---|\n${rows.join('\n')}\n`,
);
if (redisUrl === undefined) process.stdout.write('(redis skipped: set SWITCHYARD_REDIS_URL)\n');
