/**
 * Where memory queues live: a {@link MemoryStore} holds one {@link QueueState} per (domain, type),
 * shared by every handle on the store, and each state holds its {@link JobRecord}s by state (the
 * ready container of its order, a delayed heap, claimed and abandoned maps, dedup and roots).
 *
 * @packageDocumentation
 */
import { configInvalid } from '../../core/errors.js';
import type { DependencyFailurePolicy } from '../../core/flow.js';
import type { JobState, JsonObject, ListedJob, RootJob } from '../../core/job.js';
import type { Order } from '../../core/supports.js';
import { type Group, GroupedReady } from './groups.js';
import { MinHeap, PriorityLevels, readyIndexFor, removeWhere } from './ready-index.js';

/** One stored job. Mutable: the queue moves it between states. */
export interface JobRecord {
  readonly id: string;
  readonly seq: number;
  readonly type: string;
  readonly domain: string;
  readonly params: JsonObject;
  readonly removeDuplicates: boolean;
  readonly sha1: string | null;
  readonly rootJob: RootJob | null;
  readonly requestId: string | null;
  readonly priority: number;
  readonly groupKey: string | null;
  /** The group object the record last queued in (set by the ready container), or null. */
  group: Group<unknown> | null;
  readonly enqueuedAt: number;
  /** Original release time, then the retry time after a delayed release. */
  releaseTimestamp: number | null;
  state: JobState;
  attempts: number;
  claimedAt: number | null;
  claimToken: string | null;
  /** A flow job's links (`pushFlow`), else null. */
  flow: FlowLinks | null;
}

/** The dependency links of one flow job. */
export interface FlowLinks {
  /** Dependencies not settled yet: the job waits while this is above 0. */
  pending: number;
  /** The jobs waiting on this one; emptied when this one settles (so each link settles once). */
  readonly dependents: JobRecord[];
  /** What this job does when a dependency fails. */
  readonly policy: DependencyFailurePolicy;
}

/**
 * The state of one (domain, type) queue inside a store, shared by every handle on it.
 *
 * @internal
 */
export class QueueState {
  /** Ready jobs by group, with each group's claim count and rate window (`groupLimits`). */
  readonly ready: GroupedReady<JobRecord>;
  readonly delayed = new MinHeap<JobRecord>(
    (j) => j.releaseTimestamp ?? 0,
    (j) => j.seq,
  );
  readonly claimed = new Map<string, JobRecord>();
  readonly abandoned = new Map<string, JobRecord>();
  /** Flow jobs whose dependencies have not all settled. */
  readonly waiting = new Map<string, JobRecord>();
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
    this.ready = new GroupedReady<JobRecord>(
      () => new PriorityLevels<JobRecord>(() => readyIndexFor<JobRecord>(order)),
    );
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

  /** Puts `rec` in ready, or in delayed when its release time is after `now`; true when ready. */
  enqueue(rec: JobRecord, now: number): boolean {
    if (rec.releaseTimestamp !== null && rec.releaseTimestamp > now) {
      rec.state = 'delayed';
      this.delayed.push(rec);
      return false;
    }
    rec.state = 'ready';
    this.ready.push(rec);
    return true;
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

  /** Takes claimed `rec` out of the claimed map (its group's claim count too). */
  unclaim(rec: JobRecord): void {
    if (this.claimed.delete(rec.id) && rec.group !== null) this.ready.settled(rec);
  }

  /**
   * Removes job `id` whatever its state (a claimed one loses its claim) and fails the jobs waiting
   * on it (their policy applies); the state it was in and how many jobs that made ready, or null.
   */
  cancel(id: string, now: number): { readonly was: JobState; readonly ready: number } | null {
    const held = this.claimed.get(id) ?? this.abandoned.get(id) ?? this.waiting.get(id);
    if (held !== undefined) {
      const was = held.state;
      if (was === 'claimed') this.unclaim(held);
      this.abandoned.delete(id);
      this.waiting.delete(id);
      held.claimToken = null;
      return { was, ready: this.settleDependents(held, false, now) };
    }
    this.promoteDue(now); // a due delayed job is ready
    const [queued] = this.#removeQueued((rec) => rec.id === id);
    if (queued === undefined) return null;
    return { was: queued.state, ready: this.settleDependents(queued, false, now) };
  }

  /** Abandons `rec` (its tries are spent) and fails its dependents; how many jobs that made ready. */
  abandon(rec: JobRecord, now: number): number {
    rec.state = 'abandoned';
    rec.claimToken = null;
    this.abandoned.set(rec.id, rec);
    return this.settleDependents(rec, false, now);
  }

  /**
   * Settles the links of `done`, which left for good: acked (`succeeded`), or abandoned or
   * cancelled. Each dependent with nothing left pending becomes ready (or delayed); on a failure,
   * a dependent with policy `abandon` is abandoned in turn, and the failure passes on to its own
   * dependents. Returns how many jobs became ready, and tells the waiters.
   */
  settleDependents(done: JobRecord, succeeded: boolean, now: number): number {
    if (done.flow === null || done.flow.dependents.length === 0) return 0;
    let ready = 0;
    let delayed = false;
    const failed: JobRecord[] = [];
    let next: JobRecord | undefined = done;
    let ok = succeeded;
    while (next !== undefined) {
      for (const d of (next.flow as FlowLinks).dependents.splice(0)) {
        const links = d.flow;
        if (d.state !== 'waiting' || links === null) continue; // cancelled meanwhile
        if (!ok && links.policy === 'abandon') {
          this.waiting.delete(d.id);
          d.state = 'abandoned';
          d.claimedAt = now; // when it was abandoned: the abandoned-job TTL counts from here
          this.abandoned.set(d.id, d);
          failed.push(d);
          continue;
        }
        if (--links.pending > 0) continue;
        this.waiting.delete(d.id);
        if (this.enqueue(d, now)) ready++;
        else delayed = true;
      }
      next = failed.pop();
      ok = false;
    }
    if (ready > 0) this.notify('ready');
    if (delayed) this.notify('delayed');
    return ready;
  }

  /** Removes the ready and delayed jobs holding dedup key `sha1`; returns how many. */
  cancelHolders(sha1: string): number {
    const ids = this.dedup.get(sha1);
    if (ids === undefined) return 0;
    const holders = new Set(ids);
    return this.#removeQueued((rec) => holders.has(rec.id)).length;
  }

  #removeQueued(test: (rec: JobRecord) => boolean): JobRecord[] {
    const removed = [...removeWhere(this.ready, test), ...removeWhere(this.delayed, test)];
    for (const rec of removed) this.dropDedup(rec);
    return removed;
  }

  clear(): void {
    this.ready.reset();
    this.delayed.clear();
    this.claimed.clear();
    this.abandoned.clear();
    this.waiting.clear();
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
      const held = q.ready.size + q.delayed.size + q.claimed.size + q.abandoned.size + q.waiting.size;
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

/** A stored job as `list()` shows it. */
export function toListed(rec: JobRecord): ListedJob {
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
    priority: rec.priority,
    groupKey: rec.groupKey,
  };
}
