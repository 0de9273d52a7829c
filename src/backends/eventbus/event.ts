/**
 * Job events (SPEC §4): building one `mediawiki/job` 1.0.0 event per job, signing it, and
 * verifying a received one. The signature is HMAC-SHA256 (hex) over the canonical JSON of a fixed
 * subset (`database`, `type`, `params`, `meta.id`, `sha1`, `root_event`, `delay_until`; absent
 * fields omitted), so intake-side edits of other fields (meta.dt, meta.stream) keep it valid.
 *
 * @packageDocumentation
 */
import { createHmac, createSecretKey, type KeyObject, randomUUID, timingSafeEqual } from 'node:crypto';
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

let isoMs = Number.NaN;
let isoText = '';

/**
 * ISO-8601 of Unix ms; throws RangeError beyond the Date range (the caller reports it). The last
 * result is kept: a batch's events share one `meta.dt`.
 */
function iso(ms: number): string {
  if (ms === isoMs) return isoText;
  const text = new Date(ms).toISOString();
  isoMs = ms;
  isoText = text;
  return text;
}

let keyText: string | null = null;
let keyObject: KeyObject | null = null;

/** The HMAC key of `secret`, converted once (the last one is kept). */
function hmacKey(secret: string): KeyObject {
  if (secret !== keyText || keyObject === null) {
    keyObject = createSecretKey(Buffer.from(secret, 'utf8'));
    keyText = secret;
  }
  return keyObject;
}

/** A built event and its JSON text, as produced to Kafka. */
export interface SerializedJobEvent {
  readonly event: JobEvent;
  /**
   * The event as JSON, with the same members in the same order as `JSON.stringify(event)`;
   * `params` are written in canonical form (keys sorted), so the text equals
   * `JSON.stringify(event)` whenever the params' keys already were in that order.
   */
  readonly json: string;
}

const q = JSON.stringify;

/**
 * Builds and signs the event of one normalised job and serialises it, writing the params once
 * for both the signature and the message. Throws RangeError for an unrepresentable time.
 */
export function buildSerializedJobEvent(
  job: NormalizedJob,
  options: BuildJobEventOptions,
): SerializedJobEvent {
  const id = options.id ?? randomUUID();
  const meta: { id: string; dt: string; stream: string; domain: string; request_id?: string } = {
    id,
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
  const sha1 = job.removeDuplicates && job.sha1 !== null ? job.sha1 : null;
  if (sha1 !== null) event.sha1 = sha1;
  let rootDt = '';
  if (job.rootJob !== null) {
    rootDt = iso(job.rootJob.timestamp);
    event.root_event = { signature: job.rootJob.signature, dt: rootDt };
  }
  const delay = job.releaseTimestamp !== null ? iso(job.releaseTimestamp) : null;
  if (delay !== null) event.delay_until = delay;
  const params = canonicalJson(job.params);
  const database = q(job.domain);
  const type = q(job.type);
  // The signed subset in canonical order (keys sorted at every level), as signedPayload writes it.
  const payload =
    `{"database":${database}${delay === null ? '' : `,"delay_until":${q(delay)}`},"meta":{"id":${q(id)}}` +
    `,"params":${params}` +
    (job.rootJob === null
      ? ''
      : `,"root_event":{"dt":${q(rootDt)},"signature":${q(job.rootJob.signature)}}`) +
    `${sha1 === null ? '' : `,"sha1":${q(sha1)}`},"type":${type}}`;
  const signature = createHmac('sha256', hmacKey(options.secret)).update(payload).digest('hex');
  event.mediawiki_signature = signature;
  // The members in the order of `event` above (mediawiki_signature was added as a placeholder).
  const json =
    `{"$schema":${q(JOB_EVENT_SCHEMA_URI)},"meta":{"id":${q(id)},"dt":${q(meta.dt)},"stream":${q(meta.stream)},"domain":${q(meta.domain)}` +
    `${meta.request_id === undefined ? '' : `,"request_id":${q(meta.request_id)}`}},"database":${database},"type":${type},"params":${params}` +
    `,"mediawiki_signature":"${signature}"${sha1 === null ? '' : `,"sha1":${q(sha1)}`}` +
    (job.rootJob === null
      ? ''
      : `,"root_event":{"signature":${q(job.rootJob.signature)},"dt":${q(rootDt)}}`) +
    `${delay === null ? '' : `,"delay_until":${q(delay)}`}}`;
  return { event, json };
}

/** Builds and signs the event of one normalised job. Throws RangeError for an unrepresentable time. */
export function buildJobEvent(job: NormalizedJob, options: BuildJobEventOptions): JobEvent {
  return buildSerializedJobEvent(job, options).event;
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
  const subset: Record<string, unknown> = {};
  // Added in sorted order, so canonicalJson's fast path applies when the values are canonical too.
  for (const key of ['database', 'delay_until', 'meta', 'params', 'root_event', 'sha1', 'type'] as const) {
    if (key === 'meta') subset.meta = { id };
    else if (e[key] !== undefined) subset[key] = e[key];
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
  return createHmac('sha256', hmacKey(secret)).update(payload).digest('hex');
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
  const expected = createHmac('sha256', hmacKey(secret)).update(payload).digest();
  return timingSafeEqual(expected, Buffer.from(claimed, 'hex'));
}
