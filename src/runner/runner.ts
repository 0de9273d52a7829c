/**
 * The job runner (promises §8, issue 5): pops jobs from a {@link JobQueueGroup}, runs their handlers
 * with bounded concurrency, acks (batched) on success, releases with exponential backoff on
 * failure, and stops cleanly on limits or a signal without losing a job.
 *
 * @packageDocumentation
 */

import { sleep } from '../core/checks.js';
import { type Clock, systemClock } from '../core/clock.js';
import { ErrorCode, isSwitchyardError } from '../core/errors.js';
import type { Job } from '../core/job.js';
import type { ClaimRef } from '../core/job-queue.js';
import { DEFAULT, type JobQueueGroup } from '../core/job-queue-group.js';
import type { JobTracer } from '../core/tracing.js';
import { ClaimWatch } from './claim-watch.js';
import {
  consoleLogger,
  type HandlerRegistry,
  JobCancelledError,
  JobFailedError,
  type RunnerLogger,
} from './handlers.js';
import { Throttle } from './throttle.js';

/** Exponential backoff of failed jobs: `base × factor^(attempts−1)`, capped, ± jitter. */
export interface BackoffOptions {
  /** Seconds before the first retry. Default 5. */
  readonly base: number;
  /** Growth per attempt. Default 2. */
  readonly factor: number;
  /** Cap in seconds. Default 3600. */
  readonly max: number;
  /** Relative jitter, 0–1: the delay is multiplied by a random factor in [1−j, 1+j]. Default 0.2. */
  readonly jitter: number;
}

/** The default {@link BackoffOptions}. */
export const DEFAULT_BACKOFF: BackoffOptions = Object.freeze({ base: 5, factor: 2, max: 3600, jitter: 0.2 });

/** Options of {@link JobRunner}. */
export interface JobRunnerOptions {
  /** The handlers, by job type. */
  readonly handlers: HandlerRegistry;
  /** Default {@link consoleLogger}. */
  readonly logger?: RunnerLogger;
  /** Failed-job backoff; missing fields take {@link DEFAULT_BACKOFF}. */
  readonly backoff?: Partial<BackoffOptions>;
  /** Backoff after a store connection error on pop; missing fields: base 1 s, factor 2, max 30 s. */
  readonly errorBackoff?: Partial<BackoffOptions>;
  /** Per-type throttling: a shared {@link Throttle}, or `backoffThrottling` (type → work items/s). */
  readonly throttle?: Throttle | Readonly<Record<string, number>>;
  /** Stop with `memory-limit` when the resident set exceeds this many MB (checked between pops). */
  readonly memoryLimitMB?: number;
  /** Seconds in-flight jobs get to finish after a stop, before their signals abort. Default 10. */
  readonly gracePeriod?: number;
  /** Clock for time limits and throttling. Default the wall clock. */
  readonly clock?: Clock;
  /** Random source in [0, 1) for jitter. Default `Math.random`. */
  readonly random?: () => number;
  /** Resident set size in MB (tests). Default `process.memoryUsage().rss`. */
  readonly memoryUsageMB?: () => number;
  /** Wraps each job's run in a span linked to its requestId. Default: none. */
  readonly tracer?: JobTracer;
  /**
   * Seconds between checks that the claims of running jobs are still held, on queues with
   * `supports.cancel`: a job cancelled while it runs has its handler's signal aborted with
   * {@link JobCancelledError} within this long. One `claimsHeld` call per queue per check. Default
   * 1; 0 turns the checks off.
   */
  readonly cancelCheck?: number;
}

/** Options of {@link JobRunner.run}. */
export interface RunOptions {
  /** Run only this type (else the group's `DEFAULT` selector). */
  readonly type?: string;
  /** Stop after starting this many jobs. */
  readonly maxJobs?: number;
  /** Stop popping after this many seconds. */
  readonly maxTime?: number;
  /** Jobs run at once. Default 1. */
  readonly concurrency?: number;
  /** Jobs popped per round trip (capped by free slots). Default `concurrency`. */
  readonly batchSize?: number;
  /** Abort to stop gracefully. */
  readonly signal?: AbortSignal;
}

