/**
 * The abstract JobQueue (promises §2): one queue per (domain, type). Public methods validate and
 * normalise their arguments, enforce the capability manifest, emit metrics, and only then call a
 * `protected` hook that a backend implements. Backends never repeat those checks.
 *
 * @packageDocumentation
 */
import { randomUUID } from 'node:crypto';
import type { JobQueueAggregator } from './aggregator.js';
import { type Clock, systemClock } from './clock.js';
import {
  configInvalid,
  ErrorCode,
  type Issue,
  invalidJob,
  notSupported,
  queueClosed,
  readOnly,
  SwitchyardError,
} from './errors.js';
import { type FlowJobSpecification, type FlowNode, type FlowPushResult, normalizeFlow } from './flow.js';
import {
  type Job,
  type JobSpecification,
  type JobState,
  type JobType,
  type ListedJob,
  type NormalizedJob,
  normalizeJobs,
  type RootJob,
} from './job.js';
import {
  COUNTER_INDEX,
  COUNTER_NAMES,
  type CounterName,
  type CounterSource,
  type MetricLabels,
  type MetricsSink,
  newHistogram,
  noopMetrics,
  observeInto,
  type QueueHistograms,
} from './metrics.js';
import {
  freezeGroupLimits,
  type GroupLimits,
  type JobQueueOptions,
  QUEUE_DEFAULTS,
  validateQueueOptions,
} from './queue-options.js';
import { defineSupports, type Order, type Supports } from './supports.js';
import { type JobTracer, noopTracer } from './tracing.js';

/** Counter indexes by name, read as constant-name property loads (see `#count`). */
const C = COUNTER_INDEX;

// The options' type, table, defaults and validation live in queue-options.ts; re-exported for backends.
export {
  CONFIGURABLE_QUEUE_OPTIONS,
  type ConfiguredQueueOptions,
  type JobQueueOptions,
  QUEUE_DEFAULTS,
  validateQueueOptions,
} from './queue-options.js';

/** The key of {@link JobQueue}'s package-private push of already-normalised jobs (used by the group). */
export const pushNormalized: unique symbol = Symbol('switchyard.pushNormalized');

/**
 * A queue's counts, read together, and when its oldest ready job became ready: what the metrics
 * gauges sample ({@link JobQueue.getQueueStats}, {@link JobQueue.getSiblingQueueStats}).
 */
export interface QueueStats {
  readonly ready: number;
  readonly claimed: number;
  readonly delayed: number;
  readonly abandoned: number;
  /**
   * When the job that has waited longest among the ready ones became ready (its release time, else
   * its enqueue time; Unix ms), or null when none is ready or the backend cannot tell.
   */
  readonly oldestReadyAt: number | null;
}

/** The stats of a queue with no job in any state. */
export const EMPTY_QUEUE_STATS: QueueStats = Object.freeze({
  ready: 0,
  claimed: 0,
  delayed: 0,
  abandoned: 0,
  oldestReadyAt: null,
});

/** A (domain, type) found in a store by {@link JobQueue.listStoredQueues}. */
export interface StoredQueue {
  readonly domain: string;
  readonly type: string;
}

/** Options of `push()`. */
export interface PushOptions {
  /** All-or-nothing batch (P-16); needs `supports.atomicBatchPush`. */
  readonly atomic?: boolean;
  /**
   * A host transaction to enlist in (transactional enqueue): the jobs exist iff it commits.
   * Needs `supports.transactionalPush`; the object's type is the backend's (e.g. a knex transaction).
   */
  readonly transaction?: unknown;
}

/** What `push()` did. */
export interface PushResult {
  /** Jobs stored. */
  readonly inserted: number;
  /** Jobs skipped as duplicates of a ready/delayed job or of an earlier job in the batch (P-13). */
  readonly duplicates: number;
}

/** What `runMaintenance()` did (P-20). */
export interface MaintenanceResult {
  /** Expired claims returned to ready. */
  readonly recycled: number;
  /** Expired claims that had used every try, now abandoned. */
  readonly abandoned: number;
  /** Abandoned jobs deleted after abandonedTTL. */
  readonly pruned: number;
  /** Due delayed jobs moved to ready (0 where the store releases them on pop). */
  readonly released: number;
}

/**
 * The fields a backend hook returns for a claimed job. Backend authors: return a fresh object per
 * claim; the base class sets `isDuplicate` on it.
 */
export type ClaimedJob = Omit<Job<string>, 'isDuplicate'>;

/** A job handle as ack / release / extend need it (a popped {@link Job}, or a listed claimed job). */
export interface ClaimRef {
  readonly id: string;
  readonly type: string;
  readonly claimToken: string;
}

/** Normalised options passed to `doBatchPush`. Backend authors: always present. */
export interface PushHookOptions {
  readonly atomic: boolean;
  /** The host transaction, or null. Only passed when `supports.transactionalPush`. */
  readonly transaction: unknown;
}

/** Normalised options passed to `doRelease`. */
export interface ReleaseHookOptions {
  /** Delay in milliseconds (0 = ready at once). */
  readonly delayMs: number;
}

/**
 * What `release()` did: the job went back to ready/delayed, or it had used its last try and is now
 * abandoned, or (false) the claim was no longer held and nothing changed.
 */
export type ReleaseOutcome = 'released' | 'abandoned' | false;

/** Unix-ms "now" plus derived deadlines handed to maintenance hooks. */
export interface MaintenanceHookOptions {
  readonly now: number;
}

/** Options of `waitForJobs()`. */
export interface WaitForJobsOptions {
  /** Milliseconds to wait at most (0 – 2^31−1). */
  readonly timeout: number;
  /** Abort to stop waiting; the wait then resolves false. */
  readonly signal?: AbortSignal;
}

/** The longest `waitForJobs()` timeout: what `setTimeout` can hold (about 24.8 days). */
export const MAX_WAIT_MS = 2_147_483_647;

/** A new random job id. */
export function newJobId(): string {
  return randomUUID();
}

/** A new random claim token. */
export function newClaimToken(): string {
  return randomUUID();
}

/**
 * One queue of one job type in one domain. Subclass it to write a backend: implement the
 * `protected do*` hooks your manifest promises and leave the rest to their defaults, which either
 * work through other hooks or throw `SWITCHYARD_NOT_SUPPORTED` (never a silent no-op).
 *
 * @typeParam T - the job type, so params are typed through {@link JobTypes}.
 */
export abstract class JobQueue<T extends string = JobType> {
  /** The backend's frozen capability manifest. */
  readonly supports: Supports;
  readonly domain: string;
  readonly type: T;
  /** Seconds; 0 = no claim tracking. */
  readonly claimTTL: number;
  readonly maxTries: number;
  readonly order: Order;
  readonly readOnlyReason: string | null;
  /** Seconds. */
  readonly abandonedTTL: number;
  /** Seconds. */
  readonly rootJobTTL: number;
  /** Seconds, or null when opportunistic maintenance is off. */
  readonly maintenanceInterval: number | null;
  protected readonly clock: Clock;
  protected readonly metrics: MetricsSink;
  readonly #tracer: JobTracer;
  /** The aggregator this queue notifies, or null. */
  readonly aggregator: JobQueueAggregator | null;
  /** The `groupLimits` option, frozen (null: groups pop round-robin, unlimited). Backends enforce it. */
  readonly groupLimits: GroupLimits | null;
  #labels: MetricLabels;
  /** This queue's own counters when the sink pulls them (see `MetricsSink.attachCounters`). */
  readonly #counters: CounterSource | null = null;
  /** `#labels` plus `op`, one frozen object per public method (metrics sinks may key on identity). */
  readonly #opLabels = new Map<string, MetricLabels>();
  /** From the sink's `callTimeEvery` (1: time every call). */
  readonly #callTimeEvery: number;
  #calls = 0;
  #closed = false;
  /** Aborts the pending `waitForJobs()` calls (on close). */
  readonly #waits = new Set<AbortController>();
  #lastMaintenance = Number.NEGATIVE_INFINITY;

