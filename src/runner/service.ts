/**
 * The runner service (promises §8, MediaWiki's jobrunner): groups of runner slots that pick ready
 * (domain, type) queues across a farm and run a slice of jobs on each, until stopped.
 *
 * - Where the work is: the aggregator's ready map when one is given (no empty queue is ever
 *   touched), else each domain group's queues-with-jobs sibling query (one call per store and
 *   domain).
 * - Which queue: high-priority types by default, the group's `lowPriority` types every
 *   `lowPriorityEvery`-th pick (or whenever no high-priority queue is ready); within a class, the
 *   ready queue this group served least recently, so no ready queue starves.
 * - How: a {@link JobRunner} slice (`sliceJobs` / `sliceTime`) on that queue; a slice that ends on
 *   an empty queue tells the aggregator so.
 *
 * @packageDocumentation
 */

import type { JobQueueAggregator, ReadyQueueMap } from '../core/aggregator.js';
import { sleep } from '../core/checks.js';
import { type Clock, systemClock } from '../core/clock.js';
import type { JobQueueFarm } from '../core/farm.js';
import type { JobQueue } from '../core/job-queue.js';
import type { JobTracer } from '../core/tracing.js';
import { type PeriodicEntry, parsePeriodicSection } from '../periodic/config.js';
import { PeriodicScheduler } from '../periodic/scheduler.js';
import { consoleLogger, HandlerRegistry, type JobHandler, type RunnerLogger } from './handlers.js';
import {
  type BackoffOptions,
  emptyRunCounts,
  JobRunner,
  type JobRunStatus,
  type RunResult,
} from './runner.js';
import {
  parseBackoffThrottlingSection,
  parseRunnersSection,
  type RunnerGroupConf,
} from './service-config.js';
import { Throttle } from './throttle.js';
import { MAX_WAKE_QUEUES, waitForAnyJobs } from './wake.js';

/** Options of {@link RunnerService}. */
export interface RunnerServiceOptions {
  /** The handlers, by job type. Types without a handler are never picked. */
  readonly handlers: HandlerRegistry;
  /** Passed to every runner: wraps each job's run in a span. Default: none. */
  readonly tracer?: JobTracer;
  /** The runner groups. Default: the config's `runners` section (else one `basic` group, 1 runner). */
  readonly groups?: readonly RunnerGroupConf[];
  /** Where ready queues are listed. Default none: each domain's sibling query. */
  readonly aggregator?: JobQueueAggregator | null;
  /** Shared throttle. Default: the config's `backoffThrottling` section (per process). */
  readonly throttle?: Throttle | Readonly<Record<string, number>>;
  /** Default {@link consoleLogger}. */
  readonly logger?: RunnerLogger;
  /** Failed-job backoff, passed to each {@link JobRunner}. */
  readonly backoff?: Partial<BackoffOptions>;
  /** Seconds in-flight jobs get after a stop. Default 10. */
  readonly gracePeriod?: number;
  /** Most jobs a slot runs on one queue before picking again. Default 100. */
  readonly sliceJobs?: number;
  /** Most seconds a slot stays on one queue before picking again. Default 10. */
  readonly sliceTime?: number;
  /** Every n-th pick prefers low-priority types. Default 4 (a quarter of the picks). */
  readonly lowPriorityEvery?: number;
  /**
   * Seconds an idle slot waits before looking again. Default 1. While waiting it listens on the
   * queues it may run (`waitForJobs`, backends with `wake`), so a push ends the wait at once.
   */
  readonly idleWait?: number;
  /** Milliseconds a ready-queue listing is reused. Default 1000. */
  readonly refreshInterval?: number;
  /** Called after each slice (progress reporting). Must not throw. */
  readonly onSlice?: (slice: ServiceSlice) => void;
  /** Default the wall clock. */
  readonly clock?: Clock;
  /** Random source in [0, 1) for tie-breaks. Default `Math.random`. */
  readonly random?: () => number;
  /**
   * Periodic schedules to push while running (default: the config's `periodic` section); `false`
   * for none. Never run by a run with `exitWhenIdle`.
   */
  readonly periodic?: readonly PeriodicEntry[] | false;
}

/** Options of {@link RunnerService.run}. */
export interface ServiceRunOptions {
  /** Abort to stop gracefully (no new pops; in-flight jobs finish within the grace period). */
  readonly signal?: AbortSignal;
  /** Stop after this many seconds. */
  readonly maxTime?: number;
  /** Stop after starting about this many jobs (slices reserve their share up front). */
  readonly maxJobs?: number;
  /** Return once no queue any group may run has ready jobs (drain mode). Default false. */
  readonly exitWhenIdle?: boolean;
}

