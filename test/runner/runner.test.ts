import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, test, vi } from 'vitest';
import { ManualClock } from '../../src/core/clock.js';
import { ErrorCode, SwitchyardError } from '../../src/core/errors.js';
import type { JobQueueGroup } from '../../src/core/job-queue-group.js';
import {
  backoffDelay,
  defaultThrottleFile,
  defineHandlers,
  HandlerRegistry,
  JobFailedError,
  JobRunner,
  type JobRunnerOptions,
  silentLogger,
  Throttle,
} from '../../src/runner/index.js';
import { delay, memoryGroup } from './helpers.js';

const groups: JobQueueGroup[] = [];
afterEach(async () => {
  for (const g of groups.splice(0)) await g.close();
});

function group(...args: Parameters<typeof memoryGroup>): JobQueueGroup {
  const g = memoryGroup(...args);
  groups.push(g);
  return g;
}

function runner(g: JobQueueGroup, options: JobRunnerOptions): JobRunner {
  return new JobRunner(g, { logger: silentLogger, backoff: { base: 0.01, jitter: 0 }, ...options });
}

async function pushN(g: JobQueueGroup, type: string, n: number): Promise<void> {
  await g.push(Array.from({ length: n }, (_, i) => ({ type, params: { i } })));
}

async function counts(g: JobQueueGroup, type: string) {
  const q = g.get(type);
  return {
    ready: await q.getSize(),
    claimed: await q.getAcquiredCount(),
    delayed: await q.getDelayedCount(),
    abandoned: await q.getAbandonedCount(),
  };
}

describe('limits', () => {
  test('run() stops at maxJobs and leaves the rest queued', async () => {
    const g = group();
    await pushN(g, 'work', 5);
    const ran: number[] = [];
    const r = runner(g, {
      handlers: defineHandlers({ work: { run: (job) => void ran.push(Number(job.params.i)) } }),
    });
    const res = await r.run({ maxJobs: 3 });
    expect(res.reached).toBe('job-limit');
    expect(res.jobs.map((j) => j.status)).toEqual(['ok', 'ok', 'ok']);
    expect(ran).toEqual([0, 1, 2]);
    expect(await counts(g, 'work')).toEqual({ ready: 2, claimed: 0, delayed: 0, abandoned: 0 });
  });

  test('run() stops popping at maxTime', async () => {
    const g = group();
    await pushN(g, 'work', 10);
    const clock = new ManualClock(1_000_000);
    const r = runner(g, {
      clock,
      handlers: defineHandlers({ work: { run: () => clock.advance(1000) } }),
    });
    const res = await r.run({ maxTime: 2.5 });
    expect(res.reached).toBe('time-limit');
    expect(res.jobs).toHaveLength(3);
    expect(await g.get('work').getSize()).toBe(7);
  });

  test('run() returns none-ready on an empty group', async () => {
    const g = group();
    const res = await runner(g, { handlers: new HandlerRegistry() }).run({ maxJobs: 5 });
    expect(res).toEqual({ jobs: [], reached: 'none-ready' });
  });

  test('run() stops at the memory limit between jobs', async () => {
    const g = group();
    await pushN(g, 'work', 5);
    let rss = 10;
    const r = runner(g, {
      memoryLimitMB: 50,
      memoryUsageMB: () => rss,
      handlers: defineHandlers({
        work: {
          run: () => {
            rss += 25;
          },
        },
      }),
    });
    const res = await r.run();
    expect(res.reached).toBe('memory-limit');
    expect(res.jobs).toHaveLength(2);
    expect(await g.get('work').getSize()).toBe(3);
  });

  test('run() stops with read-only when the group is read-only', async () => {
    const g = group({}, { readOnlyReason: 'maintenance', jobTypes: ['work'] });
    const res = await runner(g, { handlers: new HandlerRegistry() }).run({ type: 'work' });
    expect(res.reached).toBe('read-only');
  });
});

