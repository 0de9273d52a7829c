import { randomUUID } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import {
  MemoryJobQueue,
  type MemoryJobQueueOptions,
  MemoryStore,
  memoryBackend,
} from '../../src/backends/memory/index.js';
import type { BackendConnection, BackendContext, BackendModule } from '../../src/core/backend.js';
import { ManualClock } from '../../src/core/clock.js';
import type {
  ResolvedConfig,
  ResolvedConnectionConf,
  ResolvedQueueConf,
} from '../../src/core/config-types.js';
import { ErrorCode, isSwitchyardError, type SwitchyardError } from '../../src/core/errors.js';
import { createJobQueueGroup } from '../../src/core/farm.js';
import type { Job, JobSpecification, NormalizedJob } from '../../src/core/job.js';
import {
  type ClaimedJob,
  type ClaimRef,
  JobQueue,
  type JobQueueOptions,
  type MaintenanceResult,
  type PushResult,
} from '../../src/core/job-queue.js';
import {
  ANY,
  type ConnectionProvider,
  DEFAULT,
  JobQueueGroup,
  type JobQueueGroupOptions,
} from '../../src/core/job-queue-group.js';
import { CountingMetrics } from '../../src/core/metrics.js';
import { defineSupports } from '../../src/core/supports.js';

// ---------------------------------------------------------------- config helpers

/** An entry's queue options, plus (optionally) its class, backend, connection and settings. */
type EntryInput = ResolvedQueueConf['queue'] & {
  readonly backend?: BackendModule;
  readonly class?: string;
  readonly connection?: string | null;
  readonly settings?: ResolvedQueueConf['settings'];
};

interface ConfigInput {
  /** Named connections (default: `mem` and `other`, two private memory stores). */
  readonly connections?: Record<string, { backend: BackendModule; settings?: Record<string, unknown> }>;
  readonly default?: EntryInput;
  readonly types?: Record<string, EntryInput>;
  readonly excluded?: readonly string[];
  readonly jobTypes?: readonly string[];
  readonly readOnlyReason?: string | null;
}

function entry(path: string, input: EntryInput): ResolvedQueueConf {
  const {
    backend = memoryBackend,
    settings = {},
    class: name = 'memory',
    connection = 'mem',
    ...queue
  } = input;
  return Object.freeze({
    path,
    class: name,
    backend,
    connection,
    queue: Object.freeze(queue),
    settings: Object.freeze(settings),
  });
}

/** A frozen ResolvedConfig over the memory backend (no config.ts involved). */
function makeConfig(input: ConfigInput = {}): ResolvedConfig {
  const conns = input.connections ?? {
    mem: { backend: memoryBackend, settings: { store: `s-${randomUUID()}` } },
    other: { backend: memoryBackend, settings: { store: `s-${randomUUID()}` } },
  };
  const connections: Record<string, ResolvedConnectionConf> = {};
  for (const [name, c] of Object.entries(conns)) {
    connections[name] = Object.freeze({
      path: `connections.${name}`,
      name,
      class: 'memory',
      backend: c.backend,
      settings: Object.freeze(c.settings ?? {}),
    });
  }
  const jobTypeConf: Record<string, ResolvedQueueConf> = {
    default: entry('jobTypeConf.default', input.default ?? {}),
  };
  for (const [type, e] of Object.entries(input.types ?? {}))
    jobTypeConf[type] = entry(`jobTypeConf.${type}`, e);
  return Object.freeze({
    source: 'object',
    connections: Object.freeze(connections),
    jobTypeConf: Object.freeze(jobTypeConf) as ResolvedConfig['jobTypeConf'],
    typesExcludedFromDefaultQueue: Object.freeze([...(input.excluded ?? [])]),
    jobTypes: Object.freeze([...(input.jobTypes ?? [])]),
    readOnlyReason: input.readOnlyReason ?? null,
    defaultDomain: 'default',
    domains: Object.freeze([]),
    sections: Object.freeze({}),
  });
}

/** Opens each connection once; records what it opened and closed. */
class TestPool implements ConnectionProvider {
  readonly open = new Map<string, BackendConnection>();
  readonly closed: string[] = [];
  constructor(readonly config: ResolvedConfig) {}
  connection(name: string): BackendConnection {
    let c = this.open.get(name);
    if (!c) {
      const conf = this.config.connections[name];
      if (!conf?.backend.openConnection) throw new Error(`no connection ${name}`);
      const inner = conf.backend.openConnection(conf.settings);
      c = {
        handle: inner.handle,
        close: async () => {
          this.closed.push(name);
          await inner.close();
        },
      };
      this.open.set(name, c);
    }
    return c;
  }
}