  /**
   * @param backendName - the class name for messages and metric labels (`memory`, `sql`, …).
   * @param supports - the backend's manifest (merged over all-false defaults, then frozen).
   * @throws `SWITCHYARD_CONFIG_INVALID` naming every bad option (e.g. an order the backend lacks).
   */
  protected constructor(
    readonly backendName: string,
    supports: Partial<Supports>,
    options: JobQueueOptions,
  ) {
    this.supports = defineSupports(supports);
    const issues = validateQueueOptions(options, this.supports);
    if (issues.length > 0) throw configInvalid(issues, `options of ${backendName} queue "${options.type}"`);
    this.domain = options.domain ?? QUEUE_DEFAULTS.domain;
    this.type = options.type as T;
    this.claimTTL = this.supports.ack ? (options.claimTTL ?? QUEUE_DEFAULTS.claimTTL) : 0;
    this.maxTries = options.maxTries ?? QUEUE_DEFAULTS.maxTries;
    this.order = options.order ?? QUEUE_DEFAULTS.order;
    // An empty reason means writable: a read-only queue always says why.
    this.readOnlyReason = options.readOnlyReason ? options.readOnlyReason : null;
    this.abandonedTTL = options.abandonedTTL ?? QUEUE_DEFAULTS.abandonedTTL;
    this.rootJobTTL = options.rootJobTTL ?? QUEUE_DEFAULTS.rootJobTTL;
    this.maintenanceInterval =
      options.maintenanceInterval === undefined
        ? QUEUE_DEFAULTS.maintenanceInterval
        : options.maintenanceInterval;
    this.clock = options.clock ?? systemClock;
    this.metrics = options.metrics ?? noopMetrics;
    this.#callTimeEvery = Math.max(1, Math.floor(this.metrics.callTimeEvery ?? 1));
    this.#tracer = options.tracer ?? noopTracer;
    this.aggregator = options.aggregator ?? null;
    this.groupLimits = freezeGroupLimits(options.groupLimits);
    this.#labels = Object.freeze({ domain: this.domain, type: this.type, backend: backendName });
    if (this.metrics.attachCounters !== undefined) {
      const bounds = this.metrics.histogramBoundsMs;
      let histograms: QueueHistograms | null = null;
      if (bounds !== undefined) {
        const boundsMs = Float64Array.from(bounds);
        histograms = {
          boundsMs,
          pickup_delay: newHistogram(boundsMs),
          root_job_age: newHistogram(boundsMs),
          call_time: new Map(),
        };
      }
      this.#counters = {
        labels: this.#labels,
        values: new Float64Array(COUNTER_NAMES.length),
        histograms,
      };
      this.metrics.attachCounters(this.#counters);
    }
  }

  /** True when claims are tracked (the backend can ack and `claimTTL > 0`). */
  get tracksClaims(): boolean {
    return this.supports.ack && this.claimTTL > 0;
  }

  /** True after `close()`. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * An identity shared by queues that live in the same store and can answer sibling queries for
   * each other (promises §6), or null. Backend authors: return `<backend>:<store identity>` (e.g.
   * `sql:postgres://db1/app:switchyard_`), never a bare connection name that could clash.
   */
  get storeKey(): string | null {
    return null;
  }

  /** `memory:default/refreshLinks`, for messages. */
  toString(): string {
    return `${this.backendName} queue ${this.domain}/${this.type}`;
  }

  // ---------------------------------------------------------------- push

  /**
   * Pushes one job or a batch (P-1). Duplicates inside the batch collapse to the first (P-13);
   * root jobs marked `isSelf` register their root after the insert (P-14).
   *
   * @throws `SWITCHYARD_INVALID_JOB` listing every bad field (nothing stored),
   *   `SWITCHYARD_READ_ONLY`, `SWITCHYARD_NOT_SUPPORTED` (delayed jobs, atomic or transactional
   *   push on a backend without them: the whole batch is rejected), `SWITCHYARD_QUEUE_CLOSED`.
   */
  async push(
    specs: JobSpecification<T> | readonly JobSpecification<T>[],
    options: PushOptions = {},
  ): Promise<PushResult> {
    this.#assertWritable();
    const list: readonly unknown[] = Array.isArray(specs) ? specs : [specs];
    if (list.length === 0) return { inserted: 0, duplicates: 0 };
    if (this.#tracer === noopTracer) return this.#push(list, options, null);
    return this.#tracer.push({ ...this.#labels, count: list.length }, (rid) =>
      this.#push(list, options, rid),
    );
  }

  /**
   * The group's way in: jobs it has already normalised (and routed by type, so P-2 holds), pushed
   * without normalising (and hashing) them a second time. Not part of the public API.
   *
   * @internal
   */
  [pushNormalized](jobs: readonly NormalizedJob[], options: PushOptions): Promise<PushResult> {
    this.#assertWritable();
    if (jobs.length === 0) return Promise.resolve({ inserted: 0, duplicates: 0 });
    if (this.#tracer === noopTracer) return this.#pushJobs(jobs, options, null);
    return this.#tracer.push({ ...this.#labels, count: jobs.length }, (rid) =>
      this.#pushJobs(jobs, options, rid),
    );
  }