/** One slice a slot ran. */
export interface ServiceSlice {
  readonly group: string;
  readonly domain: string;
  readonly type: string;
  readonly result: RunResult;
}

/** Why {@link RunnerService.run} returned. */
export type ServiceReached = 'stopped' | 'time-limit' | 'job-limit' | 'idle';

/** What {@link RunnerService.run} returns. */
export interface ServiceResult {
  readonly reached: ServiceReached;
  /** Jobs run, by outcome. */
  readonly jobs: Readonly<Record<JobRunStatus, number>>;
  /** Jobs run, by group. */
  readonly byGroup: Readonly<Record<string, number>>;
  /** Slices that failed with a store error (logged; the queue was skipped). */
  readonly errors: number;
}

interface Listing {
  readonly at: number;
  /** type → domains with ready jobs. */
  readonly ready: Map<string, Set<string>>;
}

const STAR = '*';
const FALLBACK_PARALLELISM = 16;

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** The limit for `type` in a per-type map (`type`, else `*`), or undefined. */
function limitFor(map: Readonly<Record<string, number>>, type: string): number | undefined {
  return Object.hasOwn(map, type) ? map[type] : Object.hasOwn(map, STAR) ? map[STAR] : undefined;
}

/** A copy of `handlers` with a group's per-type `timeout` (config key `claimTTL`) / `attempts` limits applied. */
function limitedHandlers(handlers: HandlerRegistry, group: RunnerGroupConf): HandlerRegistry {
  const out = new HandlerRegistry();
  for (const type of handlers.types()) {
    const h = handlers.get(type) as JobHandler<string>;
    const limit = limitFor(group.timeout, type);
    const attempts = limitFor(group.attempts, type);
    const timeout = limit === undefined ? h.timeout : Math.min(limit, h.timeout ?? limit);
    const maxTries = attempts === undefined ? h.maxTries : Math.min(attempts, h.maxTries ?? attempts);
    out.register(type, {
      ...h,
      ...(timeout === undefined ? {} : { timeout }),
      ...(maxTries === undefined ? {} : { maxTries }),
    });
  }
  return out;
}

/** A runner group, resolved against the handlers and the config. */
interface GroupState {
  readonly conf: RunnerGroupConf;
  readonly handlers: HandlerRegistry;
  /** Whether the group may run `type`, and at which priority. */
  readonly classify: (type: string) => 'high' | 'low' | null;
  /** Pick counter per (domain, type) key: lower = served less recently. */
  readonly served: Map<string, number>;
  /** Keys a slot of this group is running now. */
  readonly busy: Set<string>;
  tick: number;
  count: number;
}

const key = (domain: string, type: string): string => `${domain}\u0000${type}`;

/**
 * Runs the runner groups of a config over a {@link JobQueueFarm}.
 *
 * @example
 * ```ts
 * const service = new RunnerService(farm, { handlers, aggregator });
 * const { signal, dispose } = installSignalHandlers();
 * const result = await service.run({ signal });
 * ```
 */
export class RunnerService {
  readonly #farm: JobQueueFarm;
  readonly #options: RunnerServiceOptions;
  readonly #groups: GroupState[];
  readonly #aggregator: JobQueueAggregator | null;
  readonly #throttle: Throttle;
  readonly #logger: RunnerLogger;
  readonly #clock: Clock;
  readonly #random: () => number;
  readonly #sliceJobs: number;
  readonly #sliceTime: number;
  readonly #lowEvery: number;
  readonly #idleWaitMs: number;
  readonly #refreshMs: number;
  #listing: Listing | null = null;
  #refreshing: Promise<Listing> | null = null;
  #running = false;

