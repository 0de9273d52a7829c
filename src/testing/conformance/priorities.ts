/**
 * Priorities (`supports.priorities`): `JobSpecification.priority` is an integer from -1,000,000 to
 * 1,000,000 (default 0); a pop takes the highest priority ready job and, within one priority, the
 * queue's order; a released, recycled or delayed job keeps its priority; the priority is reported
 * on popped and listed jobs and is not part of the dedup key. Without `priorities` a push with a
 * non-zero priority is refused with `SWITCHYARD_NOT_SUPPORTED` and nothing is stored.
 *
 * @packageDocumentation
 */
import { MAX_PRIORITY, MIN_PRIORITY } from '../../core/job.js';
import type { Harness } from './suite.js';
import {
  assert,
  assertNothingStored,
  drain,
  ErrorCode,
  listAll,
  ns,
  rejectsNotSupported,
  rejectsWithCode,
  type Suite,
  sorted,
} from './suite.js';

/** A small deterministic generator, so a failure replays. */
function lcg(seed: number): () => number {
  let x = seed >>> 0;
  return () => {
    x = (Math.imul(x, 1_664_525) + 1_013_904_223) >>> 0;
    return x / 2 ** 32;
  };
}

/** The `n` params of `jobs` grouped by priority, highest first, each group sorted. */
function byPriority(
  jobs: readonly { readonly priority: number; readonly params: { readonly n?: unknown } }[],
) {
  const groups = new Map<number, number[]>();
  for (const job of jobs) {
    const list = groups.get(job.priority) ?? [];
    list.push(job.params.n as number);
    groups.set(job.priority, list);
  }
  return [...groups.entries()].sort((a, b) => b[0] - a[0]).map(([p, list]) => [p, sorted(list)]);
}

