/**
 * `switchyard/testing`: the backend conformance suite, the contract of promises §2 as tests.
 *
 * Every backend, built in or third-party, proves itself by calling {@link runBackendConformance}
 * with its manifest and a factory. The suite gates each promise on the manifest only
 * (`supports`): a capability the backend declares is tested for its promise, a capability it
 * lacks is tested for a `SWITCHYARD_NOT_SUPPORTED` refusal (never a silent no-op).
 *
 * How it runs:
 * - The test runner is injected (`describe`, `test`, and `beforeAll` / `afterAll` when you pass
 *   `setup` / `teardown`), so the suite works under vitest, jest, mocha or `node:test`. It asserts
 *   with `node:assert/strict` and imports no runner.
 * - Every test uses a random domain and a random type, so one shared store (database, Redis,
 *   memory store) serves the whole run; each test closes the handles it opened.
 * - Time never passes by sleeping: every queue gets a {@link ManualClock} that the test moves.
 *   Your backend must take "now" from the queue's clock (`this.clock.now()`), never from the
 *   database or Redis server.
 * - The factory is called inside tests, as often as a test needs: two calls with the same domain
 *   and type must give two handles on the same stored queue (think: two processes); different
 *   (domain, type) pairs must be isolated. Pass every option through to your queue's constructor.
 * - Per-run knobs (e.g. the size of the concurrency tests) go in the options object, never in
 *   environment variables read by the shared tests.
 *
 * @example A third-party backend under vitest (`test/conformance.test.ts`):
 * ```ts
 * import { afterAll, beforeAll, describe, test } from 'vitest';
 * import { runBackendConformance } from 'switchyard/testing';
 * import { AcmeJobQueue, acmeSupports, connect } from '../src/index.js';
 *
 * const client = connect(process.env.ACME_URL ?? 'acme://127.0.0.1'); // one shared test store
 *
 * runBackendConformance({
 *   name: 'acme',
 *   supports: acmeSupports, // the same frozen manifest your queues pass to super()
 *   describe,
 *   test,
 *   beforeAll,
 *   afterAll,
 *   // Options: type, domain, clock (a ManualClock), and the queue options a test sets.
 *   factory: (options) => new AcmeJobQueue({ ...options, client }),
 *   setup: () => client.migrate(),
 *   teardown: () => client.close(),
 *   concurrency: { poppers: 16, jobs: 500 }, // smaller P-7 run for a slow CI box
 * });
 * ```
 *
 * With `node:test`, pass `describe`, `test: (name, fn, timeout) => test(name, { timeout }, fn)`,
 * `before` as `beforeAll` and `after` as `afterAll`.
 *
 * @packageDocumentation
 */
import * as abandoned from './conformance/abandoned.js';
import * as cancel from './conformance/cancel.js';
import * as claims from './conformance/claims.js';
import * as close from './conformance/close.js';
import * as concurrency from './conformance/concurrency.js';
import * as dedup from './conformance/dedup.js';
import * as delayed from './conformance/delayed.js';
import * as deleteTests from './conformance/delete.js';
import * as dependencies from './conformance/dependencies.js';
import * as expansion from './conformance/expansion.js';
import * as groups from './conformance/groups.js';
import * as listing from './conformance/listing.js';
import * as maintenance from './conformance/maintenance.js';
import * as manifest from './conformance/manifest.js';
import * as notSupported from './conformance/not-supported.js';
import * as orders from './conformance/orders.js';
import * as pause from './conformance/pause.js';
import * as periodic from './conformance/periodic.js';
import * as popAck from './conformance/pop-ack.js';
import * as priorities from './conformance/priorities.js';
import * as push from './conformance/push.js';
import * as readOnly from './conformance/read-only.js';
import * as rootJobs from './conformance/root-jobs.js';
import * as siblings from './conformance/siblings.js';
import * as sizes from './conformance/sizes.js';
import { type ConformanceOptions, createSuite } from './conformance/suite.js';
import * as wake from './conformance/wake.js';

export { type Clock, ManualClock } from '../core/clock.js';
export {
  type AggregatorConformanceHandleOptions,
  type AggregatorConformanceOptions,
  runAggregatorConformance,
} from './aggregator/index.js';
export type {
  ConcurrencyKnobs,
  ConformanceOptions,
  ConformanceQueueOptions,
  HookRegistrar,
} from './conformance/suite.js';

/** The promise groups, in the order they are registered. */
const GROUPS = [
  manifest,
  push,
  readOnly,
  delayed,
  popAck,
  concurrency,
  claims,
  abandoned,
  dedup,
  rootJobs,
  orders,
  priorities,
  groups,
  dependencies,
  sizes,
  deleteTests,
  listing,
  maintenance,
  siblings,
  wake,
  pause,
  cancel,
  periodic,
  expansion,
  close,
  notSupported,
] as const;

/**
 * Registers the conformance suite for one backend under `describe(\`switchyard conformance: <name>\`)`.
 * Call it at the top level of a test file; tests are registered synchronously.
 *
 * @param options - the backend's manifest, a queue factory and the injected test runner.
 * @throws TypeError when `setup` / `teardown` is given without `beforeAll` / `afterAll`, or the
 *   manifest is not frozen.
 */
export function runBackendConformance(options: ConformanceOptions): void {
  if (typeof options.factory !== 'function') {
    throw new TypeError('runBackendConformance: options.factory must be a function');
  }
  if (
    typeof options.supports !== 'object' ||
    options.supports === null ||
    !Object.isFrozen(options.supports)
  ) {
    throw new TypeError('runBackendConformance: options.supports must be the backend’s frozen manifest');
  }
  if (options.setup && !options.beforeAll) {
    throw new TypeError('runBackendConformance: options.setup needs options.beforeAll (the runner’s hook)');
  }
  if (options.teardown && !options.afterAll) {
    throw new TypeError('runBackendConformance: options.teardown needs options.afterAll (the runner’s hook)');
  }
  const suite = createSuite(options);
  options.describe(`switchyard conformance: ${options.name}`, () => {
    const { setup, teardown, beforeAll, afterAll } = options;
    if (setup && beforeAll) beforeAll(() => setup());
    if (teardown && afterAll) afterAll(() => teardown());
    for (const group of GROUPS) group.all(suite);
  });
}