  #push(list: readonly unknown[], options: PushOptions, requestId: string | null): Promise<PushResult> {
    const normalized = normalizeJobs(list, {
      domain: this.domain,
      type: this.supports.typeAgnostic ? null : this.type,
    });
    return this.#pushJobs(normalized, options, requestId);
  }

  async #pushJobs(
    normalized: readonly NormalizedJob[],
    options: PushOptions,
    requestId: string | null,
  ): Promise<PushResult> {
    const jobs =
      requestId === null
        ? normalized
        : normalized.map((j) => (j.requestId === null ? { ...j, requestId } : j));
    checkPush(this, jobs, options);
    const atomic = options.atomic === true;
    const transaction = options.transaction ?? null;
    const unique = collapseBatchDuplicates(jobs);
    const collapsed = jobs.length - unique.length;
    const result = await this.#timed('push', () => this.doBatchPush(unique, { atomic, transaction }));
    this.#count(C.inserts, jobs.length);
    this.#count(C.actual_inserts, result.inserted);
    this.#count(C.dupe_inserts, result.duplicates + collapsed);
    if (this.supports.rootJobs) {
      const roots = newestRoots(unique);
      if (roots.length > 0) await this.doRegisterRootJobs(roots, { transaction });
    }
    if (result.inserted > 0) await this.#notifyNonEmpty();
    return { inserted: result.inserted, duplicates: result.duplicates + collapsed };
  }

  // ---------------------------------------------------------------- flows

  /**
   * Pushes a flow: jobs of this queue, each named, where a job waits (state `waiting`) until every
   * job named in its `after` was acked (`supports.dependencies`). All of them are stored, and
   * linked, atomically; the store settles the links when a dependency is acked (success), or
   * abandoned or cancelled (failure: the waiting job's `onDependencyFailure` policy). Jobs with no
   * `after` are ready (or delayed) at once.
   *
   * @returns each job's id by name.
   * @throws `SWITCHYARD_INVALID_JOB` (bad jobs, names or links, a cycle: nothing stored),
   *   `SWITCHYARD_NOT_SUPPORTED` without `supports.dependencies` or claim tracking (success is the
   *   ack), or for a field the queue refuses in `push()`, `SWITCHYARD_READ_ONLY`,
   *   `SWITCHYARD_QUEUE_CLOSED`.
   */
  async pushFlow(jobs: readonly FlowJobSpecification<T>[]): Promise<FlowPushResult> {
    this.#assertWritable();
    if (!this.supports.dependencies) throw notSupported('pushFlow (job dependencies)', String(this));
    if (!this.tracksClaims) {
      throw notSupported('pushFlow (needs claim tracking: ack and claimTTL > 0)', String(this));
    }
    const nodes = normalizeFlow(jobs, { domain: this.domain, type: this.type });
    checkPush(
      this,
      nodes.map((n) => n.job),
      {},
    );
    const ids = await this.#timed('push', () => this.doPushFlow(nodes));
    this.#count(C.inserts, nodes.length);
    this.#count(C.actual_inserts, nodes.length);
    const out: Record<string, string> = {};
    nodes.forEach((n, i) => {
      out[n.name] = ids[i] as string;
    });
    if (nodes.some((n) => n.after.length === 0)) await this.#notifyNonEmpty();
    return { ids: Object.freeze(out) };
  }

  /** Jobs waiting for their dependencies (`supports.dependencies`; 0 without it). */
  getWaitingCount(): Promise<number> {
    if (!this.supports.dependencies) return Promise.resolve(0);
    return this.#sized('getWaitingCount', () => this.doGetWaitingCount());
  }

  // ---------------------------------------------------------------- pop

  /**
   * Claims the next ready job, or returns null when none is ready (P-6). The claim lasts
   * `claimTTL` seconds; with `claimTTL: 0` the job is removed at once.
   *
   * @throws `SWITCHYARD_NOT_SUPPORTED` on push-only backends (P-22), `SWITCHYARD_READ_ONLY`.
   */
  async pop(): Promise<Job<T> | null> {
    this.#assertPoppable();
    const startedAt = this.clock.now();
    let claimed: ClaimedJob | null;
    try {
      claimed = await this.#timedHot('pop', () => this.doPop());
    } catch (error) {
      this.#failed('pop');
      throw error;
    }
    if (claimed === null && this.#maintenanceDue()) {
      const m = await this.runMaintenance();
      if (m.recycled + m.released > 0) claimed = await this.#timed('pop', () => this.doPop());
    }
    if (claimed === null) {
      await this.#notifyEmpty(startedAt);
      return null;
    }
    this.#count(C.pops, 1);
    return this.#deliver(claimed);
  }

  /**
   * Claims up to `count` ready jobs in one go (one store round trip where `supports.batchPop`).
   * Returns fewer, or none, when fewer are ready.
   */
  async popBatch(count: number): Promise<Job<T>[]> {
    if (!Number.isInteger(count) || count < 1) {
      throw new TypeError('popBatch(count): count must be an integer ≥ 1');
    }
    this.#assertPoppable();
    const startedAt = this.clock.now();
    let claimed = await this.#timed('pop', () => this.#popHook(count));
    if (claimed.length === 0 && this.#maintenanceDue()) {
      const m = await this.runMaintenance();
      if (m.recycled + m.released > 0) claimed = await this.#timed('pop', () => this.#popHook(count));
    }
    if (claimed.length === 0) {
      await this.#notifyEmpty(startedAt);
      return [];
    }
    this.#count(C.pops, claimed.length);
    const out: Job<T>[] = [];
    for (const c of claimed) {
      const job = this.#deliver(c);
      out.push(job instanceof Promise ? await job : job);
    }
    return out;
  }

  #assertPoppable(): void {
    this.#assertWritable();
    if (!this.supports.pop) throw notSupported('pop', String(this));
  }

  /**
   * Observes pickup metrics and sets `isDuplicate` (P-14) on a freshly claimed job; synchronous
   * unless the job has a root to check.
   */
  #deliver(claimed: ClaimedJob): Job<T> | Promise<Job<T>> {
    const job = claimed as ClaimedJob & { isDuplicate: boolean };
    const h = this.#counters?.histograms ?? null;
    if (this.metrics !== noopMetrics) {
      const readyAt = Math.max(claimed.enqueuedAt, claimed.releaseTimestamp ?? 0);
      const ms = Math.max(0, claimed.claimedAt - readyAt);
      if (h !== null) observeInto(h.pickup_delay, h.boundsMs, ms);
      else this.metrics.observe('pickup_delay', this.#labels, ms);
    }
    job.isDuplicate = false;
    const root = claimed.rootJob;
    if (!root) return job as Job<T>;
    const age = Math.max(0, claimed.claimedAt - root.timestamp);
    if (h !== null) observeInto(h.root_job_age, h.boundsMs, age);
    else this.metrics.observe('root_job_age', this.#labels, age);
    return this.#checkRootDuplicate(claimed).then((isDuplicate) => {
      if (isDuplicate) this.#count(C.dupe_pops, 1);
      job.isDuplicate = isDuplicate;
      return job as Job<T>;
    });
  }

  #popHook(count: number): Promise<ClaimedJob[]> {
    return count === 1 ? this.doPop().then((j) => (j ? [j] : [])) : this.doBatchPop(count);
  }

  async #checkRootDuplicate(job: ClaimedJob): Promise<boolean> {
    if (!job.rootJob || !this.supports.rootJobs) return false;
    try {
      return await this.#isSuperseded(job.rootJob);
    } catch {
      // A failure of this check never loses the job (P-14): run it.
      this.#count(C.errors, 1, 'root_job_check');
      return false;
    }
  }

  // ---------------------------------------------------------------- ack / release / extend

  /**
   * Acknowledges a popped job: removes it for good (P-8). Fenced by the claim token (P-11):
   * returns false, and changes nothing, when the claim was already recycled or settled.
   * With `claimTTL: 0` the job was removed at pop and this returns true.
   */
  async ack(job: ClaimRef): Promise<boolean> {
    this.#assertWritable();
    if (!this.supports.ack) throw notSupported('ack', String(this));
    this.#assertClaimRef(job, 'ack(job)');
    if (this.claimTTL === 0) return true;
    let ok: boolean;
    try {
      ok = await this.#timedHot('ack', () => this.doAck(job));
    } catch (error) {
      this.#failed('ack');
      throw error;
    }
    this.#count(ok ? C.acks : C.acks_stale, 1);
    return ok;
  }

  /** Acknowledges many jobs in one call; one boolean per job, as {@link JobQueue.ack}. */
  async ackBatch(jobs: readonly ClaimRef[]): Promise<boolean[]> {
    this.#assertWritable();
    if (!this.supports.ack) throw notSupported('ack', String(this));
    for (let i = 0; i < jobs.length; i++) this.#assertClaimRef(jobs[i], `ackBatch(jobs[${i}])`);
    if (jobs.length === 0) return [];
    if (this.claimTTL === 0) return jobs.map(() => true);
    const results = await this.#timed('ack', () =>
      jobs.length === 1 ? this.doAck(jobs[0] as ClaimRef).then((r) => [r]) : this.doBatchAck(jobs),
    );
    const acked = results.filter(Boolean).length;
    this.#count(C.acks, acked);
    if (acked < jobs.length) this.#count(C.acks_stale, jobs.length - acked);
    return results;
  }

  /**
   * Returns a claimed job to ready at once, or to delayed after `delay` seconds (P-12), keeping its
   * attempt count. A job whose stored attempts reached `maxTries` becomes abandoned instead.
   * Fenced like ack: false when the claim is no longer held.
   */
  async release(job: ClaimRef, options: { readonly delay?: number } = {}): Promise<ReleaseOutcome> {
    this.#assertWritable();
    if (!this.tracksClaims)
      throw notSupported('release (needs claim tracking: ack and claimTTL > 0)', String(this));
    this.#assertClaimRef(job, 'release(job)');
    const delay = options.delay ?? 0;
    if (typeof delay !== 'number' || !Number.isFinite(delay) || delay < 0) {
      throw new TypeError(`release(job, { delay }): delay must be seconds ≥ 0, got ${String(delay)}`);
    }
    if (delay > 0 && !this.supports.delayedJobs) throw notSupported('release with a delay', String(this));
    const outcome = await this.#timed('release', () =>
      this.doRelease(job, { delayMs: Math.round(delay * 1000) }),
    );
    if (outcome === 'released') {
      this.#count(C.releases, 1);
      if (delay === 0) await this.#notifyNonEmpty();
    } else if (outcome === 'abandoned') this.#count(C.abandons, 1);
    return outcome;
  }

  /** Renews a claim for another `claimTTL` from now (P-12). False when the claim is no longer held. */
  async extendClaim(job: ClaimRef): Promise<boolean> {
    this.#assertWritable();
    if (!this.tracksClaims) throw notSupported('extendClaim (needs claim tracking)', String(this));
    this.#assertClaimRef(job, 'extendClaim(job)');
    return this.#timed('extend', () => this.doExtendClaim(job));
  }

  // ---------------------------------------------------------------- root jobs

  /**
   * Registers a root job so older jobs of the same root become duplicates (P-14). `push()` does
   * this itself for jobs whose `rootJob.isSelf` is true.
   */
  async deduplicateRootJob(spec: { readonly rootJob?: RootJob | null }): Promise<boolean> {
    this.#assertWritable();
    if (!this.supports.rootJobs) throw notSupported('root-job deduplication', String(this));
    const root = spec.rootJob;
    if (!root || typeof root.signature !== 'string' || typeof root.timestamp !== 'number') {
      throw new TypeError('deduplicateRootJob(spec): spec.rootJob { signature, timestamp } is required');
    }
    await this.doRegisterRootJobs([{ signature: root.signature, timestamp: root.timestamp }], {
      transaction: null,
    });
    return true;
  }

  /** True when a newer root job than `job`'s is registered (strictly newer; P-14). */
  async isRootJobOldDuplicate(job: { readonly rootJob?: RootJob | null }): Promise<boolean> {
    this.#assertOpen();
    if (!this.supports.rootJobs) throw notSupported('root-job deduplication', String(this));
    return job.rootJob ? this.#isSuperseded(job.rootJob) : false;
  }

  /** True when a strictly newer root than `root` is registered for its signature (P-14). */
  async #isSuperseded(root: RootJob): Promise<boolean> {
    const newest = await this.doGetRootJobTimestamp(root.signature);
    return newest !== null && root.timestamp < newest;
  }

  // ---------------------------------------------------------------- counts

  /** Ready jobs (P-17). */
  getSize(): Promise<number> {
    return this.#sized('getSize', () => this.doGetSize());
  }

  /** Claimed, not abandoned (P-17). */
  getAcquiredCount(): Promise<number> {
    return this.#sized('getAcquiredCount', () => this.doGetAcquiredCount());
  }

  /** Delayed jobs whose release time is in the future (P-17). */
  getDelayedCount(): Promise<number> {
    return this.#sized('getDelayedCount', () => this.doGetDelayedCount());
  }

  /** Abandoned jobs (P-17). */
  getAbandonedCount(): Promise<number> {
    return this.#sized('getAbandonedCount', () => this.doGetAbandonedCount());
  }

  /** True when no job is ready (P-17). */
  isEmpty(): Promise<boolean> {
    return this.#sized('isEmpty', () => this.doIsEmpty());
  }

  async #sized<R>(op: string, fn: () => Promise<R>): Promise<R> {
    this.#assertOpen();
    if (!this.supports.pop || this.supports.sizes === 'none') throw notSupported(op, String(this));
    return this.#timed(op, fn);
  }

  // ---------------------------------------------------------------- cancellation

  /**
   * Cancels job `id` of this queue (`supports.cancel`). A ready or delayed job is removed before it
   * runs (a dedup key it held is free again); an abandoned job is removed; a claimed job is removed
   * and its claim revoked, so its worker's ack, release and extend return false, and a runner
   * running it aborts the handler's signal with `JobCancelledError` at its next claim check and
   * neither acks nor retries it.
   *
   * @returns the state the job was in, or null when this queue holds no job `id` (it already ran,
   *   or never was).
   * @throws `SWITCHYARD_NOT_SUPPORTED` without `supports.cancel`, `SWITCHYARD_READ_ONLY`.
   */
  async cancel(id: string): Promise<JobState | null> {
    this.#assertWritable();
    if (!this.supports.cancel) throw notSupported('cancel', String(this));
    if (typeof id !== 'string' || id.length === 0) {
      throw new TypeError(`cancel(id): id must be a non-empty string, got ${JSON.stringify(id)}`);
    }
    const state = await this.#timed('cancel', () => this.doCancel(id));
    if (state !== null) this.#count(C.cancels, 1);
    return state;
  }

  /**
   * Cancels every ready or delayed job that holds the dedup key `spec` gets (as if pushed with
   * `removeDuplicates: true`, honouring its `removeDuplicatesIgnoreParams`), through the store's
   * index on the key (`supports.cancelByKey`). Claimed jobs with that key are not touched: they no
   * longer hold it (cancel them by id).
   *
   * @returns how many jobs were removed.
   * @throws `SWITCHYARD_INVALID_JOB` for a bad spec, `SWITCHYARD_NOT_SUPPORTED` without
   *   `supports.cancelByKey`, `SWITCHYARD_READ_ONLY`.
   */
  async cancelDuplicates(spec: JobSpecification<T>): Promise<number> {
    this.#assertWritable();
    if (!this.supports.cancelByKey) throw notSupported('cancelDuplicates', String(this));
    const [job] = normalizeJobs([{ ...spec, removeDuplicates: true }], {
      domain: this.domain,
      type: this.supports.typeAgnostic ? null : this.type,
    });
    const sha1 = (job as NormalizedJob).sha1 as string;
    const n = await this.#timed('cancel', () => this.doCancelByDedupKey(sha1));
    this.#count(C.cancels, n);
    return n;
  }

  /**
   * For each claim, whether it is still held (`supports.cancel`, claim tracking): false once the
   * job was cancelled, acked, released, or recycled after claimTTL. How a runner notices that a job
   * it runs was cancelled.
   *
   * @throws `SWITCHYARD_NOT_SUPPORTED` without `supports.cancel` or claim tracking.
   */
  async claimsHeld(jobs: readonly ClaimRef[]): Promise<boolean[]> {
    this.#assertOpen();
    if (!this.supports.cancel || !this.tracksClaims) {
      throw notSupported('claimsHeld (needs cancel and claim tracking)', String(this));
    }
    for (let i = 0; i < jobs.length; i++) this.#assertClaimRef(jobs[i], `claimsHeld(jobs[${i}])`);
    if (jobs.length === 0) return [];
    return this.#timed('claimsHeld', () => this.doClaimsHeld(jobs));
  }

  // ---------------------------------------------------------------- pause / resume

  /**
   * Pauses this queue (this domain × type) in the store: from the next pop on, every handle on the
   * store (every runner process) gets null from `pop()` / `popBatch()` and `waitForJobs()` does not
   * report it ready; pushes still land, claimed jobs still ack, release and extend. Idempotent.
   *
   * @throws `SWITCHYARD_NOT_SUPPORTED` without `supports.pause`, `SWITCHYARD_READ_ONLY`.
   */
  async pause(): Promise<void> {
    this.#assertPausable('pause');
    await this.#timed('pause', () => this.doSetPaused(true));
  }

  /** Lifts {@link JobQueue.pause}; idempotent. Waiters on the store are woken if jobs are ready. */
  async resume(): Promise<void> {
    this.#assertPausable('resume');
    await this.#timed('resume', () => this.doSetPaused(false));
  }

  /** Whether the queue is paused in the store. */
  async isPaused(): Promise<boolean> {
    this.#assertOpen();
    if (!this.supports.pause) throw notSupported('isPaused', String(this));
    return this.#timed('isPaused', () => this.doIsPaused());
  }

  // ---------------------------------------------------------------- periodic ticks

  /**
   * Claims tick `tick` (Unix ms, the scheduled time) of the periodic schedule `name` on this queue:
   * true for exactly one caller across every process on the store, and only when `tick` is later
   * than the last tick claimed (compare-and-set in the store), so a tick is never fired twice and
   * never after a later one. Used by {@link PeriodicScheduler}.
   *
   * @throws `SWITCHYARD_INVALID_JOB` for a bad name or tick, `SWITCHYARD_NOT_SUPPORTED` without
   *   `supports.periodicTicks`, `SWITCHYARD_READ_ONLY`.
   */
  async claimPeriodicTick(name: string, tick: number): Promise<boolean> {
    this.#assertWritable();
    if (!this.supports.periodicTicks) throw notSupported('claimPeriodicTick', String(this));
    checkTickArgs(name, tick);
    return this.#timed('claimPeriodicTick', () => this.doClaimPeriodicTick(name, tick));
  }

  /** The last tick of schedule `name` claimed on this queue (Unix ms), or null when none was. */
  async lastPeriodicTick(name: string): Promise<number | null> {
    this.#assertOpen();
    if (!this.supports.periodicTicks) throw notSupported('lastPeriodicTick', String(this));
    checkTickArgs(name, 0);
    return this.#timed('lastPeriodicTick', () => this.doLastPeriodicTick(name));
  }

  #assertPausable(op: string): void {
    this.#assertWritable();
    if (!this.supports.pause) throw notSupported(op, String(this));
  }

  // ---------------------------------------------------------------- delete / listing / maintenance

  /** Removes every job of the queue in every state (P-18). */
  async delete(): Promise<void> {
    this.#assertWritable();
    await this.#timed('delete', () => this.doDelete());
  }

  /**
   * Lists the jobs in one state (P-19). The listing is a snapshot per page; jobs that change
   * state while you iterate may be missed or seen twice.
   */
  list(state: JobState): AsyncIterable<ListedJob> {
    this.#assertOpen();
    if (!this.supports.listing) throw notSupported('listing', String(this));
    if (!LIST_STATES.has(state)) {
      throw new TypeError(
        `list(state): state must be one of ${[...LIST_STATES].join(', ')}, got ${String(state)}`,
      );
    }
    if (state === 'waiting' && !this.supports.dependencies) return NO_JOBS;
    return this.doList(state);
  }

  /**
   * Recycles expired claims, abandons exhausted ones, prunes old abandoned jobs and releases due
   * delayed jobs (P-20). Safe to run from many processes at once.
   */
  async runMaintenance(): Promise<MaintenanceResult> {
    this.#assertWritable();
    if (!this.supports.pop) throw notSupported('runMaintenance', String(this));
    const now = this.clock.now();
    this.#lastMaintenance = now;
    const r = await this.#timed('maintenance', () => this.doRunMaintenance({ now }));
    this.#count(C.recycles, r.recycled);
    this.#count(C.abandons, r.abandoned);
    this.#count(C.pruned, r.pruned);
    this.#count(C.delayed_released, r.released);
    if (r.recycled + r.released > 0) await this.#notifyNonEmpty();
    return r;
  }

  /** Puts copies of every abandoned job back as fresh ready jobs (attempts 0) and removes the abandoned ones (P-10). */
  async repushAbandoned(): Promise<number> {
    this.#assertWritable();
    if (!this.supports.listing || !this.supports.pop) throw notSupported('repushAbandoned', String(this));
    const repushed = await this.#timed('repush', () => this.doRepushAbandoned());
    if (repushed > 0) await this.#notifyNonEmpty();
    return repushed;
  }

  // ---------------------------------------------------------------- siblings (promises §6)

  /**
   * Which of `types` (in this queue's domain and store) have ready jobs, in one store call; null
   * when the backend cannot answer for siblings (the group then asks each queue).
   */
  async getSiblingQueuesWithJobs(types: readonly string[]): Promise<string[] | null> {
    this.#assertOpen();
    if (!this.supports.siblingQueries) return null;
    return this.#timed('siblings', () => this.doGetSiblingQueuesWithJobs(types));
  }

  /** Ready counts of `types` in one store call; null as for {@link JobQueue.getSiblingQueuesWithJobs}. */
  async getSiblingQueueSizes(types: readonly string[]): Promise<Record<string, number> | null> {
    this.#assertOpen();
    if (!this.supports.siblingQueries) return null;
    return this.#timed('siblings', () => this.doGetSiblingQueueSizes(types));
  }

  /**
   * {@link QueueStats} of `types` (in this queue's domain and store) in one store call; null when
   * the backend cannot answer for siblings, or not in one call (ask {@link getQueueStats} per queue).
   */
  async getSiblingQueueStats(types: readonly string[]): Promise<Record<string, QueueStats> | null> {
    this.#assertOpen();
    if (!this.supports.siblingQueries || this.supports.sizes === 'none') return null;
    return this.#timed('siblings', () => this.doGetSiblingQueueStats(types));
  }

  /**
   * This queue's {@link QueueStats}: one sibling call where the backend has it, else the four
   * counts (run together) with `oldestReadyAt` null.
   *
   * @throws `SWITCHYARD_NOT_SUPPORTED` without pop or sizes.
   */
  async getQueueStats(): Promise<QueueStats> {
    const one = await this.getSiblingQueueStats([this.type]);
    const stats = one?.[this.type];
    if (stats !== undefined) return stats;
    const [ready, claimed, delayed, abandoned] = await Promise.all([
      this.getSize(),
      this.getAcquiredCount(),
      this.getDelayedCount(),
      this.getAbandonedCount(),
    ]);
    return { ready, claimed, delayed, abandoned, oldestReadyAt: null };
  }

  /**
   * Every (domain, type) that has at least one job, in any state, in this queue's store (every
   * domain, not just this queue's): what an operator tool lists when types were pushed without
   * being declared in `jobTypes`. Null when the backend cannot enumerate its store.
   */
  async listStoredQueues(): Promise<StoredQueue[] | null> {
    this.#assertOpen();
    if (!this.supports.pop) return null;
    return this.#timed('siblings', () => this.doListStoredQueues());
  }

  // ---------------------------------------------------------------- wake

  /**
   * Waits until the store says jobs may have arrived in this queue, for at most `timeout` ms.
   * Meant for an idle runner after an empty pop: pop, and wait only when the pop found nothing.
   *
   * @remarks
   * `true` is a hint, never a promise: another consumer may take the job first, so pop again and
   * expect null now and then. A backend with `supports.wake` resolves true at once when jobs are
   * already ready when the wait starts (so a push between the empty pop and the wait is not
   * missed) and when a delayed job falls due; without `wake` the call just waits out the timeout
   * (or the abort) and resolves false, and callers poll. Resolves false, never rejects, on
   * timeout, on abort and when the queue is closed meanwhile; a store error while waiting is
   * counted (`errors`, op `wait`) and the wait then runs out its timeout, so the next pop reports
   * the error. No timer outlives the wait.
   *
   * @returns true when jobs may be ready, false on timeout, abort or close.
   * @throws `TypeError` for a bad timeout or signal, `SWITCHYARD_NOT_SUPPORTED` on push-only
   *   backends, `SWITCHYARD_QUEUE_CLOSED`.
   */
  async waitForJobs(options: WaitForJobsOptions): Promise<boolean> {
    if (typeof options !== 'object' || options === null) {
      throw new TypeError('waitForJobs(options): expected { timeout, signal? }');
    }
    const { timeout, signal } = options;
    if (typeof timeout !== 'number' || !Number.isFinite(timeout) || timeout < 0 || timeout > MAX_WAIT_MS) {
      throw new TypeError(
        `waitForJobs({ timeout }): timeout must be milliseconds from 0 to ${MAX_WAIT_MS}, got ${String(timeout)}`,
      );
    }
    if (signal !== undefined && !isAbortSignal(signal)) {
      throw new TypeError('waitForJobs({ signal }): signal must be an AbortSignal');
    }
    this.#assertOpen();
    if (!this.supports.pop) throw notSupported('waitForJobs', String(this));
    if (timeout === 0 || signal?.aborted) return false;
    const stop = new AbortController();
    const abort = (): void => stop.abort();
    const timer = setTimeout(abort, timeout);
    signal?.addEventListener('abort', abort, { once: true });
    this.#waits.add(stop);
    const stopped = new Promise<false>((resolve) => {
      stop.signal.addEventListener('abort', () => resolve(false), { once: true });
    });
    try {
      // The manifest decides, not the hook: a queue without `wake` (e.g. a federation with a SQL
      // partition, whose hook could still hear its Redis partitions) just waits.
      if (!this.supports.wake) return await stopped;
      const woken = this.doWaitForJobs(timeout, stop.signal).then(
        (r) => r === true,
        () => {
          // A failure after the wait ended (e.g. the subscriber closed under it) is no error.
          if (!stop.signal.aborted) this.#count(C.errors, 1, 'wait');
          return stopped;
        },
      );
      // A hook that ignores the signal still cannot hold the caller past the timeout.
      return await Promise.race([woken, stopped]);
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', abort);
      this.#waits.delete(stop);
      stop.abort();
    }
  }

  // ---------------------------------------------------------------- close

  /**
   * Releases what the queue owns (never a connection the host passed in) (P-21); pending
   * `waitForJobs()` calls resolve false. Idempotent.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const wait of this.#waits) wait.abort();
    this.#waits.clear();
    try {
      await this.doClose();
    } finally {
      if (this.#counters !== null) this.metrics.detachCounters?.(this.#counters);
    }
  }

  // ================================================================ hooks

  /**
   * Stores a batch. Backend authors: mandatory. `jobs` are validated and normalised, never empty,
   * with in-batch duplicates already collapsed; skip (and count) jobs whose `sha1` matches a ready
   * or delayed job when `removeDuplicates` (atomically, P-13). With `atomic`, all or nothing.
   */
  protected abstract doBatchPush(
    jobs: readonly NormalizedJob[],
    options: PushHookOptions,
  ): Promise<PushResult>;

  /** Claims one ready job (due delayed jobs count as ready, P-5). Mandatory when `supports.pop`. */
  protected doPop(): Promise<ClaimedJob | null> {
    return Promise.reject(notSupported('pop', String(this)));
  }

  /** Claims up to `count` jobs. Default: loops {@link JobQueue.doPop}. `count` ≥ 2. */
  protected async doBatchPop(count: number): Promise<ClaimedJob[]> {
    const out: ClaimedJob[] = [];
    while (out.length < count) {
      const job = await this.doPop();
      if (!job) break;
      out.push(job);
    }
    return out;
  }

  /** Deletes a claimed job iff `job.claimToken` still holds its claim. Mandatory when `supports.ack`. */
  protected doAck(_job: ClaimRef): Promise<boolean> {
    return Promise.reject(notSupported('ack', String(this)));
  }

  /** Acks many (≥ 2). Default: loops {@link JobQueue.doAck}. */
  protected async doBatchAck(jobs: readonly ClaimRef[]): Promise<boolean[]> {
    const out: boolean[] = [];
    for (const job of jobs) out.push(await this.doAck(job));
    return out;
  }

  /**
   * Iff the token still holds the claim: returns the job to ready (or delayed by `delayMs`), or to
   * abandoned when its stored attempts reached `this.maxTries`. Mandatory when `supports.ack`.
   */
  protected doRelease(_job: ClaimRef, _options: ReleaseHookOptions): Promise<ReleaseOutcome> {
    return Promise.reject(notSupported('release', String(this)));
  }

  /** Sets the claim time to now iff the token still holds the claim. Mandatory when `supports.ack`. */
  protected doExtendClaim(_job: ClaimRef): Promise<boolean> {
    return Promise.reject(notSupported('extendClaim', String(this)));
  }

  /**
   * Records `(type, signature) → timestamp` for each root, keeping the newest, for `rootJobTTL`.
   * Mandatory when `supports.rootJobs`.
   */
  protected doRegisterRootJobs(
    _roots: readonly RootJob[],
    _options: { readonly transaction: unknown },
  ): Promise<void> {
    return Promise.reject(notSupported('root-job deduplication', String(this)));
  }

  /** The newest registered timestamp for `signature`, or null. Mandatory when `supports.rootJobs`. */
  protected doGetRootJobTimestamp(_signature: string): Promise<number | null> {
    return Promise.reject(notSupported('root-job deduplication', String(this)));
  }

  /** Ready count. Mandatory when `supports.sizes` is not `none`. */
  protected doGetSize(): Promise<number> {
    return Promise.reject(notSupported('getSize', String(this)));
  }

  /** Claimed count. Mandatory when `supports.sizes` is not `none`. */
  protected doGetAcquiredCount(): Promise<number> {
    return Promise.reject(notSupported('getAcquiredCount', String(this)));
  }

  /** Delayed count. Default 0 when the backend has no delayed jobs, else mandatory. */
  protected doGetDelayedCount(): Promise<number> {
    if (!this.supports.delayedJobs) return Promise.resolve(0);
    return Promise.reject(notSupported('getDelayedCount', String(this)));
  }

  /**
   * Stores a validated flow atomically (nodes in dependency order) and returns the ids, one per
   * node. Mandatory when `supports.dependencies`: the backend keeps each job's count of unsettled
   * dependencies and its dependents, and settles them wherever a job's claim ends for good (ack:
   * success; abandon, cancel: failure, applying each dependent's policy, transitively), calling
   * {@link JobQueue.dependentsReady} when that made jobs ready.
   */
  protected doPushFlow(_nodes: readonly FlowNode[]): Promise<string[]> {
    return Promise.reject(notSupported('pushFlow', String(this)));
  }

  /** Jobs in state `waiting`. Mandatory when `supports.dependencies`. */
  protected doGetWaitingCount(): Promise<number> {
    return Promise.reject(notSupported('getWaitingCount', String(this)));
  }

  /**
   * For backends: settling dependencies made `count` waiting jobs ready (not delayed ones). Tells
   * the aggregator, so runners visit a queue they may have seen empty; never throws.
   */
  protected async dependentsReady(count: number): Promise<void> {
    if (count > 0) await this.#notifyNonEmpty();
  }

  /** Abandoned count. Mandatory when `supports.sizes` is not `none`. */
  protected doGetAbandonedCount(): Promise<number> {
    return Promise.reject(notSupported('getAbandonedCount', String(this)));
  }

  /** Default: `doGetSize() === 0`. */
  protected async doIsEmpty(): Promise<boolean> {
    return (await this.doGetSize()) === 0;
  }

  /**
   * Stores the paused flag of this (domain, type) where every handle's pop sees it atomically (the
   * pop itself checks it). On resume, wake waiters when jobs are ready. Mandatory when `supports.pause`.
   */
  protected doSetPaused(_paused: boolean): Promise<void> {
    return Promise.reject(notSupported('pause', String(this)));
  }

  /** The stored paused flag. Mandatory when `supports.pause`. */
  protected doIsPaused(): Promise<boolean> {
    return Promise.reject(notSupported('isPaused', String(this)));
  }

  /**
   * Atomically: when no tick of `name` is stored, or the stored one is earlier than `tick`, store
   * `tick` and return true; else false. Mandatory when `supports.periodicTicks`.
   */
  protected doClaimPeriodicTick(_name: string, _tick: number): Promise<boolean> {
    return Promise.reject(notSupported('claimPeriodicTick', String(this)));
  }

  /** The stored tick of `name`, or null. Mandatory when `supports.periodicTicks`. */
  protected doLastPeriodicTick(_name: string): Promise<number | null> {
    return Promise.reject(notSupported('lastPeriodicTick', String(this)));
  }

  /** Removes every job of this queue. Mandatory. */
  protected doDelete(): Promise<void> {
    return Promise.reject(notSupported('delete', String(this)));
  }

  /** Lists jobs in one state. Mandatory when `supports.listing`; `state` is validated. */
  protected doList(_state: JobState): AsyncIterable<ListedJob> {
    throw notSupported('listing', String(this));
  }

  /** The maintenance pass (P-20). Mandatory when `supports.pop`. */
  protected doRunMaintenance(_options: MaintenanceHookOptions): Promise<MaintenanceResult> {
    return Promise.reject(notSupported('runMaintenance', String(this)));
  }

  /** Moves abandoned jobs back to ready as fresh jobs; returns how many. Mandatory when listing. */
  protected doRepushAbandoned(): Promise<number> {
    return Promise.reject(notSupported('repushAbandoned', String(this)));
  }

  /** Sibling query. Mandatory when `supports.siblingQueries`. */
  protected doGetSiblingQueuesWithJobs(_types: readonly string[]): Promise<string[]> {
    return Promise.reject(notSupported('sibling queries', String(this)));
  }

  /** Sibling query. Mandatory when `supports.siblingQueries`. */
  protected doGetSiblingQueueSizes(_types: readonly string[]): Promise<Record<string, number>> {
    return Promise.reject(notSupported('sibling queries', String(this)));
  }

  /**
   * Stats of `types` in one store call (see {@link JobQueue.getSiblingQueueStats}). Backend
   * authors: optional; the default answers null and callers fall back to the four counts.
   */
  protected doGetSiblingQueueStats(_types: readonly string[]): Promise<Record<string, QueueStats> | null> {
    return Promise.resolve(null);
  }

  /**
   * Every (domain, type) with a job in the store (see {@link JobQueue.listStoredQueues}).
   * Backend authors: optional; the default answers null ("cannot say").
   */
  protected doListStoredQueues(): Promise<StoredQueue[] | null> {
    return Promise.resolve(null);
  }

  /**
   * Waits for a sign that jobs may be ready (see {@link JobQueue.waitForJobs}). Backend authors:
   * mandatory when `supports.wake`; called only then (without `wake` the base class just waits).
   * Resolve true at once when jobs are ready now (check AFTER you start listening, so a push in
   * between is not missed), true when the store signals new jobs or the earliest delayed job falls
   * due, and false promptly when `signal` aborts (the base class aborts it on timeout, on the
   * caller's abort and on close); release every listener and timer then. `timeoutMs` (> 0) is
   * informative: the base class enforces it.
   */
  protected doWaitForJobs(_timeoutMs: number, signal: AbortSignal): Promise<boolean> {
    return new Promise<boolean>((resolve) => {
      if (signal.aborted) resolve(false);
      else signal.addEventListener('abort', () => resolve(false), { once: true });
    });
  }

  /**
   * Removes job `id` whatever its state (a claimed job's claim token goes with it, so later acks
   * of that claim are stale; a ready or delayed job's dedup hold is dropped) in one atomic step.
   * Mandatory when `supports.cancel`.
   *
   * @returns the state it was in, or null when this queue holds no job `id`.
   */
  protected doCancel(_id: string): Promise<JobState | null> {
    return Promise.reject(notSupported('cancel', String(this)));
  }

  /** Removes the ready and delayed jobs holding dedup key `sha1`. Mandatory when `supports.cancelByKey`. */
  protected doCancelByDedupKey(_sha1: string): Promise<number> {
    return Promise.reject(notSupported('cancelDuplicates', String(this)));
  }

  /** Whether each claim's token still holds its job. Mandatory when `supports.cancel`. */
  protected doClaimsHeld(_jobs: readonly ClaimRef[]): Promise<boolean[]> {
    return Promise.reject(notSupported('claimsHeld', String(this)));
  }

  /** Releases owned resources. Default: nothing to release. */
  protected doClose(): Promise<void> {
    return Promise.resolve();
  }

  /**
   * The storage hooks of another queue, for composite backends (federated) that store through
   * queues of other classes without running their checks and metrics a second time. Backend
   * authors: pass exactly what the composite's own hook received (normalised, checked).
   */
  protected static hooksOf(queue: JobQueue): JobQueueHooks {
    return {
      batchPush: (jobs, options) => queue.doBatchPush(jobs, options),
      pop: () => queue.doPop(),
      batchPop: (count) => queue.doBatchPop(count),
      ack: (job) => queue.doAck(job),
      batchAck: (jobs) => queue.doBatchAck(jobs),
      release: (job, options) => queue.doRelease(job, options),
      extendClaim: (job) => queue.doExtendClaim(job),
      registerRootJobs: (roots, options) => queue.doRegisterRootJobs(roots, options),
      getRootJobTimestamp: (signature) => queue.doGetRootJobTimestamp(signature),
      getSize: () => queue.doGetSize(),
      getAcquiredCount: () => queue.doGetAcquiredCount(),
      getDelayedCount: () => queue.doGetDelayedCount(),
      getAbandonedCount: () => queue.doGetAbandonedCount(),
      isEmpty: () => queue.doIsEmpty(),
      delete: () => queue.doDelete(),
      list: (state) => queue.doList(state),
      runMaintenance: (options) => queue.doRunMaintenance(options),
      repushAbandoned: () => queue.doRepushAbandoned(),
      waitForJobs: (timeoutMs, signal) => queue.doWaitForJobs(timeoutMs, signal),
      setPaused: (paused) => queue.doSetPaused(paused),
      isPaused: () => queue.doIsPaused(),
      claimPeriodicTick: (name, tick) => queue.doClaimPeriodicTick(name, tick),
      lastPeriodicTick: (name) => queue.doLastPeriodicTick(name),
      cancel: (id) => queue.doCancel(id),
      cancelByDedupKey: (sha1) => queue.doCancelByDedupKey(sha1),
      claimsHeld: (jobs) => queue.doClaimsHeld(jobs),
    };
  }

  // ================================================================ internals

  #assertOpen(): void {
    if (this.#closed) throw queueClosed(String(this));
  }

  #assertWritable(): void {
    if (this.#closed) throw queueClosed(String(this));
    if (this.readOnlyReason !== null) throw readOnly(String(this), this.readOnlyReason);
  }

  #assertClaimRef(job: ClaimRef | undefined, where: string): void {
    if (
      typeof job !== 'object' ||
      job === null ||
      typeof job.id !== 'string' ||
      typeof job.claimToken !== 'string' ||
      typeof job.type !== 'string'
    ) {
      throw new TypeError(`${where}: expected a popped job with id, type and claimToken`);
    }
    if (!this.supports.typeAgnostic && job.type !== this.type) {
      throw new SwitchyardError(
        ErrorCode.UNKNOWN_JOB_TYPE,
        `${where}: job ${job.id} has type "${job.type}", not this queue's "${this.type}"`,
      );
    }
  }

  /** Tells the aggregator this queue has ready jobs; a failure is counted, never thrown (promises §7). */
  async #notifyNonEmpty(): Promise<void> {
    // Push-only queues (EventBus) are never popped: runners must not be sent to them.
    if (this.aggregator === null || !this.supports.pop) return;
    try {
      await this.aggregator.notifyQueueNonEmpty(this.domain, this.type);
    } catch {
      this.#count(C.errors, 1, 'aggregator');
    }
  }

  /** Tells the aggregator a pop that started at `observedAt` found nothing; failures as above. */
  async #notifyEmpty(observedAt: number): Promise<void> {
    if (this.aggregator === null) return;
    try {
      await this.aggregator.notifyQueueEmpty(this.domain, this.type, observedAt);
    } catch {
      this.#count(C.errors, 1, 'aggregator');
    }
  }

  #maintenanceDue(): boolean {
    if (this.maintenanceInterval === null) return false;
    return this.clock.now() - this.#lastMaintenance >= this.maintenanceInterval * 1000;
  }

  /**
   * Adds to counter `index` (`C.<name>`). Callers pass the index, not the name: a keyed lookup by
   * a name that varies per call site is a megamorphic load on every pop and ack.
   */
  #count(index: number, value: number, op?: string): void {
    if (value <= 0) return;
    const counters = this.#counters;
    if (counters !== null && op === undefined) {
      counters.values[index] = (counters.values[index] as number) + value;
    } else {
      const name = COUNTER_NAMES[index] as CounterName;
      this.metrics.increment(name, op ? { ...this.#labels, op } : this.#labels, value);
    }
  }

  #timed<R>(op: string, fn: () => Promise<R>): Promise<R> {
    if (this.metrics === noopMetrics) return fn();
    // A sink may ask for call_time on 1 call in N (the clock reads are the hot path's main cost).
    if (this.#callTimeEvery > 1 && this.#calls++ % this.#callTimeEvery !== 0) return this.#counted(op, fn);
    return this.#timedSlow(op, fn);
  }

  /**
   * {@link #timed} for the per-job calls (pop, ack): an unsampled call runs bare (no promise
   * reaction at all) and the caller counts a failure with {@link #failed}.
   */
  #timedHot<R>(op: string, fn: () => Promise<R>): Promise<R> {
    if (this.metrics === noopMetrics) return fn();
    if (this.#callTimeEvery > 1 && this.#calls++ % this.#callTimeEvery !== 0) return fn();
    return this.#timedSlow(op, fn, false);
  }

  /** Counts a failed hot call (see {@link #timedHot}). */
  #failed(op: string): void {
    if (this.metrics !== noopMetrics) this.metrics.increment('errors', this.#labelsOf(op), 1);
  }

  /** Counts a failed call (`errors`, op) without timing it. */
  #counted<R>(op: string, fn: () => Promise<R>): Promise<R> {
    let pending: Promise<R>;
    try {
      pending = fn();
    } catch (error) {
      pending = Promise.reject(error);
    }
    // A side branch, not a link in the caller's chain: no extra tick; the caller still sees the
    // rejection of `pending` itself.
    pending.catch(() => this.metrics.increment('errors', this.#labelsOf(op), 1));
    return pending;
  }

  #labelsOf(op: string): MetricLabels {
    let labels = this.#opLabels.get(op);
    if (labels === undefined) {
      labels = Object.freeze({ ...this.#labels, op });
      this.#opLabels.set(op, labels);
    }
    return labels;
  }

  #timedSlow<R>(op: string, fn: () => Promise<R>, countErrors = true): Promise<R> {
    // No async wrapper and a side branch instead of a chained promise: the caller awaits `pending`
    // itself (no extra tick); these reactions run first, being registered first.
    const start = performance.now();
    const opLabels = this.#labelsOf(op);
    let pending: Promise<R>;
    try {
      pending = fn();
    } catch (error) {
      pending = Promise.reject(error);
    }
    pending.then(
      () => {
        this.#observeCallTime(op, opLabels, performance.now() - start);
      },
      () => {
        this.#observeCallTime(op, opLabels, performance.now() - start);
        if (countErrors) this.metrics.increment('errors', opLabels, 1);
      },
    );
    return pending;
  }

  #observeCallTime(op: string, opLabels: MetricLabels, ms: number): void {
    const h = this.#counters?.histograms ?? null;
    if (h === null) {
      this.metrics.observe('call_time', opLabels, ms);
      return;
    }
    let calls = h.call_time.get(op);
    if (calls === undefined) {
      calls = newHistogram(h.boundsMs);
      h.call_time.set(op, calls);
    }
    observeInto(calls, h.boundsMs, ms);
  }
}