/** The connections of `config`, for a second config over the same stores. */
function sameStores(config: ResolvedConfig): NonNullable<ConfigInput['connections']> {
  const out: NonNullable<ConfigInput['connections']> = {};
  for (const [name, c] of Object.entries(config.connections)) {
    out[name] = { backend: c.backend, settings: { ...c.settings } };
  }
  return out;
}

function makeGroup(
  config: ResolvedConfig,
  options: JobQueueGroupOptions & { domain?: string } = {},
): { group: JobQueueGroup; pool: TestPool } {
  const pool = new TestPool(config);
  const { domain = 'enwiki', ...rest } = options;
  return { group: new JobQueueGroup(config, domain, pool, rest), pool };
}

// ---------------------------------------------------------------- spy backends

/** Calls the group made on queues, by method. */
class Calls {
  siblingsWithJobs = 0;
  siblingSizes = 0;
  isEmpty = 0;
  getSize = 0;
  readonly pops: string[] = [];
}

/** A memory queue that counts the calls the group makes. */
class SpyQueue extends MemoryJobQueue {
  constructor(
    options: MemoryJobQueueOptions,
    readonly calls: Calls,
    readonly noSiblings = false,
  ) {
    super(options);
  }
  override async getSiblingQueuesWithJobs(types: readonly string[]): Promise<string[] | null> {
    this.calls.siblingsWithJobs++;
    return this.noSiblings ? null : super.getSiblingQueuesWithJobs(types);
  }
  override async getSiblingQueueSizes(types: readonly string[]): Promise<Record<string, number> | null> {
    this.calls.siblingSizes++;
    return this.noSiblings ? null : super.getSiblingQueueSizes(types);
  }
  override isEmpty(): Promise<boolean> {
    this.calls.isEmpty++;
    return super.isEmpty();
  }
  override getSize(): Promise<number> {
    this.calls.getSize++;
    return super.getSize();
  }
  override pop(): Promise<Job<string> | null> {
    this.calls.pops.push(this.type);
    return super.pop();
  }
}

function spyBackend(calls: Calls, noSiblings = false): BackendModule {
  return {
    ...memoryBackend,
    createQueue(ctx: BackendContext): JobQueue {
      const handle = ctx.connection?.handle;
      const store = handle instanceof MemoryStore ? handle : new MemoryStore();
      return new SpyQueue({ ...ctx.queue, store }, calls, noSiblings);
    },
  };
}

/** A push-only queue (EventBus-like): records pushes; counts any read it is asked for. */
class PushOnlyQueue extends JobQueue {
  readonly stored: NormalizedJob[] = [];
  touched = 0;
  fail = false;
  constructor(options: JobQueueOptions) {
    super('pushonly', { pop: false, ack: false }, options);
  }
  protected override async doBatchPush(jobs: readonly NormalizedJob[]): Promise<PushResult> {
    if (this.fail) throw new Error('broker down');
    this.stored.push(...jobs);
    return { inserted: jobs.length, duplicates: 0 };
  }
  override pop(): Promise<Job<string> | null> {
    this.touched++;
    return super.pop();
  }
  override isEmpty(): Promise<boolean> {
    this.touched++;
    return super.isEmpty();
  }
  override getSize(): Promise<number> {
    this.touched++;
    return super.getSize();
  }
  override getSiblingQueuesWithJobs(types: readonly string[]): Promise<string[] | null> {
    this.touched++;
    return super.getSiblingQueuesWithJobs(types);
  }
  override getSiblingQueueSizes(types: readonly string[]): Promise<Record<string, number> | null> {
    this.touched++;
    return super.getSiblingQueueSizes(types);
  }
}

function pushOnlyBackend(made: PushOnlyQueue[]): BackendModule {
  return {
    supports: defineSupports({ pop: false, ack: false }),
    createQueue(ctx: BackendContext): JobQueue {
      const q = new PushOnlyQueue(ctx.queue);
      made.push(q);
      return q;
    },
  };
}

/** A poppable queue with no store identity and no sibling queries (delegates to a memory queue). */
class LoneQueue extends JobQueue {
  readonly inner: MemoryJobQueue;
  constructor(
    options: JobQueueOptions,
    readonly calls: Calls,
  ) {
    super('lone', { pop: true, ack: true, sizes: 'exact', orders: ['fifo'] }, options);
    this.inner = new MemoryJobQueue({ domain: this.domain, type: this.type, maintenanceInterval: null });
  }
  protected override doBatchPush(jobs: readonly NormalizedJob[]): Promise<PushResult> {
    return this.inner.push(jobs.map((j) => ({ type: j.type, params: j.params })));
  }
  protected override async doPop(): Promise<ClaimedJob | null> {
    return this.inner.pop();
  }
  protected override doAck(job: ClaimRef): Promise<boolean> {
    return this.inner.ack(job);
  }
  protected override doGetSize(): Promise<number> {
    return this.inner.getSize();
  }
  protected override doRunMaintenance(): Promise<MaintenanceResult> {
    return this.inner.runMaintenance();
  }
  override isEmpty(): Promise<boolean> {
    this.calls.isEmpty++;
    return super.isEmpty();
  }
}

