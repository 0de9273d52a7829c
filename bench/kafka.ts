/**
 * Kafka bench (issue 7): eventbus push throughput (signed, schema-validated events with ~1 KB
 * params, batched) and executor drain (no-op handler, Redis dedup on) on the loopback broker.
 *
 *   node --import tsx bench/kafka.ts [--push N] [--drain N] [--batch B] [--partitions P] [--concurrency C]
 *
 * `--own-redis` runs a private redis-server for dedup instead of SWITCHYARD_REDIS_URL.
 * Uses SWITCHYARD_KAFKA_BROKERS when set, else starts a broker with scripts/kafka/broker.mjs (and
 * stops it). Dedup uses SWITCHYARD_REDIS_URL (default redis://127.0.0.1:6379). Prints the numbers,
 * the broker settings, and one JSON line per phase.
 *
 * @packageDocumentation
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { type AddressInfo, createServer } from 'node:net';
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { Kafka, logLevel } from 'kafkajs';
import { EventBusJobQueue } from '../src/backends/eventbus/index.js';
import { startExecutorFromSection } from '../src/executor/index.js';
import { HandlerRegistry } from '../src/runner/handlers.js';

process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1';

const { values } = parseArgs({
  options: {
    push: { type: 'string', default: '200000' },
    drain: { type: 'string', default: '100000' },
    batch: { type: 'string', default: '2000' },
    partitions: { type: 'string', default: '4' },
    concurrency: { type: 'string', default: '2000' },
    parallel: { type: 'string', default: '8' },
    'own-redis': { type: 'boolean', default: false },
  },
});
const PUSH = Number(values.push);
const DRAIN = Number(values.drain);
const BATCH = Number(values.batch);
const PARTITIONS = Number(values.partitions);
const CONCURRENCY = Number(values.concurrency);
const PARALLEL = Number(values.parallel);
const SECRET = 'bench-secret-0123456789abcdef';
let REDIS = process.env.SWITCHYARD_REDIS_URL || 'redis://127.0.0.1:6379';
let redisNote = `shared Redis ${REDIS}`;
let ownRedis: ChildProcess | null = null;
if (values['own-redis']) {
  // A private redis-server, so other Redis users on the machine do not skew the drain.
  const port = await new Promise<number>((resolve) => {
    const srv = createServer().listen(0, '127.0.0.1', () => {
      const p = (srv.address() as AddressInfo).port;
      srv.close(() => resolve(p));
    });
  });
  ownRedis = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    {
      stdio: 'ignore',
    },
  );
  REDIS = `redis://127.0.0.1:${port}`;
  redisNote = `private redis-server on ${REDIS} (no persistence)`;
  const probe = new Redis(REDIS, { retryStrategy: () => 50 });
  probe.on('error', () => undefined); // refused until redis-server listens; retried
  await probe.ping();
  probe.disconnect();
}
const run = `${process.pid}${Date.now().toString(36)}`;
const int = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const say = (t: string) => process.stdout.write(`${t}\n`);
const cpuUs = (u: NodeJS.CpuUsage) => u.user + u.system;

let brokers = process.env.SWITCHYARD_KAFKA_BROKERS;
let stopBroker: (() => Promise<void>) | null = null;
let brokerSettings = 'an external broker (SWITCHYARD_KAFKA_BROKERS)';
if (!brokers) {
  // @ts-expect-error: a plain .mjs script without types.
  const mod = (await import('../scripts/kafka/broker.mjs')) as {
    startBroker(o: object): Promise<{ brokers: string; stop(): Promise<void> }>;
  };
  const b = await mod.startBroker({ autoCreateTopics: false, heap: '1g', quiet: true });
  brokers = b.brokers;
  stopBroker = () => b.stop();
  brokerSettings = 'started by this bench (scripts/kafka/broker.mjs)';
}

const kafka = new Kafka({
  clientId: `bench-${run}`,
  brokers: brokers.split(','),
  logLevel: logLevel.NOTHING,
});
const admin = kafka.admin();
await admin.connect();

say('# switchyard Kafka bench');
say(
  `machine: ${cpus().length} × ${cpus()[0]?.model ?? '?'}, load average ${loadavg()[0]?.toFixed(2)} at start (wall-clock rates fall with host load; CPU µs per event much less), node ${process.version}`,
);
say(
  `broker: Apache Kafka 3.9.1 single node (KRaft, combined), 127.0.0.1 loopback, ${brokerSettings}; ` +
    'num.network.threads=2, num.io.threads=2, replication 1, acks=-1 (all ISR), no compression, ' +
    `topics with ${PARTITIONS} partitions, auto-create off`,
);

// ---------------------------------------------------------------- push
const pad = 'x'.repeat(1000);
const pushType = `benchpush_${run}`;
const pushTopic = `mediawiki.job.${pushType}`;
await admin.createTopics({ topics: [{ topic: pushTopic, numPartitions: PARTITIONS }], waitForLeaders: true });
const queues = Array.from(
  { length: PARALLEL },
  () =>
    new EventBusJobQueue({ type: pushType, domain: 'benchwiki', secret: SECRET, brokers: brokers as string }),
);
const specs = (from: number, n: number) =>
  Array.from({ length: n }, (_, i) => ({ type: pushType, params: { i: from + i, page: 'Main_Page', pad } }));
// Warm-up (connections, JIT).
await Promise.all(queues.map((q) => q.push(specs(0, 2000))));
const pushCpu = process.cpuUsage();
const pushStart = performance.now();
let pushed = 0;
await Promise.all(
  queues.map(async (q, w) => {
    for (let from = w * BATCH; from < PUSH; from += BATCH * PARALLEL) {
      const n = Math.min(BATCH, PUSH - from);
      await q.push(specs(from, n));
      pushed += n;
    }
  }),
);
const pushMs = performance.now() - pushStart;
const pushCpuUs = cpuUs(process.cpuUsage(pushCpu)) / PUSH;
const pushRate = (pushed / pushMs) * 1000;
say(
  `eventbus push: ${int.format(pushed)} events (≈1 KB params, signed, schema-validated) in ${int.format(pushMs)} ms = ${int.format(pushRate)} events/s ` +
    `(${PARALLEL} producers × batches of ${BATCH}; target ≥ 100,000); ` +
    `Node CPU ${pushCpuUs.toFixed(1)} µs/event = ${int.format(1e6 / pushCpuUs)} events per CPU-second`,
);
for (const q of queues) await q.close();

// ---------------------------------------------------------------- drain
const drainType = `benchdrain_${run}`;
const drainTopic = `mediawiki.job.${drainType}`;
await admin.createTopics({
  topics: [{ topic: drainTopic, numPartitions: PARTITIONS }],
  waitForLeaders: true,
});
const fill = new EventBusJobQueue({ type: drainType, domain: 'benchwiki', secret: SECRET, brokers });
for (let from = 0; from < DRAIN; from += BATCH) {
  const n = Math.min(BATCH, DRAIN - from);
  await fill.push(
    Array.from({ length: n }, (_, i) => ({ type: drainType, params: { i: from + i, page: 'Main_Page' } })),
  );
}
await fill.close();
let done = 0;
let finish: () => void = () => {};
const allDone = new Promise<void>((r) => {
  finish = r;
});
const handlers = new HandlerRegistry().register(
  drainType as never,
  {
    run: () => {
      if (++done === DRAIN) finish();
    },
  } as never,
);
const service = `bench_${run}`;
const drainCpu = process.cpuUsage();
const drainStart = performance.now();
const handle = await startExecutorFromSection(
  {
    brokers,
    secret: SECRET,
    service,
    redis: process.env.BENCH_NO_DEDUP === '1' ? null : REDIS,
    redisPrefix: `bench:${run}:`,
    rules: [{ name: 'drain', topics: [drainTopic], concurrency: CONCURRENCY }],
  },
  { handlers },
);
const started = performance.now();
await allDone;
const drainMs = performance.now() - drainStart;
const drainCpuUs = cpuUs(process.cpuUsage(drainCpu)) / DRAIN;
const drainRate = (DRAIN / drainMs) * 1000;
const steadyRate = (DRAIN / (performance.now() - started)) * 1000;
const dedupErrors = handle.metrics.total('dedup_errors');
say(
  `executor drain: ${int.format(DRAIN)} jobs (no-op handler, Redis dedup on${dedupErrors > 0 ? `, ${dedupErrors} dedup errors!` : ''}) in ${int.format(drainMs)} ms = ${int.format(drainRate)} jobs/s ` +
    `including start-up and group join (${int.format(steadyRate)} jobs/s after start() resolved); concurrency ${CONCURRENCY}; target ≥ 20,000; ` +
    `Node CPU ${drainCpuUs.toFixed(1)} µs/job = ${int.format(1e6 / drainCpuUs)} jobs per CPU-second; ${redisNote}`,
);
await handle.stop({ graceMs: 5000 });

process.stdout.write(
  `${JSON.stringify({ phase: 'eventbus-push', events: pushed, ms: Math.round(pushMs), perSecond: Math.round(pushRate), cpuUsPerEvent: Number(pushCpuUs.toFixed(1)), batch: BATCH, producers: PARALLEL, partitions: PARTITIONS })}\n`,
);
process.stdout.write(
  `${JSON.stringify({ phase: 'executor-drain', jobs: DRAIN, ms: Math.round(drainMs), perSecond: Math.round(drainRate), afterStart: Math.round(steadyRate), cpuUsPerJob: Number(drainCpuUs.toFixed(1)), concurrency: CONCURRENCY, dedup: true, partitions: PARTITIONS })}\n`,
);

await admin.deleteTopics({ topics: [pushTopic, drainTopic] }).catch(() => undefined);
const extra = (await admin.listTopics()).filter((t) => t.startsWith(service));
if (extra.length > 0) await admin.deleteTopics({ topics: extra }).catch(() => undefined);
await admin.disconnect();
const redis = new Redis(REDIS);
let cursor = '0';
do {
  const [next, keys] = await redis.scan(cursor, 'MATCH', `bench:${run}:*`, 'COUNT', 1000);
  cursor = next;
  if (keys.length > 0) await redis.del(...keys);
} while (cursor !== '0');
redis.disconnect();
if (stopBroker) await stopBroker();
ownRedis?.kill('SIGTERM');
