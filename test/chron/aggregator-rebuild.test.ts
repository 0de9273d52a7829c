/**
 * The chron's aggregator rebuild (promises §7, §8): the map is rebuilt from the queues of every
 * domain and swapped in at once; lost notifications heal; a domain that cannot be read stops the
 * swap; the Chron rebuilds after each maintenance pass.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { MemoryAggregator } from '../../src/aggregators/memory/index.js';
import { type AggregatorRebuildResult, Chron, rebuildAggregator } from '../../src/chron/index.js';
import { resolveConfig } from '../../src/container.js';
import { ManualClock } from '../../src/core/clock.js';
import { JobQueueFarm } from '../../src/core/farm.js';
import { silentLogger } from '../../src/runner/handlers.js';

async function farmOf(clock: ManualClock, aggregator: MemoryAggregator | null): Promise<JobQueueFarm> {
  const config = await resolveConfig({
    connections: { mem: { class: 'memory', store: `rebuild-${randomUUID()}` } },
    jobTypeConf: { default: { class: 'memory', connection: 'mem', claimTTL: 10, maintenanceInterval: null } },
    jobTypes: ['x', 'y', 'z'],
    domains: ['a', 'b', 'c'],
  });
  return new JobQueueFarm(config, { clock, aggregator });
}

describe('rebuildAggregator()', () => {
  test('builds the map from every domain’s queues with jobs and reports counts', async () => {
    const clock = new ManualClock(5_000_000);
    const agg = new MemoryAggregator({ clock });
    // push without the aggregator: the notifications are "lost"
    const silent = await farmOf(clock, null);
    const farm = new JobQueueFarm(silent.config, { clock, aggregator: agg });
    await silent.group('a').push([
      { type: 'x', params: {} },
      { type: 'y', params: {} },
    ]);
    await silent.group('c').push({ type: 'x', params: {} });
    expect(await agg.getAllReadyQueues()).toBeNull();
    const result = await rebuildAggregator(farm);
    expect(result).toMatchObject({
      swapped: true,
      builtAt: 5_000_000,
      domains: 3,
      types: 2,
      readyQueues: 3,
      errors: [],
      aborted: false,
    });
    const map = await agg.getAllReadyQueues();
    expect(map && Object.fromEntries(Object.entries(map).map(([t, d]) => [t, [...d].sort()]))).toEqual({
      x: ['a', 'c'],
      y: ['a'],
    });
    await farm.close();
    await silent.close();
  });

  test('an empty farm rebuilds to {} (not null), and stale marks are dropped', async () => {
    const clock = new ManualClock(5_000_000);
    const agg = new MemoryAggregator({ clock });
    const farm = await farmOf(clock, agg);
    await agg.notifyQueueNonEmpty('b', 'z'); // stale: no such job
    clock.advance(10);
    const result = await rebuildAggregator(farm);
    expect(result).toMatchObject({ swapped: true, readyQueues: 0, types: 0 });
    expect(await agg.getAllReadyQueues()).toEqual({});
    await farm.close();
  });

  test('a push made while the rebuild reads the queues survives the swap', async () => {
    const clock = new ManualClock(5_000_000);
    const agg = new MemoryAggregator({ clock });
    const farm = await farmOf(clock, agg);
    const group = farm.group('a');
    const original = group.getQueuesWithJobs.bind(group);
    group.getQueuesWithJobs = async () => {
      const types = await original();
      clock.advance(5);
      // a push into a domain this rebuild does not read, after the rebuild started
      await farm.group('b').push({ type: 'y', params: {} });
      return types;
    };
    const result = await rebuildAggregator(farm, { domains: ['a'] });
    expect(result.swapped).toBe(true);
    expect(await agg.getAllReadyQueues()).toEqual({ y: ['b'] });
    await farm.close();
  });

  test('a domain that cannot be read stops the swap; the old map stays', async () => {
    const clock = new ManualClock(5_000_000);
    const agg = new MemoryAggregator({ clock });
    const farm = await farmOf(clock, agg);
    await agg.replaceReadyQueues({ old: ['a'] });
    const group = farm.group('b');
    group.getQueuesWithJobs = () => Promise.reject(new Error('store down'));
    const result = await rebuildAggregator(farm);
    expect(result.swapped).toBe(false);
    expect(result.errors.map((e) => e.domain)).toEqual(['b']);
    expect(await agg.getAllReadyQueues()).toEqual({ old: ['a'] });
    await farm.close();
  });

  test('an aborted rebuild swaps nothing; without an aggregator it only counts', async () => {
    const clock = new ManualClock(5_000_000);
    const agg = new MemoryAggregator({ clock });
    const farm = await farmOf(clock, agg);
    const ac = new AbortController();
    ac.abort();
    expect(await rebuildAggregator(farm, { signal: ac.signal })).toMatchObject({
      swapped: false,
      aborted: true,
    });
    expect(await agg.getAllReadyQueues()).toBeNull();
    await farm.group('a').push({ type: 'x', params: {} });
    expect(await rebuildAggregator(farm, { aggregator: null })).toMatchObject({
      swapped: false,
      readyQueues: 1,
    });
    expect(await rebuildAggregator(farm.group('a'))).toMatchObject({ swapped: true, domains: 1 });
    expect(await agg.getAllReadyQueues()).toEqual({ x: ['a'] });
    await farm.close();
  });
});

describe('Chron rebuilds the aggregator after each maintenance pass', () => {
  test('expired claims recycled by the pass are in the rebuilt map', async () => {
    const clock = new ManualClock(5_000_000);
    const agg = new MemoryAggregator({ clock });
    const farm = await farmOf(clock, agg);
    await farm.group('b').push({ type: 'z', params: {} });
    expect(await farm.group('b').pop('z')).not.toBeNull();
    await farm.group('b').pop('z'); // empty pop: b/z marked empty
    clock.advance(11_000); // the claim expires
    const rebuilds: AggregatorRebuildResult[] = [];
    const chron = new Chron(farm, {
      interval: 3600,
      logger: silentLogger,
      onRebuild: (r) => rebuilds.push(r),
    });
    chron.start();
    for (let i = 0; i < 100 && rebuilds.length === 0; i++) await new Promise((r) => setTimeout(r, 5));
    await chron.stop();
    expect(rebuilds[0]).toMatchObject({ swapped: true, readyQueues: 1 });
    expect(await agg.getAllReadyQueues()).toEqual({ z: ['b'] });
    await farm.close();
  });
});
