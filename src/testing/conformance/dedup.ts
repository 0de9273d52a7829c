/**
 * Deduplication (P-13): a `removeDuplicates` job identical to a ready or delayed job is a no-op;
 * claimed jobs never count; in-batch duplicates collapse to the first; the check is atomic.
 *
 * @packageDocumentation
 */
import type { JobQueue } from '../../core/job-queue.js';
import { CountingMetrics } from '../../core/metrics.js';
import { assert, assertCount, drain, type Suite, sorted } from './suite.js';

/** Registers the dedup tests. */
export function all(suite: Suite): void {
  const { supports } = suite;
  if (!supports.deduplication || !supports.pop) return;

  suite.describe('deduplication (P-13)', () => {
    suite.test('P-13 pushing a duplicate of a ready job is a no-op', async (h) => {
      const q = await h.queue();
      const spec = h.job({ page: 1 }, { removeDuplicates: true });
      assert.deepEqual(await q.push(spec), { inserted: 1, duplicates: 0 });
      assert.deepEqual(await q.push(spec), { inserted: 0, duplicates: 1 });
      assert.deepEqual(await q.push([spec, h.job({ page: 2 }, { removeDuplicates: true })]), {
        inserted: 1,
        duplicates: 1,
      });
      await assertCount(q, 'ready', 2, 'after the duplicate pushes');
      const jobs = await drain(q);
      assert.deepEqual(sorted(jobs.map((j) => j.params.page as number)), [1, 2]);
      const first = jobs.find((j) => j.params.page === 1);
      assert.equal(first?.removeDuplicates, true);
      assert.match(first?.sha1 ?? '', /^[0-9a-f]{40}$/, 'a dedup job carries its sha1');
    });

    suite.test('P-13 the dedup key ignores params key order but not params values', async (h) => {
      const q = await h.queue();
      const a = { x: 1, y: { p: [1, 2], q: 'z' } };
      const reordered = { y: { q: 'z', p: [1, 2] }, x: 1 };
      assert.deepEqual(await q.push(h.job(a, { removeDuplicates: true })), { inserted: 1, duplicates: 0 });
      assert.deepEqual(await q.push(h.job(reordered, { removeDuplicates: true })), {
        inserted: 0,
        duplicates: 1,
      });
      const changed = { x: 1, y: { p: [2, 1], q: 'z' } };
      assert.deepEqual(await q.push(h.job(changed, { removeDuplicates: true })), {
        inserted: 1,
        duplicates: 0,
      });
      assert.equal((await drain(q)).length, 2);
    });

    suite.test('P-13 request id and root-job fields are not part of the dedup key', async (h) => {
      const q = await h.queue();
      const t = h.clock.now();
      await q.push(h.job({ page: 1 }, { removeDuplicates: true, requestId: 'a' }));
      assert.deepEqual(
        await q.push(
          h.job(
            { page: 1 },
            { removeDuplicates: true, requestId: 'b', rootJob: { signature: 's', timestamp: t } },
          ),
        ),
        { inserted: 0, duplicates: 1 },
      );
    });

    suite.test(
      'P-13 removeDuplicatesIgnoreParams leaves the listed params out of the dedup key',
      async (h) => {
        const q = await h.queue();
        const ignore = ['cause', 'nested'];
        const base = { page: 1, cause: 'edit', nested: { at: 1 } };
        const r = await q.push(h.job(base, { removeDuplicates: true, removeDuplicatesIgnoreParams: ignore }));
        assert.deepEqual(r, { inserted: 1, duplicates: 0 });
        const other = { page: 1, cause: 'purge', nested: { at: 2 } };
        assert.deepEqual(
          await q.push(h.job(other, { removeDuplicates: true, removeDuplicatesIgnoreParams: ignore })),
          { inserted: 0, duplicates: 1 },
          'only ignored params differ',
        );
        assert.deepEqual(
          await q.push(
            h.job({ ...other, page: 2 }, { removeDuplicates: true, removeDuplicatesIgnoreParams: ignore }),
          ),
          { inserted: 1, duplicates: 0 },
          'a kept param differs',
        );
        assert.deepEqual(
          await q.push(h.job(other, { removeDuplicates: true })),
          { inserted: 1, duplicates: 0 },
          'without the list every param counts',
        );
        const jobs = await drain(q);
        assert.equal(jobs.length, 3);
        const first = jobs.find((j) => j.params.cause === 'edit');
        assert.deepEqual(first?.params, base, 'ignored params are still delivered');
      },
    );

    if (supports.delayedJobs) {
      suite.test('P-13 pushing a duplicate of a delayed job is a no-op', async (h) => {
        const q = await h.queue();
        const at = h.clock.now() + 60_000;
        const spec = h.job({ page: 1 }, { removeDuplicates: true });
        assert.deepEqual(await q.push({ ...spec, releaseTimestamp: at }), { inserted: 1, duplicates: 0 });
        assert.deepEqual(await q.push(spec), { inserted: 0, duplicates: 1 }, 'an immediate twin');
        assert.deepEqual(await q.push({ ...spec, releaseTimestamp: at + 5_000 }), {
          inserted: 0,
          duplicates: 1,
        });
        assert.equal(await q.pop(), null, 'the immediate twin was stored');
        h.clock.advance(65_001);
        const jobs = await drain(q);
        assert.equal(jobs.length, 1);
        assert.equal(jobs[0]?.releaseTimestamp, at, 'the first (delayed) job is the one kept');
      });
    }

    suite.test('P-13 once claimed, an identical job may be pushed again', async (h) => {
      const q = await h.queue();
      const spec = h.job({ page: 1 }, { removeDuplicates: true });
      await q.push(spec);
      const claimed = await q.pop();
      assert.ok(claimed);
      assert.deepEqual(await q.push(spec), { inserted: 1, duplicates: 0 });
      assert.deepEqual(await q.push(spec), { inserted: 0, duplicates: 1 }, 'the new copy dedups again');
      const again = await q.pop();
      assert.ok(again);
      assert.notEqual(again.id, claimed.id);
      assert.equal(again.sha1, claimed.sha1);
    });

    if (supports.ack) {
      suite.test('P-13 a job released back to ready is a duplicate target again', async (h) => {
        const q = await h.queue();
        const spec = h.job({ page: 1 }, { removeDuplicates: true });
        await q.push(spec);
        const claimed = await q.pop();
        assert.ok(claimed);
        assert.equal(await q.release(claimed), 'released');
        assert.deepEqual(await q.push(spec), { inserted: 0, duplicates: 1 });
        const jobs = await drain(q);
        assert.deepEqual(
          jobs.map((j) => j.id),
          [claimed.id],
        );
      });
    }

    if (supports.ack) {
      suite.test('P-13 a released job and its twin never let a third identical push in', async (h) => {
        // A is claimed, its twin A' is pushed, A is released: whichever of them pops next, the
        // queue must still refuse an identical push while the other is ready. (A backend may
        // keep both or merge them on release; it may not forget the key.)
        const q = await h.queue({ order: supports.orders.includes('fifo') ? 'fifo' : 'any' });
        const spec = h.job({ page: 1 }, { removeDuplicates: true });
        await q.push(spec);
        const a = await q.pop();
        assert.ok(a);
        assert.deepEqual(await q.push(spec), { inserted: 1, duplicates: 0 }, 'the twin of a claimed job');
        assert.equal(await q.release(a), 'released');
        assert.ok(await q.pop(), 'one of the twins pops');
        await q.push(spec);
        const left = await drain(q);
        assert.equal(left.length, 1, 'an identical job was pushed while its twin was ready');
      });
    }

    suite.test('P-13 duplicates inside one batch collapse to the first', async (h) => {
      const q = await h.queue();
      const result = await q.push([
        h.job({ page: 1 }, { removeDuplicates: true, requestId: 'first' }),
        h.job({ page: 2 }, { removeDuplicates: true }),
        h.job({ page: 1 }, { removeDuplicates: true, requestId: 'second' }),
        h.job({ page: 1 }, { removeDuplicates: true, requestId: 'third' }),
      ]);
      assert.deepEqual(result, { inserted: 2, duplicates: 2 });
      const jobs = await drain(q);
      assert.equal(jobs.length, 2);
      assert.equal(jobs.find((j) => j.params.page === 1)?.requestId, 'first');
    });

    suite.test('P-13 jobs without removeDuplicates are never deduplicated', async (h) => {
      const q = await h.queue();
      const plain = h.job({ page: 1 });
      assert.deepEqual(await q.push(plain), { inserted: 1, duplicates: 0 });
      assert.deepEqual(await q.push(plain), { inserted: 1, duplicates: 0 });
      assert.deepEqual(await q.push([plain, plain]), { inserted: 2, duplicates: 0 });
      await q.push(h.job({ page: 1 }, { removeDuplicates: true }));
      assert.deepEqual(await q.push(plain), { inserted: 1, duplicates: 0 }, 'a plain twin of a dedup job');
      assert.equal((await drain(q)).length, 6);
    });

    suite.test('P-13 dedup is per queue: another type or domain is not a duplicate', async (h) => {
      const q = await h.queue();
      const otherType = await h.queue({ type: `${h.type}_b` });
      const otherDomain = await h.queue({ domain: `${h.domain}_b` });
      await q.push(h.job({ page: 1 }, { removeDuplicates: true }));
      assert.deepEqual(
        await otherType.push({ type: `${h.type}_b`, params: { page: 1 }, removeDuplicates: true }),
        { inserted: 1, duplicates: 0 },
      );
      assert.deepEqual(await otherDomain.push(h.job({ page: 1 }, { removeDuplicates: true })), {
        inserted: 1,
        duplicates: 0,
      });
      assert.equal((await drain(q)).length, 1);
      assert.equal((await drain(otherType)).length, 1);
      assert.equal((await drain(otherDomain)).length, 1);
    });

    suite.test('P-13 skipped duplicates are counted as dupe_inserts', async (h) => {
      const metrics = new CountingMetrics();
      const q = await h.queue({ metrics });
      const spec = h.job({ page: 1 }, { removeDuplicates: true });
      await q.push(spec);
      await q.push(spec);
      await q.push([spec, spec, h.job({ page: 2 }, { removeDuplicates: true })]);
      assert.equal(metrics.total('dupe_inserts', h.type), 3);
      assert.equal(metrics.total('actual_inserts', h.type), 2);
      assert.equal(metrics.total('inserts', h.type), 5);
    });

    suite.test(
      'P-13 the check is atomic: racing pushes of one job from many handles store it once',
      async (h) => {
        const handles: JobQueue[] = [];
        for (let i = 0; i < 4; i++) handles.push(await h.queue());
        const spec = h.job({ page: 1 }, { removeDuplicates: true });
        const results = await Promise.all(
          Array.from({ length: 40 }, (_, i) => handles[i % handles.length]?.push(spec)),
        );
        let inserted = 0;
        let duplicates = 0;
        for (const r of results) {
          assert.ok(r);
          inserted += r.inserted;
          duplicates += r.duplicates;
        }
        assert.equal(inserted, 1, 'racing duplicate pushes inserted more than one job');
        assert.equal(duplicates, 39);
        const first = handles[0];
        assert.ok(first);
        assert.equal((await drain(first)).length, 1);
      },
    );
  });
}
