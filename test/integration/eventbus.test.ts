// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these tests use literal ${ENV} references in config strings.
/**
 * The eventbus backend against a real Kafka broker (issue 7 part 2): produced events, consumed
 * back from their topic, validate against the real mediawiki/job 1.0.0 schema (compiled here with
 * ajv from the shipped copy) and carry the right sha1 / root_event / delay_until / signature; a
 * forged or altered event fails verifyJobEvent; invalid jobs produce nothing; an unreachable
 * broker fails fast with a clear error; a missing secret is a config error.
 *
 * Topics are created with the admin API: CI runs the broker with auto-create off.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import { type Admin, type Consumer, Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { parse as parseYaml } from 'yaml';
import {
  EventBusJobQueue,
  JOB_EVENT_SCHEMA_FILE,
  type JobEvent,
  validateJobEvent,
  verifyJobEvent,
} from '../../src/backends/eventbus/index.js';
import { createRegistry, resolveConfig } from '../../src/container.js';
import { ErrorCode, isSwitchyardError } from '../../src/core/errors.js';
import { JobQueueFarm } from '../../src/core/farm.js';
import { dedupKey, newRootJob } from '../../src/core/job.js';
import { describeIfService, services } from '../helpers/env.js';
import { freePort, within } from '../helpers/net.js';

process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1';

const SECRET = 'integration-secret-0123456789abcdef';
const run = `${process.pid}${Date.now().toString(36)}`;
const SHARED_SCHEMA = fileURLToPath(
  new URL('../../../shared/schemas/mediawiki-job-1.0.0.yaml', import.meta.url),
);

/** An independent validator: ajv compiled here from the shipped YAML (draft-07). */
function schemaValidator() {
  const schema = parseYaml(readFileSync(JOB_EVENT_SCHEMA_FILE, 'utf8')) as Record<string, unknown>;
  delete schema.$schema; // https:// draft-07 URI, unknown to ajv under that id; draft-07 is its default
  const ajv = new Ajv({ allErrors: true, strict: true });
  const rfc3339 =
    /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;
  ajv.addFormat('date-time', { type: 'string', validate: (s: string) => rfc3339.test(s) });
  ajv.addFormat('uri-reference', { type: 'string', validate: () => true });
  return ajv.compile(schema);
}

