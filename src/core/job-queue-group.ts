/**
 * JobQueueGroup (promises §6): the queues of one domain, routed by job type through a resolved
 * config (MediaWiki's JobQueueGroup). It splits pushes by type, buffers lazy pushes, pops from a
 * shuffled set of non-empty queues, and answers "which queues have jobs" with one call per store.
 *
 * @packageDocumentation
 */
import type { JobQueueAggregator } from './aggregator.js';
import type { BackendConnection, BackendContext } from './backend.js';
import { type Clock, systemClock } from './clock.js';
import type { ResolvedConfig, ResolvedQueueConf } from './config-types.js';
import { configInvalid, ErrorCode, notSupported, queueClosed, readOnly, SwitchyardError } from './errors.js';
import { type Job, type JobSpecification, type JobType, type NormalizedJob, normalizeJobs } from './job.js';
import {
  type ClaimRef,
  checkPush,
  type JobQueue,
  type PushOptions,
  type PushResult,
  pushNormalized,
  type ReleaseOutcome,
} from './job-queue.js';
import { type MetricsSink, noopMetrics } from './metrics.js';
import type { JobTracer } from './tracing.js';

/**
 * Pop selector: every type with jobs except `typesExcludedFromDefaultQueue` (the default).
 * A registered symbol, so two copies of the package agree on it.
 */
export const DEFAULT: unique symbol = Symbol.for('switchyard.pop.default');

/** Pop selector: every known type with jobs, excluded ones included. */
export const ANY: unique symbol = Symbol.for('switchyard.pop.any');

/** What {@link JobQueueGroup.pop} pops from: {@link DEFAULT}, {@link ANY}, one type or a list of types. */
export type PopSelector = typeof DEFAULT | typeof ANY | string | readonly string[];

/**
 * Hands out shared connections by name (a farm's connection pool). The group never closes them:
 * whoever owns the provider does.
 */
export interface ConnectionProvider {
  /**
   * The open connection named `name`, opening it on first use.
   *
   * @throws `SWITCHYARD_CONFIG_INVALID` for an unknown name, `SWITCHYARD_QUEUE_CLOSED` once closed.
   */
  connection(name: string): BackendConnection;
}

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

type Batches = Map<string, NormalizedJob[]>;

