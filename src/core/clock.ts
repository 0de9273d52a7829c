/**
 * Time as the queue sees it. Every timestamp a backend stores comes from the queue's clock, so
 * tests can move time with {@link ManualClock} instead of sleeping, and SQL / Lua code gets "now"
 * as a bound argument rather than the server's clock.
 *
 * @packageDocumentation
 */

/** A source of Unix milliseconds. */
export interface Clock {
  now(): number;
}

/** The wall clock. */
export const systemClock: Clock = Object.freeze({ now: () => Date.now() });

/** A clock that only moves when told to; for tests of claimTTL, delays and pruning. */
export class ManualClock implements Clock {
  #now: number;

  constructor(start: number = Date.now()) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  /** Moves time forward by `ms`. */
  advance(ms: number): void {
    if (!(ms >= 0)) throw new TypeError('ManualClock.advance(ms): ms must be a number ≥ 0');
    this.#now += ms;
  }

  /** Sets the time (must not go backwards). */
  set(ms: number): void {
    if (!(ms >= this.#now)) throw new TypeError('ManualClock.set(ms): time cannot go backwards');
    this.#now = ms;
  }
}
