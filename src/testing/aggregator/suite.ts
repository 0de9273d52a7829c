/**
 * The plumbing of the aggregator conformance suite: the options an implementation passes in, the
 * per-test harness (a random namespace, a ManualClock, handles closed after the test) and small
 * helpers. No test runner is imported: the runner is injected (STYLE 5).
 *
 * @packageDocumentation
 */
import assert from 'node:assert/strict';
import type { JobQueueAggregator, ReadyQueueMap } from '../../core/aggregator.js';
import { type Clock, ManualClock } from '../../core/clock.js';
import type { HookRegistrar } from '../conformance/suite.js';
import { randomName, registerHarnessTest } from '../conformance/suite.js';

/** What the suite asks the factory for: one aggregator handle. */
export interface AggregatorConformanceHandleOptions {
  /**
   * The store to use: random per test. Two calls with the same namespace must give two handles on
   * the SAME stored map (think: two processes); different namespaces are isolated (e.g. the
   * namespace as a key or table prefix suffix).
   */
  readonly namespace: string;
  /** Always a {@link ManualClock}: the suite moves time, it never sleeps. */
  readonly clock: Clock;
  /** Seconds a rebuilt map is trusted, or null (never expires). Absent = the implementation's default. */
  readonly cacheTTL?: number | null;
}

/** Options of {@link runAggregatorConformance}. */
export interface AggregatorConformanceOptions {
  /** The implementation's name in test titles, e.g. `redis`. */
  readonly name: string;
  /** The test runner's `describe`. */
  readonly describe: (name: string, fn: () => void) => void;
  /** The test runner's `test` / `it`; `timeout` is in milliseconds. */
  readonly test: (name: string, fn: () => Promise<void> | void, timeout?: number) => void;
  /** The runner's `beforeAll`; needed only with {@link AggregatorConformanceOptions.setup}. */
  readonly beforeAll?: HookRegistrar;
  /** The runner's `afterAll`; needed only with {@link AggregatorConformanceOptions.teardown}. */
  readonly afterAll?: HookRegistrar;
  /** An aggregator on the shared test store (see {@link AggregatorConformanceHandleOptions}). */
  readonly factory: (
    options: AggregatorConformanceHandleOptions,
  ) => Promise<JobQueueAggregator> | JobQueueAggregator;
  /** Runs once before the suite. */
  readonly setup?: () => Promise<void>;
  /** Runs once after the suite (drop tables, delete keys, close the shared client…). */
  readonly teardown?: () => Promise<void>;
  /** Timeout of each test, ms. Default: the runner's. */
  readonly timeout?: number;
}

/** The start of every test's ManualClock: a whole second, near the wall clock. */
function startTime(): number {
  return Math.floor(Date.now() / 1000) * 1000;
}

/** One test's world: a random namespace, domains and types, a ManualClock, the handles it opened. */
export class AggregatorHarness {
  readonly namespace = randomName('ns');
  readonly clock = new ManualClock(startTime());
  readonly #factory: AggregatorConformanceOptions['factory'];
  readonly #opened: JobQueueAggregator[] = [];

  constructor(factory: AggregatorConformanceOptions['factory']) {
    this.#factory = factory;
  }

  /** A handle on this test's store (`cacheTTL` absent unless given). */
  async open(overrides: { readonly cacheTTL?: number | null } = {}): Promise<JobQueueAggregator> {
    const agg = await this.#factory({ namespace: this.namespace, clock: this.clock, ...overrides });
    this.#opened.push(agg);
    return agg;
  }

  /** Moves the test's clock forward by `ms`. */
  advance(ms: number): void {
    this.clock.advance(ms);
  }

  /** Closes every handle the test opened. */
  async closeAll(): Promise<void> {
    const errors: unknown[] = [];
    for (const agg of this.#opened.splice(0).reverse()) {
      try {
        await agg.close();
      } catch (error) {
        errors.push(error);
      }
    }
    if (errors.length > 0) throw new AggregateError(errors, 'closing the test aggregators failed');
  }
}

/** What each conformance file receives. */
export interface AggregatorSuite {
  readonly options: AggregatorConformanceOptions;
  readonly describe: (name: string, fn: () => void) => void;
  /** Registers a test that gets a fresh {@link AggregatorHarness}; its handles are closed afterwards. */
  test(name: string, body: (h: AggregatorHarness) => Promise<void>, timeout?: number): void;
}

/** Builds the {@link AggregatorSuite} the conformance files register their tests on. */
export function createAggregatorSuite(options: AggregatorConformanceOptions): AggregatorSuite {
  return {
    options,
    describe: options.describe,
    test(name, body, timeout) {
      registerHarnessTest(options, () => new AggregatorHarness(options.factory), name, body, timeout);
    },
  };
}

/** A map with each domain list sorted and types in key order, for deep comparisons. */
export function canonical(map: ReadyQueueMap | null): Record<string, string[]> | null {
  if (map === null) return null;
  const out: Record<string, string[]> = {};
  for (const type of Object.keys(map).sort()) {
    const domains = map[type] ?? [];
    if (domains.length > 0) out[type] = [...domains].sort();
  }
  return out;
}

/** Asserts that the aggregator's map equals `expected` (order-insensitive), or is null. */
export async function assertMap(
  agg: JobQueueAggregator,
  expected: ReadyQueueMap | null,
  what: string,
): Promise<void> {
  assert.deepEqual(canonical(await agg.getAllReadyQueues()), canonical(expected), what);
}

export { assert, randomName };
