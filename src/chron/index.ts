/**
 * Chron (promises §8): periodic `runMaintenance` over every queue of every domain (recycle expired
 * claims, abandon exhausted ones, prune old abandoned jobs, release due delayed jobs), with counts.
 * Safe on several hosts at once: each backend's maintenance is atomic.
 *
 * @packageDocumentation
 */
import type { JobQueueAggregator, ReadyQueueMap } from '../core/aggregator.js';
import type { Clock } from '../core/clock.js';
import { isSwitchyardError } from '../core/errors.js';
import type { JobQueueFarm } from '../core/farm.js';
import type { MaintenanceResult } from '../core/job-queue.js';
import type { JobQueueGroup } from '../core/job-queue-group.js';
import { consoleLogger, type RunnerLogger } from '../runner/handlers.js';

/** Options of {@link runMaintenancePass}. */
export interface MaintenancePassOptions {
  /** Only these domains (farm only). Default: `farm.domains()`. */
  readonly domains?: readonly string[];
  /** Only these types. Default: each group's `getQueueTypes()`. */
  readonly types?: readonly string[];
  /** Abort to stop between queues; the pass returns what it did so far. */
  readonly signal?: AbortSignal;
}

/** What maintenance did to one (domain, type) queue. */
export interface QueueMaintenanceResult extends MaintenanceResult {
  readonly domain: string;
  readonly type: string;
}

/** A queue the pass did not maintain, and why. */
export interface SkippedQueue {
  readonly domain: string;
  readonly type: string;
  readonly reason: 'read-only' | 'push-only';
}

/** A queue whose maintenance failed (the pass went on). */
export interface QueueMaintenanceError {
  readonly domain: string;
  readonly type: string;
  readonly error: unknown;
}

/** What {@link runMaintenancePass} did. */
export interface MaintenancePassResult {
  /** Summed over every maintained queue. */
  readonly totals: MaintenanceResult;
  readonly queues: readonly QueueMaintenanceResult[];
  readonly skipped: readonly SkippedQueue[];
  readonly errors: readonly QueueMaintenanceError[];
  /** True when `signal` aborted the pass before every queue was visited. */
  readonly aborted: boolean;
}

function isFarm(target: JobQueueFarm | JobQueueGroup): target is JobQueueFarm {
  return typeof (target as Partial<JobQueueFarm>).domains === 'function';
}

/**
 * Runs `runMaintenance()` once on every (domain, type) queue. Never throws for one queue's
 * failure: read-only and push-only queues are reported in `skipped`, other failures in `errors`.
 *
 * @throws `SWITCHYARD_QUEUE_CLOSED` when the farm or group is closed.
 */
export async function runMaintenancePass(
  target: JobQueueFarm | JobQueueGroup,
  options: MaintenancePassOptions = {},
): Promise<MaintenancePassResult> {
  const groups: JobQueueGroup[] = isFarm(target)
    ? (options.domains ?? target.domains()).map((d) => target.group(d))
    : [target];
  const totals = { recycled: 0, abandoned: 0, pruned: 0, released: 0 };
  const queues: QueueMaintenanceResult[] = [];
  const skipped: SkippedQueue[] = [];
  const errors: QueueMaintenanceError[] = [];
  let aborted = false;
  outer: for (const group of groups) {
    const domain = group.domain;
    for (const type of options.types ?? group.getQueueTypes()) {
      if (options.signal?.aborted) {
        aborted = true;
        break outer;
      }
      try {
        const queue = group.get(type);
        if (queue.readOnlyReason !== null || group.readOnlyReason !== null) {
          skipped.push({ domain, type, reason: 'read-only' });
          continue;
        }
        if (!queue.supports.pop) {
          skipped.push({ domain, type, reason: 'push-only' });
          continue;
        }
        const r = await queue.runMaintenance();
        totals.recycled += r.recycled;
        totals.abandoned += r.abandoned;
        totals.pruned += r.pruned;
        totals.released += r.released;
        queues.push({ domain, type, ...r });
      } catch (error) {
        if (isSwitchyardError(error, 'SWITCHYARD_READ_ONLY')) {
          skipped.push({ domain, type, reason: 'read-only' });
        } else if (isSwitchyardError(error, 'SWITCHYARD_NOT_SUPPORTED')) {
          skipped.push({ domain, type, reason: 'push-only' });
        } else {
          errors.push({ domain, type, error });
        }
      }
    }
  }
  return { totals, queues, skipped, errors, aborted };
}

