/**
 * `npm run bench:metrics [-- --memory 200000 --redis 20000 --rounds 5 --feature prometheus|groups]`: the cost of the
 * Prometheus exporter on the hot path. Drains a queue (pop → ack, after a bulk push) with metrics
 * off (the default no-op sink) and on (`PrometheusMetrics`, scraped once per run), alternating
 * off / on, and prints the median drain rate and the median process CPU per job of each.
 * Memory always; Redis when SWITCHYARD_REDIS_URL is set (each run on a fresh key prefix, deleted after).
 *
 * Each run is a fresh child process (`--shared` runs them all in this one): in one process a run
 * inherits the heap and the JIT state of the run before it, and on a 200k-job memory drain that
 * swung single runs by ±30 % either way. The overhead is read from CPU per job (the process's
 * user + system time over the drain), which a busy neighbour on a shared box moves far less than
 * the wall-clock rate; both are printed.
 *
 * `--instructions` counts instructions instead, which no neighbour moves: each child runs under
 * `valgrind --tool=callgrind` with `node --predictable` (one V8 thread, deterministic GC; the same
 * run repeats within ~1 %), once with a tenth of the jobs and once with all of them, and the slope
 * between the two is the instructions per job of push + pop + ack (start-up, imports and the JIT's
 * compile work cancel out). Slow: about a minute per child.
 *
 * @packageDocumentation
 */
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import type { JobQueue } from '../src/core/job-queue.js';
import type { MetricsSink } from '../src/core/metrics.js';
import type { GroupLimits, JobQueueOptions } from '../src/core/queue-options.js';
import { PrometheusMetrics } from '../src/metrics/prometheus.js';
import { callgrindInstructions } from './lib/callgrind.js';
import { deleteKeysWithPrefix, openRedis, redisBenchUrl } from './lib/redis.js';

const { values } = parseArgs({
  options: {
    memory: { type: 'string', default: '200000' },
    redis: { type: 'string', default: '20000' },
    rounds: { type: 'string', default: '5' },
    concurrency: { type: 'string', default: '16' },
    shared: { type: 'boolean', default: false },
    instructions: { type: 'boolean', default: false },
    child: { type: 'string' },
    mode: { type: 'string' },
    feature: { type: 'string', default: 'prometheus' },
  },
});
const ROUNDS = Number(values.rounds);
/**
 * What "on" turns on: `prometheus` (the exporter, as above) or `groups` (issue 17's bench: every
 * job carries one of ten group keys and the queue has `groupLimits` that never bind, against
 * keyless jobs on a queue without limits).
 */
const FEATURE = values.feature === 'groups' ? 'groups' : 'prometheus';
if (values.feature !== FEATURE)
  throw new Error(`bench:metrics --feature: prometheus or groups, not ${values.feature}`);
/** The ten group keys, made once (a key string built per job would bill its hashing to the groups). */
const TENANTS = Array.from({ length: 10 }, (_, i) => `tenant${i}`);
/** Limits far above what the drain reaches: the cost of checking them, not of waiting. */
const NON_BINDING: GroupLimits = Object.freeze({
  maxConcurrent: 1_000_000,
  rate: { max: 1_000_000_000, perSeconds: 1 },
});
const CONCURRENCY = Number(values.concurrency);

interface Target {
  readonly name: string;
  readonly jobs: number;
  readonly concurrency: number;
  open(
    metrics: MetricsSink | undefined,
    extra: Partial<JobQueueOptions>,
  ): Promise<{ queue: JobQueue<string>; dispose(): Promise<void> }>;
}

