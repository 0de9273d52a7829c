/**
 * Instructions per event of eventbus push vs the Kafka client alone (issue 12), counted with
 * callgrind, which host load does not move (wall-clock rates on this 2-core box swing ±30 %).
 *
 *   node --import tsx --conditions=source bench/kafka-instructions.ts [--client platformatic|kafkajs]
 *     [--small N] [--large N] [--rounds R] [--subjects eventbus,alone,build]
 *
 * Each count is one whole child process under `valgrind --tool=callgrind` with `node --predictable`
 * (one V8 thread, so GC and JIT work land in the count). The child pushes `N` events the way
 * bench/kafka.ts does (8 writers × batches of 2,000, 1 KB params, requests ≤ 256 KiB, acks -1) to
 * the broker of SWITCHYARD_KAFKA_BROKERS; the slope between `--small` and `--large` events is the
 * instructions per event (start-up, imports, warm-up and JIT tiering cancel out):
 *
 * - `eventbus`: EventBusJobQueue.push of job specifications (normalise, build, sign, validate,
 *   serialise, produce);
 * - `alone`: the client library alone producing the same message texts, made before the count
 *   starts (the same number of them for both sizes, so making them cancels out);
 * - `build`: EventBusJobQueue.push to a stand-in producer that drops every batch (switchyard's
 *   side only, no broker).
 *
 * @packageDocumentation
 */
import { parseArgs } from 'node:util';
import { EventBusJobQueue } from '../src/backends/eventbus/index.js';
import type { KafkaClientName } from '../src/kafka/index.js';
import { callgrindInstructions } from './lib/callgrind.js';

const { values } = parseArgs({
  options: {
    client: { type: 'string', default: 'platformatic' },
    small: { type: 'string', default: '16000' },
    large: { type: 'string', default: '48000' },
    rounds: { type: 'string', default: '1' },
    subjects: { type: 'string', default: 'eventbus,alone,build' },
    child: { type: 'string' },
    n: { type: 'string' },
    topic: { type: 'string' },
  },
});
const CLIENT = values.client as KafkaClientName;
const BATCH = 2000;
const PARALLEL = 8;
const MAX_BATCH_BYTES = 262_144;
const SECRET = 'bench-secret-0123456789abcdef';
const pad = 'x'.repeat(1000);
const say = (t: string) => process.stdout.write(`${t}\n`);

