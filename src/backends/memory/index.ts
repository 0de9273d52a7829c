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
import type { BackendContext, BackendModule, BackendSettings } from '../../core/backend.js';
import { configInvalid, type Issue } from '../../core/errors.js';
import type { JobState, JsonObject, ListedJob, NormalizedJob, RootJob } from '../../core/job.js';
import type { JobQueueOptions, StoredQueue } from '../../core/job-queue.js';
import {
  type ClaimedJob,
  type ClaimRef,
  JobQueue,
  type MaintenanceHookOptions,
  type MaintenanceResult,
  type PushHookOptions,
  type PushResult,
  type ReleaseHookOptions,
  type ReleaseOutcome,
} from '../../core/job-queue.js';
import { defineSupports, type Order, type Supports } from '../../core/supports.js';
import { MinHeap, type ReadyIndex, readyIndexFor } from './ready-index.js';

/** The memory backend's manifest. */
export const memorySupports: Supports = defineSupports({
  pop: true,
  ack: true,
  delayedJobs: true,
  orders: ['fifo', 'timestamp', 'random', 'any'],
  sizes: 'exact',
  // One synchronous state change per batch: all or nothing by construction.
  atomicBatchPush: true,
  typeAgnostic: false,
  // Why: state lives in this process's heap only.
  durable: false,
  listing: true,
  deduplication: true,
  rootJobs: true,
  batchPop: true,
  siblingQueries: true,
  transactionalPush: false,
  // In-process: every handle on the store sees pushes, releases and due delayed jobs at once.
  wake: true,
  // The flag lives on the queue state in the store object, shared by every handle on the store.
  pause: true,
  // A map on the queue state: the compare-and-set is one synchronous step.
  periodicTicks: true,
});

/** One stored job. Mutable: the queue moves it between states. */
interface JobRecord {
  readonly id: string;
  readonly seq: number;
  readonly type: string;
  readonly domain: string;
  readonly params: JsonObject;
  readonly removeDuplicates: boolean;
  readonly sha1: string | null;
  readonly rootJob: RootJob | null;
  readonly requestId: string | null;
  readonly enqueuedAt: number;
  /** Original release time, then the retry time after a delayed release. */
  releaseTimestamp: number | null;
  state: JobState;
  attempts: number;
  claimedAt: number | null;
  claimToken: string | null;
}

/** The state of one (domain, type) queue inside a store. */
class QueueState {
  readonly ready: ReadyIndex<JobRecord>;
  readonly delayed = new MinHeap<JobRecord>(
    (j) => j.releaseTimestamp ?? 0,
    (j) => j.seq,
  );
  readonly claimed = new Map<string, JobRecord>();
  readonly abandoned = new Map<string, JobRecord>();
  /** sha1 → ids of the ready or delayed jobs holding it (P-13): a released job and its twin may both. */
  readonly dedup = new Map<string, Set<string>>();
  /** signature → newest root timestamp and when the record expires. */
  readonly roots = new Map<string, { timestamp: number; expiresAt: number }>();
  /** `waitForJobs()` callers: told `ready` when jobs became ready, `delayed` when a delayed job was added. */
  readonly waiters = new Set<(event: 'ready' | 'delayed') => void>();
  /** Paused (`pause()`): pops return null and waiters are not told of ready jobs until resumed. */
  paused = false;
  /** Periodic schedule name → the last tick claimed (Unix ms). */
  readonly ticks = new Map<string, number>();

  constructor(
    readonly domain: string,
    readonly type: string,
    readonly order: Order,
  ) {
    this.ready = readyIndexFor<JobRecord>(order);
  }

  hasDuplicate(sha1: string): boolean {
    return (this.dedup.get(sha1)?.size ?? 0) > 0;
  }

  holdDedup(rec: JobRecord): void {
    if (rec.sha1 === null) return;
    const ids = this.dedup.get(rec.sha1);
    if (ids) ids.add(rec.id);
    else this.dedup.set(rec.sha1, new Set([rec.id]));
  }

  dropDedup(rec: JobRecord): void {
    if (rec.sha1 === null) return;
    const ids = this.dedup.get(rec.sha1);
    if (ids?.delete(rec.id) && ids.size === 0) this.dedup.delete(rec.sha1);
  }

