/**
 * The aggregator wired into the core (promises §7): queues notify it after pushes, releases and
 * maintenance, and after empty pops (observedAt = the pop's start); a failing aggregator never
 * fails a queue call. Plus the `aggregator` config section, the registry and createAggregator.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { MemoryAggregator, memoryAggregator } from '../../src/aggregators/memory/index.js';
import { MemoryJobQueue } from '../../src/backends/memory/index.js';
import {
  createAggregator,
  createFarmWithAggregator,
  createRegistry,
  defaultAggregatorRegistry,
  registerAggregator,
  resolveConfig,
} from '../../src/container.js';
import type { JobQueueAggregator, ReadyQueueMap } from '../../src/core/aggregator.js';
import { ManualClock } from '../../src/core/clock.js';
import { ErrorCode, isSwitchyardError, type SwitchyardError } from '../../src/core/errors.js';
import { createJobQueueGroup } from '../../src/core/farm.js';
import type { NormalizedJob } from '../../src/core/job.js';
import { JobQueue, type JobQueueOptions, type PushResult } from '../../src/core/job-queue.js';
import { CountingMetrics } from '../../src/core/metrics.js';

/** A push-only queue (as EventBus): stores nothing, cannot pop. */
class PushOnlyQueue extends JobQueue {
  constructor(options: JobQueueOptions) {
    super('push-only', { pop: false, ack: false }, options);
  }

  protected doBatchPush(jobs: readonly NormalizedJob[]): Promise<PushResult> {
    return Promise.resolve({ inserted: jobs.length, duplicates: 0 });
  }
}

type Call = [op: string, domain: string, type: string, at?: number];

/** Records every notification, then forwards it (or fails, when told to). */
class SpyAggregator implements JobQueueAggregator {
  readonly name = 'spy';
  readonly calls: Call[] = [];
  fail = false;
  readonly inner: MemoryAggregator;

  constructor(clock: ManualClock) {
    this.inner = new MemoryAggregator({ clock });
  }

  async notifyQueueNonEmpty(domain: string, type: string): Promise<void> {
    this.calls.push(['nonEmpty', domain, type]);
    if (this.fail) throw new Error('aggregator down');
    await this.inner.notifyQueueNonEmpty(domain, type);
  }

  async notifyQueueEmpty(domain: string, type: string, observedAt?: number): Promise<void> {
    this.calls.push(['empty', domain, type, observedAt as number]);
    if (this.fail) throw new Error('aggregator down');
    await this.inner.notifyQueueEmpty(domain, type, observedAt);
  }

  getAllReadyQueues(): Promise<ReadyQueueMap | null> {
    return this.inner.getAllReadyQueues();
  }

  replaceReadyQueues(map: ReadyQueueMap, builtAt?: number): Promise<void> {
    return this.inner.replaceReadyQueues(map, builtAt);
  }

