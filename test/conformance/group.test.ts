/**
 * The conformance suite again, on queues routed through a JobQueueGroup (STYLE 8, as Level
 * re-runs its suite through sublevels): each handle is `group.get(type)` of a group built from a
 * resolved config whose per-type entry carries the test's options and names a shared memory
 * connection. The `default` entry points at a decoy store, so a routing mistake loses jobs.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, describe, test } from 'vitest';
import { MemoryStore, memoryBackend, memorySupports } from '../../src/backends/memory/index.js';
import type { ResolvedConfig, ResolvedQueueConf } from '../../src/core/config-types.js';
import { createJobQueueGroup } from '../../src/core/farm.js';
import type { JobQueueGroup } from '../../src/core/job-queue-group.js';
import { type ConformanceQueueOptions, runBackendConformance } from '../../src/testing/index.js';

const storeName = `conformance-group-${randomUUID()}`;
const decoyName = `conformance-group-decoy-${randomUUID()}`;
const groups: JobQueueGroup[] = [];

/** A frozen resolved config routing `options.type` to the shared store with the test's options. */
function configFor(options: ConformanceQueueOptions): ResolvedConfig {
  const { type, domain: _domain, clock: _clock, metrics: _metrics, ...queueOptions } = options;
  const connection = (name: string, store: string) =>
    Object.freeze({
      path: `connections.${name}`,
      name,
      class: 'memory',
      backend: memoryBackend,
      settings: Object.freeze({ store }),
    });
  const routed: ResolvedQueueConf = Object.freeze({
    path: `jobTypeConf.${type}`,
    class: 'memory',
    backend: memoryBackend,
    connection: 'shared',
    queue: Object.freeze(queueOptions),
    settings: Object.freeze({}),
  });
  const decoy: ResolvedQueueConf = Object.freeze({
    path: 'jobTypeConf.default',
    class: 'memory',
    backend: memoryBackend,
    connection: 'decoy',
    queue: Object.freeze({}),
    settings: Object.freeze({}),
  });
  return Object.freeze({
    source: 'conformance',
    connections: Object.freeze({
      shared: connection('shared', storeName),
      decoy: connection('decoy', decoyName),
    }),
    jobTypeConf: Object.freeze({ default: decoy, [type]: routed }),
    typesExcludedFromDefaultQueue: Object.freeze([]),
    jobTypes: Object.freeze([type]),
    readOnlyReason: null,
    defaultDomain: 'default',
    domains: Object.freeze([]),
    sections: Object.freeze({}),
  });
}

runBackendConformance({
  name: 'memory via JobQueueGroup',
  supports: memorySupports,
  describe,
  test,
  afterAll,
  factory(options) {
    const group = createJobQueueGroup(configFor(options), options.domain, {
      clock: options.clock,
      ...(options.metrics ? { metrics: options.metrics } : {}),
    });
    groups.push(group);
    const queue = group.get(options.type);
    if (queue.storeKey !== MemoryStore.named(storeName).key) {
      throw new Error(`${options.type} was not routed to the shared store`);
    }
    return queue;
  },
  teardown: async () => {
    await Promise.all(groups.splice(0).map((g) => g.close()));
    MemoryStore.named(storeName).clear();
    MemoryStore.named(decoyName).clear();
  },
});