  /** Moves delayed jobs whose time has come to ready; returns how many moved. */
  promoteDue(now: number): number {
    let moved = 0;
    for (let next = this.delayed.peek(); next !== undefined; next = this.delayed.peek()) {
      if ((next.releaseTimestamp ?? 0) > now) break;
      this.delayed.pop();
      if (next.state !== 'delayed') continue; // stale heap entry (deleted)
      next.state = 'ready';
      this.ready.push(next);
      moved++;
    }
    return moved;
  }

  /** Tells the waiters (if any) that jobs are ready, or that the earliest delayed job may have changed. */
  notify(event: 'ready' | 'delayed'): void {
    if (this.waiters.size === 0) return;
    if (event === 'ready' && (this.ready.size === 0 || this.paused)) return;
    for (const waiter of [...this.waiters]) waiter(event);
  }

  clear(): void {
    this.ready.clear();
    this.delayed.clear();
    this.claimed.clear();
    this.abandoned.clear();
    this.dedup.clear();
  }
}

/**
 * Holds memory queues. One store per process is typical; name it to share it between queues that
 * are built separately (config `connections: { shared: { class: memory, store: shared } }`).
 */
export class MemoryStore {
  static readonly #named = new Map<string, MemoryStore>();
  readonly #queues = new Map<string, QueueState>();
  #seq = 0;
  /** A unique identity for sibling queries. */
  readonly key: string;

  constructor(readonly name: string | null = null) {
    this.key = `memory:${name ?? `anon-${++anonymousStores}`}`;
  }

  /** The process-wide store of that name (created on first use). */
  static named(name: string): MemoryStore {
    let store = MemoryStore.#named.get(name);
    if (!store) {
      store = new MemoryStore(name);
      MemoryStore.#named.set(name, store);
    }
    return store;
  }

  /** A new id unique within this store. */
  nextSeq(): number {
    return ++this.#seq;
  }

  /**
   * The shared state of one queue. Every handle must agree on the order (`any` takes whatever the
   * queue has): a ready container serves one order only.
   * @internal
   */
  queue(domain: string, type: string, order: Order): QueueState {
    const key = `${domain}\u0000${type}`;
    let state = this.#queues.get(key);
    if (!state) {
      state = new QueueState(domain, type, order);
      this.#queues.set(key, state);
    } else if (order !== 'any' && state.order !== order && state.order !== 'any') {
      throw configInvalid(
        [
          {
            path: 'order',
            message: `differs from the order of the queue already open in store ${this.key}`,
            value: order,
            choices: [state.order],
          },
        ],
        `memory queue ${domain}/${type}`,
      );
    }
    return state;
  }

  /** @internal */
  existing(domain: string, type: string): QueueState | undefined {
    return this.#queues.get(`${domain}\u0000${type}`);
  }

  /** Every (domain, type) holding a job in any state. @internal */
  nonEmptyQueues(): Array<{ domain: string; type: string }> {
    const out: Array<{ domain: string; type: string }> = [];
    for (const q of this.#queues.values()) {
      const held = q.ready.size + q.delayed.size + q.claimed.size + q.abandoned.size;
      if (held > 0) out.push({ domain: q.domain, type: q.type });
    }
    return out;
  }

  /** Drops every queue. */
  clear(): void {
    this.#queues.clear();
  }
}

let anonymousStores = 0;

/** Options of {@link MemoryJobQueue}. */
export interface MemoryJobQueueOptions extends JobQueueOptions {
  /** The store to live in; default a private one. */
  readonly store?: MemoryStore;
}

/** A job queue held in memory. */
export class MemoryJobQueue<T extends string = string> extends JobQueue<T> {
  readonly #store: MemoryStore;
  readonly #state: QueueState;

  constructor(options: MemoryJobQueueOptions) {
    super('memory', memorySupports, options);
    this.#store = options.store ?? new MemoryStore();
    this.#state = this.#store.queue(this.domain, this.type, this.order);
  }

  override get storeKey(): string {
    return this.#store.key;
  }

