/**
 * Claims (P-9, P-11, P-12): expiry and recycling with the attempt count kept, abandonment after
 * maxTries, fenced ack / release / extend, release with a delay, and the claimTTL-0 mode.
 * Maintenance is explicit here (`maintenanceInterval: null`); maintenance.ts covers the rest.
 *
 * @packageDocumentation
 */
import type { Job } from '../../core/job.js';
import type { JobQueue } from '../../core/job-queue.js';
import {
  assert,
  assertCount,
  drain,
  listAll,
  rejectsNotSupported,
  rejectsWithTypeError,
  type Suite,
} from './suite.js';

const TTL = 60;

async function popOne(q: JobQueue, what: string): Promise<Job> {
  const job = await q.pop();
  assert.ok(job, `${what}: expected a job, got null`);
  return job;
}

/** Registers the claim tests. */
export function all(suite: Suite): void {
  const { supports } = suite;
  if (!supports.pop) return;

  suite.describe('claims (P-9, P-11, P-12)', () => {
    if (supports.ack) {
      suite.test(
        'P-9 a claim not acked within claimTTL returns to ready with its attempt count kept',
        async (h) => {
          const q = await h.queue({ claimTTL: TTL });
          const other = await h.queue({ claimTTL: TTL });
          await q.push(h.job({ n: 0 }));
          const first = await popOne(q, 'first pop');
          h.advance(TTL - 1);
          assert.equal((await q.runMaintenance()).recycled, 0, 'recycled before claimTTL');
          assert.equal(await other.pop(), null, 'the claim was handed out again before claimTTL');
          h.advance(2);
          assert.equal((await q.runMaintenance()).recycled, 1, 'not recycled after claimTTL');
          await assertCount(q, 'claimed', 0, 'after the recycle');
          await assertCount(q, 'ready', 1, 'after the recycle');
          const second = await popOne(other, 'pop after the recycle');
          assert.equal(second.id, first.id, 'the same job comes back');
          assert.deepEqual(second.params, first.params);
          assert.equal(second.attempts, 2, 'attempts counts both claims');
          assert.notEqual(second.claimToken, first.claimToken, 'a new claim gets a new token');
          assert.equal(second.enqueuedAt, first.enqueuedAt, 'enqueuedAt is kept');
        },
      );

      suite.test('P-9 after maxTries claims a job is abandoned, not recycled', async (h) => {
        const q = await h.queue({ claimTTL: TTL, maxTries: 2 });
        await q.push(h.job({ n: 0 }));
        const first = await popOne(q, 'claim 1');
        h.advance(TTL + 1);
        assert.deepEqual(
          { ...(await q.runMaintenance()), released: 0 },
          { recycled: 1, abandoned: 0, pruned: 0, released: 0 },
        );
        const second = await popOne(q, 'claim 2');
        assert.equal(second.attempts, 2);
        h.advance(TTL + 1);
        assert.deepEqual(
          { ...(await q.runMaintenance()), released: 0 },
          { recycled: 0, abandoned: 1, pruned: 0, released: 0 },
        );
        assert.equal(await q.pop(), null, 'an exhausted job was recycled');
        await assertCount(q, 'abandoned', 1, 'after the last claim expired');
        await assertCount(q, 'claimed', 0, 'after the last claim expired');
        await assertCount(q, 'ready', 0, 'after the last claim expired');
        if (supports.listing) {
          const [listed, ...more] = await listAll(q, 'abandoned');
          assert.equal(more.length, 0);
          assert.equal(listed?.id, first.id);
          assert.equal(listed?.attempts, 2);
          assert.equal(listed?.state, 'abandoned');
        }
        assert.equal(await q.ack(second), false, 'the expired claim can no longer be acked');
      });

      suite.test('P-9 with maxTries 1 the first expired claim abandons the job', async (h) => {
        const q = await h.queue({ claimTTL: TTL, maxTries: 1 });
        await q.push(h.job({ n: 0 }));
        await popOne(q, 'claim 1');
        h.advance(TTL + 1);
        const m = await q.runMaintenance();
        assert.equal(m.abandoned, 1);
        assert.equal(m.recycled, 0);
        assert.equal(await q.pop(), null);
        await assertCount(q, 'abandoned', 1, 'after the only claim expired');
      });

      suite.test(
        'P-11 a late ack of a recycled claim returns false and leaves the recycled job alone',
        async (h) => {
          const q = await h.queue({ claimTTL: TTL });
          const late = await h.queue({ claimTTL: TTL });
          await q.push(h.job({ n: 0 }));
          const stale = await popOne(q, 'claim 1');
          h.advance(TTL + 1);
          await q.runMaintenance();
          assert.equal(await late.ack(stale), false, 'a late ack of a recycled (ready) claim');
          await assertCount(q, 'ready', 1, 'the recycled copy is still ready after the late ack');
          const live = await popOne(q, 'claim 2');
          assert.equal(live.id, stale.id);
          assert.equal(await late.ack(stale), false, 'a late ack while another worker holds the claim');
          assert.deepEqual(await late.ackBatch([stale]), [false], 'a late ackBatch');
          await assertCount(q, 'claimed', 1, 'the live claim survived the late acks');
          assert.equal(await q.ack(live), true, 'the live claim acks');
          assert.equal(await q.pop(), null);
        },
      );

      suite.test(
        'P-11 release and extendClaim with a stale claim token return false and change nothing',
        async (h) => {
          const q = await h.queue({ claimTTL: TTL });
          const other = await h.queue({ claimTTL: TTL });
          await q.push(h.job({ n: 0 }));
          const stale = await popOne(q, 'claim 1');
          h.advance(TTL + 1);
          await q.runMaintenance();
          const live = await popOne(q, 'claim 2');
          h.advance(TTL / 2);
          assert.equal(await other.release(stale), false, 'release with a stale token');
          assert.equal(await other.extendClaim(stale), false, 'extendClaim with a stale token');
          assert.equal(await other.pop(), null, 'a stale release made the job ready');
          await assertCount(q, 'claimed', 1, 'after the stale release');
          // The stale extend must not have renewed the live claim either: it expires on time.
          h.advance(TTL / 2 + 1);
          assert.equal((await q.runMaintenance()).recycled, 1, 'the live claim still expires on time');
          const third = await popOne(q, 'claim 3');
          assert.equal(third.attempts, 3);
          assert.equal(await q.ack(live), false);
          assert.equal(await q.ack(third), true);
        },
      );

      suite.test('P-11 a forged claim token is refused by ack, release and extendClaim', async (h) => {
        const q = await h.queue({ claimTTL: TTL });
        await q.push(h.job({ n: 0 }));
        const job = await popOne(q, 'claim');
        const forged = { id: job.id, type: job.type, claimToken: `${job.claimToken}-forged` };
        assert.equal(await q.ack(forged), false);
        assert.equal(await q.release(forged), false);
        assert.equal(await q.extendClaim(forged), false);
        const unknown = { id: `${job.id}-missing`, type: job.type, claimToken: job.claimToken };
        assert.equal(await q.ack(unknown), false, 'ack of an unknown id');
        await assertCount(q, 'claimed', 1, 'after the forged calls');
        assert.equal(await q.ack(job), true);
      });

      suite.test('P-11 after release() the old claim token no longer acks', async (h) => {
        const q = await h.queue({ claimTTL: TTL });
        await q.push(h.job({ n: 0 }));
        const job = await popOne(q, 'claim 1');
        assert.equal(await q.release(job), 'released');
        assert.equal(await q.ack(job), false, 'ack after release');
        assert.equal(await q.release(job), false, 'second release');
        const again = await popOne(q, 'claim 2');
        assert.equal(again.id, job.id, 'the released job was not deleted by the stale ack');
      });

      suite.test('P-12 release() returns a claimed job to ready at once, counting the attempt', async (h) => {
        const q = await h.queue({ claimTTL: TTL, maxTries: 3 });
        const other = await h.queue({ claimTTL: TTL, maxTries: 3 });
        await q.push(h.job({ n: 0 }));
        const first = await popOne(q, 'claim 1');
        assert.equal(await q.release(first), 'released');
        await assertCount(q, 'claimed', 0, 'after release');
        await assertCount(q, 'ready', 1, 'after release');
        const second = await popOne(other, 'claim 2 (no waiting for claimTTL)');
        assert.equal(second.id, first.id);
        assert.equal(second.attempts, 2);
        assert.deepEqual(second.params, first.params);
      });

      if (supports.delayedJobs) {
        suite.test('P-12 release(job, { delay }) keeps the job delayed for delay seconds', async (h) => {
          const q = await h.queue({ claimTTL: TTL });
          await q.push(h.job({ n: 0 }));
          const first = await popOne(q, 'claim 1');
          assert.equal(await q.release(first, { delay: 30 }), 'released');
          assert.equal(await q.pop(), null, 'a job released with a delay popped at once');
          await assertCount(q, 'delayed', 1, 'after a delayed release');
          await assertCount(q, 'claimed', 0, 'after a delayed release');
          h.advance(29);
          assert.equal(await q.pop(), null, 'popped 1 s before its retry time');
          h.clock.advance(1_001);
          const second = await popOne(q, 'claim 2 after the delay');
          assert.equal(second.id, first.id);
          assert.equal(second.attempts, 2);
        });
      }

      suite.test("P-12 release() on the last try abandons the job and returns 'abandoned'", async (h) => {
        const q = await h.queue({ claimTTL: TTL, maxTries: 2 });
        await q.push(h.job({ n: 0 }));
        assert.equal(await q.release(await popOne(q, 'claim 1')), 'released');
        const last = await popOne(q, 'claim 2');
        assert.equal(last.attempts, 2);
        assert.equal(await q.release(last, { delay: supports.delayedJobs ? 5 : 0 }), 'abandoned');
        h.advance(10);
        assert.equal(await q.pop(), null, 'an abandoned job popped');
        await assertCount(q, 'abandoned', 1, 'after the last release');
        await assertCount(q, 'delayed', 0, 'after the last release');
        await assertCount(q, 'claimed', 0, 'after the last release');
        assert.equal(await q.ack(last), false, 'an abandoned job acked');
      });

      suite.test('P-12 release() rejects a negative or non-finite delay with a TypeError', async (h) => {
        const q = await h.queue({ claimTTL: TTL });
        await q.push(h.job({ n: 0 }));
        const job = await popOne(q, 'claim');
        for (const delay of [-1, Number.NaN, Number.POSITIVE_INFINITY]) {
          await rejectsWithTypeError(() => q.release(job, { delay }), `release(job, { delay: ${delay} })`);
        }
        assert.equal(await q.ack(job), true, 'the refused releases left the claim alone');
      });

      suite.test('P-12 extendClaim() renews a claim for another claimTTL', async (h) => {
        const q = await h.queue({ claimTTL: TTL });
        const other = await h.queue({ claimTTL: TTL });
        await q.push(h.job({ n: 0 }));
        const job = await popOne(q, 'claim');
        h.advance(TTL * 0.75);
        assert.equal(await q.extendClaim(job), true);
        h.advance(TTL * 0.75);
        assert.equal((await q.runMaintenance()).recycled, 0, 'an extended claim was recycled');
        assert.equal(await other.pop(), null, 'an extended claim was handed out again');
        assert.equal(await other.extendClaim(job), true, 'extendClaim from another handle');
        h.advance(TTL * 0.75);
        assert.equal((await q.runMaintenance()).recycled, 0, 'a twice-extended claim was recycled');
        h.advance(TTL * 0.5);
        assert.equal(
          (await q.runMaintenance()).recycled,
          1,
          'the claim expires claimTTL after its last extension',
        );
        const again = await popOne(other, 'claim 2');
        assert.equal(again.attempts, 2);
      });
    }

    suite.test(
      'P-9 claimTTL 0: pop removes the job, ack returns true, nothing is ever recycled',
      async (h) => {
        const q = await h.queue({ claimTTL: 0 });
        assert.equal(q.claimTTL, 0);
        assert.equal(q.tracksClaims, false);
        await q.push(h.jobs(2));
        const jobs = await drain(q);
        assert.equal(jobs.length, 2);
        for (const job of jobs) assert.equal(job.attempts, 1);
        await assertCount(q, 'claimed', 0, 'with claimTTL 0');
        if (supports.ack) {
          assert.equal(await q.ack(jobs[0] as Job), true);
          assert.deepEqual(await q.ackBatch(jobs), [true, true]);
        }
        h.advance(30 * 24 * 3600);
        const m = await q.runMaintenance();
        assert.equal(m.recycled, 0);
        assert.equal(m.abandoned, 0);
        assert.equal(await q.pop(), null, 'a job popped with claimTTL 0 came back');
        for (const state of ['ready', 'claimed', 'delayed', 'abandoned'] as const) {
          await assertCount(q, state, 0, 'claimTTL 0 after a month');
        }
      },
    );

    suite.test('P-12 claimTTL 0: release() and extendClaim() throw SWITCHYARD_NOT_SUPPORTED', async (h) => {
      const q = await h.queue({ claimTTL: 0 });
      await q.push(h.job({ n: 0 }));
      const job = await popOne(q, 'claim');
      await rejectsNotSupported(() => q.release(job), 'release with claimTTL 0');
      await rejectsNotSupported(() => q.release(job, { delay: 5 }), 'delayed release with claimTTL 0');
      await rejectsNotSupported(() => q.extendClaim(job), 'extendClaim with claimTTL 0');
      assert.equal(await q.pop(), null);
    });
  });
}
