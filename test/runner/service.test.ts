import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Ajv } from 'ajv';
import { describe, expect, test } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { resolveConfig } from '../../src/container.js';
import type { JobQueueAggregator, ReadyQueueMap } from '../../src/core/aggregator.js';
import { JobQueueFarm } from '../../src/core/farm.js';
import { CountingMetrics } from '../../src/core/metrics.js';
import {
  defineHandlers,
  type HandlerRegistry,
  JobFailedError,
  silentLogger,
} from '../../src/runner/index.js';
import { RunnerService, type ServiceSlice } from '../../src/runner/service.js';
import {
  parseRunnersSection,
  readRunnersSection,
  validateBackoffThrottlingSection,
  validateRunnersSection,
} from '../../src/runner/service-config.js';

/** A small in-test aggregator (the real ones live elsewhere): a map of type → domains. */
class TestAggregator implements JobQueueAggregator {
  readonly name = 'test';
  map: Map<string, Set<string>> | null = new Map();
  reads = 0;
  empties: Array<[string, string]> = [];

  async notifyQueueNonEmpty(domain: string, type: string): Promise<void> {
    this.map ??= new Map();
    const set = this.map.get(type) ?? new Set();
    set.add(domain);
    this.map.set(type, set);
  }
  async notifyQueueEmpty(domain: string, type: string): Promise<void> {
    this.empties.push([domain, type]);
    this.map?.get(type)?.delete(domain);
  }
  async getAllReadyQueues(): Promise<ReadyQueueMap | null> {
    this.reads++;
    if (this.map === null) return null;
    const out: Record<string, string[]> = {};
    for (const [type, domains] of this.map) if (domains.size > 0) out[type] = [...domains];
    return out;
  }
  async replaceReadyQueues(map: ReadyQueueMap): Promise<void> {
    this.map = new Map(Object.entries(map).map(([t, d]) => [t, new Set(d)]));
  }
  async purge(): Promise<void> {
    this.map = null;
  }
  async close(): Promise<void> {}
}

const TYPES = ['t0', 't1', 't2', 't3', 't4'];

async function memoryFarm(domains: string[], extra: Record<string, unknown> = {}, metrics?: CountingMetrics) {
  const config = await resolveConfig({
    jobTypeConf: { default: { class: 'memory', store: `svc-${randomUUID()}`, order: 'fifo' } },
    jobTypes: TYPES,
    domains,
    ...extra,
  });
  return new JobQueueFarm(config, metrics ? { metrics } : {});
}

function recorder(types: readonly string[] = TYPES): {
  handlers: HandlerRegistry;
  ran: Array<{ domain: string; type: string; n: number }>;
} {
  const ran: Array<{ domain: string; type: string; n: number }> = [];
  const map: Record<
    string,
    { run: (job: { type: string; params: unknown }, ctx: { domain: string }) => void }
  > = {};
  for (const t of types) {
    map[t] = {
      run: (job, ctx) => {
        ran.push({ domain: ctx.domain, type: job.type, n: (job.params as { n: number }).n });
      },
    };
  }
  return { handlers: defineHandlers(map), ran };
}

/** Every (domain, type) the queues were called on, from the per-call timing metric. */
function touched(metrics: CountingMetrics): Set<string> {
  const out = new Set<string>();
  for (const k of metrics.timings.keys()) {
    const [name, domain, type] = k.split('|');
    if (name === 'call_time') out.add(`${domain}/${type}`);
  }
  return out;
}