/** Options of {@link rebuildAggregator}. */
export interface AggregatorRebuildOptions {
  /** The aggregator to rebuild. Default: the farm's (or group's) own. */
  readonly aggregator?: JobQueueAggregator | null;
  /** Only these domains (farm only). Default: `farm.domains()`. */
  readonly domains?: readonly string[];
  /** Source of `builtAt`. Default: the clock of the first group (the queues' clock). */
  readonly clock?: Clock;
  /** Abort to stop between domains: nothing is swapped then. */
  readonly signal?: AbortSignal;
}

/** A domain whose queues could not be read during a rebuild. */
export interface AggregatorRebuildError {
  readonly domain: string;
  readonly error: unknown;
}

/** What {@link rebuildAggregator} did. */
export interface AggregatorRebuildResult {
  /** True when the new map was swapped in (no error, not aborted, an aggregator to swap into). */
  readonly swapped: boolean;
  /** When the rebuild started reading the queues (epoch ms); marks made after it were kept. */
  readonly builtAt: number;
  /** Domains read. */
  readonly domains: number;
  /** Job types with at least one ready domain. */
  readonly types: number;
  /** (domain, type) queues with ready jobs: the map's size. */
  readonly readyQueues: number;
  readonly errors: readonly AggregatorRebuildError[];
  readonly aborted: boolean;
}

/**
 * Rebuilds the aggregator's map from the queues (promises §7): for each domain, the group's
 * `getQueuesWithJobs()` (one sibling query per store), then one atomic
 * `replaceReadyQueues(map, builtAt)`, so lost notifications heal and pushes made while the
 * rebuild read the queues are kept. When a domain cannot be read (or the pass is aborted) nothing
 * is swapped: a partial map would hide ready queues; the old map stays until it expires.
 *
 * @throws `SWITCHYARD_QUEUE_CLOSED` when the farm or group is closed; the aggregator's swap error.
 */
export async function rebuildAggregator(
  target: JobQueueFarm | JobQueueGroup,
  options: AggregatorRebuildOptions = {},
): Promise<AggregatorRebuildResult> {
  const aggregator = options.aggregator === undefined ? target.aggregator : options.aggregator;
  const groups: JobQueueGroup[] = isFarm(target)
    ? (options.domains ?? target.domains()).map((d) => target.group(d))
    : [target];
  const clock = options.clock ?? groups[0]?.clock;
  const builtAt = clock ? clock.now() : Date.now();
  const map: Record<string, string[]> = {};
  const errors: AggregatorRebuildError[] = [];
  let readyQueues = 0;
  let domains = 0;
  let aborted = false;
  for (const group of groups) {
    if (options.signal?.aborted) {
      aborted = true;
      break;
    }
    try {
      const types = await group.getQueuesWithJobs();
      domains++;
      for (const type of types) {
        const list = map[type];
        if (list) list.push(group.domain);
        else map[type] = [group.domain];
        readyQueues++;
      }
    } catch (error) {
      errors.push({ domain: group.domain, error });
    }
  }
  const swap = aggregator !== null && !aborted && errors.length === 0;
  if (swap) await aggregator.replaceReadyQueues(map as ReadyQueueMap, builtAt);
  return {
    swapped: swap,
    builtAt,
    domains,
    types: Object.keys(map).length,
    readyQueues,
    errors,
    aborted,
  };
}

/** Options of {@link Chron}. */
export interface ChronOptions {
  /** Seconds between the end of one pass and the start of the next. Default 30. */
  readonly interval?: number;
  /** Default {@link consoleLogger}. */
  readonly logger?: RunnerLogger;
  /** Restrict passes (see {@link MaintenancePassOptions}). */
  readonly domains?: readonly string[];
  readonly types?: readonly string[];
  /** Called after each pass (metrics, tests). */
  readonly onPass?: (result: MaintenancePassResult) => void;
  /**
   * The aggregator each pass rebuilds after maintenance (promises §7). Default: the target's own;
   * `null` = no rebuild.
   */
  readonly aggregator?: JobQueueAggregator | null;
  /** Called after each aggregator rebuild. */
  readonly onRebuild?: (result: AggregatorRebuildResult) => void;
}

