/**
 * Flow-control groups for the memory backend: the ready jobs of each `groupKey` in their own
 * container (priorities over the queue's order), taken round-robin, and the per-group claim
 * counters and rate windows `groupLimits` are checked against.
 *
 * @packageDocumentation
 */
import { type GroupLimits, groupLimitOf } from '../../core/queue-options.js';
import { Deque, type ReadyIndex } from './ready-index.js';

/** What a grouped container needs of an item. */
interface Grouped {
  readonly groupKey: string | null;
}

/**
 * Ready jobs by group. Jobs without a key are one more group. A pop takes the group whose turn it
 * is and moves it to the back of the turns; a group the gate refuses (at its limit) is passed
 * over and keeps its jobs, so it never blocks the others. A queue that never sees a group key
 * pops its one container directly.
 */
export class GroupedReady<T extends Grouped> implements ReadyIndex<T> {
  readonly #make: () => ReadyIndex<T>;
  readonly #plain: ReadyIndex<T>;
  /** Groups holding ready jobs (a group is dropped when it empties). */
  readonly #groups = new Map<string, ReadyIndex<T>>();
  /** The groups with ready jobs in turn order (null: the jobs without a key). */
  readonly #turns = new Deque<string | null>();
  /** Whether the keyless jobs hold a place in #turns. */
  #plainTurn = false;
  #size = 0;

  constructor(make: () => ReadyIndex<T>) {
    this.#make = make;
    this.#plain = make();
  }

  get size(): number {
    return this.#size;
  }

  push(item: T): void {
    this.#container(item.groupKey).push(item);
    this.#size++;
  }

  pushFront(item: T): void {
    this.#container(item.groupKey).pushFront(item);
    this.#size++;
  }

  /** The next job in turn, no group refused. */
  pop(): T | undefined {
    if (this.#groups.size === 0) {
      const item = this.#plain.pop();
      if (item === undefined) return undefined;
      this.#size--;
      if (this.#plain.size === 0) this.#dropPlainTurn();
      return item;
    }
    return this.popAllowed(allowAll);
  }

  /**
   * The next job of a group `allows` lets claim now, or undefined when every group with ready
   * jobs is refused. O(groups passed over).
   */
  popAllowed(allows: (key: string) => boolean): T | undefined {
    const turns = this.#turns;
    for (let n = turns.size; n > 0; n--) {
      const key = turns.pop() as string | null;
      if (key !== null && !allows(key)) {
        turns.push(key);
        continue;
      }
      const container = key === null ? this.#plain : (this.#groups.get(key) as ReadyIndex<T>);
      const item = container.pop() as T;
      this.#size--;
      if (container.size > 0) turns.push(key);
      else if (key === null) this.#plainTurn = false;
      else this.#groups.delete(key);
      return item;
    }
    return undefined;
  }

  *values(): Iterable<T> {
    yield* this.#plain.values();
    for (const container of this.#groups.values()) yield* container.values();
  }

  clear(): void {
    this.#plain.clear();
    this.#groups.clear();
    this.#turns.clear();
    this.#plainTurn = false;
    this.#size = 0;
  }

  #container(key: string | null): ReadyIndex<T> {
    if (key === null) {
      if (!this.#plainTurn) {
        this.#turns.push(null);
        this.#plainTurn = true;
      }
      return this.#plain;
    }
    let container = this.#groups.get(key);
    if (container === undefined) {
      container = this.#make();
      this.#groups.set(key, container);
      this.#turns.push(key);
    }
    return container;
  }

  #dropPlainTurn(): void {
    // Only called while no group holds jobs: the turns hold the keyless jobs' place alone.
    this.#turns.clear();
    this.#plainTurn = false;
  }
}

const allowAll = (): boolean => true;

/** A group's rate window: claims since `start` (Unix ms). */
interface Window {
  start: number;
  count: number;
}

/** The per-group counters of one queue state, shared by every handle on it. */
export class GroupCounters {
  /** Claims each group holds now. */
  readonly #held = new Map<string, number>();
  /** Each group's current rate window. */
  readonly #windows = new Map<string, Window>();

  /** Whether group `key` may take a claim at `now` under `limits`. */
  allows(limits: GroupLimits | null, key: string, now: number): boolean {
    const limit = groupLimitOf(limits, key);
    if (limit.maxConcurrent !== null && (this.#held.get(key) ?? 0) >= limit.maxConcurrent) return false;
    if (limit.rate !== null) {
      const w = this.#windows.get(key);
      if (w !== undefined && now - w.start < limit.rate.perMs && w.count >= limit.rate.max) return false;
    }
    return true;
  }

  /** Counts a claim of group `key` at `now`; `perMs` is the group's rate window, if it has one. */
  claimed(key: string, now: number, perMs: number | null, tracked: boolean): void {
    if (tracked) this.#held.set(key, (this.#held.get(key) ?? 0) + 1);
    if (perMs === null) return;
    const w = this.#windows.get(key);
    if (w === undefined || now - w.start >= perMs) this.#windows.set(key, { start: now, count: 1 });
    else w.count++;
  }

  /** A claim of group `key` ended (ack, release, recycle, abandon, cancel). */
  settled(key: string): void {
    const n = (this.#held.get(key) ?? 0) - 1;
    if (n > 0) this.#held.set(key, n);
    else this.#held.delete(key);
  }

  /** Drops the rate windows over at `now` for `limits` (maintenance: a farm of keys leaves no trail). */
  pruneWindows(limits: GroupLimits | null, now: number): void {
    for (const [key, w] of this.#windows) {
      const rate = groupLimitOf(limits, key).rate;
      if (rate === null || now - w.start >= rate.perMs) this.#windows.delete(key);
    }
  }

  /** Claims group `key` holds now. */
  held(key: string): number {
    return this.#held.get(key) ?? 0;
  }

  clear(): void {
    this.#held.clear();
    this.#windows.clear();
  }
}