  purge(): Promise<void> {
    return this.inner.purge();
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

function setup(extra: { metrics?: CountingMetrics } = {}) {
  const clock = new ManualClock(1_000_000);
  const spy = new SpyAggregator(clock);
  const queue = new MemoryJobQueue({
    domain: 'enwiki',
    type: 'refreshLinks',
    clock,
    claimTTL: 10,
    maintenanceInterval: null,
    aggregator: spy,
    ...extra,
  });
  return { clock, spy, queue };
}

describe('queues notify their aggregator', () => {
  test('a push that stores jobs notifies non-empty; a push of duplicates only does not', async () => {
    const { spy, queue } = setup();
    await queue.push({ type: 'refreshLinks', params: { a: 1 }, removeDuplicates: true });
    expect(spy.calls).toEqual([['nonEmpty', 'enwiki', 'refreshLinks']]);
    await queue.push({ type: 'refreshLinks', params: { a: 1 }, removeDuplicates: true });
    await queue.push([]);
    expect(spy.calls).toHaveLength(1);
  });

  test('an empty pop notifies empty with observedAt = the time the pop started', async () => {
    const { spy, queue, clock } = setup();
    const startedAt = clock.now();
    expect(await queue.pop()).toBeNull();
    expect(await queue.popBatch(3)).toEqual([]);
    expect(spy.calls).toEqual([
      ['empty', 'enwiki', 'refreshLinks', startedAt],
      ['empty', 'enwiki', 'refreshLinks', startedAt],
    ]);
  });

  test('a pop that finds a job does not notify', async () => {
    const { spy, queue } = setup();
    await queue.push({ type: 'refreshLinks', params: {} });
    spy.calls.length = 0;
    expect(await queue.pop()).not.toBeNull();
    expect(spy.calls).toEqual([]);
  });

  test('release to ready, recycling maintenance and repushAbandoned notify non-empty', async () => {
    const { spy, queue, clock } = setup();
    await queue.push([
      { type: 'refreshLinks', params: { n: 1 } },
      { type: 'refreshLinks', params: { n: 2 } },
    ]);
    const a = await queue.pop();
    const b = await queue.pop();
    spy.calls.length = 0;
    expect(await queue.release(a as NonNullable<typeof a>)).toBe('released');
    expect(spy.calls).toEqual([['nonEmpty', 'enwiki', 'refreshLinks']]);
    await queue.release(b as NonNullable<typeof b>, { delay: 60 });
    expect(spy.calls).toHaveLength(1); // delayed: not ready yet
    expect(await queue.pop()).not.toBeNull(); // a again, now claimed
    clock.advance(11_000); // past claimTTL
    spy.calls.length = 0;
    const m = await queue.runMaintenance();
    expect(m.recycled).toBe(1);
    expect(spy.calls).toEqual([['nonEmpty', 'enwiki', 'refreshLinks']]);
  });

  test('a push-only queue never marks itself ready (runners could not pop it)', async () => {
    const clock = new ManualClock(1_000_000);
    const spy = new SpyAggregator(clock);
    const queue = new PushOnlyQueue({ type: 'x', domain: 'd', clock, aggregator: spy });
    expect(await queue.push({ type: 'x', params: {} })).toEqual({ inserted: 1, duplicates: 0 });
    expect(spy.calls).toEqual([]);
  });

  test('a failing aggregator never fails push or pop: the failure is counted', async () => {
    const metrics = new CountingMetrics();
    const { spy, queue } = setup({ metrics });
    spy.fail = true;
    expect(await queue.push({ type: 'refreshLinks', params: {} })).toEqual({ inserted: 1, duplicates: 0 });
    expect(await queue.pop()).not.toBeNull();
    expect(await queue.pop()).toBeNull();
    expect(metrics.total('errors')).toBe(2);
    const errorKeys = [...metrics.counters.keys()].filter((k) => k.startsWith('errors|'));
    expect(errorKeys.length).toBeGreaterThan(0);
    expect(errorKeys.every((k) => k.endsWith('|aggregator'))).toBe(true);
  });

  test('non-empty wins: a push during a pop that comes back empty keeps the queue marked', async () => {
    const { spy, queue, clock } = setup();
    await spy.replaceReadyQueues({});
    const popStart = clock.now();
    clock.advance(5);
    await queue.push({ type: 'refreshLinks', params: {} }); // lands while the pop ran
    await spy.notifyQueueEmpty('enwiki', 'refreshLinks', popStart); // the pop's late "empty"
    expect(await spy.getAllReadyQueues()).toEqual({ refreshLinks: ['enwiki'] });
  });
});

// ---------------------------------------------------------------- config and registry

function issuesOf(error: unknown): SwitchyardError['issues'] {
  expect(isSwitchyardError(error, ErrorCode.CONFIG_INVALID)).toBe(true);
  return (error as SwitchyardError).issues;
}

async function configError(p: Promise<unknown>): Promise<SwitchyardError> {
  try {
    await p;
  } catch (error) {
    issuesOf(error);
    return error as SwitchyardError;
  }
  throw new Error('expected SWITCHYARD_CONFIG_INVALID');
}

const base = (aggregator?: unknown) => ({
  connections: { mem: { class: 'memory', store: `s-${randomUUID()}` } },
  jobTypeConf: { default: { class: 'memory', connection: 'mem', maintenanceInterval: null } },
  jobTypes: ['x', 'y'],
  domains: ['a', 'b'],
  ...(aggregator === undefined ? {} : { aggregator }),
});

describe('the aggregator config section', () => {
  test('an unknown class names the path and the valid choices', async () => {
    const err = await configError(resolveConfig(base({ class: 'nosuch' })));
    const issue = err.issues.find((i) => i.path === 'aggregator.class');
    expect(issue).toMatchObject({ value: 'nosuch' });
    expect(issue?.choices).toEqual(expect.arrayContaining(['memory', 'redis', 'sql']));
  });

  test('bad shared keys and class settings are reported with their paths', async () => {
    const err = await configError(
      resolveConfig(base({ class: 'redis', cacheTTL: -1, connection: 7, prefix: 'a b', nope: 1 })),
    );
    expect(err.issues.map((i) => i.path).sort()).toEqual(
      ['aggregator.cacheTTL', 'aggregator.connection', 'aggregator.nope', 'aggregator.prefix'].sort(),
    );
    await configError(resolveConfig(base('memory')));
    await configError(resolveConfig(base({})));
  });

  test('cacheTTL accepts null and an interpolated number', async () => {
    const c1 = await resolveConfig(base({ class: 'memory', cacheTTL: null }));
    expect(((await createAggregator(c1)) as MemoryAggregator).cacheTTL).toBeNull();
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a config ${ENV} reference, not a template
    const c2 = await resolveConfig(base({ class: 'memory', cacheTTL: '${TTL}' }), { env: { TTL: '42' } });
    expect(((await createAggregator(c2)) as MemoryAggregator).cacheTTL).toBe(42);
  });

  test('createAggregator() returns null without a section, and checks the connection name', async () => {
    const none = await resolveConfig({ jobTypeConf: { default: { class: 'memory' } } });
    expect(await createAggregator(none)).toBeNull();
    const c = await resolveConfig(base({ class: 'sql', connection: 'missing' }));
    const err = await configError(createAggregator(c));
    expect(err.issues[0]).toMatchObject({
      path: 'aggregator.connection',
      value: 'missing',
      choices: ['mem'],
    });
    const wrong = await resolveConfig(base({ class: 'redis', connection: 'mem' }));
    const err2 = await configError(createAggregator(wrong));
    expect(err2.issues[0]?.path).toBe('aggregator.connection');
  });

  test('a host-registered class is accepted by the config and built by createAggregator()', async () => {
    const name = `custom-${randomUUID().slice(0, 8)}`;
    let built = 0;
    registerAggregator(name, {
      create: (ctx) => {
        built++;
        expect(ctx.settings).toEqual({ flavour: 'x' });
        return new MemoryAggregator(ctx.cacheTTL === undefined ? {} : { cacheTTL: ctx.cacheTTL });
      },
    });
    expect(defaultAggregatorRegistry.names()).toContain(name);
    const config = await resolveConfig(base({ class: name, flavour: 'x', cacheTTL: 9 }));
    const agg = await createAggregator(config);
    expect(built).toBe(1);
    expect((agg as MemoryAggregator).cacheTTL).toBe(9);
    expect(() => registerAggregator(name, memoryAggregator)).toThrow(/already registered/);
    expect(() => registerAggregator('memory', memoryAggregator)).toThrow(/built-in/);
  });

  test('the backend registry is separate: createRegistry() does not see aggregator names', () => {
    expect(createRegistry().names()).not.toContain('memory-aggregator');
  });

  test('a sql aggregator reuses a named sqlite connection lent by the farm', async () => {
    const config = await resolveConfig({
      connections: { db: { class: 'sql', filename: ':memory:' } },
      jobTypeConf: { default: { class: 'sql', connection: 'db', maintenanceInterval: null } },
      jobTypes: ['x'],
      domains: ['a'],
      aggregator: { class: 'sql', connection: 'db', prefix: 'agg_' },
    });
    const farm = await createFarmWithAggregator(config);
    try {
      const agg = farm.aggregator;
      expect(agg?.name).toBe('sql');
      await agg?.replaceReadyQueues({});
      await farm.group('a').push({ type: 'x', params: {} });
      expect(await agg?.getAllReadyQueues()).toEqual({ x: ['a'] });
    } finally {
      await farm.close();
    }
  });
});

describe('farms and groups pass the aggregator to their queues', () => {
  test('createFarmWithAggregator(): pushes and empty pops through groups reach the map', async () => {
    const store = `agg-${randomUUID()}`;
    const config = await resolveConfig(base({ class: 'memory', store }));
    const farm = await createFarmWithAggregator(config);
    const agg = farm.aggregator as JobQueueAggregator;
    expect(agg.name).toBe('memory');
    await agg.replaceReadyQueues({});
    await farm.group('a').push({ type: 'x', params: {} });
    await farm.group('b').push({ type: 'y', params: {} });
    expect(await agg.getAllReadyQueues()).toEqual({ x: ['a'], y: ['b'] });
    const job = await farm.group('a').pop('x');
    expect(job).not.toBeNull();
    await new Promise((r) => setTimeout(r, 2));
    expect(await farm.group('a').pop('x')).toBeNull();
    expect(await agg.getAllReadyQueues()).toEqual({ y: ['b'] });
    await farm.close();
    await expect(agg.getAllReadyQueues()).rejects.toMatchObject({ code: ErrorCode.QUEUE_CLOSED });
  });

  test('createJobQueueGroup() passes a host aggregator and leaves it open', async () => {
    const config = await resolveConfig(base());
    const agg = new MemoryAggregator();
    const group = createJobQueueGroup(config, 'a', { aggregator: agg });
    expect(group.aggregator).toBe(agg);
    expect(group.get('x').aggregator).toBe(agg);
    await agg.replaceReadyQueues({});
    await group.push({ type: 'x', params: {} });
    expect(await agg.getAllReadyQueues()).toEqual({ x: ['a'] });
    await group.close();
    expect(await agg.getAllReadyQueues()).toEqual({ x: ['a'] });
    await agg.close();
  });
});