function loneBackend(calls: Calls): BackendModule {
  return {
    supports: defineSupports({ pop: true, ack: true, sizes: 'exact', orders: ['fifo'] }),
    createQueue: (ctx) => new LoneQueue(ctx.queue, calls),
  };
}

// ---------------------------------------------------------------- assertion helpers

async function rejects(fn: () => Promise<unknown> | unknown, code: string): Promise<SwitchyardError> {
  try {
    await fn();
  } catch (error) {
    if (isSwitchyardError(error) && error.code === code) return error;
    throw new Error(`expected ${code}, got ${String(error)}`);
  }
  throw new Error(`expected ${code}, but the call succeeded`);
}

function specs(type: string, count: number, extra: Partial<JobSpecification> = {}): JobSpecification[] {
  return Array.from({ length: count }, (_, n) => ({ type, params: { n }, ...extra }));
}

/** Drains the group with `pop(selector)`, acking each job; returns the popped types. */
async function drain(
  group: JobQueueGroup,
  selector?: Parameters<JobQueueGroup['pop']>[0],
): Promise<string[]> {
  const out: string[] = [];
  for (let job = await group.pop(selector); job; job = await group.pop(selector)) {
    out.push(job.type);
    await group.ack(job);
  }
  return out;
}

// ================================================================ tests

describe('JobQueueGroup routing', () => {
  test('get(type) uses the per-type entry, else default, and caches one queue per type', () => {
    const config = makeConfig({
      default: { claimTTL: 120 },
      types: { htmlCacheUpdate: { claimTTL: 60, maxTries: 5, order: 'fifo', connection: 'other' } },
    });
    const { group } = makeGroup(config);
    const special = group.get('htmlCacheUpdate');
    const plain = group.get('refreshLinks');
    expect(special.claimTTL).toBe(60);
    expect(special.maxTries).toBe(5);
    expect(special.order).toBe('fifo');
    expect(plain.claimTTL).toBe(120);
    expect(plain.maxTries).toBe(3);
    expect(special.domain).toBe('enwiki');
    expect(plain.domain).toBe('enwiki');
    expect(group.get('refreshLinks')).toBe(plain);
    expect(special.storeKey).not.toBe(plain.storeKey);
    expect(group.get('another').storeKey).toBe(plain.storeKey);
  });

  test('the backend receives the named shared connection, its name, settings, clock and metrics', () => {
    const seen: BackendContext[] = [];
    const spying: BackendModule = {
      ...memoryBackend,
      createQueue(ctx) {
        seen.push(ctx);
        return memoryBackend.createQueue(ctx);
      },
    };
    const config = makeConfig({
      default: { backend: spying, connection: null, settings: { store: `s-${randomUUID()}` } },
      types: { t1: { backend: spying, connection: 'other' } },
    });
    const clock = new ManualClock(1_000_000);
    const metrics = new CountingMetrics();
    const { group, pool } = makeGroup(config, { clock, metrics });
    group.get('t1');
    group.get('t2');
    expect(seen.map((c) => c.connectionName)).toEqual(['other', null]);
    expect(seen[0]?.connection).toBe(pool.open.get('other'));
    expect(seen[1]?.connection).toBeNull();
    expect(seen[1]?.settings.store).toMatch(/^s-/);
    expect(seen[0]?.queue.clock).toBe(clock);
    expect(seen[0]?.queue.metrics).toBe(metrics);
    expect([...pool.open.keys()]).toEqual(['other']);
  });

  test('types named like Object.prototype members route to default', () => {
    const { group } = makeGroup(makeConfig({ default: { claimTTL: 77 } }));
    expect(group.get('constructor').claimTTL).toBe(77);
    expect(group.get('__proto__').claimTTL).toBe(77);
    expect(group.get('toString').claimTTL).toBe(77);
  });

  test('get() rejects an empty type with TypeError and an order the backend lacks with CONFIG_INVALID', async () => {
    const calls = new Calls();
    const { group } = makeGroup(
      makeConfig({ types: { lone: { backend: loneBackend(calls), order: 'random' } } }),
    );
    expect(() => group.get('')).toThrow(TypeError);
    await rejects(() => group.get('lone'), ErrorCode.CONFIG_INVALID);
  });

  test('a queue closed by the host is rebuilt on the next get()', async () => {
    const { group } = makeGroup(makeConfig());
    const q = group.get('t');
    await q.push({ type: 't', params: {} });
    await q.close();
    const again = group.get('t');
    expect(again).not.toBe(q);
    expect(await again.getSize()).toBe(1);
  });

  test('getQueueTypes() = declared jobTypes ∪ per-type entries ∪ types used so far', async () => {
    const { group } = makeGroup(makeConfig({ jobTypes: ['a', 'b'], types: { b: {}, c: {} } }));
    expect(group.getQueueTypes()).toEqual(['a', 'b', 'c']);
    await group.push({ type: 'd', params: {} });
    group.get('e');
    expect(group.getQueueTypes()).toEqual(['a', 'b', 'c', 'd', 'e']);
  });

  test('DEFAULT and ANY are distinct symbols, also reachable as static members', () => {
    expect(typeof DEFAULT).toBe('symbol');
    expect(DEFAULT).not.toBe(ANY);
    expect(JobQueueGroup.DEFAULT).toBe(DEFAULT);
    expect(JobQueueGroup.ANY).toBe(ANY);
  });

  test('the constructor rejects an empty domain', () => {
    const config = makeConfig();
    expect(() => new JobQueueGroup(config, '', new TestPool(config))).toThrow(TypeError);
  });
});