  protected override async doBatchPush(
    jobs: readonly NormalizedJob[],
    _o: PushHookOptions,
  ): Promise<PushResult> {
    const s = this.#state;
    const now = this.clock.now();
    let inserted = 0;
    let duplicates = 0;
    let delayedAdded = false;
    for (const job of jobs) {
      if (job.sha1 !== null && s.hasDuplicate(job.sha1)) {
        duplicates++;
        continue;
      }
      const seq = this.#store.nextSeq();
      const delayed = job.releaseTimestamp !== null && job.releaseTimestamp > now;
      const rec: JobRecord = {
        id: `m${seq.toString(36)}`,
        seq,
        type: job.type,
        domain: job.domain,
        params: job.params,
        removeDuplicates: job.removeDuplicates,
        sha1: job.sha1,
        rootJob: job.rootJob,
        requestId: job.requestId,
        enqueuedAt: now,
        releaseTimestamp: job.releaseTimestamp,
        state: delayed ? 'delayed' : 'ready',
        attempts: 0,
        claimedAt: null,
        claimToken: null,
      };
      if (delayed) {
        s.delayed.push(rec);
        delayedAdded = true;
      } else s.ready.push(rec);
      s.holdDedup(rec);
      inserted++;
    }
    s.notify('ready');
    if (delayedAdded) s.notify('delayed');
    return { inserted, duplicates };
  }

  protected override async doSetPaused(paused: boolean): Promise<void> {
    const s = this.#state;
    if (s.paused === paused) return;
    s.paused = paused;
    if (!paused) {
      s.promoteDue(this.clock.now());
      s.notify('ready');
    }
  }

  protected override async doIsPaused(): Promise<boolean> {
    return this.#state.paused;
  }

  protected override async doClaimPeriodicTick(name: string, tick: number): Promise<boolean> {
    const ticks = this.#state.ticks;
    const last = ticks.get(name);
    if (last !== undefined && last >= tick) return false;
    ticks.set(name, tick);
    return true;
  }

  protected override async doLastPeriodicTick(name: string): Promise<number | null> {
    return this.#state.ticks.get(name) ?? null;
  }

  protected override async doPop(): Promise<ClaimedJob | null> {
    return this.#claim(this.clock.now());
  }

  protected override async doBatchPop(count: number): Promise<ClaimedJob[]> {
    const now = this.clock.now();
    const out: ClaimedJob[] = [];
    while (out.length < count) {
      const job = this.#claim(now);
      if (!job) break;
      out.push(job);
    }
    return out;
  }

