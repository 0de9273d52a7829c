import { describe, expect, test } from 'vitest';
import { MemoryJobQueue, type MemoryJobQueueOptions } from '../../src/backends/memory/index.js';
import { JobQueue, type PushResult } from '../../src/core/job-queue.js';
import { CountingMetrics } from '../../src/core/metrics.js';
import { defineSupports } from '../../src/core/supports.js';

/** A memory queue whose wait hook fails (a store error while waiting). */
class FailingWait extends MemoryJobQueue {
  protected override doWaitForJobs(): Promise<boolean> {
    return Promise.reject(new Error('store down'));
  }
}

/** A memory queue whose wait hook never settles and ignores its signal (a buggy backend). */
class DeafWait extends MemoryJobQueue {
  protected override doWaitForJobs(): Promise<boolean> {
    return new Promise(() => {});
  }
}

/** A pop-capable queue WITHOUT `wake` whose hook would answer true (and counts being asked). */
class NoWakeManifest extends JobQueue {
  asked = 0;
  constructor() {
    super('no-wake', defineSupports({ pop: true }), { type: 'w' });
  }
  protected override doBatchPush(): Promise<PushResult> {
    return Promise.resolve({ inserted: 0, duplicates: 0 });
  }
  protected override doWaitForJobs(): Promise<boolean> {
    this.asked++;
    return Promise.resolve(true);
  }
}

describe('JobQueue.waitForJobs (core)', () => {
  test('without supports.wake the hook is never asked: the wait runs out its timeout, false', async () => {
    const q = new NoWakeManifest();
    expect(await q.waitForJobs({ timeout: 20 })).toBe(false);
    expect(q.asked).toBe(0);
    await q.close();
  });

  test('a failing hook is counted (errors, op wait) and the wait runs out its timeout: false', async () => {
    const metrics = new CountingMetrics();
    const q = new FailingWait({ type: 'w', metrics } as MemoryJobQueueOptions);
    expect(await q.waitForJobs({ timeout: 30 })).toBe(false);
    expect(
      metrics.counters.get(
        CountingMetrics.key('errors', { domain: 'default', type: 'w', backend: 'memory', op: 'wait' }),
      ),
    ).toBe(1);
    await q.close();
  });

  test('a hook that ignores its signal still ends at the timeout, abort or close', async () => {
    const q = new DeafWait({ type: 'w' });
    expect(await q.waitForJobs({ timeout: 20 })).toBe(false);
    const stop = new AbortController();
    const aborted = q.waitForJobs({ timeout: 600_000, signal: stop.signal });
    stop.abort();
    expect(await aborted).toBe(false);
    const closed = q.waitForJobs({ timeout: 600_000 });
    await q.close();
    expect(await closed).toBe(false);
  });

  test('wake needs pop', () => {
    expect(() => defineSupports({ wake: true })).toThrow(/wake need pop/);
    expect(defineSupports({ pop: true, wake: true }).wake).toBe(true);
    expect(defineSupports({ pop: true }).wake).toBe(false);
  });
});
