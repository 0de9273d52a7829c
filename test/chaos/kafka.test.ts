/**
 * Kafka under chaos (issue 16 point 4).
 *
 * - A broker of the test's own (scripts/kafka/cluster.mjs with one node: its own ports and data,
 *   never the shared broker) is SIGKILLed and restarted while the eventbus backend pushes jobs and
 *   the executor drains them. A push that fails is retried (at-least-once); every push that was
 *   acknowledged runs at least once, the executor keeps running through the outage, and every
 *   failed push failed with a typed switchyard error.
 * - Fuzzed Kafka events fed to the executor through the real broker: garbage bytes, JSON that is
 *   not an event, events with the schema broken, events signed with the wrong key or altered after
 *   signing, and huge messages, interleaved with valid events. Each bad one lands on the error
 *   topic exactly once with a named reason (`not-json`, `schema-invalid`, `bad-signature`), each
 *   valid one runs exactly once, and the executor is still running afterwards.
 */
import { randomBytes } from 'node:crypto';
import { type Consumer, Kafka, logLevel, type Producer } from 'kafkajs';
import { afterAll, expect, test } from 'vitest';
import { buildJobEvent, EventBusJobQueue } from '../../src/backends/eventbus/index.js';
import { type ExecutorHandle, startExecutorFromSection } from '../../src/executor/index.js';
import { defineHandlers, isSwitchyardError, type Job, type JsonObject } from '../../src/index.js';
import { describeIfService, services } from '../helpers/env.js';
import { readMessages } from '../helpers/kafka.js';
import { within } from '../helpers/net.js';
import { recordFigures } from './figures.js';
import { announceSeed, type Rng, rngFor } from './rng.js';

announceSeed('kafka');
process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1';

const SECRET = 'chaos-kafka-secret-0123456789abcdef';
const run = `${process.pid}${Date.now().toString(36)}`;
const RESTART_EVENTS = Number(process.env.SWITCHYARD_CHAOS_KAFKA_EVENTS ?? '20000');
const FUZZ_EVENTS = Number(process.env.SWITCHYARD_CHAOS_KAFKA_FUZZ ?? '2000');

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Cluster {
  readonly brokers: string;
  createTopic(topic: string, partitions: number): Promise<void>;
  kill(id: number): Promise<void>;
  restart(id: number): Promise<void>;
  stop(): Promise<void>;
}

const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const fn of cleanups.reverse()) await fn().catch(() => undefined);
}, 60_000);

function job(type: string, params: JsonObject) {
  return {
    type,
    params,
    domain: 'chaoswiki',
    releaseTimestamp: null,
    removeDuplicates: false,
    sha1: null,
    rootJob: null,
    requestId: null,
    priority: 0,
    groupKey: null,
  };
}

