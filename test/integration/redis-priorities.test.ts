/**
 * Redis priorities beyond the conformance group: the key layout and exact scores of the priority
 * set (scripts/includes/priority.lua), its renumbering when the sequence runs out, front
 * insertion (a recycled claim, a given-back job), cancel, stats, wake, and what prefetch may
 * buffer (only priority-0 jobs, none while a positive priority is ready or delayed).
 */
import { Redis } from 'ioredis';
import { expect, test } from 'vitest';
import type { RedisJobQueue } from '../../src/backends/redis/index.js';
import { scriptKeys } from '../../src/backends/redis/keys.js';
import { scripts } from '../../src/backends/redis/script-loader.js';
import { ManualClock } from '../../src/core/clock.js';
import { describeIfService, services } from '../helpers/env.js';
import { redisQueues } from '../helpers/redis.js';

const prefix = `swytest-prio-${process.pid}-${Date.now().toString(36)}`;
const BAND = 2 ** 33;
const MID = 2 ** 32;

describeIfService(services.redis, 'redis priorities (integration)', (url) => {
  const { client, queue } = redisQueues(url, prefix, 'prio');
  const job = (q: RedisJobQueue, n: number, priority = 0, extra: object = {}) => ({
    type: q.type,
    params: { n },
    priority,
    ...extra,
  });
  const drain = async (q: RedisJobQueue): Promise<number[]> => {
    const out: number[] = [];
    for (let j = await q.pop(); j; j = await q.pop()) {
      out.push(j.params.n as number);
      await q.ack(j);
    }
    return out;
  };
  const scores = async (q: RedisJobQueue): Promise<[string, number][]> => {
    const flat = await client.zrange(q.keys.priority, '0', '-1', 'WITHSCORES');
    const out: [string, number][] = [];
    for (let i = 0; i < flat.length; i += 2) out.push([flat[i] as string, Number(flat[i + 1])]);
    return out;
  };

  test('priority 0 stays in the ready list; others go to the priority set with exact scores', async () => {
    const q = queue();
    expect(q.keys.priority).toBe(`${prefix}:{prio:${q.type}}:priority`);
    expect(q.keys.prioritySeq).toBe(`${prefix}:{prio:${q.type}}:priority-seq`);
    expect(q.keys.delayedHigh).toBe(`${prefix}:{prio:${q.type}}:delayed-high`);
    await q.push([
      job(q, 0),
      job(q, 1, 5),
      job(q, 2, -3),
      job(q, 3, 5),
      job(q, 4, 1_000_000),
      job(q, 5, -1_000_000),
    ]);
    expect(await client.llen(q.keys.ready)).toBe(1);
    const got = await scores(q);
    const data = await client.hgetall(q.keys.data);
    const byN = new Map(
      got.map(([id, score]) => [JSON.parse((data[id] as string).split('|j|')[1] as string).p.n, score]),
    );
    expect(Object.fromEntries(byN)).toEqual({
      4: -1_000_000 * BAND + MID + 4,
      1: -5 * BAND + MID + 1,
      3: -5 * BAND + MID + 3,
      2: 3 * BAND + MID + 2,
      5: 1_000_000 * BAND + MID + 5,
    });
    for (const score of byN.values()) expect(Number.isSafeInteger(score)).toBe(true);
    expect(await client.get(q.keys.prioritySeq)).toBe('5');
    const blobs = Object.values(data);
    expect(blobs.filter((b) => b.startsWith('1|'))).toHaveLength(1);
    expect(blobs.filter((b) => b.startsWith('2|'))).toHaveLength(5);
    expect(await q.getSize()).toBe(6);
    expect(await drain(q)).toEqual([4, 1, 3, 0, 2, 5]);
    expect(await client.exists(q.keys.priority)).toBe(0);
  });

  test('a sequence that reaches 2^32 renumbers the set, keeping the order', async () => {
    const clock = new ManualClock();
    const q = queue({ clock, claimTTL: 60 });
    await client.set(q.keys.prioritySeq, String(MID - 4));
    await q.push([job(q, 0, 2), job(q, 1, -2), job(q, 2, 2)]); // seq 2^32 - 3 .. 2^32 - 1
    const first = await q.pop(); // n 0, recycled below to the front of priority 2
    expect(first?.params.n).toBe(0);
    await q.push([job(q, 3, 2), job(q, 4), job(q, 5, -2)]); // n 3 hits 2^32: renumbered
    const seq = Number(await client.get(q.keys.prioritySeq));
    expect(seq).toBeLessThan(10);
    for (const [, score] of await scores(q)) {
      const position = score - Math.floor(score / BAND) * BAND;
      expect(position).toBeGreaterThan(0);
      expect(position).toBeLessThan(BAND);
    }
    clock.advance(61_000);
    expect((await q.runMaintenance()).recycled).toBe(1);
    expect(await drain(q)).toEqual([0, 2, 3, 4, 1, 5]);
  });

  test('a recycled claim and a given-back job go to the front of their priority', async () => {
    const clock = new ManualClock();
    const q = queue({ clock, claimTTL: 60 });
    await q.push([job(q, 0, 4), job(q, 1, 4), job(q, 2, 4)]);
    const a = await q.pop();
    const b = await q.pop();
    expect([a?.params.n, b?.params.n]).toEqual([0, 1]);
    // Give both back as a prefetch buffer would (in pop order): they return ahead of n 2.
    const reply = await client.eval(
      scripts().giveBack.source,
      scripts().giveBack.numberOfKeys,
      ...scriptKeys(q.keys).giveBack,
      a?.id as string,
      a?.claimToken as string,
      b?.id as string,
      b?.claimToken as string,
    );
    expect(reply).toBe(2);
    const listed: number[] = [];
    for await (const j of q.list('ready')) listed.push(j.params.n as number);
    expect(listed).toEqual([0, 1, 2]);
    const again = await q.popBatch(3);
    expect(again.map((j) => [j.params.n, j.attempts, j.priority])).toEqual([
      [0, 1, 4],
      [1, 1, 4],
      [2, 1, 4],
    ]);
  });

  test('cancel removes a ready or delayed job of a priority and frees its dedup key', async () => {
    const clock = new ManualClock();
    const q = queue({ clock });
    await q.push(job(q, 0, 3, { removeDuplicates: true }));
    await q.push(job(q, 1, 3, { releaseTimestamp: clock.now() + 60_000 }));
    const [ready, delayed] = (await client.zrange(q.keys.priority, '0', '-1')).concat(
      await client.zrange(q.keys.delayed, '0', '-1'),
    );
    expect(await client.smembers(q.keys.delayedHigh)).toEqual([delayed]);
    expect(await q.cancel(ready as string)).toBe('ready');
    expect(await q.cancel(delayed as string)).toBe('delayed');
    expect(await client.exists(q.keys.priority, q.keys.delayedHigh, q.keys.dedup)).toBe(0);
    expect(await q.push(job(q, 0, 3, { removeDuplicates: true }))).toEqual({ inserted: 1, duplicates: 0 });
  });

  test('stats count the priority set and see the age of its oldest jobs', async () => {
    const clock = new ManualClock();
    const q = queue({ clock });
    const t0 = clock.now();
    await q.push(job(q, 0, -7));
    clock.advance(1_000);
    await q.push([job(q, 1, 9), job(q, 2)]);
    expect(await q.getQueueStats()).toEqual({
      ready: 3,
      claimed: 0,
      delayed: 0,
      abandoned: 0,
      oldestReadyAt: t0,
    });
    await q.delete();
    expect(await client.exists(q.keys.priority, q.keys.prioritySeq, q.keys.ready)).toBe(0);
  });

  test('wake: a job of a priority put into an empty queue publishes, into a busy one not', async () => {
    const clock = new ManualClock();
    const q = queue({ clock, claimTTL: 60 });
    const sub = new Redis(url);
    const messages: string[] = [];
    sub.on('message', (channel: string) => messages.push(channel));
    await sub.subscribe(q.keys.wake);
    const published = async (): Promise<number> => {
      await client.ping(); // the subscriber's messages of earlier commands have arrived by then
      await new Promise((r) => setTimeout(r, 50));
      return messages.splice(0).length;
    };
    try {
      await q.push(job(q, 0, 2));
      expect(await published()).toBe(1);
      await q.push(job(q, 1, -2));
      expect(await published()).toBe(0);
      // The list goes from empty to non-empty: it publishes though the set had jobs (the list
      // scripts look at the list only; nobody waits while jobs are ready, so it reaches no one).
      await q.push(job(q, 2));
      expect(await published()).toBe(1);
      const popped = await q.popBatch(3);
      expect(popped.map((j) => j.params.n)).toEqual([0, 2, 1]);
      await q.release(popped[0] as NonNullable<(typeof popped)[0]>); // priority 2, into an empty queue
      expect(await published()).toBe(1);
      clock.advance(61_000);
      expect((await q.runMaintenance()).recycled).toBe(2); // into a busy queue
      expect(await published()).toBe(0);
    } finally {
      sub.disconnect();
    }
  });

  test('prefetch buffers only priority-0 jobs, and none while a positive priority is ready or delayed', async () => {
    const clock = new ManualClock();
    const q = queue({ clock, claimTTL: 60, prefetch: 8 });
    await q.push([job(q, 0, 1), job(q, 1), job(q, 2), job(q, 3, -1)]);
    expect((await q.pop())?.params.n).toBe(0); // nothing positive left: prefetches n 1 and 2 only
    expect(await client.zcard(q.keys.claimed)).toBe(3);
    expect(await q.getSize()).toBe(3);
    // A push of a positive priority gives the buffer back first, so it pops next.
    await q.push(job(q, 4, 6));
    expect(await client.zcard(q.keys.claimed)).toBe(1);
    expect((await q.pop())?.params.n).toBe(4);
    // A positive-priority delayed job: no prefetch until it is promoted.
    await q.push(job(q, 5, 2, { releaseTimestamp: clock.now() + 10_000 }));
    expect((await q.pop())?.params.n).toBe(1);
    expect(await client.zcard(q.keys.claimed)).toBe(3); // n 0, 4, 1: nothing buffered
    clock.advance(11_000);
    expect((await q.pop())?.params.n).toBe(5);
    expect(await client.exists(q.keys.delayedHigh)).toBe(0);
    expect((await q.pop())?.params.n).toBe(2);
    expect((await q.pop())?.params.n).toBe(3);
    expect(await q.pop()).toBeNull();
  });

  test('prefetch: releasing a job of a positive priority gives the buffer back, so it pops next', async () => {
    const q = queue({ claimTTL: 60, prefetch: 8 });
    await q.push([job(q, 0, 3), job(q, 1), job(q, 2)]);
    const high = await q.pop();
    expect(high?.params.n).toBe(0);
    expect(await client.zcard(q.keys.claimed)).toBe(3); // n 1 and 2 buffered
    expect(await q.release(high as NonNullable<typeof high>)).toBe('released');
    expect(await client.zcard(q.keys.claimed)).toBe(0);
    expect(await drain(q)).toEqual([0, 1, 2]);
  });
});
