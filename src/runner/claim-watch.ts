/**
 * How a runner notices that a job it runs was cancelled (`JobQueue.cancel`): every `everyMs` it
 * asks each queue, in one `claimsHeld` call per queue, whether the claims of the jobs it runs are
 * still held, and calls the lost ones' `onLost` (the runner aborts that handler's signal). One
 * timer for every job in flight; none while nothing is watched. A claim is also lost when it was
 * recycled after claimTTL (the job runs again elsewhere), so stopping is right in both cases.
 *
 * @packageDocumentation
 */
import type { ClaimRef } from '../core/job-queue.js';

/** What the watch asks: a queue (`JobQueue.claimsHeld`). */
export interface ClaimsSource {
  claimsHeld(jobs: readonly ClaimRef[]): Promise<boolean[]>;
}

interface Watched {
  readonly ref: ClaimRef;
  readonly onLost: () => void;
}

/** Watches the claims of running jobs; see the module comment. */
export class ClaimWatch {
  readonly #everyMs: number;
  readonly #onError: (error: unknown) => void;
  readonly #byQueue = new Map<ClaimsSource, Map<string, Watched>>();
  #timer: NodeJS.Timeout | null = null;
  #checking = false;

  /**
   * @param everyMs - how often claims are checked.
   * @param onError - told when a check fails (the jobs keep running; the next check tries again).
   */
  constructor(everyMs: number, onError: (error: unknown) => void) {
    this.#everyMs = everyMs;
    this.#onError = onError;
  }

  /** Watches `ref` of `queue` until the returned function is called; `onLost` runs at most once. */
  watch(queue: ClaimsSource, ref: ClaimRef, onLost: () => void): () => void {
    let jobs = this.#byQueue.get(queue);
    if (jobs === undefined) {
      jobs = new Map();
      this.#byQueue.set(queue, jobs);
    }
    const entry: Watched = { ref, onLost };
    jobs.set(ref.id, entry);
    this.#timer ??= setInterval(() => void this.#check(), this.#everyMs).unref();
    return () => {
      const current = this.#byQueue.get(queue);
      if (current?.get(ref.id) === entry) current.delete(ref.id);
      if (current?.size === 0) this.#byQueue.delete(queue);
      if (this.#byQueue.size === 0 && this.#timer !== null) {
        clearInterval(this.#timer);
        this.#timer = null;
      }
    };
  }

  /** Jobs watched now (tests). */
  get size(): number {
    let n = 0;
    for (const jobs of this.#byQueue.values()) n += jobs.size;
    return n;
  }

  async #check(): Promise<void> {
    if (this.#checking) return; // a slow store: skip a beat rather than pile up checks
    this.#checking = true;
    try {
      await Promise.all(
        [...this.#byQueue].map(async ([queue, jobs]) => {
          const entries = [...jobs.values()];
          let held: boolean[];
          try {
            held = await queue.claimsHeld(entries.map((e) => e.ref));
          } catch (error) {
            this.#onError(error);
            return;
          }
          entries.forEach((entry, i) => {
            if (held[i] !== false || jobs.get(entry.ref.id) !== entry) return;
            jobs.delete(entry.ref.id);
            entry.onLost();
          });
        }),
      );
    } finally {
      this.#checking = false;
    }
  }
}
