import { randomUUID } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { MemoryStore, memoryBackend } from '../../src/backends/memory/index.js';
import type { BackendModule, BackendSettings } from '../../src/core/backend.js';
import type {
  ResolvedConfig,
  ResolvedConnectionConf,
  ResolvedQueueConf,
} from '../../src/core/config-types.js';
import { ErrorCode, isSwitchyardError, type SwitchyardError } from '../../src/core/errors.js';
import { ConnectionPool, createJobQueueGroup, JobQueueFarm } from '../../src/core/farm.js';
import type { JobSpecification } from '../../src/core/job.js';

// ---------------------------------------------------------------- helpers

/** Counts openConnection / close calls per store name and records every store handed out. */
class Tracker {
  readonly opened: string[] = [];
  readonly closed: string[] = [];
  readonly handles: unknown[] = [];
  failClose = false;
  failOpen = false;

  backend(): BackendModule {
    return {
      ...memoryBackend,
      openConnection: (settings: BackendSettings) => {
        if (this.failOpen) throw new Error('ECONNREFUSED');
        const name = String(settings.store);
        this.opened.push(name);
        const store = MemoryStore.named(name);
        this.handles.push(store);
        return {
          handle: store,
          close: async () => {
            this.closed.push(name);
            if (this.failClose) throw new Error('close failed');
          },
        };
      },
    };
  }
}

interface FarmConfigInput {
  readonly connections?: readonly string[];
  /** type → connection name */
  readonly types?: Record<string, string | null>;
  readonly domains?: readonly string[];
  readonly defaultDomain?: string;
  readonly readOnlyReason?: string | null;
  readonly jobTypes?: readonly string[];
}

/** A frozen ResolvedConfig whose connections go through `tracker` (no config.ts involved). */
function makeConfig(tracker: Tracker, input: FarmConfigInput = {}): ResolvedConfig {
  const backend = tracker.backend();
  const connections: Record<string, ResolvedConnectionConf> = {};
  for (const name of input.connections ?? ['main']) {
    connections[name] = Object.freeze({
      path: `connections.${name}`,
      name,
      class: 'memory',
      backend,
      settings: Object.freeze({ store: `${name}-${randomUUID()}` }),
    });
  }
  const queueEntry = (path: string, connection: string | null): ResolvedQueueConf =>
    Object.freeze({
      path,
      class: 'memory',
      backend,
      connection,
      queue: Object.freeze({}),
      settings: Object.freeze({}),
    });
  const jobTypeConf: Record<string, ResolvedQueueConf> = {
    default: queueEntry('jobTypeConf.default', input.connections?.[0] ?? 'main'),
  };
  for (const [type, conn] of Object.entries(input.types ?? {})) {
    jobTypeConf[type] = queueEntry(`jobTypeConf.${type}`, conn);
  }
  return Object.freeze({
    source: 'object',
    connections: Object.freeze(connections),
    jobTypeConf: Object.freeze(jobTypeConf) as ResolvedConfig['jobTypeConf'],
    typesExcludedFromDefaultQueue: Object.freeze([]),
    jobTypes: Object.freeze([...(input.jobTypes ?? ['t'])]),
    readOnlyReason: input.readOnlyReason ?? null,
    defaultDomain: input.defaultDomain ?? 'default',
    domains: Object.freeze([...(input.domains ?? [])]),
    sections: Object.freeze({}),
  });
}

async function rejects(fn: () => Promise<unknown> | unknown, code: string): Promise<SwitchyardError> {
  try {
    await fn();
  } catch (error) {
    if (isSwitchyardError(error) && error.code === code) return error;
    throw new Error(`expected ${code}, got ${String(error)}`);
  }
  throw new Error(`expected ${code}, but the call succeeded`);
}

const job = (type = 't', n = 0): JobSpecification => ({ type, params: { n } });

// ================================================================ tests

