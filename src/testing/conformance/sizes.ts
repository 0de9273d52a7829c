/**
 * Counts (P-17): `getSize()` = ready, `getAcquiredCount()` = claimed (not abandoned),
 * `getDelayedCount()`, `getAbandonedCount()`, `isEmpty()` = no ready job. Exact backends are held
 * to exact numbers; approximate ones to sane ones. `sizes: 'none'` is checked in not-supported.ts.
 *
 * @packageDocumentation
 */
import type { JobQueue } from '../../core/job-queue.js';
import { assert, type Suite } from './suite.js';

interface Counts {
  ready: number;
  claimed: number;
  delayed: number;
  abandoned: number;
  empty: boolean;
}

async function counts(q: JobQueue): Promise<Counts> {
  return {
    ready: await q.getSize(),
    claimed: await q.getAcquiredCount(),
    delayed: await q.getDelayedCount(),
    abandoned: await q.getAbandonedCount(),
    empty: await q.isEmpty(),
  };
}

/** Registers the count tests. */
export function all(suite: Suite): void {
  const { supports } = suite;
  if (!supports.pop || supports.sizes === 'none') return;

  suite.describe(`counts (P-17, ${supports.sizes})`, () => {
    if (supports.sizes === 'approximate') {
      suite.test('P-17 approximate counts are non-negative integers; an empty queue is empty', async (h) => {
        const q = await h.queue();
        assert.equal(await q.isEmpty(), true);
        await q.push(h.jobs(3));
        const c = await counts(q);
        for (const [name, value] of Object.entries(c)) {
          if (name === 'empty') continue;
          assert.ok(Number.isInteger(value) && (value as number) >= 0, `${name} = ${String(value)}`);
        }
      });
      return;
    }

    suite.test('P-17 an empty queue counts zero everywhere and isEmpty() is true', async (h) => {
      const q = await h.queue();
      assert.deepEqual(await counts(q), { ready: 0, claimed: 0, delayed: 0, abandoned: 0, empty: true });
    });

    suite.test('P-17 counts follow jobs through ready, claimed and abandoned', async (h) => {
      const q = await h.queue({ claimTTL: 60, maxTries: 1 });
      const other = await h.queue({ claimTTL: 60, maxTries: 1 });
      await q.push(h.jobs(4));
      assert.deepEqual(await counts(q), { ready: 4, claimed: 0, delayed: 0, abandoned: 0, empty: false });
      const [a, b, c] = await q.popBatch(3);
      assert.ok(a && b && c);
      assert.deepEqual(await counts(other), {
        ready: 1,
        claimed: supports.ack ? 3 : 0, // without ack, claimTTL is 0: pop removes the job
        delayed: 0,
        abandoned: 0,
        empty: false,
      });
      if (supports.ack) {
        assert.equal(await q.release(a), 'abandoned');
        assert.equal(await q.ack(b), true);
        assert.deepEqual(await counts(q), { ready: 1, claimed: 1, delayed: 0, abandoned: 1, empty: false });
        h.advance(61);
        await q.runMaintenance();
        assert.deepEqual(await counts(q), { ready: 1, claimed: 0, delayed: 0, abandoned: 2, empty: false });
      }
      await q.pop();
      const last = await counts(other);
      assert.equal(last.ready, 0);
      assert.equal(last.empty, true);
    });

    if (supports.delayedJobs) {
      suite.test('P-17 delayed jobs count as delayed until due, then as ready', async (h) => {
        const q = await h.queue();
        const t = h.clock.now();
        await q.push([
          h.job({ n: 0 }),
          h.job({ n: 1 }, { releaseTimestamp: t + 10_000 }),
          h.job({ n: 2 }, { releaseTimestamp: t + 20_000 }),
        ]);
        assert.deepEqual(await counts(q), { ready: 1, claimed: 0, delayed: 2, abandoned: 0, empty: false });
        await q.pop();
        assert.deepEqual(await counts(q), {
          ready: 0,
          claimed: supports.ack ? 1 : 0,
          delayed: 2,
          abandoned: 0,
          empty: true,
        });
        h.clock.advance(10_001);
        assert.deepEqual(await counts(q), {
          ready: 1,
          claimed: supports.ack ? 1 : 0,
          delayed: 1,
          abandoned: 0,
          empty: false,
        });
      });
    }

    suite.test(
      'stats: getQueueStats() gives the four counts and when the next ready job became ready',
      async (h) => {
        const q = await h.queue({ claimTTL: 60, maxTries: 1 });
        assert.deepEqual(await q.getQueueStats(), {
          ready: 0,
          claimed: 0,
          delayed: 0,
          abandoned: 0,
          oldestReadyAt: null,
        });
        const t0 = h.clock.now();
        await q.push(h.jobs(3));
        h.clock.advance(1000);
        await q.push(h.job({ n: 3 }));
        if (supports.delayedJobs) await q.push(h.job({ n: 4 }, { releaseTimestamp: t0 + 60_000 }));
        await q.pop();
        const s = await q.getQueueStats();
        assert.equal(s.ready, 3);
        assert.equal(s.claimed, supports.ack ? 1 : 0);
        assert.equal(s.delayed, supports.delayedJobs ? 1 : 0);
        assert.equal(s.abandoned, 0);
        if (s.oldestReadyAt !== null) {
          // FIFO backends: the next job was pushed at t0; others: some ready job's time.
          assert.ok(
            s.oldestReadyAt >= t0 && s.oldestReadyAt <= t0 + 1000,
            `oldestReadyAt ${s.oldestReadyAt}`,
          );
        }
        if (supports.siblingQueries) {
          const other = await h.queue({ type: `${h.type}_b` });
          await other.push({ type: `${h.type}_b`, params: { n: 0 } });
          const both = await q.getSiblingQueueStats([h.type, `${h.type}_b`, `${h.type}_none`]);
          assert.ok(both !== null);
          assert.equal(both[h.type]?.ready, 3);
          assert.equal(both[`${h.type}_b`]?.ready, 1);
          assert.equal(both[`${h.type}_b`]?.oldestReadyAt, h.clock.now());
          assert.deepEqual(both[`${h.type}_none`], {
            ready: 0,
            claimed: 0,
            delayed: 0,
            abandoned: 0,
            oldestReadyAt: null,
          });
        }
      },
    );

    suite.test('P-17 counts are of this queue only', async (h) => {
      const q = await h.queue();
      const otherType = await h.queue({ type: `${h.type}_b` });
      const otherDomain = await h.queue({ domain: `${h.domain}_b` });
      await otherType.push({ type: `${h.type}_b`, params: { n: 0 } });
      await otherDomain.push(h.jobs(2));
      await q.push(h.jobs(3));
      assert.equal(await q.getSize(), 3);
      assert.equal(await otherType.getSize(), 1);
      assert.equal(await otherDomain.getSize(), 2);
    });
  });
}