/** A queue's storage hooks, bound to it (see `JobQueue.hooksOf`); named as the hooks without `do`. */
export interface JobQueueHooks {
  batchPush(jobs: readonly NormalizedJob[], options: PushHookOptions): Promise<PushResult>;
  pop(): Promise<ClaimedJob | null>;
  batchPop(count: number): Promise<ClaimedJob[]>;
  ack(job: ClaimRef): Promise<boolean>;
  batchAck(jobs: readonly ClaimRef[]): Promise<boolean[]>;
  release(job: ClaimRef, options: ReleaseHookOptions): Promise<ReleaseOutcome>;
  extendClaim(job: ClaimRef): Promise<boolean>;
  registerRootJobs(roots: readonly RootJob[], options: { readonly transaction: unknown }): Promise<void>;
  getRootJobTimestamp(signature: string): Promise<number | null>;
  getSize(): Promise<number>;
  getAcquiredCount(): Promise<number>;
  getDelayedCount(): Promise<number>;
  getAbandonedCount(): Promise<number>;
  isEmpty(): Promise<boolean>;
  delete(): Promise<void>;
  list(state: JobState): AsyncIterable<ListedJob>;
  runMaintenance(options: MaintenanceHookOptions): Promise<MaintenanceResult>;
  repushAbandoned(): Promise<number>;
  waitForJobs(timeoutMs: number, signal: AbortSignal): Promise<boolean>;
  setPaused(paused: boolean): Promise<void>;
  isPaused(): Promise<boolean>;
  claimPeriodicTick(name: string, tick: number): Promise<boolean>;
  lastPeriodicTick(name: string): Promise<number | null>;
  cancel(id: string): Promise<JobState | null>;
  cancelByDedupKey(sha1: string): Promise<number>;
  claimsHeld(jobs: readonly ClaimRef[]): Promise<boolean[]>;
}

