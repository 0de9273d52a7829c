/**
 * Root jobs (P-14): pushing a job marked as its own root registers `(type, signature) →
 * timestamp`; a popped job whose root is strictly older comes back with `isDuplicate: true`.
 *
 * @packageDocumentation
 */
import { randomUUID } from 'node:crypto';
import type { Job, JobSpecification } from '../../core/job.js';
import { assert, drain, type Harness, type Suite } from './suite.js';

/** A fresh random root signature. */
function signature(): string {
  return randomUUID().replaceAll('-', '');
}

/** A child job of root `sig` created at `timestamp`. */
function child(h: Harness, n: number, sig: string, timestamp: number): JobSpecification {
  return h.job({ n }, { rootJob: { signature: sig, timestamp } });
}

/** The root job itself (`isSelf`), created at `timestamp`. */
function root(h: Harness, n: number, sig: string, timestamp: number): JobSpecification {
  return h.job({ n }, { rootJob: { signature: sig, timestamp, isSelf: true } });
}

/** Pops every job; returns them by their `n` param. */
async function popByN(jobs: Promise<Job[]>): Promise<Map<number, Job>> {
  const out = new Map<number, Job>();
  for (const job of await jobs) out.set(job.params.n as number, job);
  return out;
}

/** Registers the root-job tests. */
export function all(suite: Suite): void {
  const { supports } = suite;
  if (!supports.rootJobs || !supports.pop) return;

  suite.describe('root jobs (P-14)', () => {
    suite.test(
      'P-14 a job whose root is strictly older than the newest registered root pops with isDuplicate true',
      async (h) => {
        const q = await h.queue();
        const sig = signature();
        const t = h.clock.now();
        await q.push(child(h, 0, sig, t - 1000));
        await q.push(root(h, 1, sig, t));
        const jobs = await popByN(drain(q));
        assert.equal(jobs.size, 2, 'a superseded job is still delivered, never lost');
        assert.equal(jobs.get(0)?.isDuplicate, true, 'the older child');
        assert.equal(jobs.get(1)?.isDuplicate, false, 'the root itself (equal timestamp)');
        assert.deepEqual(jobs.get(0)?.rootJob, { signature: sig, timestamp: t - 1000 });
        if (supports.ack) {
          const old = jobs.get(0);
          assert.ok(old);
          assert.equal(await q.ack(old), true, 'a duplicate is acked like any job');
        }
      },
    );

    suite.test('P-14 equal root timestamps are not duplicates; newer ones neither', async (h) => {
      const q = await h.queue();
      const sig = signature();
      const t = h.clock.now();
      await q.push(root(h, 0, sig, t));
      await q.push([child(h, 1, sig, t), child(h, 2, sig, t + 1)]);
      const jobs = await popByN(drain(q));
      assert.equal(jobs.get(1)?.isDuplicate, false, 'equal timestamp');
      assert.equal(jobs.get(2)?.isDuplicate, false, 'newer timestamp');
    });

    suite.test('P-14 a root in the same batch as its older children supersedes them', async (h) => {
      const q = await h.queue();
      const sig = signature();
      const t = h.clock.now();
      await q.push([child(h, 0, sig, t - 5), root(h, 1, sig, t), child(h, 2, sig, t - 10_000)]);
      const jobs = await popByN(drain(q));
      assert.equal(jobs.get(0)?.isDuplicate, true);
      assert.equal(jobs.get(1)?.isDuplicate, false);
      assert.equal(jobs.get(2)?.isDuplicate, true);
    });

    suite.test('P-14 only jobs marked isSelf register their root', async (h) => {
      const q = await h.queue();
      const sig = signature();
      const t = h.clock.now();
      await q.push(child(h, 0, sig, t));
      await q.push(child(h, 1, sig, t - 1000));
      const jobs = await popByN(drain(q));
      assert.equal(jobs.get(1)?.isDuplicate, false, 'a child registered its root');
      assert.equal(await q.isRootJobOldDuplicate({ rootJob: { signature: sig, timestamp: 0 } }), false);
    });

    suite.test('P-14 the newest registered root wins over a later, older registration', async (h) => {
      const q = await h.queue();
      const sig = signature();
      const t = h.clock.now();
      await q.push(root(h, 0, sig, t));
      await q.push(root(h, 1, sig, t - 5000));
      await q.push(child(h, 2, sig, t - 1000));
      const jobs = await popByN(drain(q));
      assert.equal(jobs.get(0)?.isDuplicate, false);
      assert.equal(jobs.get(1)?.isDuplicate, true, 'the older root itself is superseded');
      assert.equal(jobs.get(2)?.isDuplicate, true, 'the older registration replaced the newer one');
    });

    suite.test(
      'P-14 deduplicateRootJob() registers a root; isRootJobOldDuplicate() reports strictly older jobs',
      async (h) => {
        const q = await h.queue();
        const other = await h.queue();
        const sig = signature();
        const t = h.clock.now();
        assert.equal(await q.isRootJobOldDuplicate({ rootJob: { signature: sig, timestamp: t - 1 } }), false);
        assert.equal(await q.deduplicateRootJob({ rootJob: { signature: sig, timestamp: t } }), true);
        assert.equal(
          await other.isRootJobOldDuplicate({ rootJob: { signature: sig, timestamp: t - 1 } }),
          true,
        );
        assert.equal(await other.isRootJobOldDuplicate({ rootJob: { signature: sig, timestamp: t } }), false);
        assert.equal(
          await other.isRootJobOldDuplicate({ rootJob: { signature: sig, timestamp: t + 1 } }),
          false,
        );
        assert.equal(await other.isRootJobOldDuplicate({}), false, 'a job without a root');
        assert.equal(
          await other.isRootJobOldDuplicate({ rootJob: { signature: signature(), timestamp: 0 } }),
          false,
          'an unknown signature',
        );
        await q.push(child(h, 0, sig, t - 1));
        assert.equal((await q.pop())?.isDuplicate, true, 'a pop sees the explicit registration');
      },
    );

    suite.test('P-14 root records are per job type and domain', async (h) => {
      const q = await h.queue();
      const otherTypeName = `${h.type}_b`;
      const otherType = await h.queue({ type: otherTypeName });
      const otherDomain = await h.queue({ domain: `${h.domain}_b` });
      const sig = signature();
      const t = h.clock.now();
      await q.push(root(h, 0, sig, t));
      await otherType.push({
        type: otherTypeName,
        params: { n: 1 },
        rootJob: { signature: sig, timestamp: t - 1000 },
      });
      await otherDomain.push(child(h, 2, sig, t - 1000));
      assert.equal((await otherType.pop())?.isDuplicate, false, 'another type saw the root');
      assert.equal((await otherDomain.pop())?.isDuplicate, false, 'another domain saw the root');
    });

    suite.test('P-14 a root record is kept rootJobTTL, then forgotten', async (h) => {
      const q = await h.queue({ rootJobTTL: 600 });
      const sig = signature();
      const t = h.clock.now();
      await q.push(root(h, 0, sig, t));
      await drain(q);
      h.advance(599);
      await q.push(child(h, 1, sig, t - 1000));
      assert.equal((await q.pop())?.isDuplicate, true, 'forgotten before rootJobTTL');
      h.advance(2);
      await q.push(child(h, 2, sig, t - 1000));
      assert.equal((await q.pop())?.isDuplicate, false, 'still remembered after rootJobTTL');
    });
  });
}
