/**
 * The capability manifest (STYLE 3): frozen, and the same on every queue the factory makes.
 *
 * @packageDocumentation
 */
import type { Order } from '../../core/supports.js';
import { assert, type Suite } from './suite.js';

/** Registers the manifest tests. */
export function all(suite: Suite): void {
  suite.describe('manifest', () => {
    suite.test('manifest: supports and its orders array are frozen', async (h) => {
      const q = await h.queue();
      assert.ok(Object.isFrozen(q.supports), 'queue.supports is frozen');
      assert.ok(Object.isFrozen(q.supports.orders), 'queue.supports.orders is frozen');
      assert.ok(Object.isFrozen(suite.supports), 'the declared manifest is frozen');
      assert.ok(Object.isFrozen(suite.supports.orders), 'the declared orders are frozen');
      const before = q.supports.pop;
      assert.throws(() => {
        (q.supports as { pop: boolean }).pop = !before;
      }, TypeError);
      assert.equal(q.supports.pop, before);
      assert.throws(() => {
        (q.supports.orders as Order[]).push('fifo');
      }, TypeError);
    });

    suite.test('manifest: every queue the factory makes reports the declared manifest', async (h) => {
      const variants = [
        {},
        { claimTTL: 0 },
        { maxTries: 1, abandonedTTL: 1, rootJobTTL: 1 },
        { readOnlyReason: 'conformance' },
        { type: h.type.replace(/^t_/, 'u_') },
      ];
      for (const variant of variants) {
        const q = await h.queue(variant);
        assert.deepEqual(
          q.supports,
          suite.supports,
          `manifest of a queue made with ${JSON.stringify(variant)}`,
        );
      }
    });

    suite.test(
      'manifest: orders include "any" iff the backend can pop; sizes is a known level',
      async (h) => {
        const q = await h.queue();
        assert.equal(q.supports.orders.includes('any'), q.supports.pop);
        if (!q.supports.pop) assert.deepEqual([...q.supports.orders], []);
        assert.ok(['exact', 'approximate', 'none'].includes(q.supports.sizes), `sizes: ${q.supports.sizes}`);
        if (!q.supports.pop) assert.equal(q.supports.ack, false, 'a push-only backend cannot ack');
      },
    );

    suite.test('manifest: the queue keeps its options and tracks claims iff it can ack', async (h) => {
      const q = await h.queue({ claimTTL: 120, maxTries: 5, abandonedTTL: 99, rootJobTTL: 77 });
      assert.equal(q.domain, h.domain);
      assert.equal(q.type, h.type);
      assert.equal(q.maxTries, 5);
      assert.equal(q.abandonedTTL, 99);
      assert.equal(q.rootJobTTL, 77);
      assert.equal(q.claimTTL, suite.supports.ack ? 120 : 0);
      assert.equal(q.tracksClaims, suite.supports.ack);
      assert.equal(q.closed, false);
    });
  });
}