/** Longest periodic schedule name (it is part of a store key / primary key). */
export const MAX_PERIODIC_NAME = 128;

function checkTickArgs(name: string, tick: number): void {
  const issues: Issue[] = [];
  if (typeof name !== 'string' || name.length === 0 || name.length > MAX_PERIODIC_NAME) {
    issues.push({
      path: 'name',
      message: `must be a string of 1–${MAX_PERIODIC_NAME} characters`,
      value: name,
    });
  }
  if (!Number.isSafeInteger(tick) || tick < 0) {
    issues.push({ path: 'tick', message: 'must be a non-negative integer (Unix ms)', value: tick });
  }
  if (issues.length > 0) throw invalidJob(issues);
}

/** A queue's four state counts (P-17), asked together: what `show-jobs` and the dashboard show. */
export async function getStateCounts(queue: JobQueue): Promise<Record<JobState, number>> {
  const [ready, claimed, delayed, abandoned, waiting] = await Promise.all([
    queue.getSize(),
    queue.getAcquiredCount(),
    queue.getDelayedCount(),
    queue.getAbandonedCount(),
    queue.getWaitingCount(),
  ]);
  return { ready, claimed, delayed, abandoned, waiting };
}

/** True for an AbortSignal (structurally, so a signal from another realm passes). */
function isAbortSignal(value: unknown): value is AbortSignal {
  if (value instanceof AbortSignal) return true;
  const v = value as { aborted?: unknown; addEventListener?: unknown } | null;
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof v.aborted === 'boolean' &&
    typeof v.addEventListener === 'function'
  );
}