describe('JobQueueFarm groups', () => {
  test('group(domain) is cached per domain; group() is the default domain', () => {
    const farm = new JobQueueFarm(makeConfig(new Tracker(), { defaultDomain: 'main' }));
    const en = farm.group('enwiki');
    expect(farm.group('enwiki')).toBe(en);
    expect(farm.group('dewiki')).not.toBe(en);
    expect(farm.group().domain).toBe('main');
    expect(farm.group()).toBe(farm.group('main'));
    expect(() => farm.group('')).toThrow(TypeError);
  });

  test('domains are isolated from each other over the same store', async () => {
    const farm = new JobQueueFarm(makeConfig(new Tracker()));
    await farm.group('enwiki').push([job(), job('t', 1)]);
    expect(await farm.group('dewiki').getQueueSizes()).toEqual({ t: 0 });
    expect(await farm.group('dewiki').pop()).toBeNull();
    const popped = await farm.group('enwiki').pop();
    expect(popped?.domain).toBe('enwiki');
    await farm.close();
  });

  test('domains() lists the configured domains, then any other domain asked for', () => {
    const farm = new JobQueueFarm(makeConfig(new Tracker(), { domains: ['enwiki', 'dewiki'] }));
    expect(farm.domains()).toEqual(['enwiki', 'dewiki']);
    farm.group('dewiki');
    farm.group('frwiki');
    expect(farm.domains()).toEqual(['enwiki', 'dewiki', 'frwiki']);
  });

  test('a group the host closed is rebuilt by the next group(domain)', async () => {
    const farm = new JobQueueFarm(makeConfig(new Tracker()));
    const g = farm.group('enwiki');
    await g.close();
    const again = farm.group('enwiki');
    expect(again).not.toBe(g);
    expect(again.closed).toBe(false);
    await again.push(job());
    await farm.close();
  });

  test('clock, metrics and readOnlyReason options reach every group; the config reason wins', async () => {
    const tracker = new Tracker();
    const farm = new JobQueueFarm(makeConfig(tracker), { readOnlyReason: 'maintenance' });
    expect(farm.group('enwiki').readOnlyReason).toBe('maintenance');
    await rejects(() => farm.group('dewiki').push(job()), ErrorCode.READ_ONLY);
    const global = new JobQueueFarm(makeConfig(tracker, { readOnlyReason: 'global' }), {
      readOnlyReason: 'maintenance',
    });
    expect(global.group('enwiki').readOnlyReason).toBe('global');
  });
});

describe('JobQueueFarm connections', () => {
  test('each named connection is opened lazily, once, and shared by every domain and type', async () => {
    const tracker = new Tracker();
    const farm = new JobQueueFarm(
      makeConfig(tracker, { connections: ['main', 'jobs'], types: { a: 'main', b: 'jobs', c: 'jobs' } }),
    );
    expect(tracker.opened).toEqual([]);
    const domains = ['enwiki', 'dewiki', 'frwiki'];
    for (const d of domains) {
      await farm.group(d).push([job('a'), job('b'), job('c'), job('t')]);
    }
    expect(tracker.opened).toHaveLength(2);
    expect(farm.connections.opened).toEqual(['main', 'jobs']);
    for (const d of domains) {
      const g = farm.group(d);
      expect(g.get('a').storeKey).toBe(g.get('t').storeKey);
      expect(g.get('b').storeKey).toBe(g.get('c').storeKey);
      expect(g.get('a').storeKey).not.toBe(g.get('b').storeKey);
      expect(g.get('a').storeKey).toBe(farm.group('enwiki').get('a').storeKey);
    }
    await farm.close();
    expect(tracker.closed.sort()).toEqual([...tracker.opened].sort());
  });

  test('an entry without a connection opens nothing', async () => {
    const tracker = new Tracker();
    const farm = new JobQueueFarm(makeConfig(tracker, { types: { lone: null } }));
    await farm.group('enwiki').push(job('lone'));
    expect(tracker.opened).toEqual([]);
    await farm.close();
    expect(tracker.closed).toEqual([]);
  });

  test('close() closes every group (flushing lazy pushes), then each connection once; idempotent', async () => {
    const tracker = new Tracker();
    const config = makeConfig(tracker, { connections: ['main', 'jobs'], types: { b: 'jobs' } });
    const farm = new JobQueueFarm(config);
    const en = farm.group('enwiki');
    const de = farm.group('dewiki');
    en.lazyPush([job('t'), job('b')]);
    de.lazyPush(job('t'));
    const queue = en.get('t');
    await Promise.all([farm.close(), farm.close()]);
    await farm.close();
    expect(farm.closed).toBe(true);
    expect(en.closed && de.closed && queue.closed).toBe(true);
    expect(tracker.closed.sort()).toEqual(tracker.opened.sort());
    expect(tracker.closed).toHaveLength(2);
    // The lazy pushes reached the stores (memory stores outlive the connection handle).
    const reader = new JobQueueFarm(config);
    expect(await reader.group('enwiki').getQueueSizes()).toEqual({ t: 1, b: 1 });
    expect(await reader.group('dewiki').getQueueSizes()).toEqual({ t: 1, b: 0 });
    await reader.close();
  });

  test('after close, group() and domains() throw QUEUE_CLOSED and so do the old groups', async () => {
    const farm = new JobQueueFarm(makeConfig(new Tracker()));
    const g = farm.group('enwiki');
    await farm.close();
    await rejects(() => farm.group('enwiki'), ErrorCode.QUEUE_CLOSED);
    await rejects(() => farm.domains(), ErrorCode.QUEUE_CLOSED);
    await rejects(() => g.push(job()), ErrorCode.QUEUE_CLOSED);
    await rejects(() => farm.connections.connection('main'), ErrorCode.QUEUE_CLOSED);
  });

  test('a failing connection close is reported after every other connection was closed', async () => {
    const tracker = new Tracker();
    const farm = new JobQueueFarm(
      makeConfig(tracker, { connections: ['main', 'jobs'], types: { b: 'jobs' } }),
    );
    await farm.group('enwiki').push([job('t'), job('b')]);
    tracker.failClose = true;
    const e = await rejects(() => farm.close(), ErrorCode.BACKEND_ERROR);
    expect(e.cause).toBeInstanceOf(Error);
    expect(tracker.closed).toHaveLength(2);
    expect(farm.closed).toBe(true);
  });
});

