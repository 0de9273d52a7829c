import { afterAll, describe, test } from 'vitest';
import { MemoryJobQueue, MemoryStore, memorySupports } from '../../src/backends/memory/index.js';
import { runBackendConformance } from '../../src/testing/index.js';

// One shared store for the whole run: every test uses its own random domain and type.
const store = new MemoryStore('conformance');

runBackendConformance({
  name: 'memory',
  supports: memorySupports,
  describe,
  test,
  afterAll,
  factory: (options) => new MemoryJobQueue({ ...options, store }),
  teardown: async () => store.clear(),
});