/** What became of one job. */
export type JobRunStatus =
  | 'ok'
  | 'failed'
  | 'retried'
  | 'abandoned'
  | 'duplicate'
  | 'timeout'
  /** Cancelled while it ran (or its claim was lost): neither acked nor retried. */
  | 'cancelled';

/** Every {@link JobRunStatus}, for tallies. */
export const JOB_RUN_STATUSES: readonly JobRunStatus[] = Object.freeze([
  'ok',
  'failed',
  'retried',
  'abandoned',
  'duplicate',
  'timeout',
  'cancelled',
]);

/** A tally of jobs per {@link JobRunStatus}, all zero. */
export function emptyRunCounts(): Record<JobRunStatus, number> {
  return Object.fromEntries(JOB_RUN_STATUSES.map((s) => [s, 0])) as Record<JobRunStatus, number>;
}

/** One job's outcome in a {@link RunResult}. */
export interface JobRunRecord {
  readonly id: string;
  readonly type: string;
  readonly status: JobRunStatus;
  /** The failure message, when the job failed. */
  readonly error?: string;
  /** Handler run time (0 for duplicates). */
  readonly ms: number;
}

/**
 * Why {@link JobRunner.run} returned. `none-possible`: no type it may pop has a handler (the jobs
 * of handler-less types are left untouched, never popped).
 */
export type RunReached =
  | 'none-ready'
  | 'none-possible'
  | 'job-limit'
  | 'time-limit'
  | 'memory-limit'
  | 'read-only'
  | 'stopped';

/** What {@link JobRunner.run} returns. */
export interface RunResult {
  readonly jobs: JobRunRecord[];
  readonly reached: RunReached;
}

const RETRYABLE_POP_ERRORS: ReadonlySet<string> = new Set([
  ErrorCode.CONNECTION_LOST,
  ErrorCode.BACKEND_UNAVAILABLE,
]);

class StopError extends Error {
  constructor() {
    super('runner stopped: grace period over');
    this.name = 'StopError';
  }
}

class TimeoutError extends Error {
  constructor(seconds: number) {
    super(`handler timed out after ${seconds} s`);
    this.name = 'TimeoutError';
  }
}

