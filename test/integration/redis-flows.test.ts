/**
 * Redis job dependencies beyond the conformance group: a flow survives the loss of every client
 * (it lives in the store), its keys are gone once it ran, the aggregator hears of jobs a settled
 * link made ready (through ack, ack-pop with prefetch, release and cancel), and flow jobs made
 * ready keep their priority and group.
 */
import { Redis } from 'ioredis';
import { expect, test } from 'vitest';
import { MemoryAggregator } from '../../src/aggregators/memory/index.js';
import { RedisJobQueue } from '../../src/backends/redis/index.js';
import { ManualClock } from '../../src/core/clock.js';
import type { FlowJobSpecification } from '../../src/core/flow.js';
import { describeIfService, services } from '../helpers/env.js';
import { redisQueues } from '../helpers/redis.js';

const prefix = `swytest-flow-${process.pid}-${Date.now().toString(36)}`;

describeIfService(services.redis, 'redis flows (integration)', (url) => {
  const { client, queue } = redisQueues(url, prefix, 'flow');
  const step = (
    q: RedisJobQueue,
    name: string,
    after: string[] = [],
    extra: object = {},
  ): FlowJobSpecification => ({
    type: q.type,
    params: { step: name },
    name,
    after,
    ...extra,
  });
  const flowKeys = async (q: RedisJobQueue): Promise<string[]> => {
    const names = ['waiting', 'f-pending', 'f-policy', 'f-dependents'];
    const out: string[] = [];
    for (const n of names) if ((await client.exists(`${q.keys.base}${n}`)) === 1) out.push(n);
    return out;
  };

  test('a flow survives the loss of every client: a new connection runs the rest', async () => {
    const first = new Redis(url, { maxRetriesPerRequest: 1 });
    const type = `restart-${Date.now().toString(36)}`;
    const a = new RedisJobQueue({
      type,
      domain: 'flow',
      client: first,
      prefix,
      claimTTL: 60,
      maintenanceInterval: null,
    });
    await a.pushFlow([step(a, 'x'), step(a, 'y', ['x']), step(a, 'z', ['y'])]);
    const x = await a.pop();
    expect(x?.params.step).toBe('x');
    await a.close();
    await first.quit();

    const b = queue({ type, claimTTL: 60 });
    expect(await b.getWaitingCount()).toBe(2);
    expect(await b.pop()).toBeNull();
    expect(await b.ack(x as NonNullable<typeof x>)).toBe(true); // the claim token is in Redis, not in the client
    const y = await b.pop();
    expect(y?.params.step).toBe('y');
    await b.ack(y as NonNullable<typeof y>);
    const z = await b.pop();
    expect(z?.params.step).toBe('z');
    await b.ack(z as NonNullable<typeof z>);
    expect(await flowKeys(b)).toEqual([]);
  });

  test('no flow key is left once a flow settled, by success, failure or cancel', async () => {
    const q = queue({ claimTTL: 60, maxTries: 1 });
    const { ids } = await q.pushFlow([
      step(q, 'a'),
      step(q, 'b', ['a']),
      step(q, 'c', ['a'], { onDependencyFailure: 'ignore' }),
      step(q, 'd', ['b', 'c']),
      step(q, 'e'),
      step(q, 'f', ['e']),
    ]);
    expect(await flowKeys(q)).toEqual(['waiting', 'f-pending', 'f-policy', 'f-dependents']);
    const popped = [await q.pop(), await q.pop()];
    const a = popped.find((j) => j?.params.step === 'a');
    expect(await q.release(a as NonNullable<typeof a>)).toBe('abandoned'); // b abandoned (and d), c ready
    const c = (await q.pop()) as NonNullable<Awaited<ReturnType<typeof q.pop>>>;
    expect(c.params.step).toBe('c');
    await q.ack(c);
    expect(await q.cancel(ids.f as string)).toBe('waiting');
    const e = popped.find((j) => j?.params.step === 'e');
    await q.ack(e as NonNullable<typeof e>);
    expect(await q.pop()).toBeNull();
    expect(await flowKeys(q)).toEqual([]);
    expect((await client.zrange(q.keys.abandoned, '0', '-1')).length).toBe(3); // a, b, d
  });

  test('the aggregator hears of jobs a settled link made ready (ack-pop with prefetch, batch ack, release, cancel)', async () => {
    // The real in-process aggregator, counting the non-empty marks it is sent.
    let marks = 0;
    const aggregator = new (class extends MemoryAggregator {
      override notifyQueueNonEmpty(domain: string, type: string): Promise<void> {
        marks++;
        return super.notifyQueueNonEmpty(domain, type);
      }
    })();
    const q = queue({ claimTTL: 60, maxTries: 1, aggregator, prefetch: 8 });
    const ready = async () => {
      const seen = marks > 0;
      marks = 0;
      return seen;
    };
    const forget = (): void => {
      marks = 0;
    };
    const { ids } = await q.pushFlow([
      step(q, 'a'),
      step(q, 'b', ['a']),
      step(q, 'c', ['b'], { onDependencyFailure: 'ignore' }),
      step(q, 'd', ['c'], { onDependencyFailure: 'ignore' }),
      step(q, 'e', ['d']),
    ]);
    const a = await q.pop();
    forget();
    await q.ack(a as NonNullable<typeof a>); // through the exchange (ack-pop)
    expect(await ready()).toBe(true);
    const b = await q.pop();
    expect(b?.params.step).toBe('b');
    forget();
    expect(await q.release(b as NonNullable<typeof b>)).toBe('abandoned'); // c ignores it
    expect(await ready()).toBe(true);
    const c = await q.pop();
    expect(c?.params.step).toBe('c');
    forget();
    expect(await q.cancel(ids.c as string)).toBe('claimed'); // d ignores it
    expect(await ready()).toBe(true);
    const d = await q.pop();
    expect(d?.params.step).toBe('d');
    forget();
    expect(await q.ackBatch([d as NonNullable<typeof d>])).toEqual([true]);
    expect(await ready()).toBe(true);
    expect((await q.pop())?.params.step).toBe('e');
  });

  test('flow jobs made ready keep their priority and their group', async () => {
    const clock = new ManualClock(Date.now());
    const q = queue({ claimTTL: 60, clock, groupLimits: { maxConcurrent: 1 } });
    await q.pushFlow([
      step(q, 'root'),
      step(q, 'low', ['root'], { priority: -5 }),
      step(q, 'high', ['root'], { priority: 9 }),
      step(q, 'g1', ['root'], { groupKey: 'tenant' }),
      step(q, 'g2', ['root'], { groupKey: 'tenant' }),
      step(q, 'plain', ['root']),
    ]);
    const root = await q.pop();
    await q.ack(root as NonNullable<typeof root>);
    const order: string[] = [];
    for (let j = await q.pop(); j; j = await q.pop()) order.push(String(j.params.step)); // never acked
    // The group's cap of 1 holds g2 back; the keyless jobs pop by priority.
    expect(order.filter((s) => !s.startsWith('g'))).toEqual(['high', 'plain', 'low']);
    expect(order.filter((s) => s.startsWith('g'))).toEqual(['g1']);
  });
});
