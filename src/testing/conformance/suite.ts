/**
 * The plumbing every conformance file shares: the options a backend passes in, the per-test
 * harness (random domain and type, a ManualClock, queues that are closed after the test) and the
 * small assertion helpers. No test runner is imported: the runner is injected (STYLE 5).
 *
 * @packageDocumentation
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { type Clock, ManualClock } from '../../core/clock.js';
import { ErrorCode } from '../../core/errors.js';
import type { Job, JobSpecification, JobState, JsonObject, ListedJob } from '../../core/job.js';
import type { JobQueue } from '../../core/job-queue.js';
import type { MetricsSink } from '../../core/metrics.js';
import type { ConfiguredQueueOptions } from '../../core/queue-options.js';
import type { Supports } from '../../core/supports.js';

/**
 * What the suite asks the backend's factory for: one queue handle, with any of the configurable
 * queue options ({@link ConfiguredQueueOptions}). Durations in seconds.
 */
export interface ConformanceQueueOptions extends ConfiguredQueueOptions {
  /** The job type; random per test. */
  type: string;
  /** The domain; random per test. */
  domain: string;
  /** Always a {@link ManualClock}: the suite moves time, it never sleeps. */
  clock: Clock;
  /** The suite passes `null` unless a test is about opportunistic maintenance. */
  maintenanceInterval?: number | null;
  metrics?: MetricsSink;
}

/** A lifecycle hook registrar, as vitest's / mocha's `beforeAll` and `afterAll`. */
export type HookRegistrar = (fn: () => Promise<void> | void, timeout?: number) => void;

/** Per-run knobs of the concurrency tests (P-7). */
export interface ConcurrencyKnobs {
  /** Concurrent poppers. Default 32. */
  readonly poppers?: number;
  /** Handles on the same stored queue the poppers share (think: processes). Default 2. */
  readonly handles?: number;
  /** Jobs to drain. Default 2000. */
  readonly jobs?: number;
  /** Timeout of each concurrency test, ms. Default 120000. */
  readonly timeout?: number;
}

/** Options of {@link runBackendConformance}. */
export interface ConformanceOptions {
  /** The backend's name in test titles, e.g. `memory`. */
  readonly name: string;
  /**
   * The backend's capability manifest. The suite registers tests synchronously, so it reads the
   * manifest from here (and checks that every queue the factory makes reports an equal one).
   */
  readonly supports: Supports;
  /** The test runner's `describe`. */
  readonly describe: (name: string, fn: () => void) => void;
  /** The test runner's `test` / `it`; `timeout` is in milliseconds. */
  readonly test: (name: string, fn: () => Promise<void> | void, timeout?: number) => void;
  /** The runner's `beforeAll`; needed only with {@link ConformanceOptions.setup}. */
  readonly beforeAll?: HookRegistrar;
  /** The runner's `afterAll`; needed only with {@link ConformanceOptions.teardown}. */
  readonly afterAll?: HookRegistrar;
  /**
   * A queue for (domain, type) on the backend's shared test store. Two calls with the same
   * domain and type must return two handles on the SAME stored queue (the suite uses that for
   * multi-handle concurrency and fencing tests); different (domain, type) pairs are isolated.
   * Every handle the suite opens, it closes.
   */
  readonly factory: (options: ConformanceQueueOptions) => Promise<JobQueue> | JobQueue;
  /** Runs once before the suite (start a container, migrate a schema…). */
  readonly setup?: () => Promise<void>;
  /** Runs once after the suite (drop the schema, close the shared connection…). */
  readonly teardown?: () => Promise<void>;
  /** Knobs of the P-7 concurrency tests. */
  readonly concurrency?: ConcurrencyKnobs;
  /** Timeout of ordinary tests, ms. Default: the runner's. */
  readonly timeout?: number;
}

/** Overrides of the harness's default queue options (same domain, type and clock). */
export type QueueOverrides = Partial<ConformanceQueueOptions>;

/** The start of every test's ManualClock: a whole second, near the wall clock. */
function startTime(): number {
  return Math.floor(Date.now() / 1000) * 1000;
}

/** A random name safe as a domain, type, key part or table suffix. */
export function randomName(prefix: string): string {
  return `${prefix}_${randomUUID().replaceAll('-', '').slice(0, 10)}`;
}

/**
 * One test's world: a random domain and type, a ManualClock, and every queue handle the test
 * opened (closed when the test ends, pass or fail).
 */