describe('JobQueueGroup push', () => {
  test('push() splits a mixed batch by type and sums the counts', async () => {
    const { group } = makeGroup(makeConfig({ types: { b: { connection: 'other' } } }));
    const result = await group.push([
      { type: 'a', params: { n: 1 } },
      { type: 'b', params: { n: 1 }, removeDuplicates: true },
      { type: 'a', params: { n: 2 } },
      { type: 'b', params: { n: 1 }, removeDuplicates: true },
      { type: 'c', params: { n: 3 } },
    ]);
    expect(result).toEqual({ inserted: 4, duplicates: 1 });
    expect(await group.get('a').getSize()).toBe(2);
    expect(await group.get('b').getSize()).toBe(1);
    expect(await group.get('c').getSize()).toBe(1);
    const again = await group.push({ type: 'b', params: { n: 1 }, removeDuplicates: true });
    expect(again).toEqual({ inserted: 0, duplicates: 1 });
  });

  test('push() takes one spec or an empty batch; a spec may name the group domain', async () => {
    const { group } = makeGroup(makeConfig());
    expect(await group.push([])).toEqual({ inserted: 0, duplicates: 0 });
    expect(await group.push({ type: 'a', params: {}, domain: 'enwiki' })).toEqual({
      inserted: 1,
      duplicates: 0,
    });
    const job = await group.pop('a');
    expect(job?.domain).toBe('enwiki');
  });

  test('bad input anywhere in a mixed batch stores nothing and names the index', async () => {
    const { group } = makeGroup(makeConfig({ types: { b: { connection: 'other' } } }));
    const bad = await rejects(
      () =>
        group.push([
          { type: 'a', params: { n: 1 } },
          { type: 'b', params: { n: 2 } },
          { type: 'c', params: { when: new Date() } as never },
        ]),
      ErrorCode.INVALID_JOB,
    );
    expect(bad.issues.map((i) => i.path)).toEqual(['jobs[2].params.when']);
    const wrongDomain = await rejects(
      () =>
        group.push([
          { type: 'a', params: {} },
          { type: 'b', params: {}, domain: 'dewiki' },
        ]),
      ErrorCode.INVALID_JOB,
    );
    expect(wrongDomain.issues[0]?.path).toBe('jobs[1].domain');
    expect(wrongDomain.message).toContain('jobs[1].domain');
    await rejects(
      () => group.push([{ type: 'a', params: {} }, { type: '', params: {} } as never]),
      ErrorCode.INVALID_JOB,
    );
    await rejects(() => group.push('nope' as never), ErrorCode.INVALID_JOB);
    for (const type of ['a', 'b', 'c']) expect(await group.get(type).getSize()).toBe(0);
  });

  test('a batch another queue would refuse (read-only type, delayed job on a push-only type) stores nothing', async () => {
    const made: PushOnlyQueue[] = [];
    const { group } = makeGroup(
      makeConfig({
        types: {
          frozen: { readOnlyReason: 'migrating frozen jobs' },
          events: { backend: pushOnlyBackend(made), class: 'pushonly', connection: null },
        },
      }),
    );
    const ro = await rejects(
      () => group.push([...specs('a', 2), ...specs('frozen', 1)]),
      ErrorCode.READ_ONLY,
    );
    expect(ro.message).toContain('migrating frozen jobs');
    await rejects(
      () => group.push([...specs('a', 2), ...specs('events', 1, { releaseTimestamp: Date.now() + 60_000 })]),
      ErrorCode.NOT_SUPPORTED,
    );
    expect(await group.get('a').getSize()).toBe(0);
    expect(made[0]?.stored).toHaveLength(0);
    expect(await group.push(specs('events', 2))).toEqual({ inserted: 2, duplicates: 0 });
    expect(made[0]?.stored).toHaveLength(2);
  });

  test('push({ atomic: true }) works for one type and is refused across types', async () => {
    const { group } = makeGroup(makeConfig());
    expect(await group.push(specs('a', 3), { atomic: true })).toEqual({ inserted: 3, duplicates: 0 });
    await rejects(
      () => group.push([...specs('a', 1), ...specs('b', 1)], { atomic: true }),
      ErrorCode.NOT_SUPPORTED,
    );
    expect(await group.get('a').getSize()).toBe(3);
    expect(await group.get('b').getSize()).toBe(0);
  });

  test('lazyPush() buffers until flush(), which pushes per type', async () => {
    const { group } = makeGroup(makeConfig());
    group.lazyPush(specs('a', 2));
    group.lazyPush({ type: 'b', params: { x: 1 } });
    group.lazyPush(specs('a', 1, { params: { n: 9 } }));
    expect(group.bufferedCount).toBe(4);
    expect(await group.get('a').getSize()).toBe(0);
    expect(await group.flush()).toEqual({ inserted: 4, duplicates: 0 });
    expect(group.bufferedCount).toBe(0);
    expect(await group.getQueueSizes()).toEqual({ a: 3, b: 1 });
    expect(await group.flush()).toEqual({ inserted: 0, duplicates: 0 });
  });

  test('lazyPush() validates at once: bad input buffers nothing', async () => {
    const { group } = makeGroup(makeConfig());
    group.lazyPush(specs('a', 1));
    expect(() => group.lazyPush([...specs('a', 1), { type: 'b', params: 5 } as never])).toThrow(
      /jobs\[1\]\.params/,
    );
    expect(group.bufferedCount).toBe(1);
  });

  test('a failing flush keeps the unstored jobs buffered; a later flush stores them', async () => {
    const made: PushOnlyQueue[] = [];
    const { group } = makeGroup(
      makeConfig({
        types: { events: { backend: pushOnlyBackend(made), class: 'pushonly', connection: null } },
      }),
    );
    group.lazyPush([...specs('events', 2), ...specs('a', 1)]);
    const events = made[0];
    if (!events) throw new Error('the push-only queue was not built');
    events.fail = true;
    await expect(group.flush()).rejects.toThrow(/broker down/);
    expect(group.bufferedCount).toBeGreaterThanOrEqual(2);
    events.fail = false;
    await group.flush();
    expect(group.bufferedCount).toBe(0);
    expect(events.stored).toHaveLength(2);
    expect(await group.get('a').getSize()).toBe(1);
  });

  test('close() flushes the lazy-push buffer into the store', async () => {
    const config = makeConfig();
    const { group } = makeGroup(config);
    group.lazyPush(specs('a', 3));
    await group.close();
    const { group: reader } = makeGroup(config);
    expect(await reader.get('a').getSize()).toBe(3);
  });
});

