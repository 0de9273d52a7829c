/**
 * How a rule runs a job: in-process, the registered handler with its timeout, or over HTTP
 * (./http.ts, ChangeProp's way). How a run ends is ./outcome.ts.
 *
 * @packageDocumentation
 */
import type { Job } from '../core/job.js';
import type { JobEvent } from '../events/job-event.js';
import { jobFromEvent } from '../events/receive.js';
import { type HandlerRegistry, JobFailedError, type RunnerLogger } from '../runner/handlers.js';
import type { ExecutorRule } from './config.js';
import { describe, triggeredBy } from './events.js';
import { dispatchHttp, type HttpTarget, statusMatcher } from './http.js';
import type { RunOutcome } from './outcome.js';

/** A signal that never aborts (handlers without a timeout or stop signal). */
const NEVER: AbortSignal = new AbortController().signal;

/**
 * Runs the registered handler of `job.type`. A missing handler is an error (no retry); a
 * `JobFailedError` with `retry: false` or a handler with `allowRetries: false` is an error; any
 * other throw or a timeout is a retry. `stop` aborting means shutdown: the outcome is `aborted`.
 */
export async function runHandler(
  handlers: HandlerRegistry,
  job: Job<string>,
  logger: RunnerLogger,
  stop: AbortSignal | null,
): Promise<RunOutcome> {
  const handler = handlers.get(job.type);
  if (handler === undefined)
    return { kind: 'error', reason: `no handler is registered for type "${job.type}"` };
  // Without a timeout the handler sees the stop signal itself: no per-job controller or listener.
  const controller = handler.timeout === undefined ? null : new AbortController();
  const onStop = () => controller?.abort(new Error('executor shutting down'));
  if (controller !== null) stop?.addEventListener('abort', onStop, { once: true });
  const signal = controller?.signal ?? stop ?? NEVER;
  let timer: NodeJS.Timeout | undefined;
  try {
    const run = Promise.resolve().then(() => handler.run(job, { domain: job.domain, signal, logger }));
    const racers: Array<Promise<unknown>> = [run];
    if (handler.timeout !== undefined) {
      racers.push(
        new Promise((_, reject) => {
          timer = setTimeout(
            () => {
              const err = new Error(`timed out after ${handler.timeout} s`);
              controller?.abort(err);
              reject(err);
            },
            (handler.timeout as number) * 1000,
          );
        }),
      );
    }
    await (racers.length === 1 ? run : Promise.race(racers));
    return { kind: 'ok' };
  } catch (err) {
    if (stop?.aborted) return { kind: 'aborted' };
    const retry = handler.allowRetries !== false && !(err instanceof JobFailedError && !err.retry);
    return retry
      ? { kind: 'retry', counted: true, reason: describe(err) }
      : { kind: 'error', reason: describe(err) };
  } finally {
    clearTimeout(timer);
    if (controller !== null) stop?.removeEventListener('abort', onStop);
  }
}

/** One run of an event, as the dispatcher needs it. */
export interface DispatchRun {
  /** Which run this is (1 = the first). */
  readonly attempt: number;
  /** What triggered the run (the retry event, else the event): `x-triggered-by` over HTTP. */
  readonly trigger: Parameters<typeof triggeredBy>[0];
  /** Where the message was read, `topic:partition` (the handler's `Job.partition`). */
  readonly partition: string;
  /** Aborted when running jobs must be cut short (shutdown). */
  readonly signal: AbortSignal;
}

/** Runs one event the way a rule says: POSTed to its endpoint, or by the in-process handler. */
export type Dispatch = (event: JobEvent, run: DispatchRun) => Promise<RunOutcome>;

/** The dispatch of `rule`: HTTP when it has an endpoint, else `handlers`. */
export function dispatcherOf(
  rule: ExecutorRule,
  cx: { readonly handlers: HandlerRegistry; readonly logger: RunnerLogger; now(): number },
): Dispatch {
  if (rule.endpoint === null) {
    return (event, run) => {
      const job = jobFromEvent(event, run.attempt, cx.now(), run.partition);
      return runHandler(cx.handlers, job, cx.logger, run.signal);
    };
  }
  const target: HttpTarget = {
    endpoint: rule.endpoint,
    timeoutMs: rule.httpTimeout * 1000,
    headers: rule.headers,
    retryOn: statusMatcher(rule.retryOn),
    ignore: statusMatcher(rule.ignore),
  };
  return (event, run) =>
    dispatchHttp(target, event, {
      attempt: run.attempt,
      triggeredBy: triggeredBy(run.trigger),
      signal: run.signal,
    });
}
