/**
 * The memory backend as the registry loads it (`class: memory`): a `store` name shares one
 * {@link MemoryStore} between queues (and between farms of one process).
 *
 * @packageDocumentation
 */
import type { BackendContext, BackendModule, BackendSettings } from '../../core/backend.js';
import type { Issue } from '../../core/errors.js';
import type { JobQueue } from '../../core/job-queue.js';
import { MemoryJobQueue, memorySupports } from './queue.js';
import { MemoryStore } from './store.js';

function validateStoreSetting(settings: BackendSettings, path: string): Issue[] {
  const issues: Issue[] = [];
  for (const key of Object.keys(settings)) {
    if (key !== 'store') {
      issues.push({ path: `${path}.${key}`, message: 'is not a memory backend setting', choices: ['store'] });
    }
  }
  const store = settings.store;
  if (store !== undefined && (typeof store !== 'string' || store.length === 0)) {
    issues.push({ path: `${path}.store`, message: 'must be a non-empty store name', value: store });
  }
  return issues;
}

/** The memory backend as the registry loads it. */
export const memoryBackend: BackendModule = Object.freeze({
  name: 'memory',
  supports: memorySupports,
  validateSettings: validateStoreSetting,
  validateConnection: validateStoreSetting,
  openConnection(settings: BackendSettings) {
    const name = settings.store;
    const store = typeof name === 'string' ? MemoryStore.named(name) : new MemoryStore();
    return { handle: store, close: async () => {} };
  },
  createQueue(context: BackendContext): JobQueue {
    const fromConnection = context.connection?.handle;
    const named = context.settings.store;
    let store: MemoryStore;
    if (fromConnection instanceof MemoryStore) store = fromConnection;
    else if (typeof named === 'string') store = MemoryStore.named(named);
    else store = new MemoryStore();
    return new MemoryJobQueue({ ...context.queue, store });
  },
});