describe('RunnerService over a farm', () => {
  test('1,000 domains × 5 types, jobs in 20 queues: drains the 20 through the aggregator, touching no empty queue', async () => {
    const domains = Array.from({ length: 1000 }, (_, i) => `wiki${i}`);
    const metrics = new CountingMetrics();
    const farm = await memoryFarm(domains, {}, metrics);
    const aggregator = new TestAggregator();
    const full: string[] = [];
    for (let i = 0; i < 20; i++) {
      const domain = `wiki${i * 37 + 5}`;
      const type = TYPES[i % 5] as string;
      full.push(`${domain}/${type}`);
      await farm.group(domain).push(Array.from({ length: 10 }, (_, n) => ({ type, params: { n } })));
      await aggregator.notifyQueueNonEmpty(domain, type);
    }
    const { handlers, ran } = recorder();
    const slices: ServiceSlice[] = [];
    const service = new RunnerService(farm, {
      handlers,
      aggregator,
      logger: silentLogger,
      groups: parseRunnersSection({ basic: { runners: 1 } }),
      sliceJobs: 2,
      idleWait: 0.01,
      onSlice: (s) => slices.push(s),
    });
    const result = await service.run({ exitWhenIdle: true, maxTime: 20 });
    expect(result.reached).toBe('idle');
    expect(result.jobs.ok).toBe(200);
    expect(ran).toHaveLength(200);
    // Nothing outside the 20 queues was ever called: no pop, no size, no sibling query.
    expect([...touched(metrics)].sort()).toEqual([...full].sort());
    for (const q of full) {
      const [domain, type] = q.split('/') as [string, string];
      expect(await farm.group(domain).get(type).getSize()).toBe(0);
    }
    // Fair: the first 20 slices visit 20 different queues (each queue once before any twice).
    const first = slices.slice(0, 20).map((s) => `${s.domain}/${s.type}`);
    expect(new Set(first).size).toBe(20);
    // And every queue got 5 slices of 2 jobs, interleaved, not drained one after another.
    const perQueue = new Map<string, number>();
    for (const s of slices) {
      if (s.result.jobs.length > 0)
        perQueue.set(`${s.domain}/${s.type}`, (perQueue.get(`${s.domain}/${s.type}`) ?? 0) + 1);
    }
    expect([...perQueue.values()].every((n) => n === 5)).toBe(true);
    expect(aggregator.empties).toHaveLength(20);
    await farm.close();
  }, 60_000);

  test('without an aggregator it lists each domain through the sibling query and never pops an empty queue', async () => {
    const domains = Array.from({ length: 50 }, (_, i) => `d${i}`);
    const metrics = new CountingMetrics();
    const farm = await memoryFarm(domains, {}, metrics);
    await farm.group('d3').push([{ type: 't1', params: { n: 1 } }]);
    await farm.group('d40').push([{ type: 't4', params: { n: 2 } }]);
    const { handlers, ran } = recorder();
    const service = new RunnerService(farm, { handlers, logger: silentLogger, idleWait: 0.01 });
    const result = await service.run({ exitWhenIdle: true, maxTime: 20 });
    expect(result.jobs.ok).toBe(2);
    expect(ran.map((r) => `${r.domain}/${r.type}`).sort()).toEqual(['d3/t1', 'd40/t4']);
    let emptyPops = 0;
    for (const [k, v] of metrics.timings) {
      const [name, domain, type, , op] = k.split('|');
      if (name === 'call_time' && op === 'pop' && !['d3/t1', 'd40/t4'].includes(`${domain}/${type}`)) {
        emptyPops += v.count;
      }
    }
    expect(emptyPops).toBe(0);
    await farm.close();
  });

  test('a null aggregator map falls back to the queues', async () => {
    const farm = await memoryFarm(['a', 'b']);
    await farm.group('b').push([{ type: 't2', params: { n: 1 } }]);
    const aggregator = new TestAggregator();
    aggregator.map = null;
    const { handlers, ran } = recorder();
    const service = new RunnerService(farm, { handlers, aggregator, logger: silentLogger, idleWait: 0.01 });
    await service.run({ exitWhenIdle: true, maxTime: 10 });
    expect(ran).toEqual([{ domain: 'b', type: 't2', n: 1 }]);
    await farm.close();
  });

  test('high/low priority time-sharing: low-priority types get every 4th pick while high ones are ready', async () => {
    const farm = await memoryFarm(['w']);
    const g = farm.group('w');
    await g.push(Array.from({ length: 40 }, (_, n) => ({ type: 't0', params: { n } })));
    await g.push(Array.from({ length: 40 }, (_, n) => ({ type: 't1', params: { n } })));
    const { handlers, ran } = recorder();
    const service = new RunnerService(farm, {
      handlers,
      logger: silentLogger,
      groups: parseRunnersSection({ main: { runners: 1, include: ['t0', 't1'], lowPriority: ['t1'] } }),
      sliceJobs: 1,
      idleWait: 0.01,
    });
    await service.run({ maxJobs: 20 });
    const lows = ran.filter((r) => r.type === 't1').length;
    expect(lows).toBe(5);
    // With the high-priority type drained, the low one gets every pick.
    await service.run({ exitWhenIdle: true, maxTime: 10 });
    expect(ran.filter((r) => r.type === 't1')).toHaveLength(40);
    await farm.close();
  });

  test('maxJobs is shared fairly by the slots and never overshot; one run at a time', async () => {
    const farm = await memoryFarm(['a', 'b']);
    for (const d of ['a', 'b']) {
      for (const type of TYPES)
        await farm.group(d).push(Array.from({ length: 10 }, (_, n) => ({ type, params: { n } })));
    }
    const { handlers, ran } = recorder();
    const slices: ServiceSlice[] = [];
    const service = new RunnerService(farm, {
      handlers,
      logger: silentLogger,
      groups: parseRunnersSection({ g: { runners: 4 } }),
      onSlice: (s) => slices.push(s),
    });
    const first = service.run({ maxJobs: 10 });
    await expect(service.run()).rejects.toThrow(/already running/);
    const result = await first;
    expect(result.reached).toBe('job-limit');
    expect(ran).toHaveLength(10);
    expect(new Set(slices.map((s) => `${s.domain}/${s.type}`)).size).toBeGreaterThanOrEqual(4);
    await farm.close();
  });

  test('groups: include/exclude route types, "*" skips typesExcludedFromDefaultQueue, counts per group', async () => {
    const farm = await memoryFarm(['w'], { typesExcludedFromDefaultQueue: ['t4'] });
    const g = farm.group('w');
    for (const type of TYPES) await g.push(Array.from({ length: 5 }, (_, n) => ({ type, params: { n } })));
    const { handlers } = recorder();
    const service = new RunnerService(farm, {
      handlers,
      logger: silentLogger,
      groups: parseRunnersSection({
        basic: { runners: 2, include: ['*'], exclude: ['t0'] },
        zero: { runners: 1, include: ['t0'] },
      }),
      idleWait: 0.01,
    });
    const result = await service.run({ exitWhenIdle: true, maxTime: 10 });
    expect(result.byGroup).toEqual({ basic: 15, zero: 5 });
    expect(await g.get('t4').getSize()).toBe(5);
    await farm.close();
  });

  test('per-type limits: attempts drops a failure, claimTTL times a job out', async () => {
    const farm = await memoryFarm(['w']);
    const g = farm.group('w');
    await g.push([
      { type: 't0', params: { n: 0 } },
      { type: 't1', params: { n: 1 } },
    ]);
    const handlers = defineHandlers({
      t0: {
        run: () => {
          throw new JobFailedError('boom');
        },
      },
      t1: {
        run: (_job, { signal }) =>
          new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason))),
      },
    });
    const service = new RunnerService(farm, {
      handlers,
      logger: silentLogger,
      groups: parseRunnersSection({ g: { runners: 2, attempts: { '*': 1 }, claimTTL: { t1: 0.05 } } }),
      idleWait: 0.01,
    });
    const result = await service.run({ exitWhenIdle: true, maxTime: 10 });
    expect(result.jobs.failed + result.jobs.timeout).toBe(2);
    expect(await g.get('t0').getSize()).toBe(0);
    expect(await g.get('t0').getDelayedCount()).toBe(0);
    await farm.close();
  });

  test('graceful stop: an abort mid-slice leaves every job acked or back in the queue', async () => {
    const farm = await memoryFarm(['w']);
    const g = farm.group('w');
    await g.push(Array.from({ length: 30 }, (_, n) => ({ type: 't0', params: { n } })));
    let done = 0;
    const controller = new AbortController();
    const handlers = defineHandlers({
      t0: {
        run: async () => {
          await new Promise((r) => setTimeout(r, 20));
          done++;
          if (done === 5) controller.abort();
        },
      },
    });
    const service = new RunnerService(farm, {
      handlers,
      logger: silentLogger,
      groups: parseRunnersSection({ g: { runners: 3 } }),
      gracePeriod: 1,
    });
    const result = await service.run({ signal: controller.signal });
    expect(result.reached).toBe('stopped');
    const q = g.get('t0');
    expect(await q.getAcquiredCount()).toBe(0);
    expect(result.jobs.ok + (await q.getSize()) + (await q.getDelayedCount())).toBe(30);
    await farm.close();
  });

  test('concurrency: each slot runs up to that many jobs at once, never more', async () => {
    const farm = await memoryFarm(['w']);
    const g = farm.group('w');
    await g.push(Array.from({ length: 60 }, (_, n) => ({ type: 't0', params: { n } })));
    let inFlight = 0;
    let peak = 0;
    const handlers = defineHandlers({
      t0: {
        run: async () => {
          inFlight++;
          peak = Math.max(peak, inFlight);
          await new Promise((r) => setTimeout(r, 2));
          inFlight--;
        },
      },
    });
    const service = new RunnerService(farm, {
      handlers,
      logger: silentLogger,
      groups: parseRunnersSection({ basic: { runners: 1, concurrency: 6, include: ['t0'] } }),
      idleWait: 0.01,
    });
    const result = await service.run({ exitWhenIdle: true, maxTime: 10 });
    expect(result.jobs.ok).toBe(60);
    expect(peak).toBeGreaterThan(1);
    expect(peak).toBeLessThanOrEqual(6);
    expect(await g.get('t0').getSize()).toBe(0);
    await farm.close();
  });

  test('the runners section defaults come from the config', async () => {
    const farm = await memoryFarm(['w'], {
      runners: { a: { runners: '2', include: ['t0'] }, b: { concurrency: 4 } },
      backoffThrottling: { t0: 100 },
    });
    const { handlers } = recorder();
    const service = new RunnerService(farm, { handlers, logger: silentLogger });
    expect(service.groups.map((x) => [x.name, x.runners, x.concurrency, x.include])).toEqual([
      ['a', 2, 1, ['t0']],
      ['b', 1, 4, ['*']],
    ]);
    await farm.close();
  });
});

