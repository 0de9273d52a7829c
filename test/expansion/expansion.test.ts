import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { MemoryJobQueue, MemoryStore } from '../../src/backends/memory/index.js';
import { SqlDatabase, SqlJobQueue } from '../../src/backends/sql/index.js';
import { dedupKey, newRootJob } from '../../src/core/job.js';
import type { JobQueue } from '../../src/core/job-queue.js';
import { expansionHandler, expansionRoot, partitionExpansion } from '../../src/expansion/index.js';
import type { HandlerContext } from '../../src/runner/handlers.js';
import { silentLogger } from '../../src/runner/handlers.js';

const ctx: HandlerContext = { domain: 'default', signal: new AbortController().signal, logger: silentLogger };

interface Drained {
  maxQueued: number;
  duplicates: number;
  jobs: number;
}

/** Pops and runs until empty, measuring the queue size after every step. */
async function drain(
  queue: JobQueue<string>,
  run: (job: Awaited<ReturnType<JobQueue<string>['pop']>>) => Promise<void>,
): Promise<Drained> {
  let maxQueued = await queue.getSize();
  let duplicates = 0;
  let jobs = 0;
  for (;;) {
    const job = await queue.pop();
    if (!job) break;
    jobs++;
    if (job.isDuplicate) duplicates++;
    else await run(job);
    await queue.ack(job);
    maxQueued = Math.max(maxQueued, await queue.getSize());
  }
  return { maxQueued, duplicates, jobs };
}

const database = SqlDatabase.open({
  filename: join(mkdtempSync(join(tmpdir(), 'switchyard-expand-')), 'x.sqlite'),
});

const backends: [string, (type: string) => JobQueue<string>][] = [
  ['memory', (type) => new MemoryJobQueue({ type, order: 'fifo', store: new MemoryStore(randomUUID()) })],
  ['sqlite', (type) => new SqlJobQueue({ type, order: 'fifo', database })],
];

for (const [name, make] of backends) {
  describe(`expansion on ${name}`, () => {
    const ITEMS = 1_000_000;
    const N = name === 'memory' ? 100 : 20;
    const LEAF = name === 'memory' ? 100 : 1000;

    test(`${ITEMS} items expand with at most N+1 queued`, { timeout: 120_000 }, async () => {
      const type = `expand-${randomUUID()}`;
      const queue = make(type);
      const runs = new Uint8Array(ITEMS);
      const handler = expansionHandler({
        batchSize: N,
        leafSize: LEAF,
        push: (specs) => queue.push(specs),
        runLeaf: (s, e) => {
          for (let i = s; i < e; i++) runs[i] = (runs[i] ?? 0) + 1;
        },
      });
      await queue.push(expansionRoot(type, { start: 0, end: ITEMS }, newRootJob(`root:${type}`)));
      const d = await drain(queue, (job) => Promise.resolve(handler.run(job as never, ctx)));
      console.log(`${name}: ${ITEMS} items, N=${N}, leaf=${LEAF}: ${d.jobs} jobs, max queued ${d.maxQueued}`);
      expect(d.maxQueued).toBeLessThanOrEqual(N + 1);
      expect(runs.every((r) => r === 1)).toBe(true);
      await queue.close();
    });

    test('a newer root makes every older leaf ack as duplicate', async () => {
      const type = `expand-${randomUUID()}`;
      const queue = make(type);
      const handler = expansionHandler({
        batchSize: 10,
        push: (specs) => queue.push(specs),
        runLeaf: () => {},
      });
      await queue.push(expansionRoot(type, { start: 0, end: 100 }, newRootJob(`k:${type}`, 1000)));
      const first = await queue.pop();
      await handler.run(first as never, ctx);
      await queue.ack(first as never);
      expect(await queue.getSize()).toBe(11); // 10 leaves + 1 remainder of the old root
      await queue.push(expansionRoot(type, { start: 0, end: 5 }, newRootJob(`k:${type}`, 2000)));
      let ran = 0;
      const d = await drain(queue, async (job) => {
        ran++;
        await handler.run(job as never, ctx);
      });
      console.log(`${name}: newer root: ${d.duplicates} old jobs acked as duplicate, ${ran} run`);
      expect(d.duplicates).toBe(11);
      expect(ran).toBe(1 + 5); // new root + its 5 leaves
      await queue.close();
    });

    test('a crash between pushing children and acking the parent loses no item', async () => {
      const type = `expand-${randomUUID()}`;
      const queue = make(type);
      const ITEMS2 = 10_000;
      const runs = new Uint8Array(ITEMS2);
      const handler = expansionHandler({
        batchSize: 10,
        leafSize: 10,
        push: (specs) => queue.push(specs),
        runLeaf: (s, e) => {
          for (let i = s; i < e; i++) runs[i] = (runs[i] ?? 0) + 1;
        },
      });
      await queue.push(expansionRoot(type, { start: 0, end: ITEMS2 }, newRootJob(`c:${type}`)));
      let remainders = 0;
      let crashed = false;
      for (;;) {
        const job = await queue.pop();
        if (!job) break;
        if (job.isDuplicate) {
          await queue.ack(job);
          continue;
        }
        await handler.run(job as never, ctx);
        if ((job.params as { recursive: boolean }).recursive && ++remainders === 6 && !crashed) {
          // Crash: children pushed, parent never acked; its claim is handed back (as recycling does).
          crashed = true;
          await queue.release(job);
          continue;
        }
        await queue.ack(job);
      }
      const twice = runs.filter((r) => r === 2).length;
      console.log(
        `${name}: crash: ${runs.filter((r) => r >= 1).length}/${ITEMS2} ran ≥1, ${twice} ran twice`,
      );
      expect(crashed).toBe(true);
      expect(runs.every((r) => r >= 1)).toBe(true);
      expect(runs.every((r) => r <= 2)).toBe(true);
      // Known limit (docs/expansion.md): a retried remainder whose own remainder already ran
      // re-expands the rest of its range once more; leaves still queued are collapsed by dedup.
      // sqlite puts the released parent back at the head (fifo by enqueue time): its re-push
      // collapses into the still-queued children, 0 duplicates. memory requeues it at the tail,
      // after its remainder ran: the rest of the range (all but the first 5 batches) runs twice.
      expect(twice).toBe(name === 'sqlite' ? 0 : runs.length - 5 * 100);
      await queue.close();
    });
  });
}

test('a newer root of the same key gets leaves with other dedup keys; a retried parent the same ones', () => {
  const job = (timestamp: number) => ({
    type: 't',
    domain: 'd',
    params: { rangeStart: 0, rangeEnd: 5, recursive: true },
    rootJob: { signature: 'same-key', timestamp },
  });
  const keys = (timestamp: number) =>
    partitionExpansion(job(timestamp) as never, 10).map((s) => dedupKey('d', 't', s.params));
  // Same key, later timestamp: no leaf may collapse into a still-queued leaf of the older root
  // (which would then pop as a duplicate, and its item never run: seen with random order).
  const older = keys(1000);
  const newer = keys(2000);
  expect(newer.filter((k) => older.includes(k))).toEqual([]);
  // The same root again (a retried parent): identical keys, so the queue collapses them.
  expect(keys(1000)).toEqual(older);
});
