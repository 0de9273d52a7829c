/**
 * The Kafka client seam (`client: kafkajs | platformatic`, src/kafka/): which client is the
 * default on which Node, the typed config errors around it, and — on a real broker — every
 * producer/consumer pairing of the clients this Node runs: an eventbus queue on one client
 * produces, an executor on the other runs every job. LZ4 and zstd run end to end on platformatic
 * (produce, consume, retry events). On a Node too old for platformatic (Node 20) the same tests
 * assert the config error instead, so nothing is skipped.
 */
import { afterAll, describe, expect, test } from 'vitest';
import { EventBusJobQueue } from '../../src/backends/eventbus/index.js';
import { resolveConfig } from '../../src/container.js';
import type { Job } from '../../src/core/job.js';
import { type ExecutorHandle, startExecutorFromSection } from '../../src/executor/index.js';
import {
  defaultKafkaClient,
  installedKafkaClients,
  type KafkaClientName,
  kafkaClientIssues,
  platformaticSupported,
} from '../../src/kafka/index.js';
import { defineHandlers } from '../../src/runner/handlers.js';
import { describeIfService, services } from '../helpers/env.js';
import { createTopicWith } from '../helpers/kafka.js';

const SECRET = 'kafka-clients-secret-0123456789abcdef';
const run = `${process.pid}${Date.now().toString(36)}`;
let seq = 0;
const uniq = (p: string) => `${p}_${run}_${++seq}`;
const NODE = process.versions.node;
const CLIENTS: KafkaClientName[] = platformaticSupported() ? ['kafkajs', 'platformatic'] : ['kafkajs'];

