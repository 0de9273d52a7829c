/**
 * The capability manifest every backend declares (promises §2). The base class and the conformance
 * suite read only this; it is frozen so nobody can flip a capability at run time.
 *
 * @packageDocumentation
 */

/** Pop orders (P-15). `any` lets the backend pick its fastest. */
export type Order = 'fifo' | 'timestamp' | 'random' | 'any';

/** Every order name, for validation messages. */
export const ORDERS: readonly Order[] = Object.freeze(['fifo', 'timestamp', 'random', 'any']);

/** How exact a backend's counts are (P-17). */
export type SizesSupport = 'exact' | 'approximate' | 'none';

/** What a backend can do. */
export interface Supports {
  /** `pop()` works. False for push-only backends (P-22). */
  readonly pop: boolean;
  /** Claims are tracked: `ack`, `release`, `extendClaim` work (P-8, P-11, P-12). */
  readonly ack: boolean;
  /** Delayed jobs (`releaseTimestamp`) are stored and released on time (P-4, P-5). */
  readonly delayedJobs: boolean;
  /** Orders the backend can honour (P-15). `any` is always accepted when `pop` is. */
  readonly orders: readonly Order[];
  /** Counts (P-17). */
  readonly sizes: SizesSupport;
  /** `push(jobs, { atomic: true })` is all-or-nothing (P-16). */
  readonly atomicBatchPush: boolean;
  /** One queue may hold several job types (P-2 does not apply). */
  readonly typeAgnostic: boolean;
  /** Stored jobs survive a process restart. */
  readonly durable: boolean;
  /** Listing iterators work (P-19). */
  readonly listing: boolean;
  /** `removeDuplicates` is honoured atomically (P-13). */
  readonly deduplication: boolean;
  /** Root-job records are kept and checked (P-14). */
  readonly rootJobs: boolean;
  /** `popBatch(n)` claims n jobs in one store round trip (else it loops `pop`). */
  readonly batchPop: boolean;
  /** The backend answers sizes / queues-with-jobs for many types in one call (promises §6). */
  readonly siblingQueries: boolean;
  /** `push(jobs, { transaction })` enlists in a host transaction. */
  readonly transactionalPush: boolean;
  /**
   * `waitForJobs()` is told by the store when jobs may have arrived (low-latency wake). Without
   * it, `waitForJobs()` just waits out its timeout and callers poll.
   */
  readonly wake: boolean;
  /**
   * `pause()` / `resume()` / `isPaused()` work: the paused state is kept in the store, so every
   * handle on it (every runner process) stops popping the queue at its next pop; pushes still land.
   */
  readonly pause: boolean;
  /**
   * `claimPeriodicTick()` / `lastPeriodicTick()` work: the store keeps, per (domain, type) and
   * periodic schedule name, the last tick claimed, and a claim of a later tick succeeds for exactly
   * one caller (compare-and-set in the store), so periodic jobs fire once per tick across processes.
   */
  readonly periodicTicks: boolean;
  /**
   * `cancel(id)` removes a job in any state (a claimed job's claim is revoked, so its worker's
   * ack / release / extend return false), and `claimsHeld(refs)` tells a runner which claims it
   * still holds: how a running job learns it was cancelled.
   */
  readonly cancel: boolean;
  /**
   * `cancelDuplicates(spec)` removes the ready and delayed jobs holding a dedup key, through an
   * index on the key (not a scan of the queue).
   */
  readonly cancelByKey: boolean;
  /**
   * `JobSpecification.priority` is honoured: a pop takes the highest priority ready job, the queue's
   * order within one priority; a released or recycled job keeps its priority. Without it a push
   * with a non-zero priority is refused.
   */
  readonly priorities: boolean;
  /**
   * `JobSpecification.groupKey` is honoured: a pop takes the queue's groups round-robin (jobs
   * without a key are one more group), and the queue's `groupLimits` (claims held at once,
   * claims per interval, per group) are enforced in the store at claim time, so they hold across
   * every handle and process and a group at its limit never blocks the others. Without it a push
   * with a group key and a queue with `groupLimits` are refused.
   */
  readonly groupLimits: boolean;
  /**
   * `pushFlow(jobs)` stores a small DAG of jobs atomically: a job waits (state `waiting`) until the
   * jobs it names in `after` were acked, and the store settles the links itself when a dependency
   * is acked, abandoned or cancelled (the waiting job's `onDependencyFailure` policy). Needs claim
   * tracking, since success is the ack.
   */
  readonly dependencies: boolean;
}

/** The all-false baseline a manifest is merged over. */
export const NO_SUPPORT: Supports = Object.freeze({
  pop: false,
  ack: false,
  delayedJobs: false,
  orders: Object.freeze([]) as readonly Order[],
  sizes: 'none',
  atomicBatchPush: false,
  typeAgnostic: false,
  durable: false,
  listing: false,
  deduplication: false,
  rootJobs: false,
  batchPop: false,
  siblingQueries: false,
  transactionalPush: false,
  wake: false,
  pause: false,
  periodicTicks: false,
  cancel: false,
  cancelByKey: false,
  priorities: false,
  groupLimits: false,
  dependencies: false,
});

/** Capabilities that only make sense for a backend that can pop. */
const NEEDS_POP = [
  'ack',
  'batchPop',
  'siblingQueries',
  'wake',
  'pause',
  'cancel',
  'priorities',
  'groupLimits',
  'dependencies',
] as const;

/**
 * Merges a partial manifest over {@link NO_SUPPORT} and freezes the result (arrays too).
 * @throws `TypeError` for a contradiction (e.g. `ack` without `pop`).
 */
export function defineSupports(partial: Partial<Supports>): Supports {
  const merged: Supports = { ...NO_SUPPORT, ...partial };
  if (!merged.pop) {
    const bad = NEEDS_POP.filter((k) => merged[k]);
    if (bad.length > 0) throw new TypeError(`defineSupports: ${bad.join(', ')} need pop: true`);
  }
  if (merged.cancelByKey && !(merged.cancel && merged.deduplication)) {
    throw new TypeError('defineSupports: cancelByKey needs cancel: true and deduplication: true');
  }
  const orders = [...merged.orders];
  if (merged.pop && !orders.includes('any')) orders.push('any');
  return Object.freeze({ ...merged, orders: Object.freeze(orders) });
}
