/**
 * Run-on-request (promises §8; MediaWiki's `$wgJobRunRate`): for installs with no runner daemon,
 * run a few jobs after each response has been sent. A fractional rate is probabilistic: 0.25
 * runs one job after a quarter of responses. The jobs start on the response's `finish` event,
 * so they never delay it.
 *
 * @packageDocumentation
 */
import type { JobQueueGroup } from '../core/job-queue-group.js';
import { consoleLogger, type HandlerRegistry, type RunnerLogger } from './handlers.js';
import { JobRunner, type JobRunnerOptions, type RunResult } from './runner.js';

/** The part of a response the helper needs (node:http `ServerResponse`, Express `res`). */
export interface FinishEmitter {
  once(event: 'finish', listener: () => void): unknown;
}

/** Options of {@link runJobsOnRequest}. */
export interface RunOnRequestOptions {
  /** Jobs per response; the fractional part is a probability. Must be ≥ 0. */
  readonly rate: number;
  /** Default {@link consoleLogger}. */
  readonly logger?: RunnerLogger;
  /** Random source in [0, 1). Default `Math.random`. */
  readonly random?: () => number;
  /** Seconds one batch may keep popping. Default none. */
  readonly maxTime?: number;
  /** Passed to the {@link JobRunner} (backoff, throttle, clock…). */
  readonly runner?: Omit<JobRunnerOptions, 'handlers' | 'logger'>;
  /** Called when a batch ends (tests, metrics); not called for 0-job requests. */
  readonly onRun?: (result: RunResult) => void;
  /** Called when a batch fails (after logging). */
  readonly onError?: (error: unknown) => void;
}

/** `floor(rate)`, plus one with probability `frac(rate)`. */
export function jobsForRate(rate: number, random: () => number = Math.random): number {
  const whole = Math.floor(rate);
  const frac = rate - whole;
  return whole + (frac > 0 && random() < frac ? 1 : 0);
}

/**
 * Returns `afterResponse(res)`: call it for each response; once the response has finished, it
 * runs {@link jobsForRate} jobs with a {@link JobRunner}. Errors are logged, never thrown.
 *
 * @throws `TypeError` when `rate` is not a finite number ≥ 0.
 * @example
 * ```ts
 * const afterResponse = runJobsOnRequest(group, handlers, { rate: 0.5 });
 * http.createServer((req, res) => { afterResponse(res); res.end('ok'); });
 * ```
 */
export function runJobsOnRequest(
  group: JobQueueGroup,
  handlers: HandlerRegistry,
  options: RunOnRequestOptions,
): (res: FinishEmitter) => void {
  const { rate } = options;
  if (!(typeof rate === 'number' && Number.isFinite(rate) && rate >= 0)) {
    throw new TypeError(`runJobsOnRequest({ rate }): must be a finite number ≥ 0, got ${String(rate)}`);
  }
  const logger = options.logger ?? consoleLogger;
  const random = options.random ?? Math.random;
  const runner = new JobRunner(group, { ...options.runner, handlers, logger });
  const runBatch = async (n: number): Promise<void> => {
    try {
      const result = await runner.run({
        maxJobs: n,
        ...(options.maxTime === undefined ? {} : { maxTime: options.maxTime }),
      });
      options.onRun?.(result);
    } catch (error) {
      logger.error('run-on-request jobs failed', {
        error: error instanceof Error ? error.message : String(error),
      });
      try {
        options.onError?.(error);
      } catch {
        // a throwing onError must not become an unhandled rejection
      }
    }
  };
  return (res) => {
    res.once('finish', () => {
      const n = jobsForRate(rate, random);
      if (n === 0) return;
      setImmediate(() => void runBatch(n));
    });
  };
}

/**
 * Express-style middleware: `app.use(jobRunMiddleware(group, handlers, { rate: 1 }))`.
 * See {@link runJobsOnRequest}.
 */
export function jobRunMiddleware(
  group: JobQueueGroup,
  handlers: HandlerRegistry,
  options: RunOnRequestOptions,
): (req: unknown, res: FinishEmitter, next: () => void) => void {
  const afterResponse = runJobsOnRequest(group, handlers, options);
  return (_req, res, next) => {
    afterResponse(res);
    next();
  };
}