describe('failures', () => {
  test('a failing job is released with exponential backoff, then abandoned after maxTries', async () => {
    const g = group({ maxTries: 3 });
    await pushN(g, 'flaky', 1);
    const queue = g.get('flaky');
    const release = vi.spyOn(queue, 'release');
    const attempts: number[] = [];
    const r = runner(g, {
      backoff: { base: 0.01, factor: 2, jitter: 0 },
      handlers: defineHandlers({
        flaky: {
          run: (job) => {
            attempts.push(job.attempts);
            throw new Error('boom');
          },
        },
      }),
    });
    const statuses: string[] = [];
    for (let i = 0; i < 20 && (await queue.getAbandonedCount()) === 0; i++) {
      const res = await r.run({ type: 'flaky' });
      statuses.push(...res.jobs.map((j) => j.status));
      await delay(30);
    }
    expect(attempts).toEqual([1, 2, 3]);
    expect(statuses).toEqual(['retried', 'retried', 'abandoned']);
    expect(release.mock.calls.map((c) => c[1]?.delay)).toEqual([0.01, 0.02, 0.04]);
    expect(await counts(g, 'flaky')).toEqual({ ready: 0, claimed: 0, delayed: 0, abandoned: 1 });
  });

  test('backoffDelay() grows by factor, caps at max and stays within jitter', () => {
    const b = { base: 5, factor: 2, max: 60, jitter: 0.2 };
    expect(backoffDelay(1, b, () => 0.5)).toBe(5);
    expect(backoffDelay(3, b, () => 0.5)).toBe(20);
    expect(backoffDelay(10, b, () => 0.5)).toBe(60);
    expect(backoffDelay(1, b, () => 0)).toBeCloseTo(4);
    expect(backoffDelay(1, b, () => 0.999999)).toBeCloseTo(6);
  });

  test('allowRetries: false acks a failed job once', async () => {
    const g = group();
    await pushN(g, 'once', 1);
    let runs = 0;
    const r = runner(g, {
      handlers: defineHandlers({
        once: {
          allowRetries: false,
          run: () => {
            runs++;
            throw new Error('nope');
          },
        },
      }),
    });
    const res = await r.run();
    expect(res.jobs.map((j) => [j.status, j.error])).toEqual([['failed', 'nope']]);
    expect(runs).toBe(1);
    expect(await counts(g, 'once')).toEqual({ ready: 0, claimed: 0, delayed: 0, abandoned: 0 });
  });

  test('JobFailedError({ retry: false }) acks a failed job once', async () => {
    const g = group();
    await pushN(g, 'once', 1);
    let runs = 0;
    const r = runner(g, {
      handlers: defineHandlers({
        once: {
          run: () => {
            runs++;
            throw new JobFailedError('gone', { retry: false });
          },
        },
      }),
    });
    const res = await r.run();
    expect(res.jobs.map((j) => j.status)).toEqual(['failed']);
    expect(runs).toBe(1);
    expect(await counts(g, 'once')).toEqual({ ready: 0, claimed: 0, delayed: 0, abandoned: 0 });
  });

  test('a type with no handler is none-possible: its jobs are never popped, no try is burnt', async () => {
    const g = group();
    await pushN(g, 'orphan', 3);
    const none = new HandlerRegistry();
    expect(await runner(g, { handlers: none }).run()).toEqual({ jobs: [], reached: 'none-possible' });
    expect(await runner(g, { handlers: none }).run({ type: 'orphan' })).toEqual({
      jobs: [],
      reached: 'none-possible',
    });
    expect(await counts(g, 'orphan')).toEqual({ ready: 3, claimed: 0, delayed: 0, abandoned: 0 });
    const job = await g.get('orphan').pop();
    expect(job?.attempts).toBe(1);
  });

  test('handler-less types are skipped while handled ones run', async () => {
    const g = group();
    await pushN(g, 'orphan', 2);
    await pushN(g, 'once', 2);
    let runs = 0;
    const handlers = new HandlerRegistry().register('once', { run: () => void runs++ });
    const res = await runner(g, { handlers }).run();
    expect(res.reached).toBe('none-ready');
    expect(runs).toBe(2);
    expect(await counts(g, 'orphan')).toEqual({ ready: 2, claimed: 0, delayed: 0, abandoned: 0 });
  });

  test('a handler timeout aborts its signal and counts as a failure', async () => {
    const g = group();
    await pushN(g, 'slow', 1);
    let sawAbort = false;
    const r = runner(g, {
      handlers: defineHandlers({
        slow: {
          timeout: 0.05,
          run: (_job, { signal }) =>
            new Promise<void>((resolve) => {
              signal.addEventListener('abort', () => {
                sawAbort = true;
                resolve();
              });
            }),
        },
      }),
    });
    const res = await r.run();
    expect(sawAbort).toBe(true);
    expect(res.jobs[0]?.status).toBe('timeout');
    expect(res.jobs[0]?.error).toMatch(/timed out/);
    const c = await counts(g, 'slow');
    expect(c.claimed).toBe(0);
    expect(c.ready + c.delayed).toBe(1);
  });

  test('a connection error on pop is retried with backoff', async () => {
    const g = group();
    await pushN(g, 'work', 1);
    const pop = vi.spyOn(g, 'pop');
    const lost = new SwitchyardError(ErrorCode.CONNECTION_LOST, 'down');
    pop.mockRejectedValueOnce(lost).mockRejectedValueOnce(lost);
    const r = runner(g, {
      errorBackoff: { base: 0.005 },
      handlers: defineHandlers({ work: { run: () => {} } }),
    });
    const res = await r.run({ maxTime: 5 });
    expect(res.jobs.map((j) => j.status)).toEqual(['ok']);
    expect(pop.mock.calls.length).toBeGreaterThanOrEqual(3);
  });
});

