import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, test } from 'vitest';
import { memoryBackend } from '../../src/backends/memory/index.js';
import { Chron, type MaintenancePassResult, runMaintenancePass } from '../../src/chron/index.js';
import { ManualClock } from '../../src/core/clock.js';
import type { ResolvedConfig, ResolvedQueueConf } from '../../src/core/config-types.js';
import { JobQueueFarm } from '../../src/core/farm.js';
import { silentLogger } from '../../src/runner/handlers.js';
import { memoryGroup } from '../runner/helpers.js';

function entry(path: string, extra: ResolvedQueueConf['queue'] = {}): ResolvedQueueConf {
  return Object.freeze({
    path,
    class: 'memory',
    backend: memoryBackend,
    connection: 'mem',
    queue: Object.freeze({ order: 'fifo' as const, claimTTL: 10, maintenanceInterval: null, ...extra }),
    settings: Object.freeze({}),
  });
}

/** A farm over a fresh memory store: domains a and b, types x and y; `ro` is read-only. */
function farmOf(clock: ManualClock): JobQueueFarm {
  const config: ResolvedConfig = Object.freeze({
    source: 'object',
    connections: Object.freeze({
      mem: Object.freeze({
        path: 'connections.mem',
        name: 'mem',
        class: 'memory',
        backend: memoryBackend,
        settings: Object.freeze({ store: `chron-${randomUUID()}` }),
      }),
    }),
    jobTypeConf: Object.freeze({
      default: entry('jobTypeConf.default'),
      ro: entry('jobTypeConf.ro', { readOnlyReason: 'migrating' }),
    }),
    typesExcludedFromDefaultQueue: Object.freeze([]),
    jobTypes: Object.freeze(['x', 'y']),
    readOnlyReason: null,
    defaultDomain: 'a',
    domains: Object.freeze(['a', 'b']),
    sections: Object.freeze({}),
  });
  return new JobQueueFarm(config, { clock });
}

const farms: JobQueueFarm[] = [];
afterEach(async () => {
  await Promise.all(farms.splice(0).map((f) => f.close()));
});

describe('runMaintenancePass', () => {
  test('recycles expired claims across two domains and types, with counts', async () => {
    const clock = new ManualClock(1_000_000);
    const farm = farmOf(clock);
    farms.push(farm);
    for (const d of ['a', 'b']) {
      const g = farm.group(d);
      await g.push([
        { type: 'x', params: { i: 1 } },
        { type: 'x', params: { i: 2 } },
        { type: 'y', params: { i: 3 } },
      ]);
      for (const t of ['x', 'x', 'y']) expect(await g.pop(t)).not.toBeNull();
    }
    const before = await runMaintenancePass(farm, { types: ['x', 'y'] });
    expect(before.totals).toEqual({ recycled: 0, abandoned: 0, pruned: 0, released: 0 });
    expect(before.queues).toHaveLength(4);

    clock.advance(11_000);
    const r = await runMaintenancePass(farm, { types: ['x', 'y'] });
    expect(r.errors).toEqual([]);
    expect(r.skipped).toEqual([]);
    expect(r.aborted).toBe(false);
    expect(r.totals.recycled).toBe(6);
    const byQueue = Object.fromEntries(r.queues.map((q) => [`${q.domain}/${q.type}`, q.recycled]));
    expect(byQueue).toEqual({ 'a/x': 2, 'a/y': 1, 'b/x': 2, 'b/y': 1 });
    // the jobs are ready again
    expect(await farm.group('b').pop('x')).not.toBeNull();

    const domainB = await runMaintenancePass(farm, { domains: ['b'], types: ['x'] });
    expect(domainB.queues.map((q) => q.domain)).toEqual(['b']);
  });

  test('skips read-only queues without failing the pass', async () => {
    const clock = new ManualClock(1_000_000);
    const farm = farmOf(clock);
    farms.push(farm);
    await farm.group('a').push({ type: 'x', params: {} });
    expect(await farm.group('a').pop('x')).not.toBeNull();
    clock.advance(11_000);
    const r = await runMaintenancePass(farm, { types: ['ro', 'x'] });
    expect(r.errors).toEqual([]);
    expect(r.skipped).toEqual([
      { domain: 'a', type: 'ro', reason: 'read-only' },
      { domain: 'b', type: 'ro', reason: 'read-only' },
    ]);
    expect(r.totals.recycled).toBe(1);

    const g = memoryGroup({}, { readOnlyReason: 'maintenance', jobTypes: ['x', 'y'] });
    try {
      const whole = await runMaintenancePass(g);
      expect(whole.skipped.map((s) => s.reason)).toEqual(['read-only', 'read-only']);
      expect(whole.queues).toEqual([]);
      expect(whole.errors).toEqual([]);
    } finally {
      await g.close();
    }
  });

  test('an aborted signal stops the pass before any queue', async () => {
    const farm = farmOf(new ManualClock());
    farms.push(farm);
    const r = await runMaintenancePass(farm, { signal: AbortSignal.abort() });
    expect(r.aborted).toBe(true);
    expect(r.queues).toEqual([]);
  });
});

describe('Chron', () => {
  test('start runs passes periodically and stop waits, then no more passes', async () => {
    const clock = new ManualClock(1_000_000);
    const farm = farmOf(clock);
    farms.push(farm);
    await farm.group('a').push({ type: 'x', params: {} });
    expect(await farm.group('a').pop('x')).not.toBeNull();
    clock.advance(11_000);

    const passes: MaintenancePassResult[] = [];
    let resolveTwo: () => void = () => {};
    const two = new Promise<void>((r) => {
      resolveTwo = r;
    });
    const chron = new Chron(farm, {
      interval: 0.05,
      logger: silentLogger,
      types: ['x', 'y'],
      onPass: (r) => {
        passes.push(r);
        if (passes.length === 2) resolveTwo();
      },
    });
    chron.start();
    chron.start(); // idempotent
    expect(chron.running).toBe(true);
    await two;
    await chron.stop();
    expect(chron.running).toBe(false);
    expect(passes[0]?.totals.recycled).toBe(1);
    expect(passes[1]?.totals.recycled).toBe(0);
    const count = passes.length;
    await new Promise((r) => setTimeout(r, 120));
    expect(passes.length).toBe(count);
    await chron.stop(); // idempotent
  });

  test('can be restarted after stop', async () => {
    const farm = farmOf(new ManualClock());
    farms.push(farm);
    let passes = 0;
    const chron = new Chron(farm, { interval: 0.05, logger: silentLogger, onPass: () => void passes++ });
    chron.start();
    await chron.stop();
    chron.start();
    for (let i = 0; i < 100 && passes < 2; i++) await new Promise((r) => setTimeout(r, 10));
    await chron.stop();
    expect(passes).toBeGreaterThanOrEqual(1);
  });

  test('rejects a bad interval', () => {
    const farm = farmOf(new ManualClock());
    farms.push(farm);
    expect(() => new Chron(farm, { interval: 0 })).toThrow(TypeError);
  });
});
