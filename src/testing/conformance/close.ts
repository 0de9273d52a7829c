/**
 * Close (P-21): after `close()` every call throws `SWITCHYARD_QUEUE_CLOSED`; closing is
 * idempotent and never takes the shared store (or other handles) down with it.
 *
 * @packageDocumentation
 */
import type { JobQueue } from '../../core/job-queue.js';
import { assert, drain, ErrorCode, listAll, rejectsWithCode, type Suite } from './suite.js';

/** Every public call of a queue, by name (whatever the manifest: closed wins over unsupported). */
function everyCall(q: JobQueue, type: string): Record<string, () => unknown> {
  const ref = { id: 'x', type, claimToken: 'y' };
  const root = { rootJob: { signature: 's', timestamp: 1 } };
  return {
    push: () => q.push({ type, params: {} }),
    'push([])': () => q.push([]),
    pop: () => q.pop(),
    popBatch: () => q.popBatch(2),
    ack: () => q.ack(ref),
    ackBatch: () => q.ackBatch([ref]),
    release: () => q.release(ref),
    extendClaim: () => q.extendClaim(ref),
    getSize: () => q.getSize(),
    getAcquiredCount: () => q.getAcquiredCount(),
    getDelayedCount: () => q.getDelayedCount(),
    getAbandonedCount: () => q.getAbandonedCount(),
    isEmpty: () => q.isEmpty(),
    delete: () => q.delete(),
    list: () => listAll(q, 'ready'),
    runMaintenance: () => q.runMaintenance(),
    repushAbandoned: () => q.repushAbandoned(),
    deduplicateRootJob: () => q.deduplicateRootJob(root),
    isRootJobOldDuplicate: () => q.isRootJobOldDuplicate(root),
    getSiblingQueuesWithJobs: () => q.getSiblingQueuesWithJobs([type]),
    getSiblingQueueSizes: () => q.getSiblingQueueSizes([type]),
    waitForJobs: () => q.waitForJobs({ timeout: 10 }),
  };
}

/** Registers the close tests. */
export function all(suite: Suite): void {
  const { supports } = suite;
  suite.describe('close (P-21)', () => {
    suite.test('P-21 after close() every call throws SWITCHYARD_QUEUE_CLOSED', async (h) => {
      const q = await h.queue();
      await q.close();
      for (const [name, call] of Object.entries(everyCall(q, h.type))) {
        await rejectsWithCode(call, ErrorCode.QUEUE_CLOSED, `${name}() after close()`);
      }
    });

    suite.test('P-21 close() is idempotent and sets closed', async (h) => {
      const q = await h.queue();
      assert.equal(q.closed, false);
      await q.close();
      assert.equal(q.closed, true);
      await q.close();
      assert.equal(q.closed, true);
    });

    suite.test('P-21 closing one handle leaves the stored jobs and the other handles working', async (h) => {
      const a = await h.queue();
      const b = await h.queue();
      await a.push(h.jobs(2));
      await a.close();
      assert.deepEqual(await b.push(h.job({ n: 2 })), { inserted: 1, duplicates: 0 });
      if (supports.pop) {
        const jobs = await drain(b);
        assert.equal(jobs.length, 3, 'jobs pushed before the close are still stored');
        if (supports.ack) for (const job of jobs) assert.equal(await b.ack(job), true);
      }
      const c = await h.queue();
      assert.deepEqual(await c.push(h.job({ n: 3 })), { inserted: 1, duplicates: 0 }, 'a new handle works');
    });
  });
}