describe('eventbus schema copy', () => {
  test('the shipped schema is byte-identical to ../shared/schemas (when that checkout exists)', () => {
    const shipped = readFileSync(JOB_EVENT_SCHEMA_FILE);
    expect(shipped.toString('utf8')).toContain('$id: /mediawiki/job/1.0.0');
    expect(shipped.toString('utf8')).not.toContain('$ref');
    if (existsSync(SHARED_SCHEMA)) expect(shipped.equals(readFileSync(SHARED_SCHEMA))).toBe(true);
  });

  test('a missing secret is SWITCHYARD_CONFIG_INVALID at config load, and ${ENV} secrets never show', async () => {
    const registry = createRegistry();
    const missing = resolveConfig(
      { jobTypeConf: { default: { class: 'eventbus', brokers: '127.0.0.1:9' } } },
      { registry, env: {} },
    );
    await expect(missing).rejects.toMatchObject({ code: ErrorCode.CONFIG_INVALID });
    await expect(missing).rejects.toThrow(/jobTypeConf\.default\.secret/);
    const conn = resolveConfig(
      {
        connections: { bus: { class: 'eventbus', brokers: ['127.0.0.1:9'] } },
        jobTypeConf: { default: { class: 'eventbus', connection: 'bus' } },
      },
      { registry, env: {} },
    );
    await expect(conn).rejects.toThrow(/connections\.bus\.secret/);
    const unset = resolveConfig(
      { jobTypeConf: { default: { class: 'eventbus', brokers: '127.0.0.1:9', secret: '${JOB_SECRET}' } } },
      { registry, env: {} },
    );
    await expect(unset).rejects.toThrow(/JOB_SECRET/);
    const config = await resolveConfig(
      { jobTypeConf: { default: { class: 'eventbus', brokers: '127.0.0.1:9', secret: '${JOB_SECRET}' } } },
      { registry, env: { JOB_SECRET: SECRET } },
    );
    expect(config.jobTypeConf.default?.settings.secret).toBe(SECRET);
    expect(() => new EventBusJobQueue({ type: 'x', brokers: '127.0.0.1:9' })).toThrow(/secret/);
    const bad = resolveConfig(
      { jobTypeConf: { default: { class: 'eventbus', brokers: '127.0.0.1:9', secret: 42 } } },
      { registry, env: {} },
    );
    await expect(bad).rejects.not.toThrow(/42/);
  });

  test('verifyJobEvent: a signed event verifies; forged, altered or unsigned ones do not', async () => {
    const q = new EventBusJobQueue({
      type: 'sigTest',
      domain: 'wiki1',
      secret: SECRET,
      brokers: '127.0.0.1:9',
    });
    const [event] = q.buildEvents([
      {
        type: 'sigTest',
        domain: 'wiki1',
        params: { page: 1, list: [1, 'a'] },
        releaseTimestamp: null,
        removeDuplicates: true,
        sha1: dedupKey('wiki1', 'sigTest', { page: 1, list: [1, 'a'] }),
        rootJob: null,
        requestId: null,
        priority: 0,
        groupKey: null,
      },
    ]);
    await q.close();
    expect(event).toBeDefined();
    const e = event as JobEvent;
    expect(verifyJobEvent(e, SECRET)).toBe(true);
    expect(verifyJobEvent(JSON.parse(JSON.stringify(e)), SECRET)).toBe(true);
    expect(verifyJobEvent(e, 'another-secret')).toBe(false);
    expect(verifyJobEvent({ ...e, params: { page: 2, list: [1, 'a'] } }, SECRET)).toBe(false);
    expect(verifyJobEvent({ ...e, type: 'other' }, SECRET)).toBe(false);
    expect(verifyJobEvent({ ...e, database: 'wiki2' }, SECRET)).toBe(false);
    expect(verifyJobEvent({ ...e, meta: { ...e.meta, id: 'x' } }, SECRET)).toBe(false);
    expect(verifyJobEvent({ ...e, sha1: undefined }, SECRET)).toBe(false);
    expect(verifyJobEvent({ ...e, delay_until: '2030-01-01T00:00:00.000Z' }, SECRET)).toBe(false);
    expect(verifyJobEvent({ ...e, mediawiki_signature: 'f'.repeat(64) }, SECRET)).toBe(false);
    expect(verifyJobEvent({ ...e, mediawiki_signature: undefined }, SECRET)).toBe(false);
    expect(verifyJobEvent({ ...e, mediawiki_signature: 'not hex' }, SECRET)).toBe(false);
    expect(verifyJobEvent(null, SECRET)).toBe(false);
    expect(verifyJobEvent('event', SECRET)).toBe(false);
    // Intake-side edits outside the signed subset keep it valid (promises §4).
    expect(
      verifyJobEvent({ ...e, meta: { ...e.meta, dt: '2000-01-01T00:00:00Z', stream: 'moved' } }, SECRET),
    ).toBe(true);
    expect(validateJobEvent(e)).toEqual([]);
    expect(validateJobEvent({ ...e, database: '' }).length).toBeGreaterThan(0);
    expect(validateJobEvent({ ...e, delay_until: 'tomorrow' }).length).toBeGreaterThan(0);
  });
});