describeIfService(services.kafka, 'chaos: Kafka', (sharedBrokers) => {
  test(`a private broker SIGKILLed and restarted while ${RESTART_EVENTS} events are pushed and drained: every acknowledged push runs`, async () => {
    const started = performance.now();
    const rng = rngFor('kafka:restart');
    // @ts-expect-error: a plain .mjs script without types.
    const mod = (await import('../../scripts/kafka/cluster.mjs')) as {
      startCluster(o: object): Promise<Cluster>;
    };
    const cluster = await mod.startCluster({ nodes: 1, quiet: true });
    cleanups.push(() => cluster.stop());
    const type = `chaosrestart${run}`;
    const topic = `mediawiki.job.${type}`;
    await cluster.createTopic(topic, 2);

    const runs = new Map<number, number>();
    const handlers = defineHandlers({
      [type]: {
        run: async (j: Job<string>) => {
          const i = (j.params as { i: number }).i;
          runs.set(i, (runs.get(i) ?? 0) + 1);
        },
      },
    });
    const executor: ExecutorHandle = await startExecutorFromSection(
      {
        brokers: cluster.brokers,
        secret: SECRET,
        service: `chaos_${run}`,
        commitInterval: 0.5,
        retries: 5,
        sessionTimeout: 6000,
        rules: [{ name: 'r', topics: [topic], concurrency: 20, startAt: 'earliest' }],
      },
      { handlers },
    );
    let executorStopped = false;
    void executor.stopped.then(() => {
      executorStopped = true;
    });
    cleanups.push(() => executor.stop({ graceMs: 1000 }));

    const q = new EventBusJobQueue({
      type,
      domain: 'chaoswiki',
      secret: SECRET,
      brokers: cluster.brokers,
      connectionTimeout: 1000,
      requestTimeout: 5000,
    });
    cleanups.push(() => q.close());
    const acked = new Set<number>();
    const pushErrors = new Map<string, number>();
    const untyped: string[] = [];
    let outage = { killedAt: 0, upAt: 0, downMs: 0 };
    const killAt = Math.floor(RESTART_EVENTS * (0.25 + rng.next() * 0.3));
    const chaos = (async () => {
      while (acked.size < killAt) await sleep(20);
      const downMs = rng.int(1000, 3000);
      outage = { killedAt: Date.now(), upAt: 0, downMs };
      await cluster.kill(1);
      await sleep(downMs);
      await cluster.restart(1);
      outage.upAt = Date.now();
    })();
    const batch = 200;
    for (let i = 0; i < RESTART_EVENTS; i += batch) {
      const specs = Array.from({ length: Math.min(batch, RESTART_EVENTS - i) }, (_, k) => ({
        type,
        params: { i: i + k },
      }));
      for (let attempt = 0; ; attempt++) {
        try {
          await q.push(specs);
          for (const s of specs) acked.add(s.params.i);
          break;
        } catch (err) {
          if (!isSwitchyardError(err))
            untyped.push(err instanceof Error ? `${err.name}: ${err.message}` : String(err));
          const code = isSwitchyardError(err) ? err.code : 'untyped';
          pushErrors.set(code, (pushErrors.get(code) ?? 0) + 1);
          if (attempt > 200) throw err;
          await sleep(250);
        }
      }
    }
    await chaos;
    const pushedMs = performance.now() - started;
    // Every acknowledged push runs: wait for the drain (the executor reconnects by itself).
    const deadline = Date.now() + 120_000;
    const missing = (): number[] => [...acked].filter((i) => !runs.has(i));
    while (missing().length > 0 && Date.now() < deadline) await sleep(200);
    const drainedAt = Date.now();
    const lost = missing();
    const duplicates = [...runs.values()].reduce((n, c) => n + c - 1, 0);
    recordFigures({
      test: 'kafka broker restart',
      events: RESTART_EVENTS,
      acknowledged: acked.size,
      lost: lost.length,
      duplicates,
      pushErrors: [...pushErrors].map(([c, n]) => `${c}×${n}`).join(' ') || 'none',
      downMs: outage.upAt - outage.killedAt,
      drainedAfterRestartMs: drainedAt - outage.upAt,
      wallMs: Math.round(performance.now() - started),
      pushMs: Math.round(pushedMs),
      client: executor.client,
    });
    expect(untyped, 'pushes failed with untyped errors').toEqual([]);
    expect(acked.size).toBe(RESTART_EVENTS);
    expect(outage.upAt).toBeGreaterThan(0);
    expect(lost.slice(0, 20), 'acknowledged pushes never run').toEqual([]);
    expect(executorStopped, 'the executor stopped during the outage').toBe(false);
    await executor.stop({ graceMs: 2000 });
  }, 400_000);

  test(`${FUZZ_EVENTS} fuzzed Kafka events: each bad one on the error topic once with a named reason, each valid one run once, the executor still running`, async () => {
    const started = performance.now();
    const rng: Rng = rngFor('kafka:fuzz');
    const kafka = new Kafka({
      clientId: `swychaos-fuzz-${run}`,
      brokers: sharedBrokers.split(','),
      logLevel: logLevel.NOTHING,
    });
    const admin = kafka.admin();
    await admin.connect();
    const producer: Producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    const consumers: Consumer[] = [];
    const type = `chaosfuzz${run}`;
    const topic = `mediawiki.job.${type}`;
    const service = `chaosfuzz_${run}`;
    const errorTopic = `${service}.error`;
    cleanups.push(async () => {
      for (const c of consumers) await c.disconnect().catch(() => undefined);
      await producer.disconnect();
      await admin.deleteTopics({ topics: [topic, errorTopic] }).catch(() => undefined);
      await admin.disconnect();
    });
    await admin.createTopics({ topics: [{ topic, numPartitions: 2 }], waitForLeaders: true });

    const runs = new Map<string, number>();
    const handlers = defineHandlers({
      [type]: {
        run: async (j: Job<string>) => {
          const k = String((j.params as { k?: unknown }).k);
          runs.set(k, (runs.get(k) ?? 0) + 1);
        },
      },
    });
    const executor = await startExecutorFromSection(
      {
        brokers: sharedBrokers,
        secret: SECRET,
        service,
        commitInterval: 0.5,
        rules: [{ name: 'r', topics: [topic], concurrency: 20, startAt: 'earliest' }],
      },
      { handlers },
    );
    let executorStopped = false;
    void executor.stopped.then(() => {
      executorStopped = true;
    });
    cleanups.push(() => executor.stop({ graceMs: 1000 }));

    const stream = topic;
    const good = (k: string): Record<string, unknown> =>
      JSON.parse(
        JSON.stringify(
          buildJobEvent(job(type, { k, n: rng.int(0, 1e6) }), { stream, secret: SECRET, now: Date.now() }),
        ),
      ) as Record<string, unknown>;
    // Each message carries its key `fz<k>;` near the start, so its error event can be matched.
    type Kind = 'valid' | 'not-json' | 'invalid' | 'bad-signature';
    const sent = new Map<string, Kind>();
    const messages: { value: Buffer }[] = [];
    const schemaBreakers: ((e: Record<string, unknown>) => unknown)[] = [
      (e) => ({ ...e, type: 5 }),
      (e) => ({ ...e, params: 'not an object' }),
      (e) => {
        const { meta: _m, ...rest } = e;
        return rest;
      },
      (e) => {
        const { database: _d, ...rest } = e;
        return rest;
      },
      (e) => ({ ...e, meta: { ...(e.meta as object), dt: 'not a date' } }),
      (e) => ({ ...e, meta: 'x' }),
      (e) => ({ ...e, mediawiki_signature: 42 }),
      () => null,
      () => [1, 2, 3],
      () => 'a JSON string',
      () => 12345,
    ];
    for (let n = 0; n < FUZZ_EVENTS; n++) {
      const k = `fz${n};`;
      const roll = rng.next();
      if (roll < 0.45) {
        sent.set(k, 'valid');
        messages.push({ value: Buffer.from(JSON.stringify(good(k))) });
      } else if (roll < 0.62) {
        // garbage bytes (invalid UTF-8 too), sometimes huge
        const size = rng.chance(0.01) ? rng.int(200_000, 600_000) : rng.int(0, 300);
        const bytes = Buffer.concat([Buffer.from(`${k}`), randomBytes(size)]);
        sent.set(k, 'not-json');
        messages.push({ value: bytes });
      } else if (roll < 0.7) {
        // truncated JSON of a real event
        const text = JSON.stringify({ fz: k, ...good(k) });
        sent.set(k, 'not-json');
        messages.push({ value: Buffer.from(text.slice(0, rng.int(k.length + 8, text.length - 1))) });
      } else if (roll < 0.85) {
        const broken = rng.pick(schemaBreakers)(good(k));
        const tagged =
          broken !== null && typeof broken === 'object' && !Array.isArray(broken)
            ? { fz: k, ...broken }
            : broken;
        sent.set(k, 'invalid');
        // A non-object has no room for the key: it goes in front as a JSON-array element when possible.
        messages.push({
          value: Buffer.from(
            typeof tagged === 'object' && tagged !== null && !Array.isArray(tagged)
              ? JSON.stringify(tagged)
              : JSON.stringify([k, tagged]),
          ),
        });
      } else if (roll < 0.93) {
        sent.set(k, 'bad-signature');
        const e = JSON.parse(
          JSON.stringify(
            buildJobEvent(job(type, { k }), { stream, secret: 'the-wrong-secret', now: Date.now() }),
          ),
        ) as Record<string, unknown>;
        messages.push({ value: Buffer.from(JSON.stringify(e)) });
      } else {
        // altered after signing: params changed
        sent.set(k, 'bad-signature');
        const e = good(k);
        messages.push({
          value: Buffer.from(JSON.stringify({ ...e, params: { ...(e.params as object), k, extra: 1 } })),
        });
      }
    }
    for (let i = 0; i < messages.length; i += 100) {
      await producer.send({ topic, messages: messages.slice(i, i + 100), acks: -1 });
    }
    const valid = [...sent].filter(([, kind]) => kind === 'valid').map(([k]) => k);
    const bad = [...sent].filter(([, kind]) => kind !== 'valid');

    // Valid ones run; then the error topic holds one event per bad message.
    await within(
      (async () => {
        while (valid.some((k) => !runs.has(k))) await sleep(100);
      })(),
      120_000,
      `valid events not run: ${valid.filter((k) => !runs.has(k)).length}`,
    );
    const errors = (await readMessages(kafka, consumers, errorTopic, bad.length)).map(
      (m) => JSON.parse(m.value) as { reason: string; raw_event: string },
    );
    const byKey = new Map<string, string[]>();
    const unmatched: string[] = [];
    for (const e of errors) {
      const key = /fz\d+;/.exec(e.raw_event)?.[0];
      if (key === undefined) {
        unmatched.push(`${e.reason}: ${e.raw_event.slice(0, 80)}`);
        continue;
      }
      byKey.set(key, [...(byKey.get(key) ?? []), e.reason]);
    }
    const problems: string[] = [];
    for (const [k, kind] of bad) {
      const reasons = byKey.get(k) ?? [];
      if (reasons.length !== 1) problems.push(`${k} (${kind}): ${reasons.length} error events`);
      const reason = reasons[0];
      if (kind === 'not-json' && reason !== 'not-json') problems.push(`${k}: not JSON, reason ${reason}`);
      if (kind === 'invalid' && reason !== 'schema-invalid')
        problems.push(`${k}: schema broken, reason ${reason}`);
      if (kind === 'bad-signature' && reason !== 'bad-signature')
        problems.push(`${k}: bad signature, reason ${reason}`);
    }
    for (const k of valid) if (byKey.has(k)) problems.push(`${k}: valid, but on the error topic`);
    const ranTwice = [...runs].filter(([, c]) => c > 1).map(([k]) => k);
    const ranBad = [...runs.keys()].filter((k) => sent.get(k) !== 'valid');

    // Still running: one more valid event runs.
    const last = 'fzlast;';
    await producer.send({ topic, messages: [{ value: JSON.stringify(good(last)) }], acks: -1 });
    await within(
      (async () => {
        while (!runs.has(last)) await sleep(50);
      })(),
      30_000,
      'the executor did not run an event sent after the fuzz',
    );
    const reasons: Record<string, number> = {};
    for (const e of errors) reasons[e.reason] = (reasons[e.reason] ?? 0) + 1;
    recordFigures({
      test: 'kafka fuzzed events',
      events: FUZZ_EVENTS,
      valid: valid.length,
      bad: bad.length,
      ...Object.fromEntries(Object.entries(reasons).map(([r, n]) => [`reason ${r}`, n])),
      ms: Math.round(performance.now() - started),
      client: executor.client,
    });
    expect(unmatched.slice(0, 5)).toEqual([]);
    expect(problems.slice(0, 20)).toEqual([]);
    expect(errors.length).toBe(bad.length);
    expect(ranTwice).toEqual([]);
    expect(ranBad).toEqual([]);
    expect(executorStopped).toBe(false);
  }, 300_000);
});