/** The delay in seconds before retry number `attempts` (≥ 1). */
export function backoffDelay(
  attempts: number,
  backoff: BackoffOptions,
  random: () => number = Math.random,
): number {
  const raw = Math.min(backoff.max, backoff.base * backoff.factor ** Math.max(0, attempts - 1));
  const j = Math.min(1, Math.max(0, backoff.jitter));
  return Math.max(0, raw * (1 + j * (2 * random() - 1)));
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * Runs jobs of one {@link JobQueueGroup} with the handlers of a {@link HandlerRegistry}.
 *
 * @example
 * ```ts
 * const runner = new JobRunner(group, { handlers });
 * const { signal, dispose } = installSignalHandlers();
 * const { jobs, reached } = await runner.run({ maxTime: 60, concurrency: 4, signal });
 * ```
 */
export class JobRunner {
  readonly #group: JobQueueGroup;
  readonly #handlers: HandlerRegistry;
  readonly #logger: RunnerLogger;
  readonly #backoff: BackoffOptions;
  readonly #errorBackoff: BackoffOptions;
  readonly #throttle: Throttle | null;
  readonly #memoryLimitMB: number | null;
  readonly #gracePeriod: number;
  readonly #clock: Clock;
  readonly #random: () => number;
  readonly #memoryUsageMB: () => number;
  readonly #tracer: JobTracer | null;
  /** Checks the claims of running jobs (null: `cancelCheck: 0`). */
  readonly #claimWatch: ClaimWatch | null;

  constructor(group: JobQueueGroup, options: JobRunnerOptions) {
    this.#group = group;
    this.#handlers = options.handlers;
    this.#logger = options.logger ?? consoleLogger;
    this.#backoff = { ...DEFAULT_BACKOFF, ...options.backoff };
    this.#errorBackoff = { base: 1, factor: 2, max: 30, jitter: 0.2, ...options.errorBackoff };
    this.#clock = options.clock ?? systemClock;
    const t = options.throttle;
    this.#throttle = t === undefined ? null : t instanceof Throttle ? t : new Throttle(t, this.#clock);
    this.#memoryLimitMB = options.memoryLimitMB ?? null;
    this.#gracePeriod = options.gracePeriod ?? 10;
    this.#random = options.random ?? Math.random;
    this.#memoryUsageMB = options.memoryUsageMB ?? (() => process.memoryUsage().rss / (1024 * 1024));
    this.#tracer = options.tracer ?? null;
    const cancelCheck = options.cancelCheck ?? 1;
    if (typeof cancelCheck !== 'number' || !Number.isFinite(cancelCheck) || cancelCheck < 0) {
      throw new TypeError(`JobRunner({ cancelCheck }): must be seconds ≥ 0, got ${String(cancelCheck)}`);
    }
    this.#claimWatch =
      cancelCheck === 0
        ? null
        : new ClaimWatch(Math.max(1, Math.round(cancelCheck * 1000)), (error) =>
            this.#logger.warn('claim check failed', { error: message(error) }),
          );
  }

  /**
   * Runs jobs until a limit is reached, no job is ready, the group is read-only or `signal`
   * aborts. Every popped job ends acked or released (never lost).
   *
   * @throws a store error other than a lost connection, after in-flight jobs are settled.
   */
  async run(options: RunOptions = {}): Promise<RunResult> {
    const concurrency = options.concurrency ?? 1;
    if (!(Number.isInteger(concurrency) && concurrency >= 1)) {
      throw new TypeError('run({ concurrency }): must be an integer ≥ 1');
    }
    const batchSize = options.batchSize ?? concurrency;
    if (!(Number.isInteger(batchSize) && batchSize >= 1)) {
      throw new TypeError('run({ batchSize }): must be an integer ≥ 1');
    }
    const maxJobs = options.maxJobs ?? Number.POSITIVE_INFINITY;
    const deadline =
      options.maxTime === undefined ? Number.POSITIVE_INFINITY : this.#clock.now() + options.maxTime * 1000;
    const stop = options.signal;
    const hardStop = new AbortController();
    const jobs: JobRunRecord[] = [];
    const inFlight = new Set<Promise<void>>();
    const pendingAcks: ClaimRef[] = [];
    let started = 0;
    let errorAttempts = 0;
    let reached: RunReached = 'none-ready';
    let failure: unknown = null;

    const flushAcks = async (): Promise<void> => {
      while (pendingAcks.length > 0) {
        const batch = pendingAcks.splice(0, pendingAcks.length);
        const byType = new Map<string, ClaimRef[]>();
        for (const ref of batch) {
          const list = byType.get(ref.type);
          if (list) list.push(ref);
          else byType.set(ref.type, [ref]);
        }
        for (const [type, refs] of byType) {
          try {
            const results = await this.#group.get(type).ackBatch(refs);
            const lost = results.filter((r) => !r).length;
            if (lost > 0) this.#logger.warn('ack found claims no longer held', { type, lost });
          } catch (err) {
            this.#logger.error('ack failed; the jobs will be recycled after claimTTL', {
              type,
              count: refs.length,
              error: message(err),
            });
          }
        }
      }
    };

    const launch = (job: Job): void => {
      started++;
      const p = this.#runOne(job, hardStop.signal, pendingAcks).then(async (rec) => {
        jobs.push(rec);
        if (pendingAcks.length >= batchSize) await flushAcks();
      });
      const tracked = p.finally(() => inFlight.delete(tracked));
      inFlight.add(tracked);
    };

    const stopped = (): boolean => stop?.aborted === true;

    while (true) {
      if (stopped()) {
        reached = 'stopped';
        break;
      }
      if (started >= maxJobs) {
        reached = 'job-limit';
        break;
      }
      if (this.#clock.now() >= deadline) {
        reached = 'time-limit';
        break;
      }
      if (this.#memoryLimitMB !== null && this.#memoryUsageMB() > this.#memoryLimitMB) {
        reached = 'memory-limit';
        break;
      }
      if (inFlight.size >= concurrency) {
        await this.#waitAny(inFlight, stop);
        await flushAcks();
        continue;
      }
      const slots = Math.min(concurrency - inFlight.size, batchSize, maxJobs - started);
      const unhandled = this.#unhandledTypes(options.type);
      if (unhandled === null) {
        if (inFlight.size > 0) {
          await this.#waitAny(inFlight, stop);
          await flushAcks();
          continue;
        }
        reached = this.#group.readOnlyReason === null ? 'none-possible' : 'read-only';
        break;
      }
      let popped: Job[];
      try {
        popped = await this.#pop(options.type, slots, unhandled);
        errorAttempts = 0;
      } catch (err) {
        if (isSwitchyardError(err, ErrorCode.READ_ONLY)) {
          reached = 'read-only';
          break;
        }
        if (isSwitchyardError(err) && RETRYABLE_POP_ERRORS.has(err.code)) {
          errorAttempts++;
          const delayMs = backoffDelay(errorAttempts, this.#errorBackoff, this.#random) * 1000;
          this.#logger.warn('pop failed; backing off', { error: message(err), delayMs });
          const left = deadline - this.#clock.now();
          await sleep(Math.min(delayMs, Math.max(0, left)), stop);
          continue;
        }
        failure = err;
        break;
      }
      // Jobs popped are always started, even when a stop arrived meanwhile: the grace logic
      // settles them, so none is lost.
      for (const job of popped) launch(job);
      if (popped.length > 0) continue;
      if (inFlight.size > 0) {
        await this.#waitAny(inFlight, stop);
        await flushAcks();
        continue;
      }
      const waitMs = await this.#throttledWait(options.type);
      if (waitMs === null) {
        reached = 'none-ready';
        break;
      }
      await sleep(Math.min(waitMs, Math.max(0, deadline - this.#clock.now())), stop);
    }

    // Drain: in-flight jobs finish; after a stop they get gracePeriod seconds, then their
    // signals abort and they are released.
    if (inFlight.size > 0) {
      if (reached === 'stopped') {
        const all = Promise.all(inFlight);
        const timer = setTimeout(() => hardStop.abort(new StopError()), this.#gracePeriod * 1000);
        await all;
        clearTimeout(timer);
      } else {
        await Promise.all(inFlight);
      }
    }
    await flushAcks();
    if (failure !== null) throw failure;
    return { jobs, reached };
  }

  async #waitAny(inFlight: ReadonlySet<Promise<void>>, stop: AbortSignal | undefined): Promise<void> {
    if (inFlight.size === 0) return;
    const waits: Promise<unknown>[] = [...inFlight];
    // The stop listener goes away with the wait: this runs once per job, on a signal that lives
    // as long as the process (issue 14: MaxListenersExceededWarning on the runner's signal).
    let onStop: (() => void) | null = null;
    if (stop && !stop.aborted) {
      waits.push(
        new Promise<void>((resolve) => {
          onStop = resolve;
          stop.addEventListener('abort', onStop, { once: true });
        }),
      );
    }
    try {
      await Promise.race(waits);
    } finally {
      if (onStop) stop?.removeEventListener('abort', onStop);
    }
  }

  /** Pops up to `count` jobs, skipping throttled types. */
  /**
   * The default pop's types that have no handler (to skip), or null when nothing this run may
   * pop has one: the requested type, or every known default type.
   */
  #unhandledTypes(type: string | undefined): string[] | null {
    if (type !== undefined) return this.#handlers.has(type) ? [] : null;
    const excluded = this.#group.typesExcludedFromDefaultQueue;
    const candidates = this.#group.getQueueTypes().filter((t) => !excluded.includes(t));
    const unhandled = candidates.filter((t) => !this.#handlers.has(t));
    return candidates.length > 0 && unhandled.length === candidates.length ? null : unhandled;
  }

  async #pop(type: string | undefined, count: number, unhandled: readonly string[]): Promise<Job[]> {
    const throttle = this.#throttle;
    if (type !== undefined) {
      const queue = this.#group.get(type);
      if (!throttle) return queue.popBatch(count);
      // Throttled type: pop one at a time, spending budget, so a batch never overshoots it.
      const out: Job[] = [];
      while (out.length < count && !throttle.isThrottled(type)) {
        const job = await queue.pop();
        if (!job) break;
        out.push(job);
        throttle.consume(type, this.#workItems(job));
      }
      return out;
    }
    const ignore = [...unhandled, ...(throttle ? throttle.throttledTypes() : [])];
    const out: Job[] = [];
    for (let i = 0; i < count; i++) {
      const job = await this.#group.pop(DEFAULT, ignore.length > 0 ? { ignore } : {});
      if (!job) break;
      out.push(job);
      if (throttle) {
        // A fresh pop may exhaust this type's budget: re-check before the next pop.
        throttle.consume(job.type, this.#workItems(job));
        if (throttle.isThrottled(job.type) && !ignore.includes(job.type)) ignore.push(job.type);
      }
    }
    return out;
  }

  #workItems(job: Job): number {
    const handler = this.#handlers.get(job.type);
    if (!handler?.workItemCount || job.isDuplicate) return job.isDuplicate ? 0 : 1;
    try {
      const n = handler.workItemCount(job);
      return Number.isFinite(n) && n >= 0 ? n : 1;
    } catch {
      return 1;
    }
  }

  /**
   * After an empty pop: milliseconds until a throttled type with jobs gets budget again, or null
   * when nothing is waiting on a throttle (so no job is ready).
   */
  async #throttledWait(type: string | undefined): Promise<number | null> {
    const throttle = this.#throttle;
    if (!throttle) return null;
    const throttled =
      type !== undefined ? (throttle.isThrottled(type) ? [type] : []) : throttle.throttledTypes();
    if (throttled.length === 0) return null;
    const withJobs = new Set(await this.#group.getQueuesWithJobs());
    const waiting = throttled.filter((t) => withJobs.has(t));
    if (waiting.length === 0) return null;
    return Math.max(1, Math.min(...waiting.map((t) => throttle.waitMs(t))));
  }

  /** Runs one popped job to its outcome; never rejects. */
  async #runOne(job: Job, hardStop: AbortSignal, pendingAcks: ClaimRef[]): Promise<JobRunRecord> {
    const ref: ClaimRef = { id: job.id, type: job.type, claimToken: job.claimToken };
    const base = { id: job.id, type: job.type };
    if (job.isDuplicate) {
      pendingAcks.push(ref);
      return { ...base, status: 'duplicate', ms: 0 };
    }
    const handler = this.#handlers.get(job.type);
    if (!handler) {
      const error = `no handler for job type "${job.type}"`;
      this.#logger.error(error, { id: job.id });
      return { ...base, ...(await this.#retry(job, ref, error)), ms: 0 };
    }
    // Throttle budget was spent at pop time, so the next pop already sees it.
    const controller = new AbortController();
    const queue = this.#group.get(job.type);
    const timers: NodeJS.Timeout[] = [];
    const aborted = new Promise<never>((_, reject) => {
      controller.signal.addEventListener('abort', () => reject(controller.signal.reason), { once: true });
    });
    aborted.catch(() => {});
    const onHardStop = (): void => controller.abort(new StopError());
    if (hardStop.aborted) onHardStop();
    else hardStop.addEventListener('abort', onHardStop, { once: true });
    if (handler.timeout !== undefined) {
      const seconds = handler.timeout;
      timers.push(setTimeout(() => controller.abort(new TimeoutError(seconds)), seconds * 1000));
    }
    if (queue.tracksClaims && queue.claimTTL > 0) {
      const every = (queue.claimTTL * 1000) / 2;
      const renew = setInterval(() => {
        queue.extendClaim(ref).then(
          (held) => {
            if (!held) this.#logger.warn('claim lost while running', { id: job.id, type: job.type });
          },
          (err: unknown) => this.#logger.warn('claim renewal failed', { id: job.id, error: message(err) }),
        );
      }, every);
      timers.push(renew);
    }
    const unwatch =
      this.#claimWatch !== null && queue.supports.cancel && queue.tracksClaims
        ? this.#claimWatch.watch(queue, ref, () => controller.abort(new JobCancelledError(job.id)))
        : null;
    const t0 = performance.now();
    let outcome: unknown = null;
    let ok = false;
    try {
      await Promise.race([
        Promise.resolve().then(() => {
          const run = () =>
            Promise.resolve(
              handler.run(job, { domain: job.domain, signal: controller.signal, logger: this.#logger }),
            );
          if (this.#tracer === null) return run();
          const info = { domain: job.domain, type: job.type, id: job.id, requestId: job.requestId };
          return this.#tracer.run({ ...info, via: 'runner' }, run);
        }),
        aborted,
      ]);
      ok = true;
    } catch (err) {
      outcome = err;
    } finally {
      for (const t of timers) clearTimeout(t);
      unwatch?.();
      hardStop.removeEventListener('abort', onHardStop);
    }
    const ms = Math.round(performance.now() - t0);
    if (controller.signal.reason instanceof JobCancelledError) {
      // Its claim is gone (cancelled, or recycled to run elsewhere): an ack or a release would be
      // stale, so neither is sent, whatever the handler did after the abort.
      this.#logger.info('job cancelled while running', { id: job.id, type: job.type });
      return { ...base, status: 'cancelled', error: controller.signal.reason.message, ms };
    }
    if (ok) {
      pendingAcks.push(ref);
      return { ...base, status: 'ok', ms };
    }
    const error = message(outcome);
    if (outcome instanceof StopError) {
      // Grace period over: hand the job back at once, not counted as a failure of the job.
      try {
        await queue.release(ref);
      } catch (err) {
        this.#logger.error('release after stop failed; the job returns after claimTTL', {
          id: job.id,
          error: message(err),
        });
      }
      return { ...base, status: 'retried', error, ms };
    }
    const noRetry =
      handler.allowRetries === false ||
      (outcome instanceof JobFailedError && !outcome.retry) ||
      (handler.maxTries !== undefined && job.attempts >= handler.maxTries);
    if (noRetry) {
      this.#logger.warn('job failed; not retried', { id: job.id, type: job.type, error });
      pendingAcks.push(ref);
      return { ...base, status: outcome instanceof TimeoutError ? 'timeout' : 'failed', error, ms };
    }
    this.#logger.warn('job failed', { id: job.id, type: job.type, attempts: job.attempts, error });
    const r = await this.#retry(job, ref, error);
    return {
      ...base,
      ...r,
      ...(outcome instanceof TimeoutError && r.status === 'retried' ? { status: 'timeout' as const } : {}),
      ms,
    };
  }

  /** Releases a failed job with backoff. */
  async #retry(job: Job, ref: ClaimRef, error: string): Promise<{ status: JobRunStatus; error: string }> {
    const delay = backoffDelay(job.attempts, this.#backoff, this.#random);
    try {
      const queue = this.#group.get(job.type);
      const outcome = await queue.release(ref, queue.supports.delayedJobs ? { delay } : {});
      if (outcome === 'released') return { status: 'retried', error };
      if (outcome === 'abandoned') return { status: 'abandoned', error };
      return { status: 'failed', error: `${error} (claim no longer held)` };
    } catch (err) {
      this.#logger.error('release failed; the job returns after claimTTL', {
        id: job.id,
        error: message(err),
      });
      return { status: 'failed', error: `${error}; release failed: ${message(err)}` };
    }
  }
}
