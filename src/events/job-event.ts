/**
 * Job events (promises §4): building one `mediawiki/job` 1.0.0 event per job, signed under either
 * scheme of ./signature.ts, and MediaWiki's own job bookkeeping (its sha1, timestamps and params)
 * reproduced byte for byte. The one wire format of the eventbus backend (which produces events)
 * and the executor (which consumes them).
 *
 * @packageDocumentation
 */
import { createHash, randomUUID } from 'node:crypto';
import { canonicalJson, type JsonObject, type JsonValue, type NormalizedJob } from '../core/job.js';
import { PieceHmac } from './hmac.js';
import { ksortedEntries, phpJsonOf, phpSerialize, serializeEntries } from './php.js';
import { JOB_EVENT_SCHEMA_URI, type JobEvent } from './schema.js';
import type { SignatureMode } from './signature.js';

/** The event's shape lives with its schema; importers of this module get it here too. */
export type { JobEvent } from './schema.js';

/** The `meta.uri` MediaWiki puts on every job event (EventFactory::createJobEvent, T221368). */
export const MEDIAWIKI_JOB_URI = 'https://placeholder.invalid/wiki/Special:Badtitle';

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
  /** The signature scheme; default `switchyard-v1`. */
  readonly signature?: SignatureMode;
  /**
   * `mediawiki` mode: `meta.domain`, MediaWiki's server name of the job's wiki (`$wgServerName`,
   * e.g. `en.wikipedia.org`); a string for every domain, or a map domain → server name. A domain
   * without one uses the job's domain. (`switchyard-v1` mode always writes the job's domain.)
   */
  readonly serverName?: string | Readonly<Record<string, string>>;
  /** `mediawiki` mode: `meta.uri`; default {@link MEDIAWIKI_JOB_URI}, as MediaWiki writes it. */
  readonly uri?: string;
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

/** A JSON string literal remembered for the next call (a batch's events share these). */
interface Quoted {
  text: string;
  json: string;
}
const DATABASE: Quoted = { text: '', json: '""' };
const TYPE: Quoted = { text: '', json: '""' };
const STREAM: Quoted = { text: '', json: '""' };
const DT: Quoted = { text: '', json: '""' };
const URI: Quoted = { text: '', json: '""' };
const SERVER: Quoted = { text: '', json: '""' };
const SCHEMA_JSON = q(JOB_EVENT_SCHEMA_URI);

/** `JSON.stringify(text)`, from `slot` when it was the last text there. */
function quoted(slot: Quoted, text: string): string {
  if (slot.text !== text) {
    slot.json = q(text);
    slot.text = text;
  }
  return slot.json;
}

/** The `switchyard-v1` signer (HMAC-SHA256) and the `mediawiki` one (HMAC-SHA1), reused. */
const V1_HMAC = new PieceHmac('sha256');
const MEDIAWIKI_HMAC = new PieceHmac('sha1');

/**
 * Builds and signs the event of one normalised job and serialises it, writing the params once
 * for both the signature and the message. Throws RangeError for an unrepresentable time.
 */
export function buildSerializedJobEvent(
  job: NormalizedJob,
  options: BuildJobEventOptions,
): SerializedJobEvent {
  if (options.signature === 'mediawiki') return buildMediaWikiJobEvent(job, options);
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
  const database = quoted(DATABASE, job.domain);
  const type = quoted(TYPE, job.type);
  const qid = q(id);
  const qdelay = delay === null ? '' : `,"delay_until":${q(delay)}`;
  const qsha1 = sha1 === null ? '' : `,"sha1":${q(sha1)}`;
  const qroot = job.rootJob === null ? null : q(job.rootJob.signature);
  // The signed subset in canonical order (keys sorted at every level), as signedPayload writes it,
  // hashed from its three pieces (the params text is not copied into a payload string).
  const signature = V1_HMAC.begin(options.secret)
    .add(`{"database":${database}${qdelay},"meta":{"id":${qid}},"params":`)
    .add(params)
    .add(
      `${qroot === null ? '' : `,"root_event":{"dt":${q(rootDt)},"signature":${qroot}}`}${qsha1},"type":${type}}`,
    )
    .hex();
  event.mediawiki_signature = signature;
  // The members in the order of `event` above (mediawiki_signature was added as a placeholder).
  const json =
    `{"$schema":${SCHEMA_JSON},"meta":{"id":${qid},"dt":${quoted(DT, meta.dt)},"stream":${quoted(STREAM, meta.stream)},"domain":${database}` +
    `${meta.request_id === undefined ? '' : `,"request_id":${q(meta.request_id)}`}},"database":${database},"type":${type},"params":${params}` +
    `,"mediawiki_signature":"${signature}"${qsha1}` +
    (qroot === null ? '' : `,"root_event":{"signature":${qroot},"dt":${q(rootDt)}}`) +
    `${qdelay}}`;
  return { event, json };
}