describe('duplicates, claims, concurrency', () => {
  test('superseded root-job duplicates are acked without running', async () => {
    const g = group();
    await g.push({ type: 'refresh', params: { page: 1 }, rootJob: { signature: 'sig', timestamp: 1000 } });
    await g.push({
      type: 'refresh',
      params: { page: 2 },
      rootJob: { signature: 'sig', timestamp: 2000, isSelf: true },
    });
    const ran: number[] = [];
    const r = runner(g, {
      handlers: defineHandlers({ refresh: { run: (job) => void ran.push(Number(job.params.page)) } }),
    });
    const res = await r.run();
    expect(res.jobs.map((j) => j.status).sort()).toEqual(['duplicate', 'ok']);
    expect(ran).toEqual([2]);
    expect(await counts(g, 'refresh')).toEqual({ ready: 0, claimed: 0, delayed: 0, abandoned: 0 });
  });

  test('a job longer than claimTTL keeps its claim (renewed every claimTTL/2)', async () => {
    const g = group({ claimTTL: 1 });
    await pushN(g, 'long', 1);
    const queue = g.get('long');
    const extend = vi.spyOn(queue, 'extendClaim');
    let recycled = -1;
    const r = runner(g, {
      handlers: defineHandlers({
        long: {
          run: async () => {
            await delay(1200);
            recycled = (await queue.runMaintenance()).recycled;
            await delay(300);
          },
        },
      }),
    });
    const res = await r.run();
    expect(res.jobs.map((j) => j.status)).toEqual(['ok']);
    expect(recycled).toBe(0);
    expect(extend).toHaveBeenCalled();
    expect(await counts(g, 'long')).toEqual({ ready: 0, claimed: 0, delayed: 0, abandoned: 0 });
  });

  test('concurrency is never exceeded', async () => {
    const g = group();
    await pushN(g, 'work', 20);
    let now = 0;
    let peak = 0;
    const r = runner(g, {
      handlers: defineHandlers({
        work: {
          run: async () => {
            now++;
            peak = Math.max(peak, now);
            await delay(5);
            now--;
          },
        },
      }),
    });
    const res = await r.run({ concurrency: 4, batchSize: 3 });
    expect(res.jobs).toHaveLength(20);
    expect(res.jobs.every((j) => j.status === 'ok')).toBe(true);
    expect(peak).toBe(4);
    expect(await g.get('work').getSize()).toBe(0);
  });

  test('a single-type run pops in batches', async () => {
    const g = group();
    await pushN(g, 'work', 6);
    const popBatch = vi.spyOn(g.get('work'), 'popBatch');
    const r = runner(g, { handlers: defineHandlers({ work: { run: () => {} } }) });
    const res = await r.run({ type: 'work', concurrency: 3 });
    expect(res.jobs).toHaveLength(6);
    expect(popBatch.mock.calls[0]?.[0]).toBe(3);
  });
});

