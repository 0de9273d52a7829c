/**
 * Maintenance (P-20): `runMaintenance()` recycles expired claims, abandons exhausted ones,
 * prunes old abandoned jobs and releases due delayed jobs, returning the counts; it is safe to
 * run from many handles at once; and the base class runs it opportunistically after an empty
 * pop, so an embedded app needs no chron.
 *
 * @packageDocumentation
 */
import type { Job } from '../../core/job.js';
import type { JobQueue } from '../../core/job-queue.js';
import { assert, assertCount, assertDistinct, drain, type Suite } from './suite.js';

/** Registers the maintenance tests. */
export function all(suite: Suite): void {
  const { supports } = suite;
  if (!supports.pop) return;

  suite.describe('maintenance (P-20)', () => {
    suite.test('P-20 runMaintenance() on an empty queue returns zero counts', async (h) => {
      const q = await h.queue();
      assert.deepEqual(await q.runMaintenance(), { recycled: 0, abandoned: 0, pruned: 0, released: 0 });
    });

    if (supports.ack) {
      suite.test(
        'P-20 runMaintenance() recycles, abandons and prunes in one pass and returns the counts',
        async (h) => {
          const q = await h.queue({ claimTTL: 60, maxTries: 2, abandonedTTL: 100 });
          const popOne = async (): Promise<Job> => {
            const job = await q.pop();
            assert.ok(job, 'expected a job');
            return job;
          };
          // t0: J3 uses both tries and is abandoned by its last release.
          await q.push(h.job({ n: 3 }));
          assert.equal(await q.release(await popOne()), 'released');
          assert.equal(await q.release(await popOne()), 'abandoned');
          // t0+50: J1 is on its last try, J2 on its first.
          h.advance(50);
          await q.push(h.job({ n: 1 }));
          assert.equal(await q.release(await popOne()), 'released');
          const j1 = await popOne();
          assert.equal(j1.attempts, 2);
          await q.push(h.job({ n: 2 }));
          const j2 = await popOne();
          // t0+111: J3 is 111 s past its last claim (> 100: prune), J1's and J2's claims are 61 s old.
          h.advance(61);
          const m = await q.runMaintenance();
          assert.deepEqual(
            { recycled: m.recycled, abandoned: m.abandoned, pruned: m.pruned },
            { recycled: 1, abandoned: 1, pruned: 1 },
          );
          const again = await popOne();
          assert.equal(again.id, j2.id, 'the recycled job is J2');
          assert.equal(again.attempts, 2);
          assert.equal(await q.pop(), null);
          await assertCount(q, 'abandoned', 1, 'J1 is abandoned, J3 pruned');
          assert.deepEqual(await q.runMaintenance(), { recycled: 0, abandoned: 0, pruned: 0, released: 0 });
        },
      );

      suite.test(
        'P-20 runMaintenance() from many handles at once recycles each expired claim once',
        async (h) => {
          const handles: JobQueue[] = [];
          for (let i = 0; i < 6; i++) handles.push(await h.queue({ claimTTL: 60, maxTries: 5 }));
          const [first] = handles;
          assert.ok(first);
          await first.push(h.jobs(20));
          const claimed = await drain(first);
          assert.equal(claimed.length, 20);
          h.advance(61);
          const results = await Promise.all(handles.map((q) => q.runMaintenance()));
          const recycled = results.reduce((sum, r) => sum + r.recycled, 0);
          const abandoned = results.reduce((sum, r) => sum + r.abandoned, 0);
          assert.equal(recycled, 20, 'recycled count summed over the racing passes');
          assert.equal(abandoned, 0);
          const again = await drain(first);
          assert.equal(again.length, 20, 'every recycled job pops once');
          assertDistinct(
            again.map((j) => j.id),
            'recycled ids',
          );
          for (const job of again) assert.equal(job.attempts, 2, `attempts of ${job.id}`);
        },
      );

      suite.test(
        'P-20 with the default maintenanceInterval an expired claim comes back on pop, no explicit runMaintenance (embedded app needs no chron)',
        async (h) => {
          // Exactly the options an embedded app passes: no maintenanceInterval (default 10 s).
          const q = await h.open({ type: h.type, domain: h.domain, clock: h.clock, claimTTL: 60 });
          assert.equal(await q.pop(), null, 'an empty pop (runs the first opportunistic pass)');
          await q.push(h.job({ n: 0 }));
          const first = await q.pop();
          assert.ok(first);
          h.advance(61);
          const again = await q.pop();
          assert.ok(again, 'the expired claim was not recycled by the pop');
          assert.equal(again.id, first.id);
          assert.equal(again.attempts, 2);
          assert.equal(await q.ack(first), false, 'the stale claim');
          assert.equal(await q.ack(again), true);
        },
      );
    }

    if (supports.delayedJobs) {
      suite.test(
        'P-20 runMaintenance() counts the due delayed jobs it releases (0 where pop releases them)',
        async (h) => {
          const q = await h.queue();
          await q.push(h.jobs(2).map((j) => ({ ...j, releaseTimestamp: h.clock.now() + 10_000 })));
          assert.equal((await q.runMaintenance()).released, 0, 'released before the release time');
          h.advance(11);
          const { released } = await q.runMaintenance();
          assert.ok(released === 0 || released === 2, `released = ${released}`);
          assert.equal((await q.runMaintenance()).released, 0, 'released twice');
          assert.equal((await drain(q)).length, 2);
        },
      );
    }
  });
}
