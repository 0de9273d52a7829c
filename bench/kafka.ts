/**
 * Kafka bench (issue 7): eventbus push throughput (signed, schema-validated events with ~1 KB
 * params, batched) and executor drain (no-op handler, Redis dedup on) on the loopback broker.
 *
 *   node --import tsx --conditions=source bench/kafka.ts [--push N] [--drain N] [--batch B]
 *     [--partitions P] [--concurrency C] [--parallel W] [--baseline] [--rounds R]
 *     [--max-batch-bytes N] [--in-flight N] [--acks -1|1] [--no-drain]
 *     [--client kafkajs|platformatic|both]
 *
 * `--client` picks the Kafka client library measured (default `both` on Node ≥ 22.22, where
 * @platformatic/kafka runs, else `kafkajs`): each push and drain phase runs once per client, in
 * the same run, and with `--baseline` each client alone is timed too (the ceiling for that client).
 *
 * `--own-redis` runs a private redis-server for dedup instead of SWITCHYARD_REDIS_URL.
 * `--baseline` also times kafkajs alone producing messages of the same bytes with the same
 * batching (W producers, batches of B split into requests of `--max-batch-bytes`, acks): the
 * ceiling of this box. Rounds alternate switchyard and kafkajs-alone (`--rounds`, default 2).
 * Both use producers built here with the same kafkajs settings (`--in-flight` sets
 * maxInFlightRequests; `--acks 1` is for comparison only: the backend always awaits acks -1).
 * Uses SWITCHYARD_KAFKA_BROKERS when set, else starts a broker with scripts/kafka/broker.mjs (and
 * stops it). Dedup uses SWITCHYARD_REDIS_URL (default redis://127.0.0.1:6379). Prints the numbers,
 * the broker settings, and one JSON line per phase. Each push round also reports the broker JVM's
 * CPU per event (when its pid is known: a broker started here, or the daemon recorded in
 * .kafka/broker.json) and how busy the whole machine was (/proc/stat): on a 2-core box the
 * client, switchyard and the broker share two cores, so one side's CPU is the other's wait.
 *
 * @packageDocumentation
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { Kafka, logLevel, Partitioners, type Producer } from 'kafkajs';
import { EventBusJobQueue } from '../src/backends/eventbus/index.js';
import { startExecutorFromSection } from '../src/executor/index.js';
import { type KafkaClientName, platformaticSupported } from '../src/kafka/index.js';
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
    baseline: { type: 'boolean', default: false },
    rounds: { type: 'string', default: '2' },
    'max-batch-bytes': { type: 'string', default: '262144' },
    'in-flight': { type: 'string' },
    acks: { type: 'string', default: '-1' },
    'no-drain': { type: 'boolean', default: false },
    client: { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});
if (values.help) {
  process.stdout.write(
    'usage: node --import tsx --conditions=source bench/kafka.ts [--push N] [--drain N] [--batch B] [--partitions P]\n' +
      '  [--concurrency C] [--parallel W] [--own-redis] [--baseline] [--rounds R] [--max-batch-bytes N]\n' +
      '  [--in-flight N] [--acks -1|1] [--no-drain] [--client kafkajs|platformatic|both]\n',
  );
  process.exit(0);
}
const PUSH = Number(values.push);
const DRAIN = Number(values.drain);
const BATCH = Number(values.batch);
const PARTITIONS = Number(values.partitions);
const CONCURRENCY = Number(values.concurrency);
const PARALLEL = Number(values.parallel);
const ROUNDS = Number(values.rounds);
const MAX_BATCH_BYTES = Number(values['max-batch-bytes']);
const IN_FLIGHT = values['in-flight'] === undefined ? undefined : Number(values['in-flight']);
const ACKS = Number(values.acks);
const SECRET = 'bench-secret-0123456789abcdef';
const clientArg = values.client ?? (platformaticSupported() ? 'both' : 'kafkajs');
if (!['kafkajs', 'platformatic', 'both'].includes(clientArg)) {
  process.stderr.write(`--client: kafkajs, platformatic or both, not ${clientArg}\n`);
  process.exit(2);
}
if (clientArg !== 'kafkajs' && !platformaticSupported()) {
  process.stderr.write(
    `--client ${clientArg}: @platformatic/kafka needs Node >= 22.22 (this is ${process.version})\n`,
  );
  process.exit(2);
}
/** The client libraries measured, each in the same run (kafkajs first). */
const CLIENTS: readonly KafkaClientName[] =
  clientArg === 'both' ? ['kafkajs', 'platformatic'] : [clientArg as KafkaClientName];
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
/** Linux's USER_HZ (the unit of /proc CPU times). */
const CLOCK_TICKS = 100;

