/**
 * Cancelling a job while a runner runs it (issue 17 point 4): the handler's signal aborts with
 * JobCancelledError within the runner's claim check, the record says `cancelled`, the job is
 * neither acked nor retried, and the other jobs run as usual. A claim check failing is logged and
 * tried again; `cancelCheck: 0` turns the checks off.
 */
import { afterEach, describe, expect, test } from 'vitest';
import type { JobQueueGroup } from '../../src/core/job-queue-group.js';
import { ClaimWatch } from '../../src/runner/claim-watch.js';
import {
  defineHandlers,
  JobCancelledError,
  JobRunner,
  type JobRunnerOptions,
  silentLogger,
} from '../../src/runner/index.js';
import { delay, memoryGroup } from './helpers.js';

const groups: JobQueueGroup[] = [];
afterEach(async () => {
  for (const g of groups.splice(0)) await g.close();
});

function group(): JobQueueGroup {
  const g = memoryGroup({ claimTTL: 60, maxTries: 3 });
  groups.push(g);
  return g;
}

function runner(g: JobQueueGroup, options: JobRunnerOptions): JobRunner {
  return new JobRunner(g, { logger: silentLogger, backoff: { base: 0.01, jitter: 0 }, ...options });
}

describe('cancelling a running job', () => {
  test("the handler's signal aborts with JobCancelledError; the job is recorded cancelled, not retried", async () => {
    const g = group();
    await g.push([
      { type: 'work', params: { i: 0, slow: true } },
      { type: 'work', params: { i: 1 } },
    ]);
    const queue = g.get('work');
    let started: ((id: string) => void) | null = null;
    const slowStarted = new Promise<string>((r) => {
      started = r;
    });
    const reasons: unknown[] = [];
    const ran: number[] = [];
    const handlers = defineHandlers({
      work: {
        run: async (job, ctx) => {
          if (job.params.slow !== true) {
            ran.push(Number(job.params.i));
            return;
          }
          started?.(job.id);
          await new Promise<void>((resolve) => {
            ctx.signal.addEventListener('abort', () => {
              reasons.push(ctx.signal.reason);
              resolve();
            });
          });
        },
      },
    });
    const running = runner(g, { handlers, cancelCheck: 0.05 }).run({ type: 'work', concurrency: 2 });
    const id = await slowStarted;
    const t0 = performance.now();
    expect(await queue.cancel(id)).toBe('claimed');
    const result = await running;
    expect(performance.now() - t0).toBeLessThan(2_000);
    expect(reasons).toHaveLength(1);
    expect(reasons[0]).toBeInstanceOf(JobCancelledError);
    expect((reasons[0] as JobCancelledError).jobId).toBe(id);
    const byId = new Map(result.jobs.map((r) => [r.id, r]));
    expect(byId.get(id)?.status).toBe('cancelled');
    expect(ran).toEqual([1]);
    expect([...byId.values()].filter((r) => r.status === 'ok')).toHaveLength(1);
    // Gone for good: not claimed, not back in the queue after claimTTL, not abandoned.
    expect(await queue.getAcquiredCount()).toBe(0);
    expect(await queue.getSize()).toBe(0);
    expect(await queue.getAbandonedCount()).toBe(0);
  });

  test('a job cancelled before a runner pops it never runs', async () => {
    const g = group();
    await g.push([
      { type: 'work', params: { i: 0 } },
      { type: 'work', params: { i: 1 } },
    ]);
    const queue = g.get('work');
    let first: string | undefined;
    for await (const job of queue.list('ready')) {
      first = job.id;
      break;
    }
    expect(await queue.cancel(first as string)).toBe('ready');
    const ran: number[] = [];
    const handlers = defineHandlers({ work: { run: (job) => void ran.push(Number(job.params.i)) } });
    const result = await runner(g, { handlers }).run({ type: 'work' });
    expect(ran).toEqual([1]);
    expect(result.jobs.map((r) => r.status)).toEqual(['ok']);
  });

  test('cancelCheck must be seconds ≥ 0', () => {
    const g = group();
    const handlers = defineHandlers({ work: { run: () => {} } });
    expect(() => runner(g, { handlers, cancelCheck: -1 })).toThrow(TypeError);
    expect(() => runner(g, { handlers, cancelCheck: Number.NaN })).toThrow(/cancelCheck/);
  });

  test('with cancelCheck 0 nothing is checked: a cancelled running job runs on, its ack is stale', async () => {
    const g = group();
    await g.push({ type: 'work', params: { i: 0 } });
    const queue = g.get('work');
    let release: (() => void) | null = null;
    let aborted = false;
    const handlers = defineHandlers({
      work: {
        run: async (job, ctx) => {
          ctx.signal.addEventListener('abort', () => {
            aborted = true;
          });
          expect(await queue.cancel(job.id)).toBe('claimed');
          await new Promise<void>((r) => {
            release = r;
            setTimeout(r, 150);
          });
        },
      },
    });
    const result = await runner(g, { handlers, cancelCheck: 0 }).run({ type: 'work' });
    expect(release).not.toBeNull();
    expect(aborted).toBe(false);
    expect(result.jobs.map((r) => r.status)).toEqual(['ok']);
    expect(await queue.getAcquiredCount()).toBe(0);
  });
});

describe('ClaimWatch', () => {
  test('one claimsHeld call per queue per tick; a failing check is reported and retried', async () => {
    const g = group();
    await g.push([
      { type: 'work', params: { i: 0 } },
      { type: 'work', params: { i: 1 } },
    ]);
    const queue = g.get('work');
    const a = await queue.pop();
    const b = await queue.pop();
    if (a === null || b === null) throw new Error('no jobs');
    let calls = 0;
    let fail = true;
    const errors: unknown[] = [];
    const proxy = new Proxy(queue, {
      get(target, prop, receiver) {
        if (prop === 'claimsHeld') {
          return (refs: Parameters<typeof queue.claimsHeld>[0]) => {
            calls++;
            if (fail) {
              fail = false;
              return Promise.reject(new Error('store down'));
            }
            return target.claimsHeld(refs);
          };
        }
        return Reflect.get(target, prop, receiver);
      },
    });
    const watch = new ClaimWatch(20, (e) => errors.push(e));
    const lost: string[] = [];
    const stopA = watch.watch(proxy, a, () => lost.push(a.id));
    const stopB = watch.watch(proxy, b, () => lost.push(b.id));
    await queue.cancel(b.id);
    for (let i = 0; i < 100 && lost.length === 0; i++) await delay(10);
    expect(lost).toEqual([b.id]);
    expect(errors).toHaveLength(1);
    expect(watch.size).toBe(1);
    const before = calls;
    await delay(60);
    expect(calls).toBeGreaterThan(before); // a still watches
    stopA();
    stopB();
    expect(watch.size).toBe(0);
    const after = calls;
    await delay(60);
    expect(calls).toBe(after); // no timer once nothing is watched
  });
});