describe('JobQueueGroup pop', () => {
  test('pop() returns null when nothing is ready', async () => {
    const { group } = makeGroup(makeConfig({ jobTypes: ['a', 'b'] }));
    expect(await group.pop()).toBeNull();
    expect(await group.pop(ANY)).toBeNull();
    expect(await group.pop('a')).toBeNull();
    expect(await group.pop(['a', 'b'])).toBeNull();
  });

  test('pop(DEFAULT) skips typesExcludedFromDefaultQueue; pop(ANY) includes them', async () => {
    const { group } = makeGroup(makeConfig({ jobTypes: ['a', 'slow'], excluded: ['slow'] }));
    await group.push([...specs('a', 2), ...specs('slow', 2)]);
    expect(group.typesExcludedFromDefaultQueue).toEqual(['slow']);
    expect(await drain(group)).toEqual(['a', 'a']);
    expect(await drain(group, JobQueueGroup.DEFAULT)).toEqual([]);
    expect(await drain(group, ANY)).toEqual(['slow', 'slow']);
  });

  test('pop(type) and pop([types]) pop only from those types, empty ones included', async () => {
    const { group } = makeGroup(makeConfig({ jobTypes: ['a', 'b', 'c'] }));
    await group.push([...specs('a', 1), ...specs('b', 2), ...specs('c', 3)]);
    expect(await drain(group, 'b')).toEqual(['b', 'b']);
    expect((await drain(group, ['a', 'b', 'a'])).sort()).toEqual(['a']);
    expect(await group.getQueueSizes()).toEqual({ a: 0, b: 0, c: 3 });
  });

  test('pop(selector, { ignore }) never pops an ignored type', async () => {
    const { group } = makeGroup(makeConfig({ jobTypes: ['a', 'b'] }));
    await group.push([...specs('a', 2), ...specs('b', 2)]);
    expect(await drain(group, DEFAULT)).toHaveLength(4);
    await group.push([...specs('a', 2), ...specs('b', 2)]);
    const types: string[] = [];
    for (
      let job = await group.pop(DEFAULT, { ignore: ['b'] });
      job;
      job = await group.pop(DEFAULT, { ignore: ['b'] })
    ) {
      types.push(job.type);
    }
    expect(types).toEqual(['a', 'a']);
    expect(await group.pop(['a', 'b'], { ignore: ['b'] })).toBeNull();
    expect(await group.pop('b', { ignore: ['b'] })).toBeNull();
    expect(await group.pop(ANY, { ignore: ['a', 'b'] })).toBeNull();
    expect((await group.pop('b'))?.type).toBe('b');
  });

  test('pop() finds types pushed by another handle when they are declared in jobTypes', async () => {
    const config = makeConfig({ jobTypes: ['a'] });
    const { group: writer } = makeGroup(config);
    const { group: reader } = makeGroup(config);
    await writer.push(specs('a', 1));
    expect((await reader.pop())?.type).toBe('a');
  });

  test('candidates are shuffled: with two full types, pops hit both (no starvation)', async () => {
    const { group } = makeGroup(makeConfig({ jobTypes: ['a', 'b'] }));
    await group.push([...specs('a', 200), ...specs('b', 200)]);
    const counts = { a: 0, b: 0 } as Record<string, number>;
    for (let i = 0; i < 200; i++) {
      const job = await group.pop();
      if (!job) throw new Error('expected a job');
      counts[job.type] = (counts[job.type] ?? 0) + 1;
    }
    // Binomial(200, 0.5): below 50 has probability < 1e-12.
    expect(counts.a).toBeGreaterThan(50);
    expect(counts.b).toBeGreaterThan(50);
  });

  test('pop(DEFAULT) asks the store once and pops only queues that have jobs', async () => {
    const calls = new Calls();
    const { group } = makeGroup(
      makeConfig({ default: { backend: spyBackend(calls) }, jobTypes: ['a', 'b', 'c', 'd'] }),
    );
    await group.push(specs('c', 1));
    const job = await group.pop();
    expect(job?.type).toBe('c');
    expect(calls.siblingsWithJobs).toBe(1);
    expect(calls.isEmpty).toBe(0);
    expect(calls.pops).toEqual(['c']);
  });

  test('a push-only queue is never touched by pop, sizes or queues-with-jobs', async () => {
    const made: PushOnlyQueue[] = [];
    const { group } = makeGroup(
      makeConfig({
        jobTypes: ['a', 'events'],
        types: { events: { backend: pushOnlyBackend(made), class: 'pushonly', connection: null } },
      }),
    );
    await group.push([...specs('events', 3), ...specs('a', 1)]);
    expect(await group.getQueuesWithJobs()).toEqual(['a']);
    expect(await group.getQueueSizes()).toEqual({ a: 1 });
    expect(await drain(group, ANY)).toEqual(['a']);
    expect(await group.pop()).toBeNull();
    expect(await group.pop(['events', 'a'])).toBeNull();
    expect(made[0]?.touched).toBe(0);
    await rejects(() => group.pop('events'), ErrorCode.NOT_SUPPORTED);
    expect(made[0]?.touched).toBe(0);
    expect(made[0]?.stored).toHaveLength(3);
  });

  test('a per-type read-only queue is skipped by multi-type pops and refuses a pop by name', async () => {
    const writable = makeConfig({ jobTypes: ['a', 'frozen'] });
    const { group: writer } = makeGroup(writable);
    await writer.push([...specs('a', 1), ...specs('frozen', 1)]);
    // Same stores, but the frozen type's entry is read-only.
    const { group } = makeGroup(
      makeConfig({
        connections: sameStores(writable),
        jobTypes: ['a', 'frozen'],
        types: { frozen: { readOnlyReason: 'frozen for now' } },
      }),
    );
    await rejects(() => group.push(specs('frozen', 1)), ErrorCode.READ_ONLY);
    expect(await group.getQueuesWithJobs()).toEqual(['a', 'frozen']);
    expect(await drain(group, ANY)).toEqual(['a']);
    expect(await group.pop(['frozen'])).toBeNull();
    await rejects(() => group.pop('frozen'), ErrorCode.READ_ONLY);
    expect(await drain(writer, ANY)).toEqual(['frozen']);
  });

  test('an idle DEFAULT pop recycles expired claims itself (no chron), at most once per maintenanceInterval', async () => {
    const clock = new ManualClock(50_000_000);
    const config = makeConfig({ jobTypes: ['a', 'b'], default: { claimTTL: 10, maintenanceInterval: 30 } });
    const { group } = makeGroup(config, { clock });
    await group.push(specs('a', 1));
    const first = await group.pop();
    if (!first) throw new Error('expected a job');
    clock.advance(11_000);
    // No ready job, only an expired claim: only a maintenance pass brings it back.
    expect(await group.getQueuesWithJobs()).toEqual([]);
    const second = await group.pop();
    expect(second?.id).toBe(first.id);
    expect(second?.attempts).toBe(2);
    expect(await group.ack(first)).toBe(false);
    clock.advance(11_000);
    expect(await group.pop()).toBeNull(); // expired again, but the last sweep was 11 s ago (< 30 s)
    clock.advance(20_000);
    const third = await group.pop(ANY);
    expect(third?.id).toBe(first.id);
    expect(third?.attempts).toBe(3);
  });

  test('with maintenanceInterval null an idle group pop never runs maintenance', async () => {
    const clock = new ManualClock(50_000_000);
    const { group } = makeGroup(
      makeConfig({ jobTypes: ['a'], default: { claimTTL: 60, maintenanceInterval: null } }),
      { clock },
    );
    await group.push(specs('a', 1));
    expect(await group.pop()).not.toBeNull();
    clock.advance(61_000);
    expect(await group.pop()).toBeNull();
    expect(await group.get('a').getAcquiredCount()).toBe(1);
  });

  test('a bad selector or ignore list is a TypeError', async () => {
    const { group } = makeGroup(makeConfig());
    await expect(group.pop(Symbol('x') as never)).rejects.toThrow(TypeError);
    await expect(group.pop([''])).rejects.toThrow(TypeError);
    await expect(group.pop(DEFAULT, { ignore: 'a' as never })).rejects.toThrow(TypeError);
  });

  test('pop() respects the clock it was given (delayed jobs)', async () => {
    const clock = new ManualClock(10_000_000);
    const { group } = makeGroup(makeConfig({ jobTypes: ['a'] }), { clock });
    await group.push({ type: 'a', params: {}, releaseTimestamp: clock.now() + 5_000 });
    expect(await group.pop()).toBeNull();
    clock.advance(5_000);
    expect((await group.pop())?.type).toBe('a');
  });
});

