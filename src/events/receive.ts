/**
 * Reading a received job event: checking it (the real schema, then the signature), its times, and
 * the {@link Job} a handler gets for it. Shared by the executor and the job-execution endpoint.
 *
 * @packageDocumentation
 */
import type { Job } from '../core/job.js';
import { type JobEvent, validateJobEvent } from './schema.js';
import { type SignatureMode, verifyJobEvent } from './signature.js';

/** A received value checked as a job event. */
export type EventCheck =
  | { readonly ok: true; readonly event: JobEvent }
  | { readonly ok: false; readonly reason: 'schema-invalid' | 'bad-signature'; readonly detail: string };

/**
 * Schema first (the real mediawiki/job 1.0.0), then the signature (promises §4). `signature`: the
 * scheme to accept, `mediawiki` (MediaWiki EventBus's hex HMAC-SHA1, a `meta.dt` added after
 * signing tolerated) or `switchyard-v1` (HMAC-SHA256 over a subset); null (the default) accepts
 * either, told apart by the signature's length.
 */
export function checkJobEvent(
  value: unknown,
  secret: string,
  signature: SignatureMode | null = null,
): EventCheck {
  const issues = validateJobEvent(value);
  if (issues.length > 0) {
    const detail = issues
      .slice(0, 5)
      .map((i) => `${i.path}: ${i.message}`)
      .join('; ');
    return { ok: false, reason: 'schema-invalid', detail };
  }
  if (!verifyJobEvent(value, secret, signature)) {
    const scheme = signature === null ? 'the mediawiki or switchyard-v1 scheme' : `the ${signature} scheme`;
    return {
      ok: false,
      reason: 'bad-signature',
      detail: `mediawiki_signature does not match the event under ${scheme}`,
    };
  }
  return { ok: true, event: value as JobEvent };
}

/** Unix ms of an ISO-8601 time, or null. */
export function parseTime(text: string | undefined): number | null {
  if (text === undefined) return null;
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? null : ms;
}

/** The times of an event, Unix ms (null when absent). */
export interface EventTimes {
  readonly created: number | null;
  readonly delayUntil: number | null;
  readonly rootAt: number | null;
}

const timesCache = new WeakMap<JobEvent, EventTimes>();

/** The parsed times of `event`, computed once per event object. */
export function eventTimes(event: JobEvent): EventTimes {
  let times = timesCache.get(event);
  if (times === undefined) {
    times = {
      created: parseTime(event.meta.dt),
      delayUntil: parseTime(event.delay_until),
      rootAt: parseTime(event.root_event?.dt),
    };
    timesCache.set(event, times);
  }
  return times;
}

/** The job a handler receives for `event`; `attempts` counts this run. */
export function jobFromEvent(
  event: JobEvent,
  attempts: number,
  now: number,
  partition: string | null,
): Job<string> {
  const root = event.root_event;
  const times = eventTimes(event);
  return Object.freeze({
    id: event.meta.id,
    type: event.type,
    params: event.params as Job<string>['params'],
    domain: event.database,
    releaseTimestamp: times.delayUntil,
    removeDuplicates: event.sha1 !== undefined,
    sha1: event.sha1 ?? null,
    rootJob: root === undefined ? null : { signature: root.signature, timestamp: times.rootAt ?? 0 },
    requestId: event.meta.request_id ?? null,
    priority: 0,
    groupKey: null,
    attempts,
    enqueuedAt: times.created ?? now,
    claimedAt: now,
    claimToken: '',
    partition,
    isDuplicate: false,
  });
}
