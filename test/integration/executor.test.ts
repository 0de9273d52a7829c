/**
 * The Kafka executor and the job-execution endpoint against a real broker and a real Redis
 * (issue 7 part 3/4): signatures, retries with delays then the error topic, dedup by id / sha1 /
 * root event, delay_until, concurrency, in-order commits, partitioners, HTTP execution, and bad
 * input (not JSON, schema-invalid, unknown topic, unreachable broker).
 *
 * Topics are created with the admin API (auto-create is off); every test has its own topics,
 * consumer groups and Redis prefix.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Ajv } from 'ajv';
import { Redis } from 'ioredis';
import { type Admin, type Consumer, Kafka, logLevel, type Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  buildJobEvent,
  EventBusJobQueue,
  type JobEvent,
  loadJobEventSchema,
} from '../../src/backends/eventbus/index.js';
import { ErrorCode, isSwitchyardError } from '../../src/core/errors.js';
import { dedupKey, type Job, type NormalizedJob } from '../../src/core/job.js';
import {
  createJobEndpoint,
  type ErrorEvent,
  type ExecutorHandle,
  type RetryEvent,
  startExecutorFromSection,
} from '../../src/executor/index.js';
import { defineHandlers, type HandlerContext, JobFailedError } from '../../src/runner/handlers.js';
import { describeIfService, services } from '../helpers/env.js';
import { readMessages } from '../helpers/kafka.js';
import { freePort, within } from '../helpers/net.js';

process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1';

const SECRET = 'executor-secret-0123456789abcdef';
const REDIS = process.env.SWITCHYARD_REDIS_URL || 'redis://127.0.0.1:6379';
const run = `${process.pid}${Date.now().toString(36)}`;
let seq = 0;
const uniq = (p: string) => `${p}_${run}_${++seq}`;

async function waitFor(cond: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}

function job(
  type: string,
  domain: string,
  params: Record<string, unknown>,
  extra: Partial<NormalizedJob> = {},
): NormalizedJob {
  return {
    type,
    domain,
    params: params as NormalizedJob['params'],
    releaseTimestamp: null,
    removeDuplicates: false,
    sha1: null,
    rootJob: null,
    requestId: null,
    priority: 0,
    groupKey: null,
    ...extra,
  };
}

describeIfService(services.kafka, 'executor on a real Kafka broker', (brokers) => {
  const kafka = new Kafka({
    clientId: `swytest-exec-${run}`,
    brokers: brokers.split(','),
    logLevel: logLevel.NOTHING,
    retry: { retries: 10 },
  });
  let admin: Admin;
  let producer: Producer;
  let redis: Redis;
  const topics: string[] = [];
  const consumers: Consumer[] = [];
  const executors: ExecutorHandle[] = [];

  async function createTopic(topic: string, numPartitions = 1): Promise<string> {
    await admin.createTopics({ topics: [{ topic, numPartitions }], waitForLeaders: true });
    topics.push(topic);
    return topic;
  }

  async function produce(topic: string, values: Array<string | object>): Promise<void> {
    await producer.send({
      topic,
      acks: -1,
      messages: values.map((v) => ({ value: typeof v === 'string' ? v : JSON.stringify(v) })),
    });
  }

  async function messageCount(topic: string): Promise<number> {
    const offsets = await admin.fetchTopicOffsets(topic);
    return offsets.reduce((n, o) => n + Number(o.high) - Number(o.low), 0);
  }

  /** Reads `count` values from the beginning of `topic`. */
  async function readTopic<T>(topic: string, count: number): Promise<T[]> {
    return (await readMessages(kafka, consumers, topic, count)).map(
      (m) => JSON.parse(m.value || 'null') as T,
    );
  }

  function section(
    ruleTopics: string[],
    extra: Record<string, unknown> = {},
    rule: Record<string, unknown> = {},
  ) {
    const service = uniq('svc');
    return {
      brokers,
      secret: SECRET,
      service,
      redis: REDIS,
      redisPrefix: `swytest:${service}:`,
      commitInterval: 0.1,
      shutdownGrace: 5,
      retries: 3,
      ...extra,
      rules: [{ name: 'r', topics: ruleTopics, concurrency: 10, retryDelay: 0.2, retryFactor: 2, ...rule }],
    };
  }

  async function start(
    sec: Record<string, unknown>,
    handlers: Parameters<typeof startExecutorFromSection>[1],
  ) {
    const handle = await startExecutorFromSection(sec, handlers);
    executors.push(handle);
    return handle;
  }

  function errorTopicOf(sec: { service: string }) {
    return `${sec.service}.error`;
  }

  beforeAll(async () => {
    admin = kafka.admin();
    await admin.connect();
    producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    redis = new Redis(REDIS, { maxRetriesPerRequest: 1 });
  });

  afterAll(async () => {
    for (const e of executors) await e.stop({ graceMs: 1000 }).catch(() => undefined);
    for (const c of consumers) await c.disconnect().catch(() => undefined);
    await producer.disconnect();
    const all = await admin.listTopics();
    const ours = all.filter((t) => t.includes(run));
    if (ours.length > 0) await admin.deleteTopics({ topics: ours }).catch(() => undefined);
    await admin.disconnect();
    const keys = await redis.keys(`swytest:*${run}*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  });

  test('pushed events validate against the real schema and run once each with the right Job fields; forged and altered events go to the error topic', async () => {
    const type = uniq('run');
    const topic = await createTopic(`mediawiki.job.${type}`, 2);
    const sec = section([topic]);
    const seen: Job<string>[] = [];
    await start(sec, {
      handlers: defineHandlers({ [type]: { run: (j: Job<string>) => void seen.push(j) } }),
    });
    const q = new EventBusJobQueue({ type, domain: 'wiki1', secret: SECRET, brokers });
    const root = { signature: `root:${run}`, timestamp: Date.now() - 1000 };
    await q.push([
      { type, params: { n: 1 } },
      { type, params: { n: 2 }, removeDuplicates: true, requestId: 'req-1' },
      { type, params: { n: 3 }, rootJob: root },
    ]);
    // Validate what is on the topic with an independent ajv over the real schema.
    const schema = loadJobEventSchema();
    delete schema.$schema;
    const ajv = new Ajv({ strict: true });
    ajv.addFormat('date-time', { type: 'string', validate: (s: string) => !Number.isNaN(Date.parse(s)) });
    ajv.addFormat('uri-reference', { type: 'string', validate: () => true });
    const validate = ajv.compile(schema);
    const onTopic = await readTopic<JobEvent>(topic, 3);
    for (const e of onTopic) expect(validate(e), JSON.stringify(validate.errors)).toBe(true);
    // Forged (wrong key) and altered (params changed after signing) events.
    const good = buildJobEvent(job(type, 'wiki1', { n: 4 }), {
      stream: `mediawiki.job.${type}`,
      secret: SECRET,
      now: Date.now(),
    });
    const forged = buildJobEvent(job(type, 'wiki1', { n: 5 }), {
      stream: `mediawiki.job.${type}`,
      secret: 'wrong',
      now: Date.now(),
    });
    await produce(topic, [forged, { ...good, params: { n: 666 } }]);
    await waitFor(() => seen.length >= 3, 20_000, 'three jobs to run');
    const errors = await readTopic<ErrorEvent>(errorTopicOf(sec), 2);
    expect(errors.map((e) => e.reason)).toEqual(['bad-signature', 'bad-signature']);
    await new Promise((r) => setTimeout(r, 300));
    expect(seen.map((j) => j.params.n).sort()).toEqual([1, 2, 3]);
    const byN = new Map(seen.map((j) => [j.params.n, j]));
    expect(byN.get(2)).toMatchObject({
      domain: 'wiki1',
      removeDuplicates: true,
      requestId: 'req-1',
      attempts: 1,
    });
    expect(byN.get(2)?.sha1).toBe(dedupKey('wiki1', type, { n: 2 }));
    expect(byN.get(3)?.rootJob).toEqual(root);
    await q.close();
  });

  test('a failing job is retried on the retry topic with the configured delays, then lands on the error topic', async () => {
    const type = uniq('fail');
    const topic = await createTopic(`mediawiki.job.${type}`);
    const sec = section([topic], {}, { retryDelay: 0.4, retryFactor: 2, retryLimit: 2, reenqueueDelay: 5 });
    const runs: Array<{ at: number; attempts: number }> = [];
    const handle = await start(sec, {
      handlers: defineHandlers({
        [type]: {
          run: (j: Job<string>) => {
            runs.push({ at: Date.now(), attempts: j.attempts });
            throw new Error(`boom ${j.attempts}`);
          },
        },
      }),
    });
    const q = new EventBusJobQueue({ type, domain: 'wiki1', secret: SECRET, brokers });
    await q.push({ type, params: { x: 1 } });
    await q.close();
    const errors = await readTopic<ErrorEvent>(errorTopicOf(sec), 1);
    expect(errors[0]).toMatchObject({ reason: 'retries-exhausted', detail: 'Error: boom 3' });
    expect((errors[0]?.original_event as JobEvent).params).toEqual({ x: 1 });
    expect(runs.map((r) => r.attempts)).toEqual([1, 2, 3]);
    const [a, b, c] = runs.map((r) => r.at) as [number, number, number];
    expect(b - a).toBeGreaterThanOrEqual(380); // retryDelay 0.4 s
    expect(c - b).toBeGreaterThanOrEqual(780); // × retryFactor 2
    const retryTopic = `${sec.service}.retry.mediawiki.job.${type}`;
    const retries = await readTopic<RetryEvent>(retryTopic, 2);
    // ChangeProp's count: retries_left includes the run the retry event asks for.
    expect(retries.map((r) => [r.attempt, r.retries_left])).toEqual([
      [2, 2],
      [3, 1],
    ]);
    expect(handle.metrics.total('retries', { type })).toBe(2);
    expect(handle.metrics.total('errors', { type })).toBe(1);
    expect(handle.metrics.toPrometheus()).toContain(
      `switchyard_executor_retries_total{rule="r",type="${type}"} 2`,
    );
  });

  test('a retry event the retry topic refuses as too large goes to the error topic; the partition moves on', async () => {
    const type = uniq('huge');
    const topic = await createTopic(`mediawiki.job.${type}`);
    const sec = section([topic]);
    const retryTopic = `${sec.service}.retry.mediawiki.job.${type}`;
    await admin.createTopics({
      topics: [
        {
          topic: retryTopic,
          numPartitions: 1,
          configEntries: [{ name: 'max.message.bytes', value: '3000' }],
        },
      ],
      waitForLeaders: true,
    });
    topics.push(retryTopic);
    const ran: number[] = [];
    await start(sec, {
      handlers: defineHandlers({
        [type]: {
          run: (j: Job<string>) => {
            const n = (j.params as { n: number }).n;
            ran.push(n);
            if (n === 1) throw new Error('fails, and its retry event is too large');
          },
        },
      }),
    });
    const at = Date.now();
    await produce(topic, [
      buildJobEvent(job(type, 'w', { n: 1, pad: 'x'.repeat(2400) }), {
        stream: 's',
        secret: SECRET,
        now: at,
      }),
      buildJobEvent(job(type, 'w', { n: 2 }), { stream: 's', secret: SECRET, now: at }),
    ]);
    const errors = await readTopic<ErrorEvent>(errorTopicOf(sec), 1);
    expect(errors[0]).toMatchObject({ reason: 'too-large', topic, offset: '0' });
    expect(errors[0]?.detail).toMatch(/refuses a message of \d+ characters as too large/);
    expect((errors[0]?.original_event as JobEvent).params).toMatchObject({ n: 1 });
    expect(await messageCount(retryTopic)).toBe(0);
    await waitFor(
      async () => {
        const [t] = await admin.fetchOffsets({ groupId: `${sec.service}-r`, topics: [topic] });
        return t?.partitions[0]?.offset === '2';
      },
      15_000,
      'the commit to pass both messages',
    );
    expect(ran.sort()).toEqual([1, 2]);
  });

  test('JobFailedError({ retry: false }) goes straight to the error topic', async () => {
    const type = uniq('noretry');
    const topic = await createTopic(`mediawiki.job.${type}`);
    const sec = section([topic]);
    let runs = 0;
    await start(sec, {
      handlers: defineHandlers({
        [type]: {
          run: () => {
            runs++;
            throw new JobFailedError('gone', { retry: false });
          },
        },
      }),
    });
    await produce(topic, [
      buildJobEvent(job(type, 'w', {}), { stream: 's', secret: SECRET, now: Date.now() }),
    ]);
    const errors = await readTopic<ErrorEvent>(errorTopicOf(sec), 1);
    expect(errors[0]?.reason).toBe('failed');
    expect(runs).toBe(1);
    expect(await messageCount(`${sec.service}.retry.mediawiki.job.${type}`)).toBe(0);
  });

  test('dedup: a duplicate event id runs once, a superseded root job is skipped, an older sha1 twin is skipped', async () => {
    const type = uniq('dedup');
    const topic = await createTopic(`mediawiki.job.${type}`);
    const sec = section([topic], {}, { concurrency: 1 });
    const seen: string[] = [];
    const handle = await start(sec, {
      handlers: defineHandlers({ [type]: { run: (j: Job<string>) => void seen.push(String(j.params.tag)) } }),
    });
    const now = Date.now();
    const s = { stream: `mediawiki.job.${type}`, secret: SECRET };
    const once = buildJobEvent(job(type, 'w', { tag: 'once' }), { ...s, now });
    const newRoot = buildJobEvent(
      job(type, 'w', { tag: 'newroot' }, { rootJob: { signature: `r${run}`, timestamp: now } }),
      { ...s, now },
    );
    const oldRoot = buildJobEvent(
      job(type, 'w', { tag: 'oldroot' }, { rootJob: { signature: `r${run}`, timestamp: now - 60_000 } }),
      { ...s, now },
    );
    const sha1 = dedupKey('w', type, { tag: 'sha' });
    const shaNew = buildJobEvent(job(type, 'w', { tag: 'sha' }, { removeDuplicates: true, sha1 }), {
      ...s,
      now,
    });
    // Created before shaNew started: covered by it.
    const shaOld = buildJobEvent(job(type, 'w', { tag: 'sha' }, { removeDuplicates: true, sha1 }), {
      ...s,
      now: now - 5000,
    });
    await produce(topic, [once, once, newRoot, oldRoot, shaNew, shaOld, once]);
    await waitFor(() => handle.metrics.total('consumed', { type }) >= 7, 20_000, 'seven events consumed');
    await waitFor(() => handle.metrics.total('dedup', { type }) >= 4, 5000, 'four dedups');
    expect(seen).toEqual(['once', 'newroot', 'sha']);
    expect(handle.metrics.total('dedup', { type, reason: 'id' })).toBe(2);
    expect(handle.metrics.total('dedup', { type, reason: 'root' })).toBe(1);
    expect(handle.metrics.total('dedup', { type, reason: 'sha1' })).toBe(1);
  });

  test('Redis down: dedup fails open (jobs still run)', async () => {
    const type = uniq('failopen');
    const topic = await createTopic(`mediawiki.job.${type}`);
    const port = await freePort();
    const sec = section([topic], { redis: `redis://127.0.0.1:${port}` });
    let runs = 0;
    const handle = await start(sec, { handlers: defineHandlers({ [type]: { run: () => void runs++ } }) });
    await produce(topic, [
      buildJobEvent(job(type, 'w', {}), { stream: 's', secret: SECRET, now: Date.now() }),
    ]);
    await waitFor(() => runs === 1, 20_000, 'the job to run without Redis');
    expect(handle.metrics.total('dedup_errors')).toBeGreaterThan(0);
  });

  test('delay_until is honoured: a short wait is slept, a long one re-produced (reenqueueDelay)', async () => {
    const type = uniq('delay');
    const topic = await createTopic(`mediawiki.job.${type}`);
    const sec = section([topic], {}, { reenqueueDelay: 0.5 });
    const ranAt = new Map<string, number>();
    const handle = await start(sec, {
      handlers: defineHandlers({
        [type]: { run: (j: Job<string>) => void ranAt.set(String(j.params.tag), Date.now()) },
      }),
    });
    const now = Date.now();
    const s = { stream: `mediawiki.job.${type}`, secret: SECRET, now };
    const shortDue = now + 300;
    const longDue = now + 1500;
    await produce(topic, [
      buildJobEvent(job(type, 'w', { tag: 'short' }, { releaseTimestamp: shortDue }), s),
      buildJobEvent(job(type, 'w', { tag: 'long' }, { releaseTimestamp: longDue }), s),
      buildJobEvent(job(type, 'w', { tag: 'now' }), s),
    ]);
    await waitFor(() => ranAt.size === 3, 20_000, 'three jobs');
    expect(ranAt.get('short')).toBeGreaterThanOrEqual(shortDue);
    expect(ranAt.get('long')).toBeGreaterThanOrEqual(longDue);
    expect(handle.metrics.total('reenqueued', { type })).toBeGreaterThanOrEqual(1);
    expect(await messageCount(topic)).toBeGreaterThanOrEqual(4); // the re-produced copy
  });

  test('stale events are dropped (claimTTL / rootClaimTTL)', async () => {
    const type = uniq('stale');
    const topic = await createTopic(`mediawiki.job.${type}`);
    const sec = section([topic], {}, { claimTTL: 60, rootClaimTTL: 120 });
    const seen: string[] = [];
    const handle = await start(sec, {
      handlers: defineHandlers({ [type]: { run: (j: Job<string>) => void seen.push(String(j.params.tag)) } }),
    });
    const now = Date.now();
    const s = { stream: 's', secret: SECRET };
    await produce(topic, [
      buildJobEvent(job(type, 'w', { tag: 'old' }), { ...s, now: now - 61_000 }),
      buildJobEvent(
        job(type, 'w', { tag: 'oldroot' }, { rootJob: { signature: 'x', timestamp: now - 121_000 } }),
        { ...s, now },
      ),
      buildJobEvent(job(type, 'w', { tag: 'fresh' }), { ...s, now }),
    ]);
    await waitFor(
      () => handle.metrics.total('consumed', { type }) === 3 && seen.length === 1,
      20_000,
      'three consumed',
    );
    expect(seen).toEqual(['fresh']);
    expect(handle.metrics.total('stale', { type })).toBe(2);
  });

  test('concurrency never exceeds the limit (and reaches it)', async () => {
    const type = uniq('conc');
    const topic = await createTopic(`mediawiki.job.${type}`, 3);
    const sec = section([topic], {}, { concurrency: 4 });
    let running = 0;
    let peak = 0;
    let done = 0;
    await start(sec, {
      handlers: defineHandlers({
        [type]: {
          run: async () => {
            running++;
            peak = Math.max(peak, running);
            await new Promise((r) => setTimeout(r, 40));
            running--;
            done++;
          },
        },
      }),
    });
    const q = new EventBusJobQueue({ type, domain: 'w', secret: SECRET, brokers });
    await q.push(Array.from({ length: 60 }, (_, i) => ({ type, params: { i } })));
    await q.close();
    await waitFor(() => done === 60, 30_000, '60 jobs');
    expect(peak).toBeLessThanOrEqual(4);
    expect(peak).toBe(4);
  });

  test('commits: with messages finishing out of order, the committed offset never passes an unfinished message', async () => {
    const type = uniq('commit');
    const topic = await createTopic(`mediawiki.job.${type}`);
    const sec = section([topic], { redis: null }, { concurrency: 10 });
    const gates = new Map<number, () => void>();
    const started = new Set<number>();
    await start(sec, {
      handlers: defineHandlers({
        [type]: {
          run: (j: Job<string>) =>
            new Promise<void>((resolve) => {
              started.add(j.params.i as number);
              gates.set(j.params.i as number, resolve);
            }),
        },
      }),
    });
    const groupId = `${sec.service}-r`;
    const committed = async () => {
      const [t] = await admin.fetchOffsets({ groupId, topics: [topic] });
      return Number(t?.partitions[0]?.offset ?? -1);
    };
    const s = { stream: 's', secret: SECRET, now: Date.now() };
    await produce(
      topic,
      [0, 1, 2, 3, 4].map((i) => buildJobEvent(job(type, 'w', { i }), s)),
    );
    await waitFor(() => started.size === 5, 20_000, 'five running');
    for (const i of [4, 2, 3, 1]) gates.get(i)?.();
    // Several commit intervals pass; offset 0 is unfinished, so nothing may be committed.
    for (let k = 0; k < 5; k++) {
      await new Promise((r) => setTimeout(r, 150));
      expect(await committed()).toBe(-1);
    }
    gates.get(0)?.();
    await waitFor(async () => (await committed()) === 5, 10_000, 'offset 5 committed');
    // A second round: 5 finishes before 6 and 7; the commit stops at 6 until 6 finishes.
    await produce(
      topic,
      [5, 6, 7].map((i) => buildJobEvent(job(type, 'w', { i }), s)),
    );
    await waitFor(() => started.size === 8, 20_000, 'three more running');
    gates.get(5)?.();
    gates.get(7)?.();
    await waitFor(async () => (await committed()) === 6, 10_000, 'offset 6 committed');
    await new Promise((r) => setTimeout(r, 400));
    expect(await committed()).toBe(6);
    gates.get(6)?.();
    await waitFor(async () => (await committed()) === 8, 10_000, 'offset 8 committed');
  });

  test('partitioner: a high-volume type is re-produced to the partitioned topic by the domain map', async () => {
    const type = uniq('part');
    const topic = await createTopic(`mediawiki.job.${type}`);
    const partitioned = `mediawiki.job.${type}.partitioned`;
    const sec = {
      ...section([topic]),
      partitioners: [{ type, topic: partitioned, domains: { enwiki: 1, dewiki: 2 }, defaultPartition: 0 }],
    };
    sec.rules = [
      { name: 'r', topics: [topic], concurrency: 10, retryDelay: 0.2, retryFactor: 2 },
      { name: 'p', topics: [partitioned], concurrency: 10, retryDelay: 0.2, retryFactor: 2 },
    ] as typeof sec.rules;
    const seen: string[] = [];
    const handle = await start(sec, {
      handlers: defineHandlers({ [type]: { run: (j: Job<string>) => void seen.push(j.domain) } }),
    });
    const s = { stream: 's', secret: SECRET, now: Date.now() };
    await produce(topic, [
      buildJobEvent(job(type, 'enwiki', { a: 1 }), s),
      buildJobEvent(job(type, 'enwiki', { a: 2 }), s),
      buildJobEvent(job(type, 'dewiki', { a: 3 }), s),
      buildJobEvent(job(type, 'frwiki', { a: 4 }), s),
    ]);
    await waitFor(() => seen.length === 4, 20_000, 'four partitioned jobs');
    const offsets = await admin.fetchTopicOffsets(partitioned);
    const byPartition = Object.fromEntries(offsets.map((o) => [o.partition, Number(o.high)]));
    expect(byPartition).toEqual({ 0: 1, 1: 2, 2: 1 });
    expect(handle.metrics.total('partitioned', { type, rule: 'r' })).toBe(4);
    expect(handle.metrics.total('executed', { type, rule: 'p' })).toBe(4);
  });

  test('bad input: a non-JSON message and a schema-invalid event go to the error topic once; later jobs still run', async () => {
    const type = uniq('bad');
    const topic = await createTopic(`mediawiki.job.${type}`);
    const sec = section([topic]);
    const seen: number[] = [];
    await start(sec, {
      handlers: defineHandlers({ [type]: { run: (j: Job<string>) => void seen.push(j.params.n as number) } }),
    });
    const s = { stream: 's', secret: SECRET, now: Date.now() };
    const valid = buildJobEvent(job(type, 'w', { n: 1 }), s);
    const { database: _d, ...noDatabase } = buildJobEvent(job(type, 'w', { n: 2 }), s);
    await produce(topic, ['{ not json', noDatabase, valid]);
    await waitFor(() => seen.length === 1, 20_000, 'the valid job');
    const errors = await readTopic<ErrorEvent>(errorTopicOf(sec), 2);
    expect(errors.map((e) => e.reason).sort()).toEqual(['not-json', 'schema-invalid']);
    expect(errors.find((e) => e.reason === 'not-json')?.raw_event).toBe('{ not json');
    await new Promise((r) => setTimeout(r, 500));
    expect(await messageCount(errorTopicOf(sec))).toBe(2); // no crash loop
  });

  test('HTTP execution: the executor POSTs to the job-execution endpoint; statuses map to ok / retry / error', async () => {
    const type = uniq('http');
    const topic = await createTopic(`mediawiki.job.${type}`);
    const calls: Array<{ n: number; attempts: number }> = [];
    const endpoint = createJobEndpoint({
      secret: SECRET,
      handlers: defineHandlers({
        [type]: {
          run: (j: Job<string>) => {
            calls.push({ n: j.params.n as number, attempts: j.attempts });
            if (j.params.n === 2 && j.attempts === 1) throw new Error('transient');
            if (j.params.n === 3) throw new JobFailedError('permanent', { retry: false });
          },
        },
      }),
    });
    const server: Server = createServer(endpoint);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/rpc/RunSingleJob`;
    try {
      // The endpoint on its own: forged → 403, altered → 403, not JSON → 400, GET → 405.
      const s = { stream: 's', secret: SECRET, now: Date.now() };
      const post = (body: string) =>
        fetch(url, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
      const forged = buildJobEvent(job(type, 'w', { n: 9 }), { ...s, secret: 'nope' });
      expect((await post(JSON.stringify(forged))).status).toBe(403);
      const altered = { ...buildJobEvent(job(type, 'w', { n: 9 }), s), params: { n: 10 } };
      expect((await post(JSON.stringify(altered))).status).toBe(403);
      expect((await post('nope')).status).toBe(400);
      expect((await post(JSON.stringify({ type }))).status).toBe(400);
      expect((await fetch(url)).status).toBe(405);
      const unknown = buildJobEvent(job('nosuchtype', 'w', {}), s);
      expect((await post(JSON.stringify(unknown))).status).toBe(404);
      expect(calls).toEqual([]);
      // Through the executor.
      const sec = section([topic], {}, { endpoint: url, retryDelay: 0.2 });
      await start(sec, {});
      await produce(
        topic,
        [1, 2, 3].map((n) => buildJobEvent(job(type, 'w', { n }), s)),
      );
      const errors = await readTopic<ErrorEvent>(errorTopicOf(sec), 1);
      expect(errors[0]?.reason).toBe('failed');
      expect(errors[0]?.detail).toMatch(/^HTTP 422/);
      await waitFor(() => calls.length === 4, 20_000, 'four calls');
      expect(calls.sort((a, b) => a.n - b.n || a.attempts - b.attempts)).toEqual([
        { n: 1, attempts: 1 },
        { n: 2, attempts: 1 },
        { n: 2, attempts: 2 },
        { n: 3, attempts: 1 },
      ]);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });

  test('a regex rule consumes matching topics, and picks up a new matching topic on refresh', async () => {
    const prefix = uniq('rx');
    const first = await createTopic(`mediawiki.job.${prefix}_a`);
    await createTopic(`mediawiki.job.other_${prefix}`);
    const base = section([]);
    const sec = {
      ...base,
      topicRefreshInterval: 0.5,
      rules: [{ name: 'r', topicPattern: `mediawiki\\.job\\.${prefix}_.*`, concurrency: 4 }],
    };
    const seen: string[] = [];
    const handle = await start(sec, {
      handlers: defineHandlers({
        [`${prefix}_a`]: { run: (j: Job<string>) => void seen.push(j.type) },
        [`${prefix}_b`]: { run: (j: Job<string>) => void seen.push(j.type) },
      }),
    });
    expect(handle.topics()).toEqual({ r: [first] });
    const s = { stream: 's', secret: SECRET, now: Date.now() };
    await produce(first, [buildJobEvent(job(`${prefix}_a`, 'w', {}), s)]);
    await waitFor(() => seen.length === 1, 20_000, 'the job of the first topic');
    const second = await createTopic(`mediawiki.job.${prefix}_b`);
    await waitFor(() => (handle.topics().r ?? []).includes(second), 20_000, 'the new topic to be picked up');
    await produce(second, [buildJobEvent(job(`${prefix}_b`, 'w', {}), s)]);
    await waitFor(() => seen.length === 2, 20_000, 'the job of the new topic');
    expect(seen).toEqual([`${prefix}_a`, `${prefix}_b`]);
  });

  test('graceful stop: finished jobs are committed, an unfinished one is handed back and runs after a restart; replays are skipped by id', async () => {
    const type = uniq('stop');
    const topic = await createTopic(`mediawiki.job.${type}`);
    const sec = section([topic], {}, { concurrency: 5 });
    const first: number[] = [];
    let sawAbort = false;
    const handle = await startExecutorFromSection(sec, {
      handlers: defineHandlers({
        [type]: {
          run: (j: Job<string>, ctx: HandlerContext) => {
            first.push(j.params.i as number);
            if (j.params.i !== 2) return;
            return new Promise<void>((_, reject) => {
              ctx.signal.addEventListener('abort', () => {
                sawAbort = true;
                reject(new Error('aborted'));
              });
            });
          },
        },
      }),
    });
    const s = { stream: 's', secret: SECRET, now: Date.now() };
    await produce(
      topic,
      [0, 1, 2, 3, 4].map((i) => buildJobEvent(job(type, 'w', { i }), s)),
    );
    await waitFor(() => first.length === 5, 20_000, 'five jobs started');
    await new Promise((r) => setTimeout(r, 100)); // let the id marks land
    await handle.stop({ graceMs: 300 });
    expect(sawAbort).toBe(true);
    const [t] = await admin.fetchOffsets({ groupId: `${sec.service}-r`, topics: [topic] });
    expect(Number(t?.partitions[0]?.offset)).toBe(2);
    expect(await messageCount(`${sec.service}.retry.mediawiki.job.${type}`)).toBe(0);
    const second: number[] = [];
    const again = await start(sec, {
      handlers: defineHandlers({
        [type]: { run: (j: Job<string>) => void second.push(j.params.i as number) },
      }),
    });
    await waitFor(() => again.metrics.total('consumed', { type }) === 3, 20_000, 'the replay');
    await waitFor(() => second.length === 1, 5000, 'the handed-back job');
    expect(second).toEqual([2]);
    expect(again.metrics.total('dedup', { type, reason: 'id' })).toBe(2);
  });

  test('an unknown job topic (auto-create off) fails start with a clear config error naming it', async () => {
    const missing = `mediawiki.job.${uniq('missing')}`;
    const err = await within(
      startExecutorFromSection(section([missing]), { handlers: defineHandlers({}) }).then(
        () => null,
        (e: unknown) => e,
      ),
      20_000,
      'start with an unknown topic hung',
    );
    expect(isSwitchyardError(err, ErrorCode.CONFIG_INVALID)).toBe(true);
    expect((err as Error).message).toContain(missing);
    expect((await admin.listTopics()).includes(missing)).toBe(false);
  });
});

describe('executor with an unreachable broker', () => {
  test('start fails within the timeout with SWITCHYARD_BACKEND_UNAVAILABLE, no hang, no unhandled rejection', async () => {
    const port = await freePort();
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const started = Date.now();
      const err = await within(
        startExecutorFromSection(
          {
            brokers: `127.0.0.1:${port}`,
            secret: SECRET,
            connectionTimeout: 500,
            retries: 1,
            rules: [{ name: 'r', topics: ['t'] }],
          },
          { handlers: defineHandlers({}) },
        ).then(
          () => null,
          (e: unknown) => e,
        ),
        15_000,
        'start against an unreachable broker hung',
      );
      expect(Date.now() - started).toBeLessThan(15_000);
      expect(isSwitchyardError(err, ErrorCode.BACKEND_UNAVAILABLE)).toBe(true);
      expect((err as Error).message).toContain(`127.0.0.1:${port}`);
      expect((err as Error).message).not.toContain(SECRET);
      await new Promise((r) => setTimeout(r, 300));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});