const LIST_STATES: ReadonlySet<JobState> = new Set(['ready', 'claimed', 'delayed', 'abandoned', 'waiting']);

/** What `list('waiting')` yields on a backend without dependencies. */
const NO_JOBS: AsyncIterable<ListedJob> = Object.freeze({
  async *[Symbol.asyncIterator](): AsyncGenerator<ListedJob> {},
});

/**
 * Refuses, before anything is stored, a batch `queue` would refuse: closed, read-only, or asking
 * for atomic / transactional push or delayed jobs its manifest lacks. The one list of push checks,
 * used by `JobQueue.push` and by a group before it pushes any of several batches.
 *
 * @throws `SWITCHYARD_QUEUE_CLOSED`, `SWITCHYARD_READ_ONLY`, `SWITCHYARD_NOT_SUPPORTED`.
 */
export function checkPush(
  queue: Pick<JobQueue, 'closed' | 'readOnlyReason' | 'supports'>,
  jobs: readonly {
    readonly releaseTimestamp?: unknown;
    readonly priority?: unknown;
    readonly groupKey?: unknown;
  }[],
  options: PushOptions,
): void {
  if (queue.closed) throw queueClosed(String(queue));
  if (queue.readOnlyReason !== null) throw readOnly(String(queue), queue.readOnlyReason);
  const s = queue.supports;
  if (options.atomic === true && !s.atomicBatchPush) throw notSupported('atomic batch push', String(queue));
  if (options.transaction !== undefined && options.transaction !== null && !s.transactionalPush) {
    throw notSupported('transactional push', String(queue));
  }
  if (!s.delayedJobs && jobs.some((j) => j.releaseTimestamp !== undefined && j.releaseTimestamp !== null)) {
    throw notSupported('delayed jobs (releaseTimestamp)', String(queue));
  }
  if (
    !s.priorities &&
    jobs.some((j) => j.priority !== undefined && j.priority !== null && j.priority !== 0)
  ) {
    throw notSupported('job priorities (priority)', String(queue));
  }
  if (!s.groupLimits && jobs.some((j) => j.groupKey !== undefined && j.groupKey !== null)) {
    throw notSupported('flow-control groups (groupKey)', String(queue));
  }
}

/** Keeps the first job of each dedup key among `removeDuplicates` jobs (P-13). */
function collapseBatchDuplicates(jobs: readonly NormalizedJob[]): readonly NormalizedJob[] {
  let seen: Set<string> | null = null;
  let out: NormalizedJob[] | null = null;
  for (let i = 0; i < jobs.length; i++) {
    const job = jobs[i] as NormalizedJob;
    if (job.sha1 !== null) {
      seen ??= new Set();
      if (seen.has(job.sha1)) {
        out ??= jobs.slice(0, i);
        continue;
      }
      seen.add(job.sha1);
    }
    out?.push(job);
  }
  return out ?? jobs;
}

/** The newest root per signature among jobs that are their own root. */
function newestRoots(jobs: readonly NormalizedJob[]): RootJob[] {
  let newest: Map<string, number> | null = null;
  for (const job of jobs) {
    const r = job.rootJob;
    if (!r?.isSelf) continue;
    newest ??= new Map();
    const prev = newest.get(r.signature);
    if (prev === undefined || r.timestamp > prev) newest.set(r.signature, r.timestamp);
  }
  if (!newest) return [];
  return [...newest].map(([signature, timestamp]) => ({ signature, timestamp }));
}
