/**
 * The memory backend: the reference implementation of every promises §2 promise. Not durable (the
 * manifest says so). Queues live in a {@link MemoryStore}; handles on the same store and
 * (domain, type) share one queue, so tests can run many "processes" against one store.
 *
 * Atomicity comes from JavaScript's single thread: every hook does its whole state change
 * synchronously, before its first `await`.
 *
 * @packageDocumentation
 */
export { memoryBackend } from './module.js';
export { MemoryJobQueue, type MemoryJobQueueOptions, memorySupports } from './queue.js';
export { MemoryStore } from './store.js';
