/**
 * Close: after `close()` every call throws `SWITCHYARD_QUEUE_CLOSED`; closing is idempotent and
 * never takes the shared store (or other handles) down with it.
 *
 * @packageDocumentation
 */
import { ErrorCode } from '../../core/errors.js';
import { type AggregatorSuite, assert, assertMap } from './suite.js';

/** Registers the close tests. */
export function all(suite: AggregatorSuite): void {
  suite.describe('close', () => {
    suite.test('after close() every call throws SWITCHYARD_QUEUE_CLOSED', async (h) => {
      const agg = await h.open();
      await agg.close();
      const calls: Record<string, () => Promise<unknown>> = {
        notifyQueueNonEmpty: () => agg.notifyQueueNonEmpty('d', 't'),
        notifyQueueEmpty: () => agg.notifyQueueEmpty('d', 't'),
        getAllReadyQueues: () => agg.getAllReadyQueues(),
        replaceReadyQueues: () => agg.replaceReadyQueues({}),
        purge: () => agg.purge(),
      };
      for (const [name, call] of Object.entries(calls)) {
        await assert.rejects(
          async () => call(),
          (e: unknown) => (e as { code?: unknown }).code === ErrorCode.QUEUE_CLOSED,
          `${name}() after close()`,
        );
      }
      await agg.close();
    });

    suite.test('closing one handle leaves the store and the other handles working', async (h) => {
      const a = await h.open();
      const b = await h.open();
      await a.replaceReadyQueues({ t: ['d'] });
      await a.close();
      await assertMap(b, { t: ['d'] }, 'b still reads');
      h.advance(10);
      await b.notifyQueueNonEmpty('d2', 't');
      const c = await h.open();
      await assertMap(c, { t: ['d', 'd2'] }, 'a new handle sees everything');
    });
  });
}
