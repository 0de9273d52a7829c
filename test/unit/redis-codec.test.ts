/**
 * The Redis backend's stored form of a job (codec.ts): the priority in the header (version 2),
 * priority 0 stored exactly as before priorities existed (version 1), and version-1 blobs written
 * by older releases decoding as priority 0.
 */
import { describe, expect, test } from 'vitest';
import { CorruptJobError, decodeJob, encodeJob, type StoredJob } from '../../src/backends/redis/codec.js';
import { MAX_PRIORITY, MIN_PRIORITY, type NormalizedJob } from '../../src/core/job.js';

function job(overrides: Partial<NormalizedJob> = {}): NormalizedJob {
  return {
    type: 't',
    params: { n: 1 },
    domain: 'd',
    releaseTimestamp: null,
    removeDuplicates: false,
    sha1: null,
    rootJob: null,
    requestId: null,
    priority: 0,
    groupKey: null,
    ...overrides,
  };
}

async function roundTrip(j: NormalizedJob, compressAbove: number | null = null): Promise<StoredJob> {
  return await decodeJob(await encodeJob(j, 1_700_000_000_000, compressAbove));
}

describe('redis codec: priorities', () => {
  test('priority 0 keeps the version-1 header, byte for byte', () => {
    expect(encodeJob(job(), 1_700_000_000_000, null)).toBe('1|||1700000000000|j|{"p":{"n":1}}');
    expect(encodeJob(job({ sha1: 'abc', releaseTimestamp: 5 }), 7, null)).toBe('1|abc|5|7|j|{"p":{"n":1}}');
  });

  test('a non-zero priority is written as a version-2 header and read back', async () => {
    expect(encodeJob(job({ priority: 5 }), 7, null)).toBe('2|5|||7|j|{"p":{"n":1}}');
    expect(encodeJob(job({ priority: -3, sha1: 'abc', releaseTimestamp: 9 }), 7, null)).toBe(
      '2|-3|abc|9|7|j|{"p":{"n":1}}',
    );
    for (const priority of [1, -1, 42, MAX_PRIORITY, MIN_PRIORITY, 0]) {
      const stored = await roundTrip(job({ priority, sha1: 'x', releaseTimestamp: 3, requestId: 'r' }));
      expect(stored).toEqual({
        priority,
        groupKey: null,
        sha1: 'x',
        releaseTimestamp: 3,
        enqueuedAt: 1_700_000_000_000,
        params: { n: 1 },
        requestId: 'r',
        rootJob: null,
      });
    }
  });

  test('a compressed payload keeps its priority', async () => {
    const big = job({ priority: 7, params: { s: 'x'.repeat(5_000) } });
    const blob = await encodeJob(big, 1, 100);
    expect(blob.startsWith('2|7|||1|z|')).toBe(true);
    const stored = await decodeJob(blob);
    expect(stored.priority).toBe(7);
    expect(stored.params).toEqual(big.params);
  });

  test('a version-1 blob of an older release decodes as priority 0', async () => {
    const stored = await decodeJob('1|deadbeef|1700000000500|1700000000000|j|{"p":{"a":2},"q":"req"}');
    expect(stored).toEqual({
      priority: 0,
      groupKey: null,
      sha1: 'deadbeef',
      releaseTimestamp: 1_700_000_000_500,
      enqueuedAt: 1_700_000_000_000,
      params: { a: 2 },
      requestId: 'req',
      rootJob: null,
    });
    expect((await decodeJob('1|||5|j|{"p":{}}')).priority).toBe(0);
  });

  test('a malformed version-2 header is a CorruptJobError', () => {
    for (const blob of [
      '2|',
      '2||||5|j|{"p":{}}', // empty priority
      '2|x|||5|j|{"p":{}}',
      '2|1.5|||5|j|{"p":{}}',
      '2|0|||5|j|{"p":{}}', // priority 0 is written as version 1
      '2|01|||5|j|{"p":{}}',
      '2|12345678|||5|j|{"p":{}}',
      '2|5|||5|j', // truncated
      '3|5|||5|j|{"p":{}}',
    ]) {
      expect(() => decodeJob(blob), blob).toThrow(CorruptJobError);
    }
  });
});

describe('redis codec: group keys', () => {
  test('a groupKey is written as a version-3 header, escaped, and read back', async () => {
    expect(encodeJob(job({ groupKey: 'tenant-a' }), 7, null)).toBe('3|0|tenant-a|||7|j|{"p":{"n":1}}');
    expect(encodeJob(job({ groupKey: 'a|b:{c}%', priority: 2, sha1: 's' }), 7, null)).toBe(
      '3|2|a%7Cb%3A%7Bc%7D%25|s||7|j|{"p":{"n":1}}',
    );
    for (const groupKey of ['g', 'a|b', '{x}:y', '100%', 'é ü\t\n', '💥', 'x'.repeat(255)]) {
      for (const priority of [0, 3, -3]) {
        const stored = await roundTrip(job({ groupKey, priority, sha1: 'h', releaseTimestamp: 4 }));
        expect(stored.groupKey).toBe(groupKey);
        expect(stored.priority).toBe(priority);
        expect(stored.sha1).toBe('h');
        expect(stored.releaseTimestamp).toBe(4);
      }
    }
    const zipped = await roundTrip(job({ groupKey: 'z|z', params: { s: 'y'.repeat(5_000) } }), 100);
    expect(zipped.groupKey).toBe('z|z');
  });

  test('blobs of versions 1 and 2 decode as groupKey null; a malformed version 3 is a CorruptJobError', async () => {
    expect((await decodeJob('1|||5|j|{"p":{}}')).groupKey).toBeNull();
    expect((await decodeJob('2|4|||5|j|{"p":{}}')).groupKey).toBeNull();
    for (const blob of [
      '3|0||||5|j|{"p":{}}',
      '3|x|g|||5|j|{"p":{}}',
      '3|0|%E0%A4|||5|j|{"p":{}}',
      '3|0|g',
    ]) {
      expect(() => decodeJob(blob), blob).toThrow(CorruptJobError);
    }
  });
});
