/**
 * Pushing (P-1, P-2, P-16) and job-specification validation (promises §1).
 *
 * @packageDocumentation
 */
import type { JsonObject } from '../../core/job.js';
import {
  assert,
  assertNothingStored,
  drain,
  ErrorCode,
  ns,
  rejectsWithCode,
  type Suite,
  sorted,
} from './suite.js';

/** Registers the push tests. */
export function all(suite: Suite): void {
  const { supports } = suite;
  suite.describe('push (P-1, P-2, P-16)', () => {
    suite.test('P-1 push([]) stores nothing and returns { inserted: 0, duplicates: 0 }', async (h) => {
      const q = await h.queue();
      assert.deepEqual(await q.push([]), { inserted: 0, duplicates: 0 });
      await assertNothingStored(q, 'after push([])');
    });

    suite.test('P-1 push(spec) and push([specs]) both store jobs', async (h) => {
      const q = await h.queue();
      assert.deepEqual(await q.push(h.job({ n: 0 })), { inserted: 1, duplicates: 0 });
      assert.deepEqual(await q.push([h.job({ n: 1 }), h.job({ n: 2 })]), { inserted: 2, duplicates: 0 });
      if (supports.pop) {
        const jobs = await drain(q);
        assert.deepEqual(sorted(ns(jobs) as number[]), [0, 1, 2]);
        for (const job of jobs) {
          assert.equal(job.type, h.type);
          assert.equal(job.domain, h.domain);
        }
      }
    });

    if (supports.pop) {
      suite.test('P-1 params, domain and requestId come back exactly as pushed', async (h) => {
        const q = await h.queue();
        const params: JsonObject = {
          text: 'Ünïcödé ✓ 𝄞 "quotes" \\ back\nslash',
          int: 42,
          negative: -7,
          float: 3.25,
          big: 9_007_199_254_740_991,
          zero: 0,
          yes: true,
          no: false,
          nothing: null,
          empty: {},
          list: [1, 'two', null, [3], { four: 4 }],
          nested: { a: { b: { c: ['d'] } } },
        };
        await q.push(h.job(params, { requestId: 'req-42', domain: h.domain }));
        const job = await q.pop();
        assert.ok(job, 'the pushed job pops');
        assert.deepEqual(job.params, params);
        assert.equal(job.domain, h.domain);
        assert.equal(job.requestId, 'req-42');
        assert.equal(job.removeDuplicates, false);
        assert.equal(job.sha1, null);
        assert.equal(job.rootJob, null);
        assert.equal(job.releaseTimestamp, null);
      });
    }

    if (supports.typeAgnostic) {
      suite.test('P-2 a type-agnostic queue accepts specs of any type', async (h) => {
        const q = await h.queue();
        const other = `${h.type}_other`;
        assert.deepEqual(await q.push({ type: other, params: { n: 1 } }), { inserted: 1, duplicates: 0 });
        if (supports.pop) {
          const job = await q.pop();
          assert.equal(job?.type, other);
        }
      });
    } else {
      suite.test(
        'P-2 a spec of another type is rejected with SWITCHYARD_INVALID_JOB and nothing of the batch is stored',
        async (h) => {
          const q = await h.queue();
          const other = `${h.type}_other`;
          await rejectsWithCode(
            () => q.push([h.job({ n: 0 }), { type: other, params: { n: 1 } }]),
            ErrorCode.INVALID_JOB,
            'push of a foreign type',
            ['jobs[1].type', other],
          );
          await rejectsWithCode(
            () => q.push({ type: other, params: {} }),
            ErrorCode.INVALID_JOB,
            'push of one foreign job',
          );
          await assertNothingStored(q, 'after the rejected batches');
        },
      );
    }

    suite.test(
      '§1 an invalid specification rejects the whole batch with SWITCHYARD_INVALID_JOB naming the path',
      async (h) => {
        const q = await h.queue();
        const bad = { type: h.type, params: { ok: 1, when: new Date(0) } } as unknown as ReturnType<
          typeof h.job
        >;
        await rejectsWithCode(() => q.push([h.job({ n: 0 }), bad]), ErrorCode.INVALID_JOB, 'push of a Date', [
          'jobs[1].params.when',
        ]);
        const noParams = { type: h.type } as unknown as ReturnType<typeof h.job>;
        await rejectsWithCode(() => q.push(noParams), ErrorCode.INVALID_JOB, 'push without params', [
          'jobs[0].params',
        ]);
        await assertNothingStored(q, 'after the rejected batches');
      },
    );

    suite.test(
      "§1 a spec whose domain differs from the queue's is rejected with SWITCHYARD_INVALID_JOB",
      async (h) => {
        const q = await h.queue();
        await rejectsWithCode(
          () => q.push(h.job({ n: 0 }, { domain: `${h.domain}_other` })),
          ErrorCode.INVALID_JOB,
          'push to another domain',
          ['jobs[0].domain'],
        );
        await assertNothingStored(q, 'after the rejected push');
      },
    );

    if (supports.atomicBatchPush) {
      suite.test('P-16 push(jobs, { atomic: true }) stores every job of the batch', async (h) => {
        const q = await h.queue();
        assert.deepEqual(await q.push(h.jobs(25), { atomic: true }), { inserted: 25, duplicates: 0 });
        if (supports.pop) assert.deepEqual(sorted(ns(await drain(q)) as number[]), [...Array(25).keys()]);
      });

      suite.test('P-16 an atomic batch with one bad job stores nothing', async (h) => {
        const q = await h.queue();
        const bad = { type: h.type, params: { f: () => 1 } } as unknown as ReturnType<typeof h.job>;
        await rejectsWithCode(
          () => q.push([...h.jobs(5), bad], { atomic: true }),
          ErrorCode.INVALID_JOB,
          'atomic push with a function param',
          ['jobs[5].params.f'],
        );
        await assertNothingStored(q, 'after the rejected atomic batch');
      });
    }
    // The inverse of P-16 (atomic push refused) lives in not-supported.ts.
  });
}
