/**
 * Read-only queues (P-3): push, pop and ack throw `SWITCHYARD_READ_ONLY` with the reason and
 * change nothing.
 *
 * @packageDocumentation
 */
import { assert, assertCount, assertNothingStored, ErrorCode, rejectsWithCode, type Suite } from './suite.js';

const REASON = 'conformance: database maintenance until 04:00';

/** Registers the read-only tests. */
export function all(suite: Suite): void {
  const { supports } = suite;
  suite.describe('read-only (P-3)', () => {
    suite.test(
      'P-3 a read-only queue rejects push with SWITCHYARD_READ_ONLY carrying the reason; nothing is stored',
      async (h) => {
        const ro = await h.queue({ readOnlyReason: REASON });
        assert.equal(ro.readOnlyReason, REASON);
        await rejectsWithCode(() => ro.push(h.job({ n: 0 })), ErrorCode.READ_ONLY, 'push', [REASON]);
        await rejectsWithCode(() => ro.push(h.jobs(3)), ErrorCode.READ_ONLY, 'push of a batch', [REASON]);
        const writable = await h.queue();
        await assertNothingStored(writable, 'after pushes to the read-only handle');
      },
    );

    if (supports.pop) {
      suite.test(
        'P-3 a read-only queue rejects pop and popBatch with SWITCHYARD_READ_ONLY; the job stays ready',
        async (h) => {
          const writable = await h.queue();
          await writable.push(h.job({ n: 0 }));
          const ro = await h.queue({ readOnlyReason: REASON });
          await rejectsWithCode(() => ro.pop(), ErrorCode.READ_ONLY, 'pop', [REASON]);
          await rejectsWithCode(() => ro.popBatch(3), ErrorCode.READ_ONLY, 'popBatch', [REASON]);
          await assertCount(writable, 'ready', 1, 'after the refused pops');
          const job = await writable.pop();
          assert.ok(job, 'the job is still ready');
          assert.equal(job.attempts, 1, 'the refused pops did not count as claims');
        },
      );
    }

    if (supports.ack) {
      suite.test(
        'P-3 a read-only queue rejects ack with SWITCHYARD_READ_ONLY; the claim stays held',
        async (h) => {
          const writable = await h.queue();
          await writable.push(h.job({ n: 0 }));
          const job = await writable.pop();
          assert.ok(job);
          const ro = await h.queue({ readOnlyReason: REASON });
          await rejectsWithCode(() => ro.ack(job), ErrorCode.READ_ONLY, 'ack', [REASON]);
          await rejectsWithCode(() => ro.ackBatch([job]), ErrorCode.READ_ONLY, 'ackBatch', [REASON]);
          await assertCount(writable, 'claimed', 1, 'after the refused ack');
          assert.equal(await writable.ack(job), true, 'the claim is still live and ackable');
        },
      );
    }
  });
}
