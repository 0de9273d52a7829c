/**
 * Cancellation (`supports.cancel`, `supports.cancelByKey`): `cancel(id)` removes a job in any
 * state and says which; a cancelled ready or delayed job never pops and frees its dedup key; a
 * cancelled claimed job's claim is revoked (ack, release and extend return false, `claimsHeld`
 * says false, maintenance brings nothing back); `cancelDuplicates(spec)` removes exactly the ready
 * and delayed holders of one dedup key. Without the capability every call throws
 * `SWITCHYARD_NOT_SUPPORTED` and changes nothing.
 *
 * @packageDocumentation
 */
import type { Job } from '../../core/job.js';
import type { JobQueue } from '../../core/job-queue.js';
import {
  assert,
  assertCount,
  drain,
  ns,
  rejectsNotSupported,
  rejectsWithTypeError,
  type Suite,
} from './suite.js';

/** Registers the cancellation tests. */
export function all(suite: Suite): void {
  const { supports } = suite;
  if (!supports.pop) return;
  suite.describe('cancellation', () => {
    if (!supports.cancel) {
      suite.test(
        'cancel: without cancel, cancel() and claimsHeld() throw SWITCHYARD_NOT_SUPPORTED',
        async (h) => {
          const q = await h.queue();
          await q.push(h.job({ n: 0 }));
          await rejectsNotSupported(() => q.cancel('any-id'), 'cancel');
          await rejectsNotSupported(() => q.claimsHeld([]), 'claimsHeld');
          await rejectsNotSupported(() => q.cancelDuplicates(h.job({ n: 0 })), 'cancelDuplicates');
          assert.notEqual(await q.pop(), null, 'a refused cancel must not remove a job');
        },
      );
      return;
    }

    suite.test('cancel: a ready job is removed and never pops; the others still do', async (h) => {
      const q = await h.queue(supports.ack ? { claimTTL: 60, maxTries: 5 } : {});
      await q.push(h.jobs(3));
      const ids = await readyIds(q, 3);
      assert.equal(await q.cancel(ids[1] as string), 'ready');
      await assertCount(q, 'ready', 2, 'after cancelling one of 3');
      assert.equal(await q.cancel(ids[1] as string), null, 'a second cancel of the same id');
      const rest = await drain(q);
      if (supports.ack) for (const job of rest) await q.ack(job);
      assert.deepEqual(ns(rest).sort(), [0, 2], 'the cancelled job popped, or another one went missing');
    });

    suite.test('cancel: an unknown id is null; a bad id is a TypeError', async (h) => {
      const q = await h.queue();
      await q.push(h.job({ n: 0 }));
      assert.equal(await q.cancel('no-such-job-id'), null);
      await rejectsWithTypeError(() => q.cancel(''), 'cancel("")');
      await rejectsWithTypeError(() => q.cancel(42 as unknown as string), 'cancel(42)');
      await assertCount(q, 'ready', 1, 'after cancels that matched nothing');
    });

    if (supports.deduplication) {
      suite.test('cancel: cancelling a queued dedup job frees its key for the next push', async (h) => {
        const q = await h.queue(supports.ack ? { claimTTL: 60, maxTries: 5 } : {});
        const spec = h.job({ page: 'Main_Page' }, { removeDuplicates: true });
        await q.push(spec);
        const [id] = await readyIds(q, 1);
        assert.equal(await q.cancel(id as string), 'ready');
        assert.deepEqual(await q.push(spec), { inserted: 1, duplicates: 0 }, 'the key was still held');
        const popped = await drain(q);
        assert.equal(popped.length, 1);
      });
    }

    if (supports.delayedJobs) {
      suite.test('cancel: a delayed job is removed and is not released when due', async (h) => {
        const q = await h.queue();
        const at = h.clock.now() + 60_000;
        await q.push([h.job({ n: 0 }, { releaseTimestamp: at }), h.job({ n: 1 })]);
        const delayedId = await idOf(q, 'delayed');
        if (delayedId === null) return; // no way to learn the id without listing
        assert.equal(await q.cancel(delayedId), 'delayed');
        await assertCount(q, 'delayed', 0, 'after cancelling the delayed job');
        h.advance(120);
        const popped = await drain(q);
        assert.deepEqual(ns(popped), [1], 'the cancelled delayed job was released');
      });
    }

    if (supports.ack) {
      suite.test(
        'cancel: a claimed job is removed and its claim revoked (ack, release, extend false)',
        async (h) => {
          const q = await h.queue({ claimTTL: 60, maxTries: 3 });
          await q.push(h.jobs(2));
          const job = (await q.pop()) as Job;
          const other = (await q.pop()) as Job;
          assert.deepEqual(await q.claimsHeld([job, other]), [true, true]);
          assert.equal(await q.cancel(job.id), 'claimed');
          assert.deepEqual(await q.claimsHeld([job, other]), [false, true], 'claimsHeld after the cancel');
          assert.equal(await q.extendClaim(job), false, 'extendClaim of a cancelled job');
          assert.equal(await q.release(job), false, 'release of a cancelled job');
          assert.equal(await q.ack(job), false, 'ack of a cancelled job');
          await assertCount(q, 'claimed', 1, 'after cancelling one of two claims');
          h.advance(120);
          const m = await q.runMaintenance();
          assert.equal(m.recycled, 1, 'only the other claim expires');
          const again = await drain(q);
          assert.deepEqual(ns(again), [ns([other])[0]], 'the cancelled job came back');
        },
      );

      suite.test(
        'cancel: claimsHeld is false after ack and release, true while held, in order',
        async (h) => {
          const q = await h.queue({ claimTTL: 60, maxTries: 3 });
          await q.push(h.jobs(3));
          const [a, b, c] = [(await q.pop()) as Job, (await q.pop()) as Job, (await q.pop()) as Job];
          assert.equal(await q.ack(a), true);
          assert.equal(await q.release(c), 'released');
          assert.deepEqual(await q.claimsHeld([a, b, c]), [false, true, false]);
          assert.deepEqual(await q.claimsHeld([]), []);
        },
      );

      suite.test('cancel: an abandoned job is removed', async (h) => {
        const q = await h.queue({ claimTTL: 60, maxTries: 1 });
        await q.push(h.job({ n: 0 }));
        const job = (await q.pop()) as Job;
        assert.equal(await q.release(job), 'abandoned');
        assert.equal(await q.cancel(job.id), 'abandoned');
        await assertCount(q, 'abandoned', 0, 'after cancelling the abandoned job');
        assert.equal(await q.repushAbandoned(), 0, 'a cancelled abandoned job was repushed');
      });
    }

    if (!supports.cancelByKey) {
      suite.test(
        'cancel: without cancelByKey, cancelDuplicates() throws SWITCHYARD_NOT_SUPPORTED',
        async (h) => {
          const q = await h.queue();
          const spec = h.job({ n: 0 }, { removeDuplicates: true });
          await q.push(spec);
          await rejectsNotSupported(() => q.cancelDuplicates(spec), 'cancelDuplicates');
          await assertCount(q, 'ready', 1, 'after a refused cancelDuplicates');
        },
      );
      return;
    }

    suite.test('cancel: cancelDuplicates removes exactly the holders of one dedup key', async (h) => {
      const q = await h.queue();
      await q.push([
        h.job({ page: 'A', n: 0 }, { removeDuplicates: true, removeDuplicatesIgnoreParams: ['n'] }),
        h.job({ page: 'B', n: 1 }, { removeDuplicates: true, removeDuplicatesIgnoreParams: ['n'] }),
        h.job({ page: 'A', n: 2 }),
      ]);
      if (supports.delayedJobs) {
        // A delayed job holds its key too.
        await q.push(
          h.job({ page: 'C', n: 3 }, { removeDuplicates: true, releaseTimestamp: h.clock.now() + 60_000 }),
        );
        assert.equal(await q.cancelDuplicates(h.job({ page: 'C', n: 3 })), 1, 'the delayed holder');
      }
      const n = await q.cancelDuplicates(
        h.job({ page: 'A', n: 99 }, { removeDuplicatesIgnoreParams: ['n'] }),
      );
      assert.equal(n, 1, 'holders of key A removed');
      assert.equal(
        await q.cancelDuplicates(h.job({ page: 'A', n: 99 }, { removeDuplicatesIgnoreParams: ['n'] })),
        0,
      );
      h.advance(120);
      const rest = await drain(q);
      if (supports.ack) for (const job of rest) await q.ack(job);
      assert.deepEqual(ns(rest).sort(), [1, 2], 'the wrong jobs were cancelled');
    });
  });
}

/**
 * The ids of the `count` ready jobs, from the listing, else by popping them and releasing them
 * back (their attempts grow by one; their order may change).
 */
async function readyIds(q: JobQueue, count: number): Promise<string[]> {
  const ids: string[] = [];
  if (q.supports.listing) {
    for await (const job of q.list('ready')) ids.push(job.id);
  } else {
    const jobs = await drain(q);
    for (const job of jobs) {
      ids.push(job.id);
      assert.equal(await q.release(job), 'released', 'giving a job back to learn its id');
    }
  }
  assert.equal(ids.length, count, 'ready jobs found');
  return ids;
}

/** The id of the one job in `state`, from the listing (null without listing). */
async function idOf(q: JobQueue, state: 'delayed'): Promise<string | null> {
  if (!q.supports.listing) return null;
  for await (const job of q.list(state)) return job.id;
  return null;
}
