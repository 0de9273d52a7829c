/**
 * A counting semaphore whose waits can be abandoned (the executor's per-rule concurrency).
 *
 * @packageDocumentation
 */

/** Thrown by {@link Semaphore.acquire} when its signal aborts. */
export class AcquireAborted extends Error {
  constructor() {
    super('acquire aborted');
    this.name = 'AcquireAborted';
  }
}

/** At most `limit` holders at a time; waiters are served in order. */
export class Semaphore {
  readonly limit: number;
  #held = 0;
  #peak = 0;
  readonly #waiters: Array<{ resolve: () => void; reject: (e: Error) => void }> = [];

  constructor(limit: number) {
    if (!(Number.isInteger(limit) && limit >= 1))
      throw new RangeError('Semaphore limit must be an integer ≥ 1');
    this.limit = limit;
  }

  /** Slots taken now. */
  get held(): number {
    return this.#held;
  }

  /** The most slots ever taken at once. */
  get peak(): number {
    return this.#peak;
  }

  /** True when a slot is free now. */
  get available(): boolean {
    return this.#held < this.limit;
  }

  /** Takes a slot without waiting; false when none is free. */
  tryAcquire(): boolean {
    if (this.#held >= this.limit || this.#waiters.length > 0) return false;
    this.#take();
    return true;
  }

  /** Waits for a slot; rejects with {@link AcquireAborted} when `signal` aborts first. */
  acquire(signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(new AcquireAborted());
    if (this.tryAcquire()) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const waiter = {
        resolve: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
        reject,
      };
      const onAbort = () => {
        const i = this.#waiters.indexOf(waiter);
        if (i >= 0) this.#waiters.splice(i, 1);
        reject(new AcquireAborted());
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#waiters.push(waiter);
    });
  }

  /** Gives a slot back (to the first waiter, if any). */
  release(): void {
    const next = this.#waiters.shift();
    if (next !== undefined) {
      next.resolve();
      return;
    }
    if (this.#held > 0) this.#held--;
  }

  #take(): void {
    this.#held++;
    if (this.#held > this.#peak) this.#peak = this.#held;
  }
}
