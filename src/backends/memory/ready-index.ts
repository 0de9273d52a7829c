/**
 * Ready-job containers for the memory backend, one per pop order. Each is O(1) or O(log n) per
 * operation, so a queue of millions of jobs pops as fast as an empty one.
 *
 * @packageDocumentation
 */
import type { Order } from '../../core/supports.js';

/** What the memory backend needs from a ready-job container. */
export interface ReadyIndex<T> {
  readonly size: number;
  /** Adds a job at the back (fifo) / by key (timestamp) / anywhere (random). */
  push(item: T): void;
  /** Adds a job that should be popped early (recycled claims go to the front, as in MediaWiki). */
  pushFront(item: T): void;
  pop(): T | undefined;
  values(): Iterable<T>;
  clear(): void;
}

/** FIFO: a growable ring buffer, O(1) at both ends. */
export class Deque<T> implements ReadyIndex<T> {
  #buf: (T | undefined)[] = new Array(16);
  #head = 0;
  #size = 0;

  get size(): number {
    return this.#size;
  }

  push(item: T): void {
    if (this.#size === this.#buf.length) this.#grow();
    this.#buf[(this.#head + this.#size) & (this.#buf.length - 1)] = item;
    this.#size++;
  }

  pushFront(item: T): void {
    if (this.#size === this.#buf.length) this.#grow();
    this.#head = (this.#head - 1) & (this.#buf.length - 1);
    this.#buf[this.#head] = item;
    this.#size++;
  }

  pop(): T | undefined {
    if (this.#size === 0) return undefined;
    const item = this.#buf[this.#head];
    this.#buf[this.#head] = undefined;
    this.#head = (this.#head + 1) & (this.#buf.length - 1);
    this.#size--;
    return item;
  }

  *values(): Iterable<T> {
    const mask = this.#buf.length - 1;
    for (let i = 0; i < this.#size; i++) yield this.#buf[(this.#head + i) & mask] as T;
  }

  clear(): void {
    this.#buf = new Array(16);
    this.#head = 0;
    this.#size = 0;
  }

  #grow(): void {
    const old = this.#buf;
    const next: (T | undefined)[] = new Array(old.length * 2);
    const mask = old.length - 1;
    for (let i = 0; i < this.#size; i++) next[i] = old[(this.#head + i) & mask];
    this.#buf = next;
    this.#head = 0;
  }
}

/** A binary min-heap over a numeric key with a sequence tie-break (stable for equal keys). */
export class MinHeap<T> implements ReadyIndex<T> {
  #items: T[] = [];

  constructor(
    private readonly key: (item: T) => number,
    private readonly seq: (item: T) => number,
  ) {}

  get size(): number {
    return this.#items.length;
  }

  push(item: T): void {
    const items = this.#items;
    items.push(item);
    let i = items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.#less(items[i] as T, items[parent] as T)) break;
      this.#swap(i, parent);
      i = parent;
    }
  }

  /** The heap orders by key; "front" is whatever the key says. */
  pushFront(item: T): void {
    this.push(item);
  }

  peek(): T | undefined {
    return this.#items[0];
  }

  pop(): T | undefined {
    const items = this.#items;
    const top = items[0];
    const last = items.pop();
    if (items.length > 0 && last !== undefined) {
      items[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < items.length && this.#less(items[l] as T, items[m] as T)) m = l;
        if (r < items.length && this.#less(items[r] as T, items[m] as T)) m = r;
        if (m === i) break;
        this.#swap(i, m);
        i = m;
      }
    }
    return top;
  }

  values(): Iterable<T> {
    return [...this.#items].sort((a, b) => (this.#less(a, b) ? -1 : 1));
  }

  clear(): void {
    this.#items = [];
  }

  #less(a: T, b: T): boolean {
    const ka = this.key(a);
    const kb = this.key(b);
    return ka < kb || (ka === kb && this.seq(a) < this.seq(b));
  }

  #swap(i: number, j: number): void {
    const items = this.#items;
    const t = items[i] as T;
    items[i] = items[j] as T;
    items[j] = t;
  }
}

/** Random order: pop takes a uniformly random element (swap-remove, O(1)). */
export class RandomBag<T> implements ReadyIndex<T> {
  #items: T[] = [];

  constructor(private readonly random: () => number = Math.random) {}

  get size(): number {
    return this.#items.length;
  }

  push(item: T): void {
    this.#items.push(item);
  }

  pushFront(item: T): void {
    this.#items.push(item);
  }

  pop(): T | undefined {
    const items = this.#items;
    if (items.length === 0) return undefined;
    const i = Math.floor(this.random() * items.length);
    const picked = items[i];
    const last = items.pop() as T;
    if (i < items.length) items[i] = last;
    return picked;
  }

  values(): Iterable<T> {
    return [...this.#items];
  }

  clear(): void {
    this.#items = [];
  }
}

/**
 * Priorities over an order: one container of the order per priority present, a pop takes from
 * the highest non-empty one. Priority 0 always has its container, so a queue that never sees
 * another priority pays one array check per pop. Levels that empty are dropped on the next pop
 * that passes them (a sparse range of priorities costs nothing once drained).
 */
export class PriorityLevels<T extends { readonly priority: number }> implements ReadyIndex<T> {
  readonly #make: () => ReadyIndex<T>;
  readonly #zero: ReadyIndex<T>;
  readonly #levels = new Map<number, ReadyIndex<T>>();
  /** The priorities that have a container, highest first. */
  #desc: number[] = [0];
  #size = 0;

  constructor(make: () => ReadyIndex<T>) {
    this.#make = make;
    this.#zero = make();
    this.#levels.set(0, this.#zero);
  }

  get size(): number {
    return this.#size;
  }

  push(item: T): void {
    (item.priority === 0 ? this.#zero : this.#level(item.priority)).push(item);
    this.#size++;
  }

  pushFront(item: T): void {
    (item.priority === 0 ? this.#zero : this.#level(item.priority)).pushFront(item);
    this.#size++;
  }

  pop(): T | undefined {
    if (this.#size === 0) return undefined;
    const desc = this.#desc;
    if (desc.length === 1) {
      this.#size--;
      return this.#zero.pop();
    }
    for (let i = 0; i < desc.length; i++) {
      const p = desc[i] as number;
      const level = this.#levels.get(p) as ReadyIndex<T>;
      if (level.size > 0) {
        this.#size--;
        return level.pop();
      }
      if (p !== 0) {
        this.#levels.delete(p);
        desc.splice(i--, 1);
      }
    }
    return undefined;
  }

  *values(): Iterable<T> {
    for (const p of this.#desc) yield* (this.#levels.get(p) as ReadyIndex<T>).values();
  }

  clear(): void {
    this.#zero.clear();
    this.#levels.clear();
    this.#levels.set(0, this.#zero);
    this.#desc = [0];
    this.#size = 0;
  }

  #level(priority: number): ReadyIndex<T> {
    let level = this.#levels.get(priority);
    if (level === undefined) {
      level = this.#make();
      this.#levels.set(priority, level);
      const desc = this.#desc;
      let at = 0;
      while (at < desc.length && (desc[at] as number) > priority) at++;
      desc.splice(at, 0, priority);
    }
    return level;
  }
}

/** The ready container for an order (`any` is FIFO: the fastest here). */
export function readyIndexFor<T extends { readonly seq: number; readonly enqueuedAt: number }>(
  order: Order,
): ReadyIndex<T> {
  switch (order) {
    case 'timestamp':
      return new MinHeap<T>(
        (j) => j.enqueuedAt,
        (j) => j.seq,
      );
    case 'random':
      return new RandomBag<T>();
    default:
      return new Deque<T>();
  }
}

/**
 * Removes the items `test` picks and returns them: O(n), the container is rebuilt in its own
 * order (the containers are ordered, not keyed by id; used only by cancellation).
 */
export function removeWhere<T>(index: ReadyIndex<T>, test: (item: T) => boolean): T[] {
  const kept: T[] = [];
  const removed: T[] = [];
  for (const item of index.values()) (test(item) ? removed : kept).push(item);
  if (removed.length === 0) return removed;
  index.clear();
  for (const item of kept) index.push(item);
  return removed;
}