describe('Kafka client choice', () => {
  test('the default is platformatic from Node 22.22 on, kafkajs below', () => {
    expect(defaultKafkaClient('20.19.5')).toBe('kafkajs');
    expect(defaultKafkaClient('22.21.9')).toBe('kafkajs');
    expect(defaultKafkaClient('22.22.0')).toBe('platformatic');
    expect(defaultKafkaClient('24.22.3')).toBe('platformatic');
    expect(defaultKafkaClient('100.0.0')).toBe('platformatic');
    expect(defaultKafkaClient()).toBe(platformaticSupported() ? 'platformatic' : 'kafkajs');
  });

  test('both packages are found here; with only kafkajs installed, Node 24 defaults to kafkajs', () => {
    expect([...installedKafkaClients()].sort()).toEqual(['kafkajs', 'platformatic']);
    const onlyKafkajs = new Set<KafkaClientName>(['kafkajs']);
    const onlyPlatformatic = new Set<KafkaClientName>(['platformatic']);
    expect(defaultKafkaClient('24.22.3', onlyKafkajs)).toBe('kafkajs');
    expect(defaultKafkaClient('24.22.3', onlyPlatformatic)).toBe('platformatic');
    expect(defaultKafkaClient('24.22.3', new Set())).toBe('platformatic');
    expect(defaultKafkaClient('20.19.5', onlyPlatformatic)).toBe('kafkajs');
    expect(kafkaClientIssues(undefined, undefined, 'executor', '24.22.3', onlyKafkajs)).toEqual([]);
  });

  test('a client whose package is not installed is an issue naming the npm install to run', () => {
    expect(kafkaClientIssues('platformatic', undefined, 'executor', '24.22.3', new Set(['kafkajs']))).toEqual(
      [
        expect.objectContaining({
          path: 'executor.client',
          message:
            'the platformatic client needs @platformatic/kafka, which is not installed: run npm install @platformatic/kafka',
        }),
      ],
    );
    expect(kafkaClientIssues(undefined, undefined, 'executor', '20.19.5', new Set())).toEqual([
      expect.objectContaining({
        message:
          'the kafkajs client (the default here) needs kafkajs, which is not installed: run npm install kafkajs',
      }),
    ]);
  });

  test('an unknown client, platformatic on an old Node, and LZ4 with kafkajs are issues at their paths', () => {
    expect(kafkaClientIssues('rdkafka', undefined, 'executor', '24.22.3')).toEqual([
      expect.objectContaining({ path: 'executor.client', message: 'must be one of kafkajs, platformatic' }),
    ]);
    expect(kafkaClientIssues('platformatic', undefined, 'x', '20.19.5')).toEqual([
      expect.objectContaining({
        path: 'x.client',
        message: expect.stringContaining('platformatic needs Node ≥ 22.22.0 and this is Node 20.19.5'),
      }),
    ]);
    expect(kafkaClientIssues('kafkajs', 'zstd', '', '24.22.3')).toEqual([
      expect.objectContaining({
        path: 'compression',
        message: expect.stringContaining('zstd needs client: platformatic'),
      }),
    ]);
    // No client on Node 20 means kafkajs: LZ4 is refused, and the message says platformatic needs a newer Node.
    expect(kafkaClientIssues(undefined, 'lz4', '', '20.19.5')).toEqual([
      expect.objectContaining({ message: expect.stringContaining('which needs Node ≥ 22.22.0') }),
    ]);
    expect(kafkaClientIssues(undefined, 'lz4', '', '24.22.3')).toEqual([]);
    expect(kafkaClientIssues('platformatic', 'zstd', '', '22.22.0')).toEqual([]);
  });

  test(`client: platformatic ${platformaticSupported() ? 'resolves' : 'is SWITCHYARD_CONFIG_INVALID'} on this Node (${NODE})`, async () => {
    const config = {
      jobTypeConf: {
        default: { class: 'eventbus', brokers: '127.0.0.1:9', secret: SECRET, client: 'platformatic' },
      },
      executor: {
        brokers: '127.0.0.1:9',
        secret: SECRET,
        client: 'platformatic',
        rules: [{ name: 'r', topics: ['t'] }],
      },
    };
    if (platformaticSupported()) {
      const resolved = await resolveConfig(config);
      expect((resolved.sections.executor as { client: string }).client).toBe('platformatic');
      const q = new EventBusJobQueue({
        type: 'x',
        domain: 'd',
        brokers: '127.0.0.1:9',
        secret: SECRET,
        client: 'platformatic',
      });
      expect(q.client).toBe('platformatic');
      await q.close();
      return;
    }
    await expect(resolveConfig(config)).rejects.toMatchObject({
      code: 'SWITCHYARD_CONFIG_INVALID',
      issues: expect.arrayContaining([
        expect.objectContaining({
          path: 'jobTypeConf.default.client',
          message: expect.stringContaining(`this is Node ${NODE}`),
        }),
        expect.objectContaining({
          path: 'executor.client',
          message: expect.stringContaining(`this is Node ${NODE}`),
        }),
      ]),
    });
  });

  test('a host producer is kafkajs: client platformatic beside it is refused; a client in an entry that names a connection belongs in the connection', async () => {
    const host = { send: async () => [], sendBatch: async () => [], connect: async () => undefined };
    await expect(
      resolveConfig({
        jobTypeConf: {
          default: { class: 'eventbus', producer: host, secret: SECRET, client: 'platformatic' },
        },
      }),
    ).rejects.toMatchObject({
      issues: [
        expect.objectContaining({
          path: 'jobTypeConf.default.client',
          message: expect.stringContaining('kafkajs'),
        }),
      ],
    });
    // Checked when the config loads (BackendModule.connectionKeys), not when a queue is built.
    await expect(
      resolveConfig({
        connections: {
          kafka: { class: 'eventbus', brokers: '127.0.0.1:9', secret: SECRET, client: 'kafkajs' },
        },
        jobTypeConf: { default: { class: 'eventbus', connection: 'kafka', client: 'kafkajs' } },
      }),
    ).rejects.toMatchObject({
      code: 'SWITCHYARD_CONFIG_INVALID',
      issues: [
        expect.objectContaining({
          path: 'jobTypeConf.default.client',
          message: expect.stringContaining('belongs on the connection entry (connections.kafka)'),
        }),
      ],
    });
  });
});

