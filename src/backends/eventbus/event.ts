/**
 * Job events (SPEC §4): building one `mediawiki/job` 1.0.0 event per job, signing it, and
 * verifying a received one. The signature is HMAC-SHA256 (hex) over the canonical JSON of a fixed
 * subset (`database`, `type`, `params`, `meta.id`, `sha1`, `root_event`, `delay_until`; absent
 * fields omitted), so intake-side edits of other fields (meta.dt, meta.stream) keep it valid.
 *
 * @packageDocumentation
 */
import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import { canonicalJson, type JsonObject, type JsonValue, type NormalizedJob } from '../../core/job.js';
import { JOB_EVENT_SCHEMA_URI } from './schema.js';

/** A `mediawiki/job` 1.0.0 event as switchyard produces it. */
export interface JobEvent {
  readonly $schema: string;
  readonly meta: {
    readonly id: string;
    readonly dt: string;
    readonly stream: string;
    readonly domain: string;
    readonly request_id?: string;
  };
  readonly database: string;
  readonly type: string;
  readonly params: JsonObject;
  readonly sha1?: string;
  readonly root_event?: { readonly signature: string; readonly dt: string };
  readonly delay_until?: string;
  readonly mediawiki_signature: string;
}

/** What {@link buildJobEvent} needs besides the job. */
export interface BuildJobEventOptions {
  /** The stream name, e.g. `mediawiki.job.refreshLinks` (meta.stream). */
  readonly stream: string;
  /** The signing secret. */
  readonly secret: string;
  /** Event time, Unix ms (meta.dt). */
  readonly now: number;
  /** The event id (meta.id); a random UUID when absent. */
  readonly id?: string;
}

/** ISO-8601 of Unix ms; throws RangeError beyond the Date range (the caller reports it). */
function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** Builds and signs the event of one normalised job. Throws RangeError for an unrepresentable time. */
export function buildJobEvent(job: NormalizedJob, options: BuildJobEventOptions): JobEvent {
  const meta: { id: string; dt: string; stream: string; domain: string; request_id?: string } = {
    id: options.id ?? randomUUID(),
    dt: iso(options.now),
    stream: options.stream,
    domain: job.domain,
  };
  if (job.requestId !== null) meta.request_id = job.requestId;
  const event: { -readonly [K in keyof JobEvent]: JobEvent[K] } = {
    $schema: JOB_EVENT_SCHEMA_URI,
    meta,
    database: job.domain,
    type: job.type,
    params: job.params,
    mediawiki_signature: '',
  };
  if (job.removeDuplicates && job.sha1 !== null) event.sha1 = job.sha1;
  if (job.rootJob !== null) {
    event.root_event = { signature: job.rootJob.signature, dt: iso(job.rootJob.timestamp) };
  }
  if (job.releaseTimestamp !== null) event.delay_until = iso(job.releaseTimestamp);
  event.mediawiki_signature = signJobEvent(event, options.secret);
  return event;
}

/**
 * The canonical JSON the signature covers, or null when `event` is not shaped like a job event
 * (not an object, or meta.id missing).
 */
export function signedPayload(event: unknown): string | null {
  if (typeof event !== 'object' || event === null || Array.isArray(event)) return null;
  const e = event as Record<string, unknown>;
  const meta = e.meta;
  if (typeof meta !== 'object' || meta === null || Array.isArray(meta)) return null;
  const id = (meta as Record<string, unknown>).id;
  if (typeof id !== 'string') return null;
  const subset: Record<string, unknown> = { meta: { id } };
  for (const key of ['database', 'type', 'params', 'sha1', 'root_event', 'delay_until'] as const) {
    if (e[key] !== undefined) subset[key] = e[key];
  }
  try {
    return canonicalJson(subset as JsonValue);
  } catch {
    return null;
  }
}

/** HMAC-SHA256 (hex) of the signed subset of `event` with `secret`. */
export function signJobEvent(
  event: Omit<JobEvent, 'mediawiki_signature'> | JobEvent,
  secret: string,
): string {
  const payload = signedPayload(event);
  if (payload === null) throw new TypeError('signJobEvent: not a job event (meta.id is missing)');
  return createHmac('sha256', secret).update(payload).digest('hex');
}

/**
 * True iff `event` carries a `mediawiki_signature` made with `secret` over its signed subset
 * (constant-time comparison). A forged, altered or unsigned event, or a non-event, is false.
 * Checks the signature only; validate the shape with `validateJobEvent`.
 */
export function verifyJobEvent(event: unknown, secret: string): boolean {
  if (typeof secret !== 'string' || secret.length === 0) return false;
  const payload = signedPayload(event);
  if (payload === null) return false;
  const claimed = (event as Record<string, unknown>).mediawiki_signature;
  if (typeof claimed !== 'string' || !/^[0-9a-f]{64}$/.test(claimed)) return false;
  const expected = createHmac('sha256', secret).update(payload).digest();
  return timingSafeEqual(expected, Buffer.from(claimed, 'hex'));
}