export class Harness {
  readonly domain = randomName('d');
  readonly type = randomName('t');
  readonly clock = new ManualClock(startTime());
  readonly #factory: ConformanceOptions['factory'];
  readonly #queues: JobQueue[] = [];

  constructor(factory: ConformanceOptions['factory']) {
    this.#factory = factory;
  }

  /** Calls the factory with exactly these options and tracks the handle. */
  async open(options: ConformanceQueueOptions): Promise<JobQueue> {
    const queue = await this.#factory(options);
    this.#queues.push(queue);
    return queue;
  }

  /**
   * A handle on this test's queue (same domain, type and clock unless overridden). Opportunistic
   * maintenance is off (`maintenanceInterval: null`) unless the overrides say otherwise, so
   * tests control every maintenance pass.
   */
  queue(overrides: QueueOverrides = {}): Promise<JobQueue> {
    return this.open({
      type: this.type,
      domain: this.domain,
      clock: this.clock,
      maintenanceInterval: null,
      ...overrides,
    });
  }

  /** A job specification of this test's type. */
  job(params: JsonObject, extra: Partial<JobSpecification> = {}): JobSpecification {
    return { type: this.type, params, ...extra };
  }

  /** `count` specifications `{ n: 0 … count-1 }` (plus `extra` params). */
  jobs(count: number, extra: JsonObject = {}): JobSpecification[] {
    return Array.from({ length: count }, (_, n) => this.job({ ...extra, n }));
  }

  /** Moves the test's clock forward by `seconds`. */
  advance(seconds: number): void {
    this.clock.advance(Math.round(seconds * 1000));
  }

  /** Closes every handle the test opened. */
  async closeAll(): Promise<void> {
    const errors: unknown[] = [];
    for (const queue of this.#queues.splice(0).reverse()) {
      try {
        await queue.close();
      } catch (error) {
        errors.push(error);
      }
    }
    if (errors.length > 0) throw new AggregateError(errors, 'closing the test queues failed');
  }
}

/** What each conformance file receives. */
export interface Suite {
  /** The backend's declared manifest. */
  readonly supports: Supports;
  readonly options: ConformanceOptions;
  readonly describe: (name: string, fn: () => void) => void;
  /** Registers a test that gets a fresh {@link Harness}; its queues are closed afterwards. */
  test(name: string, body: (h: Harness) => Promise<void>, timeout?: number): void;
}

/** Builds the {@link Suite} the conformance files register their tests on. */
export function createSuite(options: ConformanceOptions): Suite {
  return {
    supports: options.supports,
    options,
    describe: options.describe,
    test(name, body, timeout) {
      registerHarnessTest(options, () => new Harness(options.factory), name, body, timeout);
    },
  };
}

/**
 * Registers `body` as a test on the host's runner: each run gets a fresh harness from
 * `makeHarness`, whose handles are closed afterwards even when the body fails (the body's error
 * wins over a close error). Used by the backend and the aggregator suites.
 */
export function registerHarnessTest<H extends { closeAll(): Promise<void> }>(
  options: {
    readonly test: (name: string, fn: () => Promise<void> | void, timeout?: number) => void;
    readonly timeout?: number;
  },
  makeHarness: () => H,
  name: string,
  body: (h: H) => Promise<void>,
  timeout?: number,
): void {
  const run = async (): Promise<void> => {
    const h = makeHarness();
    let failure: unknown = null;
    try {
      await body(h);
    } catch (error) {
      failure = error;
    }
    try {
      await h.closeAll();
    } catch (error) {
      failure ??= error;
    }
    if (failure !== null) throw failure;
  };
  const ms = timeout ?? options.timeout;
  if (ms === undefined) options.test(name, run);
  else options.test(name, run, ms);
}

// ------------------------------------------------------------------ assertions

/** A short description of a thrown value, for assertion messages. */
function describeError(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return `${error.name}${code === undefined ? '' : ` [${String(code)}]`}: ${error.message}`;
  }
  return String(error);
}

/** Runs `fn` and returns what it threw (sync throw or rejection), or fails when it did not throw. */
export async function thrownBy(fn: () => unknown, what: string): Promise<unknown> {
  try {
    await fn();
  } catch (error) {
    return error;
  }
  assert.fail(`${what}: expected it to throw, but it succeeded`);
}

/**
 * Asserts that `fn` throws (or rejects with) an error whose `code` is `code`, and whose message
 * contains every string in `messageIncludes`. Checks `code` structurally, so a backend built
 * against another copy of switchyard still passes.
 */
