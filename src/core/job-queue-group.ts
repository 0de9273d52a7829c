/**
 * JobQueueGroup (promises §6): the queues of one domain, routed by job type through a resolved
 * config (MediaWiki's JobQueueGroup). It splits pushes by type, buffers lazy pushes, pops from a
 * shuffled set of non-empty queues, and answers "which queues have jobs" with one call per store.
 *
 * @packageDocumentation
 */
import type { JobQueueAggregator } from './aggregator.js';
import { type Clock, systemClock } from './clock.js';
import type { ResolvedConfig } from './config-types.js';
import { ErrorCode, notSupported, queueClosed, readOnly, SwitchyardError } from './errors.js';
import { MaintenanceSweep, popFirst, queueSizes, queueStats, typesWithJobs } from './group-pop.js';
import { type Batches, PushBuffer, pushBatches, splitByType } from './group-push.js';
import { type ConnectionProvider, GroupQueues } from './group-queues.js';
import type { Job, JobSpecification, JobType } from './job.js';
import {
  type ClaimRef,
  checkPush,
  type JobQueue,
  type PushOptions,
  type PushResult,
  type QueueStats,
  type ReleaseOutcome,
} from './job-queue.js';
import { type MetricsSink, noopMetrics } from './metrics.js';
import type { JobTracer } from './tracing.js';

export type { ConnectionProvider } from './group-queues.js';

/**
 * Pop selector: every type with jobs except `typesExcludedFromDefaultQueue` (the default).
 * A registered symbol, so two copies of the package agree on it.
 */
export const DEFAULT: unique symbol = Symbol.for('switchyard.pop.default');

/** Pop selector: every known type with jobs, excluded ones included. */
export const ANY: unique symbol = Symbol.for('switchyard.pop.any');

/** What {@link JobQueueGroup.pop} pops from: {@link DEFAULT}, {@link ANY}, one type or a list of types. */
export type PopSelector = typeof DEFAULT | typeof ANY | string | readonly string[];

/** Options of {@link JobQueueGroup}. */
export interface JobQueueGroupOptions {
  /** Passed to every queue. Default: the wall clock. */
  readonly clock?: Clock;
  /** Passed to every queue. Default: discard. */
  readonly metrics?: MetricsSink;
  /** Passed to every queue. Default: none. */
  readonly tracer?: JobTracer;
  /** Makes the whole group read-only (overrides each queue's reason; the config's global one wins). */
  readonly readOnlyReason?: string | null;
  /** Passed to every queue, which notifies it (promises §7). Never closed by the group. */
  readonly aggregator?: JobQueueAggregator | null;
  /**
   * Runs once, after `close()` has closed the group's queues: for connections the group owns
   * (see `createJobQueueGroup`).
   */
  readonly onClose?: () => Promise<void>;
}

/** Options of {@link JobQueueGroup.pop}. */
export interface GroupPopOptions {
  /** Types never to pop from this time (e.g. backed-off ones). */
  readonly ignore?: readonly string[];
}

/** A job handle for the group's ack / release / extend: a popped job (its domain is checked). */
export type GroupClaimRef = ClaimRef & { readonly domain?: string };

/**
 * The queues of one domain, routed by type through `jobTypeConf` (the per-type entry, else
 * `default`). Build one per domain; a {@link ConnectionProvider} (a farm) shares connections
 * between groups. Every method throws `SWITCHYARD_QUEUE_CLOSED` after {@link JobQueueGroup.close}.
 *
 * @example
 * ```ts
 * const group = createJobQueueGroup(config, 'enwiki');
 * await group.push({ type: 'refreshLinks', params: { pageId: 1 } });
 * const job = await group.pop();
 * if (job) await group.ack(job);
 * ```
 */
export class JobQueueGroup {
  /** Pop selector: types with jobs minus `typesExcludedFromDefaultQueue`. */
  static readonly DEFAULT: typeof DEFAULT = DEFAULT;
  /** Pop selector: all known types with jobs. */
  static readonly ANY: typeof ANY = ANY;

  /** The domain every queue of this group serves. */
  readonly domain: string;
  /** The resolved configuration the group routes by. */
  readonly config: ResolvedConfig;
  readonly #clock: Clock;
  readonly #readOnlyReason: string | null;
  readonly #aggregator: JobQueueAggregator | null;
  readonly #onClose: (() => Promise<void>) | null;
  readonly #queues: GroupQueues;
  readonly #excluded: ReadonlySet<string>;
  readonly #buffer = new PushBuffer();
  readonly #sweep = new MaintenanceSweep();
  /** The queue of a type, built on first use (see {@link GroupQueues.get}). */
  readonly #queue = (type: string): JobQueue => this.#queues.get(type);
  #closed = false;
  #closing: Promise<void> | null = null;

