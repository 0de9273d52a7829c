/**
 * Concurrency (P-7): many poppers over several handles on one stored queue never get the same
 * claim. Sizes come from {@link ConformanceOptions.concurrency}; no env flags.
 *
 * @packageDocumentation
 */
import type { Job } from '../../core/job.js';
import type { JobQueue } from '../../core/job-queue.js';
import { assert, assertCount, drain, type Harness, type Suite } from './suite.js';

/** Yields to the event loop, so racing loops interleave. */
function tick(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Asserts every `n` in [0, total) was popped exactly once, with distinct ids and claim tokens. */
function assertExactlyOnce(jobs: readonly Job[], total: number): void {
  const byN = new Map<number, number>();
  const ids = new Set<string>();
  const tokens = new Set<string>();
  for (const job of jobs) {
    const n = job.params.n;
    assert.equal(typeof n, 'number', 'every popped job is one of ours');
    byN.set(n as number, (byN.get(n as number) ?? 0) + 1);
    assert.ok(!ids.has(job.id), `job ${job.id} (n=${String(n)}) was popped twice`);
    assert.ok(!tokens.has(job.claimToken), `claim token ${job.claimToken} was handed out twice`);
    ids.add(job.id);
    tokens.add(job.claimToken);
    assert.equal(job.attempts, 1, `job n=${String(n)} was claimed ${job.attempts} times`);
  }
  const missing: number[] = [];
  for (let n = 0; n < total; n++) if (!byN.has(n)) missing.push(n);
  assert.deepEqual(missing.slice(0, 20), [], `${missing.length} jobs were never popped`);
  assert.equal(jobs.length, total, 'every job was popped exactly once');
}

/** Pushes `total` jobs `{ n }` in batches of 100. */
async function pushAll(h: Harness, queue: JobQueue, total: number): Promise<void> {
  const specs = h.jobs(total);
  for (let i = 0; i < total; i += 100) await queue.push(specs.slice(i, i + 100));
}

/** Registers the concurrency tests. */
export function all(suite: Suite): void {
  const { supports } = suite;
  if (!supports.pop) return;
  const knobs = suite.options.concurrency ?? {};
  const poppers = knobs.poppers ?? 32;
  const handleCount = knobs.handles ?? 2;
  const total = knobs.jobs ?? 2000;
  const timeout = knobs.timeout ?? 120_000;

  const openHandles = async (h: Harness): Promise<JobQueue[]> => {
    const handles: JobQueue[] = [];
    for (let i = 0; i < handleCount; i++) handles.push(await h.queue());
    return handles;
  };

  suite.describe('concurrency (P-7)', () => {
    suite.test(
      `P-7 ${poppers} concurrent poppers over ${handleCount} handles drain ${total} jobs, each exactly once`,
      async (h) => {
        const handles = await openHandles(h);
        const first = handles[0] as JobQueue;
        await pushAll(h, first, total);
        const popped: Job[] = [];
        await Promise.all(
          Array.from({ length: poppers }, async (_, i) => {
            const q = handles[i % handles.length] as JobQueue;
            for (let job = await q.pop(); job !== null; job = await q.pop()) popped.push(job);
          }),
        );
        // A backend may report "empty" to one popper while others hold row locks (SKIP LOCKED):
        // whatever is left must still come out, once.
        popped.push(...(await drain(first)));
        assertExactlyOnce(popped, total);
        if (supports.ack) {
          const acks = await Promise.all(
            popped.map((job, i) => (handles[i % handles.length] as JobQueue).ack(job)),
          );
          assert.equal(acks.filter((ok) => ok).length, total, 'every claim acks once');
          await assertCount(first, 'claimed', 0, 'after acking everything');
        }
        await assertCount(first, 'ready', 0, 'after draining');
      },
      timeout,
    );

    suite.test(
      `P-7 concurrent popBatch() calls over ${handleCount} handles never return the same claim twice`,
      async (h) => {
        const handles = await openHandles(h);
        const first = handles[0] as JobQueue;
        await pushAll(h, first, total);
        const popped: Job[] = [];
        const workers = Math.max(2, Math.floor(poppers / 2));
        await Promise.all(
          Array.from({ length: workers }, async (_, i) => {
            const q = handles[i % handles.length] as JobQueue;
            const size = 1 + (i % 7);
            for (let batch = await q.popBatch(size); batch.length > 0; batch = await q.popBatch(size)) {
              assert.ok(batch.length <= size, `popBatch(${size}) returned ${batch.length} jobs`);
              popped.push(...batch);
            }
          }),
        );
        popped.push(...(await drain(first)));
        assertExactlyOnce(popped, total);
      },
      timeout,
    );

    suite.test(
      'P-7 pushes racing with pops on several handles: every job is popped exactly once',
      async (h) => {
        const handles = await openHandles(h);
        const first = handles[0] as JobQueue;
        const specs = h.jobs(total);
        const pushers = 4;
        let pushersDone = 0;
        const popped: Job[] = [];
        const pushing = Array.from({ length: pushers }, async (_, p) => {
          const q = handles[p % handles.length] as JobQueue;
          const mine = specs.filter((_, i) => i % pushers === p);
          try {
            for (let i = 0; i < mine.length; i += 10) {
              await q.push(mine.slice(i, i + 10));
              await tick();
            }
          } finally {
            pushersDone++; // also on failure, so the poppers stop and the test reports it
          }
        });
        const popping = Array.from({ length: poppers }, async (_, i) => {
          const q = handles[i % handles.length] as JobQueue;
          for (;;) {
            const job = await q.pop();
            if (job !== null) {
              popped.push(job);
              continue;
            }
            if (pushersDone === pushers) return;
            await tick();
          }
        });
        await Promise.all([...pushing, ...popping]);
        popped.push(...(await drain(first)));
        assertExactlyOnce(popped, total);
      },
      timeout,
    );
  });
}
