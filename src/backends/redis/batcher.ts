/**
 * Group commit for the Redis hot path. Calls that arrive while a batch is in flight go out
 * together in the next one, so N workers sharing one queue handle cost one script call per round
 * trip instead of N. An idle caller waits no longer than a microtask: the first call of a quiet
 * period is sent at once (with whatever else arrived in the same tick).
 *
 * Measured (2-core box shared with Redis 7 on localhost, 16 workers, pop + ack per job, 20k
 * jobs): one script call per pop and per ack drained 37–50k jobs/s with Node at 100 % CPU (≈ 26 µs
 * of Node CPU per job; ioredis alone costs ≈ 7.6 µs per call); batched, the same drain made
 * 2,523 script calls instead of 40,000 and ran at 44–76k jobs/s (the box is noisy), with the
 * multi-key pop / ack scripts cutting Redis time per job from 8.2 to ≈ 4.5 µs.
 *
 * @packageDocumentation
 */

interface Waiter<I, O> {
  readonly item: I;
  readonly resolve: (value: O) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Collects items and runs them in batches of at most `max`, one batch at a time.
 *
 * @typeParam I - what a caller hands in.
 * @typeParam O - what each caller gets back.
 */
export class Batcher<I, O> {
  readonly #run: (items: readonly I[]) => Promise<readonly O[]>;
  readonly #max: number;
  #waiting: Waiter<I, O>[] = [];
  #running = false;

  /**
   * @param run - runs one batch; must return one result per item, in order.
   * @param max - the largest batch.
   */
  constructor(run: (items: readonly I[]) => Promise<readonly O[]>, max: number) {
    this.#run = run;
    this.#max = max;
  }

  /** Queues `item`; resolves with its result, or rejects with its batch's error. */
  add(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.#waiting.push({ item, resolve, reject });
      if (!this.#running) {
        this.#running = true;
        queueMicrotask(() => void this.#drain());
      }
    });
  }

  async #drain(): Promise<void> {
    while (this.#waiting.length > 0) {
      const batch = this.#waiting.length <= this.#max ? this.#waiting : this.#waiting.slice(0, this.#max);
      this.#waiting = batch === this.#waiting ? [] : this.#waiting.slice(this.#max);
      try {
        const out = await this.#run(batch.map((w) => w.item));
        for (let i = 0; i < batch.length; i++) (batch[i] as Waiter<I, O>).resolve(out[i] as O);
      } catch (error) {
        for (const w of batch) w.reject(error);
      }
    }
    this.#running = false;
  }
}
