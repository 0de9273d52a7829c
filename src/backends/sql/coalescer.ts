/**
 * {@link Coalescer}: group commit for one kind of statement. Requests that arrive while a
 * statement of their kind is running wait, and the next statement serves all of them at once
 * (up to a weight limit), so concurrent workers of one queue share one claim or one ack statement
 * instead of racing each other with their own.
 *
 * @packageDocumentation
 */

interface Waiter<I, O> {
  readonly item: I;
  readonly resolve: (value: O) => void;
  readonly reject: (reason: unknown) => void;
}

/**
 * Runs batches of requests one at a time: while a batch runs, new requests queue; when it ends,
 * the queued ones (as many as fit in `max` weight, at least one) form the next batch. A request
 * never waits for more than the batch in flight, and nothing waits when the lane is idle (the
 * first request of an idle lane starts its batch on the next microtask, so the requests made in
 * the same tick join it).
 */
export class Coalescer<I, O> {
  readonly #run: (items: readonly I[]) => Promise<readonly O[]>;
  readonly #weight: (item: I) => number;
  readonly #max: number;
  #waiting: Waiter<I, O>[] = [];
  #running = false;

  /**
   * @param run - runs one batch; must return one result per item, in order.
   * @param weight - what an item counts against `max` (e.g. the rows it asks for).
   * @param max - the largest total weight of a batch (a heavier single item runs alone).
   */
  constructor(run: (items: readonly I[]) => Promise<readonly O[]>, weight: (item: I) => number, max: number) {
    this.#run = run;
    this.#weight = weight;
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

  #take(): Waiter<I, O>[] {
    let total = 0;
    let n = 0;
    for (const w of this.#waiting) {
      const weight = this.#weight(w.item);
      if (n > 0 && total + weight > this.#max) break;
      total += weight;
      n++;
    }
    const batch = this.#waiting.slice(0, n);
    this.#waiting = this.#waiting.slice(n);
    return batch;
  }

  async #drain(): Promise<void> {
    while (this.#waiting.length > 0) {
      const batch = this.#take();
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
