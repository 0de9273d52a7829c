/**
 * Pause / resume (`supports.pause`): the paused flag of a (domain, type) lives in the store, so a
 * pause through one handle stops pops on every other handle (every runner process) at their next
 * pop; pushes still land and are counted; claimed jobs still ack; resume makes the jobs poppable
 * again in their order and wakes waiters. Without `pause`, the three calls throw
 * `SWITCHYARD_NOT_SUPPORTED` and pops are unaffected.
 *
 * @packageDocumentation
 */
import type { Job } from '../../core/job.js';
import { assert, exactSizes, ns, rejectsNotSupported, type Suite } from './suite.js';

/** A wait the test expects to be ended by a notification (never its timeout). */
const LONG_WAIT_MS = 10 * 60 * 1000;

/** Registers the pause tests. */
export function all(suite: Suite): void {
  const { supports } = suite;
  suite.describe('pause / resume', () => {
    if (!supports.pause) {
      suite.test(
        'pause: without pause, pause(), resume() and isPaused() throw SWITCHYARD_NOT_SUPPORTED',
        async (h) => {
          const q = await h.queue();
          await rejectsNotSupported(() => q.pause(), 'pause');
          await rejectsNotSupported(() => q.resume(), 'resume');
          await rejectsNotSupported(() => q.isPaused(), 'isPaused');
          if (supports.pop) {
            await q.push(h.job({ n: 0 }));
            assert.notEqual(await q.pop(), null, 'a refused pause() must not stop pops');
          }
        },
      );
      return;
    }

    suite.test('pause: a pause through one handle stops pops on another; pushes still land', async (h) => {
      const a = await h.queue();
      const b = await h.queue();
      await a.push(h.jobs(3));
      assert.equal(await b.isPaused(), false);
      await a.pause();
      assert.equal(await b.isPaused(), true);
      assert.equal(await b.pop(), null, 'pop on a paused queue');
      assert.deepEqual(await b.popBatch(5), [], 'popBatch on a paused queue');
      assert.deepEqual(await b.push(h.job({ n: 3 })), { inserted: 1, duplicates: 0 });
      if (exactSizes(supports)) assert.equal(await b.getSize(), 4, 'paused jobs stay ready');
      await b.resume();
      assert.equal(await a.isPaused(), false);
      const popped: Job[] = [];
      for (let job = await a.pop(); job; job = await a.pop()) {
        popped.push(job);
        if (supports.ack) await a.ack(job);
      }
      assert.equal(popped.length, 4, 'every job is poppable after resume');
      if (supports.orders.includes('fifo') && a.order === 'fifo') {
        assert.deepEqual(ns(popped), [0, 1, 2, 3]);
      }
    });

    suite.test('pause: pause() and resume() are idempotent and scoped to their (domain, type)', async (h) => {
      const q = await h.queue();
      const other = await h.queue({ type: `${h.type}-other` });
      const elsewhere = await h.queue({ domain: `${h.domain}-other` });
      await other.push({ type: other.type, params: { n: 0 } });
      await elsewhere.push(h.job({ n: 0 }));
      await q.pause();
      await q.pause();
      assert.equal(await q.isPaused(), true);
      assert.equal(await other.isPaused(), false);
      assert.equal(await elsewhere.isPaused(), false);
      assert.notEqual(await other.pop(), null, 'another type is not paused');
      assert.notEqual(await elsewhere.pop(), null, 'the same type in another domain is not paused');
      await q.resume();
      await q.resume();
      assert.equal(await q.isPaused(), false);
    });

    if (supports.siblingQueries) {
      suite.test(
        'pause: getSiblingQueuesWithJobs() leaves a paused queue out (runners do not pick it)',
        async (h) => {
          const q = await h.queue();
          const otherType = `${h.type}-other`;
          const other = await h.queue({ type: otherType });
          await q.push(h.job({ n: 0 }));
          await other.push({ type: otherType, params: { n: 0 } });
          const types = [h.type, otherType];
          await q.pause();
          assert.deepEqual(await q.getSiblingQueuesWithJobs(types), [otherType]);
          const sizes = await q.getSiblingQueueSizes(types);
          assert.equal(sizes?.[h.type], 1, 'sizes still count the paused queue');
          await q.resume();
          assert.deepEqual([...((await q.getSiblingQueuesWithJobs(types)) ?? [])].sort(), [...types].sort());
        },
      );
    }

    if (supports.ack) {
      suite.test('pause: a job claimed before the pause still acks, releases and extends', async (h) => {
        const q = await h.queue();
        await q.push(h.jobs(2));
        const first = await q.pop();
        const second = await q.pop();
        assert.ok(first && second);
        await q.pause();
        assert.equal(await q.extendClaim(first), true);
        assert.equal(await q.ack(first), true);
        await q.release(second);
        assert.equal(await q.pop(), null, 'a released job of a paused queue is not popped');
        await q.resume();
        const again = await q.pop();
        assert.deepEqual(again && ns([again]), [1]);
      });
    }

    if (supports.wake) {
      suite.test(
        'pause: waitForJobs() does not report a paused queue ready; resume() wakes it',
        async (h) => {
          const a = await h.queue();
          const b = await h.queue();
          await a.pause();
          await a.push(h.job({ n: 0 }));
          let settled = false;
          const done = b.waitForJobs({ timeout: LONG_WAIT_MS }).then((r) => {
            settled = true;
            return r;
          });
          await new Promise((resolve) => setTimeout(resolve, 150));
          assert.equal(settled, false, 'a wait on a paused queue with ready jobs must not resolve');
          await a.resume();
          assert.equal(await done, true, 'resume() wakes the waiter');
          assert.notEqual(await b.pop(), null);
        },
        60_000,
      );
    }
  });
}