async function child(mode: string, n: number, topic: string, prebuilt: number): Promise<void> {
  const brokers = process.env.SWITCHYARD_KAFKA_BROKERS as string;
  const type = topic.replace(/^mediawiki\.job\./, '');
  const specs = (from: number, k: number) =>
    Array.from({ length: k }, (_, i) => ({ type, params: { i: from + i, page: 'Main_Page', pad } }));
  const dropping = {
    connect: async () => undefined,
    send: async () => [],
    sendBatch: async () => [],
  };
  let batch: (w: number, from: number, k: number) => Promise<unknown>;
  let close: () => Promise<void>;
  if (mode === 'eventbus' || mode === 'build') {
    const queues = Array.from(
      { length: PARALLEL },
      () =>
        new EventBusJobQueue({
          type,
          domain: 'benchwiki',
          secret: SECRET,
          maxBatchBytes: MAX_BATCH_BYTES,
          ...(mode === 'build' ? { producer: dropping as never } : { brokers, client: CLIENT }),
        }),
    );
    batch = (w, from, k) => (queues[w] as EventBusJobQueue).push(specs(from, k));
    close = async () => {
      for (const q of queues) await q.close();
    };
  } else {
    // The same texts as the backend's messages (one sample event, a distinct id in each).
    const sampleQueue = new EventBusJobQueue({ type, domain: 'benchwiki', secret: SECRET, brokers });
    const [sample] = sampleQueue.buildEvents([
      {
        type,
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
    const text = JSON.stringify(sample);
    const id = sample?.meta.id as string;
    const at = text.indexOf(id);
    const perRequest = Math.floor(MAX_BATCH_BYTES / (Buffer.byteLength(text) + 64));
    // As many texts for every size (so making them cancels out of the slope), flattened.
    const texts = Array.from({ length: prebuilt }, (_, k) => {
      const fresh = `${String(k).padStart(12, '0')}${'0'.repeat(id.length)}`.slice(0, id.length);
      return Buffer.from(`${text.slice(0, at)}${fresh}${text.slice(at + id.length)}`).toString();
    });
    const chunks = (from: number, k: number) => {
      const start = from < 0 ? 0 : from;
      const list = texts.slice(start, start + k);
      const out: string[][] = [];
      for (let i = 0; i < list.length; i += perRequest) out.push(list.slice(i, i + perRequest));
      return out;
    };
    if (CLIENT === 'platformatic') {
      const lib = await import('@platformatic/kafka');
      const producers = Array.from(
        { length: PARALLEL },
        (_, w) =>
          new lib.Producer({
            clientId: `instr-${w}`,
            bootstrapBrokers: brokers.split(','),
            connectTimeout: 3000,
            timeout: 30_000,
            retries: 3,
            autocreateTopics: false,
            serializers: lib.stringSerializers,
            acks: -1,
            idempotent: false,
            compression: 'none',
          }),
      );
      batch = (w, from, k) =>
        Promise.all(
          chunks(from, k).map((chunk) =>
            (producers[w] as (typeof producers)[number]).send({
              acks: -1,
              messages: chunk.map((value) => ({ topic, value })),
            }),
          ),
        );
      close = () => Promise.all(producers.map((p) => p.close())).then(() => undefined);
    } else {
      const { Kafka, logLevel, Partitioners } = await import('kafkajs');
      const kafka = new Kafka({ clientId: 'instr', brokers: brokers.split(','), logLevel: logLevel.NOTHING });
      const producers = Array.from({ length: PARALLEL }, () =>
        kafka.producer({
          createPartitioner: Partitioners.DefaultPartitioner,
          allowAutoTopicCreation: false,
          idempotent: false,
        }),
      );
      await Promise.all(producers.map((p) => p.connect()));
      batch = (w, from, k) =>
        Promise.all(
          chunks(from, k).map((chunk) =>
            producers[w]?.sendBatch({
              acks: -1,
              timeout: 30_000,
              topicMessages: [{ topic, messages: chunk.map((value) => ({ value })) }],
            }),
          ),
        );
      close = () => Promise.all(producers.map((p) => p.disconnect())).then(() => undefined);
    }
  }
  // Warm-up (connections, JIT): one batch per writer, as bench/kafka.ts does.
  await Promise.all(Array.from({ length: PARALLEL }, (_, w) => batch(w, -1 - w, BATCH)));
  await Promise.all(
    Array.from({ length: PARALLEL }, async (_, w) => {
      for (let from = w * BATCH; from < n; from += BATCH * PARALLEL) {
        await batch(w, from, Math.min(BATCH, n - from));
      }
    }),
  );
  await close();
}

if (values.child !== undefined) {
  await child(
    values.child,
    Number(values.n),
    values.topic as string,
    Number(values.large) + BATCH * PARALLEL,
  );
  process.exit(0);
}

/** Instructions of one whole child process under callgrind. */
function count(mode: string, n: number, topic: string): number {
  return callgrindInstructions(
    [
      import.meta.filename,
      `--child=${mode}`,
      `--n=${n}`,
      `--topic=${topic}`,
      `--client=${CLIENT}`,
      `--large=${values.large}`,
    ],
    'bench/kafka-instructions.ts',
  );
}

const brokers = process.env.SWITCHYARD_KAFKA_BROKERS;
if (!brokers)
  throw new Error('SWITCHYARD_KAFKA_BROKERS: start one (node scripts/kafka/broker.mjs start --daemon)');
const { Kafka, logLevel } = await import('kafkajs');
const admin = new Kafka({
  clientId: 'instr-admin',
  brokers: brokers.split(','),
  logLevel: logLevel.NOTHING,
}).admin();
await admin.connect();
const topic = `mediawiki.job.instr_${process.pid}${Date.now().toString(36)}`;
await admin.createTopics({ topics: [{ topic, numPartitions: 4 }], waitForLeaders: true });
const small = Number(values.small);
const large = Number(values.large);
const subjects = (values.subjects as string).split(',');
const slopes = new Map<string, number[]>();
try {
  for (let r = 0; r < Number(values.rounds); r++) {
    for (const mode of subjects) {
      const a = count(mode, small, topic);
      const b = count(mode, large, topic);
      const per = (b - a) / (large - small);
      slopes.set(mode, [...(slopes.get(mode) ?? []), per]);
      say(
        `${mode} [${CLIENT}] round ${r + 1}: ${Math.round(per)} instructions/event (${a} @ ${small}, ${b} @ ${large})`,
      );
    }
  }
} finally {
  await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
  await admin.disconnect();
}
const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)] as number;
for (const [mode, list] of slopes)
  say(`${mode} [${CLIENT}]: median ${Math.round(median(list))} instructions/event`);
const eb = slopes.get('eventbus');
const alone = slopes.get('alone');
if (eb && alone) say(`alone ÷ eventbus (instructions): ${(median(alone) / median(eb)).toFixed(2)}`);
process.stdout.write(
  `${JSON.stringify({ bench: 'kafka-instructions', client: CLIENT, small, large, perEvent: Object.fromEntries([...slopes].map(([k, v]) => [k, v.map(Math.round)])) })}\n`,
);
