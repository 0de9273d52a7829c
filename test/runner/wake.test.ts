import { randomUUID } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { MemoryJobQueue, MemoryStore } from '../../src/backends/memory/index.js';
import { resolveConfig } from '../../src/container.js';
import { JobQueueFarm } from '../../src/core/farm.js';
import { defineHandlers, silentLogger, waitForAnyJobs } from '../../src/runner/index.js';
import { RunnerService } from '../../src/runner/service.js';
import { parseRunnersSection } from '../../src/runner/service-config.js';
import { describeIfService, services } from '../helpers/env.js';
import { delay } from './helpers.js';

// The idle wait is 60 s and each test's timeout 20 s: a slot that slept its whole idle wait
// instead of being woken by the push fails the test. No assertion is about latency.
const IDLE_WAIT = 60;
const TEST_MS = 20_000;

function recorder() {
  const ran: number[] = [];
  const handlers = defineHandlers({
    t0: { run: (job: { params: unknown }) => void ran.push((job.params as { n: number }).n) },
    t1: { run: (job: { params: unknown }) => void ran.push((job.params as { n: number }).n) },
  });
  return { handlers, ran };
}

/** Starts a service on an empty farm, pushes one job once the slot idles, returns the run's result. */
async function runPushedLater(farm: JobQueueFarm, domain: string) {
  const { handlers, ran } = recorder();
  const service = new RunnerService(farm, {
    handlers,
    logger: silentLogger,
    groups: parseRunnersSection({ basic: { runners: 1 } }),
    idleWait: IDLE_WAIT,
  });
  const stop = new AbortController();
  const running = service.run({ maxJobs: 1, signal: stop.signal });
  try {
    // Give the slot time to find nothing and start its idle wait (a push before that is picked
    // up by the listing: the test would still pass, but would not test the wake).
    await delay(300);
    await farm.group(domain).push({ type: 't1', params: { n: 7 } });
    const result = await running;
    expect(result.reached).toBe('job-limit');
    expect(result.jobs.ok).toBe(1);
    expect(ran).toEqual([7]);
  } finally {
    stop.abort();
    await running.catch(() => {});
    await farm.close();
  }
}

describe('runner idle wait (wake)', () => {
  test(
    'memory: an idle service slot runs a job pushed later without sleeping its idle wait',
    async () => {
      const config = await resolveConfig({
        jobTypeConf: { default: { class: 'memory', store: `wake-${randomUUID()}`, order: 'fifo' } },
        jobTypes: ['t0', 't1'],
        domains: ['d1'],
      });
      await runPushedLater(new JobQueueFarm(config), 'd1');
    },
    TEST_MS,
  );

  test(
    'waitForAnyJobs: true on a push to any queue; false on abort; a plain sleep without wake',
    async () => {
      const store = new MemoryStore();
      const a = new MemoryJobQueue({ type: 'a', store });
      const b = new MemoryJobQueue({ type: 'b', store });
      const waiting = waitForAnyJobs([a, b], IDLE_WAIT * 1000);
      await delay(50);
      await b.push({ type: 'b', params: {} });
      expect(await waiting).toBe(true);
      const stop = new AbortController();
      const aborted = waitForAnyJobs([a], IDLE_WAIT * 1000, stop.signal);
      stop.abort();
      expect(await aborted).toBe(false);
      // No queue to listen on: it waits out the (short) timeout.
      expect(await waitForAnyJobs([], 20)).toBe(false);
      await a.close();
      await b.close();
    },
    TEST_MS,
  );
});

describeIfService(services.redis, 'runner idle wait on redis (wake)', (url) => {
  test(
    'redis: an idle service slot runs a job pushed later without sleeping its idle wait',
    async () => {
      const prefix = `swytest-wake-${process.pid}-${randomUUID().slice(0, 8)}`;
      const config = await resolveConfig({
        connections: { r: { class: 'redis', url, prefix } },
        jobTypeConf: { default: { class: 'redis', connection: 'r', maintenanceInterval: null } },
        jobTypes: ['t0', 't1'],
        domains: ['d1'],
      });
      const farm = new JobQueueFarm(config);
      try {
        await runPushedLater(farm, 'd1');
      } finally {
        // The queues' keys: the job was acked, so only emptied structures could remain.
        const { Redis } = await import('ioredis');
        const c = new Redis(url);
        const keys = await c.keys(`${prefix}:*`);
        if (keys.length > 0) await c.del(...keys);
        await c.quit();
      }
    },
    TEST_MS,
  );
});