  /**
   * @throws `TypeError` for a bad option.
   */
  constructor(farm: JobQueueFarm, options: RunnerServiceOptions) {
    if (!(options?.handlers instanceof HandlerRegistry)) {
      throw new TypeError('RunnerService: options.handlers must be a HandlerRegistry');
    }
    this.#farm = farm;
    this.#options = options;
    this.#aggregator = options.aggregator ?? null;
    this.#logger = options.logger ?? consoleLogger;
    this.#clock = options.clock ?? systemClock;
    this.#random = options.random ?? Math.random;
    this.#sliceJobs = positive(options.sliceJobs ?? 100, 'sliceJobs');
    this.#sliceTime = positive(options.sliceTime ?? 10, 'sliceTime');
    this.#lowEvery = positive(options.lowPriorityEvery ?? 4, 'lowPriorityEvery');
    this.#idleWaitMs = positive(options.idleWait ?? 1, 'idleWait') * 1000;
    this.#refreshMs = Math.max(0, options.refreshInterval ?? 1000);
    const t = options.throttle ?? parseBackoffThrottlingSection(farm.config.sections.backoffThrottling);
    this.#throttle = t instanceof Throttle ? t : new Throttle(t, this.#clock);
    const excluded = new Set(farm.config.typesExcludedFromDefaultQueue);
    const confs = options.groups ?? parseRunnersSection(farm.config.sections.runners);
    this.#groups = confs.map((conf) => {
      const handlers = limitedHandlers(options.handlers, conf);
      const include = new Set(conf.include);
      const exclude = new Set(conf.exclude);
      const low = new Set(conf.lowPriority);
      for (const type of include) {
        if (type !== STAR && !handlers.has(type)) {
          this.#logger.warn('runner group includes a type with no handler; it is skipped', {
            group: conf.name,
            type,
          });
        }
      }
      const classify = (type: string): 'high' | 'low' | null => {
        if (!handlers.has(type) || exclude.has(type)) return null;
        if (!include.has(type) && !(include.has(STAR) && !excluded.has(type))) return null;
        return low.has(type) ? 'low' : 'high';
      };
      return { conf, handlers, classify, served: new Map(), busy: new Set(), tick: 0, count: 0 };
    });
  }

  /** The groups this service runs (with their parsed config). */
  get groups(): readonly RunnerGroupConf[] {
    return this.#groups.map((g) => g.conf);
  }

  /**
   * Runs every group's slots until stopped, a limit is reached, or (with `exitWhenIdle`) no queue
   * any slot may run has ready jobs. Every popped job ends acked or released.
   *
   * @throws `Error` when the service is already running.
   */
  async run(options: ServiceRunOptions = {}): Promise<ServiceResult> {
    if (this.#running) throw new Error('RunnerService.run(): already running');
    this.#running = true;
    try {
      return await this.#run(options);
    } finally {
      this.#running = false;
    }
  }

  async #run(options: ServiceRunOptions): Promise<ServiceResult> {
    const periodic = options.exitWhenIdle === true ? null : await this.#startPeriodic(options.signal);
    try {
      return await this.#runSlots(options);
    } finally {
      await periodic?.stop();
    }
  }

  /** Starts the periodic scheduler beside the slots (when there are schedules); its stop(). */
  async #startPeriodic(signal: AbortSignal | undefined): Promise<{ stop(): Promise<void> } | null> {
    const entries =
      this.#options.periodic === false
        ? []
        : (this.#options.periodic ?? parsePeriodicSection(this.#farm.config.sections.periodic));
    if (entries.length === 0) return null;
    const scheduler = new PeriodicScheduler(this.#farm, entries, {
      clock: this.#clock,
      logger: this.#logger,
    });
    await scheduler.init(); // a type routed to a backend without periodic ticks fails the run here
    const stop = new AbortController();
    const onAbort = (): void => stop.abort();
    signal?.addEventListener('abort', onAbort, { once: true });
    const running = scheduler.run(stop.signal).catch((err: unknown) => {
      this.#logger.error('periodic scheduler stopped on an error', { error: String(err) });
    });
    return {
      stop: async () => {
        signal?.removeEventListener('abort', onAbort);
        stop.abort();
        await running;
      },
    };
  }

  async #runSlots(options: ServiceRunOptions): Promise<ServiceResult> {
    const signal = options.signal;
    const deadline =
      options.maxTime === undefined ? Number.POSITIVE_INFINITY : this.#clock.now() + options.maxTime * 1000;
    const budget = {
      left: options.maxJobs ?? Number.POSITIVE_INFINITY,
      slots: this.#groups.reduce((n, g) => n + g.conf.runners, 0),
    };
    const jobs = emptyRunCounts();
    const stats = { errors: 0 };
    const slots: Promise<void>[] = [];
    for (const group of this.#groups) {
      group.count = 0;
      for (let i = 0; i < group.conf.runners; i++) {
        slots.push(
          this.#slot(group, {
            signal,
            deadline,
            budget,
            jobs,
            stats,
            exitWhenIdle: options.exitWhenIdle === true,
          }),
        );
      }
    }
    await Promise.all(slots);
    const reached: ServiceReached = signal?.aborted
      ? 'stopped'
      : this.#clock.now() >= deadline
        ? 'time-limit'
        : budget.left <= 0
          ? 'job-limit'
          : 'idle';
    const byGroup: Record<string, number> = {};
    for (const g of this.#groups) byGroup[g.conf.name] = g.count;
    return { reached, jobs, byGroup, errors: stats.errors };
  }

  /** One runner slot: pick a queue, run a slice, repeat. */
  async #slot(
    group: GroupState,
    ctx: {
      readonly signal: AbortSignal | undefined;
      readonly deadline: number;
      readonly budget: { left: number; readonly slots: number };
      readonly jobs: Record<JobRunStatus, number>;
      readonly stats: { errors: number };
      readonly exitWhenIdle: boolean;
    },
  ): Promise<void> {
    let picks = 0;
    // True after a wake that found nothing to pick (e.g. an aggregator that missed the push):
    // the next idle wait is a plain sleep, so a queue that keeps saying "ready" cannot spin us.
    let wokeForNothing = false;
    while (!ctx.signal?.aborted && this.#clock.now() < ctx.deadline) {
      if (ctx.budget.left <= 0) {
        // The job budget is spent or reserved by running slices: wait for one to hand some back.
        if (!this.#anyBusy()) return;
        await sleep(20, ctx.signal);
        continue;
      }
      const lookedAt = this.#clock.now();
      const pick = this.#pick(group, await this.#ready(false), picks++);
      if (pick === null) {
        // Nothing in the cached listing: look again with a fresh one before idling.
        const fresh = await this.#ready(true, lookedAt);
        const again = this.#pick(group, fresh, picks);
        if (again === null) {
          if (ctx.exitWhenIdle && !this.#anyBusy()) return;
          const ms = Math.min(this.#idleWaitMs, ctx.deadline - this.#clock.now());
          if (wokeForNothing) {
            wokeForNothing = false;
            await sleep(ms, ctx.signal);
          } else {
            wokeForNothing = await waitForAnyJobs(this.#wakeQueues(group), ms, ctx.signal);
          }
          continue;
        }
        wokeForNothing = false;
        await this.#runSlice(group, again.domain, again.type, ctx);
        continue;
      }
      wokeForNothing = false;
      await this.#runSlice(group, pick.domain, pick.type, ctx);
    }
  }

  /**
   * The queues an idle slot of `group` listens on: every (domain, type) it may run whose backend
   * has `wake`, or none (so the slot just sleeps) when there are more than {@link MAX_WAKE_QUEUES}.
   */
  #wakeQueues(group: GroupState): JobQueue[] {
    const out: JobQueue[] = [];
    try {
      const domains = this.#domains();
      const types = group.handlers.types().filter((t) => group.classify(t) !== null);
      if (domains.length * types.length > MAX_WAKE_QUEUES) return [];
      for (const domain of domains) {
        const g = this.#farm.group(domain);
        for (const type of types) {
          const queue = g.get(type);
          if (queue.supports.wake) out.push(queue);
        }
      }
    } catch (err) {
      this.#logger.warn('cannot listen for new jobs; polling', { error: message(err) });
      return [];
    }
    return out;
  }

  /** The farm's domains, or its default domain when it lists none. */
  #domains(): string[] {
    const domains = this.#farm.domains();
    return domains.length > 0 ? domains : [this.#farm.config.defaultDomain];
  }

  #anyBusy(): boolean {
    return this.#groups.some((g) => g.busy.size > 0);
  }

  /** The least recently served ready queue of the class this pick prefers (else the other). */
  #pick(group: GroupState, listing: Listing, n: number): { domain: string; type: string } | null {
    const high: Array<[string, string]> = [];
    const low: Array<[string, string]> = [];
    for (const [type, domains] of listing.ready) {
      const cls = group.classify(type);
      if (cls === null) continue;
      for (const domain of domains) {
        if (group.busy.has(key(domain, type))) continue;
        (cls === 'high' ? high : low).push([domain, type]);
      }
    }
    const preferLow = n % this.#lowEvery === this.#lowEvery - 1;
    const pool = preferLow ? (low.length > 0 ? low : high) : high.length > 0 ? high : low;
    if (pool.length === 0) return null;
    let best: Array<[string, string]> = [];
    let bestServed = Number.POSITIVE_INFINITY;
    for (const candidate of pool) {
      const served = group.served.get(key(candidate[0], candidate[1])) ?? -1;
      if (served < bestServed) {
        best = [candidate];
        bestServed = served;
      } else if (served === bestServed) best.push(candidate);
    }
    const chosen = best[Math.floor(this.#random() * best.length)] as [string, string];
    group.served.set(key(chosen[0], chosen[1]), group.tick++);
    return { domain: chosen[0], type: chosen[1] };
  }

  async #runSlice(
    group: GroupState,
    domain: string,
    type: string,
    ctx: {
      readonly signal: AbortSignal | undefined;
      readonly deadline: number;
      readonly budget: { left: number; readonly slots: number };
      readonly jobs: Record<JobRunStatus, number>;
      readonly stats: { errors: number };
    },
  ): Promise<void> {
    const k = key(domain, type);
    // A fair share of a limited budget, so every slot can work while it lasts.
    const share = Math.max(1, Math.ceil(ctx.budget.left / Math.max(1, ctx.budget.slots)));
    const maxJobs = Math.min(this.#sliceJobs, ctx.budget.left, share);
    const maxTime = Math.max(0, Math.min(this.#sliceTime, (ctx.deadline - this.#clock.now()) / 1000));
    ctx.budget.left -= maxJobs;
    group.busy.add(k);
    const startedAt = this.#clock.now();
    let ran = 0;
    try {
      const runner = new JobRunner(this.#farm.group(domain), {
        handlers: group.handlers,
        logger: this.#logger,
        throttle: this.#throttle,
        clock: this.#clock,
        ...(this.#options.backoff === undefined ? {} : { backoff: this.#options.backoff }),
        ...(this.#options.gracePeriod === undefined ? {} : { gracePeriod: this.#options.gracePeriod }),
        ...(this.#options.tracer === undefined ? {} : { tracer: this.#options.tracer }),
      });
      const result = await runner.run({
        type,
        maxJobs,
        maxTime,
        concurrency: group.conf.concurrency,
        ...(ctx.signal === undefined ? {} : { signal: ctx.signal }),
      });
      ran = result.jobs.length;
      for (const rec of result.jobs) ctx.jobs[rec.status]++;
      group.count += ran;
      if (result.reached === 'none-ready' && !this.#throttle.isThrottled(type)) {
        this.#forget(domain, type);
        await this.#aggregator?.notifyQueueEmpty(domain, type, startedAt).catch((err: unknown) => {
          this.#logger.warn('aggregator notifyQueueEmpty failed', { domain, type, error: message(err) });
        });
      }
      this.#options.onSlice?.({ group: group.conf.name, domain, type, result });
    } catch (err) {
      ctx.stats.errors++;
      this.#forget(domain, type);
      this.#logger.error('runner slice failed; skipping the queue for now', {
        group: group.conf.name,
        domain,
        type,
        error: message(err),
      });
    } finally {
      group.busy.delete(k);
      ctx.budget.left += maxJobs - ran;
    }
  }

  /** Drops (domain, type) from the cached listing (it was found empty). */
  #forget(domain: string, type: string): void {
    this.#listing?.ready.get(type)?.delete(domain);
  }

  /**
   * The ready listing: cached for `refreshInterval`; with `force`, refreshed unless it was
   * fetched after `after`. Concurrent callers share one refresh.
   */
  async #ready(force: boolean, after = 0): Promise<Listing> {
    const cached = this.#listing;
    const now = this.#clock.now();
    if (cached && (force ? cached.at >= after : now - cached.at < this.#refreshMs)) return cached;
    if (!this.#refreshing) {
      this.#refreshing = this.#fetch().finally(() => {
        this.#refreshing = null;
      });
    }
    const listing = await this.#refreshing;
    this.#listing = listing;
    return listing;
  }

  async #fetch(): Promise<Listing> {
    const at = this.#clock.now();
    const ready = new Map<string, Set<string>>();
    const add = (type: string, domain: string): void => {
      const set = ready.get(type);
      if (set) set.add(domain);
      else ready.set(type, new Set([domain]));
    };
    let map: ReadyQueueMap | null = null;
    if (this.#aggregator) {
      try {
        map = await this.#aggregator.getAllReadyQueues();
      } catch (err) {
        this.#logger.warn('aggregator unavailable; asking the queues', { error: message(err) });
      }
    }
    if (map !== null) {
      for (const [type, domains] of Object.entries(map)) for (const d of domains) add(type, d);
      return { at, ready };
    }
    const domains = this.#domains();
    for (let i = 0; i < domains.length; i += FALLBACK_PARALLELISM) {
      await Promise.all(
        domains.slice(i, i + FALLBACK_PARALLELISM).map(async (domain) => {
          try {
            for (const type of await this.#farm.group(domain).getQueuesWithJobs()) add(type, domain);
          } catch (err) {
            this.#logger.warn('listing ready queues failed', { domain, error: message(err) });
          }
        }),
      );
    }
    return { at, ready };
  }
}

function positive(n: number, name: string): number {
  if (!(typeof n === 'number' && Number.isFinite(n) && n > 0)) {
    throw new TypeError(`RunnerService: ${name} must be a number > 0`);
  }
  return n;
}
