/**
 * A seeded pseudo-random generator for the chaos suite (mulberry32): every random choice of a run
 * (which runner to kill and when, which config key to mutate) follows from one printed seed, so a
 * failure is replayed with `SWITCHYARD_CHAOS_SEED=<seed> npm run test:chaos`.
 */

/** A generator of numbers in [0, 1) with helpers. */
export interface Rng {
  readonly seed: number;
  /** A number in [0, 1). */
  next(): number;
  /** An integer in [min, max]. */
  int(min: number, max: number): number;
  /** One element of `items`. */
  pick<T>(items: readonly T[]): T;
  /** True with probability `p`. */
  chance(p: number): boolean;
}

/** A generator seeded with `seed` (an unsigned 32-bit integer). */
export function createRng(seed: number): Rng {
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    seed: seed >>> 0,
    next,
    int: (min, max) => min + Math.floor(next() * (max - min + 1)),
    pick: <T>(items: readonly T[]): T => {
      if (items.length === 0) throw new Error('pick from an empty list');
      return items[Math.floor(next() * items.length)] as T;
    },
    chance: (p) => next() < p,
  };
}

/**
 * The run's seed: `SWITCHYARD_CHAOS_SEED` when set, else a fresh one. Derived generators (one per
 * test) mix in a label, so adding a test does not shift the others' choices.
 */
export const chaosSeed: number = (() => {
  const fromEnv = process.env.SWITCHYARD_CHAOS_SEED;
  if (fromEnv !== undefined && fromEnv !== '') {
    const n = Number(fromEnv);
    if (!Number.isInteger(n) || n < 0)
      throw new Error(`SWITCHYARD_CHAOS_SEED must be an integer ≥ 0, got ${fromEnv}`);
    return n >>> 0;
  }
  return Math.floor(Math.random() * 2 ** 32) >>> 0;
})();

/** A generator for one test: the run's seed mixed with `label`. */
export function rngFor(label: string): Rng {
  let h = chaosSeed ^ 0x811c9dc5;
  for (let i = 0; i < label.length; i++) h = Math.imul(h ^ label.charCodeAt(i), 0x01000193);
  return createRng(h >>> 0);
}

/** One line on stderr naming the seed, printed once per test file. */
export function announceSeed(file: string): void {
  process.stderr.write(`chaos ${file}: seed ${chaosSeed} (replay with SWITCHYARD_CHAOS_SEED=${chaosSeed})\n`);
}
