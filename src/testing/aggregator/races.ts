/**
 * "Non-empty wins races with empty" (promises §7), and two handles on one store (two processes).
 *
 * @packageDocumentation
 */
import { type AggregatorSuite, assert, assertMap } from './suite.js';

/** Registers the race tests. */
export function all(suite: AggregatorSuite): void {
  suite.describe('races: non-empty wins', () => {
    suite.test('an empty notification observed before the latest non-empty mark keeps it', async (h) => {
      const agg = await h.open();
      await agg.replaceReadyQueues({});
      const popStartedAt = h.clock.now() + 5;
      h.advance(10);
      await agg.notifyQueueNonEmpty('d', 't'); // a push that landed after the pop started
      await agg.notifyQueueEmpty('d', 't', popStartedAt); // the pop's late "empty"
      await assertMap(agg, { t: ['d'] }, 'the newer non-empty mark survives');
    });

    suite.test('an empty notification at the same millisecond as the mark keeps it', async (h) => {
      const agg = await h.open();
      await agg.replaceReadyQueues({});
      h.advance(10);
      const at = h.clock.now();
      await agg.notifyQueueNonEmpty('d', 't');
      await agg.notifyQueueEmpty('d', 't', at);
      await assertMap(agg, { t: ['d'] }, 'ties go to non-empty');
    });

    suite.test('the latest non-empty mark is the one that counts', async (h) => {
      const agg = await h.open();
      await agg.replaceReadyQueues({});
      h.advance(10);
      await agg.notifyQueueNonEmpty('d', 't');
      const between = h.clock.now() + 5;
      h.advance(10);
      await agg.notifyQueueNonEmpty('d', 't');
      await agg.notifyQueueEmpty('d', 't', between);
      await assertMap(agg, { t: ['d'] }, 'an empty observed between two marks keeps the queue');
      await agg.notifyQueueEmpty('d', 't', h.clock.now() + 1);
      await assertMap(agg, {}, 'an empty observed after the latest mark removes it');
    });

    suite.test('non-empty after empty marks the queue again', async (h) => {
      const agg = await h.open();
      await agg.replaceReadyQueues({ t: ['d'] });
      h.advance(10);
      await agg.notifyQueueEmpty('d', 't');
      await assertMap(agg, {}, 'emptied');
      h.advance(10);
      await agg.notifyQueueNonEmpty('d', 't');
      await assertMap(agg, { t: ['d'] }, 'marked again');
    });

    suite.test('two handles on one store see each other’s notifications', async (h) => {
      const a = await h.open();
      const b = await h.open();
      await a.replaceReadyQueues({});
      assert.deepEqual(await b.getAllReadyQueues(), {}, 'b sees a’s rebuild');
      h.advance(10);
      await b.notifyQueueNonEmpty('d', 't');
      await assertMap(a, { t: ['d'] }, 'a sees b’s mark');
      h.advance(10);
      await a.notifyQueueEmpty('d', 't');
      await assertMap(b, {}, 'b sees a’s empty');
    });

    suite.test('interleaved empty and non-empty notifications from many handles end non-empty', async (h) => {
      const handles = await Promise.all([h.open(), h.open(), h.open()]);
      await (handles[0] as (typeof handles)[number]).replaceReadyQueues({});
      const start = h.clock.now();
      h.advance(1000);
      const calls: Promise<void>[] = [];
      for (let i = 0; i < 60; i++) {
        const agg = handles[i % handles.length] as (typeof handles)[number];
        // every empty was observed before the time of every non-empty mark
        calls.push(
          i % 2 === 0 ? agg.notifyQueueNonEmpty('d', 't') : agg.notifyQueueEmpty('d', 't', start + i),
        );
      }
      await Promise.all(calls);
      await assertMap(handles[0] as (typeof handles)[number], { t: ['d'] }, 'non-empty won every race');
    });
  });
}
