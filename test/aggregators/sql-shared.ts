/**
 * The aggregator conformance suite on one SQL database: a table prefix per test namespace, every
 * table dropped in teardown.
 */
import { afterAll, beforeAll, describe, test } from 'vitest';
import { SqlAggregator } from '../../src/aggregators/sql/index.js';
import type { SqlDatabase } from '../../src/backends/sql/database.js';
import { runAggregatorConformance } from '../../src/testing/index.js';

/** Registers the suite; `open` runs in setup (a skipped block never opens anything). */
export function runSqlAggregatorConformance(name: string, open: () => SqlDatabase): void {
  let database: SqlDatabase | null = null;
  const used = new Set<string>();
  const prefixOf = (namespace: string) => `a${namespace}_`;
  runAggregatorConformance({
    name,
    describe,
    test,
    beforeAll,
    afterAll,
    timeout: 30_000,
    factory: ({ namespace, clock, cacheTTL }) => {
      if (!database) throw new Error('the conformance setup did not open the database');
      used.add(namespace);
      return new SqlAggregator({
        database,
        prefix: prefixOf(namespace),
        clock,
        ...(cacheTTL === undefined ? {} : { cacheTTL }),
      });
    },
    setup: async () => {
      database = open();
    },
    teardown: async () => {
      if (!database) return;
      for (const namespace of used) {
        await new SqlAggregator({ database, prefix: prefixOf(namespace) }).dropSchema();
      }
      await database.close();
    },
  });
}
