/**
 * Sibling queries (promises §6): a backend with `siblingQueries` answers "which types have ready
 * jobs" and "how many" for every type of its domain and store in one call; one without returns
 * null so the group asks each queue.
 *
 * @packageDocumentation
 */
import { assert, drain, type Suite, sorted } from './suite.js';

/** Registers the sibling-query tests. */
export function all(suite: Suite): void {
  const { supports } = suite;
  if (!supports.pop) return;

  suite.describe('sibling queries (§6)', () => {
    if (!supports.siblingQueries) {
      suite.test('§6 without siblingQueries, sibling queries return null', async (h) => {
        const q = await h.queue();
        assert.equal(await q.getSiblingQueuesWithJobs([h.type]), null);
        assert.equal(await q.getSiblingQueueSizes([h.type]), null);
      });
      return;
    }

    suite.test('§6 handles on the same store share a non-null storeKey', async (h) => {
      const a = await h.queue();
      const b = await h.queue({ type: `${h.type}_b` });
      assert.ok(a.storeKey !== null, 'storeKey is set');
      assert.equal(a.storeKey, b.storeKey);
    });

    suite.test(
      '§6 getSiblingQueuesWithJobs() / getSiblingQueueSizes() report ready jobs per type',
      async (h) => {
        const [ta, tb, tc, td] = ['a', 'b', 'c', 'd'].map((s) => `${h.type}_${s}`) as [
          string,
          string,
          string,
          string,
        ];
        const a = await h.queue({ type: ta });
        const b = await h.queue({ type: tb });
        const c = await h.queue({ type: tc });
        const dElsewhere = await h.queue({ type: td, domain: `${h.domain}_other` });
        await a.push({ type: ta, params: { n: 0 } });
        await b.push([
          { type: tb, params: { n: 0 } },
          { type: tb, params: { n: 1 } },
        ]);
        if (supports.delayedJobs) {
          await c.push({ type: tc, params: { n: 0 }, releaseTimestamp: h.clock.now() + 60_000 });
        }
        await dElsewhere.push({ type: td, params: { n: 0 } });
        const types = [ta, tb, tc, td];
        assert.deepEqual(sorted((await a.getSiblingQueuesWithJobs(types)) ?? []), [ta, tb]);
        assert.deepEqual(await a.getSiblingQueueSizes(types), { [ta]: 1, [tb]: 2, [tc]: 0, [td]: 0 });
        await drain(b);
        assert.deepEqual(await c.getSiblingQueuesWithJobs(types), [ta], 'claimed jobs are not ready');
        if (supports.delayedJobs) {
          h.clock.advance(60_001);
          assert.deepEqual(
            sorted((await a.getSiblingQueuesWithJobs(types)) ?? []),
            [ta, tc],
            'a due job is ready',
          );
        }
      },
    );
  });
}