describeIfService(services.kafka, 'both Kafka clients on a real broker', (brokers) => {
  const executors: ExecutorHandle[] = [];
  const cleanup: Array<() => Promise<void>> = [];

  afterAll(async () => {
    for (const e of executors) await e.stop({ graceMs: 1000 }).catch(() => undefined);
    for (const c of cleanup) await c().catch(() => undefined);
  });

  const createTopic = (client: KafkaClientName, topic: string) => createTopicWith(client, brokers, topic);

  /** An executor on `client` running the jobs of `type` from `topic`; the nth job fails on its first attempt when `failFirst`. */
  async function executor(
    client: KafkaClientName,
    topic: string,
    type: string,
    runs: number[],
    extra: Record<string, unknown> = {},
    failFirst: number | null = null,
  ): Promise<ExecutorHandle> {
    const handle = await startExecutorFromSection(
      {
        brokers,
        secret: SECRET,
        service: uniq('svc'),
        client,
        commitInterval: 0.1,
        shutdownGrace: 5,
        rules: [
          {
            name: 'r',
            topics: [topic],
            retryLimit: 2,
            retryDelay: 0.1,
            startAt: 'earliest',
            concurrency: 50,
          },
        ],
        ...extra,
      },
      {
        handlers: defineHandlers({
          [type]: {
            run: (j: Job<string>) => {
              const n = j.params.n as number;
              if (n === failFirst && j.attempts === 1) throw new Error('the first run fails');
              runs.push(n);
            },
          },
        }),
      },
    );
    executors.push(handle);
    expect(handle.client).toBe(client);
    return handle;
  }

  async function waitFor(runs: number[], count: number): Promise<void> {
    const until = Date.now() + 30_000;
    while (new Set(runs).size < count && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
  }

  const pairs = CLIENTS.flatMap((producer) => CLIENTS.map((consumer) => [producer, consumer] as const));

  test.each(
    pairs,
  )('an eventbus queue on %s produces 2,000 jobs; an executor on %s runs each one', async (producer, consumer) => {
    const type = uniq(`pair_${producer}_${consumer}`);
    const topic = `mediawiki.job.${type}`;
    await createTopic(producer, topic);
    const runs: number[] = [];
    await executor(consumer, topic, type, runs);
    const q = new EventBusJobQueue({ type, domain: 'enwiki', brokers, secret: SECRET, client: producer });
    cleanup.push(() => q.close());
    expect(q.client).toBe(producer);
    await q.push(Array.from({ length: 2000 }, (_, n) => ({ type, params: { n } })));
    await waitFor(runs, 2000);
    expect(new Set(runs).size).toBe(2000);
    expect(runs.length).toBe(2000);
  });

  test(
    platformaticSupported()
      ? 'LZ4 and zstd on platformatic: produced, consumed, and the retry topic written with zstd is read back'
      : `LZ4 and zstd need platformatic, which Node ${NODE} cannot run: a config error, nothing produced`,
    async () => {
      if (!platformaticSupported()) {
        expect(
          () => new EventBusJobQueue({ type: 'x', domain: 'd', brokers, secret: SECRET, compression: 'lz4' }),
        ).toThrow(/lz4 needs client: platformatic.*which needs Node ≥ 22\.22\.0/);
        await expect(
          startExecutorFromSection(
            { brokers, secret: SECRET, compression: 'zstd', rules: [] },
            { handlers: {} },
          ),
        ).rejects.toMatchObject({ code: 'SWITCHYARD_CONFIG_INVALID' });
        return;
      }
      for (const compression of ['lz4', 'zstd'] as const) {
        const type = uniq(`codec_${compression}`);
        const topic = `mediawiki.job.${type}`;
        await createTopic('platformatic', topic);
        const runs: number[] = [];
        // Job 0 fails once: its retry event goes through the retry topic, written with zstd.
        await executor('platformatic', topic, type, runs, { compression: 'zstd' }, 0);
        const q = new EventBusJobQueue({
          type,
          domain: 'enwiki',
          brokers,
          secret: SECRET,
          client: 'platformatic',
          compression,
        });
        cleanup.push(() => q.close());
        const text = 'the same sentence again and again. '.repeat(20);
        await q.push(Array.from({ length: 300 }, (_, n) => ({ type, params: { n, text } })));
        await waitFor(runs, 300);
        expect(new Set(runs).size).toBe(300);
        expect(runs.filter((n) => n === 0)).toEqual([0]);
      }
    },
  );
});
