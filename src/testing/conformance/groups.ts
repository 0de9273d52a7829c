/**
 * Flow-control groups (`supports.groupLimits`): a job's `groupKey` is stored and reported; a queue
 * pops its groups round-robin (keyless jobs are one more group); `groupLimits.maxConcurrent` caps
 * the claims a group holds at once, across handles, and every way a claim ends (ack, release,
 * recycle, abandon, cancel) frees its slot; `groupLimits.rate` caps claims per window; per-key
 * entries override the defaults; a group at its limit never blocks the others. Without the
 * capability a push with a group key throws `SWITCHYARD_NOT_SUPPORTED` and a queue with
 * `groupLimits` is refused with `SWITCHYARD_CONFIG_INVALID`.
 *
 * @packageDocumentation
 */
import type { Job } from '../../core/job.js';
import type { JobQueue } from '../../core/job-queue.js';
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

/** Pops until null (no acks): what the queue hands out now. */
async function popAll(q: JobQueue, limit = 10_000): Promise<Job[]> {
  const out: Job[] = [];
  while (out.length < limit) {
    const job = await q.pop();
    if (job === null) break;
    out.push(job);
  }
  return out;
}

/** The group keys of `jobs`, counted. */
function perGroup(jobs: readonly Job[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const job of jobs) {
    const k = job.groupKey ?? '(none)';
    out[k] = (out[k] ?? 0) + 1;
  }
  return out;
}

