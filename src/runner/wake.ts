/**
 * The idle wait of runners: instead of sleeping a poll interval after an empty pop, wait on the
 * queues' {@link JobQueue.waitForJobs} so a push wakes the runner at once; the interval stays the
 * fallback (backends without `wake`, lost notifications).
 *
 * @packageDocumentation
 */
import { setMaxListeners } from 'node:events';
import { type JobQueue, MAX_WAIT_MS } from '../core/job-queue.js';

/** Most queues one idle wait listens on; beyond it the runner just sleeps (polls). */
export const MAX_WAKE_QUEUES = 64;

/**
 * Waits until any of `queues` may have jobs, at most `timeoutMs`. Resolves true on the first
 * wake, false on timeout or abort (never rejects: a queue whose wait fails is left out). Queues
 * without `supports.wake`, closed ones, and every queue when there are more than
 * {@link MAX_WAKE_QUEUES}, are not waited on; with none left this is a plain sleep.
 */
export function waitForAnyJobs(
  queues: readonly JobQueue[],
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<boolean> {
  const ms = Math.max(0, Math.min(timeoutMs, MAX_WAIT_MS));
  if (ms === 0 || signal?.aborted) return Promise.resolve(false);
  const wakeable = queues.length > MAX_WAKE_QUEUES ? [] : queues.filter((q) => q.supports.wake && !q.closed);
  return new Promise<boolean>((resolve) => {
    const stop = new AbortController();
    // One abort listener per queue waited on: not a leak.
    setMaxListeners(MAX_WAKE_QUEUES + 1, stop.signal);
    const finish = (woken: boolean): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      stop.abort();
      resolve(woken);
    };
    const onAbort = (): void => finish(false);
    const timer = setTimeout(() => finish(false), ms);
    signal?.addEventListener('abort', onAbort, { once: true });
    for (const queue of wakeable) {
      queue.waitForJobs({ timeout: ms, signal: stop.signal }).then(
        (woken) => {
          if (woken) finish(true);
        },
        () => {},
      );
    }
  });
}