/** Builds and signs the event of one normalised job. Throws RangeError for an unrepresentable time. */
export function buildJobEvent(job: NormalizedJob, options: BuildJobEventOptions): JobEvent {
  return buildSerializedJobEvent(job, options).event;
}

// ---------------------------------------------------------------------------------------------
// MediaWiki EventBus's EventFactory::createJobEvent and MediaWiki core's Job::getDeduplicationInfo,
// reproduced byte for byte.

/** Params MediaWiki's Job::getDeduplicationInfo leaves out of the dedup info. */
const MEDIAWIKI_NON_DEDUP = new Set([
  'rootJobSignature',
  'rootJobTimestamp',
  'jobReleaseTimestamp',
  'requestId',
]);

/**
 * MediaWiki's job `sha1`: `sha1(serialize($job->getDeduplicationInfo()))`, i.e. SHA-1 (hex) of
 * PHP's serialize() of `['type' => $type, 'params' => $params]`, the params without
 * `rootJobSignature`, `rootJobTimestamp`, `jobReleaseTimestamp`, `requestId` and the names in
 * `ignore` (JobSpecification's `removeDuplicatesIgnoreParams`), ksort()ed by key (Job's rule).
 * The domain is not part of it.
 */
export function mediawikiSha1(type: string, params: JsonObject, ignore: readonly string[] = []): string {
  const kept: Record<string, unknown> = {};
  for (const key of Object.keys(params)) {
    if (!MEDIAWIKI_NON_DEDUP.has(key) && !ignore.includes(key)) kept[key] = params[key];
  }
  const text = `a:2:{s:4:"type";${phpSerialize(type)}s:6:"params";${serializeEntries(ksortedEntries(kept), 1)}}`;
  return createHash('sha1').update(text, 'utf8').digest('hex');
}

/** MediaWiki's TS_ISO_8601 (`Y-m-d\TH:i:s\Z`, whole seconds) of Unix ms. */
export function mediawikiIso(ms: number): string {
  const text = new Date(Math.floor(ms / 1000) * 1000).toISOString();
  return `${text.slice(0, -5)}Z`;
}

/** MediaWiki's TS_MW (`YmdHis`, UTC) of Unix ms, as `rootJobTimestamp` carries it. */
export function mediawikiTimestamp(ms: number): string {
  return mediawikiIso(ms).replace(/[-:TZ]/g, '');
}

/**
 * The params MediaWiki's job would carry: the job's own, then the bookkeeping MediaWiki keeps in
 * them (Job::newRootJobParams' `rootJobIsSelf`, `rootJobSignature`, `rootJobTimestamp` as TS_MW;
 * `jobReleaseTimestamp` in Unix seconds; `requestId`). A key the job already has keeps its place.
 */
export function mediawikiJobParams(job: NormalizedJob): JsonObject {
  const params: Record<string, JsonValue> = { ...job.params };
  if (job.rootJob !== null) {
    if (job.rootJob.isSelf === true) params.rootJobIsSelf = true;
    params.rootJobSignature = job.rootJob.signature;
    params.rootJobTimestamp = mediawikiTimestamp(job.rootJob.timestamp);
  }
  if (job.releaseTimestamp !== null) params.jobReleaseTimestamp = Math.floor(job.releaseTimestamp / 1000);
  if (job.requestId !== null) params.requestId = job.requestId;
  return params;
}