/** Registers the group tests. */
export function all(suite: Suite): void {
  const { supports } = suite;
  suite.describe('flow-control groups', () => {
    if (!supports.groupLimits) {
      suite.test(
        'groups: without groupLimits, a push with a groupKey throws SWITCHYARD_NOT_SUPPORTED and stores nothing; a queue with groupLimits is refused',
        async (h) => {
          const q = await h.queue();
          await rejectsNotSupported(
            () => q.push([h.job({ n: 0 }), h.job({ n: 1 }, { groupKey: 'a' })]),
            'groupKey',
          );
          if (supports.pop) await assertNothingStored(q, 'after the refused push');
          await rejectsWithCode(
            () => h.queue({ groupLimits: { maxConcurrent: 1 } }),
            ErrorCode.CONFIG_INVALID,
            'groupLimits on a backend without it',
            ['groupLimits'],
          );
        },
      );
      return;
    }
    const tracks = supports.ack;

    suite.test(
      'groups: an invalid groupKey rejects the batch with SWITCHYARD_INVALID_JOB naming it',
      async (h) => {
        const q = await h.queue();
        for (const bad of ['', 7, 'x'.repeat(256), {}]) {
          const spec = { ...h.job({ n: 1 }), groupKey: bad } as unknown as ReturnType<typeof h.job>;
          await rejectsWithCode(
            () => q.push([h.job({ n: 0 }), spec]),
            ErrorCode.INVALID_JOB,
            `groupKey ${JSON.stringify(bad)}`,
            ['jobs[1].groupKey'],
          );
        }
        await assertNothingStored(q, 'after the rejected batches');
      },
    );

    suite.test('groups: invalid groupLimits are refused at construction naming the field', async (h) => {
      const cases: [unknown, string][] = [
        [{ maxConcurrent: 0 }, 'groupLimits.maxConcurrent'],
        [{ maxConcurrent: 1.5 }, 'groupLimits.maxConcurrent'],
        [{ rate: { max: 0, perSeconds: 1 } }, 'groupLimits.rate.max'],
        [{ rate: { max: 1, perSeconds: 0 } }, 'groupLimits.rate.perSeconds'],
        [{ rate: 5 }, 'groupLimits.rate'],
        [{ keys: { a: { maxConcurrent: -1 } } }, 'groupLimits.keys.a.maxConcurrent'],
        [{ maxConcurent: 1 }, 'groupLimits.maxConcurent'],
        ['5', 'groupLimits'],
      ];
      for (const [groupLimits, path] of cases) {
        await rejectsWithCode(
          () => h.queue({ groupLimits: groupLimits as never }),
          ErrorCode.CONFIG_INVALID,
          `groupLimits ${JSON.stringify(groupLimits)}`,
          [path],
        );
      }
      if (tracks) {
        await rejectsWithCode(
          () => h.queue({ claimTTL: 0, groupLimits: { maxConcurrent: 2 } }),
          ErrorCode.CONFIG_INVALID,
          'maxConcurrent without claim tracking',
          ['groupLimits.maxConcurrent'],
        );
      }
    });

    suite.test(
      'groups: the groupKey is stored and reported on popped and listed jobs; not in the dedup key',
      async (h) => {
        const q = await h.queue();
        await q.push([h.job({ n: 0 }, { groupKey: 'tenant-a' }), h.job({ n: 1 })]);
        if (supports.listing) {
          const listed = await listAll(q, 'ready');
          assert.deepEqual(listed.map((j) => [j.params.n, j.groupKey]).sort(), [
            [0, 'tenant-a'],
            [1, null],
          ]);
        }
        if (supports.deduplication) {
          await q.push(h.job({ n: 2 }, { groupKey: 'x', removeDuplicates: true }));
          const second = await q.push(h.job({ n: 2 }, { groupKey: 'y', removeDuplicates: true }));
          assert.deepEqual(second, { inserted: 0, duplicates: 1 }, 'a twin in another group is a duplicate');
        }
        const popped = await drain(q);
        const keys = Object.fromEntries(popped.map((j) => [j.params.n as number, j.groupKey]));
        assert.equal(keys[0], 'tenant-a');
        assert.equal(keys[1], null);
      },
    );

    suite.test('groups: groups pop round-robin (keyless jobs are one more group)', async (h) => {
      const q = await h.queue();
      await q.push(h.jobs(6).map((s) => ({ ...s, groupKey: 'hot' })));
      await q.push([h.job({ n: 10 }, { groupKey: 'b' }), h.job({ n: 11 }, { groupKey: 'b' })]);
      await q.push([h.job({ n: 20 }), h.job({ n: 21 })]);
      const popped = await drain(q);
      assert.equal(popped.length, 10);
      // The first six pops take two jobs of each group with ready jobs.
      assert.deepEqual(perGroup(popped.slice(0, 6)), { hot: 2, b: 2, '(none)': 2 });
      assert.deepEqual(perGroup(popped.slice(6)), { hot: 4 });
    });

    if (tracks) {
      suite.test(
        'groups: maxConcurrent caps the claims a group holds, across handles; an ack frees a slot',
        async (h) => {
          const limits = { groupLimits: { maxConcurrent: 2 } };
          const a = await h.queue(limits);
          const b = await h.queue(limits);
          await a.push(h.jobs(5).map((s) => ({ ...s, groupKey: 'A' })));
          await a.push(h.jobs(5).map((s) => ({ ...s, groupKey: 'B' })));
          const first = [...(await popAll(a, 3)), ...(await popAll(b))];
          assert.deepEqual(perGroup(first), { A: 2, B: 2 }, 'two of each group, then nothing');
          assert.equal(await a.pop(), null);
          const someA = first.find((j) => j.groupKey === 'A') as Job;
          assert.equal(await b.ack(someA), true);
          const next = await a.pop();
          assert.ok(next, 'an A job after one A claim ended');
          assert.equal(next.groupKey, 'A');
          assert.equal(await b.pop(), null, 'A is at its cap again');
        },
      );

      suite.test('groups: a release, a recycle, an abandon and a cancel each free their slot', async (h) => {
        const q = await h.queue({ claimTTL: 60, maxTries: 2, groupLimits: { maxConcurrent: 1 } });
        await q.push(h.jobs(4).map((s) => ({ ...s, groupKey: 'g' })));
        const one = await q.pop();
        assert.ok(one);
        assert.equal(await q.pop(), null, 'at its cap');
        assert.equal(await q.release(one), 'released');
        const two = await q.pop();
        assert.ok(two, 'after a release');
        assert.equal(await q.pop(), null);
        h.advance(61);
        // The expired claim is recycled, or abandoned when it was `one` again (on its last try):
        // which job a pop takes after a release is the queue's order, and differs per backend.
        const expired = await q.runMaintenance();
        assert.equal(expired.recycled + expired.abandoned, 1, 'the one expired claim ended');
        const three = await q.pop();
        assert.ok(three, 'after a recycle');
        if (three.attempts >= 2) {
          assert.equal(await q.release(three), 'abandoned');
        } else {
          assert.equal(await q.release(three, { delay: 0 }), 'released');
        }
        const four = await q.pop();
        assert.ok(four, 'after an abandon or release');
        if (supports.cancel) {
          assert.equal(await q.pop(), null);
          assert.equal(await q.cancel(four.id), 'claimed');
          assert.ok(await q.pop(), 'after a cancel of the running job');
        }
      });

      suite.test(
        'groups: a per-key entry overrides the defaults; keyless jobs are never limited',
        async (h) => {
          const q = await h.queue({ groupLimits: { maxConcurrent: 1, keys: { big: { maxConcurrent: 3 } } } });
          await q.push(h.jobs(5).map((s) => ({ ...s, groupKey: 'big' })));
          await q.push(h.jobs(5).map((s) => ({ ...s, groupKey: 'small' })));
          await q.push(h.jobs(4));
          assert.deepEqual(perGroup(await popAll(q)), { big: 3, small: 1, '(none)': 4 });
        },
      );

      suite.test('groups: popBatch stops at each group cap and fills from the others', async (h) => {
        const q = await h.queue({ groupLimits: { maxConcurrent: 2 } });
        await q.push(h.jobs(10).map((s) => ({ ...s, groupKey: 'A' })));
        await q.push(h.jobs(1).map((s) => ({ ...s, groupKey: 'B' })));
        const batch = await q.popBatch(10);
        assert.deepEqual(perGroup(batch), { A: 2, B: 1 });
      });

      suite.test(
        'groups: a group at its cap never blocks the others (one hot tenant, nine cold)',
        async (h) => {
          const q = await h.queue({ order: 'any', groupLimits: { maxConcurrent: 4 } });
          const hot = Array.from({ length: 2_000 }, (_, n) => h.job({ n }, { groupKey: 'hot' }));
          for (let i = 0; i < hot.length; i += 500) await q.push(hot.slice(i, i + 500));
          const cold = Array.from({ length: 9 }, (_, g) =>
            Array.from({ length: 3 }, (_, n) => h.job({ n: 10_000 + g * 10 + n }, { groupKey: `cold${g}` })),
          ).flat();
          await q.push(cold);
          // The hot group holds 4 claims and is never acked: every cold job is still served, and
          // the first ten pops take one job of each of the ten groups (the round-robin's bound: a
          // job waits at most one turn of the groups with ready jobs per job ahead of it in its own).
          const popped = await popAll(q);
          assert.deepEqual(perGroup(popped), {
            hot: 4,
            ...Object.fromEntries(Array.from({ length: 9 }, (_, g) => [`cold${g}`, 3])),
          });
          assert.equal(
            new Set(popped.slice(0, 10).map((j) => j.groupKey)).size,
            10,
            'one of each group first',
          );
          for (const job of popped) if (job.groupKey !== 'hot') await q.ack(job);
          assert.equal(await q.pop(), null, 'hot stays at its cap while its claims are held');
          await q.ack(popped.find((j) => j.groupKey === 'hot') as Job);
          const next = await q.pop();
          assert.equal(next?.groupKey, 'hot', 'a freed hot slot is taken');
        },
      );
    }

    suite.test('groups: rate caps claims per window per group; the next window opens on time', async (h) => {
      const q = await h.queue({ groupLimits: { rate: { max: 2, perSeconds: 10 } } });
      await q.push(h.jobs(5).map((s) => ({ ...s, groupKey: 'api' })));
      await q.push(h.job({ n: 9 }, { groupKey: 'other' }));
      const first = await popAll(q);
      assert.deepEqual(perGroup(first), { api: 2, other: 1 });
      for (const job of first) if (tracks) await q.ack(job);
      h.advance(9.9);
      assert.equal(await q.pop(), null, 'still inside the window');
      h.advance(0.1);
      const second = await popAll(q);
      assert.deepEqual(perGroup(second), { api: 2 });
      h.advance(10);
      assert.deepEqual(perGroup(await popAll(q)), { api: 1 });
    });

    suite.test(
      'groups: without groupLimits the round-robin still applies and nothing is capped',
      async (h) => {
        const q = await h.queue();
        await q.push(h.jobs(50).map((s) => ({ ...s, groupKey: 'A' })));
        await q.push(h.job({ n: 100 }, { groupKey: 'B' }));
        const popped = await popAll(q);
        assert.equal(popped.length, 51);
        assert.ok(
          popped.slice(0, 2).some((j) => j.groupKey === 'B'),
          'B is served on the second pop at the latest',
        );
        assert.deepEqual(sorted(ns(popped.filter((j) => j.groupKey === 'A')) as number[]), [
          ...Array(50).keys(),
        ]);
      },
    );
  });
}
