import { describe, expect, test } from 'vitest';
import { SwitchyardError } from '../../src/core/errors.js';
import { canonicalJson, dedupKey, MAX_PARAMS_DEPTH, newRootJob, normalizeJobs } from '../../src/core/job.js';

const opts = { domain: 'enwiki', type: 'refreshLinks' };

function invalid(specs: unknown[]): SwitchyardError {
  try {
    normalizeJobs(specs, opts);
  } catch (err) {
    expect(err).toBeInstanceOf(SwitchyardError);
    return err as SwitchyardError;
  }
  throw new Error('expected SWITCHYARD_INVALID_JOB');
}

describe('job specifications', () => {
  test('canonical JSON sorts keys recursively, so key order never changes the dedup key', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { z: 1, y: 2 }], c: null } })).toBe(
      '{"a":{"c":null,"d":[1,{"y":2,"z":1}]},"b":1}',
    );
    expect(dedupKey('enwiki', 't', { a: 1, b: { c: 2, d: 3 } })).toBe(
      dedupKey('enwiki', 't', { b: { d: 3, c: 2 }, a: 1 }),
    );
  });

  test('removeDuplicatesIgnoreParams leaves the named params out of the dedup key and is validated', () => {
    const [a, b, c] = normalizeJobs(
      [
        {
          type: 'refreshLinks',
          params: { page: 1, cause: 'edit' },
          removeDuplicates: true,
          removeDuplicatesIgnoreParams: ['cause'],
        },
        {
          type: 'refreshLinks',
          params: { page: 1, cause: 'purge' },
          removeDuplicates: true,
          removeDuplicatesIgnoreParams: ['cause'],
        },
        { type: 'refreshLinks', params: { page: 1, cause: 'purge' }, removeDuplicates: true },
      ],
      opts,
    );
    expect(a?.sha1).toBe(b?.sha1);
    expect(a?.sha1).toBe(dedupKey('enwiki', 'refreshLinks', { page: 1 }));
    expect(c?.sha1).not.toBe(a?.sha1);
    expect(b?.params).toEqual({ page: 1, cause: 'purge' });
    const err = invalid([
      { type: 'refreshLinks', params: {}, removeDuplicatesIgnoreParams: 'cause' },
      { type: 'refreshLinks', params: {}, removeDuplicatesIgnoreParams: ['ok', 7] },
    ]);
    expect(err.issues.map((i) => i.path)).toEqual([
      'jobs[0].removeDuplicatesIgnoreParams',
      'jobs[1].removeDuplicatesIgnoreParams',
    ]);
  });

  test('the dedup key ignores root-job, release and request-id params but not domain, type or params', () => {
    const base = dedupKey('enwiki', 't', { page: 1 });
    expect(
      dedupKey('enwiki', 't', { page: 1, rootJobSignature: 'x', rootJobTimestamp: 5, requestId: 'r' }),
    ).toBe(base);
    expect(dedupKey('dewiki', 't', { page: 1 })).not.toBe(base);
    expect(dedupKey('enwiki', 'u', { page: 1 })).not.toBe(base);
    expect(dedupKey('enwiki', 't', { page: 2 })).not.toBe(base);
    expect(base).toMatch(/^[0-9a-f]{40}$/);
  });

  test('normalisation fills every field and computes sha1 only for removeDuplicates', () => {
    const when = new Date(1_700_000_000_000);
    const [a, b] = normalizeJobs(
      [
        { type: 'refreshLinks', params: { page: 1 } },
        { type: 'refreshLinks', params: { page: 1 }, removeDuplicates: true, releaseTimestamp: when },
      ],
      opts,
    );
    expect(a).toEqual({
      type: 'refreshLinks',
      params: { page: 1 },
      domain: 'enwiki',
      releaseTimestamp: null,
      removeDuplicates: false,
      sha1: null,
      rootJob: null,
      requestId: null,
      priority: 0,
      groupKey: null,
    });
    expect(b?.sha1).toBe(dedupKey('enwiki', 'refreshLinks', { page: 1 }));
    expect(b?.releaseTimestamp).toBe(when.getTime());
  });

  test('a priority is kept (-0 as 0), outside the dedup key; a non-integer or out-of-range one is named', () => {
    const [a, b, c] = normalizeJobs(
      [
        { type: 'refreshLinks', params: { page: 1 }, priority: 1_000_000, removeDuplicates: true },
        { type: 'refreshLinks', params: { page: 1 }, priority: -0, removeDuplicates: true },
        { type: 'refreshLinks', params: { page: 1 }, priority: -1_000_000 },
      ],
      opts,
    );
    expect([a?.priority, b?.priority, c?.priority]).toEqual([1_000_000, 0, -1_000_000]);
    expect(Object.is(b?.priority, -0)).toBe(false);
    expect(a?.sha1).toBe(b?.sha1);
    const err = invalid([
      { type: 'refreshLinks', params: {}, priority: 0.5 },
      { type: 'refreshLinks', params: {}, priority: 1_000_001 },
      { type: 'refreshLinks', params: {}, priority: '3' as unknown as number },
    ]);
    expect(err.issues.map((i) => i.path)).toEqual([
      'jobs[0].priority',
      'jobs[1].priority',
      'jobs[2].priority',
    ]);
  });

  test('a function, a Date, a BigInt, a cycle and undefined in an array are rejected with their paths', () => {
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    const err = invalid([
      { type: 'refreshLinks', params: { ok: 1, fn: () => 1 } },
      { type: 'refreshLinks', params: { when: new Date() } },
      { type: 'refreshLinks', params: { n: 10n } },
      { type: 'refreshLinks', params: cyclic },
      { type: 'refreshLinks', params: { list: [1, undefined] } },
      { type: 'refreshLinks', params: { deep: { x: [{ y: Number.NaN }] } } },
    ]);
    expect(err.code).toBe('SWITCHYARD_INVALID_JOB');
    expect(err.issues.map((i) => i.path)).toEqual([
      'jobs[0].params.fn',
      'jobs[1].params.when',
      'jobs[2].params.n',
      'jobs[3].params.self',
      'jobs[4].params.list[1]',
      'jobs[5].params.deep.x[0].y',
    ]);
    expect(err.message).toContain('jobs[1].params.when: is a Date');
  });

  // Found by the chaos suite's job fuzzing (test/chaos/fuzz-jobs.test.ts): a 100,000-deep array
  // threw RangeError (stack overflow) and a throwing getter or proxy threw its own error from push.
  test('params nested deeper than MAX_PARAMS_DEPTH, and getters or proxies that throw, are issues, not exceptions', () => {
    const nest = (depth: number, asArray: boolean): unknown => {
      let v: unknown = 1;
      for (let i = 0; i < depth; i++) v = asArray ? [v] : { d: v };
      return v;
    };
    // params is level 1, so MAX_PARAMS_DEPTH − 1 wrappers inside it still pass.
    expect(() =>
      normalizeJobs([{ type: 'refreshLinks', params: { d: nest(MAX_PARAMS_DEPTH - 2, false) } }], opts),
    ).not.toThrow();
    const getter = Object.defineProperty({ ok: 1 }, 'x', {
      enumerable: true,
      get() {
        throw new Error('getter threw');
      },
    });
    const proxy = new Proxy(
      {},
      {
        ownKeys() {
          throw new Error('proxy threw');
        },
      },
    );
    const err = invalid([
      { type: 'refreshLinks', params: { d: nest(100_000, true) } },
      { type: 'refreshLinks', params: { d: nest(MAX_PARAMS_DEPTH, false) } },
      { type: 'refreshLinks', params: getter },
      { type: 'refreshLinks', params: { inner: proxy } },
      { type: 'refreshLinks', params: { list: [1, proxy] } },
    ]);
    expect(err.code).toBe('SWITCHYARD_INVALID_JOB');
    expect(err.issues.map((i) => [i.path.replace(/(\[0\]|\.d)+$/, '…'), i.message])).toEqual([
      ['jobs[0].params…', `is nested deeper than ${MAX_PARAMS_DEPTH} levels`],
      ['jobs[1].params…', `is nested deeper than ${MAX_PARAMS_DEPTH} levels`],
      ['jobs[2].params.x', 'cannot be read: getter threw'],
      ['jobs[3].params.inner', 'cannot be read: proxy threw'],
      ['jobs[4].params.list[1]', 'cannot be read: proxy threw'],
    ]);
  });

  test('a wrong type, domain, releaseTimestamp or rootJob is an issue naming the field', () => {
    const err = invalid([
      { type: 'other', params: {} },
      { type: 'refreshLinks', params: {}, domain: 'dewiki' },
      { type: 'refreshLinks', params: {}, releaseTimestamp: 'tomorrow' },
      { type: 'refreshLinks', params: {}, rootJob: { signature: '', timestamp: 'x' } },
      { type: 'refreshLinks', params: [] },
      'not a job',
    ]);
    expect(err.issues.map((i) => i.path)).toEqual([
      'jobs[0].type',
      'jobs[1].domain',
      'jobs[2].releaseTimestamp',
      'jobs[3].rootJob.signature',
      'jobs[3].rootJob.timestamp',
      'jobs[4].params',
      'jobs[5]',
    ]);
  });

  test('newRootJob hashes the key and stamps the time', () => {
    const root = newRootJob('refreshLinks:Template:Foo', 42);
    expect(root).toEqual({ signature: expect.stringMatching(/^[0-9a-f]{40}$/), timestamp: 42 });
    expect(newRootJob('refreshLinks:Template:Foo', 43).signature).toBe(root.signature);
  });
});
