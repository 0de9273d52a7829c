/**
 * Listing (P-19): async iterables of ready, delayed, claimed and abandoned jobs, with enough
 * metadata to inspect, ack or re-push them.
 *
 * @packageDocumentation
 */
import type { JobState } from '../../core/job.js';
import { assert, drain, listAll, rejectsWithTypeError, type Suite, sorted } from './suite.js';

const STATES = ['ready', 'claimed', 'delayed', 'abandoned'] as const;

/** Registers the listing tests. */
export function all(suite: Suite): void {
  const { supports } = suite;
  if (!supports.listing || !supports.pop) return;

  suite.describe('listing (P-19)', () => {
    suite.test('P-19 an empty queue lists nothing in every state', async (h) => {
      const q = await h.queue();
      for (const state of STATES) assert.deepEqual(await listAll(q, state), [], `list('${state}')`);
    });

    suite.test('P-19 list("ready") yields ready jobs with their spec and attempts 0', async (h) => {
      const q = await h.queue();
      const t = h.clock.now();
      await q.push([h.job({ n: 0 }, { requestId: 'r0' }), h.job({ n: 1 }, { removeDuplicates: true })]);
      const listed = await listAll(q, 'ready');
      assert.deepEqual(sorted(listed.map((j) => j.params.n as number)), [0, 1]);
      for (const job of listed) {
        assert.equal(job.state, 'ready');
        assert.equal(job.type, h.type);
        assert.equal(job.domain, h.domain);
        assert.equal(job.attempts, 0);
        assert.equal(job.enqueuedAt, t);
        assert.equal(job.claimToken, null);
        assert.equal(job.releaseTimestamp, null);
      }
      const dedup = listed.find((j) => j.params.n === 1);
      assert.equal(dedup?.removeDuplicates, true);
      assert.match(dedup?.sha1 ?? '', /^[0-9a-f]{40}$/);
      assert.equal(listed.find((j) => j.params.n === 0)?.requestId, 'r0');
      const popped = await drain(q);
      assert.deepEqual(
        sorted(popped.map((j) => j.id)),
        sorted(listed.map((j) => j.id)),
        'listed ids are the popped ids',
      );
    });

    if (supports.delayedJobs) {
      suite.test('P-19 list("delayed") yields delayed jobs with their release time', async (h) => {
        const q = await h.queue();
        const at = h.clock.now() + 60_000;
        await q.push([h.job({ n: 0 }, { releaseTimestamp: at }), h.job({ n: 1 })]);
        const delayed = await listAll(q, 'delayed');
        assert.equal(delayed.length, 1);
        assert.equal(delayed[0]?.state, 'delayed');
        assert.equal(delayed[0]?.releaseTimestamp, at);
        assert.deepEqual(delayed[0]?.params, { n: 0 });
        assert.deepEqual(
          (await listAll(q, 'ready')).map((j) => j.params.n),
          [1],
        );
        h.clock.advance(60_001);
        assert.deepEqual(await listAll(q, 'delayed'), [], 'a due job is no longer listed as delayed');
      });
    }

    if (supports.ack) {
      suite.test('P-19 list("claimed") yields the live claim token, which acks the job', async (h) => {
        const q = await h.queue({ claimTTL: 60 });
        await q.push(h.jobs(2));
        h.clock.advance(1_000);
        const popped = await q.pop();
        assert.ok(popped);
        const claimed = await listAll(q, 'claimed');
        assert.equal(claimed.length, 1);
        const listed = claimed[0];
        assert.ok(listed);
        assert.equal(listed.id, popped.id);
        assert.equal(listed.state, 'claimed');
        assert.equal(listed.attempts, 1);
        assert.equal(listed.claimedAt, popped.claimedAt);
        assert.equal(listed.claimToken, popped.claimToken);
        assert.ok(listed.claimToken !== null);
        assert.equal(
          await q.ack({ id: listed.id, type: listed.type, claimToken: listed.claimToken }),
          true,
          'an operator acks through the listing',
        );
        assert.deepEqual(await listAll(q, 'claimed'), []);
      });

      suite.test('P-19 list("abandoned") yields abandoned jobs that can be re-pushed', async (h) => {
        const q = await h.queue({ claimTTL: 60, maxTries: 1 });
        await q.push(h.job({ n: 0, payload: 'keep me' }));
        const popped = await q.pop();
        assert.ok(popped);
        assert.equal(await q.release(popped), 'abandoned');
        const abandoned = await listAll(q, 'abandoned');
        assert.equal(abandoned.length, 1);
        const listed = abandoned[0];
        assert.ok(listed);
        assert.equal(listed.id, popped.id);
        assert.equal(listed.state, 'abandoned');
        assert.equal(listed.attempts, 1);
        assert.equal(listed.claimedAt, popped.claimedAt);
        await q.push({ type: listed.type, params: listed.params });
        const again = await q.pop();
        assert.deepEqual(again?.params, { n: 0, payload: 'keep me' });
      });

      suite.test('P-19 every job is listed in exactly the state it is in', async (h) => {
        const q = await h.queue({ claimTTL: 60, maxTries: 2 });
        await q.push(h.jobs(4));
        const [recycled, claimed, abandoned] = await q.popBatch(3);
        assert.ok(recycled && claimed && abandoned);
        assert.equal(await q.release(abandoned), 'released');
        const abandonedAgain = (await drain(q)).find((j) => j.id === abandoned.id);
        assert.ok(abandonedAgain, 'the released job pops again');
        assert.equal(await q.release(abandonedAgain), 'abandoned');
        h.advance(61);
        assert.equal(await q.extendClaim(claimed), true);
        await q.runMaintenance(); // recycles `recycled` (attempt 1 of 2)
        if (supports.delayedJobs) await q.push(h.job({ n: 9 }, { releaseTimestamp: h.clock.now() + 5_000 }));
        const byState = new Map<JobState, string[]>();
        const seen = new Map<string, JobState>();
        for (const state of STATES) {
          const listed = await listAll(q, state);
          byState.set(
            state,
            listed.map((j) => j.id),
          );
          for (const job of listed) {
            assert.equal(job.state, state, `job ${job.id} listed under ${state}`);
            assert.ok(!seen.has(job.id), `job ${job.id} listed under ${seen.get(job.id)} and ${state}`);
            seen.set(job.id, state);
          }
        }
        assert.ok(byState.get('ready')?.includes(recycled.id), 'the recycled job is listed as ready');
        assert.deepEqual(byState.get('claimed'), [claimed.id]);
        assert.deepEqual(byState.get('abandoned'), [abandoned.id]);
        assert.equal(byState.get('delayed')?.length, supports.delayedJobs ? 1 : 0);
        const recycledListed = (await listAll(q, 'ready')).find((j) => j.id === recycled.id);
        assert.equal(recycledListed?.attempts, 1, 'a recycled job is listed with its attempt count kept');
      });
    }

    suite.test('P-19 list() rejects an unknown state with a TypeError', async (h) => {
      const q = await h.queue();
      await rejectsWithTypeError(() => listAll(q, 'running' as JobState), "list('running')");
    });
  });
}
