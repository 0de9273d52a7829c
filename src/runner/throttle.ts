/**
 * Per-type backoff throttling (promises §8 `backoffThrottling`: type → work items/s).
 *
 * @remarks Runners in one process share a {@link Throttle} instance. Runners in separate
 *   processes on one host share budgets through a small JSON file (`{ file }`, e.g.
 *   {@link defaultThrottleFile}), rewritten by atomic rename. There is no lock: two processes
 *   spending at the same instant may lose one update, so the shared rate is approximate.
 * @packageDocumentation
 */
import { randomUUID } from 'node:crypto';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Clock, systemClock } from '../core/clock.js';

/** The default per-host throttle file: `<os.tmpdir()>/switchyard-throttle-<name>.json`. */
export function defaultThrottleFile(name = 'default'): string {
  return join(tmpdir(), `switchyard-throttle-${name.replace(/[^A-Za-z0-9_.-]/g, '_')}.json`);
}

/** Options of {@link Throttle}. */
export interface ThrottleOptions {
  /** Default the wall clock. */
  readonly clock?: Clock;
  /** Share budgets with other processes on this host through this JSON file. */
  readonly file?: string;
}

function isClock(value: Clock | ThrottleOptions): value is Clock {
  return typeof (value as { now?: unknown }).now === 'function';
}

type Buckets = Record<string, { tokens: number; at: number }>;

/**
 * Token buckets of work items per type. A type whose bucket is empty is throttled until it
 * refills; a job's work items are spent when it starts (the bucket may go negative for a big job,
 * which then throttles the type for longer).
 */
export class Throttle {
  readonly #rates: ReadonlyMap<string, number>;
  readonly #clock: Clock;
  readonly #buckets = new Map<string, { tokens: number; at: number }>();
  readonly #file: string | null;

  /**
   * @param rates - type → work items per second (types not listed are unthrottled).
   * @param options - a clock (default the wall clock), or `{ clock, file }`.
   */
  constructor(rates: Readonly<Record<string, number>>, options: Clock | ThrottleOptions = {}) {
    const opts: ThrottleOptions = isClock(options) ? { clock: options } : options;
    const clock = opts.clock ?? systemClock;
    this.#file = opts.file ?? null;
    const m = new Map<string, number>();
    for (const [type, rate] of Object.entries(rates)) {
      if (!(typeof rate === 'number' && rate > 0 && Number.isFinite(rate))) {
        throw new TypeError(`Throttle: backoffThrottling.${type} must be work items/s > 0`);
      }
      m.set(type, rate);
    }
    this.#rates = m;
    this.#clock = clock;
  }

  #load(): void {
    if (this.#file === null) return;
    let data: Buckets = {};
    try {
      const parsed: unknown = JSON.parse(readFileSync(this.#file, 'utf8'));
      if (typeof parsed === 'object' && parsed !== null) data = parsed as Buckets;
    } catch {
      // Missing or torn file: start from full buckets.
    }
    this.#buckets.clear();
    for (const [type, b] of Object.entries(data)) {
      if (typeof b?.tokens === 'number' && typeof b.at === 'number') this.#buckets.set(type, { ...b });
    }
  }

  #save(): void {
    if (this.#file === null) return;
    const tmp = `${this.#file}.${process.pid}.${randomUUID()}.tmp`;
    writeFileSync(tmp, JSON.stringify(Object.fromEntries(this.#buckets)));
    renameSync(tmp, this.#file);
  }

  #bucket(type: string, rate: number): { tokens: number; at: number } {
    this.#load();
    const now = this.#clock.now();
    let b = this.#buckets.get(type);
    if (!b) {
      b = { tokens: rate, at: now };
      this.#buckets.set(type, b);
    } else {
      b.tokens = Math.min(rate, b.tokens + ((now - b.at) / 1000) * rate);
      b.at = now;
    }
    return b;
  }

  /** True when `type` has no budget left now. */
  isThrottled(type: string): boolean {
    const rate = this.#rates.get(type);
    if (rate === undefined) return false;
    return this.#bucket(type, rate).tokens < 1;
  }

  /** Types throttled now, among the configured ones. */
  throttledTypes(): string[] {
    return [...this.#rates.keys()].filter((t) => this.isThrottled(t));
  }

  /** Spends `items` work items of `type`'s budget. */
  consume(type: string, items: number): void {
    const rate = this.#rates.get(type);
    if (rate === undefined) return;
    this.#bucket(type, rate).tokens -= Math.max(0, items);
    this.#save();
  }

  /** Milliseconds until `type` has budget again (0 when not throttled). */
  waitMs(type: string): number {
    const rate = this.#rates.get(type);
    if (rate === undefined) return 0;
    const b = this.#bucket(type, rate);
    return b.tokens >= 1 ? 0 : Math.ceil(((1 - b.tokens) / rate) * 1000);
  }
}
