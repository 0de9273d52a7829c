/**
 * Low-latency wake (`supports.wake`): `waitForJobs()` resolves true when another handle on the
 * same store pushes, releases or recycles a job into this queue, at once when jobs are already
 * ready (decided: the wait is a hint that starts with a look, so a push between a runner's empty
 * pop and its wait is never missed), and when a delayed job falls due; false on abort and close;
 * never for another type's jobs. Without `wake` it waits out its timeout and resolves false;
 * push-only backends refuse it.
 *
 * Time: the queues keep the suite's ManualClock; only the notification itself travels in real
 * time. Waits get long timeouts (minutes) and the tests a shorter one, so a wake that never came
 * fails the test instead of passing late; nothing asserts a latency.
 *
 * @packageDocumentation
 */
import type { JobQueue } from '../../core/job-queue.js';
import { assert, rejectsNotSupported, rejectsWithTypeError, type Suite } from './suite.js';

/** A wait the test expects to be ended by a notification, an abort or a close (never its timeout). */
const LONG_WAIT_MS = 10 * 60 * 1000;
/** Each wake test's own timeout: far below {@link LONG_WAIT_MS}. */
const TEST_MS = 60_000;

/** Real time for a backend to start listening before the test pushes (not an assertion). */
function settle(ms = 100): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A wait whose outcome the test can look at without awaiting it. */
function track(q: JobQueue, signal?: AbortSignal): { done: Promise<boolean>; settled: () => boolean } {
  let settled = false;
  const done = q.waitForJobs(signal ? { timeout: LONG_WAIT_MS, signal } : { timeout: LONG_WAIT_MS });
  done.then(
    () => {
      settled = true;
    },
    () => {
      settled = true;
    },
  );
  return { done, settled: () => settled };
}

/** Lets pending callbacks and promise reactions run. */
function flush(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Registers the wake tests. */
export function all(suite: Suite): void {
  const { supports } = suite;
  suite.describe('wake (waitForJobs)', () => {
    if (!supports.pop) {
      suite.test('wake: waitForJobs() on a push-only queue throws SWITCHYARD_NOT_SUPPORTED', async (h) => {
        const q = await h.queue();
        await rejectsNotSupported(() => q.waitForJobs({ timeout: 10 }), 'waitForJobs');
      });
      return;
    }

    suite.test('wake: waitForJobs() rejects a bad timeout or signal with a TypeError', async (h) => {
      const q = await h.queue();
      const bad: unknown[] = [
        undefined,
        null,
        {},
        { timeout: -1 },
        { timeout: Number.NaN },
        { timeout: '5' },
      ];
      bad.push({ timeout: 2 ** 31 }, { timeout: 10, signal: {} });
      for (const options of bad) {
        await rejectsWithTypeError(
          () => q.waitForJobs(options as { timeout: number }),
          `waitForJobs(${JSON.stringify(options)})`,
        );
      }
    });

    suite.test(
      'wake: an aborted wait resolves false (already aborted, and aborted while waiting)',
      async (h) => {
        const q = await h.queue();
        assert.equal(await q.waitForJobs({ timeout: LONG_WAIT_MS, signal: AbortSignal.abort() }), false);
        const controller = new AbortController();
        const wait = track(q, controller.signal);
        await settle();
        controller.abort();
        assert.equal(await wait.done, false);
        assert.equal(await q.waitForJobs({ timeout: 0 }), false, 'timeout 0 resolves false');
      },
      TEST_MS,
    );

    suite.test(
      'wake: close() resolves a pending wait false',
      async (h) => {
        const q = await h.queue();
        const wait = track(q);
        await settle();
        await q.close();
        assert.equal(await wait.done, false);
      },
      TEST_MS,
    );

    if (!supports.wake) {
      suite.test('wake: without wake, waitForJobs() waits out its timeout and resolves false', async (h) => {
        const q = await h.queue();
        await q.push(h.job({ n: 0 }));
        assert.equal(await q.waitForJobs({ timeout: 20 }), false);
      });
      return;
    }

    suite.test(
      'wake: a push through another handle wakes the waiter (true)',
      async (h) => {
        const waiter = await h.queue();
        const pusher = await h.queue();
        const wait = track(waiter);
        await settle();
        assert.equal(wait.settled(), false, 'the wait on an empty queue is still pending');
        await pusher.push(h.job({ n: 0 }));
        assert.equal(await wait.done, true);
        const job = await waiter.pop();
        assert.ok(job, 'the pushed job pops');
      },
      TEST_MS,
    );

    suite.test(
      'wake: waitForJobs() resolves true at once when jobs are already ready',
      async (h) => {
        const q = await h.queue();
        await q.push(h.jobs(2));
        assert.equal(await q.waitForJobs({ timeout: LONG_WAIT_MS }), true);
        await q.pop();
        assert.equal(await q.waitForJobs({ timeout: LONG_WAIT_MS }), true, 'one job is still ready');
      },
      TEST_MS,
    );

    suite.test(
      'wake: a push of another type (same domain and store) does not wake the waiter',
      async (h) => {
        const other = h.type.replace(/^t_/, 'o_');
        const waiter = await h.queue();
        const witness = await h.queue({ type: other });
        const pusher = await h.queue({ type: other });
        const wait = track(waiter);
        // The witness waits on the other type: when it is woken, the notification was delivered.
        const seen = track(witness);
        await settle();
        await pusher.push({ type: other, params: { n: 0 } });
        assert.equal(await seen.done, true, 'the other type is woken');
        await flush();
        assert.equal(wait.settled(), false, 'the waiter on this type is still waiting');
        await waiter.close();
        assert.equal(await wait.done, false);
      },
      TEST_MS,
    );

    if (supports.ack) {
      suite.test(
        'wake: a release to ready through another handle wakes the waiter',
        async (h) => {
          const q = await h.queue();
          const waiter = await h.queue();
          await q.push(h.job({ n: 0 }));
          const job = await q.pop();
          assert.ok(job);
          const wait = track(waiter);
          await settle();
          assert.equal(wait.settled(), false, 'nothing is ready while the job is claimed');
          assert.equal(await q.release(job), 'released');
          assert.equal(await wait.done, true);
        },
        TEST_MS,
      );

      suite.test(
        'wake: maintenance recycling an expired claim wakes the waiter',
        async (h) => {
          const q = await h.queue({ claimTTL: 10 });
          const waiter = await h.queue({ claimTTL: 10 });
          await q.push(h.job({ n: 0 }));
          assert.ok(await q.pop());
          const wait = track(waiter);
          await settle();
          h.advance(11);
          assert.equal((await q.runMaintenance()).recycled, 1);
          assert.equal(await wait.done, true);
        },
        TEST_MS,
      );
    }

    if (supports.delayedJobs) {
      suite.test(
        'wake: a delayed job wakes the waiter when it falls due',
        async (h) => {
          const q = await h.queue();
          await q.push(h.job({ n: 0 }, { releaseTimestamp: h.clock.now() + 200 }));
          assert.equal(await q.pop(), null, 'not due yet');
          // The waiter computes its wake time from the earliest delayed job (200 ms by the clock).
          assert.equal(await q.waitForJobs({ timeout: LONG_WAIT_MS }), true);
          h.advance(0.2);
          assert.ok(await q.pop(), 'the due job pops');
        },
        TEST_MS,
      );
    }
  });
}