  /**
   * @param config - a resolved config (`resolveConfig()` / `loadConfig()`).
   * @param domain - the tenant; default `config.defaultDomain`.
   * @param connections - where named connections come from (a farm's pool).
   * @throws `TypeError` when `domain` is not a non-empty string.
   */
  constructor(
    config: ResolvedConfig,
    domain: string,
    connections: ConnectionProvider,
    options: JobQueueGroupOptions = {},
  ) {
    if (typeof domain !== 'string' || domain.length === 0) {
      throw new TypeError(`JobQueueGroup: domain must be a non-empty string, got ${String(domain)}`);
    }
    this.config = config;
    this.domain = domain;
    this.#clock = options.clock ?? systemClock;
    this.#readOnlyReason = config.readOnlyReason ?? options.readOnlyReason ?? null;
    this.#onClose = options.onClose ?? null;
    this.#aggregator = options.aggregator ?? null;
    this.#excluded = new Set(config.typesExcludedFromDefaultQueue);
    const shared = {
      clock: this.#clock,
      metrics: options.metrics ?? noopMetrics,
      tracer: options.tracer,
      aggregator: this.#aggregator,
      readOnlyReason: this.#readOnlyReason,
    };
    this.#queues = new GroupQueues(config, domain, connections, shared, String(this));
  }

  /** The group-wide read-only reason (the config's global one, else the group's option), or null. */
  get readOnlyReason(): string | null {
    return this.#readOnlyReason;
  }

  /** The clock every queue of the group uses. */
  get clock(): Clock {
    return this.#clock;
  }

  /** The aggregator every queue of the group notifies, or null. */
  get aggregator(): JobQueueAggregator | null {
    return this.#aggregator;
  }

  /** Types the {@link DEFAULT} pop skips (from the config). */
  get typesExcludedFromDefaultQueue(): readonly string[] {
    return this.config.typesExcludedFromDefaultQueue;
  }

  /** True once {@link JobQueueGroup.close} has been called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Specifications buffered by {@link JobQueueGroup.lazyPush} and not yet flushed. */
  get bufferedCount(): number {
    return this.#buffer.count;
  }

  /** `job queue group enwiki`, for messages. */
  toString(): string {
    return `job queue group ${this.domain}`;
  }

  // ---------------------------------------------------------------- routing

  /**
   * The queue of `type` in this domain, built on first use from the type's `jobTypeConf` entry
   * (else `default`) and cached. Building does no I/O.
   *
   * @throws `TypeError` for an empty type, `SWITCHYARD_CONFIG_INVALID` when the backend rejects
   *   the entry's options, `SWITCHYARD_QUEUE_CLOSED`.
   */
  get<T extends string = JobType>(type: T): JobQueue<T> {
    this.#assertOpen();
    return this.#queue(type) as unknown as JobQueue<T>;
  }

  /**
   * Known job types: the config's `jobTypes`, its per-type `jobTypeConf` entries, and every type
   * this group has used so far, in that order.
   *
   * @throws `SWITCHYARD_QUEUE_CLOSED`.
   */
  getQueueTypes(): string[] {
    this.#assertOpen();
    return this.#queues.knownTypes();
  }

  // ---------------------------------------------------------------- push

  /**
   * Pushes one job or a batch, split by type, each type's batch to its queue. The whole input is
   * validated first (and every target queue checked for read-only mode and the features the
   * batch needs), so bad input stores nothing. Returns the summed counts.
   *
   * @remarks Different types go to different queues, so `{ atomic: true }` is only accepted for
   *   a single-type batch. A store failure part-way leaves earlier types' jobs stored.
   * @throws `SWITCHYARD_INVALID_JOB` naming each bad index (e.g. a spec whose `domain` is not the
   *   group's), `SWITCHYARD_READ_ONLY`, `SWITCHYARD_NOT_SUPPORTED` (delayed jobs, atomic or
   *   transactional push a queue lacks; atomic across types), `SWITCHYARD_QUEUE_CLOSED`.
   */
  async push<T extends string = JobType>(
    specs: JobSpecification<T> | readonly JobSpecification<T>[],
    options: PushOptions = {},
  ): Promise<PushResult> {
    this.#assertWritable();
    const batches = splitByType(specs, this.domain);
    return this.#pushBatches(batches, options, () => {});
  }