function serverNameOf(job: NormalizedJob, names: BuildJobEventOptions['serverName']): string {
  if (typeof names === 'string') return names;
  return names?.[job.domain] ?? job.domain;
}

/**
 * EventFactory::createJobEvent: members in MediaWiki's order (`$schema`, `meta` {uri,
 * request_id, id, domain, stream}, `database`, `type`, `delay_until`, `sha1`, `root_event`,
 * `params`), signed, then `meta.dt` added (as EventGate does) and `mediawiki_signature` last.
 *
 * The text is written once, around where `meta.dt` goes: the signed bytes are the head without
 * it (as PHP writes it) and the params, the message the same head with `meta.dt` spliced in,
 * the params as JSON.stringify writes them and the signature. The params are written once by
 * JSON.stringify; PHP's text of them is that text unless it holds what PHP writes differently.
 */
function buildMediaWikiJobEvent(job: NormalizedJob, options: BuildJobEventOptions): SerializedJobEvent {
  const uri = options.uri ?? MEDIAWIKI_JOB_URI;
  const meta: Record<string, string> = { uri };
  if (job.requestId !== null) meta.request_id = job.requestId;
  const id = options.id ?? randomUUID();
  meta.id = id;
  const domain = serverNameOf(job, options.serverName);
  meta.domain = domain;
  meta.stream = options.stream;
  // MediaWiki's bookkeeping params, when there are any (else the job's own, as they are).
  const params =
    job.rootJob === null && job.releaseTimestamp === null && job.requestId === null
      ? job.params
      : mediawikiJobParams(job);
  const event: Record<string, unknown> = {
    $schema: JOB_EVENT_SCHEMA_URI,
    meta,
    database: job.domain,
    type: job.type,
  };
  let head: string;
  let rest: string;
  let signedHead: string;
  let paramsJson: string;
  let paramsPhp: string;
  try {
    let tail = '';
    if (job.releaseTimestamp !== null) {
      const delay = mediawikiIso(job.releaseTimestamp);
      event.delay_until = delay;
      tail += `,"delay_until":${q(delay)}`;
    }
    if (job.removeDuplicates) {
      const sha1 = mediawikiSha1(job.type, params, job.removeDuplicatesIgnoreParams ?? []);
      event.sha1 = sha1;
      tail += `,"sha1":${q(sha1)}`;
    }
    if (job.rootJob !== null) {
      const root = { signature: job.rootJob.signature, dt: mediawikiIso(job.rootJob.timestamp) };
      event.root_event = root;
      tail += `,"root_event":{"signature":${q(root.signature)},"dt":${q(root.dt)}}`;
    }
    // JSON.stringify(event) as it stands (no params, no meta.dt), in two pieces around meta.dt.
    head =
      `{"$schema":${SCHEMA_JSON},"meta":{"uri":${quoted(URI, uri)}` +
      `${job.requestId === null ? '' : `,"request_id":${q(job.requestId)}`},"id":${q(id)}` +
      `,"domain":${quoted(SERVER, domain)},"stream":${quoted(STREAM, options.stream)}`;
    rest = `},"database":${quoted(DATABASE, job.domain)},"type":${quoted(TYPE, job.type)}${tail}`;
    signedHead = phpJsonOf(event, `${head}${rest}}`);
    paramsJson = JSON.stringify(params);
    paramsPhp = phpJsonOf(params, paramsJson);
  } catch (err) {
    if (err instanceof RangeError) throw err;
    throw new RangeError(
      `MediaWiki could not encode it: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
  const signature = MEDIAWIKI_HMAC.begin(options.secret)
    .add(signedHead.slice(0, -1))
    .add(',"params":')
    .add(paramsPhp)
    .add('}')
    .hex();
  meta.dt = iso(options.now);
  const json = `${head},"dt":${quoted(DT, meta.dt)}${rest},"params":${paramsJson},"mediawiki_signature":"${signature}"}`;
  event.params = params;
  event.mediawiki_signature = signature;
  return { event: event as unknown as JobEvent, json };
}
