/**
 * The aggregator contract (promises §7): a small shared map of which (domain, type) queues have
 * ready jobs, so runners over a farm of thousands of queues never poll empty ones.
 *
 * Queues notify "non-empty" after a push and after maintenance releases jobs; runners notify
 * "empty" after an empty pop; the chron rebuilds the whole map from the queues and swaps it in
 * atomically, so lost notifications heal. "Non-empty" wins a race with "empty": an empty
 * notification observed before a later non-empty one never removes it.
 *
 * The core only knows this interface; implementations live in `src/aggregators/`.
 *
 * @packageDocumentation
 */

/** Ready queues: job type → domains whose queue of that type has ready jobs. */
export type ReadyQueueMap = Readonly<Record<string, readonly string[]>>;

/** What every aggregator implementation provides. */
export interface JobQueueAggregator {
  /** The implementation's name (`memory`, `redis`, `sql`, …), for messages and metrics. */
  readonly name: string;
  /** Marks (domain, type) as having ready jobs. */
  notifyQueueNonEmpty(domain: string, type: string): Promise<void>;
  /**
   * Marks (domain, type) as empty. `observedAt` (epoch ms, default now) is when the caller saw
   * the queue empty (the start of its empty pop): a non-empty mark made after it wins.
   */
  notifyQueueEmpty(domain: string, type: string, observedAt?: number): Promise<void>;
  /**
   * The ready queues, or `null` when there is no map (never built, purged or expired) — the
   * caller must then ask the queues themselves. A built map with nothing ready is `{}`.
   */
  getAllReadyQueues(): Promise<ReadyQueueMap | null>;
  /**
   * Replaces the whole map at once (the chron's rebuild); readers see the old map or the new one.
   * `builtAt` (epoch ms, default now) is when the caller started reading the queues: non-empty
   * marks made after it survive the swap (a push during the rebuild is never lost).
   */
  replaceReadyQueues(map: ReadyQueueMap, builtAt?: number): Promise<void>;
  /** Forgets the map: {@link getAllReadyQueues} returns `null` until the next rebuild. */
  purge(): Promise<void>;
  /** Releases connections the aggregator owns (never a host-provided client). */
  close(): Promise<void>;
}
