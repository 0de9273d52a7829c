/**
 * Placement helpers of the federated backend: a consistent-hash ring over weighted partitions
 * (so every process sends a dedup key or a root-job signature to the same partition, and
 * removing one partition only moves the keys it held), and a weighted-random pick.
 *
 * @packageDocumentation
 */
import { createHash } from 'node:crypto';

/** Ring points per partition of average weight; enough to keep shares within a few percent. */
const POINTS_PER_PARTITION = 160;

/** The first 32 bits of the MD5 of `text`: a stable, well-spread ring position. */
export function ringHash(text: string): number {
  return createHash('md5').update(text).digest().readUInt32BE(0);
}

/**
 * A consistent-hash ring. Each partition of weight > 0 owns points in proportion to its weight;
 * a key belongs to the owner of the first point at or after the key's hash.
 */
export class HashRing {
  readonly #points: Uint32Array;
  readonly #owners: string[];

  /** @param weights - partition name → weight; weight 0 partitions own no point. */
  constructor(weights: ReadonlyMap<string, number>) {
    const named = [...weights].filter(([, w]) => w > 0);
    const total = named.reduce((sum, [, w]) => sum + w, 0);
    const budget = POINTS_PER_PARTITION * named.length;
    const points: Array<[number, string]> = [];
    for (const [name, weight] of named) {
      const count = Math.max(1, Math.round((budget * weight) / total));
      for (let i = 0; i < count; i++) points.push([ringHash(`${name}#${i}`), name]);
    }
    // Ties (astronomically rare) break by name, so every process builds the same ring.
    points.sort((a, b) => a[0] - b[0] || (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
    this.#points = Uint32Array.from(points, (p) => p[0]);
    this.#owners = points.map((p) => p[1]);
  }

  /**
   * The partition owning `key`, skipping partitions `accept` refuses (walking on round the ring),
   * or null when it accepts none.
   */
  locate(key: string, accept: (partition: string) => boolean = () => true): string | null {
    const n = this.#points.length;
    if (n === 0) return null;
    const h = ringHash(key);
    let lo = 0;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.#points[mid] as number) < h) lo = mid + 1;
      else hi = mid;
    }
    const refused = new Set<string>();
    for (let i = 0; i < n; i++) {
      const owner = this.#owners[(lo + i) % n] as string;
      if (refused.has(owner)) continue;
      if (accept(owner)) return owner;
      refused.add(owner);
    }
    return null;
  }
}

/** Picks one item with probability proportional to its weight; null when no weight is > 0. */
export function weightedPick<T>(items: readonly T[], weightOf: (item: T) => number): T | null {
  let total = 0;
  for (const item of items) total += weightOf(item);
  if (!(total > 0)) return null;
  let r = Math.random() * total;
  for (const item of items) {
    r -= weightOf(item);
    if (r < 0 && weightOf(item) > 0) return item;
  }
  // Rounding left r at 0: the last weighted item.
  for (let i = items.length - 1; i >= 0; i--) if (weightOf(items[i] as T) > 0) return items[i] as T;
  return null;
}

/**
 * All items in weighted-random order (heavier ones tend to come first); weight 0 items come last,
 * in random order.
 */
export function weightedShuffle<T>(items: readonly T[], weightOf: (item: T) => number): T[] {
  // Efraimidis–Spirakis: sort by u^(1/w) descending; weight 0 sorts after every weighted item.
  const keyed = items.map((item) => {
    const w = weightOf(item);
    const u = Math.random();
    return { item, key: w > 0 ? Math.log(u) / w : Number.NEGATIVE_INFINITY, tie: u };
  });
  keyed.sort((a, b) => b.key - a.key || b.tie - a.tie);
  return keyed.map((k) => k.item);
}
