/**
 * Inverse tests (STYLE 6): for every capability the manifest lacks, the matching call throws
 * `SWITCHYARD_NOT_SUPPORTED` and changes nothing, never a silent no-op. For push-only manifests
 * this is P-22.
 *
 * @packageDocumentation
 */
import type { JobQueue } from '../../core/job-queue.js';
import { assert, assertNothingStored, listAll, rejectsNotSupported, type Suite } from './suite.js';

/** A well-formed claim handle for calls that must be refused before they look at it. */
function fakeRef(q: JobQueue): { id: string; type: string; claimToken: string } {
  return { id: 'conformance-missing', type: q.type, claimToken: 'conformance-token' };
}

/** Registers the inverse tests for whatever the manifest lacks. */
export function all(suite: Suite): void {
  const { supports } = suite;
  const tests: (() => void)[] = [];

  if (!supports.pop) {
    tests.push(() => {
      suite.test(
        'P-22 push-only: push() works; pop() and popBatch() throw SWITCHYARD_NOT_SUPPORTED',
        async (h) => {
          const q = await h.queue();
          assert.deepEqual(await q.push(h.job({ n: 0 })), { inserted: 1, duplicates: 0 });
          await rejectsNotSupported(() => q.pop(), 'pop on a push-only queue');
          await rejectsNotSupported(() => q.popBatch(5), 'popBatch on a push-only queue');
        },
      );
      suite.test(
        'P-22 push-only: every count throws SWITCHYARD_NOT_SUPPORTED (never a silent 0)',
        async (h) => {
          const q = await h.queue();
          await rejectsNotSupported(() => q.getSize(), 'getSize');
          await rejectsNotSupported(() => q.getAcquiredCount(), 'getAcquiredCount');
          await rejectsNotSupported(() => q.getDelayedCount(), 'getDelayedCount');
          await rejectsNotSupported(() => q.getAbandonedCount(), 'getAbandonedCount');
          await rejectsNotSupported(() => q.isEmpty(), 'isEmpty');
        },
      );
      suite.test(
        'P-22 push-only: runMaintenance() and repushAbandoned() throw SWITCHYARD_NOT_SUPPORTED',
        async (h) => {
          const q = await h.queue();
          await rejectsNotSupported(() => q.runMaintenance(), 'runMaintenance');
          await rejectsNotSupported(() => q.repushAbandoned(), 'repushAbandoned');
        },
      );
    });
  } else if (supports.sizes === 'none') {
    tests.push(() => {
      suite.test('P-17 without sizes every count throws SWITCHYARD_NOT_SUPPORTED', async (h) => {
        const q = await h.queue();
        await rejectsNotSupported(() => q.getSize(), 'getSize');
        await rejectsNotSupported(() => q.getAcquiredCount(), 'getAcquiredCount');
        await rejectsNotSupported(() => q.getDelayedCount(), 'getDelayedCount');
        await rejectsNotSupported(() => q.getAbandonedCount(), 'getAbandonedCount');
        await rejectsNotSupported(() => q.isEmpty(), 'isEmpty');
      });
    });
  }

  if (!supports.ack) {
    tests.push(() => {
      suite.test(
        `${supports.pop ? 'P-8' : 'P-22'} without ack, ack(), ackBatch(), release() and extendClaim() throw SWITCHYARD_NOT_SUPPORTED`,
        async (h) => {
          const q = await h.queue();
          assert.equal(q.tracksClaims, false);
          await rejectsNotSupported(() => q.ack(fakeRef(q)), 'ack');
          await rejectsNotSupported(() => q.ackBatch([fakeRef(q)]), 'ackBatch');
          await rejectsNotSupported(() => q.release(fakeRef(q)), 'release');
          await rejectsNotSupported(() => q.extendClaim(fakeRef(q)), 'extendClaim');
        },
      );
    });
  }

  if (!supports.listing) {
    tests.push(() => {
      suite.test(
        `${supports.pop ? 'P-19' : 'P-22'} without listing, list() and repushAbandoned() throw SWITCHYARD_NOT_SUPPORTED`,
        async (h) => {
          const q = await h.queue();
          for (const state of ['ready', 'claimed', 'delayed', 'abandoned'] as const) {
            await rejectsNotSupported(() => listAll(q, state), `list('${state}')`);
          }
          await rejectsNotSupported(() => q.repushAbandoned(), 'repushAbandoned');
        },
      );
    });
  }

  if (!supports.delayedJobs) {
    tests.push(() => {
      suite.test(
        'P-4 without delayedJobs a delayed job rejects the whole batch with SWITCHYARD_NOT_SUPPORTED',
        async (h) => {
          const q = await h.queue();
          const at = h.clock.now() + 60_000;
          await rejectsNotSupported(
            () => q.push([h.job({ n: 0 }), h.job({ n: 1 }, { releaseTimestamp: at })]),
            'push of a batch with a delayed job',
          );
          await rejectsNotSupported(
            () => q.push(h.job({ n: 2 }, { releaseTimestamp: new Date(at) })),
            'push of a delayed job (Date)',
          );
          await assertNothingStored(q, 'after the rejected delayed batches');
        },
      );
      if (supports.ack) {
        suite.test(
          'P-12 without delayedJobs release(job, { delay }) throws SWITCHYARD_NOT_SUPPORTED',
          async (h) => {
            const q = await h.queue({ claimTTL: 60 });
            await q.push(h.job({ n: 0 }));
            const job = await q.pop();
            assert.ok(job);
            await rejectsNotSupported(() => q.release(job, { delay: 30 }), 'release with a delay');
            assert.equal(await q.release(job), 'released', 'an immediate release still works');
          },
        );
      }
    });
  }

  if (!supports.atomicBatchPush) {
    tests.push(() => {
      suite.test(
        'P-16 without atomicBatchPush, push(jobs, { atomic: true }) throws SWITCHYARD_NOT_SUPPORTED',
        async (h) => {
          const q = await h.queue();
          await rejectsNotSupported(() => q.push(h.jobs(3), { atomic: true }), 'atomic push');
          await assertNothingStored(q, 'after the rejected atomic push');
        },
      );
    });
  }

  if (!supports.transactionalPush) {
    tests.push(() => {
      suite.test(
        '§3 without transactionalPush, push(jobs, { transaction }) throws SWITCHYARD_NOT_SUPPORTED',
        async (h) => {
          const q = await h.queue();
          await rejectsNotSupported(
            () => q.push(h.jobs(2), { transaction: { isTransaction: true } }),
            'transactional push',
          );
          await assertNothingStored(q, 'after the rejected transactional push');
        },
      );
    });
  }

  if (!supports.rootJobs) {
    tests.push(() => {
      suite.test(
        'P-14 without rootJobs, deduplicateRootJob() and isRootJobOldDuplicate() throw SWITCHYARD_NOT_SUPPORTED',
        async (h) => {
          const q = await h.queue();
          const rootJob = { signature: 'conformance', timestamp: h.clock.now() };
          await rejectsNotSupported(() => q.deduplicateRootJob({ rootJob }), 'deduplicateRootJob');
          await rejectsNotSupported(() => q.isRootJobOldDuplicate({ rootJob }), 'isRootJobOldDuplicate');
        },
      );
    });
  }

  if (tests.length === 0) return;
  suite.describe('not supported (P-22 and inverse tests)', () => {
    for (const register of tests) register();
  });
}