describe('runners and backoffThrottling section validators', () => {
  test('accept good sections', () => {
    expect(
      validateRunnersSection(
        {
          basic: {
            runners: 3,
            include: ['*'],
            exclude: ['a'],
            lowPriority: ['b'],
            claimTTL: { '*': 60 },
            attempts: { a: 2 },
          },
        },
        'runners',
      ),
    ).toEqual([]);
    expect(validateBackoffThrottlingSection({ a: 5, b: '2.5' }, 'backoffThrottling')).toEqual([]);
  });

  test('name every bad value by path', () => {
    const issues = validateRunnersSection(
      {
        basic: { runners: -1, concurrency: 0, include: 'x', exclude: ['*'], bogus: 1, attempts: { a: 0 } },
        'bad name': {},
      },
      'runners',
    );
    expect(issues.map((i) => i.path).sort()).toEqual(
      [
        'runners.bad name',
        'runners.basic.attempts.a',
        'runners.basic.bogus',
        'runners.basic.concurrency',
        'runners.basic.exclude.0',
        'runners.basic.include',
        'runners.basic.runners',
      ].sort(),
    );
    expect(validateRunnersSection(7, 'runners')).toHaveLength(1);
    expect(
      validateBackoffThrottlingSection({ a: 0, b: 'x' }, 'backoffThrottling').map((i) => i.path),
    ).toEqual(['backoffThrottling.a', 'backoffThrottling.b']);
  });

  test('one parser: the groups and the issues in one walk; claimTTL is parsed as the timeout', () => {
    const section = Object.freeze({
      g: Object.freeze({
        runners: '2',
        claimTTL: Object.freeze({ t1: 5, t2: 0 }),
        attempts: Object.freeze({ '*': 2 }),
      }),
    });
    const { value, issues } = readRunnersSection(section, 'runners');
    expect(value).toEqual([
      {
        name: 'g',
        runners: 2,
        concurrency: 1,
        include: ['*'],
        exclude: [],
        lowPriority: [],
        timeout: { t1: 5, t2: 0 },
        attempts: { '*': 2 },
      },
    ]);
    expect(issues.map((i) => i.path)).toEqual(['runners.g.claimTTL.t2']);
    // A frozen section (a loaded config's) is walked once: the same result comes back.
    expect(readRunnersSection(section, 'runners')).toBe(readRunnersSection(section, 'runners'));
    expect(parseRunnersSection(section)).toEqual(value);
    expect(parseRunnersSection(undefined).map((g) => g.name)).toEqual(['basic']);
  });

  test('a bad section is one CONFIG_INVALID from resolveConfig', async () => {
    await expect(resolveConfig({ runners: { g: { runners: 'many' } } })).rejects.toMatchObject({
      code: 'SWITCHYARD_CONFIG_INVALID',
    });
  });
});

