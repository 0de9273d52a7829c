/**
 * The aggregator conformance suite: the contract of promises §7 as tests, for every aggregator,
 * built in or third-party. The runner is injected, as in the backend suite, and time never
 * passes by sleeping: each test gets a ManualClock the factory must pass to the aggregator.
 *
 * @packageDocumentation
 */
import * as close from './close.js';
import * as expiry from './expiry.js';
import * as notify from './notify.js';
import * as races from './races.js';
import * as rebuild from './rebuild.js';
import { type AggregatorConformanceOptions, createAggregatorSuite } from './suite.js';

export type { AggregatorConformanceHandleOptions, AggregatorConformanceOptions } from './suite.js';

const GROUPS = [notify, races, rebuild, expiry, close] as const;

/**
 * Registers the aggregator conformance suite under
 * `describe(\`switchyard aggregator conformance: <name>\`)`. Call it at the top level of a test
 * file; tests are registered synchronously.
 *
 * @throws TypeError when `factory` is missing, or `setup` / `teardown` is given without
 *   `beforeAll` / `afterAll`.
 */
export function runAggregatorConformance(options: AggregatorConformanceOptions): void {
  if (typeof options.factory !== 'function') {
    throw new TypeError('runAggregatorConformance: options.factory must be a function');
  }
  if (options.setup && !options.beforeAll) {
    throw new TypeError(
      'runAggregatorConformance: options.setup needs options.beforeAll (the runner’s hook)',
    );
  }
  if (options.teardown && !options.afterAll) {
    throw new TypeError(
      'runAggregatorConformance: options.teardown needs options.afterAll (the runner’s hook)',
    );
  }
  const suite = createAggregatorSuite(options);
  options.describe(`switchyard aggregator conformance: ${options.name}`, () => {
    const { setup, teardown, beforeAll, afterAll } = options;
    if (setup && beforeAll) beforeAll(() => setup());
    if (teardown && afterAll) afterAll(() => teardown());
    for (const group of GROUPS) group.all(suite);
  });
}
