/**
 * Pop and ack (P-6, P-8): an empty queue pops null, a popped job is invisible to other poppers,
 * an acked job is gone for good.
 *
 * @packageDocumentation
 */
import {
  assert,
  assertCount,
  assertDistinct,
  drain,
  ErrorCode,
  ns,
  rejectsWithCode,
  rejectsWithTypeError,
  type Suite,
  sorted,
} from './suite.js';

/** Registers the pop / ack tests. */
export function all(suite: Suite): void {
  const { supports } = suite;
  if (!supports.pop) return;
  suite.describe('pop and ack (P-6, P-8)', () => {
    suite.test('P-6 pop() returns null and popBatch() returns [] on an empty queue', async (h) => {
      const q = await h.queue();
      assert.equal(await q.pop(), null);
      assert.deepEqual(await q.popBatch(10), []);
    });

    suite.test(
      'P-6 a popped job carries its spec, an id, attempts 1, enqueuedAt, claimedAt, a claim token and isDuplicate false',
      async (h) => {
        const q = await h.queue();
        const t0 = h.clock.now();
        await q.push(h.job({ page: 7 }, { requestId: 'r-1' }));
        h.clock.advance(5_000);
        const job = await q.pop();
        assert.ok(job, 'the pushed job pops');
        assert.equal(typeof job.id, 'string');
        assert.ok(job.id.length > 0, 'non-empty id');
        assert.equal(job.type, h.type);
        assert.equal(job.domain, h.domain);
        assert.deepEqual(job.params, { page: 7 });
        assert.equal(job.requestId, 'r-1');
        assert.equal(job.attempts, 1);
        assert.equal(job.enqueuedAt, t0, 'enqueuedAt is the clock at push');
        assert.equal(job.claimedAt, t0 + 5_000, 'claimedAt is the clock at pop');
        assert.equal(typeof job.claimToken, 'string');
        assert.ok(job.claimToken.length > 0, 'non-empty claim token');
        assert.equal(job.isDuplicate, false);
        assert.ok(job.partition === null || typeof job.partition === 'string', 'partition is null or a name');
        assert.equal(job.releaseTimestamp, null);
      },
    );

    suite.test(
      'P-6 a popped job is invisible to other poppers, on the same and on another handle',
      async (h) => {
        const a = await h.queue();
        const b = await h.queue();
        await a.push(h.job({ n: 0 }));
        const job = await a.pop();
        assert.ok(job);
        assert.equal(await a.pop(), null, 'the same handle popped it again');
        assert.equal(await b.pop(), null, 'another handle popped it again');
        assert.deepEqual(await b.popBatch(5), [], 'another handle batch-popped it again');
        await assertCount(b, 'ready', 0, 'after the pop');
        await assertCount(b, 'claimed', supports.ack ? 1 : 0, 'after the pop');
      },
    );

    suite.test('P-6 popBatch(n) claims up to n distinct jobs, fewer when fewer are ready', async (h) => {
      const q = await h.queue();
      await q.push(h.jobs(5));
      const first = await q.popBatch(3);
      const second = await q.popBatch(3);
      assert.equal(first.length, 3);
      assert.equal(second.length, 2);
      assert.deepEqual(await q.popBatch(3), []);
      const all = [...first, ...second];
      assertDistinct(
        all.map((j) => j.id),
        'ids',
      );
      assertDistinct(
        all.map((j) => j.claimToken),
        'claim tokens',
      );
      assert.deepEqual(sorted(ns(all) as number[]), [0, 1, 2, 3, 4]);
      for (const job of all) assert.equal(job.attempts, 1);
    });

    suite.test('P-6 popBatch() rejects a count that is not an integer ≥ 1 with a TypeError', async (h) => {
      const q = await h.queue();
      await q.push(h.job({ n: 0 }));
      for (const bad of [0, -1, 1.5, Number.NaN]) {
        await rejectsWithTypeError(() => q.popBatch(bad), `popBatch(${bad})`);
      }
      assert.ok(await q.pop(), 'the job is still ready');
    });

    if (!supports.ack) return;

    suite.test(
      'P-8 ack() removes the job for good; it never comes back, not even after claimTTL',
      async (h) => {
        const q = await h.queue({ claimTTL: 60 });
        await q.push(h.job({ n: 0 }));
        const job = await q.pop();
        assert.ok(job);
        assert.equal(await q.ack(job), true);
        await assertCount(q, 'claimed', 0, 'after ack');
        h.advance(3600);
        const m = await q.runMaintenance();
        assert.equal(m.recycled, 0, 'maintenance recycled an acked job');
        assert.equal(m.abandoned, 0, 'maintenance abandoned an acked job');
        assert.equal(await q.pop(), null, 'an acked job came back');
        for (const state of ['ready', 'claimed', 'delayed', 'abandoned'] as const) {
          await assertCount(q, state, 0, 'after ack and maintenance');
        }
      },
    );

    suite.test('P-8 acking twice: the second ack returns false', async (h) => {
      const q = await h.queue();
      await q.push(h.job({ n: 0 }));
      const job = await q.pop();
      assert.ok(job);
      assert.equal(await q.ack(job), true);
      assert.equal(await q.ack(job), false);
    });

    suite.test('P-8 ack() works from another handle on the same queue', async (h) => {
      const a = await h.queue();
      const b = await h.queue();
      await a.push(h.job({ n: 0 }));
      const job = await a.pop();
      assert.ok(job);
      assert.equal(await b.ack(job), true);
      assert.equal(await a.ack(job), false);
      await assertCount(a, 'claimed', 0, 'after an ack from another handle');
    });

    suite.test('P-8 ackBatch() acks many jobs with one boolean each', async (h) => {
      const q = await h.queue();
      await q.push(h.jobs(4));
      const jobs = await drain(q);
      assert.equal(jobs.length, 4);
      assert.deepEqual(await q.ackBatch([]), []);
      const [first] = jobs;
      assert.ok(first);
      assert.equal(await q.ack(first), true);
      assert.deepEqual(await q.ackBatch(jobs), [false, true, true, true]);
      await assertCount(q, 'claimed', 0, 'after ackBatch');
    });

    suite.test(
      'P-8 ack() rejects a job of another type with SWITCHYARD_UNKNOWN_JOB_TYPE and a malformed handle with a TypeError',
      async (h) => {
        const q = await h.queue();
        await q.push(h.job({ n: 0 }));
        const job = await q.pop();
        assert.ok(job);
        if (!supports.typeAgnostic) {
          await rejectsWithCode(
            () => q.ack({ ...job, type: `${h.type}_other` }),
            ErrorCode.UNKNOWN_JOB_TYPE,
            'ack of a foreign type',
          );
        }
        const malformed = { id: job.id } as unknown as typeof job;
        await rejectsWithTypeError(() => q.ack(malformed), 'ack without a claim token');
        assert.equal(await q.ack(job), true, 'the claim survived the refused acks');
      },
    );
  });
}
