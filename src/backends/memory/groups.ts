/**
 * Flow-control groups for the memory backend: one {@link Group} object per `groupKey` holds the
 * group's ready jobs (priorities over the queue's order), the claims it holds and its rate
 * window; a ring of the groups with ready jobs gives the turns. A claim touches only its group's
 * object: no per-claim lookups by key and no allocation.
 *
 * @packageDocumentation
 */
import type { GroupLimitTable } from '../../core/queue-options.js';
import type { ReadyIndex } from './ready-index.js';

/** What a grouped container needs of an item: its key, and a slot for its group (set at push). */
interface Grouped {
  readonly groupKey: string | null;
  group: Group<unknown> | null;
}

/** One group of a queue state, shared by every handle on the store. */
export class Group<T> {
  readonly ready: ReadyIndex<T>;
  /** Claims the group holds now (claim-tracking queues only). */
  held = 0;
  /** When the group's rate window closes (Unix ms; 0: it never had one). */
  windowEnd = 0;
  /** Claims inside the current rate window. */
  windowCount = 0;
  /** The group after this one in the turns ring; null while the group holds no place in the turns. */
  next: Group<T> | null = null;

  constructor(
    readonly key: string,
    make: () => ReadyIndex<T>,
  ) {
    this.ready = make();
  }
}

/** Decides, per pop, which groups may claim and counts the claims taken. */
export class GroupGate {
  /** "Now" of the current pop (Unix ms). */
  now = 0;

  constructor(
    readonly limits: GroupLimitTable,
    /** Whether claims are tracked (counted until they end). */
    readonly tracked: boolean,
  ) {}

  /**
   * Whether `group` may claim now; when it may, the claim is counted (held, and the rate window:
   * opened at the group's first claim after the last one closed).
   */
  take(group: Group<unknown>): boolean {
    const limits = this.limits;
    if (!limits.unlimited) {
      const limit = limits.of(group.key);
      if (limit.maxConcurrent !== null && group.held >= limit.maxConcurrent) return false;
      const rate = limit.rate;
      if (rate !== null) {
        if (this.now >= group.windowEnd) {
          group.windowEnd = this.now + rate.perMs;
          group.windowCount = 1;
        } else if (group.windowCount < rate.max) group.windowCount++;
        else return false;
      }
    }
    if (this.tracked) group.held++;
    return true;
  }
}

/**
 * Ready jobs by group. Jobs without a key are one more member of the turns. A pop takes the
 * group whose turn it is and moves it to the back; a group the gate refuses (at its limit) is
 * passed over and keeps its jobs, so it never blocks the others (O(groups passed over)). A
 * queue that holds no grouped job pops its one container directly.
 *
 * The turns are a ring linked through {@link Group.next}, held by its last member: the front is
 * `last.next`, moving the front to the back is `last = front`, and dropping the front (its jobs
 * ran out) is one link. No container, no per-turn copy.
 */
export class GroupedReady<T extends Grouped> implements ReadyIndex<T> {
  readonly #make: () => ReadyIndex<T>;
  /** The jobs without a key, as one more member of the turns (never in #groups, never gated). */
  readonly #plain: Group<T>;
  /** Every group with ready jobs, claims held or an open rate window. */
  readonly #groups = new Map<string, Group<T>>();
  /** The last member of the turns ring (null: no turns). */
  #last: Group<T> | null = null;
  #size = 0;
  /** Ready jobs that have a group key. */
  #grouped = 0;

  constructor(make: () => ReadyIndex<T>) {
    this.#make = make;
    // '' is no group key (keys are non-empty): the keyless jobs' member of the turns.
    this.#plain = new Group<T>('', make);
  }

  get size(): number {
    return this.#size;
  }

  push(item: T): void {
    this.#container(item).push(item);
    this.#size++;
  }

  pushFront(item: T): void {
    this.#container(item).pushFront(item);
    this.#size++;
  }

  /** The next job in turn, no group refused and no claim counted. */
  pop(): T | undefined {
    return this.popAllowed(null);
  }

  /** The next job of a group `gate` allows (counting the claim); `gate` null allows every group. */
  popAllowed(gate: GroupGate | null): T | undefined {
    if (this.#grouped > 0) return this.#popTurn(gate);
    const plain = this.#plain;
    const item = plain.ready.pop();
    if (item === undefined) return undefined;
    this.#size--;
    if (plain.ready.size === 0) {
      // No group holds ready jobs: the keyless jobs were the turns' one member.
      plain.next = null;
      this.#last = null;
    }
    return item;
  }

  /** The job of the first member of the turns `gate` allows, passing over the ones it refuses. */
  #popTurn(gate: GroupGate | null): T | undefined {
    const end = this.#last as Group<T>;
    let last = end;
    for (;;) {
      const group = last.next as Group<T>;
      if (group !== this.#plain) {
        if (gate !== null && !gate.take(group)) {
          // Passed over: it goes to the back with its jobs.
          last = group;
          this.#last = group;
          if (group === end) return undefined;
          continue;
        }
        this.#grouped--;
      }
      const item = group.ready.pop() as T;
      this.#size--;
      if (group.ready.size > 0) this.#last = group;
      else {
        // Its jobs ran out: it leaves the turns.
        if (group === last) this.#last = null;
        else last.next = group.next;
        group.next = null;
        if (group !== this.#plain) this.#dropIfIdle(group);
      }
      return item;
    }
  }

  /** A claim of `item`'s group ended (ack, release, recycle, abandon, cancel). */
  settled(item: T): void {
    const group = item.group as Group<T> | null;
    if (group === null || group.held === 0) return;
    group.held--;
    this.#dropIfIdle(group);
  }

  /** The group of `key`, if it holds anything. */
  group(key: string): Group<T> | undefined {
    return this.#groups.get(key);
  }

  /** Drops idle groups whose rate window closed by `now` (maintenance). */
  prune(now: number): void {
    for (const group of this.#groups.values()) {
      if (group.windowEnd <= now) group.windowEnd = 0;
      this.#dropIfIdle(group);
    }
  }

  *values(): Iterable<T> {
    yield* this.#plain.ready.values();
    for (const group of this.#groups.values()) yield* group.ready.values();
  }

  /** Removes every ready job; claim counts and rate windows stay (the claims are still out). */
  clear(): void {
    this.#plain.ready.clear();
    this.#plain.next = null;
    this.#last = null;
    for (const group of [...this.#groups.values()]) {
      group.ready.clear();
      group.next = null;
      this.#dropIfIdle(group);
    }
    this.#size = 0;
    this.#grouped = 0;
  }

  /** Removes everything, counts included (`delete()`). */
  reset(): void {
    this.clear();
    this.#groups.clear();
  }

  #container(item: T): ReadyIndex<T> {
    const key = item.groupKey;
    let group: Group<T>;
    if (key === null) group = this.#plain;
    else {
      let found = this.#groups.get(key);
      if (found === undefined) {
        found = new Group<T>(key, this.#make);
        this.#groups.set(key, found);
      }
      item.group = found;
      this.#grouped++;
      group = found;
    }
    if (group.next === null) {
      // It joins the turns at the back.
      const last = this.#last;
      if (last === null) group.next = group;
      else {
        group.next = last.next;
        last.next = group;
      }
      this.#last = group;
    }
    return group.ready;
  }

  /** Forgets `group` when nothing of it is left (an open rate window must outlive its jobs). */
  #dropIfIdle(group: Group<T>): void {
    if (group.next === null && group.held === 0 && group.windowEnd === 0 && group.ready.size === 0) {
      this.#groups.delete(group.key);
    }
  }
}
