/**
 * Notifications (promises §7): non-empty marks show in the map, empty notifications remove them, and
 * the map is `null` until a rebuild built it (a missing map is told apart from an empty one).
 *
 * @packageDocumentation
 */
import { type AggregatorSuite, assert, assertMap, randomName } from './suite.js';

/** Registers the notification tests. */
export function all(suite: AggregatorSuite): void {
  suite.describe('notifications', () => {
    suite.test('getAllReadyQueues() is null before any rebuild, even after notifications', async (h) => {
      const agg = await h.open();
      assert.equal(await agg.getAllReadyQueues(), null, 'a fresh store has no map');
      await agg.notifyQueueNonEmpty('d1', 't1');
      assert.equal(await agg.getAllReadyQueues(), null, 'notifications alone do not make a map');
    });

    suite.test('a rebuilt but empty map is {}, not null', async (h) => {
      const agg = await h.open();
      await agg.replaceReadyQueues({});
      await assertMap(agg, {}, 'rebuilt empty');
    });

    suite.test('notifyQueueNonEmpty() adds the queue to a built map, grouped by type', async (h) => {
      const agg = await h.open();
      await agg.replaceReadyQueues({});
      h.advance(10);
      await agg.notifyQueueNonEmpty('enwiki', 'refreshLinks');
      await agg.notifyQueueNonEmpty('dewiki', 'refreshLinks');
      await agg.notifyQueueNonEmpty('enwiki', 'htmlCacheUpdate');
      await agg.notifyQueueNonEmpty('enwiki', 'refreshLinks');
      await assertMap(
        agg,
        { refreshLinks: ['enwiki', 'dewiki'], htmlCacheUpdate: ['enwiki'] },
        'after four notifications (one repeated)',
      );
    });

    suite.test('notifications made before the first rebuild survive it when newer', async (h) => {
      const agg = await h.open();
      const builtAt = h.clock.now();
      h.advance(5);
      await agg.notifyQueueNonEmpty('d', 't');
      await agg.replaceReadyQueues({}, builtAt);
      await assertMap(agg, { t: ['d'] }, 'a mark newer than the rebuild start is kept');
    });

    suite.test('notifyQueueEmpty() removes a mark older than observedAt', async (h) => {
      const agg = await h.open();
      await agg.replaceReadyQueues({});
      h.advance(10);
      await agg.notifyQueueNonEmpty('d1', 't');
      await agg.notifyQueueNonEmpty('d2', 't');
      h.advance(10);
      await agg.notifyQueueEmpty('d1', 't', h.clock.now());
      await assertMap(agg, { t: ['d2'] }, 'd1 removed');
      h.advance(10);
      await agg.notifyQueueEmpty('d2', 't');
      await assertMap(agg, {}, 'default observedAt is now');
    });

    suite.test('notifyQueueEmpty() of a queue without a mark changes nothing', async (h) => {
      const agg = await h.open();
      await agg.replaceReadyQueues({ t: ['d'] });
      h.advance(10);
      await agg.notifyQueueEmpty('other', 't');
      await agg.notifyQueueEmpty('d', 'other');
      await assertMap(agg, { t: ['d'] }, 'untouched');
    });

    suite.test('domains and types are kept verbatim (separators, unicode, long names)', async (h) => {
      const agg = await h.open();
      await agg.replaceReadyQueues({});
      h.advance(1);
      const odd = ['a:b', 'x|y', '{tag}', 'ünï cødé', 'q'.repeat(200), '12:34', '"quoted"'];
      for (const name of odd) await agg.notifyQueueNonEmpty(name, `type-${name}`);
      await agg.notifyQueueNonEmpty('1', '2:3');
      await agg.notifyQueueNonEmpty('1:2', '3');
      const expected: Record<string, string[]> = { '2:3': ['1'], '3': ['1:2'] };
      for (const name of odd) expected[`type-${name}`] = [name];
      await assertMap(agg, expected, 'names round-trip');
    });

    suite.test('bad arguments throw a TypeError and change nothing', async (h) => {
      const agg = await h.open();
      await agg.replaceReadyQueues({});
      const bad: [string, () => Promise<unknown>][] = [
        ['empty domain', () => agg.notifyQueueNonEmpty('', 't')],
        ['empty type', () => agg.notifyQueueNonEmpty('d', '')],
        ['non-string', () => agg.notifyQueueEmpty(1 as unknown as string, 't')],
        ['NaN observedAt', () => agg.notifyQueueEmpty('d', 't', Number.NaN)],
        ['map not an object', () => agg.replaceReadyQueues(null as unknown as Record<string, string[]>)],
        ['domains not an array', () => agg.replaceReadyQueues({ t: 'd' as unknown as string[] })],
        ['empty domain in map', () => agg.replaceReadyQueues({ t: [''] })],
      ];
      for (const [what, call] of bad) {
        await assert.rejects(call, TypeError, what);
      }
      await assertMap(agg, {}, 'nothing changed');
    });

    suite.test('many queues across types and domains come back exactly', async (h) => {
      const agg = await h.open();
      await agg.replaceReadyQueues({});
      h.advance(1);
      const expected: Record<string, string[]> = {};
      const calls: Promise<void>[] = [];
      for (let t = 0; t < 10; t++) {
        const type = randomName('t');
        expected[type] = [];
        for (let d = 0; d < 30; d++) {
          const domain = `wiki${d}`;
          expected[type].push(domain);
          calls.push(agg.notifyQueueNonEmpty(domain, type));
        }
      }
      await Promise.all(calls);
      await assertMap(agg, expected, '300 concurrent notifications');
    });
  });
}
