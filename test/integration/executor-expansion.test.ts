/**
 * Progressive expansion through the Kafka executor (issue 14 point 1): an expansion root pushed
 * through the eventbus backend runs in the executor, whose handler pushes the leaves and the
 * remainder back through the same queue, until the range is done — every item exactly once; and a
 * newer root of the same key supersedes every leaf and remainder of an older one (the executor's
 * root-job dedup in Redis). On each Kafka client this Node runs.
 */
import { Redis } from 'ioredis';
import { afterAll, expect, test } from 'vitest';
import { EventBusJobQueue } from '../../src/backends/eventbus/index.js';
import { newRootJob } from '../../src/core/job.js';
import { type ExecutorHandle, startExecutorFromSection } from '../../src/executor/index.js';
import { expansionHandler, expansionRoot } from '../../src/expansion/index.js';
import { type KafkaClientName, platformaticSupported } from '../../src/kafka/index.js';
import { defineHandlers } from '../../src/runner/handlers.js';
import { describeIfService, services } from '../helpers/env.js';
import { createTopicWith } from '../helpers/kafka.js';

const SECRET = 'executor-expansion-secret-0123456789abcdef';
const REDIS = process.env.SWITCHYARD_REDIS_URL || 'redis://127.0.0.1:6379';
const run = `${process.pid}${Date.now().toString(36)}`;
let seq = 0;
const uniq = (p: string) => `${p}_${run}_${++seq}`;
const CLIENTS: KafkaClientName[] = platformaticSupported() ? ['kafkajs', 'platformatic'] : ['kafkajs'];

describeIfService(services.kafka, 'progressive expansion through the Kafka executor', (brokers) => {
  const executors: ExecutorHandle[] = [];
  const cleanup: Array<() => Promise<void>> = [];
  const redisPrefix = `swytest-expand-${run}:`;

  afterAll(async () => {
    for (const e of executors) await e.stop({ graceMs: 1000 }).catch(() => undefined);
    for (const c of cleanup) await c().catch(() => undefined);
    const redis = new Redis(REDIS);
    const keys = await redis.keys(`${redisPrefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  });

  const createTopic = (topic: string) => createTopicWith('kafkajs', brokers, topic);

  /** A queue for `type` on `client`, and an executor on `client` running its expansion. */
  async function expansion(
    client: KafkaClientName,
    options: { batchSize: number; leafSize: number; concurrency: number },
    runLeaf: (start: number, end: number, generation: string) => void,
  ): Promise<{ queue: EventBusJobQueue; type: string; handle: ExecutorHandle }> {
    const type = uniq(`expand_${client}`);
    const topic = `mediawiki.job.${type}`;
    await createTopic(topic);
    const queue = new EventBusJobQueue({ type, domain: 'enwiki', brokers, secret: SECRET, client });
    cleanup.push(() => queue.close());
    const handler = expansionHandler({
      batchSize: options.batchSize,
      leafSize: options.leafSize,
      push: (specs) => queue.push(specs),
      runLeaf: (start, end, job) => runLeaf(start, end, String(job.params.generation)),
    });
    const handle = await startExecutorFromSection(
      {
        brokers,
        secret: SECRET,
        service: uniq('svc'),
        client,
        redis: REDIS,
        redisPrefix,
        commitInterval: 0.1,
        shutdownGrace: 5,
        rules: [{ name: 'r', topics: [topic], startAt: 'earliest', concurrency: options.concurrency }],
      },
      { handlers: defineHandlers({ [type]: handler }) },
    );
    executors.push(handle);
    return { queue, type, handle };
  }

  async function until(done: () => boolean, ms: number): Promise<void> {
    const deadline = Date.now() + ms;
    while (!done() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  }

  test.each(
    CLIENTS,
  )('%s: 20,000 items (N = 10, 100 per leaf) expand through Kafka; every item runs once', async (client) => {
    const ITEMS = 20_000;
    const runs = new Uint8Array(ITEMS);
    let done = 0;
    const { queue, type } = await expansion(
      client,
      { batchSize: 10, leafSize: 100, concurrency: 20 },
      (s, e) => {
        for (let i = s; i < e; i++) runs[i] = (runs[i] ?? 0) + 1;
        done += e - s;
      },
    );
    await queue.push([
      expansionRoot(type, { start: 0, end: ITEMS }, newRootJob(`r:${type}`), { generation: 'one' }),
    ]);
    await until(() => done >= ITEMS, 60_000);
    // Nothing more arrives after the last leaf (a duplicate run would show up here).
    await new Promise((r) => setTimeout(r, 300));
    expect(done).toBe(ITEMS);
    expect(runs.indexOf(0)).toBe(-1);
    expect(runs.findIndex((r) => r > 1)).toBe(-1);
  });

  test.each(
    CLIENTS,
  )('%s: a newer root supersedes every leaf and remainder of the older one', async (client) => {
    const ran = { old: 0, new: 0 };
    // One at a time, in topic order: the old root expands, the new root runs, then the old
    // root's children arrive behind it and are dropped by the root-job check.
    const { queue, type, handle } = await expansion(
      client,
      { batchSize: 5, leafSize: 10, concurrency: 1 },
      (s, e, g) => {
        ran[g as 'old' | 'new'] += e - s;
      },
    );
    const key = `k:${type}`;
    const now = Date.now();
    await queue.push([
      expansionRoot(type, { start: 0, end: 500 }, newRootJob(key, now - 10_000), { generation: 'old' }),
      expansionRoot(type, { start: 0, end: 200 }, newRootJob(key, now - 5_000), { generation: 'new' }),
    ]);
    await until(() => ran.new >= 200, 60_000);
    await new Promise((r) => setTimeout(r, 500));
    expect(ran).toEqual({ old: 0, new: 200 });
    // The old root ran first and pushed 5 leaves and a remainder: all 6 dropped as root duplicates.
    expect(handle.metrics.total('dedup', { reason: 'root' })).toBe(6);
  });
});