  /**
   * Buffers jobs until {@link JobQueueGroup.flush} or {@link JobQueueGroup.close}
   * (MediaWiki's lazyPush). Input is validated now, so a bad spec fails here, not at flush.
   *
   * @throws as {@link JobQueueGroup.push} (nothing is buffered on failure).
   */
  lazyPush<T extends string = JobType>(specs: JobSpecification<T> | readonly JobSpecification<T>[]): void {
    this.#assertWritable();
    const batches = splitByType(specs, this.domain);
    for (const [type, batch] of batches) checkPush(this.#queue(type), batch, {});
    this.#buffer.add(batches);
  }

  /**
   * Pushes everything {@link JobQueueGroup.lazyPush} buffered, one batch per type. On failure the
   * batches not yet stored go back to the buffer (nothing is dropped) and the error is rethrown.
   *
   * @throws as {@link JobQueueGroup.push}.
   */
  async flush(): Promise<PushResult> {
    this.#assertWritable();
    return this.#flushBuffer();
  }

  // ---------------------------------------------------------------- pop / ack

  /**
   * Claims one job from the selected types: candidates are shuffled so no type starves, and the
   * first non-null pop wins. With {@link DEFAULT} or {@link ANY} only types with ready jobs are
   * tried (one sibling query per store). Push-only and read-only queues are skipped, as are the
   * types in `ignore`.
   *
   * @remarks {@link DEFAULT} and {@link ANY} consider the known types
   *   ({@link JobQueueGroup.getQueueTypes}): declare `jobTypes` in the config so a fresh process
   *   finds jobs that other processes pushed. When such a pop finds nothing it runs due
   *   maintenance on the candidate queues (at most once per `maintenanceInterval`), so expired
   *   claims come back without a chron (P-20). Store errors propagate; put a failing type in
   *   `ignore` to pop around it.
   * @param selector - {@link DEFAULT} (default), {@link ANY}, one type, or a list of types.
   * @returns the job, or null when none of the candidates had one.
   * @throws `SWITCHYARD_NOT_SUPPORTED` when a single named type is push-only,
   *   `SWITCHYARD_READ_ONLY`, `SWITCHYARD_QUEUE_CLOSED`, `TypeError` for a bad selector.
   */
  async pop(selector: PopSelector = DEFAULT, options: GroupPopOptions = {}): Promise<Job | null> {
    this.#assertWritable();
    const ignore = new Set(stringList(options.ignore ?? [], 'pop(selector, { ignore })'));
    if (typeof selector === 'string') {
      if (ignore.has(selector)) return null;
      const queue = this.#queue(selector);
      if (!queue.supports.pop) throw notSupported('pop', String(queue));
      return queue.pop();
    }
    if (selector !== DEFAULT && selector !== ANY) {
      const listed = [...new Set(stringList(selector, 'pop(selector)'))];
      return popFirst(
        this.#queue,
        listed.filter((t) => !ignore.has(t)),
      );
    }
    const known = this.#queues
      .knownTypes()
      .filter((t) => !ignore.has(t) && (selector === ANY || !this.#excluded.has(t)));
    const job = await popFirst(this.#queue, await typesWithJobs(this.#queue, known, true));
    if (job || !(await this.#sweep.sweep(this.#queue, known, this.#clock))) return job;
    return popFirst(this.#queue, await typesWithJobs(this.#queue, known, true));
  }

  /**
   * Acknowledges a popped job on its type's queue (fenced by the claim token, P-11).
   *
   * @throws `SWITCHYARD_INVALID_JOB` for a job of another domain, `SWITCHYARD_READ_ONLY`,
   *   `SWITCHYARD_NOT_SUPPORTED`, `SWITCHYARD_QUEUE_CLOSED`, `TypeError` for a non-job.
   */
  async ack(job: GroupClaimRef): Promise<boolean> {
    this.#assertWritable();
    return this.#route(job, 'ack').ack(job);
  }

  /**
   * Returns a claimed job to ready (or delayed by `delay` seconds) on its type's queue (P-12).
   *
   * @throws as {@link JobQueueGroup.ack}.
   */
  async release(job: GroupClaimRef, options: { readonly delay?: number } = {}): Promise<ReleaseOutcome> {
    this.#assertWritable();
    return this.#route(job, 'release').release(job, options);
  }

  /**
   * Renews a claim on its type's queue (P-12).
   *
   * @throws as {@link JobQueueGroup.ack}.
   */
  async extendClaim(job: GroupClaimRef): Promise<boolean> {
    this.#assertWritable();
    return this.#route(job, 'extendClaim').extendClaim(job);
  }

  // ---------------------------------------------------------------- sizes

  /**
   * Known types whose queue has ready jobs, asking each store once (promises §6): poppable queues are
   * grouped by store and one sibling query is sent per store; a queue whose backend cannot
   * answer for siblings is asked alone. Push-only queues and queues without sizes are left out.
   *
   * @throws `SWITCHYARD_QUEUE_CLOSED`; store errors propagate.
   */
  async getQueuesWithJobs(): Promise<string[]> {
    this.#assertOpen();
    return typesWithJobs(this.#queue, this.#queues.knownTypes(), false);
  }

  /**
   * {@link QueueStats} (the four counts and the oldest ready job) of the known types, one sibling
   * query per store where the backend has one (else each queue's four counts). Push-only queues
   * and queues without sizes are left out.
   *
   * @throws `SWITCHYARD_QUEUE_CLOSED`; store errors propagate.
   */
  async getQueueStats(): Promise<Record<string, QueueStats>> {
    this.#assertOpen();
    const types = this.#queues.knownTypes();
    const stats = await queueStats(this.#queue, types);
    const out: Record<string, QueueStats> = {};
    for (const type of types) {
      const s = stats.get(type);
      if (s !== undefined) out[type] = s;
    }
    return out;
  }

  /**
   * Ready counts of the known types, one sibling query per store as
   * {@link JobQueueGroup.getQueuesWithJobs}. Push-only queues and queues without sizes are left out.
   *
   * @throws `SWITCHYARD_QUEUE_CLOSED`; store errors propagate.
   */
  async getQueueSizes(): Promise<Record<string, number>> {
    this.#assertOpen();
    const sizes = await queueSizes(this.#queue, this.#queues.knownTypes());
    const out: Record<string, number> = {};
    for (const type of this.#queues.knownTypes()) {
      const size = sizes.get(type);
      if (size !== undefined) out[type] = size;
    }
    return out;
  }

  // ---------------------------------------------------------------- close

  /**
   * Flushes the lazy-push buffer, then closes every queue the group built (never the connections
   * a provider lent it), then runs the `onClose` option. Idempotent; every later call on the
   * group throws `SWITCHYARD_QUEUE_CLOSED`. The queues are closed even when the flush fails; the
   * first error is rethrown afterwards.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#closed = true;
    const errors: unknown[] = [];
    if (!this.#buffer.empty) {
      try {
        await this.#flushBuffer();
      } catch (error) {
        errors.push(error);
      }
    }
    const queues = this.#queues.takeAll();
    for (const r of await Promise.allSettled(queues.map((q) => q.close()))) {
      if (r.status === 'rejected') errors.push(r.reason);
    }
    if (this.#onClose) {
      try {
        await this.#onClose();
      } catch (error) {
        errors.push(error);
      }
    }
    if (errors.length > 0) throw errors[0];
  }

  // ================================================================ internals

  #assertOpen(): void {
    if (this.#closed) throw queueClosed(String(this));
  }

  #assertWritable(): void {
    this.#assertOpen();
    if (this.#readOnlyReason !== null) throw readOnly(String(this), this.#readOnlyReason);
  }

  /**
   * Pushes each type's batch in turn after checking every target queue. `onFail` receives the
   * batches not yet stored (the failing one first) before the error is rethrown.
   */
  #pushBatches(
    batches: Batches,
    options: PushOptions,
    onFail: (unpushed: Batches) => void,
  ): Promise<PushResult> {
    return pushBatches(this.#queue, batches, options, onFail, String(this));
  }

  /** Pushes the lazy-push buffer; what is not stored goes back to it (nothing is dropped). */
  #flushBuffer(): Promise<PushResult> {
    return this.#buffer.flush((batches, onFail) => this.#pushBatches(batches, {}, onFail));
  }

  #route(job: GroupClaimRef, op: string): JobQueue {
    if (typeof job !== 'object' || job === null || typeof job.type !== 'string' || job.type.length === 0) {
      throw new TypeError(`${op}(job): expected a popped job with id, type and claimToken`);
    }
    if (job.domain !== undefined && job.domain !== this.domain) {
      throw new SwitchyardError(
        ErrorCode.INVALID_JOB,
        `${op}(job): job ${String(job.id)} belongs to domain "${String(job.domain)}", not ${String(this)}`,
      );
    }
    return this.#queue(job.type);
  }
}

/** Checks that `value` is an array of non-empty strings. */
function stringList(value: unknown, where: string): string[] {
  if (!Array.isArray(value)) throw new TypeError(`${where}: expected an array of job types`);
  for (const item of value) {
    if (typeof item !== 'string' || item.length === 0) {
      throw new TypeError(`${where}: every job type must be a non-empty string, got ${String(item)}`);
    }
  }
  return value as string[];
}
