/**
 * The `mediawiki` signature end to end on the real broker (issue 12 point 1): job events signed
 * by PHP with MediaWiki's algorithm (test/fixtures/mediawiki-job-events.json), with meta.dt
 * added after signing as EventGate does, run in an executor configured `signature: mediawiki`;
 * a one-byte change goes to the error topic. An eventbus queue with `signature: mediawiki`
 * produces events the same executor runs, and an executor restricted to `switchyard-v1` refuses
 * them.
 */
import { readFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import { type Admin, type Consumer, Kafka, logLevel, type Producer } from 'kafkajs';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { EventBusJobQueue } from '../../src/backends/eventbus/index.js';
import type { Job, JsonObject } from '../../src/core/job.js';
import { buildSerializedJobEvent } from '../../src/events/job-event.js';
import { type ErrorEvent, type ExecutorHandle, startExecutorFromSection } from '../../src/executor/index.js';
import { defineHandlers } from '../../src/runner/handlers.js';
import { describeIfService, services } from '../helpers/env.js';
import { readMessages } from '../helpers/kafka.js';

process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1';

interface Vector {
  readonly name: string;
  readonly input: {
    readonly type: string;
    readonly id: string;
    readonly domain: string;
    readonly serverName: string;
    readonly stream: string;
    readonly params: JsonObject;
    readonly requestId: string | null;
    readonly removeDuplicates: boolean;
  };
  readonly sha1: string | null;
  readonly wire: string;
}

const fixture = JSON.parse(
  readFileSync(new URL('../fixtures/mediawiki-job-events.json', import.meta.url), 'utf8'),
) as { secret: string; vectors: Vector[] };
const SECRET = fixture.secret;
const REDIS = process.env.SWITCHYARD_REDIS_URL || 'redis://127.0.0.1:6379';
const run = `${process.pid}${Date.now().toString(36)}`;
let seq = 0;
const uniq = (p: string) => `${p}_${run}_${++seq}`;

/** EventGate's part: parse MediaWiki's POST and set meta.dt. */
function intake(wire: string): string {
  const event = JSON.parse(wire) as { meta: Record<string, unknown> };
  event.meta.dt = new Date().toISOString();
  return JSON.stringify(event);
}

async function waitFor(cond: () => boolean, ms: number, what: string): Promise<void> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (cond()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describeIfService(services.kafka, 'mediawiki signatures on a real Kafka broker', (brokers) => {
  const kafka = new Kafka({
    clientId: `swytest-mwsig-${run}`,
    brokers: brokers.split(','),
    logLevel: logLevel.NOTHING,
    retry: { retries: 10 },
  });
  let admin: Admin;
  let producer: Producer;
  const consumers: Consumer[] = [];
  const executors: ExecutorHandle[] = [];

  beforeAll(async () => {
    admin = kafka.admin();
    await admin.connect();
    producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
  });

  afterAll(async () => {
    for (const e of executors) await e.stop({ graceMs: 1000 }).catch(() => undefined);
    for (const c of consumers) await c.disconnect().catch(() => undefined);
    await producer.disconnect();
    const ours = (await admin.listTopics()).filter((t) => t.includes(run));
    if (ours.length > 0) await admin.deleteTopics({ topics: ours }).catch(() => undefined);
    await admin.disconnect();
  });

  async function readTopic<T>(topic: string, count: number): Promise<T[]> {
    return (await readMessages(kafka, consumers, topic, count)).map(
      (m) => JSON.parse(m.value || 'null') as T,
    );
  }

  function section(topic: string, signature: string | undefined, redis = false) {
    const service = uniq('svc');
    return {
      brokers,
      secret: SECRET,
      ...(signature === undefined ? {} : { signature }),
      ...(redis ? { redis: REDIS, redisPrefix: `swytest:${service}:` } : {}),
      service,
      commitInterval: 0.1,
      shutdownGrace: 5,
      retries: 3,
      rules: [
        // The vectors' root jobs are from 2026; nothing here is old enough to drop.
        { name: 'r', topics: [topic], concurrency: 10, retryLimit: 0, rootClaimTTL: 10 * 365 * 86400 },
      ],
    };
  }

  test('PHP-signed vectors run; a one-byte change goes to the error topic; switchyard-v1 refuses them', async () => {
    const topic = uniq('mediawiki.job.vectors');
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
    const sec = section(topic, 'mediawiki');
    const seen: Array<Job<string>> = [];
    const types = [...new Set(fixture.vectors.map((v) => v.input.type))];
    const handlers = defineHandlers(
      Object.fromEntries(types.map((t) => [t, { run: (j: Job<string>) => void seen.push(j) }])),
    );
    executors.push(await startExecutorFromSection(sec, { handlers }));
    const first = fixture.vectors[0] as Vector;
    const altered = intake(first.wire).replace('"database":"enwiki"', '"database":"enwikj"');
    await producer.send({
      topic,
      acks: -1,
      messages: [...fixture.vectors.map((v) => ({ value: intake(v.wire) })), { value: altered }],
    });
    await waitFor(() => seen.length >= fixture.vectors.length, 20_000, 'every vector to run');
    const errors = await readTopic<ErrorEvent>(`${sec.service}.error`, 1);
    expect(errors.map((e) => e.reason)).toEqual(['bad-signature']);
    expect(seen.map((j) => j.id).sort()).toEqual(fixture.vectors.map((v) => v.input.id).sort());

    // The same events under an executor that accepts only switchyard-v1: all refused.
    const v1Topic = uniq('mediawiki.job.v1only');
    await admin.createTopics({ topics: [{ topic: v1Topic, numPartitions: 1 }], waitForLeaders: true });
    const v1 = section(v1Topic, 'switchyard-v1');
    const v1Seen: Array<Job<string>> = [];
    executors.push(
      await startExecutorFromSection(v1, {
        handlers: defineHandlers(
          Object.fromEntries(types.map((t) => [t, { run: (j: Job<string>) => void v1Seen.push(j) }])),
        ),
      }),
    );
    await producer.send({ topic: v1Topic, acks: -1, messages: [{ value: intake(first.wire) }] });
    const refused = await readTopic<ErrorEvent>(`${v1.service}.error`, 1);
    expect(refused.map((e) => e.reason)).toEqual(['bad-signature']);
    expect(v1Seen).toEqual([]);
  });

  test('an eventbus queue with signature: mediawiki produces what a mediawiki executor runs', async () => {
    const type = uniq('mwpush');
    const topic = `mediawiki.job.${type}`;
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
    const seen: Array<Job<string>> = [];
    executors.push(
      await startExecutorFromSection(section(topic, 'mediawiki'), {
        handlers: defineHandlers({ [type]: { run: (j: Job<string>) => void seen.push(j) } }),
      }),
    );
    const q = new EventBusJobQueue({
      type,
      domain: 'enwiki',
      secret: SECRET,
      brokers,
      signature: 'mediawiki',
      serverName: { enwiki: 'en.wikipedia.org' },
    });
    try {
      await q.push([
        { type, params: { title: 'Ünïcødé/页面', n: 1.5 }, removeDuplicates: true, requestId: 'req-x' },
        { type, params: {}, rootJob: { signature: 'c'.repeat(40), timestamp: Date.now() - 5000 } },
      ]);
      const onTopic = await readTopic<Record<string, unknown> & { meta: Record<string, unknown> }>(topic, 2);
      expect(onTopic.map((e) => (e.mediawiki_signature as string).length)).toEqual([40, 40]);
      expect(onTopic.map((e) => e.meta.domain)).toEqual(['en.wikipedia.org', 'en.wikipedia.org']);
      expect(onTopic[0]?.sha1).toMatch(/^[0-9a-f]{40}$/);
      await waitFor(() => seen.length >= 2, 20_000, 'both jobs to run');
      const byTitle = seen.find((j) => j.params.title === 'Ünïcødé/页面');
      expect(byTitle).toMatchObject({ domain: 'enwiki', requestId: 'req-x', removeDuplicates: true });
      expect(byTitle?.params).toEqual({ title: 'Ünïcødé/页面', n: 1.5, requestId: 'req-x' });
      expect(seen.find((j) => j.rootJob !== null)?.rootJob?.signature).toBe('c'.repeat(40));
    } finally {
      await q.close();
    }
  });

  test('sha1 dedup meets: a switchyard event for the job MediaWiki already ran is skipped (either scheme accepted)', async () => {
    const vector = fixture.vectors[0] as Vector;
    const topic = uniq('mediawiki.job.dedup');
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
    const sec = section(topic, undefined, true);
    const seen: Array<Job<string>> = [];
    const handle = await startExecutorFromSection(sec, {
      handlers: defineHandlers({ [vector.input.type]: { run: (j: Job<string>) => void seen.push(j) } }),
    });
    executors.push(handle);
    const redis = new Redis(REDIS, { maxRetriesPerRequest: 1 });
    try {
      // switchyard builds the same job a minute ago (mediawiki mode): same sha1 as MediaWiki's.
      const ours = buildSerializedJobEvent(
        {
          type: vector.input.type,
          domain: vector.input.domain,
          params: vector.input.params,
          releaseTimestamp: null,
          removeDuplicates: vector.input.removeDuplicates,
          sha1: null,
          rootJob: null,
          requestId: vector.input.requestId,
          priority: 0,
          groupKey: null,
        },
        {
          signature: 'mediawiki',
          secret: SECRET,
          stream: vector.input.stream,
          now: Date.now() - 60_000,
          serverName: vector.input.serverName,
        },
      );
      expect(ours.event.sha1).toBe(vector.sha1);
      await producer.send({ topic, acks: -1, messages: [{ value: intake(vector.wire) }] });
      await waitFor(() => seen.length >= 1, 20_000, "MediaWiki's event to run");
      await producer.send({ topic, acks: -1, messages: [{ value: ours.json }] });
      await waitFor(() => handle.metrics.total('dedup', { reason: 'sha1' }) >= 1, 20_000, 'the sha1 skip');
      expect(seen.map((j) => j.id)).toEqual([vector.input.id]);
    } finally {
      const keys = await redis.keys(`swytest:${sec.service}:*`);
      if (keys.length > 0) await redis.del(...keys);
      redis.disconnect();
    }
  });
});