describe('JobQueueGroup ack / release / extendClaim', () => {
  test('they route to the job type queue', async () => {
    const { group } = makeGroup(makeConfig({ types: { b: { connection: 'other' } } }));
    await group.push([...specs('a', 1), ...specs('b', 1)]);
    const a = await group.pop('a');
    const b = await group.pop('b');
    if (!a || !b) throw new Error('expected two jobs');
    expect(await group.extendClaim(b)).toBe(true);
    expect(await group.release(b)).toBe('released');
    expect(await group.get('b').getSize()).toBe(1);
    expect(await group.ack(a)).toBe(true);
    expect(await group.ack(a)).toBe(false);
    expect(await group.get('a').getAcquiredCount()).toBe(0);
    const b2 = await group.pop('b');
    if (!b2) throw new Error('expected the released job');
    expect(b2.attempts).toBe(2);
    expect(await group.ack(b2)).toBe(true);
  });

  test('a job of another domain or a non-job is refused', async () => {
    const { group } = makeGroup(makeConfig());
    await group.push(specs('a', 1));
    const job = await group.pop('a');
    if (!job) throw new Error('expected a job');
    await rejects(() => group.ack({ ...job, domain: 'dewiki' }), ErrorCode.INVALID_JOB);
    await expect(group.ack(null as never)).rejects.toThrow(TypeError);
    await expect(group.release({ id: 'x', claimToken: 'y' } as never)).rejects.toThrow(TypeError);
    expect(await group.ack(job)).toBe(true);
  });
});