/**
 * Runs {@link runMaintenancePass} periodically: a `setTimeout` chain (unref'd, so it never keeps
 * the process alive), one pass at a time.
 *
 * @example
 * ```ts
 * const chron = new Chron(farm, { interval: 30 });
 * chron.start();
 * process.once('SIGTERM', () => void chron.stop().then(() => farm.close()));
 * ```
 */
export class Chron {
  readonly #target: JobQueueFarm | JobQueueGroup;
  readonly #interval: number;
  readonly #logger: RunnerLogger;
  readonly #options: ChronOptions;
  #timer: NodeJS.Timeout | null = null;
  #running: Promise<void> | null = null;
  #controller: AbortController | null = null;
  #started = false;

  /** @throws `TypeError` when `interval` is not a number > 0. */
  constructor(target: JobQueueFarm | JobQueueGroup, options: ChronOptions = {}) {
    const interval = options.interval ?? 30;
    if (!(typeof interval === 'number' && Number.isFinite(interval) && interval > 0)) {
      throw new TypeError(`Chron({ interval }): must be a number of seconds > 0, got ${String(interval)}`);
    }
    this.#target = target;
    this.#interval = interval;
    this.#logger = options.logger ?? consoleLogger;
    this.#options = options;
  }

  /** True between {@link Chron.start} and {@link Chron.stop}. */
  get running(): boolean {
    return this.#started;
  }

  /** Starts passes: the first one right away. Idempotent. */
  start(): void {
    if (this.#started) return;
    this.#started = true;
    this.#controller = new AbortController();
    // a pass still finishing after stop() schedules the next one itself: never two at once
    if (this.#running === null) this.#schedule(0);
  }

  /** Stops scheduling and waits for a pass in progress (aborted between queues). Idempotent. */
  async stop(): Promise<void> {
    this.#started = false;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    this.#controller?.abort();
    await this.#running;
  }

  #schedule(ms: number): void {
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.#running = this.#pass().finally(() => {
        this.#running = null;
        if (this.#started && this.#timer === null) this.#schedule(this.#interval * 1000);
      });
    }, ms);
    this.#timer.unref();
  }

  async #pass(): Promise<void> {
    const signal = this.#controller?.signal;
    try {
      const result = await runMaintenancePass(this.#target, {
        ...(this.#options.domains ? { domains: this.#options.domains } : {}),
        ...(this.#options.types ? { types: this.#options.types } : {}),
        ...(signal ? { signal } : {}),
      });
      for (const e of result.errors) {
        this.#logger.error('maintenance failed', {
          domain: e.domain,
          type: e.type,
          error: e.error instanceof Error ? e.error.message : String(e.error),
        });
      }
      this.#logger.debug('maintenance pass', { ...result.totals, queues: result.queues.length });
      this.#options.onPass?.(result);
    } catch (error) {
      this.#logger.error('maintenance pass failed', {
        error: error instanceof Error ? error.message : String(error),
      });
    }
    await this.#rebuild(signal);
  }

  async #rebuild(signal: AbortSignal | undefined): Promise<void> {
    const aggregator =
      this.#options.aggregator === undefined ? this.#target.aggregator : this.#options.aggregator;
    if (aggregator === null || signal?.aborted) return;
    try {
      const result = await rebuildAggregator(this.#target, {
        aggregator,
        ...(this.#options.domains ? { domains: this.#options.domains } : {}),
        ...(signal ? { signal } : {}),
      });
      for (const e of result.errors) {
        this.#logger.error('aggregator rebuild: reading a domain failed', {
          domain: e.domain,
          error: e.error instanceof Error ? e.error.message : String(e.error),
        });
      }
      this.#logger.debug('aggregator rebuild', {
        swapped: result.swapped,
        domains: result.domains,
        types: result.types,
        readyQueues: result.readyQueues,
      });
      this.#options.onRebuild?.(result);
    } catch (error) {
      this.#logger.error('aggregator rebuild failed', {
        error: error instanceof Error ? error.message : String(error),
      });
    }
  }
}
