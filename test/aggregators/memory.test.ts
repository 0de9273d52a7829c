/** The aggregator conformance suite on the memory aggregator (a named store per test namespace). */
import { describe, test } from 'vitest';
import { MemoryAggregator } from '../../src/aggregators/memory/index.js';
import { runAggregatorConformance } from '../../src/testing/index.js';

runAggregatorConformance({
  name: 'memory',
  describe,
  test,
  factory: ({ namespace, clock, cacheTTL }) =>
    new MemoryAggregator({ store: namespace, clock, ...(cacheTTL === undefined ? {} : { cacheTTL }) }),
});
