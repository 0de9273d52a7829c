/**
 * ChangeProp compatibility of the executor, on a real Kafka broker (and Redis for dedup): the
 * retry and error event shapes ChangeProp writes, ChangeProp's own retry messages consumed,
 * ChangeProp's dedup rules, its HTTP dispatch (headers, no redirects, X-Readonly, 423), and the
 * config knobs a ChangeProp job-queue config uses. Every test has its own topics, groups and
 * Redis prefix.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import { type Admin, type Consumer, Kafka, logLevel, type Producer } from 'kafkajs';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { buildJobEvent, type JobEvent } from '../../src/backends/eventbus/index.js';
import type { Job, NormalizedJob } from '../../src/core/job.js';
import {
  type ErrorEvent,
  type ExecutorHandle,
  type ExecutorOptions,
  type RetryEvent,
  startExecutorFromSection,
} from '../../src/executor/index.js';
import { defineHandlers } from '../../src/runner/handlers.js';
import { describeIfService, services } from '../helpers/env.js';
import { readMessages } from '../helpers/kafka.js';

process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1';

const SECRET = 'changeprop-secret-0123456789abcdef';
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

describeIfService(services.kafka, 'executor: ChangeProp compatibility on a real broker', (brokers) => {
  const kafka = new Kafka({
    clientId: `swytest-cprop-${run}`,
    brokers: brokers.split(','),
    logLevel: logLevel.NOTHING,
    retry: { retries: 10 },
  });
  let admin: Admin;
  let producer: Producer;
  let redis: Redis;
  const consumers: Consumer[] = [];
  const executors: ExecutorHandle[] = [];
  const servers: Server[] = [];

  async function createTopic(topic: string, numPartitions = 1): Promise<string> {
    await admin.createTopics({ topics: [{ topic, numPartitions }], waitForLeaders: true });
    return topic;
  }

  async function produce(topic: string, values: Array<string | object>, partition?: number): Promise<void> {
    await producer.send({
      topic,
      acks: -1,
      messages: values.map((v) => ({
        value: typeof v === 'string' ? v : JSON.stringify(v),
        ...(partition === undefined ? {} : { partition }),
      })),
    });
  }

  async function messageCount(topic: string): Promise<number> {
    const offsets = await admin.fetchTopicOffsets(topic);
    return offsets.reduce((n, o) => n + Number(o.high) - Number(o.low), 0);
  }

  /** Reads `count` messages from the beginning of `topic`, with their partitions. */
  async function readTopic<T>(topic: string, count: number): Promise<Array<T & { __partition: number }>> {
    return (await readMessages(kafka, consumers, topic, count)).map((m) => ({
      ...(JSON.parse(m.value || 'null') as T),
      __partition: m.partition,
    }));
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

  async function start(sec: Record<string, unknown>, options: ExecutorOptions) {
    const handle = await startExecutorFromSection(sec, options);
    executors.push(handle);
    return handle;
  }

  /** An HTTP job runner answering by `params.k`; records each request. */
  async function runner(
    answer: (k: string, n: number) => { status: number; headers?: Record<string, string> },
  ): Promise<{
    url: string;
    requests: Array<{ path: string; headers: IncomingHttpHeaders; event: JobEvent }>;
  }> {
    const requests: Array<{ path: string; headers: IncomingHttpHeaders; event: JobEvent }> = [];
    const counts = new Map<string, number>();
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        const event = (text === '' ? null : JSON.parse(text)) as JobEvent;
        requests.push({ path: req.url ?? '', headers: req.headers, event });
        const k = String(event?.params?.k ?? '');
        const n = (counts.get(k) ?? 0) + 1;
        counts.set(k, n);
        const a = answer(k, n);
        res.writeHead(a.status, { 'content-type': 'application/json', ...a.headers });
        res.end(JSON.stringify({ k, n }));
      });
    });
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return {
      url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/rpc/RunSingleJob.php`,
      requests,
    };
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
    for (const s of servers) await new Promise((r) => s.close(r));
    await producer.disconnect();
    const ours = (await admin.listTopics()).filter((t) => t.includes(run));
    if (ours.length > 0) await admin.deleteTopics({ topics: ours }).catch(() => undefined);
    await admin.disconnect();
    const keys = await redis.keys(`*${run}*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  });

  test('retry events are /change-prop/retry/1.0.0 (triggered_by, emitter svc#rule, retries_left as ChangeProp counts) and error events /error/0.0.3 (message, raw_event)', async () => {
    const type = uniq('shape');
    const stream = `mediawiki.job.${type}`;
    const topic = await createTopic(stream);
    const sec = section([topic], {}, { retryLimit: 2, retryDelay: 0.1, retryFactor: 1 });
    await start(sec, {
      handlers: defineHandlers({
        [type]: {
          run: (j: Job<string>) => {
            throw new Error(`boom ${j.attempts}`);
          },
        },
      }),
    });
    const event = buildJobEvent(job(type, 'enwiki', { x: 1 }, { requestId: 'req-42' }), {
      stream,
      secret: SECRET,
      now: Date.now(),
    });
    await produce(topic, [event]);
    const retryTopic = `${sec.service}.retry.${stream}`;
    const [error] = await readTopic<ErrorEvent>(`${sec.service}.error`, 1);
    const retries = await readTopic<RetryEvent>(retryTopic, 2);
    // ChangeProp: the first retry carries retry_limit, each failure one less; 0 would not run.
    expect(retries.map((r) => r.retries_left)).toEqual([2, 1]);
    const first = `req:req-42,${stream}:undefined`;
    for (const [i, r] of retries.entries()) {
      expect(r.$schema).toBe('/change-prop/retry/1.0.0');
      expect(r.emitter_id).toBe(`${sec.service}#r`);
      expect(r.meta).toMatchObject({ stream: retryTopic, domain: 'enwiki', request_id: 'req-42' });
      expect(typeof r.meta.id).toBe('string');
      expect(Date.parse(r.meta.dt)).not.toBeNaN();
      expect(r.original_event).toEqual(event);
      expect(r.reason).toBe(`Error: boom ${i + 1}`);
    }
    // triggered_by chains: the original event, then the retry event that ran.
    expect(retries[0]?.triggered_by).toBe(first);
    expect(retries[1]?.triggered_by).toBe(
      `${first},${retryTopic}:https://mediawiki.org/wiki/ChangePropagation/error`,
    );
    expect(error).toMatchObject({
      $schema: '/error/0.0.3',
      emitter_id: `${sec.service}#r`,
      message: 'Error: boom 3',
      meta: { stream: `${sec.service}.error`, domain: 'enwiki', request_id: 'req-42' },
    });
    expect(typeof error?.meta.uri).toBe('string');
    expect(JSON.parse(error?.raw_event ?? 'null')).toEqual(event);
  });

  test('a retry message written by ChangeProp is run by the matching rule (not by another rule), with its retries_left', async () => {
    const type = uniq('cpretry');
    const stream = `mediawiki.job.${type}`;
    const topic = await createTopic(stream);
    const sec = section([topic], {}, { retryLimit: 2, retryDelay: 0.1, retryFactor: 2 });
    const runs: Array<{ tag: unknown; attempts: number }> = [];
    await start(sec, {
      handlers: defineHandlers({
        [type]: {
          run: (j: Job<string>) => {
            runs.push({ tag: j.params.tag, attempts: j.attempts });
            if (j.params.tag === 'fails') throw new Error('still failing');
          },
        },
      }),
    });
    const retryTopic = `${sec.service}.retry.${stream}`;
    const original = (tag: string) =>
      buildJobEvent(job(type, 'dewiki', { tag }, { requestId: 'r-1' }), {
        stream,
        secret: SECRET,
        now: Date.now(),
      });
    // As ChangeProp's base_executor builds it (meta.id / dt added by its producer): no attempt, no retry_at.
    const cp = (tag: string, emitter: string, retriesLeft: number) => ({
      $schema: '/change-prop/retry/1.0.0',
      meta: {
        stream: retryTopic,
        uri: `https://dewiki.example/wiki/${tag}`,
        domain: 'dewiki',
        id: crypto.randomUUID(),
        dt: new Date().toISOString(),
        request_id: 'r-1',
      },
      triggered_by: `req:r-1,${stream}:https://dewiki.example/wiki/${tag}`,
      emitter_id: emitter,
      retries_left: retriesLeft,
      original_event: original(tag),
      error_status: 503,
      reason: 'Service Unavailable',
    });
    await produce(retryTopic, [
      cp('ours', `${sec.service}#r`, 2),
      cp('other-rule', `${sec.service}#other`, 2),
      cp('fails', `${sec.service}#r`, 1),
    ]);
    await waitFor(() => runs.length >= 2, 20_000, 'two retries run');
    const errors = await readTopic<ErrorEvent>(`${sec.service}.error`, 1);
    await new Promise((r) => setTimeout(r, 300));
    // retries_left 2 of retry_limit 2 = the first retry (attempt 2); 1 = the second (attempt 3).
    expect(runs.sort((a, b) => String(a.tag).localeCompare(String(b.tag)))).toEqual([
      { tag: 'fails', attempts: 3 },
      { tag: 'ours', attempts: 2 },
    ]);
    // The last allowed run failed: the error topic, as ChangeProp (retries_left would be 0).
    expect(errors[0]).toMatchObject({ reason: 'retries-exhausted', message: 'Error: still failing' });
    expect(await messageCount(retryTopic)).toBe(3);
  });

  test('retryOn / ignore status lists decide retry, error and success', async () => {
    const type = uniq('lists');
    const stream = `mediawiki.job.${type}`;
    const topic = await createTopic(stream);
    const target = await runner((k) => ({ status: Number(k) }));
    const sec = section(
      [topic],
      {},
      { endpoint: target.url, retryOn: ['50x', 429], ignore: [412, 409], retryLimit: 1 },
    );
    const handle = await start(sec, {});
    const ev = (k: string) =>
      buildJobEvent(job(type, 'w', { k }), { stream, secret: SECRET, now: Date.now() });
    await produce(topic, [ev('409'), ev('429'), ev('503'), ev('512')]);
    const errors = await readTopic<ErrorEvent>(`${sec.service}.error`, 3);
    expect(
      errors.map((e) => `${String((e.original_event as JobEvent).params.k)} ${e.reason}`).sort(),
    ).toEqual([
      '429 retries-exhausted',
      '503 retries-exhausted',
      '512 failed', // not 50x: not retried
    ]);
    expect(handle.metrics.total('ignored', { type })).toBe(1);
    expect(handle.metrics.total('retries', { type })).toBe(2);
  });

  test('sha1 dedup keys include the domain: the same sha1 in another wiki still runs; an older twin in the same wiki is skipped', async () => {
    const type = uniq('sha1dom');
    const stream = `mediawiki.job.${type}`;
    const topic = await createTopic(stream);
    const sec = section([topic], {}, { concurrency: 1 });
    const seen: string[] = [];
    const handle = await start(sec, {
      handlers: defineHandlers({
        [type]: { run: (j: Job<string>) => void seen.push(`${j.domain} ${j.params.age}`) },
      }),
    });
    // MediaWiki's sha1 hashes type and params, not the wiki: the same value in two domains.
    const sha1 = 'a'.repeat(40);
    const now = Date.now();
    const ev = (domain: string, age: string, at: number) =>
      buildJobEvent(job(type, domain, { k: 1, age }, { removeDuplicates: true, sha1 }), {
        stream,
        secret: SECRET,
        now: at,
      });
    await produce(topic, [
      ev('enwiki', 'new', now),
      ev('dewiki', 'old', now - 5000),
      ev('enwiki', 'old', now - 5000),
    ]);
    await waitFor(() => handle.metrics.total('consumed', { type }) >= 3, 20_000, 'three events consumed');
    await waitFor(() => handle.metrics.total('dedup', { type }) >= 1, 5000, 'one dedup');
    await new Promise((r) => setTimeout(r, 200));
    expect(seen).toEqual(['enwiki new', 'dewiki old']);
    expect(handle.metrics.total('dedup', { type, reason: 'sha1' })).toBe(1);
    expect(
      await redis.exists(`${sec.redisPrefix}sha1:enwiki:${sha1}`, `${sec.redisPrefix}sha1:dewiki:${sha1}`),
    ).toBe(2);
  });

  test('HTTP dispatch sends x-request-id, x-triggered-by and the rule headers; a redirect is not followed and a 423 goes to the error topic', async () => {
    const type = uniq('http');
    const stream = `mediawiki.job.${type}`;
    const topic = await createTopic(stream);
    const target = await runner((k) =>
      k === 'redirect'
        ? { status: 302, headers: { location: 'http://127.0.0.1:1/elsewhere' } }
        : { status: Number(k) },
    );
    const sec = section(
      [topic],
      {},
      { endpoint: target.url, headers: { 'X-Wiki': '{{message.meta.domain}}/{{message.params.k}}' } },
    );
    const handle = await start(sec, {});
    const ev = (k: string) =>
      buildJobEvent(job(type, 'frwiki', { k }, { requestId: `req-${k}` }), {
        stream,
        secret: SECRET,
        now: Date.now(),
      });
    await produce(topic, [ev('200'), ev('redirect'), ev('423')]);
    const errors = await readTopic<ErrorEvent>(`${sec.service}.error`, 2);
    await waitFor(() => handle.metrics.total('executed', { type }) === 1, 10_000, 'the 200 run');
    // One request each: the redirect was not followed, neither error was retried.
    expect(target.requests.map((r) => r.event.params.k).sort()).toEqual(['200', '423', 'redirect']);
    for (const r of target.requests) {
      const k = String(r.event.params.k);
      expect(r.path).toBe('/rpc/RunSingleJob.php');
      expect(r.headers['x-request-id']).toBe(`req-${k}`);
      expect(r.headers['x-triggered-by']).toBe(`req:req-${k},${stream}:undefined`);
      expect(r.headers['x-wiki']).toBe(`frwiki/${k}`);
      expect(r.headers['content-type']).toBe('application/json');
    }
    const byK = new Map(errors.map((e) => [String((e.original_event as JobEvent).params.k), e]));
    expect(byK.get('redirect')?.message).toMatch(
      /^HTTP 302: redirects are not followed \(Location: http:\/\/127\.0\.0\.1:1\/elsewhere\)/,
    );
    expect(byK.get('redirect')?.details?.status).toBe(302);
    expect(byK.get('423')?.reason).toBe('failed');
    expect(byK.get('423')?.details?.status).toBe(423);
    expect(handle.metrics.total('retries', { type })).toBe(0);
  });

  test('a 500 with X-Readonly is retried 30–60 s later without using up a retry; a plain 500 uses one', async () => {
    const type = uniq('readonly');
    const stream = `mediawiki.job.${type}`;
    const topic = await createTopic(stream);
    // 1st run: read-only (uncounted); 2nd: a counted failure; 3rd: success. retryLimit 1 allows it.
    const target = await runner((_k, n) =>
      n === 1 ? { status: 500, headers: { 'X-Readonly': 'true' } } : { status: n === 2 ? 500 : 200 },
    );
    let offset = 0;
    const sec = section(
      [topic],
      {},
      { endpoint: target.url, retryLimit: 1, retryDelay: 0.1, retryFactor: 1, reenqueueDelay: 0.2 },
    );
    const handle = await start(sec, { now: () => Date.now() + offset });
    const event = buildJobEvent(job(type, 'itwiki', { k: 'ro' }), {
      stream,
      secret: SECRET,
      now: Date.now(),
    });
    await produce(topic, [event]);
    const retryTopic = `${sec.service}.retry.${stream}`;
    const [first] = await readTopic<RetryEvent>(retryTopic, 1);
    const delay = Date.parse(first?.retry_at ?? '') - Date.parse(first?.meta.dt ?? '');
    expect(delay).toBeGreaterThanOrEqual(30_000);
    expect(delay).toBeLessThanOrEqual(60_200);
    expect(first?.error_status).toBe(500);
    expect(first?.retries_left).toBe(2); // this retry and one more: the read-only run did not count
    expect(first?.attempt).toBe(2); // runs are numbered; only the retry budget ignores read-only ones
    // Not before its time: the retry is re-enqueued (reenqueueDelay 0.2 s), never run early.
    await new Promise((r) => setTimeout(r, 800));
    expect(target.requests).toHaveLength(1);
    expect(handle.metrics.total('reenqueued', { type })).toBeGreaterThan(0);
    offset = 61_000;
    await waitFor(() => handle.metrics.total('executed', { type }) === 1, 20_000, 'the third run succeeds');
    expect(target.requests).toHaveLength(3);
    expect(target.requests.map((r) => r.headers['x-switchyard-attempt'])).toEqual(['1', '2', '3']);
    expect(handle.metrics.total('retries', { type })).toBe(2);
    expect(await messageCount(`${sec.service}.error`).catch(() => 0)).toBe(0);
  });

  test('a new consumer group starts at the latest message: the retained backlog is not replayed; later messages and a restart are consumed', async () => {
    const type = uniq('latest');
    const stream = `mediawiki.job.${type}`;
    const topic = await createTopic(stream, 2);
    const ev = (n: number) =>
      buildJobEvent(job(type, 'w', { n }), { stream, secret: SECRET, now: Date.now() });
    await produce(topic, [ev(1), ev(2)], 0);
    await produce(topic, [ev(3)], 1);
    const seen: number[] = [];
    const handlers = defineHandlers({
      [type]: { run: (j: Job<string>) => void seen.push(j.params.n as number) },
    });
    const sec = section([topic]);
    const handle = await start(sec, { handlers });
    await produce(topic, [ev(4)], 0);
    await produce(topic, [ev(5)], 1);
    await waitFor(() => seen.length >= 2, 20_000, 'two new messages');
    await new Promise((r) => setTimeout(r, 500));
    expect(seen.sort()).toEqual([4, 5]);
    // The group now exists: a restart resumes at its committed offsets, never skipping.
    await waitFor(
      async () => {
        const o = await admin.fetchOffsets({ groupId: `${sec.service}-r`, topics: [topic] });
        return o[0]?.partitions.every((p) => p.offset !== '-1') ?? false;
      },
      10_000,
      'offsets committed',
    );
    await handle.stop({ graceMs: 1000 });
    await produce(topic, [ev(6)], 1);
    await start(sec, { handlers });
    await waitFor(() => seen.length >= 3, 20_000, 'message produced while stopped');
    expect(seen.sort()).toEqual([4, 5, 6]);
  });
});