  #claim(now: number): ClaimedJob | null {
    const s = this.#state;
    if (s.paused) return null;
    if (s.delayed.size > 0) s.promoteDue(now);
    const rec = s.ready.pop();
    if (!rec) return null;
    s.dropDedup(rec);
    rec.attempts++;
    rec.claimedAt = now;
    const token = `c${this.#store.nextSeq().toString(36)}`;
    if (this.claimTTL > 0) {
      rec.state = 'claimed';
      rec.claimToken = token;
      s.claimed.set(rec.id, rec);
    } else {
    }
    return {
      id: rec.id,
      type: rec.type,
      params: rec.params,
      domain: rec.domain,
      releaseTimestamp: rec.releaseTimestamp,
      removeDuplicates: rec.removeDuplicates,
      sha1: rec.sha1,
      rootJob: rec.rootJob,
      requestId: rec.requestId,
      attempts: rec.attempts,
      enqueuedAt: rec.enqueuedAt,
      claimedAt: now,
      claimToken: token,
      partition: null,
    };
  }

  /** The claimed record iff `ref` holds its live claim. */
  #held(ref: ClaimRef): JobRecord | undefined {
    const rec = this.#state.claimed.get(ref.id);
    return rec !== undefined && rec.claimToken === ref.claimToken ? rec : undefined;
  }

  protected override async doAck(job: ClaimRef): Promise<boolean> {
    return this.#ackOne(job);
  }

  protected override async doBatchAck(jobs: readonly ClaimRef[]): Promise<boolean[]> {
    return jobs.map((j) => this.#ackOne(j));
  }

  #ackOne(ref: ClaimRef): boolean {
    const rec = this.#held(ref);
    if (!rec) return false;
    this.#state.claimed.delete(rec.id);
    return true;
  }

  protected override async doRelease(job: ClaimRef, options: ReleaseHookOptions): Promise<ReleaseOutcome> {
    const rec = this.#held(job);
    if (!rec) return false;
    const s = this.#state;
    const now = this.clock.now();
    s.claimed.delete(rec.id);
    rec.claimToken = null;
    if (rec.attempts >= this.maxTries) {
      rec.state = 'abandoned';
      s.abandoned.set(rec.id, rec);
      return 'abandoned';
    }
    if (options.delayMs > 0) {
      rec.state = 'delayed';
      rec.releaseTimestamp = now + options.delayMs;
      s.delayed.push(rec);
    } else {
      rec.state = 'ready';
      s.ready.push(rec);
    }
    s.holdDedup(rec);
    s.notify(options.delayMs > 0 ? 'delayed' : 'ready');
    return 'released';
  }

  protected override async doExtendClaim(job: ClaimRef): Promise<boolean> {
    const rec = this.#held(job);
    if (!rec) return false;
    rec.claimedAt = this.clock.now();
    return true;
  }

  protected override async doRegisterRootJobs(roots: readonly RootJob[]): Promise<void> {
    const expiresAt = this.clock.now() + this.rootJobTTL * 1000;
    for (const root of roots) {
      const prev = this.#state.roots.get(root.signature);
      if (!prev || root.timestamp >= prev.timestamp) {
        this.#state.roots.set(root.signature, { timestamp: root.timestamp, expiresAt });
      }
    }
  }

  protected override async doGetRootJobTimestamp(signature: string): Promise<number | null> {
    const rec = this.#state.roots.get(signature);
    if (!rec) return null;
    if (rec.expiresAt <= this.clock.now()) {
      this.#state.roots.delete(signature);
      return null;
    }
    return rec.timestamp;
  }

  protected override async doGetSize(): Promise<number> {
    this.#state.promoteDue(this.clock.now());
    return this.#state.ready.size;
  }

  protected override async doGetAcquiredCount(): Promise<number> {
    return this.#state.claimed.size;
  }

  protected override async doGetDelayedCount(): Promise<number> {
    this.#state.promoteDue(this.clock.now());
    return this.#state.delayed.size;
  }

  protected override async doGetAbandonedCount(): Promise<number> {
    return this.#state.abandoned.size;
  }

  protected override async doListStoredQueues(): Promise<StoredQueue[]> {
    return this.#store.nonEmptyQueues();
  }

  protected override async doDelete(): Promise<void> {
    this.#state.clear();
  }

  protected override doList(state: JobState): AsyncIterable<ListedJob> {
    const s = this.#state;
    const now = this.clock.now();
    return (async function* list() {
      s.promoteDue(now);
      let source: Iterable<JobRecord>;
      if (state === 'ready') source = s.ready.values();
      else if (state === 'delayed') source = s.delayed.values();
      else if (state === 'claimed') source = s.claimed.values();
      else source = s.abandoned.values();
      for (const rec of [...source]) yield toListed(rec);
    })();
  }

  protected override async doRunMaintenance({ now }: MaintenanceHookOptions): Promise<MaintenanceResult> {
    const s = this.#state;
    let recycled = 0;
    let abandoned = 0;
    let pruned = 0;
    const ttl = this.claimTTL * 1000;
    if (ttl > 0) {
      for (const rec of [...s.claimed.values()]) {
        if (now - (rec.claimedAt ?? now) < ttl) continue;
        s.claimed.delete(rec.id);
        rec.claimToken = null;
        if (rec.attempts >= this.maxTries) {
          rec.state = 'abandoned';
          s.abandoned.set(rec.id, rec);
          abandoned++;
        } else {
          rec.state = 'ready';
          s.ready.pushFront(rec);
          s.holdDedup(rec);
          recycled++;
        }
      }
    }
    const keep = this.abandonedTTL * 1000;
    for (const rec of [...s.abandoned.values()]) {
      if (now - (rec.claimedAt ?? now) < keep) continue;
      s.abandoned.delete(rec.id);
      pruned++;
    }
    for (const [signature, root] of s.roots) if (root.expiresAt <= now) s.roots.delete(signature);
    const released = s.promoteDue(now);
    if (recycled + released > 0) s.notify('ready');
    return { recycled, abandoned, pruned, released };
  }

  protected override async doRepushAbandoned(): Promise<number> {
    const s = this.#state;
    const now = this.clock.now();
    let count = 0;
    for (const old of [...s.abandoned.values()]) {
      s.abandoned.delete(old.id);
      const seq = this.#store.nextSeq();
      const rec: JobRecord = {
        ...old,
        id: `m${seq.toString(36)}`,
        seq,
        enqueuedAt: now,
        releaseTimestamp: null,
        state: 'ready',
        attempts: 0,
        claimedAt: null,
        claimToken: null,
      };
      s.ready.push(rec);
      s.holdDedup(rec);
      count++;
    }
    if (count > 0) s.notify('ready');
    return count;
  }

  /**
   * Resolves true when jobs are ready now, when a push / release / maintenance pass on any handle
   * of this store makes some ready, or when the earliest delayed job falls due (by this queue's
   * clock, re-armed whenever a delayed job is added); false when `signal` aborts.
   */
  protected override doWaitForJobs(timeoutMs: number, signal: AbortSignal): Promise<boolean> {
    const s = this.#state;
    s.promoteDue(this.clock.now());
    if (s.ready.size > 0 && !s.paused) return Promise.resolve(true);
    return new Promise<boolean>((resolve) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const finish = (woken: boolean): void => {
        clearTimeout(timer);
        s.waiters.delete(waiter);
        signal.removeEventListener('abort', onAbort);
        resolve(woken);
      };
      const onAbort = (): void => finish(false);
      // Wake when the earliest delayed job is due; beyond the timeout the base class answers.
      const arm = (): void => {
        clearTimeout(timer);
        timer = undefined;
        const next = s.delayed.peek();
        if (next === undefined) return;
        const ms = Math.max(0, (next.releaseTimestamp ?? 0) - this.clock.now());
        if (ms <= timeoutMs) timer = setTimeout(() => finish(true), ms);
      };
      const waiter = (event: 'ready' | 'delayed'): void => {
        if (event === 'ready') finish(true);
        else arm();
      };
      if (signal.aborted) {
        resolve(false);
        return;
      }
      s.waiters.add(waiter);
      signal.addEventListener('abort', onAbort, { once: true });
      arm();
    });
  }

  protected override async doGetSiblingQueuesWithJobs(types: readonly string[]): Promise<string[]> {
    const now = this.clock.now();
    return types.filter((type) => {
      const q = this.#store.existing(this.domain, type);
      if (!q || q.paused) return false;
      q.promoteDue(now);
      return q.ready.size > 0;
    });
  }

  protected override async doGetSiblingQueueSizes(types: readonly string[]): Promise<Record<string, number>> {
    const now = this.clock.now();
    const out: Record<string, number> = {};
    for (const type of types) {
      const q = this.#store.existing(this.domain, type);
      if (q) q.promoteDue(now);
      out[type] = q?.ready.size ?? 0;
    }
    return out;
  }
}

