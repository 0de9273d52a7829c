/**
 * The conformance suite on a federated queue over three memory partitions of unequal weight
 * (STYLE 8: the suite re-run on a composite). Always runs.
 */
import { afterAll, describe, test } from 'vitest';
import { FederatedJobQueue, federatedSupports } from '../../src/backends/federated/index.js';
import { MemoryJobQueue, MemoryStore, memorySupports } from '../../src/backends/memory/index.js';
import { runBackendConformance } from '../../src/testing/index.js';

// One store per partition for the whole run: every test uses its own random domain and type.
const stores = {
  m1: new MemoryStore('federated-conformance-1'),
  m2: new MemoryStore('federated-conformance-2'),
  m3: new MemoryStore('federated-conformance-3'),
};
const weights = { m1: 3, m2: 2, m3: 1 } as const;

runBackendConformance({
  name: 'federated (3 × memory)',
  supports: federatedSupports([memorySupports, memorySupports, memorySupports]),
  describe,
  test,
  afterAll,
  factory: (options) =>
    new FederatedJobQueue({
      ...options,
      partitions: (Object.keys(stores) as Array<keyof typeof stores>).map((name) => ({
        name,
        weight: weights[name],
        create: (partition) => new MemoryJobQueue({ ...partition, store: stores[name] }),
      })),
    }),
  teardown: async () => {
    for (const store of Object.values(stores)) store.clear();
  },
});