const targets: Target[] = [
  {
    name: 'memory drain',
    jobs: Number(values.memory),
    concurrency: 1,
    async open(metrics, extra) {
      const { MemoryJobQueue } = await import('../src/backends/memory/index.js');
      const queue = new MemoryJobQueue({
        type: 'bench',
        domain: 'bench',
        ...extra,
        ...(metrics ? { metrics } : {}),
      });
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
    async open(metrics, extra) {
      const { RedisJobQueue } = await import('../src/backends/redis/index.js');
      const prefix = `swy-metricsbench-${randomUUID().slice(0, 8)}`;
      const queue = new RedisJobQueue({
        type: 'bench',
        domain: 'bench',
        url: redisUrl,
        prefix,
        ...extra,
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

/** What one run measured. */
interface RunResult {
  /** Jobs per second of the drain (wall clock). */
  readonly rate: number;
  /** Process CPU (user + system) per job of the drain, µs. */
  readonly cpuUs: number;
}

/** One run: bulk push, then timed drain. */
async function run(t: Target, on: boolean): Promise<RunResult> {
  const prom = on && FEATURE === 'prometheus' ? new PrometheusMetrics() : undefined;
  const grouped = on && FEATURE === 'groups';
  const { queue, dispose } = await t.open(prom, grouped ? { groupLimits: NON_BINDING } : {});
  try {
    for (let i = 0; i < t.jobs; i += 1000) {
      // Each mode builds its literal directly: a conditional spread would bill its copy to groups.
      const batch = Array.from({ length: Math.min(1000, t.jobs - i) }, (_, k) =>
        grouped
          ? { type: 'bench', params: { n: i + k }, groupKey: TENANTS[(i + k) % 10] as string }
          : { type: 'bench', params: { n: i + k } },
      );
      await queue.push(batch);
    }
    let done = 0;
    const cpu0 = process.cpuUsage();
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
    const cpu = process.cpuUsage(cpu0);
    if (done !== t.jobs) throw new Error(`${t.name}: drained ${done} of ${t.jobs}`);
    if (prom) {
      const text = await prom.metrics();
      if (!text.includes(`switchyard_queue_acks_total{domain="bench",type="bench"`))
        throw new Error('no acks metric');
    }
    return { rate: done / seconds, cpuUs: (cpu.user + cpu.system) / done };
  } finally {
    await dispose();
  }
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
};

/** This script's arguments for a `--child` run of `t` with these job counts. */
function childArgs(t: Target, on: boolean, memoryJobs: number, redisJobs: number): string[] {
  return [
    process.argv[1] as string,
    '--child',
    t.name,
    '--mode',
    on ? 'on' : 'off',
    '--memory',
    String(memoryJobs),
    '--redis',
    String(redisJobs),
    '--concurrency',
    String(CONCURRENCY),
    '--feature',
    FEATURE,
  ];
}

/** One run in a fresh child process (this script with `--child`). */
function runIsolated(t: Target, on: boolean): RunResult {
  const args = [...process.execArgv, ...childArgs(t, on, Number(values.memory), Number(values.redis))];
  const out = execFileSync(process.execPath, args, {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return JSON.parse(out.trim().split('\n').pop() as string) as RunResult;
}

if (values.child !== undefined) {
  const t = targets.find((x) => x.name === values.child);
  if (t === undefined) throw new Error(`bench:metrics --child: no target ${values.child}`);
  await run(t, values.mode === 'on'); // warm-up in this process
  process.stdout.write(`${JSON.stringify(await run(t, values.mode === 'on'))}\n`);
  process.exit(0);
}

/** Instructions of one whole child process under callgrind (see the header). */
function countInstructions(t: Target, on: boolean, jobs: number): number {
  // The child reads only its own target's count.
  return callgrindInstructions(childArgs(t, on, jobs, jobs), 'bench:metrics --instructions');
}

if (values.instructions) {
  const lines: string[] = [];
  // `--rounds` slopes of each mode, alternating off / on: a callgrind run repeats within ~1 % of
  // its total, which is a few hundred instructions per job in a slope; the median of a few
  // rounds (and their spread, printed) is what the overhead is read from.
  const rounds = Math.max(1, Math.min(ROUNDS, 5));
  for (const t of targets) {
    const small = Math.max(1, Math.round(t.jobs / 10));
    // The child runs a warm-up and a measured run: 2 × jobs per process.
    const perJob = (on: boolean): number =>
      (countInstructions(t, on, t.jobs) - countInstructions(t, on, small)) / (2 * (t.jobs - small));
    const offs: number[] = [];
    const ons: number[] = [];
    for (let r = 0; r < rounds; r++) {
      offs.push(perJob(false));
      ons.push(perJob(true));
    }
    const off = median(offs);
    const on = median(ons);
    const ratios = ons.map((x, i) => x / (offs[i] as number) - 1);
    process.stdout.write(
      `${JSON.stringify({ bench: 'metrics', feature: FEATURE, target: t.name, jobs: t.jobs, rounds, instructionsPerJobOff: offs.map(Math.round), instructionsPerJobOn: ons.map(Math.round) })}\n`,
    );
    const pct = (x: number): string => `${(x * 100).toFixed(1)} %`;
    lines.push(
      `| ${t.name} | ${t.jobs} | ${Math.round(off)} | ${Math.round(on)} | ${pct(on / off - 1)} | ${pct(Math.min(...ratios))} … ${pct(Math.max(...ratios))} |`,
    );
  }
  process.stdout.write(
    `\n| workload (push + pop + ack) | jobs | instructions/job off (median) | on (median) | overhead | per-round range |\n|---|---|---|---|---|---|\n${lines.join('\n')}\n`,
  );
  if (redisUrl === undefined) process.stdout.write('(redis skipped: set SWITCHYARD_REDIS_URL)\n');
  process.exit(0);
}

const measure = async (t: Target, on: boolean): Promise<RunResult> =>
  values.shared ? run(t, on) : runIsolated(t, on);

const rows: string[] = [];
for (const t of targets) {
  if (values.shared) {
    await run(t, false); // warm-up
    await run(t, true);
  }
  const off: RunResult[] = [];
  const onRuns: RunResult[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    off.push(await measure(t, false));
    onRuns.push(await measure(t, true));
  }
  const mOff = median(off.map((x) => x.rate));
  const mOn = median(onRuns.map((x) => x.rate));
  const cOff = median(off.map((x) => x.cpuUs));
  const cOn = median(onRuns.map((x) => x.cpuUs));
  const overhead = (cOn / cOff - 1) * 100;
  rows.push(
    `| ${t.name} | ${t.jobs} | ${Math.round(mOff)} | ${Math.round(mOn)} | ${(mOn / mOff).toFixed(3)} | ${cOff.toFixed(2)} | ${cOn.toFixed(2)} | ${overhead.toFixed(1)} % |`,
  );
  process.stdout.write(
    `${JSON.stringify({ bench: 'metrics', feature: FEATURE, target: t.name, jobs: t.jobs, rounds: ROUNDS, isolated: !values.shared, off: off.map((x) => Math.round(x.rate)), on: onRuns.map((x) => Math.round(x.rate)), cpuUsOff: off.map((x) => +x.cpuUs.toFixed(2)), cpuUsOn: onRuns.map((x) => +x.cpuUs.toFixed(2)), load1: loadavg()[0] })}\n`,
  );
}
process.stdout.write(
  `\n| drain | jobs | metrics off (jobs/s, median) | metrics on (jobs/s, median) | on/off | CPU µs/job off | CPU µs/job on | overhead (CPU) |\n|---|---|---|---|---|---|---|---|\n${rows.join('\n')}\n`,
);
if (redisUrl === undefined) process.stdout.write('(redis skipped: set SWITCHYARD_REDIS_URL)\n');