function toListed(rec: JobRecord): ListedJob {
  return {
    id: rec.id,
    state: rec.state,
    type: rec.type,
    domain: rec.domain,
    params: rec.params,
    attempts: rec.attempts,
    enqueuedAt: rec.enqueuedAt,
    releaseTimestamp: rec.releaseTimestamp,
    claimedAt: rec.claimedAt,
    claimToken: rec.claimToken,
    sha1: rec.sha1,
    rootJob: rec.rootJob,
    removeDuplicates: rec.removeDuplicates,
    requestId: rec.requestId,
  };
}

function validateStoreSetting(settings: BackendSettings, path: string): Issue[] {
  const issues: Issue[] = [];
  for (const key of Object.keys(settings)) {
    if (key !== 'store') {
      issues.push({ path: `${path}.${key}`, message: 'is not a memory backend setting', choices: ['store'] });
    }
  }
  const store = settings.store;
  if (store !== undefined && (typeof store !== 'string' || store.length === 0)) {
    issues.push({ path: `${path}.store`, message: 'must be a non-empty store name', value: store });
  }
  return issues;
}

/** The memory backend as the registry loads it. */
export const memoryBackend: BackendModule = Object.freeze({
  name: 'memory',
  supports: memorySupports,
  validateSettings: validateStoreSetting,
  validateConnection: validateStoreSetting,
  openConnection(settings: BackendSettings) {
    const name = settings.store;
    const store = typeof name === 'string' ? MemoryStore.named(name) : new MemoryStore();
    return { handle: store, close: async () => {} };
  },
  createQueue(context: BackendContext): JobQueue {
    const fromConnection = context.connection?.handle;
    const named = context.settings.store;
    let store: MemoryStore;
    if (fromConnection instanceof MemoryStore) store = fromConnection;
    else if (typeof named === 'string') store = MemoryStore.named(named);
    else store = new MemoryStore();
    return new MemoryJobQueue({ ...context.queue, store });
  },
});
