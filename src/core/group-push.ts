/**
 * How a {@link JobQueueGroup} pushes: the input normalised once and split by type, every target
 * queue checked before anything is stored, then each type's batch handed to its queue already
 * normalised; and the lazy-push buffer that holds such batches until a flush.
 *
 * @packageDocumentation
 */
import { notSupported } from './errors.js';
import { type NormalizedJob, normalizeJobs } from './job.js';
import { checkPush, type JobQueue, type PushOptions, type PushResult, pushNormalized } from './job-queue.js';

/** Normalised jobs by type, in input order. */
export type Batches = Map<string, NormalizedJob[]>;

const NOTHING: PushResult = Object.freeze({ inserted: 0, duplicates: 0 });

/**
 * Validates the whole input (indices as given; each job of `domain`) and splits it by type,
 * keeping order.
 *
 * @throws `SWITCHYARD_INVALID_JOB` naming each bad index.
 */
export function splitByType(specs: unknown, domain: string): Batches {
  const list: readonly unknown[] = Array.isArray(specs) ? specs : [specs];
  const batches: Batches = new Map();
  for (const job of normalizeJobs(list, { domain, type: null })) {
    const batch = batches.get(job.type);
    if (batch) batch.push(job);
    else batches.set(job.type, [job]);
  }
  return batches;
}

/**
 * Pushes each type's batch in turn (to `queueOf(type)`) after checking every target queue.
 * `onFail` receives the batches not yet stored (the failing one first) before the error is
 * rethrown.
 *
 * @param where - the group, for messages.
 */
export async function pushBatches(
  queueOf: (type: string) => JobQueue,
  batches: Batches,
  options: PushOptions,
  onFail: (unpushed: Batches) => void,
  where: string,
): Promise<PushResult> {
  if (batches.size === 0) return NOTHING;
  const pending: [JobQueue, string, NormalizedJob[]][] = [];
  try {
    if (options.atomic === true && batches.size > 1) {
      throw notSupported('atomic push across several job types', where);
    }
    for (const [type, batch] of batches) {
      const queue = queueOf(type);
      checkPush(queue, batch, options);
      pending.push([queue, type, batch]);
    }
  } catch (error) {
    onFail(batches);
    throw error;
  }
  let inserted = 0;
  let duplicates = 0;
  for (let i = 0; i < pending.length; i++) {
    const [queue, , batch] = pending[i] as [JobQueue, string, NormalizedJob[]];
    try {
      const r = await queue[pushNormalized](batch, options);
      inserted += r.inserted;
      duplicates += r.duplicates;
    } catch (error) {
      onFail(new Map(pending.slice(i).map(([, type, b]) => [type, b])));
      throw error;
    }
  }
  return { inserted, duplicates };
}

/** The lazy-push buffer: normalised batches by type, until a flush pushes them. */
export class PushBuffer {
  #buffer: Batches = new Map();

  /** Jobs buffered. */
  get count(): number {
    let n = 0;
    for (const jobs of this.#buffer.values()) n += jobs.length;
    return n;
  }

  /** True when nothing is buffered. */
  get empty(): boolean {
    return this.#buffer.size === 0;
  }

  /** Buffers `batches` after what is buffered already. */
  add(batches: Batches): void {
    for (const [type, batch] of batches) {
      const pending = this.#buffer.get(type);
      if (pending) pending.push(...batch);
      else this.#buffer.set(type, batch);
    }
  }

  /**
   * Takes everything buffered and pushes it with `push`. On failure the batches not yet stored go
   * back, ahead of anything buffered meanwhile (nothing is dropped), and the error is rethrown.
   */
  flush(
    push: (batches: Batches, onFail: (unpushed: Batches) => void) => Promise<PushResult>,
  ): Promise<PushResult> {
    const batches = this.#buffer;
    this.#buffer = new Map();
    return push(batches, (unpushed) => {
      for (const [type, later] of this.#buffer) {
        const earlier = unpushed.get(type);
        if (earlier) earlier.push(...later);
        else unpushed.set(type, later);
      }
      this.#buffer = unpushed;
    });
  }
}