describe('JobQueueGroup sizes: one call per store', () => {
  test('getQueuesWithJobs() / getQueueSizes() make one sibling call per store, none per queue', async () => {
    const calls = new Calls();
    const spy = spyBackend(calls);
    const { group } = makeGroup(
      makeConfig({
        default: { backend: spy },
        types: { d: { backend: spy, connection: 'other' }, e: { backend: spy, connection: 'other' } },
        jobTypes: ['a', 'b', 'c'],
      }),
    );
    await group.push([...specs('a', 2), ...specs('c', 1), ...specs('e', 4)]);
    expect(await group.getQueuesWithJobs()).toEqual(['a', 'c', 'e']);
    expect(calls.siblingsWithJobs).toBe(2);
    expect(await group.getQueueSizes()).toEqual({ a: 2, b: 0, c: 1, d: 0, e: 4 });
    expect(calls.siblingSizes).toBe(2);
    expect(calls.isEmpty + calls.getSize).toBe(0);
  });

  test('a store that cannot answer for siblings, or a queue with no store identity, is asked per queue', async () => {
    const siblingCalls = new Calls();
    const loneCalls = new Calls();
    const { group } = makeGroup(
      makeConfig({
        default: { backend: spyBackend(siblingCalls, true) },
        types: {
          l1: { backend: loneBackend(loneCalls), connection: null },
          l2: { backend: loneBackend(loneCalls), connection: null },
        },
        jobTypes: ['a', 'b'],
      }),
    );
    await group.push([...specs('a', 1), ...specs('l2', 2)]);
    expect(await group.getQueuesWithJobs()).toEqual(['a', 'l2']);
    expect(siblingCalls.siblingsWithJobs).toBe(1);
    expect(siblingCalls.isEmpty).toBe(2);
    expect(loneCalls.isEmpty).toBe(2);
    expect(await group.getQueueSizes()).toEqual({ a: 1, b: 0, l1: 0, l2: 2 });
    expect(siblingCalls.getSize).toBe(2);
    expect((await drain(group)).sort()).toEqual(['a', 'l2', 'l2']);
  });
});

