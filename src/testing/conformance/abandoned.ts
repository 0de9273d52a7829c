/**
 * Abandoned jobs (P-10): pruned `abandonedTTL` after their last claim; `repushAbandoned()` puts
 * copies back as fresh jobs (attempts 0).
 *
 * @packageDocumentation
 */
import type { Job } from '../../core/job.js';
import type { JobQueue } from '../../core/job-queue.js';
import { assert, assertCount, drain, listAll, ns, type Suite, sorted } from './suite.js';

/** Pops every ready job and releases it on its last try, so it is abandoned now. */
async function abandonAll(q: JobQueue): Promise<Job[]> {
  const jobs = await drain(q);
  for (const job of jobs)
    assert.equal(await q.release(job), 'abandoned', `release of ${job.id} (maxTries 1)`);
  return jobs;
}

/** Registers the abandoned-job tests. */
export function all(suite: Suite): void {
  const { supports } = suite;
  if (!supports.pop || !supports.ack) return;

  suite.describe('abandoned jobs (P-10)', () => {
    suite.test('P-10 abandoned jobs are pruned abandonedTTL after their last claim', async (h) => {
      const q = await h.queue({ claimTTL: 60, maxTries: 1, abandonedTTL: 600 });
      await q.push(h.jobs(2));
      h.advance(300); // the TTL counts from the claim, not from the push
      await abandonAll(q);
      await assertCount(q, 'abandoned', 2, 'after abandoning');
      h.advance(599);
      assert.equal((await q.runMaintenance()).pruned, 0, 'pruned before abandonedTTL');
      await assertCount(q, 'abandoned', 2, '1 s before abandonedTTL');
      h.advance(2);
      assert.equal((await q.runMaintenance()).pruned, 2, 'not pruned after abandonedTTL');
      await assertCount(q, 'abandoned', 0, 'after pruning');
      assert.equal(await q.pop(), null, 'a pruned job popped');
      if (supports.listing) assert.deepEqual(await listAll(q, 'abandoned'), []);
    });

    suite.test(
      'P-10 the prune clock starts at the last claim, not at the push or the abandonment',
      async (h) => {
        const q = await h.queue({ claimTTL: 60, maxTries: 1, abandonedTTL: 100 });
        await q.push(h.job({ n: 0 }));
        h.advance(80); // enqueued 80 s before the claim: the TTL must not count from there
        await drain(q);
        h.advance(61);
        const m = await q.runMaintenance();
        assert.equal(m.abandoned, 1, 'the expired last claim was abandoned');
        assert.equal(m.pruned, 0, 'pruned at once');
        h.advance(38); // 99 s after the claim, 38 s after the abandonment
        assert.equal((await q.runMaintenance()).pruned, 0, 'pruned before abandonedTTL after the claim');
        h.advance(2); // 101 s after the claim
        assert.equal((await q.runMaintenance()).pruned, 1, 'kept longer than abandonedTTL after the claim');
        await assertCount(q, 'abandoned', 0, 'after pruning');
      },
    );

    suite.test(
      'P-10 abandoned jobs are kept for inspection until then: never popped, not counted as claimed',
      async (h) => {
        const q = await h.queue({ claimTTL: 60, maxTries: 1 });
        await q.push(h.job({ n: 0 }));
        await abandonAll(q);
        h.advance(24 * 3600);
        await q.runMaintenance();
        assert.equal(await q.pop(), null);
        await assertCount(q, 'abandoned', 1, 'a day later');
        await assertCount(q, 'claimed', 0, 'a day later');
        await assertCount(q, 'ready', 0, 'a day later');
      },
    );

    if (!supports.listing) return; // repushAbandoned needs listing; not-supported.ts checks the refusal

    suite.test('P-10 repushAbandoned() puts copies back as fresh jobs with attempts 0', async (h) => {
      const q = await h.queue({ claimTTL: 60, maxTries: 1 });
      await q.push(h.jobs(3, { kind: 'abandoned' }));
      const dead = await abandonAll(q);
      assert.equal(dead.length, 3);
      h.advance(10);
      assert.equal(await q.repushAbandoned(), 3);
      await assertCount(q, 'abandoned', 0, 'after repushAbandoned');
      await assertCount(q, 'ready', 3, 'after repushAbandoned');
      const listed = await listAll(q, 'ready');
      assert.equal(listed.length, 3);
      for (const job of listed) assert.equal(job.attempts, 0, `listed attempts of ${job.id}`);
      const fresh = await drain(q);
      assert.deepEqual(sorted(ns(fresh) as number[]), [0, 1, 2]);
      for (const job of fresh) {
        assert.equal(job.attempts, 1, 'a repushed job starts a fresh claim budget');
        assert.equal(job.params.kind, 'abandoned');
      }
      // maxTries 1 again: its one try is a new one, so releasing it abandons it again.
      assert.equal(await q.release(fresh[0] as Job), 'abandoned');
      assert.equal(await q.ack(fresh[1] as Job), true);
      assert.equal(await q.repushAbandoned(), 1);
      assert.equal(await q.repushAbandoned(), 0, 'nothing left to repush');
    });
  });
}
