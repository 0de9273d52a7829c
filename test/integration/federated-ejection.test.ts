/**
 * Ejection and retry rounds of the federated backend, against a partition whose server is really
 * absent (a Redis partition on a port nothing listens on) next to a memory partition. No service
 * needed: the failure is the point. Time is a ManualClock, so the 5 s ejection is exact.
 */
import { afterEach, describe, expect, test } from 'vitest';
import { FederatedJobQueue } from '../../src/backends/federated/index.js';
import { MemoryJobQueue, MemoryStore } from '../../src/backends/memory/index.js';
import { RedisJobQueue } from '../../src/backends/redis/index.js';
import { ManualClock } from '../../src/core/clock.js';
import { ErrorCode, isSwitchyardError } from '../../src/core/errors.js';
import { freePort } from '../helpers/net.js';

const opened: FederatedJobQueue[] = [];

afterEach(async () => {
  for (const q of opened.splice(0)) await q.close();
});

async function federation(options: {
  readonly live?: boolean;
  readonly deadWeight?: number;
  readonly maxPartitionsTry?: number;
}) {
  const clock = new ManualClock();
  const port = await freePort();
  const q = new FederatedJobQueue({
    type: 'work',
    domain: `eject-${port}`,
    clock,
    maintenanceInterval: null,
    ...(options.maxPartitionsTry === undefined ? {} : { maxPartitionsTry: options.maxPartitionsTry }),
    partitions: [
      {
        name: 'dead',
        weight: options.deadWeight ?? 1_000_000,
        create: (o) => new RedisJobQueue({ ...o, url: `redis://127.0.0.1:${port}`, connectTimeout: 0.2 }),
      },
      ...(options.live === false
        ? []
        : [
            {
              name: 'mem',
              weight: 1,
              create: (o: ConstructorParameters<typeof MemoryJobQueue>[0]) =>
                new MemoryJobQueue({ ...o, store: new MemoryStore() }),
            },
          ]),
    ],
  });
  opened.push(q);
  return { q, clock };
}

async function rejection(fn: () => Promise<unknown>): Promise<unknown> {
  try {
    await fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

describe('federated ejection', () => {
  test('a failing partition is skipped for 5 s by the queue clock and its jobs land elsewhere', async () => {
    const { q, clock } = await federation({});
    expect(await q.push({ type: 'work', params: { n: 0 } })).toEqual({ inserted: 1, duplicates: 0 });
    expect(q.ejectedPartitions).toEqual(['dead']);
    // While ejected, pushes go straight to the live partition (no 200 ms connection wait each).
    const started = performance.now();
    for (let n = 1; n < 50; n++) await q.push({ type: 'work', params: { n } });
    expect(performance.now() - started).toBeLessThan(1_000); // 49 connection waits would take 9.8 s
    clock.advance(4_999);
    expect(q.ejectedPartitions).toEqual(['dead']);
    clock.advance(1);
    expect(q.ejectedPartitions).toEqual([]);
    // Tried again, fails again, ejected again; the job still lands.
    expect(await q.push({ type: 'work', params: { n: 50 } })).toEqual({ inserted: 1, duplicates: 0 });
    expect(q.ejectedPartitions).toEqual(['dead']);
    expect(await q.getSize()).toBe(51);
  });

  test('after maxPartitionsTry rounds the push fails with BACKEND_UNAVAILABLE naming the jobs not stored', async () => {
    const { q } = await federation({ maxPartitionsTry: 1 });
    const error = await rejection(() =>
      q.push([
        { type: 'work', params: { n: 1 } },
        { type: 'work', params: { n: 2 } },
      ]),
    );
    expect(isSwitchyardError(error, ErrorCode.BACKEND_UNAVAILABLE)).toBe(true);
    expect(String((error as Error).message)).toContain('2 of 2 jobs were not stored');
    expect((error as Error).cause).toBeDefined();
  });

  test('root-job records whose ring partition fails are kept on the next live one, and found there', async () => {
    const { q } = await federation({ maxPartitionsTry: 2 });
    let signature = 'root-0';
    for (let i = 1; q.partitionFor(signature) !== 'dead'; i++) signature = `root-${i}`;
    // The job itself goes to the live partition after the first round ejects the dead one; so
    // does its root record.
    await q.push({ type: 'work', params: { n: 1 }, rootJob: { signature, timestamp: 1_000 } });
    await q.push({ type: 'work', params: { n: 2 }, rootJob: { signature, timestamp: 2_000, isSelf: true } });
    expect(await q.isRootJobOldDuplicate({ rootJob: { signature, timestamp: 1_000 } })).toBe(true);
    const popped = new Map<number, boolean>();
    for (let job = await q.pop(); job; job = await q.pop())
      popped.set(job.params.n as number, job.isDuplicate);
    expect(Object.fromEntries(popped)).toEqual({ 1: true, 2: false });
  });

  test('counts and pops tolerate a partial outage and fail only when every partition fails', async () => {
    const { q, clock } = await federation({ deadWeight: 1 });
    await q.push({ type: 'work', params: { n: 1 } });
    clock.advance(5_000);
    expect(await q.getSize()).toBe(1);
    expect(q.ejectedPartitions).toEqual(['dead']);
    clock.advance(5_000);
    const job = await q.pop();
    expect(job?.partition).toBe('mem');

    const { q: allDead } = await federation({ live: false });
    for (const call of [
      () => allDead.push({ type: 'work', params: { n: 1 } }),
      () => allDead.getSize(),
      () => allDead.pop(),
    ]) {
      const error = await rejection(call);
      expect(isSwitchyardError(error, ErrorCode.BACKEND_UNAVAILABLE), String(error)).toBe(true);
    }
  });
});
