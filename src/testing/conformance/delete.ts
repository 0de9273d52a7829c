/**
 * Delete (P-18): `delete()` removes every job of the queue in every state, and nothing else.
 *
 * @packageDocumentation
 */
import { assert, assertNothingStored, drain, listAll, type Suite } from './suite.js';

/** Registers the delete tests. */
export function all(suite: Suite): void {
  const { supports } = suite;
  if (!supports.pop) return;

  suite.describe('delete (P-18)', () => {
    suite.test('P-18 delete() removes every job in every state', async (h) => {
      const q = await h.queue({ claimTTL: 60, maxTries: 1 });
      const other = await h.queue({ claimTTL: 60, maxTries: 1 });
      await q.push(h.jobs(3));
      const [abandoned, claimed] = await q.popBatch(2);
      assert.ok(abandoned && claimed);
      if (supports.ack) assert.equal(await q.release(abandoned), 'abandoned');
      if (supports.delayedJobs) await q.push(h.job({ n: 9 }, { releaseTimestamp: h.clock.now() + 30_000 }));
      await other.delete();
      await assertNothingStored(q, 'after delete()');
      if (supports.listing) {
        for (const state of ['ready', 'claimed', 'delayed', 'abandoned'] as const) {
          assert.deepEqual(await listAll(q, state), [], `listing ${state} after delete()`);
        }
      }
      h.advance(7 * 24 * 3600 + 1);
      await q.runMaintenance();
      assert.equal(await q.pop(), null, 'a deleted job came back after its claim or delay expired');
      if (supports.ack) assert.equal(await q.ack(claimed), false, 'a deleted claim acked');
    });

    suite.test('P-18 delete() leaves other types and domains alone', async (h) => {
      const q = await h.queue();
      const otherTypeName = `${h.type}_b`;
      const otherType = await h.queue({ type: otherTypeName });
      const otherDomain = await h.queue({ domain: `${h.domain}_b` });
      await q.push(h.jobs(2));
      await otherType.push({ type: otherTypeName, params: { n: 0 } });
      await otherDomain.push(h.jobs(3));
      await q.delete();
      assert.equal(await q.pop(), null);
      assert.equal((await drain(otherType)).length, 1, 'delete() removed jobs of another type');
      assert.equal((await drain(otherDomain)).length, 3, 'delete() removed jobs of another domain');
    });

    suite.test('P-18 the queue works again after delete(), with its dedup keys freed', async (h) => {
      const q = await h.queue();
      const spec = h.job({ page: 1 }, { removeDuplicates: true });
      await q.push(spec);
      await q.delete();
      await q.delete(); // deleting an empty queue is fine
      const result = await q.push(spec);
      assert.equal(result.inserted, 1, 'a dedup key survived delete()');
      const job = await q.pop();
      assert.ok(job);
      assert.equal(job.attempts, 1);
    });
  });
}