/** Registers the priority tests. */
export function all(suite: Suite): void {
  const { supports } = suite;
  suite.describe('priorities', () => {
    if (!supports.priorities) {
      suite.test(
        'priorities: without priorities, a push with a non-zero priority throws SWITCHYARD_NOT_SUPPORTED and stores nothing',
        async (h) => {
          const q = await h.queue();
          await rejectsNotSupported(
            () => q.push([h.job({ n: 0 }), h.job({ n: 1 }, { priority: 5 })]),
            'priority 5',
          );
          await rejectsNotSupported(() => q.push(h.job({ n: 2 }, { priority: -1 })), 'priority -1');
          if (supports.pop) await assertNothingStored(q, 'after the refused pushes');
          assert.deepEqual(await q.push(h.job({ n: 3 }, { priority: 0 })), { inserted: 1, duplicates: 0 });
          if (supports.pop) {
            const job = await q.pop();
            assert.ok(job, 'the priority-0 job pops');
            assert.equal(job.priority, 0);
          }
        },
      );
      return;
    }

    /** An order the queue can take in which pops within one priority are push order, else null. */
    const fifo = supports.orders.includes('fifo') ? ('fifo' as const) : null;

    suite.test(
      'priorities: an invalid priority rejects the batch with SWITCHYARD_INVALID_JOB naming it',
      async (h) => {
        const q = await h.queue();
        for (const bad of [
          1.5,
          'high',
          MAX_PRIORITY + 1,
          MIN_PRIORITY - 1,
          Number.NaN,
          Number.POSITIVE_INFINITY,
        ]) {
          const spec = { ...h.job({ n: 1 }), priority: bad } as unknown as ReturnType<Harness['job']>;
          await rejectsWithCode(
            () => q.push([h.job({ n: 0 }), spec]),
            ErrorCode.INVALID_JOB,
            `priority ${String(bad)}`,
            ['jobs[1].priority'],
          );
        }
        await assertNothingStored(q, 'after the rejected batches');
      },
    );

    suite.test(
      'priorities: a pop takes the highest priority first; popped jobs report their priority',
      async (h) => {
        const q = await h.queue(fifo === null ? {} : { order: fifo });
        const priorities = [0, 5, -3, 5, 0, 10, -3, 1, 10, 0, MAX_PRIORITY, MIN_PRIORITY];
        await q.push(priorities.map((priority, n) => h.job({ n }, { priority })));
        const popped = await drain(q);
        assert.equal(popped.length, priorities.length);
        const got = popped.map((j) => j.priority);
        assert.deepEqual(
          got,
          [...priorities].sort((a, b) => b - a),
          'pops in priority order',
        );
        for (const job of popped)
          assert.equal(job.priority, priorities[job.params.n as number], `job ${job.params.n}`);
        if (fifo !== null) {
          // Within one priority, push order.
          assert.deepEqual(ns(popped), [10, 5, 8, 1, 3, 7, 0, 4, 9, 2, 6, 11]);
        }
      },
    );

    if (fifo !== null) {
      suite.test('priorities: fifo within a priority across separate pushes and handles', async (h) => {
        const q = await h.queue({ order: 'fifo' });
        const other = await h.queue({ order: 'fifo' });
        await q.push(h.job({ n: 0 }));
        await other.push(h.job({ n: 1 }, { priority: 2 }));
        await q.push(h.job({ n: 2 }));
        await other.push(h.job({ n: 3 }, { priority: 2 }));
        await q.push(h.job({ n: 4 }, { priority: -2 }));
        await other.push(h.job({ n: 5 }));
        assert.deepEqual(ns(await drain(other)), [1, 3, 0, 2, 5, 4]);
      });
    }

    if (supports.orders.includes('timestamp')) {
      suite.test('priorities: timestamp order applies within a priority', async (h) => {
        const q = await h.queue({ order: 'timestamp' });
        await q.push(h.job({ n: 0 }, { priority: 1 }));
        h.clock.advance(1_000);
        await q.push(h.job({ n: 1 }));
        h.clock.advance(1_000);
        await q.push(h.job({ n: 2 }, { priority: 1 }));
        h.clock.advance(1_000);
        await q.push(h.job({ n: 3 }, { priority: 7 }));
        assert.deepEqual(ns(await drain(q)), [3, 0, 2, 1]);
      });
    }

    for (const order of ['random', 'any'] as const) {
      if (!supports.orders.includes(order)) continue;
      suite.test(
        `priorities: order "${order}" pops every job of a priority before any lower one`,
        async (h) => {
          const q = await h.queue({ order });
          const rnd = lcg(7);
          const priorities = Array.from({ length: 60 }, () => Math.floor(rnd() * 5) - 2);
          await q.push(priorities.map((priority, n) => h.job({ n }, { priority })));
          const popped = await drain(q);
          const got = popped.map((j) => j.priority);
          assert.deepEqual(
            got,
            [...priorities].sort((a, b) => b - a),
            'priorities never increase',
          );
          assert.deepEqual(sorted(ns(popped) as number[]), [...Array(60).keys()]);
        },
      );
    }

    suite.test('priorities: popBatch takes the highest priorities of a mixed batch', async (h) => {
      const q = await h.queue();
      await q.push(h.jobs(20));
      await q.push([
        h.job({ n: 20 }, { priority: 3 }),
        h.job({ n: 21 }, { priority: 9 }),
        h.job({ n: 22 }, { priority: 3 }),
      ]);
      const batch = await q.popBatch(3);
      assert.deepEqual(sorted(ns(batch) as number[]), [20, 21, 22]);
      assert.equal(batch.length, 3);
      const rest = await drain(q);
      assert.deepEqual(sorted(ns(rest) as number[]), [...Array(20).keys()]);
      assert.ok(rest.every((j) => j.priority === 0));
    });

    suite.test('priorities: many distinct priorities across the whole range pop in order', async (h) => {
      const q = await h.queue(fifo === null ? {} : { order: fifo });
      const rnd = lcg(42);
      const priorities = Array.from({ length: 80 }, (_, i) =>
        i % 10 === 0
          ? i % 20 === 0
            ? MAX_PRIORITY
            : MIN_PRIORITY
          : Math.floor(rnd() * 2_000_001) - 1_000_000,
      );
      for (let i = 0; i < priorities.length; i += 16) {
        await q.push(priorities.slice(i, i + 16).map((priority, k) => h.job({ n: i + k }, { priority })));
      }
      const popped = await drain(q);
      assert.deepEqual(
        popped.map((j) => j.priority),
        [...priorities].sort((a, b) => b - a),
      );
      if (fifo !== null) {
        const expected = priorities
          .map((priority, n) => ({ priority, n }))
          .sort((a, b) => b.priority - a.priority || a.n - b.n)
          .map((j) => j.n);
        assert.deepEqual(ns(popped), expected, 'push order within equal priorities');
      }
    });

    if (supports.listing) {
      suite.test('priorities: listed jobs report their priority in every state', async (h) => {
        const q = await h.queue();
        await q.push([h.job({ n: 0 }, { priority: 4 }), h.job({ n: 1 }, { priority: -4 })]);
        const ready = await listAll(q, 'ready');
        assert.deepEqual(byPriority(ready), [
          [4, [0]],
          [-4, [1]],
        ]);
        if (supports.ack) {
          const job = await q.pop();
          assert.ok(job);
          assert.equal(job.priority, 4);
          const claimed = await listAll(q, 'claimed');
          assert.deepEqual(byPriority(claimed), [[4, [0]]]);
        }
        if (supports.delayedJobs) {
          await q.push(h.job({ n: 2 }, { priority: 6, releaseTimestamp: h.clock.now() + 60_000 }));
          assert.deepEqual(byPriority(await listAll(q, 'delayed')), [[6, [2]]]);
        }
      });
    }

    if (supports.ack) {
      suite.test('priorities: a released job keeps its priority and pops before lower ones', async (h) => {
        const q = await h.queue({ claimTTL: 60 });
        await q.push([h.job({ n: 0 }), h.job({ n: 1 }, { priority: 2 }), h.job({ n: 2 }, { priority: 1 })]);
        const first = await q.pop();
        assert.ok(first);
        assert.equal(first.params.n, 1);
        assert.equal(await q.release(first), 'released');
        const again = await q.pop();
        assert.ok(again);
        assert.deepEqual([again.params.n, again.priority, again.attempts], [1, 2, 2]);
        await q.ack(again);
        assert.deepEqual(ns(await drain(q)), [2, 0]);
      });

      suite.test('priorities: a recycled claim keeps its priority', async (h) => {
        const q = await h.queue({ claimTTL: 60 });
        await q.push(h.job({ n: 0 }, { priority: 3 }));
        const first = await q.pop();
        assert.ok(first);
        await q.push([h.job({ n: 1 }), h.job({ n: 2 }, { priority: 1 })]);
        h.advance(61);
        assert.equal((await q.runMaintenance()).recycled, 1);
        const popped = await drain(q);
        assert.deepEqual(ns(popped), [0, 2, 1]);
        assert.equal(popped[0]?.priority, 3);
      });

      if (supports.delayedJobs) {
        suite.test('priorities: a release with a delay keeps the priority once due', async (h) => {
          const q = await h.queue({ claimTTL: 60 });
          await q.push(h.job({ n: 0 }, { priority: 5 }));
          const first = await q.pop();
          assert.ok(first);
          assert.equal(await q.release(first, { delay: 30 }), 'released');
          await q.push([h.job({ n: 1 }), h.job({ n: 2 }), h.job({ n: 3 })]);
          h.advance(31);
          const popped = await drain(q);
          assert.equal(popped[0]?.params.n, 0, 'the due released job pops first');
          assert.equal(popped[0]?.priority, 5);
        });
      }
    }

    if (supports.delayedJobs) {
      suite.test('priorities: a due delayed job pops before lower-priority ready jobs', async (h) => {
        const q = await h.queue();
        await q.push(h.job({ n: 0 }, { priority: 8, releaseTimestamp: h.clock.now() + 10_000 }));
        await q.push([h.job({ n: 1 }), h.job({ n: 2 }, { priority: 9 })]);
        const early = await q.pop();
        assert.ok(early);
        assert.equal(early.params.n, 2, 'the ready priority-9 job');
        if (supports.ack) await q.ack(early);
        h.advance(11);
        assert.deepEqual(ns(await drain(q)), [0, 1]);
      });
    }

    if (supports.deduplication) {
      suite.test('priorities: the priority is not part of the dedup key', async (h) => {
        const q = await h.queue();
        assert.deepEqual(await q.push(h.job({ n: 0 }, { removeDuplicates: true, priority: 1 })), {
          inserted: 1,
          duplicates: 0,
        });
        assert.deepEqual(await q.push(h.job({ n: 0 }, { removeDuplicates: true, priority: 9 })), {
          inserted: 0,
          duplicates: 1,
        });
        const popped = await drain(q);
        assert.equal(popped.length, 1);
        assert.equal(popped[0]?.priority, 1, 'the first push wins');
      });
    }

    if (supports.sizes === 'exact') {
      suite.test('priorities: sizes count jobs of every priority', async (h) => {
        const q = await h.queue();
        await q.push([h.job({ n: 0 }, { priority: 1 }), h.job({ n: 1 }), h.job({ n: 2 }, { priority: -1 })]);
        assert.equal(await q.getSize(), 3);
        const stats = await q.getQueueStats();
        assert.equal(stats.ready, 3);
        await q.pop();
        assert.equal(await q.getSize(), 2);
      });
    }
  });
}
