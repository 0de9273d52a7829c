/**
 * {@link MemoryJobQueue}: a handle on one queue state of a {@link MemoryStore}. Atomicity comes
 * from JavaScript's single thread: every hook does its whole state change synchronously, before
 * its first `await`.
 *
 * @packageDocumentation
 */
import type { FlowNode } from '../../core/flow.js';
import type { JobState, ListedJob, NormalizedJob, RootJob } from '../../core/job.js';
import {
  type ClaimedJob,
  type ClaimRef,
  EMPTY_QUEUE_STATS,
  JobQueue,
  type MaintenanceHookOptions,
  type MaintenanceResult,
  type PushHookOptions,
  type PushResult,
  type QueueStats,
  type ReleaseHookOptions,
  type ReleaseOutcome,
  type StoredQueue,
} from '../../core/job-queue.js';
import { GroupLimitTable, type JobQueueOptions } from '../../core/queue-options.js';
import { defineSupports, type Supports } from '../../core/supports.js';
import { GroupGate } from './groups.js';
import { type FlowLinks, type JobRecord, MemoryStore, type QueueState, toListed } from './store.js';

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
  // Claimed and abandoned jobs are keyed by id; a ready or delayed one is found by a scan (O(n)).
  cancel: true,
  // The dedup map names the holders; removing them from the ordered containers is O(n).
  cancelByKey: true,
  // One ready container of the order per priority present; priority 0 is the fast path.
  priorities: true,
  // Per-group containers taken round-robin; claim counts and rate windows on the queue state.
  groupLimits: true,
  // Each flow job's record holds its pending count and its dependents; settled synchronously.
  dependencies: true,
});

/** Options of {@link MemoryJobQueue}. */
export interface MemoryJobQueueOptions extends JobQueueOptions {
  /** The store to live in; default a private one. */
  readonly store?: MemoryStore;
}

/** A job queue held in memory. */
export class MemoryJobQueue<T extends string = string> extends JobQueue<T> {
  readonly #store: MemoryStore;
  readonly #state: QueueState;
  /** This handle's group limits, applied at each claim. */
  readonly #gate: GroupGate;