export async function rejectsWithCode(
  fn: () => unknown,
  code: ErrorCode,
  what: string,
  messageIncludes: readonly string[] = [],
): Promise<Error> {
  const error = await thrownBy(fn, what);
  assert.ok(error instanceof Error, `${what}: expected an Error with code ${code}, got ${String(error)}`);
  assert.equal(
    (error as { code?: unknown }).code,
    code,
    `${what}: expected code ${code}, got ${describeError(error)}`,
  );
  for (const part of messageIncludes) {
    assert.ok(
      error.message.includes(part),
      `${what}: expected the message to mention ${JSON.stringify(part)}, got: ${error.message}`,
    );
  }
  return error;
}

/** Asserts that `fn` throws (or rejects with) a plain `TypeError`. */
export async function rejectsWithTypeError(fn: () => unknown, what: string): Promise<void> {
  const error = await thrownBy(fn, what);
  assert.ok(error instanceof TypeError, `${what}: expected a TypeError, got ${describeError(error)}`);
}

/** `SWITCHYARD_NOT_SUPPORTED`, asserted. */
export function rejectsNotSupported(fn: () => unknown, what: string): Promise<Error> {
  return rejectsWithCode(fn, ErrorCode.NOT_SUPPORTED, what);
}

// ------------------------------------------------------------------ queue helpers

/** Pops until the queue answers null; fails if more than `limit` jobs come out. */
export async function drain(queue: JobQueue, limit = 100_000): Promise<Job[]> {
  const out: Job[] = [];
  for (;;) {
    const job = await queue.pop();
    if (job === null) return out;
    out.push(job);
    assert.ok(out.length <= limit, `drain: more than ${limit} jobs came out (a job popped twice?)`);
  }
}

/** Every job listed in `state`. */
export async function listAll(queue: JobQueue, state: JobState): Promise<ListedJob[]> {
  const out: ListedJob[] = [];
  for await (const job of queue.list(state)) out.push(job);
  return out;
}

/** The `n` param of each job, in order (for jobs made by {@link Harness.jobs}). */
export function ns(jobs: readonly { readonly params: JsonObject }[]): unknown[] {
  return jobs.map((j) => j.params.n);
}

/** Sorted copy, for order-insensitive comparisons. */
export function sorted<T extends string | number>(values: readonly T[]): T[] {
  return [...values].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** Asserts the ids are pairwise distinct. */
export function assertDistinct(values: readonly string[], what: string): void {
  const seen = new Set<string>();
  for (const v of values) {
    assert.ok(!seen.has(v), `${what}: ${v} appears twice`);
    seen.add(v);
  }
}

/** True when the manifest promises exact counts (so tests may assert them). */
export function exactSizes(supports: Supports): boolean {
  return supports.pop && supports.sizes === 'exact';
}

/**
 * How many jobs are in `state`, by the exact counts when the backend has them, else by listing,
 * else null (the caller then asserts through pop only).
 */
export async function countIn(queue: JobQueue, state: JobState): Promise<number | null> {
  if (exactSizes(queue.supports)) {
    switch (state) {
      case 'ready':
        return queue.getSize();
      case 'claimed':
        return queue.getAcquiredCount();
      case 'delayed':
        return queue.getDelayedCount();
      case 'abandoned':
        return queue.getAbandonedCount();
      case 'waiting':
        return queue.getWaitingCount();
    }
  }
  if (queue.supports.listing) return (await listAll(queue, state)).length;
  return null;
}

/** Asserts `count` jobs in `state` when the backend can tell (see {@link countIn}). */
export async function assertCount(
  queue: JobQueue,
  state: JobState,
  count: number,
  what: string,
): Promise<void> {
  const actual = await countIn(queue, state);
  if (actual !== null) assert.equal(actual, count, `${what}: jobs in state ${state}`);
}

/**
 * Asserts that the queue holds nothing at all, as far as the manifest lets us look (counts,
 * listing, then a pop when the backend can pop).
 */
export async function assertNothingStored(queue: JobQueue, what: string): Promise<void> {
  for (const state of ['ready', 'claimed', 'delayed', 'abandoned'] as const) {
    await assertCount(queue, state, 0, what);
  }
  if (queue.supports.pop) assert.equal(await queue.pop(), null, `${what}: pop() found a job`);
}

/** Re-exported for the conformance files. */
export { assert, ErrorCode };