describe('JobQueueGroup read-only and close', () => {
  test('the config global reason makes every call that writes throw READ_ONLY, and every queue read-only', async () => {
    const { group } = makeGroup(
      makeConfig({ readOnlyReason: 'farm-wide freeze', types: { a: { readOnlyReason: 'own reason' } } }),
      { readOnlyReason: 'group reason' },
    );
    expect(group.readOnlyReason).toBe('farm-wide freeze');
    const e = await rejects(() => group.push(specs('a', 1)), ErrorCode.READ_ONLY);
    expect(e.message).toContain('farm-wide freeze');
    expect(group.get('a').readOnlyReason).toBe('farm-wide freeze');
    expect(group.get('b').readOnlyReason).toBe('farm-wide freeze');
  });

  test('the group option makes push, lazyPush, flush, pop, ack, release and extendClaim throw READ_ONLY', async () => {
    const config = makeConfig({ jobTypes: ['a'] });
    const { group: writer } = makeGroup(config);
    await writer.push(specs('a', 1));
    const job = await writer.pop('a');
    if (!job) throw new Error('expected a job');
    const { group } = makeGroup(config, { readOnlyReason: 'replica lag' });
    for (const call of [
      () => group.push(specs('a', 1)),
      () => group.lazyPush(specs('a', 1)),
      () => group.flush(),
      () => group.pop(),
      () => group.pop('a'),
      () => group.ack(job),
      () => group.release(job),
      () => group.extendClaim(job),
    ]) {
      const e = await rejects(call, ErrorCode.READ_ONLY);
      expect(e.message).toContain('replica lag');
    }
    expect(group.get('a').readOnlyReason).toBe('replica lag');
    expect(await group.getQueueSizes()).toEqual({ a: 0 });
    expect(await writer.get('a').getAcquiredCount()).toBe(1);
  });

  test('close() closes the queues it built but not the connections it was lent; then every call throws QUEUE_CLOSED', async () => {
    const { group, pool } = makeGroup(makeConfig({ jobTypes: ['a'] }));
    await group.push(specs('a', 1));
    const job = await group.pop('a');
    if (!job) throw new Error('expected a job');
    const queue = group.get('a');
    await group.close();
    await group.close();
    expect(group.closed).toBe(true);
    expect(queue.closed).toBe(true);
    expect(pool.closed).toEqual([]);
    for (const call of [
      () => group.get('a'),
      () => group.getQueueTypes(),
      () => group.push(specs('a', 1)),
      () => group.lazyPush(specs('a', 1)),
      () => group.flush(),
      () => group.pop(),
      () => group.ack(job),
      () => group.release(job),
      () => group.extendClaim(job),
      () => group.getQueuesWithJobs(),
      () => group.getQueueSizes(),
    ]) {
      await rejects(call, ErrorCode.QUEUE_CLOSED);
    }
  });

  test('close() runs onClose once, after closing the queues, and still closes when the flush fails', async () => {
    const made: PushOnlyQueue[] = [];
    const order: string[] = [];
    const config = makeConfig({
      types: { events: { backend: pushOnlyBackend(made), class: 'pushonly', connection: null } },
    });
    const group = new JobQueueGroup(config, 'enwiki', new TestPool(config), {
      onClose: async () => {
        order.push(`onClose:${String(made[0]?.closed)}`);
      },
    });
    group.lazyPush(specs('events', 1));
    const events = made[0];
    if (!events) throw new Error('the push-only queue was not built');
    events.fail = true;
    await expect(group.close()).rejects.toThrow(/broker down/);
    await expect(group.close()).rejects.toThrow(/broker down/);
    expect(order).toEqual(['onClose:true']);
    expect(group.closed).toBe(true);
  });

  test('createJobQueueGroup() builds a working group over a private pool', async () => {
    const group = createJobQueueGroup(makeConfig({ jobTypes: ['a'] }), 'enwiki');
    await group.push(specs('a', 1));
    const job = await group.pop();
    expect(job?.domain).toBe('enwiki');
    await group.close();
  });
});
