/**
 * How a {@link JobQueueGroup} finds work across its queues: which types have ready jobs (one
 * sibling query per store, promises §6), a shuffled first-job-wins pop over them, and the
 * opportunistic maintenance sweep of a pop that found nothing (P-20).
 *
 * @packageDocumentation
 */
import type { Clock } from './clock.js';
import type { Job } from './job.js';
import type { JobQueue, QueueStats } from './job-queue.js';

/** The queue of a type (built on first use). */
export type QueueOf = (type: string) => JobQueue;

/** Pops the shuffled candidates in turn (skipping push-only and read-only queues); first job wins. */
export async function popFirst(queueOf: QueueOf, types: readonly string[]): Promise<Job | null> {
  for (const type of shuffle(types)) {
    const queue = queueOf(type);
    if (!queue.supports.pop || queue.readOnlyReason !== null) continue;
    const job = await queue.pop();
    if (job) return job;
  }
  return null;
}

/**
 * Opportunistic maintenance for group pops (P-20): a `DEFAULT` / `ANY` pop only tries queues with
 * ready jobs, so a queue whose only jobs are expired claims would never be popped, never run its
 * own after-empty-pop maintenance, and keep them until a chron ran. When such a pop finds
 * nothing, and at most once per the smallest `maintenanceInterval` of the queues, {@link sweep}
 * runs maintenance on every candidate queue.
 */
export class MaintenanceSweep {
  #lastSweep = Number.NEGATIVE_INFINITY;

  /** Sweeps the queues of `types` if due by `clock`; true when it made jobs ready. */
  async sweep(queueOf: QueueOf, types: readonly string[], clock: Clock): Promise<boolean> {
    let interval = Number.POSITIVE_INFINITY;
    const queues: JobQueue[] = [];
    for (const type of types) {
      const q = queueOf(type);
      if (!q.supports.pop || q.readOnlyReason !== null || q.maintenanceInterval === null) continue;
      queues.push(q);
      interval = Math.min(interval, q.maintenanceInterval);
    }
    const now = clock.now();
    if (queues.length === 0 || now - this.#lastSweep < interval * 1000) return false;
    this.#lastSweep = now;
    const results = await Promise.all(queues.map((q) => q.runMaintenance()));
    return results.some((r) => r.recycled + r.released > 0);
  }
}

/**
 * Of `types`, those whose queue has ready jobs (in `types` order). With `withUnsized`, poppable
 * queues that cannot count are kept too (a pop may still find a job there).
 */
export async function typesWithJobs(
  queueOf: QueueOf,
  types: readonly string[],
  withUnsized: boolean,
): Promise<string[]> {
  const hasJobs = new Set<string>();
  const unsized = await perStore(
    queueOf,
    types,
    async (rep, batch) => {
      const answer = await rep.getSiblingQueuesWithJobs(batch);
      if (answer === null) return false;
      const asked = new Set(batch);
      for (const type of answer) if (asked.has(type)) hasJobs.add(type);
      return true;
    },
    async (queue) => {
      if (!(await queue.isEmpty())) hasJobs.add(queue.type);
    },
  );
  if (withUnsized) for (const type of unsized) hasJobs.add(type);
  return types.filter((t) => hasJobs.has(t));
}

/** Ready counts of the poppable, countable queues of `types`, one sibling query per store. */
export async function queueSizes(queueOf: QueueOf, types: readonly string[]): Promise<Map<string, number>> {
  const sizes = new Map<string, number>();
  await perStore(
    queueOf,
    types,
    async (rep, batch) => {
      const answer = await rep.getSiblingQueueSizes(batch);
      if (answer === null) return false;
      for (const type of batch) sizes.set(type, answer[type] ?? 0);
      return true;
    },
    async (queue) => {
      sizes.set(queue.type, await queue.getSize());
    },
  );
  return sizes;
}

/** {@link QueueStats} of the poppable, countable queues of `types`, one sibling query per store. */
export async function queueStats(
  queueOf: QueueOf,
  types: readonly string[],
): Promise<Map<string, QueueStats>> {
  const stats = new Map<string, QueueStats>();
  await perStore(
    queueOf,
    types,
    async (rep, batch) => {
      const answer = await rep.getSiblingQueueStats(batch);
      if (answer === null) return false;
      for (const type of batch) {
        const s = answer[type];
        if (s !== undefined) stats.set(type, s);
      }
      return true;
    },
    async (queue) => {
      stats.set(queue.type, await queue.getQueueStats());
    },
  );
  return stats;
}

/**
 * Groups the poppable, countable queues of `types` by store and runs `perStore` once per store
 * (on its first queue) — falling back to `perQueue` for each queue of a store whose `perStore`
 * returns false, and for queues with no store identity. Stores are asked in parallel.
 *
 * @returns the poppable types that cannot be counted (`sizes: 'none'`).
 */
async function perStore(
  queueOf: QueueOf,
  types: readonly string[],
  perStore: (rep: JobQueue, types: string[]) => Promise<boolean>,
  perQueue: (queue: JobQueue) => Promise<void>,
): Promise<string[]> {
  const stores = new Map<string, JobQueue[]>();
  const alone: JobQueue[] = [];
  const unsized: string[] = [];
  for (const type of types) {
    const queue = queueOf(type);
    if (!queue.supports.pop) continue;
    if (queue.supports.sizes === 'none') {
      unsized.push(type);
      continue;
    }
    const key = queue.storeKey;
    if (key === null) {
      alone.push(queue);
      continue;
    }
    // Keyed by backend too: two backends must never be taken for one store by a name clash.
    const storeId = `${queue.backendName}\u0000${key}`;
    const members = stores.get(storeId);
    if (members) members.push(queue);
    else stores.set(storeId, [queue]);
  }
  const storeCalls = [...stores.values()].map(async (members) => {
    const rep = members[0] as JobQueue;
    const answered = await perStore(
      rep,
      members.map((q) => q.type),
    );
    if (!answered) await Promise.all(members.map(perQueue));
  });
  await Promise.all([...storeCalls, ...alone.map(perQueue)]);
  return unsized;
}

/** Fisher–Yates shuffle of a copy (anti-starvation: no type is always tried first). */
function shuffle<T>(items: readonly T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    const tmp = out[i] as T;
    out[i] = out[j] as T;
    out[j] = tmp;
  }
  return out;
}
