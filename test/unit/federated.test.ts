/**
 * The federated backend through the config and a group: settings validation (paths and choices),
 * domain sections, consistent-hash placement of dedup jobs and root jobs, routing of acks.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Ajv } from 'ajv';
import { describe, expect, test } from 'vitest';
import { FederatedJobQueue, HashRing } from '../../src/backends/federated/index.js';
import { MemoryJobQueue, MemoryStore } from '../../src/backends/memory/index.js';
import { resolveConfig } from '../../src/container.js';
import { ManualClock } from '../../src/core/clock.js';
import { ErrorCode, isSwitchyardError, type SwitchyardError } from '../../src/core/errors.js';
import { createJobQueueGroup } from '../../src/core/farm.js';

const unique = () => randomUUID().slice(0, 8);

function federatedConfig(overrides: Record<string, unknown> = {}, stores = [unique(), unique(), unique()]) {
  return {
    connections: {
      mem1: { class: 'memory', store: `fed-${stores[0]}` },
    },
    jobTypeConf: {
      default: {
        class: 'federated',
        claimTTL: 60,
        sectionsByDomain: { enwiki: 's1' },
        partitionsBySection: { default: { p1: 2, p2: 1, p3: 1 }, s1: { p3: 1 } },
        configByPartition: {
          p1: { class: 'memory', connection: 'mem1' },
          p2: { class: 'memory', store: `fed-${stores[1]}` },
          p3: { class: 'memory', store: `fed-${stores[2]}` },
        },
        ...overrides,
      },
    },
  };
}

async function configError(raw: unknown): Promise<SwitchyardError> {
  try {
    await resolveConfig(raw);
  } catch (error) {
    if (isSwitchyardError(error, ErrorCode.CONFIG_INVALID)) return error;
    throw error;
  }
  throw new Error('resolveConfig accepted the config');
}

describe('federated settings validation', () => {
  test('a section naming an unconfigured partition is reported with its path and the choices', async () => {
    const error = await configError(federatedConfig({ partitionsBySection: { default: { p1: 1, p9: 1 } } }));
    const issue = error.issues.find((i) => i.path === 'jobTypeConf.default.partitionsBySection.default.p9');
    expect(issue?.message).toMatch(/not a partition/);
    expect(issue?.choices).toEqual(['p1', 'p2', 'p3']);
  });

  test('bad weights, sections, classes, connections and options are all reported at once', async () => {
    const error = await configError({
      connections: { r: { class: 'memory' } },
      jobTypeConf: {
        default: {
          class: 'federated',
          sectionsByDomain: { enwiki: 'nope' },
          partitionsBySection: { default: { a: -1, b: 0 } },
          configByPartition: { a: { class: 'memory', claimTTL: 5 }, b: { class: 'memory' } },
          maxPartitionsTry: 0,
          bogus: true,
        },
      },
    });
    const paths = error.issues.map((i) => i.path);
    expect(paths).toEqual(
      expect.arrayContaining([
        'jobTypeConf.default.bogus',
        'jobTypeConf.default.sectionsByDomain.enwiki',
        'jobTypeConf.default.partitionsBySection.default.a',
        'jobTypeConf.default.partitionsBySection.default',
        'jobTypeConf.default.configByPartition.a.claimTTL',
        'jobTypeConf.default.maxPartitionsTry',
      ]),
    );
  });

  test('partition classes and their own settings are checked under the partition path', async () => {
    const error = await configError(
      federatedConfig({
        configByPartition: {
          p1: { class: 'nosuch' },
          p2: { class: 'memory', store: 7 },
          p3: { class: 'memory', connection: 'missing' },
        },
      }),
    );
    const byPath = new Map(error.issues.map((i) => [i.path, i]));
    expect(byPath.get('jobTypeConf.default.configByPartition.p1.class')?.choices).toContain('memory');
    expect(byPath.has('jobTypeConf.default.configByPartition.p2.store')).toBe(true);
    expect(byPath.get('jobTypeConf.default.configByPartition.p3.connection')?.choices).toEqual(['mem1']);
  });

  test('a push-only partition class is refused', async () => {
    const error = await configError(
      federatedConfig({
        configByPartition: {
          p1: { class: 'eventbus', brokers: ['127.0.0.1:1'] },
          p2: { class: 'memory' },
          p3: { class: 'memory' },
        },
      }),
    );
    expect(error.issues.some((i) => i.path === 'jobTypeConf.default.configByPartition.p1.class')).toBe(true);
  });
});

describe('federated settings in the JSON Schema', () => {
  const schema: unknown = JSON.parse(
    readFileSync(resolve(import.meta.dirname, '../../schema/switchyard.config.schema.json'), 'utf8'),
  );
  const validate = new Ajv({ strict: true, allowUnionTypes: true, allErrors: true }).compile(
    schema as object,
  );

  test('a federated config validates; one without a default section or with a negative weight does not', () => {
    expect(validate(federatedConfig()), JSON.stringify(validate.errors)).toBe(true);
    expect(validate(federatedConfig({ partitionsBySection: { s1: { p1: 1 } } }))).toBe(false);
    expect(validate(federatedConfig({ partitionsBySection: { default: { p1: -1 } } }))).toBe(false);
    expect(validate(federatedConfig({ maxPartitionsTry: 0 }))).toBe(false);
  });
});

describe('federated queue in a group', () => {
  test('domains use their section; jobs round-trip and acks route to the popping partition', async () => {
    const config = await resolveConfig(federatedConfig());
    const group = createJobQueueGroup(config, 'dewiki');
    const enwiki = createJobQueueGroup(config, 'enwiki');
    try {
      const q = group.get('refresh') as FederatedJobQueue;
      expect(q).toBeInstanceOf(FederatedJobQueue);
      expect(q.partitions.map((p) => p.name)).toEqual(['p1', 'p2', 'p3']);
      expect((enwiki.get('refresh') as FederatedJobQueue).partitions).toEqual([{ name: 'p3', weight: 1 }]);
      // One push per job: a batch of jobs without removeDuplicates goes to one random partition.
      for (let n = 0; n < 200; n++) await group.push({ type: 'refresh', params: { n } });
      expect(await q.getSize()).toBe(200);
      const seen = new Set<string>();
      const partitions = new Set<string>();
      for (let job = await q.pop(); job; job = await q.pop()) {
        expect(job.id.startsWith(`${job.partition}:`)).toBe(true);
        partitions.add(job.partition as string);
        seen.add(String(job.params.n));
        expect(await q.ack(job)).toBe(true);
        expect(await q.ack(job)).toBe(false);
      }
      expect(seen.size).toBe(200);
      expect([...partitions].sort()).toEqual(['p1', 'p2', 'p3']);
      expect(await q.getAcquiredCount()).toBe(0);
    } finally {
      await group.close();
      await enwiki.close();
    }
  });

  test('duplicates meet in the partition the ring assigns to their key', async () => {
    const config = await resolveConfig(federatedConfig());
    const group = createJobQueueGroup(config, 'dewiki');
    try {
      const q = group.get('dedup') as FederatedJobQueue;
      for (let n = 0; n < 20; n++) {
        const spec = { type: 'dedup', params: { n }, removeDuplicates: true };
        expect((await q.push(spec)).inserted).toBe(1);
        expect(await q.push(spec)).toEqual({ inserted: 0, duplicates: 1 });
      }
      expect(await q.getSize()).toBe(20);
      for (let job = await q.pop(); job; job = await q.pop()) {
        expect(job.partition).toBe(q.partitionFor(job.sha1 as string));
      }
    } finally {
      await group.close();
    }
  });

  test('a newer root job supersedes older ones whichever partition holds them', async () => {
    const config = await resolveConfig(federatedConfig());
    const group = createJobQueueGroup(config, 'dewiki');
    try {
      const q = group.get('roots');
      const sig = `sig-${unique()}`;
      await q.push(
        Array.from({ length: 10 }, (_, n) => ({
          type: 'roots',
          params: { n },
          rootJob: { signature: sig, timestamp: 1000 },
        })),
      );
      await q.push({
        type: 'roots',
        params: { n: 99 },
        rootJob: { signature: sig, timestamp: 2000, isSelf: true },
      });
      let dupes = 0;
      let fresh = 0;
      for (let job = await q.pop(); job; job = await q.pop()) {
        if (job.isDuplicate) dupes++;
        else fresh++;
      }
      expect({ dupes, fresh }).toEqual({ dupes: 10, fresh: 1 });
    } finally {
      await group.close();
    }
  });
});

describe('federated placement', () => {
  test('the ring is stable, honours weights, and skipping a partition moves only its keys', () => {
    const full = new HashRing(
      new Map([
        ['a', 1],
        ['b', 1],
        ['c', 2],
      ]),
    );
    const again = new HashRing(
      new Map([
        ['c', 2],
        ['b', 1],
        ['a', 1],
      ]),
    );
    const counts: Record<string, number> = { a: 0, b: 0, c: 0 };
    let moved = 0;
    for (let i = 0; i < 8000; i++) {
      const key = `k${i}`;
      const owner = full.locate(key) as string;
      counts[owner] = (counts[owner] ?? 0) + 1;
      expect(again.locate(key)).toBe(owner);
      if (owner !== 'c' && full.locate(key, (p) => p !== 'c') !== owner) moved++;
    }
    expect(moved).toBe(0);
    expect(counts.c).toBeGreaterThan(3200);
    expect(counts.c).toBeLessThan(4800);
    expect(full.locate('x', (p) => p === 'b')).toBe('b');
    expect(full.locate('x', () => false)).toBeNull();
  });

  test('weight-0 partitions take no new jobs but are still popped and counted', async () => {
    const clock = new ManualClock();
    const domain = `d${unique()}`;
    const drain = new MemoryStore();
    const old = new MemoryJobQueue({ type: 't', domain, clock, store: drain });
    await old.push([{ type: 't', params: { old: true } }]);
    const q = new FederatedJobQueue({
      type: 't',
      domain,
      clock,
      partitions: [
        { name: 'old', weight: 0, create: (o) => new MemoryJobQueue({ ...o, store: drain }) },
        { name: 'new', weight: 1, create: (o) => new MemoryJobQueue({ ...o, store: new MemoryStore() }) },
      ],
    });
    await q.push(Array.from({ length: 20 }, (_, n) => ({ type: 't', params: { n } })));
    expect(await q.getSize()).toBe(21);
    const from = new Map<string, number>();
    for (let job = await q.pop(); job; job = await q.pop()) {
      from.set(job.partition as string, (from.get(job.partition as string) ?? 0) + 1);
    }
    expect(Object.fromEntries(from)).toEqual({ old: 1, new: 20 });
    await q.close();
  });
});
