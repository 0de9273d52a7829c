/**
 * Retries, as ChangeProp does them: reading a retry event (ChangeProp's `/change-prop/retry/1.0.0`
 * or switchyard's earlier shape) into the run it asks for, and writing the retry event of a
 * failed run (its delay, its topic, its count of runs left).
 *
 * @packageDocumentation
 */
import { randomUUID } from 'node:crypto';
import type { JobEvent } from '../events/job-event.js';
import { parseTime } from '../events/receive.js';
import type { ExecutorRule } from './config.js';
import {
  GENERIC_ERROR_URI,
  LEGACY_RETRY_EVENT_SCHEMA,
  RETRY_EVENT_SCHEMA,
  type RetryEvent,
  type topicNames,
  triggeredBy,
} from './events.js';
import type { RunOutcome } from './outcome.js';

/** One run of an event: which attempt, the runs left after it, and the retry event it came from. */
export interface RunInfo {
  readonly attempt: number;
  readonly retriesLeft: number;
  /** The retry event (for `triggered_by`), or null for a first run. */
  readonly retry: { readonly triggered_by: string; readonly meta: RetryMeta } | null;
}

export type RetryMeta = { readonly stream: string; readonly uri?: unknown; readonly request_id?: unknown };

/** A retry event as read: ChangeProp's (`/change-prop/retry/1.0.0`) or switchyard's earlier shape. */
export interface ParsedRetry {
  readonly legacy: boolean;
  readonly emitter: string;
  readonly retriesLeft: number;
  readonly attempt: number | null;
  readonly retryAt: number | null;
  /** `meta.dt`, Unix ms (ChangeProp's delay counts from it). */
  readonly dt: number | null;
  readonly triggeredBy: string | null;
  readonly meta: RetryMeta;
  readonly original: unknown;
}

/** The retry event in `value`, or null when it is not one. */
export function parseRetryEvent(value: unknown): ParsedRetry | null {
  if (typeof value !== 'object' || value === null) return null;
  const v = value as Record<string, unknown>;
  const meta = v.meta as Record<string, unknown> | undefined;
  const legacy = v.$schema === LEGACY_RETRY_EVENT_SCHEMA;
  if (
    (v.$schema !== RETRY_EVENT_SCHEMA && !legacy) ||
    typeof meta !== 'object' ||
    meta === null ||
    typeof v.retries_left !== 'number' ||
    !Number.isInteger(v.retries_left) ||
    typeof v.emitter_id !== 'string' ||
    typeof v.original_event !== 'object' ||
    v.original_event === null
  ) {
    return null;
  }
  if (legacy && (typeof v.attempt !== 'number' || typeof v.retry_at !== 'string')) return null;
  return {
    legacy,
    emitter: v.emitter_id,
    retriesLeft: v.retries_left,
    attempt:
      typeof v.attempt === 'number' && Number.isInteger(v.attempt) && v.attempt >= 2 ? v.attempt : null,
    retryAt: typeof v.retry_at === 'string' ? parseTime(v.retry_at) : null,
    dt: typeof meta.dt === 'string' ? parseTime(meta.dt) : null,
    triggeredBy: typeof v.triggered_by === 'string' ? v.triggered_by : null,
    meta: { stream: String(meta.stream), uri: meta.uri, request_id: meta.request_id },
    original: v.original_event,
  };
}

/** The run a retry event asks for: its number, the runs left after it, and when it is due. */
export function nextRun(
  parsed: ParsedRetry,
  rule: Pick<ExecutorRule, 'retryLimit' | 'retryDelay' | 'retryFactor'>,
): { readonly attempt: number; readonly retriesLeft: number; readonly due: number | null } {
  const { retryLimit, retryDelay, retryFactor } = rule;
  // ChangeProp's count: retries_left includes this run. Ours before it: runs left after this one.
  const retriesLeft = parsed.legacy ? parsed.retriesLeft : parsed.retriesLeft - 1;
  const attempt = parsed.attempt ?? Math.max(2, retryLimit - parsed.retriesLeft + 2);
  // ChangeProp's delay: retry_delay × retry_factor^(retry_limit − retries_left) after meta.dt.
  const due =
    parsed.retryAt ??
    (parsed.dt === null
      ? null
      : parsed.dt + retryDelay * 1000 * retryFactor ** Math.max(0, retryLimit - parsed.retriesLeft));
  return { attempt, retriesLeft, due };
}

/** A failed run that is retried. */
type Retried = Extract<RunOutcome, { kind: 'retry' }>;

/**
 * Milliseconds until the retry of run `attempt`: retryDelay × retryFactor^n, n counting the
 * counted failures; a read-only failure (X-Readonly) waits 30–60 s more, so a maintenance window
 * is not hammered (ChangeProp).
 */
export function retryDelayMs(
  rule: Pick<ExecutorRule, 'retryDelay' | 'retryFactor'>,
  outcome: Retried,
  attempt: number,
): number {
  const nth = outcome.counted ? attempt - 1 : Math.max(0, attempt - 2);
  let delay = rule.retryDelay * rule.retryFactor ** nth * 1000;
  if (outcome.readonly === true) delay += Math.ceil(30_000 + Math.random() * 30_000);
  return delay;
}

/** The retry topic of a message read from `topic` (a retry topic retries onto itself). */
export function retryTopicOf(names: ReturnType<typeof topicNames>, topic: string): string {
  return topic === names.retryTopic(topic) || names.isInternal(topic) ? topic : names.retryTopic(topic);
}

/** The retry event of a failed run (see {@link RetryEvent}). */
export function buildRetryEvent(args: {
  readonly event: JobEvent;
  readonly run: RunInfo;
  readonly outcome: Retried;
  /** Runs allowed after this one. */
  readonly left: number;
  readonly now: number;
  readonly delayMs: number;
  /** The retry topic's stream. */
  readonly stream: string;
  readonly emitter: string;
}): RetryEvent {
  const { event, run, outcome, left, now } = args;
  const uri = (event.meta as { uri?: unknown }).uri;
  return {
    $schema: RETRY_EVENT_SCHEMA,
    meta: {
      id: randomUUID(),
      dt: new Date(now).toISOString(),
      stream: args.stream,
      uri: typeof uri === 'string' ? uri : GENERIC_ERROR_URI,
      domain: event.meta.domain,
      ...(event.meta.request_id === undefined ? {} : { request_id: event.meta.request_id }),
    },
    triggered_by: triggeredBy(run.retry ?? event),
    emitter_id: args.emitter,
    // ChangeProp's count: the runs still allowed, the next one included. An uncounted
    // (read-only) failure keeps every retry: after a first run that is retryLimit + 1.
    retries_left: outcome.counted ? left : left + 1,
    original_event: event,
    ...(outcome.status === undefined ? {} : { error_status: outcome.status }),
    reason: outcome.reason.slice(0, 2000),
    // The run number (x-switchyard-attempt, Job.attempts) counts every run, read-only ones too.
    attempt: run.attempt + 1,
    retry_at: new Date(now + args.delayMs).toISOString(),
  };
}
