/**
 * Delayed jobs (P-4, P-5): stored, never popped early, poppable right after their release time
 * with no maintenance pass. The inverse (no `delayedJobs`) lives in not-supported.ts.
 *
 * @packageDocumentation
 */
import { assert, assertCount, drain, ns, type Suite } from './suite.js';

/** Registers the delayed-job tests. */
export function all(suite: Suite): void {
  const { supports } = suite;
  if (!supports.delayedJobs) return;
  suite.describe('delayed jobs (P-4, P-5)', () => {
    suite.test('P-4 delayed jobs are accepted, with releaseTimestamp as Unix ms or as a Date', async (h) => {
      const q = await h.queue();
      const at = h.clock.now() + 60_000;
      const result = await q.push([
        h.job({ n: 0 }, { releaseTimestamp: at }),
        h.job({ n: 1 }, { releaseTimestamp: new Date(at) }),
      ]);
      assert.deepEqual(result, { inserted: 2, duplicates: 0 });
      await assertCount(q, 'delayed', 2, 'two delayed jobs');
      await assertCount(q, 'ready', 0, 'two delayed jobs');
    });

    if (!supports.pop) return;

    suite.test('P-5 a delayed job is never popped before its release time', async (h) => {
      const q = await h.queue();
      const other = await h.queue();
      const at = h.clock.now() + 60_000;
      await q.push(h.job({ n: 0 }, { releaseTimestamp: at }));
      assert.equal(await q.pop(), null, 'popped at once');
      h.clock.advance(30_000);
      assert.deepEqual(await q.popBatch(5), [], 'popBatch after 30 s');
      h.clock.advance(29_999);
      assert.equal(await other.pop(), null, 'popped 1 ms before its release time');
      await q.runMaintenance();
      assert.equal(await q.pop(), null, 'popped 1 ms early after a maintenance pass');
    });

    suite.test(
      'P-5 a delayed job is poppable right after its release time without a maintenance pass',
      async (h) => {
        const q = await h.queue({ maintenanceInterval: null });
        const at = h.clock.now() + 60_000;
        await q.push(h.job({ n: 0 }, { releaseTimestamp: at }));
        assert.equal(await q.pop(), null);
        h.clock.advance(60_001);
        const job = await q.pop();
        assert.ok(job, 'the due job pops with no runMaintenance()');
        assert.equal(job.releaseTimestamp, at);
        assert.equal(job.attempts, 1);
        assert.deepEqual(job.params, { n: 0 });
        assert.equal(job.claimedAt, at + 1);
      },
    );

    suite.test('P-5 due delayed jobs pop in release order; later ones stay delayed', async (h) => {
      const q = await h.queue({ order: 'any' });
      const t0 = h.clock.now();
      await q.push([
        h.job({ n: 2 }, { releaseTimestamp: t0 + 20_000 }),
        h.job({ n: 1 }, { releaseTimestamp: t0 + 10_000 }),
      ]);
      h.clock.advance(15_000);
      assert.deepEqual(ns(await drain(q)), [1], 'after 15 s only the 10 s job is due');
      await assertCount(q, 'delayed', 1, 'the 20 s job is still delayed');
      h.clock.advance(10_000);
      assert.deepEqual(ns(await drain(q)), [2], 'after 25 s the 20 s job is due');
    });

    suite.test('P-5 a releaseTimestamp in the past makes the job ready at once', async (h) => {
      const q = await h.queue();
      await q.push(h.job({ n: 0 }, { releaseTimestamp: h.clock.now() - 5_000 }));
      await assertCount(q, 'delayed', 0, 'a job due in the past');
      const job = await q.pop();
      assert.ok(job, 'a job whose release time has passed pops at once');
    });

    suite.test('P-5 a delayed job is invisible to every handle until due, then popped once', async (h) => {
      const a = await h.queue();
      const b = await h.queue();
      await a.push(h.jobs(3).map((j, i) => ({ ...j, releaseTimestamp: h.clock.now() + (i + 1) * 1000 })));
      assert.equal(await b.pop(), null);
      h.clock.advance(3_001);
      const got = [...(await drain(a)), ...(await drain(b))];
      assert.equal(got.length, 3);
      assert.equal(new Set(got.map((j) => j.id)).size, 3);
    });
  });
}
