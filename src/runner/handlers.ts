/**
 * Job handlers (issue 5): a typed registry of job type → handler, with per-type options.
 * Payload types come from {@link JobTypes} declaration merging: the handler for `T` gets `Job<T>`.
 *
 * @packageDocumentation
 */
import type { Job, JobType } from '../core/job.js';

/** A minimal structured logger; the runner logs through it and hands it to handlers. */
export interface RunnerLogger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

/** The default logger: one line per entry on the console (debug is dropped). */
export const consoleLogger: RunnerLogger = Object.freeze({
  debug: () => {},
  info: (m: string, f?: Record<string, unknown>) => console.info(m, f ?? ''),
  warn: (m: string, f?: Record<string, unknown>) => console.warn(m, f ?? ''),
  error: (m: string, f?: Record<string, unknown>) => console.error(m, f ?? ''),
});

/** A logger that drops everything (tests, quiet CLIs). */
export const silentLogger: RunnerLogger = Object.freeze({
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
});

/** What a handler receives besides its job. */
export interface HandlerContext {
  /** The job's domain (tenant). */
  readonly domain: string;
  /** Aborted on the handler's timeout or when the runner's grace period ends. */
  readonly signal: AbortSignal;
  /** The runner's logger. */
  readonly logger: RunnerLogger;
}

/** A handler for job type `T`, with its per-type options. */
export interface JobHandler<T extends string = JobType> {
  /** Runs the job; resolve = success (ack), reject = failure (release with backoff or ack). */
  run(job: Job<T>, ctx: HandlerContext): Promise<void> | void;
  /** False: a failure is acked once, never retried. Default true. */
  readonly allowRetries?: boolean;
  /** Work items this job represents, for throttling. Default 1. */
  readonly workItemCount?: (job: Job<T>) => number;
  /** Seconds before the handler's signal is aborted and the run counts as a timeout. */
  readonly timeout?: number;
  /**
   * Upper bound on attempts for this type as seen by the runner: a failure at or past this many
   * attempts is acked (dropped) instead of released. The queue's own `maxTries` still applies.
   */
  readonly maxTries?: number;
}

/** A map of job type → handler, each typed by its key (see {@link defineHandlers}). */
export type HandlerMap<K extends string = string> = { readonly [P in K]: JobHandler<P> };

/** Options of {@link JobFailedError}. */
export interface JobFailedErrorOptions {
  /** False: do not retry; the runner acks the job and records the failure. Default true. */
  readonly retry?: boolean;
  readonly cause?: unknown;
}

/**
 * Thrown by a handler to fail a job; `{ retry: false }` says "failed, do not retry".
 *
 * @example
 * ```ts
 * throw new JobFailedError('page was deleted', { retry: false });
 * ```
 */
export class JobFailedError extends Error {
  /** Whether the runner may retry the job. */
  readonly retry: boolean;

  constructor(message: string, options: JobFailedErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'JobFailedError';
    this.retry = options.retry ?? true;
  }
}

/**
 * The reason a running job's signal aborts when the job was cancelled (`JobQueue.cancel`) or its
 * claim was otherwise lost: the runner stops waiting for the handler, and neither acks nor retries
 * the job (its record says `cancelled`).
 */
export class JobCancelledError extends Error {
  /** The job's id. */
  readonly jobId: string;

  constructor(jobId: string) {
    super(`job ${jobId} was cancelled (its claim is no longer held)`);
    this.name = 'JobCancelledError';
    this.jobId = jobId;
  }
}

/** A registry of job type → handler. Build it with {@link defineHandlers} or `register()`. */
export class HandlerRegistry {
  readonly #handlers = new Map<string, JobHandler<string>>();

  /** Registers (or replaces) the handler of `type`. */
  register<T extends JobType>(type: T, handler: NoInfer<JobHandler<T>>): this {
    if (typeof type !== 'string' || type.length === 0) {
      throw new TypeError('register(type, handler): type must be a non-empty string');
    }
    if (typeof handler !== 'object' || handler === null || typeof handler.run !== 'function') {
      throw new TypeError(`register("${type}", handler): handler must be an object with run(job, ctx)`);
    }
    const t = handler.timeout;
    if (t !== undefined && !(typeof t === 'number' && t > 0)) {
      throw new TypeError(`register("${type}", handler): timeout must be seconds > 0`);
    }
    const m = handler.maxTries;
    if (m !== undefined && !(Number.isInteger(m) && m >= 1)) {
      throw new TypeError(`register("${type}", handler): maxTries must be an integer ≥ 1`);
    }
    this.#handlers.set(type, handler as unknown as JobHandler<string>);
    return this;
  }

  /** The handler of `type`, or undefined. */
  get(type: string): JobHandler<string> | undefined {
    return this.#handlers.get(type);
  }

  /** True when `type` has a handler. */
  has(type: string): boolean {
    return this.#handlers.has(type);
  }

  /** The registered types. */
  types(): string[] {
    return [...this.#handlers.keys()];
  }
}

/**
 * Builds a {@link HandlerRegistry} from a map; each handler is typed by its key.
 *
 * @example
 * ```ts
 * export default defineHandlers({
 *   refreshLinks: { run: async (job, { signal }) => refresh(job.params.pageId, signal), timeout: 60 },
 * });
 * ```
 */
export function defineHandlers<K extends string>(map: HandlerMap<K>): HandlerRegistry {
  const registry = new HandlerRegistry();
  for (const type of Object.keys(map) as K[]) {
    registry.register(type, map[type]);
  }
  return registry;
}
