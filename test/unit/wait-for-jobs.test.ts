import { describe, expect, test } from 'vitest';
import { MemoryJobQueue, type MemoryJobQueueOptions } from '../../src/backends/memory/index.js';
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

describe('JobQueue.waitForJobs (core)', () => {
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
