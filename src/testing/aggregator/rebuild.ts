/**
 * The chron's rebuild (promises §7): `replaceReadyQueues` swaps the whole map at once, keeps marks
 * newer than the rebuild's start, and readers see the old map or the new one, never a mix.
 *
 * @packageDocumentation
 */
import { type AggregatorSuite, assert, assertMap, canonical } from './suite.js';

function bigMap(prefix: string, types: number, domains: number): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (let t = 0; t < types; t++) {
    out[`${prefix}type${t}`] = Array.from({ length: domains }, (_, d) => `${prefix}wiki${d}`);
  }
  return out;
}

/** Registers the rebuild tests. */
export function all(suite: AggregatorSuite): void {
  suite.describe('rebuild (replaceReadyQueues)', () => {
    suite.test('replaceReadyQueues() replaces every older mark', async (h) => {
      const agg = await h.open();
      await agg.replaceReadyQueues({ a: ['d1', 'd2'], b: ['d1'] });
      h.advance(10);
      await agg.notifyQueueNonEmpty('d3', 'c');
      h.advance(10);
      await agg.replaceReadyQueues({ b: ['d2'], c: ['d4'] });
      await assertMap(agg, { b: ['d2'], c: ['d4'] }, 'only the new map');
    });

    suite.test('marks made after the rebuild started survive the swap', async (h) => {
      const agg = await h.open();
      await agg.replaceReadyQueues({ old: ['d'] });
      h.advance(10);
      const builtAt = h.clock.now(); // the chron starts reading the queues
      h.advance(10);
      await agg.notifyQueueNonEmpty('pushed', 'during'); // a push while it reads
      h.advance(10);
      await agg.replaceReadyQueues({ seen: ['d'] }, builtAt);
      await assertMap(agg, { seen: ['d'], during: ['pushed'] }, 'the push is not lost');
    });

    suite.test('duplicate domains and empty lists are dropped', async (h) => {
      const agg = await h.open();
      await agg.replaceReadyQueues({ t: ['d', 'd', 'e'], none: [] });
      await assertMap(agg, { t: ['d', 'e'] }, 'normalised');
      const map = await agg.getAllReadyQueues();
      assert.equal(map !== null && Object.hasOwn(map, 'none'), false, 'no empty list is reported');
    });

    suite.test('rebuilt entries can be emptied by a later empty notification', async (h) => {
      const agg = await h.open();
      await agg.replaceReadyQueues({ t: ['d'] });
      h.advance(10);
      await agg.notifyQueueEmpty('d', 't');
      await assertMap(agg, {}, 'emptied');
    });

    suite.test('a large map round-trips (60 types × 100 domains)', async (h) => {
      const agg = await h.open();
      const map = bigMap('', 60, 100);
      await agg.replaceReadyQueues(map);
      await assertMap(agg, map, '6,000 ready queues');
    });

    suite.test('readers during a swap see the old map or the new one, never a mix', async (h) => {
      const writer = await h.open();
      const reader = await h.open();
      const before = bigMap('old', 20, 50);
      const after = bigMap('new', 20, 50);
      await writer.replaceReadyQueues(before);
      h.advance(10);
      const reads: Promise<unknown>[] = [];
      const swap = writer.replaceReadyQueues(after);
      for (let i = 0; i < 20; i++) reads.push(reader.getAllReadyQueues().then(canonical));
      await swap;
      const old = canonical(before);
      const next = canonical(after);
      for (const [i, seen] of (await Promise.all(reads)).entries()) {
        const ok =
          JSON.stringify(seen) === JSON.stringify(old) || JSON.stringify(seen) === JSON.stringify(next);
        assert.ok(ok, `read ${i} saw a mix of the old and the new map`);
      }
      await assertMap(reader, after, 'the new map after the swap');
    });

    suite.test('concurrent swaps leave one whole map', async (h) => {
      const a = await h.open();
      const b = await h.open();
      const ma = bigMap('a', 5, 40);
      const mb = bigMap('b', 5, 40);
      await Promise.all([a.replaceReadyQueues(ma), b.replaceReadyQueues(mb)]);
      const seen = JSON.stringify(canonical(await a.getAllReadyQueues()));
      assert.ok(
        seen === JSON.stringify(canonical(ma)) || seen === JSON.stringify(canonical(mb)),
        'one of the two maps, whole',
      );
    });
  });
}