describe('ConnectionPool', () => {
  test('an unknown connection name is CONFIG_INVALID listing the valid ones', () => {
    const pool = new ConnectionPool(makeConfig(new Tracker(), { connections: ['main', 'jobs'] }));
    try {
      pool.connection('nope');
      throw new Error('expected CONFIG_INVALID');
    } catch (error) {
      if (!isSwitchyardError(error, ErrorCode.CONFIG_INVALID)) throw error;
      expect(error.issues[0]?.choices).toEqual(['main', 'jobs']);
      expect(error.message).toContain('nope');
    }
    expect(() => pool.connection('constructor')).toThrow(/no such connection/);
  });

  test('a backend without openConnection is CONFIG_INVALID; a failing open is CONNECTION_LOST with the cause', () => {
    const tracker = new Tracker();
    const base = makeConfig(tracker);
    const main = base.connections.main;
    if (!main) throw new Error('missing main');
    const { openConnection: _drop, ...noOpen } = main.backend;
    const config: ResolvedConfig = {
      ...base,
      connections: { main: { ...main, backend: noOpen as BackendModule } },
    };
    expect(() => new ConnectionPool(config).connection('main')).toThrow(/cannot open shared connections/);
    tracker.failOpen = true;
    const pool = new ConnectionPool(base);
    try {
      pool.connection('main');
      throw new Error('expected CONNECTION_LOST');
    } catch (error) {
      if (!isSwitchyardError(error, ErrorCode.CONNECTION_LOST)) throw error;
      expect((error.cause as Error).message).toBe('ECONNREFUSED');
    }
    tracker.failOpen = false;
    expect(pool.connection('main')).toBe(pool.connection('main'));
    expect(tracker.opened).toHaveLength(1);
  });
});

describe('createJobQueueGroup', () => {
  test('makes a group over private connections; closing the group closes them once', async () => {
    const tracker = new Tracker();
    const group = createJobQueueGroup(makeConfig(tracker, { defaultDomain: 'site' }));
    expect(group.domain).toBe('site');
    await group.push(job());
    expect((await group.pop())?.type).toBe('t');
    expect(tracker.opened).toHaveLength(1);
    await group.close();
    await group.close();
    expect(tracker.closed).toEqual(tracker.opened);
  });

  test('two private groups do not share a connection', async () => {
    const tracker = new Tracker();
    const config = makeConfig(tracker);
    const a = createJobQueueGroup(config, 'enwiki');
    const b = createJobQueueGroup(config, 'dewiki');
    await a.push(job());
    await b.push(job());
    expect(tracker.opened).toHaveLength(2);
    await a.close();
    expect(tracker.closed).toHaveLength(1);
    await b.close();
    expect(tracker.closed).toHaveLength(2);
  });
});
