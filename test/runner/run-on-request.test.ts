import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, test } from 'vitest';
import type { JobQueueGroup } from '../../src/core/job-queue-group.js';
import { defineHandlers, silentLogger } from '../../src/runner/handlers.js';
import { jobRunMiddleware, jobsForRate, runJobsOnRequest } from '../../src/runner/run-on-request.js';
import type { RunResult } from '../../src/runner/runner.js';
import { delay, memoryGroup } from './helpers.js';

const groups: JobQueueGroup[] = [];
const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
  await Promise.all(groups.splice(0).map((g) => g.close()));
});

function group(): JobQueueGroup {
  const g = memoryGroup({}, { jobTypes: ['work'] });
  groups.push(g);
  return g;
}

async function listen(server: Server): Promise<string> {
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
}

/** A promise and its resolver. */
function deferred<T = void>(): { promise: Promise<T>; resolve: (v: T) => void } {
  let resolve: (v: T) => void = () => {};
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

describe('jobsForRate', () => {
  test('floor(rate) plus one with probability frac(rate)', () => {
    expect(jobsForRate(0, () => 0)).toBe(0);
    expect(jobsForRate(2, () => 0)).toBe(2);
    expect(jobsForRate(0.5, () => 0.49)).toBe(1);
    expect(jobsForRate(0.5, () => 0.5)).toBe(0);
    expect(jobsForRate(1.25, () => 0.1)).toBe(2);
    expect(jobsForRate(1.25, () => 0.9)).toBe(1);
  });

  test('rejects a bad rate', () => {
    const g = group();
    expect(() => runJobsOnRequest(g, defineHandlers({}), { rate: -1 })).toThrow(TypeError);
    expect(() => runJobsOnRequest(g, defineHandlers({}), { rate: Number.NaN })).toThrow(TypeError);
  });
});

describe('jobRunMiddleware on node:http', () => {
  test('the response arrives before the job finishes; then the job is acked', async () => {
    const g = group();
    await g.push({ type: 'work', params: { n: 1 } });
    const started = deferred();
    const gate = deferred();
    const done = deferred<RunResult>();
    const handlers = defineHandlers({
      work: {
        run: async () => {
          started.resolve();
          await gate.promise;
        },
      },
    });
    const mw = jobRunMiddleware(g, handlers, { rate: 1, logger: silentLogger, onRun: done.resolve });
    const url = await listen(
      createServer((req, res) => {
        mw(req, res, () => {
          res.end('ok');
        });
      }),
    );

    const res = await fetch(url);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('ok');
    // the response is complete while the handler is still blocked on the gate
    await started.promise;
    expect(await g.get('work').getAcquiredCount()).toBe(1);
    gate.resolve();
    const result = await done.promise;
    expect(result.jobs.map((j) => j.status)).toEqual(['ok']);
    expect(await g.get('work').getSize()).toBe(0);
    expect(await g.get('work').getAcquiredCount()).toBe(0);
  });

  test('fractional rate 0.5 runs 0 or 1 jobs according to random', async () => {
    const g = group();
    await g.push([
      { type: 'work', params: { n: 1 } },
      { type: 'work', params: { n: 2 } },
      { type: 'work', params: { n: 3 } },
    ]);
    const ran: number[] = [];
    const randoms = [0.9, 0.1, 0.7];
    const runs: RunResult[] = [];
    const afterResponse = runJobsOnRequest(
      g,
      defineHandlers({ work: { run: (job) => void ran.push(Number(job.params.n)) } }),
      {
        rate: 0.5,
        logger: silentLogger,
        random: () => randoms.shift() ?? 0.99,
        onRun: (r) => runs.push(r),
      },
    );
    const url = await listen(
      createServer((_req, res) => {
        afterResponse(res);
        res.end('ok');
      }),
    );
    for (let i = 0; i < 3; i++) await (await fetch(url)).text();
    for (let i = 0; i < 50 && runs.length < 1; i++) await delay(10);
    await delay(30);
    expect(runs).toHaveLength(1);
    expect(ran).toEqual([1]);
    expect(await g.get('work').getSize()).toBe(2);
  });

  test('a failing run is logged, never thrown', async () => {
    const g = group();
    await g.push({ type: 'work', params: {} });
    const errors: unknown[] = [];
    const afterResponse = runJobsOnRequest(g, defineHandlers({}), {
      rate: 1,
      logger: silentLogger,
      onError: (e) => errors.push(e),
    });
    await g.close();
    const url = await listen(
      createServer((_req, res) => {
        afterResponse(res);
        res.end('ok');
      }),
    );
    expect(await (await fetch(url)).text()).toBe('ok');
    for (let i = 0; i < 50 && errors.length < 1; i++) await delay(10);
    expect(errors).toHaveLength(1);
  });
});