let brokers = process.env.SWITCHYARD_KAFKA_BROKERS;
/** The broker's JVM, when known (started here, or the daemon of scripts/kafka/broker.mjs). */
let brokerPid: number | null = null;
if (brokers) {
  try {
    const state = JSON.parse(readFileSync(new URL('../.kafka/broker.json', import.meta.url), 'utf8')) as {
      pid?: number;
      brokers?: string;
    };
    if (state.brokers === brokers && typeof state.pid === 'number') brokerPid = state.pid;
  } catch {
    // no daemon state here: the broker's CPU is not reported
  }
}
/** CPU µs the broker's JVM has used (all its threads), or null when unknown. */
function brokerCpuUs(): number | null {
  if (brokerPid === null) return null;
  try {
    // Fields 14 and 15 (utime, stime) in clock ticks; the command name may hold spaces.
    const stat = readFileSync(`/proc/${brokerPid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1e6) / CLOCK_TICKS;
  } catch {
    return null;
  }
}
/** The whole machine's busy and total CPU time (/proc/stat, clock ticks), or null. */
function machineTicks(): { busy: number; total: number } | null {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] as string;
    const t = line.trim().split(/\s+/).slice(1).map(Number);
    const total = t.reduce((a, b) => a + b, 0);
    const idle = (t[3] ?? 0) + (t[4] ?? 0);
    return { busy: total - idle, total };
  } catch {
    return null;
  }
}
let stopBroker: (() => Promise<void>) | null = null;
let brokerSettings = 'an external broker (SWITCHYARD_KAFKA_BROKERS)';
if (!brokers) {
  // @ts-expect-error: a plain .mjs script without types.
  const mod = (await import('../scripts/kafka/broker.mjs')) as {
    startBroker(o: object): Promise<{ brokers: string; stop(): Promise<void> }>;
  };
  const b = await mod.startBroker({ autoCreateTopics: false, heap: '1g', quiet: true });
  brokers = b.brokers;
  brokerPid = (b as { pid?: number }).pid ?? null;
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
const specs = (from: number, n: number) =>
  Array.from({ length: n }, (_, i) => ({ type: pushType, params: { i: from + i, page: 'Main_Page', pad } }));

/** W writers of one kind: switchyard's eventbus queues or a client alone, on one client library. */
interface PushSubject {
  readonly who: 'switchyard' | 'alone';
  readonly client: KafkaClientName;
  /** Writer `w` produces jobs `from` … `from + n - 1`. */
  batch(w: number, from: number, n: number): Promise<unknown>;
  close(): Promise<void>;
}

// The raw clients get real events' JSON (same bytes as switchyard's messages, each its own string,
// made before the clock starts), split into requests the way the backend splits them.
const sampleQueue = new EventBusJobQueue({
  type: pushType,
  domain: 'benchwiki',
  secret: SECRET,
  brokers: brokers as string,
});
const [sample] = sampleQueue.buildEvents([
  {
    type: pushType,
    domain: 'benchwiki',
    params: { i: 100_000, page: 'Main_Page', pad },
    releaseTimestamp: null,
    removeDuplicates: false,
    sha1: null,
    rootJob: null,
    requestId: null,
    priority: 0,
    groupKey: null,
  },
]);
await sampleQueue.close();
const sampleValue = JSON.stringify(sample);
const perRequest = Math.max(1, Math.floor(MAX_BATCH_BYTES / (Buffer.byteLength(sampleValue) + 64)));
const idLength = sample?.meta.id.length ?? 36;
const idAt = sampleValue.indexOf(sample?.meta.id ?? '');
/** `n` distinct message values from `from` on (a fresh id in each; same length as the sample). */
const baselineValues = (from: number, n: number) =>
  Array.from({ length: n }, (_, k) => {
    const id = `${String(from + k).padStart(12, '0')}${'0'.repeat(idLength)}`.slice(0, idLength);
    return `${sampleValue.slice(0, idAt)}${id}${sampleValue.slice(idAt + idLength)}`;
  });
const baselineBatches = new Map<number, string[]>();
for (let w = 0; w < PARALLEL; w++) {
  for (let from = w * BATCH; from < PUSH; from += BATCH * PARALLEL) {
    // Flattened now, so a client alone does not pay for building them.
    baselineBatches.set(
      from,
      baselineValues(from, Math.min(BATCH, PUSH - from)).map((v) => Buffer.from(v).toString()),
    );
  }
}
/** Sends `values` as requests of `perRequest` messages, together, and awaits them all. */
async function inRequests(values: readonly string[], send: (chunk: string[]) => Promise<unknown>) {
  const sends: Promise<unknown>[] = [];
  for (let at = 0; at < values.length; at += perRequest) sends.push(send(values.slice(at, at + perRequest)));
  await Promise.all(sends);
}
const valuesFor = (from: number, n: number) => baselineBatches.get(from) ?? baselineValues(from, n);

async function kafkajsSubjects(): Promise<PushSubject[]> {
  // The same kafkajs producer settings as the backend's owned producer, plus the knobs under test;
  // the queues take them as host producers.
  const producers: Producer[] = Array.from({ length: PARALLEL }, () =>
    kafka.producer({
      createPartitioner: Partitioners.DefaultPartitioner,
      allowAutoTopicCreation: false,
      idempotent: false,
      ...(IN_FLIGHT === undefined ? {} : { maxInFlightRequests: IN_FLIGHT }),
    }),
  );
  await Promise.all(producers.map((p) => p.connect()));
  const queues = producers.map(
    (producer) =>
      new EventBusJobQueue({
        type: pushType,
        domain: 'benchwiki',
        secret: SECRET,
        producer,
        maxBatchBytes: MAX_BATCH_BYTES,
      }),
  );
  const close = async () => {
    for (const q of queues) await q.close();
    await Promise.all(producers.map((p) => p.disconnect()));
  };
  return [
    {
      who: 'switchyard',
      client: 'kafkajs',
      batch: (w, from, n) => (queues[w] as EventBusJobQueue).push(specs(from, n)),
      close,
    },
    {
      who: 'alone',
      client: 'kafkajs',
      batch: (w, from, n) =>
        inRequests(valuesFor(from, n), (chunk) =>
          (producers[w] as Producer).sendBatch({
            acks: ACKS,
            timeout: 30_000,
            topicMessages: [{ topic: pushTopic, messages: chunk.map((value) => ({ value })) }],
          }),
        ),
      close: async () => undefined,
    },
  ];
}

async function platformaticSubjects(): Promise<PushSubject[]> {
  const lib = await import('@platformatic/kafka');
  // The backend owns its platformatic producers (a host producer must be kafkajs).
  const queues = Array.from(
    { length: PARALLEL },
    () =>
      new EventBusJobQueue({
        type: pushType,
        domain: 'benchwiki',
        secret: SECRET,
        brokers: brokers as string,
        client: 'platformatic',
        maxBatchBytes: MAX_BATCH_BYTES,
      }),
  );
  // Alone: the settings src/kafka/platformatic.ts gives an owned producer.
  const producers = Array.from(
    { length: PARALLEL },
    (_, w) =>
      new lib.Producer({
        clientId: `bench-${run}-${w}`,
        bootstrapBrokers: (brokers as string).split(','),
        connectTimeout: 3000,
        timeout: 30_000,
        retries: 3,
        autocreateTopics: false,
        serializers: lib.stringSerializers,
        acks: ACKS,
        idempotent: false,
        compression: 'none',
      }),
  );
  await Promise.all(producers.map((p) => p.metadata({ topics: [pushTopic] })));
  return [
    {
      who: 'switchyard',
      client: 'platformatic',
      batch: (w, from, n) => (queues[w] as EventBusJobQueue).push(specs(from, n)),
      close: async () => {
        for (const q of queues) await q.close();
      },
    },
    {
      who: 'alone',
      client: 'platformatic',
      batch: (w, from, n) =>
        inRequests(valuesFor(from, n), (chunk) =>
          (producers[w] as (typeof producers)[number]).send({
            // Per send: platformatic 2.12's send() defaults acks to 1 whatever the constructor says.
            acks: ACKS,
            messages: chunk.map((value) => ({ topic: pushTopic, value })),
          }),
        ),
      close: () => Promise.all(producers.map((p) => p.close())).then(() => undefined),
    },
  ];
}

interface PushRun {
  readonly who: PushSubject['who'];
  readonly client: KafkaClientName;
  readonly rate: number;
  readonly ms: number;
  readonly cpuUs: number;
  readonly load: number;
  /** The broker JVM's CPU µs per event (null when its pid is unknown). */
  readonly brokerUs: number | null;
  /** Share of the machine's CPU time that was busy (every process, every core). */
  readonly busy: number | null;
}
async function pushRound(subject: PushSubject): Promise<PushRun> {
  const cpu = process.cpuUsage();
  const broker0 = brokerCpuUs();
  const ticks0 = machineTicks();
  const start = performance.now();
  await Promise.all(
    Array.from({ length: PARALLEL }, async (_, w) => {
      for (let from = w * BATCH; from < PUSH; from += BATCH * PARALLEL) {
        await subject.batch(w, from, Math.min(BATCH, PUSH - from));
      }
    }),
  );
  const ms = performance.now() - start;
  const broker1 = brokerCpuUs();
  const ticks1 = machineTicks();
  return {
    brokerUs: broker0 === null || broker1 === null ? null : (broker1 - broker0) / PUSH,
    busy:
      ticks0 === null || ticks1 === null
        ? null
        : (ticks1.busy - ticks0.busy) / Math.max(1, ticks1.total - ticks0.total),
    who: subject.who,
    client: subject.client,
    ms,
    rate: (PUSH / ms) * 1000,
    cpuUs: cpuUs(process.cpuUsage(cpu)) / PUSH,
    load: loadavg()[0] ?? 0,
  };
}

const subjects: PushSubject[] = [];
for (const client of CLIENTS) {
  const pair = client === 'kafkajs' ? await kafkajsSubjects() : await platformaticSubjects();
  subjects.push(...(values.baseline ? pair : pair.filter((s) => s.who === 'switchyard')));
}
// Warm-up (connections, JIT): every subject pushes one batch per writer.
for (const s of subjects)
  await Promise.all(Array.from({ length: PARALLEL }, (_, w) => s.batch(w, -1 - w, 2000)));
const pushRuns: PushRun[] = [];
const label = (s: { who: PushSubject['who']; client: KafkaClientName }) =>
  s.who === 'switchyard' ? `eventbus push [${s.client}]` : `${s.client} alone`;
for (let r = 0; r < (values.baseline ? ROUNDS : 1); r++) {
  // Interleaved: every subject once per round, so drift in the host's load hits them alike.
  for (const s of subjects) {
    const res = await pushRound(s);
    pushRuns.push(res);
    say(
      `${label(s)} (round ${r + 1}): ${int.format(PUSH)} events in ${int.format(res.ms)} ms = ${int.format(res.rate)} events/s; ` +
        `Node CPU ${res.cpuUs.toFixed(1)} µs/event` +
        (res.brokerUs === null ? '' : `, broker CPU ${res.brokerUs.toFixed(1)} µs/event`) +
        (res.busy === null ? '' : `; machine ${(res.busy * 100).toFixed(0)} % busy`) +
        `; load ${res.load.toFixed(2)}`,
    );
  }
}
const best = (who: PushSubject['who'], client: KafkaClientName) =>
  pushRuns
    .filter((r) => r.who === who && r.client === client)
    .reduce<PushRun | null>((a, b) => (a === null || b.rate > a.rate ? b : a), null);
for (const client of CLIENTS) {
  const mine = best('switchyard', client) as PushRun;
  const alone = best('alone', client);
  say(
    `eventbus push [${client}]: best ${int.format(mine.rate)} events/s (≈1 KB params, signed, schema-validated; ${PARALLEL} producers × batches of ${BATCH}, ` +
      `requests ≤ ${int.format(MAX_BATCH_BYTES)} bytes, acks -1${ACKS === -1 ? '' : ` (clients alone: acks ${ACKS})`}${IN_FLIGHT === undefined || client !== 'kafkajs' ? '' : `, maxInFlightRequests ${IN_FLIGHT}`}; target ≥ 100,000); ` +
      `Node CPU ${mine.cpuUs.toFixed(1)} µs/event` +
      (alone
        ? `; ${client} alone best ${int.format(alone.rate)} events/s (${alone.cpuUs.toFixed(1)} µs/event) → switchyard reaches ${((mine.rate / alone.rate) * 100).toFixed(0)} % of it (target ≥ 90 %)`
        : ''),
  );
}
if (CLIENTS.length === 2) {
  const pk = best('switchyard', 'platformatic') as PushRun;
  const kj = best('switchyard', 'kafkajs') as PushRun;
  say(`eventbus push, platformatic ÷ kafkajs in this run: ${(pk.rate / kj.rate).toFixed(2)}×`);
}
for (const s of subjects) await s.close();
process.stdout.write(
  `${JSON.stringify({ phase: 'eventbus-push', events: PUSH, runs: pushRuns.map((r) => ({ who: r.who, client: r.client, perSecond: Math.round(r.rate), ms: Math.round(r.ms), cpuUsPerEvent: Number(r.cpuUs.toFixed(1)), brokerCpuUsPerEvent: r.brokerUs === null ? null : Number(r.brokerUs.toFixed(1)), machineBusy: r.busy === null ? null : Number(r.busy.toFixed(3)), load1: Number(r.load.toFixed(2)) })), batch: BATCH, producers: PARALLEL, partitions: PARTITIONS, maxBatchBytes: MAX_BATCH_BYTES, inFlight: IN_FLIGHT ?? null, acks: ACKS })}\n`,
);

// ---------------------------------------------------------------- drain
const service = `bench_${run}`;
const drainTopics: string[] = [];
async function drainPhase(client: KafkaClientName): Promise<void> {
  const drainType = `benchdrain_${client}_${run}`;
  const drainTopic = `mediawiki.job.${drainType}`;
  drainTopics.push(drainTopic);
  await admin.createTopics({
    topics: [{ topic: drainTopic, numPartitions: PARTITIONS }],
    waitForLeaders: true,
  });
  const fill = new EventBusJobQueue({
    type: drainType,
    domain: 'benchwiki',
    secret: SECRET,
    brokers: brokers as string,
    client,
  });
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
  const drainCpu = process.cpuUsage();
  const drainStart = performance.now();
  const handle = await startExecutorFromSection(
    {
      brokers: brokers as string,
      client,
      secret: SECRET,
      service: `${service}_${client}`,
      redis: process.env.BENCH_NO_DEDUP === '1' ? null : REDIS,
      redisPrefix: `bench:${run}:`,
      rules: [{ name: 'drain', topics: [drainTopic], concurrency: CONCURRENCY, startAt: 'earliest' }],
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
    `executor drain [${client}]: ${int.format(DRAIN)} jobs (no-op handler, Redis dedup on${dedupErrors > 0 ? `, ${dedupErrors} dedup errors!` : ''}) in ${int.format(drainMs)} ms = ${int.format(drainRate)} jobs/s ` +
      `including start-up and group join (${int.format(steadyRate)} jobs/s after start() resolved); concurrency ${CONCURRENCY}; target ≥ 20,000; ` +
      `Node CPU ${drainCpuUs.toFixed(1)} µs/job = ${int.format(1e6 / drainCpuUs)} jobs per CPU-second; ${redisNote}`,
  );
  await handle.stop({ graceMs: 5000 });

  process.stdout.write(
    `${JSON.stringify({ phase: 'executor-drain', client, jobs: DRAIN, ms: Math.round(drainMs), perSecond: Math.round(drainRate), afterStart: Math.round(steadyRate), cpuUsPerJob: Number(drainCpuUs.toFixed(1)), concurrency: CONCURRENCY, dedup: process.env.BENCH_NO_DEDUP !== '1', partitions: PARTITIONS })}\n`,
  );
}
if (!values['no-drain']) for (const client of CLIENTS) await drainPhase(client);

await admin.deleteTopics({ topics: [pushTopic, ...drainTopics] }).catch(() => undefined);
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
