/**
 * The map's lifetime (promises §7): a rebuilt map is trusted for `cacheTTL` seconds, then answers
 * `null` until the next rebuild; `purge()` forgets it at once.
 *
 * @packageDocumentation
 */
import { type AggregatorSuite, assert, assertMap } from './suite.js';

/** Registers the expiry and purge tests. */
export function all(suite: AggregatorSuite): void {
  suite.describe('cacheTTL and purge', () => {
    suite.test('the map expires cacheTTL seconds after its rebuild started', async (h) => {
      const agg = await h.open({ cacheTTL: 60 });
      await agg.replaceReadyQueues({ t: ['d'] });
      h.advance(59_000);
      await agg.notifyQueueNonEmpty('d2', 't');
      await assertMap(agg, { t: ['d', 'd2'] }, 'still trusted before the TTL');
      h.advance(1_000);
      assert.equal(await agg.getAllReadyQueues(), null, 'expired at the TTL; notifications do not extend it');
      await agg.replaceReadyQueues({ t: ['d3'] });
      await assertMap(agg, { t: ['d3'] }, 'a rebuild brings it back');
    });

    suite.test('the TTL counts from builtAt', async (h) => {
      const agg = await h.open({ cacheTTL: 10 });
      const builtAt = h.clock.now();
      h.advance(9_000);
      await agg.replaceReadyQueues({ t: ['d'] }, builtAt);
      await assertMap(agg, { t: ['d'] }, 'trusted');
      h.advance(1_000);
      assert.equal(await agg.getAllReadyQueues(), null, 'expired 10 s after builtAt');
    });

    suite.test('cacheTTL: null never expires', async (h) => {
      const agg = await h.open({ cacheTTL: null });
      await agg.replaceReadyQueues({ t: ['d'] });
      h.advance(365 * 24 * 3600 * 1000);
      await assertMap(agg, { t: ['d'] }, 'a year later');
    });

    suite.test('purge() forgets the map and every mark', async (h) => {
      const agg = await h.open();
      await agg.replaceReadyQueues({ t: ['d'] });
      h.advance(10);
      await agg.notifyQueueNonEmpty('d2', 't2');
      await agg.purge();
      assert.equal(await agg.getAllReadyQueues(), null, 'no map after purge');
      const builtAt = h.clock.now();
      h.advance(10);
      await agg.replaceReadyQueues({}, builtAt);
      await assertMap(agg, {}, 'the old marks are gone too');
      await agg.purge();
      await agg.purge();
      assert.equal(await agg.getAllReadyQueues(), null, 'purge is idempotent');
    });

    suite.test('purge() through one handle purges the shared store', async (h) => {
      const agg = await h.open();
      await agg.replaceReadyQueues({ t: ['d'] });
      const other = await h.open();
      await other.purge();
      assert.equal(await agg.getAllReadyQueues(), null, 'the other handle sees no map');
    });
  });
}