  constructor(options: MemoryJobQueueOptions) {
    super('memory', memorySupports, options);
    this.#store = options.store ?? new MemoryStore();
    this.#state = this.#store.queue(this.domain, this.type, this.order);
    this.#gate = new GroupGate(new GroupLimitTable(this.groupLimits), this.claimTTL > 0);
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
      const rec = this.#record(job, now, null);
      if (!s.enqueue(rec, now)) delayedAdded = true;
      s.holdDedup(rec);
      inserted++;
    }
    s.notify('ready');
    if (delayedAdded) s.notify('delayed');
    return { inserted, duplicates };
  }

  protected override async doPushFlow(nodes: readonly FlowNode[]): Promise<string[]> {
    const s = this.#state;
    const now = this.clock.now();
    const recs: JobRecord[] = [];
    for (const { job, after, onDependencyFailure } of nodes) {
      // Flow jobs hold no dedup key and no root (normalizeFlow refuses both).
      const rec = this.#record(job, now, {
        pending: after.length,
        dependents: [],
        policy: onDependencyFailure,
      });
      for (const i of after) (recs[i]?.flow?.dependents as JobRecord[]).push(rec);
      recs.push(rec);
    }
    let delayedAdded = false;
    for (const rec of recs) {
      if ((rec.flow?.pending ?? 0) > 0) {
        rec.state = 'waiting';
        s.waiting.set(rec.id, rec);
      } else if (!s.enqueue(rec, now)) delayedAdded = true;
    }
    s.notify('ready');
    if (delayedAdded) s.notify('delayed');
    return recs.map((r) => r.id);
  }

  /** A new record of `job`, stored at `now`; its state is set where it goes. */
  #record(job: NormalizedJob, now: number, flow: FlowLinks | null): JobRecord {
    const seq = this.#store.nextSeq();
    return {
      id: `m${seq.toString(36)}`,
      seq,
      type: job.type,
      domain: job.domain,
      params: job.params,
      removeDuplicates: job.removeDuplicates,
      sha1: job.sha1,
      rootJob: job.rootJob,
      requestId: job.requestId,
      priority: job.priority,
      groupKey: job.groupKey,
      group: null,
      enqueuedAt: now,
      releaseTimestamp: job.releaseTimestamp,
      state: 'ready',
      attempts: 0,
      claimedAt: null,
      claimToken: null,
      flow,
    };
  }

  protected override async doGetWaitingCount(): Promise<number> {
    return this.#state.waiting.size;
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
    const gate = this.#gate;
    gate.now = now;
    const rec = s.ready.popAllowed(gate);
    if (!rec) return null;
    s.dropDedup(rec);
    rec.attempts++;
    rec.claimedAt = now;
    const token = `c${this.#store.nextSeq().toString(36)}`;
    if (this.claimTTL > 0) {
      rec.state = 'claimed';
      rec.claimToken = token;
      s.claimed.set(rec.id, rec);
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
      priority: rec.priority,
      groupKey: rec.groupKey,
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

  protected override async doCancel(id: string): Promise<JobState | null> {
    const cancelled = this.#state.cancel(id, this.clock.now());
    if (cancelled === null) return null;
    await this.dependentsReady(cancelled.ready);
    return cancelled.was;
  }

  protected override async doCancelByDedupKey(sha1: string): Promise<number> {
    return this.#state.cancelHolders(sha1);
  }

  protected override async doClaimsHeld(jobs: readonly ClaimRef[]): Promise<boolean[]> {
    return jobs.map((job) => this.#held(job) !== undefined);
  }

  protected override async doAck(job: ClaimRef): Promise<boolean> {
    const rec = this.#ackOne(job);
    if (rec?.flow != null)
      await this.dependentsReady(this.#state.settleDependents(rec, true, this.clock.now()));
    return rec !== undefined;
  }

  protected override async doBatchAck(jobs: readonly ClaimRef[]): Promise<boolean[]> {
    const now = this.clock.now();
    let ready = 0;
    const out = jobs.map((j) => {
      const rec = this.#ackOne(j);
      if (rec?.flow != null) ready += this.#state.settleDependents(rec, true, now);
      return rec !== undefined;
    });
    await this.dependentsReady(ready);
    return out;
  }

  #ackOne(ref: ClaimRef): JobRecord | undefined {
    const rec = this.#held(ref);
    if (rec) this.#state.unclaim(rec);
    return rec;
  }

  protected override async doRelease(job: ClaimRef, options: ReleaseHookOptions): Promise<ReleaseOutcome> {
    const rec = this.#held(job);
    if (!rec) return false;
    const s = this.#state;
    const now = this.clock.now();
    s.unclaim(rec);
    rec.claimToken = null;
    if (rec.attempts >= this.maxTries) {
      await this.dependentsReady(s.abandon(rec, now));
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
      else if (state === 'waiting') source = s.waiting.values();
      else source = s.abandoned.values();
      for (const rec of [...source]) yield toListed(rec);
    })();
  }

  protected override async doRunMaintenance({ now }: MaintenanceHookOptions): Promise<MaintenanceResult> {
    const s = this.#state;
    let recycled = 0;
    let abandoned = 0;
    let pruned = 0;
    let dependentsReady = 0;
    const ttl = this.claimTTL * 1000;
    if (ttl > 0) {
      for (const rec of [...s.claimed.values()]) {
        if (now - (rec.claimedAt ?? now) < ttl) continue;
        s.unclaim(rec);
        rec.claimToken = null;
        if (rec.attempts >= this.maxTries) {
          dependentsReady += s.abandon(rec, now);
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
    s.ready.prune(now);
    const released = s.promoteDue(now);
    if (recycled + released > 0) s.notify('ready');
    await this.dependentsReady(dependentsReady);
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
        flow: null, // its links settled when it was abandoned
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

  /** The counts of each type's state, and the oldest ready job found by one pass over the ready ones. */
  protected override async doGetSiblingQueueStats(
    types: readonly string[],
  ): Promise<Record<string, QueueStats>> {
    const now = this.clock.now();
    const out: Record<string, QueueStats> = {};
    for (const type of types) {
      const q = this.#store.existing(this.domain, type);
      if (!q) {
        out[type] = EMPTY_QUEUE_STATS;
        continue;
      }
      q.promoteDue(now);
      let oldest = Number.POSITIVE_INFINITY;
      for (const rec of q.ready.values()) {
        const readyAt = Math.max(rec.enqueuedAt, rec.releaseTimestamp ?? 0);
        if (readyAt < oldest) oldest = readyAt;
      }
      out[type] = {
        ready: q.ready.size,
        claimed: q.claimed.size,
        delayed: q.delayed.size,
        abandoned: q.abandoned.size,
        oldestReadyAt: q.ready.size > 0 ? oldest : null,
      };
    }
    return out;
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