const NOTHING: PushResult = Object.freeze({ inserted: 0, duplicates: 0 });

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
  readonly #connections: ConnectionProvider;
  readonly #clock: Clock;
  readonly #metrics: MetricsSink;
  readonly #tracer: JobTracer | undefined;
  readonly #readOnlyReason: string | null;
  readonly #aggregator: JobQueueAggregator | null;
  readonly #onClose: (() => Promise<void>) | null;
  readonly #queues = new Map<string, JobQueue>();
  readonly #usedTypes = new Set<string>();
  readonly #excluded: ReadonlySet<string>;
  #buffer: Batches = new Map();
  #closed = false;
  #closing: Promise<void> | null = null;
  #lastSweep = Number.NEGATIVE_INFINITY;

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
    this.#connections = connections;
    this.#clock = options.clock ?? systemClock;
    this.#metrics = options.metrics ?? noopMetrics;
    this.#tracer = options.tracer;
    this.#readOnlyReason = config.readOnlyReason ?? options.readOnlyReason ?? null;
    this.#onClose = options.onClose ?? null;
    this.#aggregator = options.aggregator ?? null;
    this.#excluded = new Set(config.typesExcludedFromDefaultQueue);
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
    let n = 0;
    for (const specs of this.#buffer.values()) n += specs.length;
    return n;
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
    return this.#knownTypes();
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
    const batches = this.#split(specs);
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
    const batches = this.#split(specs);
    for (const [type, batch] of batches) checkPush(this.#queue(type), batch, {});
    for (const [type, batch] of batches) {
      const pending = this.#buffer.get(type);
      if (pending) pending.push(...batch);
      else this.#buffer.set(type, batch);
    }
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
      return this.#popFirst(listed.filter((t) => !ignore.has(t)));
    }
    const known = this.#knownTypes().filter(
      (t) => !ignore.has(t) && (selector === ANY || !this.#excluded.has(t)),
    );
    const job = await this.#popFirst(await this.#typesWithJobs(known, true));
    if (job || !(await this.#sweepIfDue(known))) return job;
    return this.#popFirst(await this.#typesWithJobs(known, true));
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
    return this.#typesWithJobs(this.#knownTypes(), false);
  }

  /**
   * Ready counts of the known types, one sibling query per store as
   * {@link JobQueueGroup.getQueuesWithJobs}. Push-only queues and queues without sizes are left out.
   *
   * @throws `SWITCHYARD_QUEUE_CLOSED`; store errors propagate.
   */
  async getQueueSizes(): Promise<Record<string, number>> {
    this.#assertOpen();
    const sizes = new Map<string, number>();
    await this.#perStore(
      this.#knownTypes(),
      async (rep, types) => {
        const answer = await rep.getSiblingQueueSizes(types);
        if (answer === null) return false;
        for (const type of types) sizes.set(type, answer[type] ?? 0);
        return true;
      },
      async (queue) => {
        sizes.set(queue.type, await queue.getSize());
      },
    );
    const out: Record<string, number> = {};
    for (const type of this.#knownTypes()) {
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
    if (this.#buffer.size > 0) {
      try {
        await this.#flushBuffer();
      } catch (error) {
        errors.push(error);
      }
    }
    const queues = [...this.#queues.values()];
    this.#queues.clear();
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

  /** The entry routing `type`: its own, else `default`. */
  #entry(type: string): ResolvedQueueConf {
    const conf = this.config.jobTypeConf;
    return (Object.hasOwn(conf, type) ? conf[type] : undefined) ?? conf.default;
  }

  #queue(type: string): JobQueue {
    if (typeof type !== 'string' || type.length === 0) {
      throw new TypeError(`${String(this)}: a job type must be a non-empty string, got ${String(type)}`);
    }
    const cached = this.#queues.get(type);
    if (cached && !cached.closed) return cached;
    const entry = this.#entry(type);
    const connection = entry.connection === null ? null : this.#connections.connection(entry.connection);
    const context: BackendContext = {
      queue: this.#queueOptions(type, entry),
      settings: entry.settings,
      connection,
      connectionName: entry.connection,
      connections: this.#connections,
    };
    const queue = entry.backend.createQueue(context);
    if (queue.type !== type || queue.domain !== this.domain) {
      throw configInvalid(
        [
          {
            path: `${entry.path}.class`,
            message: `backend built a queue for ${queue.domain}/${queue.type} when asked for ${this.domain}/${type}`,
            value: entry.class,
          },
        ],
        `configuration ${this.config.source}`,
      );
    }
    this.#queues.set(type, queue);
    this.#usedTypes.add(type);
    return queue;
  }

  #queueOptions(type: string, entry: ResolvedQueueConf): BackendContext['queue'] {
    const base = {
      ...entry.queue,
      type,
      readOnlyReason: this.#readOnlyReason ?? entry.queue.readOnlyReason ?? null,
      domain: this.domain,
      clock: this.#clock,
      metrics: this.#metrics,
      ...(this.#tracer ? { tracer: this.#tracer } : {}),
    };
    return this.#aggregator === null ? base : { ...base, aggregator: this.#aggregator };
  }

  #knownTypes(): string[] {
    const types = new Set<string>(this.config.jobTypes);
    for (const type of Object.keys(this.config.jobTypeConf)) if (type !== 'default') types.add(type);
    for (const type of this.#usedTypes) types.add(type);
    return [...types];
  }

  /** Validates the whole input (indices as given) and splits it by type, keeping order. */
  #split(specs: unknown): Batches {
    const list: readonly unknown[] = Array.isArray(specs) ? specs : [specs];
    const batches: Batches = new Map();
    for (const job of normalizeJobs(list, { domain: this.domain, type: null })) {
      const batch = batches.get(job.type);
      if (batch) batch.push(job);
      else batches.set(job.type, [job]);
    }
    return batches;
  }

  /**
   * Pushes each type's batch in turn after checking every target queue. `onFail` receives the
   * batches not yet stored (the failing one first) before the error is rethrown.
   */
  async #pushBatches(
    batches: Batches,
    options: PushOptions,
    onFail: (unpushed: Batches) => void,
  ): Promise<PushResult> {
    if (batches.size === 0) return NOTHING;
    const pending: [JobQueue, string, NormalizedJob[]][] = [];
    try {
      if (options.atomic === true && batches.size > 1) {
        throw notSupported('atomic push across several job types', String(this));
      }
      for (const [type, batch] of batches) {
        const queue = this.#queue(type);
        checkPush(queue, batch, options);
        pending.push([queue, type, batch]);
      }
    } catch (error) {
      onFail(batches);
      throw error;
    }
    let inserted = 0;
    let duplicates = 0;
    for (let i = 0; i < pending.length; i++) {
      const [queue, , batch] = pending[i] as [JobQueue, string, NormalizedJob[]];
      try {
        const r = await queue[pushNormalized](batch, options);
        inserted += r.inserted;
        duplicates += r.duplicates;
      } catch (error) {
        onFail(new Map(pending.slice(i).map(([, type, b]) => [type, b])));
        throw error;
      }
    }
    return { inserted, duplicates };
  }

  #flushBuffer(): Promise<PushResult> {
    const batches = this.#buffer;
    this.#buffer = new Map();
    return this.#pushBatches(batches, {}, (unpushed) => {
      // Put unstored jobs back ahead of anything buffered meanwhile: nothing is dropped.
      for (const [type, later] of this.#buffer) {
        const earlier = unpushed.get(type);
        if (earlier) earlier.push(...later);
        else unpushed.set(type, later);
      }
      this.#buffer = unpushed;
    });
  }

  /** Pops the shuffled candidates in turn (skipping push-only and read-only queues); first job wins. */
  async #popFirst(types: readonly string[]): Promise<Job | null> {
    for (const type of shuffle(types)) {
      const queue = this.#queue(type);
      if (!queue.supports.pop || queue.readOnlyReason !== null) continue;
      const job = await queue.pop();
      if (job) return job;
    }
    return null;
  }

  /**
   * Opportunistic maintenance for group pops (P-20): a {@link DEFAULT} / {@link ANY} pop only
   * tries queues with ready jobs, so a queue whose only jobs are expired claims would never be
   * popped, never run its own after-empty-pop maintenance, and keep them until a chron ran.
   * When such a pop finds nothing, and at most once per the smallest `maintenanceInterval` of the
   * queues, this runs maintenance on every candidate queue. True when it made jobs ready.
   */
  async #sweepIfDue(types: readonly string[]): Promise<boolean> {
    let interval = Number.POSITIVE_INFINITY;
    const queues: JobQueue[] = [];
    for (const type of types) {
      const q = this.#queue(type);
      if (!q.supports.pop || q.readOnlyReason !== null || q.maintenanceInterval === null) continue;
      queues.push(q);
      interval = Math.min(interval, q.maintenanceInterval);
    }
    const now = this.#clock.now();
    if (queues.length === 0 || now - this.#lastSweep < interval * 1000) return false;
    this.#lastSweep = now;
    const results = await Promise.all(queues.map((q) => q.runMaintenance()));
    return results.some((r) => r.recycled + r.released > 0);
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

  /**
   * Of `types`, those whose queue has ready jobs (in `types` order). With `withUnsized`, poppable
   * queues that cannot count are kept too (a pop may still find a job there).
   */
  async #typesWithJobs(types: readonly string[], withUnsized: boolean): Promise<string[]> {
    const hasJobs = new Set<string>();
    const unsized = await this.#perStore(
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

  /**
   * Groups the poppable, countable queues of `types` by store and runs `perStore` once per store
   * (on its first queue) — falling back to `perQueue` for each queue of a store whose `perStore`
   * returns false, and for queues with no store identity. Stores are asked in parallel.
   *
   * @returns the poppable types that cannot be counted (`sizes: 'none'`).
   */
  async #perStore(
    types: readonly string[],
    perStore: (rep: JobQueue, types: string[]) => Promise<boolean>,
    perQueue: (queue: JobQueue) => Promise<void>,
  ): Promise<string[]> {
    const stores = new Map<string, JobQueue[]>();
    const alone: JobQueue[] = [];
    const unsized: string[] = [];
    for (const type of types) {
      const queue = this.#queue(type);
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