describeIfService(services.kafka, 'eventbus backend on a real Kafka broker', (brokers) => {
  const kafka = new Kafka({
    clientId: `swytest-eventbus-${run}`,
    brokers: brokers.split(','),
    logLevel: logLevel.NOTHING,
    retry: { retries: 10 },
  });
  let admin: Admin;
  const topics: string[] = [];
  const consumers: Consumer[] = [];
  const validate = schemaValidator();

  async function createTopic(topic: string): Promise<void> {
    await admin.createTopics({ topics: [{ topic, numPartitions: 2 }], waitForLeaders: true });
    topics.push(topic);
  }

  async function messageCount(topic: string): Promise<number> {
    const offsets = await admin.fetchTopicOffsets(topic);
    return offsets.reduce((n, o) => n + Number(o.high) - Number(o.low), 0);
  }

  /** Reads `count` events back from the beginning of `topic`. */
  async function consume(topic: string, count: number): Promise<Array<{ event: unknown; raw: string }>> {
    const consumer = kafka.consumer({ groupId: `swytest-eventbus-${run}-${topic}`, maxWaitTimeInMs: 100 });
    consumers.push(consumer);
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const out: Array<{ event: unknown; raw: string }> = [];
    await within(
      new Promise<void>((resolve, reject) => {
        consumer
          .run({
            eachMessage: async ({ message }) => {
              const raw = message.value?.toString('utf8') ?? '';
              out.push({ event: JSON.parse(raw), raw });
              if (out.length >= count) resolve();
            },
          })
          .catch(reject);
      }),
      30_000,
      `consumed ${out.length} of ${count} events from ${topic}`,
    );
    return out;
  }

  beforeAll(async () => {
    admin = kafka.admin();
    await admin.connect();
  });

  afterAll(async () => {
    for (const c of consumers) await c.disconnect().catch(() => undefined);
    if (topics.length > 0) await admin.deleteTopics({ topics }).catch(() => undefined);
    await admin.disconnect();
  });

  test('events consumed back validate against the real schema and carry sha1, root_event, delay_until and a valid signature', async () => {
    const type = `evb_${run}`;
    const topic = `eqiad.test.job.${type}`;
    await createTopic(topic);
    const registry = createRegistry();
    const config = await resolveConfig(
      {
        connections: {
          bus: {
            class: 'eventbus',
            brokers: brokers,
            secret: '${EVB_SECRET}',
            dcPrefix: 'eqiad',
            streamPrefix: 'test.job.',
            retries: 2,
          },
        },
        jobTypeConf: { default: { class: 'eventbus', connection: 'bus' } },
      },
      { registry, env: { EVB_SECRET: SECRET } },
    );
    const farm = new JobQueueFarm(config);
    try {
      const q = farm.group('wiki1').get(type);
      expect(q).toBeInstanceOf(EventBusJobQueue);
      expect((q as EventBusJobQueue).topic).toBe(topic);
      const root = newRootJob(`refresh:${run}`, Date.UTC(2026, 0, 2, 3, 4, 5, 600));
      const release = Date.UTC(2031, 5, 6, 7, 8, 9, 10);
      const params = { page: 'Main_Page', n: 1, nested: { a: [1, null, 'ü'] } };
      const result = await q.push([
        { type, params },
        { type, params: { ...params, n: 2 }, removeDuplicates: true, requestId: 'req-42' },
        { type, params: { ...params, n: 3 }, rootJob: { ...root, isSelf: true } },
        { type, params: { ...params, n: 4 }, releaseTimestamp: release },
        {
          type,
          params: { ...params, n: 5 },
          releaseTimestamp: new Date(release),
          removeDuplicates: true,
          rootJob: root,
        },
      ]);
      expect(result).toEqual({ inserted: 5, duplicates: 0 });
      const got = await consume(topic, 5);
      const byN = new Map<number, JobEvent>();
      for (const { event, raw } of got) {
        expect(validate(event), JSON.stringify(validate.errors)).toBe(true);
        expect(raw).not.toContain(SECRET);
        const e = event as JobEvent;
        byN.set(e.params.n as number, e);
        expect(e.$schema).toBe('/mediawiki/job/1.0.0');
        expect(e.database).toBe('wiki1');
        expect(e.type).toBe(type);
        expect(e.meta.stream).toBe(`test.job.${type}`);
        expect(e.meta.domain).toBe('wiki1');
        expect(e.meta.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
        expect(Number.isNaN(Date.parse(e.meta.dt))).toBe(false);
        expect(verifyJobEvent(e, SECRET)).toBe(true);
        expect(verifyJobEvent({ ...e, params: { ...e.params, n: 99 } }, SECRET)).toBe(false);
        expect(verifyJobEvent(e, `${SECRET}x`)).toBe(false);
      }
      expect(new Set(got.map((g) => (g.event as JobEvent).meta.id)).size).toBe(5);
      const [e1, e2, e3, e4, e5] = [1, 2, 3, 4, 5].map((n) => byN.get(n) as JobEvent);
      for (const key of ['sha1', 'root_event', 'delay_until'] as const) expect(e1).not.toHaveProperty(key);
      expect(e1?.meta).not.toHaveProperty('request_id');
      expect(e2?.sha1).toBe(dedupKey('wiki1', type, { ...params, n: 2 }));
      expect(e2?.meta.request_id).toBe('req-42');
      expect(e2).not.toHaveProperty('root_event');
      expect(e3?.root_event).toEqual({ signature: root.signature, dt: '2026-01-02T03:04:05.600Z' });
      expect(e3).not.toHaveProperty('sha1');
      expect(e4?.delay_until).toBe('2031-06-06T07:08:09.010Z');
      expect(e4).not.toHaveProperty('root_event');
      expect(e5?.delay_until).toBe('2031-06-06T07:08:09.010Z');
      expect(e5?.sha1).toBe(dedupKey('wiki1', type, { ...params, n: 5 }));
      expect(e5?.root_event?.signature).toBe(root.signature);
    } finally {
      await farm.close();
    }
  }, 60_000);

  test('a push bigger than the broker takes in one request (5,000 events of 1 KB params) is split, and every event arrives exactly once', async () => {
    const type = `evbbig_${run}`;
    const topic = `mediawiki.job.${type}`;
    await createTopic(topic);
    const q = new EventBusJobQueue({ type, domain: 'wiki1', secret: SECRET, brokers, retries: 2 });
    const pad = 'é'.repeat(500); // 1,000 UTF-8 bytes
    const N = 5000;
    try {
      const jobs = Array.from({ length: N }, (_, i) => ({ type, params: { i, pad } }));
      expect(await q.push(jobs)).toEqual({ inserted: N, duplicates: 0 });
      expect(await messageCount(topic)).toBe(N);
      const got = await consume(topic, N);
      expect(got.length).toBe(N);
      const seen = new Set<number>();
      for (const { event } of got) {
        const e = event as JobEvent;
        expect(e.params.pad).toBe(pad);
        seen.add(e.params.i as number);
      }
      expect(seen.size).toBe(N);
      expect(new Set(got.map((g) => (g.event as JobEvent).meta.id)).size).toBe(N);
    } finally {
      await q.close();
    }
  }, 90_000);

  test('when one request of a split push fails, the error names exactly the jobs of that request', async () => {
    const type = `evbsplit_${run}`;
    const topic = `mediawiki.job.${type}`;
    // The topic takes record batches of at most 100,000 bytes.
    await admin.createTopics({
      topics: [{ topic, numPartitions: 2, configEntries: [{ name: 'max.message.bytes', value: '100000' }] }],
      waitForLeaders: true,
    });
    topics.push(topic);
    const q = new EventBusJobQueue({
      type,
      domain: 'wiki1',
      secret: SECRET,
      brokers,
      retries: 1,
      maxBatchBytes: 32_768,
    });
    try {
      const small = Array.from({ length: 300 }, (_, i) => ({ type, params: { i, pad: 'x'.repeat(1000) } }));
      const huge = { type, params: { i: -1, pad: 'y'.repeat(150_000) } };
      const err = await q.push([...small.slice(0, 150), huge, ...small.slice(150)]).then(
        () => null,
        (e: unknown) => e,
      );
      expect(isSwitchyardError(err, ErrorCode.BACKEND_ERROR)).toBe(true);
      expect((err as Error).message).toMatch(/: 1 of 301 jobs was not produced/);
      expect(await messageCount(topic)).toBe(300);
      const got = await consume(topic, 300);
      expect(new Set(got.map((g) => (g.event as JobEvent).params.i)).size).toBe(300);
      expect(got.some((g) => (g.event as JobEvent).params.i === -1)).toBe(false);
    } finally {
      await q.close();
    }
  }, 60_000);

  test('invalid jobs reject the whole batch with SWITCHYARD_INVALID_JOB and produce nothing', async () => {
    const type = `evbbad_${run}`;
    const topic = `mediawiki.job.${type}`;
    await createTopic(topic);
    const q = new EventBusJobQueue({ type, domain: 'wiki1', secret: SECRET, brokers, retries: 2 });
    try {
      const date = { type, params: { ok: 1, when: new Date(0) } } as unknown as {
        type: string;
        params: Record<string, never>;
      };
      await expect(q.push([{ type, params: { ok: 1 } }, date])).rejects.toMatchObject({
        code: ErrorCode.INVALID_JOB,
      });
      // Year 10000 has no RFC 3339 form: the event fails the real schema's date-time format.
      const far = Date.UTC(10_000, 0, 1);
      const err = await q
        .push([
          { type, params: { ok: 2 } },
          { type, params: { ok: 3 }, releaseTimestamp: far },
        ])
        .then(
          () => null,
          (e: unknown) => e,
        );
      expect(isSwitchyardError(err, ErrorCode.INVALID_JOB)).toBe(true);
      expect(String((err as Error).message)).toMatch(/jobs\[1\] event\.delay_until/);
      expect(await messageCount(topic)).toBe(0);
      // The queue still works afterwards.
      expect(await q.push({ type, params: { ok: 4 } })).toEqual({ inserted: 1, duplicates: 0 });
      expect(await messageCount(topic)).toBe(1);
    } finally {
      await q.close();
    }
  }, 60_000);

  test('an unknown topic (auto-create off for our producer) fails with an error naming the jobs not produced', async () => {
    const type = `evbnotopic_${run}`;
    const q = new EventBusJobQueue({ type, secret: SECRET, brokers, retries: 1, requestTimeout: 3000 });
    try {
      const err = await within(
        q
          .push([
            { type, params: { n: 1 } },
            { type, params: { n: 2 } },
          ])
          .then(
            () => null,
            (e: unknown) => e,
          ),
        20_000,
        'push to an unknown topic hung',
      );
      expect(isSwitchyardError(err)).toBe(true);
      expect((err as Error).message).toMatch(/2 of 2 jobs were not produced/);
      expect((err as Error).message).not.toContain(SECRET);
    } finally {
      await q.close();
    }
  }, 30_000);

  test('a host producer is used and left connected by close()', async () => {
    const type = `evbhost_${run}`;
    const topic = `mediawiki.job.${type}`;
    await createTopic(topic);
    const producer = kafka.producer();
    await producer.connect();
    try {
      const q = new EventBusJobQueue({ type, domain: 'wiki2', secret: SECRET, producer });
      expect(await q.push({ type, params: { n: 1 } })).toEqual({ inserted: 1, duplicates: 0 });
      await q.close();
      await producer.send({ topic, messages: [{ value: 'still connected' }] });
      expect(await messageCount(topic)).toBe(2);
    } finally {
      await producer.disconnect();
    }
  }, 30_000);
});

describe('eventbus backend with an unreachable broker', () => {
  test('push fails within the timeout with SWITCHYARD_BACKEND_UNAVAILABLE, no hang, secret not shown', async () => {
    const port = await freePort();
    const q = new EventBusJobQueue({
      type: 'unreachable',
      secret: SECRET,
      brokers: `127.0.0.1:${port}`,
      retries: 1,
      connectionTimeout: 500,
    });
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const started = Date.now();
      const err = await within(
        q
          .push([
            { type: 'unreachable', params: { n: 1 } },
            { type: 'unreachable', params: { n: 2 } },
          ])
          .then(
            () => null,
            (e: unknown) => e,
          ),
        15_000,
        'push to an unreachable broker hung',
      );
      expect(Date.now() - started).toBeLessThan(15_000);
      expect(isSwitchyardError(err, ErrorCode.BACKEND_UNAVAILABLE)).toBe(true);
      expect((err as Error).message).toMatch(/2 of 2 jobs were not produced/);
      expect((err as Error).message).not.toContain(SECRET);
      // A second push tries again (and fails the same way) instead of reusing a dead connection.
      await expect(within(q.push({ type: 'unreachable', params: {} }), 15_000, 'hung')).rejects.toMatchObject(
        {
          code: ErrorCode.BACKEND_UNAVAILABLE,
        },
      );
      await new Promise((r) => setTimeout(r, 200));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
      await q.close();
    }
  }, 40_000);
});