describe('the JSON Schema for runners and backoffThrottling', () => {
  const schema = JSON.parse(
    readFileSync(new URL('../../schema/switchyard.config.schema.json', import.meta.url), 'utf8'),
  ) as object;
  const validate = new Ajv({ strict: true, allowUnionTypes: true, allErrors: true }).compile(schema);

  test('the web-app example config validates, and so do the shapes the validators accept', () => {
    const example = parseYaml(
      readFileSync(new URL('../../examples/web-app/switchyard.config.yaml', import.meta.url), 'utf8'),
    );
    expect(validate(example), JSON.stringify(validate.errors)).toBe(true);
    for (const good of [
      { runners: { basic: { runners: 3, include: ['*'], exclude: ['a'], lowPriority: ['b'] } } },
      { runners: { g: { runners: `\${N:-2}`, claimTTL: { '*': 60 }, attempts: { a: 2 } } } },
      { runners: { g: {} }, backoffThrottling: { a: 5, b: 0.5, c: `\${RATE}` } },
    ]) {
      expect(validate(good), JSON.stringify(validate.errors)).toBe(true);
    }
  });

  test('bad sections fail the schema too', () => {
    for (const bad of [
      { runners: { g: { runners: -1 } } },
      { runners: { g: { include: 'x' } } },
      { runners: { g: { bogus: 1 } } },
      { runners: { g: { attempts: { a: 0 } } } },
      { runners: { 'bad name': {} } },
      { backoffThrottling: { a: 0 } },
      { backoffThrottling: { a: 'fast' } },
    ]) {
      expect(validate(bad), JSON.stringify(bad)).toBe(false);
    }
  });
});

test('backoffThrottling from the config holds a type to its rate in the service', async () => {
  const farm = await memoryFarm(['w'], { backoffThrottling: { t0: 20 } });
  await farm.group('w').push(Array.from({ length: 200 }, (_, n) => ({ type: 't0', params: { n } })));
  const { handlers, ran } = recorder();
  const started = Date.now();
  const service = new RunnerService(farm, {
    handlers,
    logger: silentLogger,
    groups: parseRunnersSection({ g: { runners: 2 } }),
    sliceTime: 0.5,
  });
  await service.run({ maxTime: 1 });
  const seconds = (Date.now() - started) / 1000;
  // A full bucket (20) plus 20 per second of the run, never the whole backlog.
  expect(ran.length).toBeGreaterThan(0);
  expect(ran.length).toBeLessThanOrEqual(20 + Math.ceil(20 * seconds) + 1);
  await farm.close();
});
