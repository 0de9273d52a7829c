import { expect, test } from 'vitest';
import { RedisJobQueue } from '../../src/backends/redis/index.js';
import { groupPart, groupReadyKey } from '../../src/backends/redis/keys.js';
import { ManualClock } from '../../src/core/clock.js';
import type { Job } from '../../src/core/job.js';
import { describeIfService, services } from '../helpers/env.js';
import { redisQueues } from '../helpers/redis.js';

const prefix = `swytest-groups-${process.pid}-${Date.now().toString(36)}`;
const WEIRD = ['a:{b}', '}x{', 'p|q%7C', 'with space', 'é💥\n'];

describeIfService(services.redis, 'redis groups (integration)', (url) => {
  const { client, opened, queue } = redisQueues(url, prefix, 'grp');
  const job = (q: RedisJobQueue, n: number, groupKey?: string, extra: object = {}) => ({
    type: q.type,
    params: { n },
    ...(groupKey === undefined ? {} : { groupKey }),
    ...extra,
  });
  const popAll = async (q: RedisJobQueue): Promise<Job[]> => {
    const out: Job[] = [];
    for (let j = await q.pop(); j; j = await q.pop()) out.push(j);
    return out;
  };
  const groupKeysLeft = async (q: RedisJobQueue): Promise<string[]> =>
    (await client.keys(`${q.keys.base.replace(/[{}]/g, '\\$&')}g*`)).sort();

  test('group keys with : { } | % and whitespace: escaped key names in the queue slot, exact round trip', async () => {
    const q = queue({
      groupLimits: { maxConcurrent: 1, keys: { [WEIRD[0] as string]: { maxConcurrent: 2 } } },
    });
    expect(q.keys.groupTurns).toBe(`${prefix}:{grp:${q.type}}:g-turns`);
    expect(groupPart('a:{b}|c%')).toBe('a%3A%7Bb%7D%7Cc%25');
    await q.push(WEIRD.flatMap((g, i) => [job(q, i * 10, g), job(q, i * 10 + 1, g), job(q, i * 10 + 2, g)]));
    await q.push(job(q, 99));
    expect(await client.lrange(q.keys.groupTurns, 0, -1)).toEqual(['', ...WEIRD.map(groupPart)]);
    for (const g of WEIRD) {
      const key = groupReadyKey(q.keys.base, g);
      expect(key.startsWith(q.keys.base)).toBe(true);
      expect(key.slice(q.keys.base.length + 2)).not.toMatch(/[{}:|\s]/u);
      expect(await client.llen(key)).toBe(3);
    }
    expect(await q.getSize()).toBe(16);
    const listed = [];
    for await (const j of q.list('ready')) listed.push(j.groupKey);
    expect(listed.sort()).toEqual([...WEIRD.flatMap((g) => [g, g, g]), null].sort());
    const popped = await popAll(q);
    // a:{b} has its own cap of 2, the others 1 each; the keyless job is never capped.
    const counts: Record<string, number> = {};
    for (const j of popped) counts[j.groupKey ?? '(none)'] = (counts[j.groupKey ?? '(none)'] ?? 0) + 1;
    expect(counts).toEqual({
      '(none)': 1,
      [WEIRD[0] as string]: 2,
      ...Object.fromEntries(WEIRD.slice(1).map((g) => [g, 1])),
    });
    expect(new Set(popped.slice(0, 6).map((j) => j.groupKey)).size).toBe(6);
    expect(await client.hgetall(q.keys.groupHeld)).toEqual({
      [groupPart(WEIRD[0] as string)]: '2',
      ...Object.fromEntries(WEIRD.slice(1).map((g) => [groupPart(g), '1'])),
    });
    for (const j of popped) await q.ack(j);
    expect(await client.exists(q.keys.groupHeld)).toBe(0);
    const rest = await popAll(q);
    expect(rest.length).toBe(5); // one per group: a:{b} had one left, the others two each
    for (const j of rest) await q.ack(j);
    for (const j of await popAll(q)) await q.ack(j);
    expect(await q.getSize()).toBe(0);
    // Nothing of the groups is left: the queue pops through the plain path again.
    expect(await groupKeysLeft(q)).toEqual([]);
  });

  test('blobs written before groups (versions 1 and 2) pop and list with groupKey null', async () => {
    const q = queue();
    await client.hset(q.keys.data, 'old1', '1|||5|j|{"p":{"n":1}}', 'old2', '2|3|||6|j|{"p":{"n":2}}');
    await client.lpush(q.keys.ready, 'old1');
    await client.zadd(q.keys.priority, String(-3 * 2 ** 33 + 2 ** 32 + 1), 'old2');
    await q.push(job(q, 3, 'g'));
    const listed = [];
    for await (const j of q.list('ready')) listed.push([j.params.n, j.groupKey]);
    expect(listed.sort()).toEqual([
      [1, null],
      [2, null],
      [3, 'g'],
    ]);
    const popped = await popAll(q);
    expect(popped.map((j) => [j.params.n, j.groupKey, j.priority]).sort()).toEqual([
      [1, null, 0],
      [2, null, 3],
      [3, 'g', 0],
    ]);
    for (const j of popped) await q.ack(j);
    expect(await groupKeysLeft(q)).toEqual([]);
  });

  test('delayed, released, recycled and repushed grouped jobs go back to their group', async () => {
    const clock = new ManualClock();
    const q = queue({ clock, claimTTL: 60, maxTries: 2, groupLimits: { maxConcurrent: 1 } });
    await q.push(job(q, 1, 'g:1', { releaseTimestamp: clock.now() + 10_000 }));
    expect(await q.pop()).toBeNull();
    expect(await client.exists(q.keys.groupTurns)).toBe(0);
    clock.advance(10_000);
    const a = await q.pop();
    expect(a?.groupKey).toBe('g:1');
    expect(await q.release(a as Job, { delay: 5 })).toBe('released');
    expect(await client.exists(q.keys.groupHeld)).toBe(0);
    clock.advance(5_000);
    const b = await q.pop();
    expect(b?.groupKey).toBe('g:1');
    clock.advance(61_000);
    expect((await q.runMaintenance()).abandoned).toBe(1); // its second try: abandoned, slot freed
    expect(await client.exists(q.keys.groupHeld)).toBe(0);
    expect(await q.repushAbandoned()).toBe(1);
    expect(await client.llen(groupReadyKey(q.keys.base, 'g:1'))).toBe(1);
    const c = await q.pop();
    expect(c?.groupKey).toBe('g:1');
    clock.advance(61_000);
    expect((await q.runMaintenance()).recycled).toBe(1);
    const d = await q.pop();
    expect(d?.groupKey).toBe('g:1');
    expect(await q.ack(d as Job)).toBe(true);
    expect(await groupKeysLeft(q)).toEqual([]);
  });

  test('a cancelled ready grouped job leaves its group and the turns; counts and delete cover groups', async () => {
    const q = queue({ groupLimits: { rate: { max: 5, perSeconds: 60 } } });
    const ids: string[] = [];
    await q.push([job(q, 1, 'solo'), job(q, 2, 'pair'), job(q, 3, 'pair'), job(q, 4)]);
    for await (const j of q.list('ready')) ids.push(`${j.params.n}:${j.id}`);
    const solo = (ids.find((s) => s.startsWith('1:')) as string).slice(2);
    expect(await q.cancel(solo)).toBe('ready');
    expect(await client.lrange(q.keys.groupTurns, 0, -1)).toEqual(['', 'pair']);
    expect(await q.getSize()).toBe(3);
    const stats = await q.getQueueStats();
    expect(stats.ready).toBe(3);
    expect(stats.oldestReadyAt).not.toBeNull();
    const one = await q.pop();
    expect(one).not.toBeNull();
    expect(await client.zcard(q.keys.groupWindow)).toBe(one?.groupKey === 'pair' ? 1 : 0);
    await q.pop();
    await q.delete();
    expect(await groupKeysLeft(q)).toEqual([]);
    expect(await q.getSize()).toBe(0);
  });

  test('maintenance drops ended rate windows', async () => {
    const clock = new ManualClock();
    const q = queue({ clock, groupLimits: { rate: { max: 1, perSeconds: 10 } } });
    await q.push([job(q, 1, 'r'), job(q, 2, 'r')]);
    const first = await q.pop();
    expect(first?.groupKey).toBe('r');
    expect(await q.pop()).toBeNull();
    expect(await client.zscore(q.keys.groupWindow, 'r')).toBe(String(clock.now() + 10_000));
    await q.ack(first as Job);
    clock.advance(10_000);
    await q.runMaintenance();
    expect(await client.exists(q.keys.groupWindow, q.keys.groupRate)).toBe(0);
    const second = await q.pop();
    expect(second?.params.n).toBe(2);
  });

  test('prefetch buffers no grouped job: the cap holds across a prefetching handle', async () => {
    const limits = { groupLimits: { maxConcurrent: 1 }, prefetch: 8 };
    const a = queue(limits);
    const b = new RedisJobQueue({
      type: a.type,
      domain: 'grp',
      client,
      prefix,
      maintenanceInterval: null,
      ...limits,
    });
    opened.push(b);
    await a.push([...Array.from({ length: 5 }, (_, n) => job(a, n, 'g')), job(a, 10), job(a, 11)]);
    const one = await a.pop();
    expect(one).not.toBeNull();
    expect(await client.zcard(a.keys.claimed)).toBe(1);
    const others = await popAll(b);
    expect(others.filter((j) => j.groupKey === 'g').length + (one?.groupKey === 'g' ? 1 : 0)).toBe(1);
    expect(await client.hget(a.keys.groupHeld, 'g')).toBe('1');
  });
});
