import { randomUUID } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { RedisJobQueue, WAKE_CLIENT_NAME } from '../../src/backends/redis/index.js';
import { resolveConfig } from '../../src/container.js';
import { JobQueueFarm } from '../../src/core/farm.js';
import type { JobQueue } from '../../src/core/job-queue.js';
import { describeIfService, services } from '../helpers/env.js';
import { deleteKeysMatching } from '../helpers/redis.js';

const prefix = `swytest-wake-${process.pid}-${Date.now().toString(36)}`;
const LONG_WAIT_MS = 10 * 60 * 1000;

/** Wake subscribers of this process (CLIENT LIST, by the name the hub sets). */
async function wakeConnections(admin: Redis): Promise<number> {
  const list = (await admin.call('CLIENT', 'LIST')) as string;
  return list.split('\n').filter((line) => line.includes(` name=${WAKE_CLIENT_NAME} `)).length;
}

/** Polls `fn` until it returns `want` (a closed connection leaves the server's list shortly after QUIT). */
async function eventually(fn: () => Promise<number>, want: number): Promise<number> {
  let got = await fn();
  for (let i = 0; i < 100 && got !== want; i++) {
    await new Promise((r) => setTimeout(r, 20));
    got = await fn();
  }
  return got;
}

describeIfService(services.redis, 'redis wake', (url) => {
  let admin: Redis;
  beforeAll(() => {
    admin = new Redis(url);
  });
  afterAll(async () => {
    await deleteKeysMatching(admin, `${prefix}:*`);
    await admin.quit();
  });

  test('many queues and waiters on a host client open ONE wake connection, closed with the last queue', async () => {
    const client = new Redis(url);
    const before = await wakeConnections(admin);
    expect(before).toBe(0);
    const queues: JobQueue[] = [];
    for (let i = 0; i < 20; i++)
      queues.push(new RedisJobQueue({ type: `t${i % 10}`, domain: 'd', client, prefix }));
    const stop = new AbortController();
    setMaxListeners(queues.length, stop.signal);
    const waits = queues.map((q) => q.waitForJobs({ timeout: LONG_WAIT_MS, signal: stop.signal }));
    await new Promise((r) => setTimeout(r, 200));
    expect(await wakeConnections(admin)).toBe(1);
    // Every type's channel is subscribed once, by that one connection.
    const numsub = (await admin.call(
      'PUBSUB',
      'NUMSUB',
      ...queues.slice(0, 10).map((q) => (q as RedisJobQueue).keys.wake),
    )) as unknown[];
    for (let i = 1; i < numsub.length; i += 2) expect(Number(numsub[i])).toBe(1);
    // A push wakes both handles of that type, and only them.
    await queues[3]?.push({ type: 't3', params: {} });
    expect(await waits[3]).toBe(true);
    expect(await waits[13]).toBe(true);
    stop.abort();
    expect((await Promise.all(waits)).filter(Boolean)).toHaveLength(2);
    // With no waiter left the channels are unsubscribed; the connection stays while queues live.
    expect(
      await eventually(
        async () =>
          Number(
            ((await admin.call('PUBSUB', 'NUMSUB', (queues[0] as RedisJobQueue).keys.wake)) as unknown[])[1],
          ),
        0,
      ),
    ).toBe(0);
    expect(await wakeConnections(admin)).toBe(1);
    for (const q of queues.slice(1)) await q.close();
    expect(await wakeConnections(admin)).toBe(1);
    await queues[0]?.close();
    expect(await eventually(() => wakeConnections(admin), 0)).toBe(0);
    expect(client.status).toBe('ready'); // the host's client is never closed
    await client.quit();
  });

  test('a config connection (URL) shares one wake connection between its queues', async () => {
    const config = await resolveConfig({
      connections: { r: { class: 'redis', url, prefix } },
      jobTypeConf: { default: { class: 'redis', connection: 'r', maintenanceInterval: null } },
      jobTypes: ['a', 'b', 'c'],
      domains: ['d1', 'd2'],
    });
    const farm = new JobQueueFarm(config);
    const stop = new AbortController();
    const waits: Promise<boolean>[] = [];
    for (const domain of ['d1', 'd2']) {
      for (const type of ['a', 'b', 'c']) {
        waits.push(farm.group(domain).get(type).waitForJobs({ timeout: LONG_WAIT_MS, signal: stop.signal }));
      }
    }
    await new Promise((r) => setTimeout(r, 200));
    expect(await wakeConnections(admin)).toBe(1);
    stop.abort();
    expect(await Promise.all(waits)).toEqual([false, false, false, false, false, false]);
    await farm.close();
    expect(await eventually(() => wakeConnections(admin), 0)).toBe(0);
  });

  test('push publishes only when the ready list was empty; release and maintenance likewise', async () => {
    const client = new Redis(url);
    const domain = `d${randomUUID().slice(0, 8)}`;
    const q = new RedisJobQueue({
      type: 't',
      domain,
      client,
      prefix,
      claimTTL: 10,
      maintenanceInterval: null,
    });
    const sub = new Redis(url);
    const messages: string[] = [];
    let end: () => void = () => {};
    const ended = new Promise<void>((r) => {
      end = r;
    });
    sub.on('message', (_channel: string, message: string) => {
      messages.push(message);
      if (message === 'end') end();
    });
    await sub.subscribe(q.keys.wake);
    await q.push({ type: 't', params: { n: 0 } }); // empty -> 1: publishes
    await q.push({ type: 't', params: { n: 1 } }); // 1 -> 2: nothing
    await q.push([
      { type: 't', params: { n: 2 } },
      { type: 't', params: { n: 3 } },
    ]); // nothing
    const jobs = await q.popBatch(4);
    expect(jobs).toHaveLength(4);
    await q.push({ type: 't', params: { n: 4 } }, {}); // empty -> 1: publishes
    await q.release(jobs[0] as NonNullable<(typeof jobs)[0]>); // 1 -> 2: nothing
    await q.popBatch(2);
    await q.release(jobs[1] as NonNullable<(typeof jobs)[0]>); // empty -> 1: publishes
    await q.popBatch(1);
    await client.publish(q.keys.wake, 'end'); // ordered after every publish above
    await ended;
    expect(messages).toEqual(['1', '1', '1', 'end']);
    await sub.quit();
    await q.close();
    await client.quit();
  });
});
