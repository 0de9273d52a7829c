/**
 * Snappy on a real broker: an eventbus queue with `compression: snappy` writes compressed record
 * batches (smaller on the broker's disk than the same events uncompressed, when the broker is the
 * one scripts/kafka started) that consume back verified; the executor runs jobs from a topic a
 * producer wrote with Snappy (what WMF's producers do) and writes its retry events with
 * `compression: snappy`. A bad `compression` value is a config error naming its path; LZ4 and zstd
 * with kafkajs too (test/integration/kafka-clients.test.ts runs them on platformatic).
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { CompressionTypes, type Consumer, Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { buildJobEvent, EventBusJobQueue, verifyJobEvent } from '../../src/backends/eventbus/index.js';
import { resolveConfig } from '../../src/container.js';
import type { Job, NormalizedJob } from '../../src/core/job.js';
import { type ExecutorHandle, type RetryEvent, startExecutorFromSection } from '../../src/executor/index.js';
import { defineHandlers } from '../../src/runner/handlers.js';
import { describeIfService, services } from '../helpers/env.js';
import { readMessages } from '../helpers/kafka.js';

process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1';

const SECRET = 'compression-secret-0123456789abcdef';
const run = `${process.pid}${Date.now().toString(36)}`;
let seq = 0;
const uniq = (p: string) => `${p}_${run}_${++seq}`;

/** Bytes of a topic's partition-0 log on the disk of the broker scripts/kafka started, or null. */
function logBytes(brokers: string, topic: string): number | null {
  const state = join(process.cwd(), '.kafka', 'broker.json');
  if (!existsSync(state)) return null;
  const info = JSON.parse(readFileSync(state, 'utf8')) as { brokers: string; runDir: string };
  if (info.brokers !== brokers) return null;
  const dir = join(info.runDir, 'data', `${topic}-0`);
  if (!existsSync(dir)) return null;
  return readdirSync(dir)
    .filter((f) => f.endsWith('.log'))
    .reduce((n, f) => n + statSync(join(dir, f)).size, 0);
}

describe('compression setting', () => {
  test('an unknown value is SWITCHYARD_CONFIG_INVALID at its path, naming the choices', async () => {
    await expect(
      resolveConfig({
        jobTypeConf: {
          default: { class: 'eventbus', brokers: '127.0.0.1:9', secret: SECRET, compression: 'brotli' },
        },
      }),
    ).rejects.toMatchObject({
      code: 'SWITCHYARD_CONFIG_INVALID',
      issues: [
        expect.objectContaining({
          path: 'jobTypeConf.default.compression',
          message: 'must be one of none, gzip, snappy, lz4, zstd',
        }),
      ],
    });
  });

  test('lz4 and zstd with client: kafkajs are SWITCHYARD_CONFIG_INVALID, saying they need platformatic', async () => {
    await expect(
      resolveConfig({
        jobTypeConf: {
          default: {
            class: 'eventbus',
            brokers: '127.0.0.1:9',
            secret: SECRET,
            client: 'kafkajs',
            compression: 'lz4',
          },
        },
      }),
    ).rejects.toMatchObject({
      code: 'SWITCHYARD_CONFIG_INVALID',
      issues: [
        expect.objectContaining({
          path: 'jobTypeConf.default.compression',
          message: expect.stringContaining('lz4 needs client: platformatic'),
        }),
      ],
    });
    await expect(
      resolveConfig({
        executor: {
          brokers: '127.0.0.1:9',
          secret: SECRET,
          client: 'kafkajs',
          compression: 'zstd',
          rules: [],
        },
      }),
    ).rejects.toMatchObject({
      issues: expect.arrayContaining([
        expect.objectContaining({
          path: 'executor.compression',
          message: expect.stringContaining('zstd needs client: platformatic'),
        }),
      ]),
    });
  });
});

describeIfService(services.kafka, 'Snappy on a real broker', (brokers) => {
  const kafka = new Kafka({
    clientId: `swytest-snappy-${run}`,
    brokers: brokers.split(','),
    logLevel: logLevel.NOTHING,
  });
  const admin = kafka.admin();
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  const consumers: Consumer[] = [];
  const executors: ExecutorHandle[] = [];

  async function createTopic(topic: string): Promise<string> {
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
    return topic;
  }

  async function read(topic: string, count: number): Promise<string[]> {
    return (await readMessages(kafka, consumers, topic, count)).map((m) => m.value);
  }

  const job = (type: string, params: Record<string, unknown>): NormalizedJob => ({
    type,
    domain: 'enwiki',
    params: params as NormalizedJob['params'],
    releaseTimestamp: null,
    removeDuplicates: false,
    sha1: null,
    rootJob: null,
    requestId: null,
    priority: 0,
    groupKey: null,
  });

  beforeAll(async () => {
    await admin.connect();
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

  test('compression: snappy writes compressed batches that consume back as verified events', async () => {
    const params = { text: 'the same sentence again and again. '.repeat(30) };
    const sizes: Record<string, number | null> = {};
    for (const compression of ['none', 'snappy'] as const) {
      const type = uniq(`z${compression}`);
      const topic = await createTopic(`mediawiki.job.${type}`);
      const q = new EventBusJobQueue({ type, domain: 'enwiki', brokers, secret: SECRET, compression });
      await q.push(Array.from({ length: 200 }, (_, n) => ({ type, params: { ...params, n } })));
      await q.close();
      const values = await read(topic, 200);
      expect(values).toHaveLength(200);
      for (const v of values) expect(verifyJobEvent(JSON.parse(v), SECRET)).toBe(true);
      sizes[compression] = logBytes(brokers, topic);
    }
    if (sizes.none === null || sizes.snappy === null) {
      console.log(
        'kafka-compression: broker disk not visible (not started by scripts/kafka); size check skipped',
      );
      return;
    }
    // ~1 KB of repeated text per event: Snappy shrinks the batches several times over.
    expect(sizes.snappy).toBeLessThan((sizes.none ?? 0) / 3);
  });

  test('the executor runs jobs from a Snappy-compressed topic and writes its retry events with compression: snappy', async () => {
    const type = uniq('cpsnappy');
    const stream = `mediawiki.job.${type}`;
    const topic = await createTopic(stream);
    const service = uniq('svc');
    const runs: number[] = [];
    const handle = await startExecutorFromSection(
      {
        brokers,
        secret: SECRET,
        service,
        compression: 'snappy',
        commitInterval: 0.1,
        shutdownGrace: 5,
        rules: [{ name: 'r', topics: [topic], retryLimit: 1, retryDelay: 0.1, startAt: 'earliest' }],
      },
      {
        handlers: defineHandlers({
          [type]: {
            run: (j: Job<string>) => {
              runs.push(j.params.n as number);
              if (j.params.n === 0 && j.attempts === 1) throw new Error('first run fails');
            },
          },
        }),
      },
    );
    executors.push(handle);
    const events = [0, 1, 2].map((n) =>
      JSON.stringify(buildJobEvent(job(type, { n }), { stream, secret: SECRET, now: Date.now() })),
    );
    await producer.send({
      topic,
      acks: -1,
      compression: CompressionTypes.Snappy,
      messages: events.map((value) => ({ value })),
    });
    const [retry] = (await read(`${service}.retry.${stream}`, 1)).map((v) => JSON.parse(v) as RetryEvent);
    expect(retry?.original_event.params).toEqual({ n: 0 });
    const until = Date.now() + 20_000;
    while (runs.length < 4 && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    expect(runs.sort()).toEqual([0, 0, 1, 2]);
  });
});
