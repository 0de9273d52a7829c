/**
 * Progressive expansion (`switchyard/expansion`, MediaWiki's backlink partitioning) on the queue
 * under test, for every backend that can pop and ack: a root job over a range of items expands
 * into at most N leaves plus one remainder at a time; a newer root supersedes every pending leaf
 * and remainder of an older one (with `rootJobs`); a parent whose claim is handed back after it
 * pushed its children loses no item and runs none more than twice (at-least-once).
 *
 * @packageDocumentation
 */
import type { Job, JobSpecification } from '../../core/job.js';
import { newRootJob } from '../../core/job.js';
import type { JobQueue } from '../../core/job-queue.js';
import { expansionHandler, expansionRoot } from '../../expansion/index.js';
import { type HandlerContext, silentLogger } from '../../runner/handlers.js';
import { assert, type Suite } from './suite.js';

/** What a drain saw. */
interface Drained {
  /** Most jobs pushed but not yet acked at any step (the root included). */
  readonly maxOutstanding: number;
  /** Most jobs the store reported (getSize) at any step; null without exact sizes. */
  readonly maxSize: number | null;
  readonly duplicates: number;
  readonly ran: number;
}

/** The context a handler gets when this suite runs it on `q`. */
function handlerContext(q: JobQueue): HandlerContext {
  return { domain: q.domain, signal: new AbortController().signal, logger: silentLogger };
}

/** Runs an expansion over `q` until it is empty. `release` picks jobs whose claim is handed back once. */
async function drainExpansion(
  q: JobQueue,
  options: {
    readonly batchSize: number;
    readonly leafSize: number;
    readonly runs: Uint8Array;
    readonly exactSizes: boolean;
    readonly release?: (job: Job) => boolean;
  },
): Promise<Drained> {
  const ctx = handlerContext(q);
  let outstanding = 0;
  let maxOutstanding = 0;
  let maxSize: number | null = options.exactSizes ? 0 : null;
  const handler = expansionHandler({
    batchSize: options.batchSize,
    leafSize: options.leafSize,
    push: async (specs: readonly JobSpecification<string>[]) => {
      await q.push(specs as JobSpecification[]);
      outstanding += specs.length;
    },
    runLeaf: (start, end) => {
      for (let i = start; i < end; i++) options.runs[i] = (options.runs[i] ?? 0) + 1;
    },
  });
  let duplicates = 0;
  let ran = 0;
  outstanding += 1; // the root, pushed by the caller
  for (;;) {
    const job = await q.pop();
    if (job === null) break;
    if (job.isDuplicate) {
      duplicates++;
    } else {
      ran++;
      await handler.run(job as Job<string>, ctx);
      if (options.release?.(job)) {
        await q.release(job);
        continue;
      }
    }
    await q.ack(job);
    outstanding--;
    maxOutstanding = Math.max(maxOutstanding, outstanding);
    if (maxSize !== null) maxSize = Math.max(maxSize, await q.getSize());
  }
  return { maxOutstanding, maxSize, duplicates, ran };
}

/** Registers the expansion tests. */
export function all(suite: Suite): void {
  const { supports } = suite;
  if (!supports.pop || !supports.ack) return; // push-only backends: the executor runs expansions
  const exactSizes = supports.sizes === 'exact';
  // MediaWiki's bound (N + 1 queued) holds when leaves run before their remainder: fifo.
  const fifo = supports.orders.includes('fifo');
  const order = fifo ? { order: 'fifo' as const } : {};
  suite.describe('progressive expansion', () => {
    suite.test(
      fifo
        ? 'expansion: 100,000 items (N = 20, 500 per leaf) expand with at most N + 1 jobs queued (fifo), and every item runs once'
        : 'expansion: 100,000 items (N = 20, 500 per leaf) expand and every item runs once (no fifo order: the N + 1 bound is a fifo property)',
      async (h) => {
        const q = await h.queue(order);
        const ITEMS = 100_000;
        const N = 20;
        const runs = new Uint8Array(ITEMS);
        await q.push([expansionRoot(h.type, { start: 0, end: ITEMS }, newRootJob(`r:${h.type}`))]);
        const d = await drainExpansion(q, { batchSize: N, leafSize: 500, runs, exactSizes });
        if (fifo) {
          assert.ok(d.maxOutstanding <= N + 1, `at most N + 1 queued, saw ${d.maxOutstanding}`);
          if (d.maxSize !== null) assert.ok(d.maxSize <= N + 1, `getSize() at most N + 1, saw ${d.maxSize}`);
        }
        assert.equal(d.duplicates, 0);
        assert.equal(
          d.ran,
          ITEMS / 500 + Math.ceil(ITEMS / 500 / N),
          'leaves plus remainders (the root is one)',
        );
        const wrong = runs.findIndex((r) => r !== 1);
        assert.equal(wrong, -1, `item ${wrong} ran ${runs[wrong]} times`);
      },
      120_000,
    );

    if (supports.rootJobs) {
      suite.test(
        'expansion: a newer root makes every pending leaf and remainder of the older one a duplicate',
        async (h) => {
          const q = await h.queue(order);
          const ctx = handlerContext(q);
          const handler = expansionHandler({
            batchSize: 10,
            push: (specs) => q.push(specs as JobSpecification[]),
            runLeaf: () => {},
          });
          const key = `k:${h.type}`;
          await q.push([expansionRoot(h.type, { start: 0, end: 100 }, newRootJob(key, 1_000_000))]);
          const first = await q.pop();
          assert.ok(first);
          await handler.run(first as Job<string>, ctx);
          await q.ack(first);
          // 10 leaves and one remainder of the old root are queued; a newer root over 5 items arrives.
          await q.push([expansionRoot(h.type, { start: 0, end: 5 }, newRootJob(key, 2_000_000))]);
          const runs = new Uint8Array(100);
          const d = await drainExpansion(q, { batchSize: 10, leafSize: 1, runs, exactSizes });
          assert.equal(d.duplicates, 11, 'every older leaf and the older remainder');
          assert.equal(d.ran, 1 + 5, 'the new root and its 5 leaves');
          assert.deepEqual([...runs.slice(0, 6)], [1, 1, 1, 1, 1, 0]);
        },
      );
    }

    suite.test(
      'expansion: a remainder whose claim is handed back after it pushed its children loses no item and runs none more than twice',
      async (h) => {
        const q = await h.queue(order);
        const ITEMS = 10_000;
        const runs = new Uint8Array(ITEMS);
        await q.push([expansionRoot(h.type, { start: 0, end: ITEMS }, newRootJob(`c:${h.type}`))]);
        let remainders = 0;
        let released = false;
        const d = await drainExpansion(q, {
          batchSize: 10,
          leafSize: 10,
          runs,
          exactSizes,
          // The sixth remainder "crashes" after pushing its children: its claim goes back, as
          // claim recycling does, and it runs again.
          release: (job) => {
            if ((job.params as { recursive?: unknown }).recursive !== true || released) return false;
            if (++remainders < 6) return false;
            released = true;
            return true;
          },
        });
        assert.ok(released, 'a remainder was handed back');
        const lost = runs.indexOf(0);
        assert.equal(lost, -1, `item ${lost} never ran`);
        const thrice = runs.findIndex((r) => r > 2);
        assert.equal(thrice, -1, `item ${thrice} ran ${runs[thrice]} times`);
        assert.ok(d.ran > 0);
      },
      120_000,
    );
  });
}