describe('graceful stop', () => {
  test('aborting mid-batch loses no job: each is acked or back in the queue', async () => {
    const g = group();
    await pushN(g, 'work', 12);
    const controller = new AbortController();
    let started = 0;
    const acked: string[] = [];
    const r = runner(g, {
      gracePeriod: 0.05,
      handlers: defineHandlers({
        work: {
          run: async (job) => {
            started++;
            if (started === 3) controller.abort();
            // Odd jobs ignore the signal and outlive the grace period.
            await delay(Number(job.params.i) % 2 === 0 ? 5 : 200);
            acked.push(job.id);
          },
        },
      }),
    });
    const res = await r.run({ concurrency: 4, signal: controller.signal });
    expect(res.reached).toBe('stopped');
    const ok = res.jobs.filter((j) => j.status === 'ok').length;
    const c = await counts(g, 'work');
    expect(c.claimed).toBe(0);
    expect(ok + c.ready + c.delayed).toBe(12);
    expect(res.jobs.some((j) => j.status === 'retried')).toBe(true);
  });
});

describe('throttling', () => {
  test('Throttle holds a type to its rate (counted over a window)', () => {
    const clock = new ManualClock(0);
    const t = new Throttle({ slow: 5 }, clock);
    let allowed = 0;
    for (let step = 0; step < 100; step++) {
      // 100 steps of 100 ms = a 10 s window; try 3 jobs a step.
      for (let k = 0; k < 3; k++) {
        if (!t.isThrottled('slow')) {
          t.consume('slow', 1);
          allowed++;
        }
      }
      clock.advance(100);
    }
    expect(allowed).toBeGreaterThanOrEqual(50);
    expect(allowed).toBeLessThanOrEqual(5 + 50);
    expect(t.isThrottled('other')).toBe(false);
  });

  test('the runner skips a throttled type and keeps it to its rate', async () => {
    const g = group();
    await pushN(g, 'slow', 40);
    await pushN(g, 'fast', 40);
    const clock = new ManualClock(0);
    const ran = { slow: 0, fast: 0 };
    const r = runner(g, {
      clock,
      throttle: { slow: 2 },
      handlers: defineHandlers({
        slow: { run: () => void ran.slow++ },
        fast: {
          run: () => {
            ran.fast++;
            clock.advance(100);
          },
        },
      }),
    });
    const res = await r.run({ maxJobs: 40 });
    const seconds = clock.now() / 1000;
    expect(res.jobs).toHaveLength(40);
    // Budget: a full bucket (2) plus 2 per elapsed second.
    expect(ran.slow).toBeLessThanOrEqual(2 + 2 * seconds + 1);
    expect(ran.slow).toBeGreaterThanOrEqual(2);
    expect(ran.fast).toBeGreaterThan(ran.slow);
  });

  test('Throttles sharing a file hold the combined rate across instances (per-host sharing)', () => {
    const clock = new ManualClock(0);
    const file = join(tmpdir(), `switchyard-throttle-test-${randomUUID()}.json`);
    try {
      const a = new Throttle({ slow: 5 }, { clock, file });
      const b = new Throttle({ slow: 5 }, { clock, file });
      let allowed = 0;
      for (let step = 0; step < 50; step++) {
        for (const t of [a, b, a, b]) {
          if (!t.isThrottled('slow')) {
            t.consume('slow', 1);
            allowed++;
          }
        }
        clock.advance(100);
      }
      // 5 s window at 5 items/s, plus the initial bucket of 5.
      expect(allowed).toBeGreaterThanOrEqual(25);
      expect(allowed).toBeLessThanOrEqual(5 + 25);
      expect(defaultThrottleFile('x y')).toBe(join(tmpdir(), 'switchyard-throttle-x_y.json'));
    } finally {
      rmSync(file, { force: true });
    }
  });

  test('workItemCount spends several work items per job', () => {
    const clock = new ManualClock(0);
    const t = new Throttle({ batchy: 10 }, clock);
    t.consume('batchy', 25);
    expect(t.isThrottled('batchy')).toBe(true);
    expect(t.waitMs('batchy')).toBe(1600);
    clock.advance(1600);
    expect(t.isThrottled('batchy')).toBe(false);
  });
});

describe('handlers registry', () => {
  test('register() validates its arguments', () => {
    const reg = new HandlerRegistry();
    expect(() => reg.register('', { run: () => {} })).toThrow(TypeError);
    expect(() => reg.register('x', { run: () => {}, timeout: 0 })).toThrow(TypeError);
    expect(() => reg.register('x', { run: () => {}, maxTries: 0 })).toThrow(TypeError);
    reg.register('x', { run: () => {} });
    expect(reg.types()).toEqual(['x']);
  });
});
