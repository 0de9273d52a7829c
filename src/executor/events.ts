/**
 * The executor's wire shapes and small shared helpers: retry and error events, topic naming, the
 * broker's "message too large" refusal, and error sniffing.
 *
 * @packageDocumentation
 */
import type { JobEvent } from '../events/job-event.js';
import type { ExecutorConfig } from './config.js';

/** `$schema` of the retry events the executor produces and consumes: ChangeProp's. */
export const RETRY_EVENT_SCHEMA = '/change-prop/retry/1.0.0';
/** `$schema` of the retry events of switchyard before ChangeProp's shape; still consumed. */
export const LEGACY_RETRY_EVENT_SCHEMA = '/switchyard/executor/retry/1.0.0';
/** `$schema` of the error events the executor produces: WMF's error schema, as ChangeProp. */
export const ERROR_EVENT_SCHEMA = '/error/0.0.3';
/** `meta.uri` of an error event whose message has none (not JSON, or no `meta.uri`), as ChangeProp. */
export const GENERIC_ERROR_URI = 'https://mediawiki.org/wiki/ChangePropagation/error';

/**
 * A retry event on `{service}.retry.{stream}`, shaped as ChangeProp's `/change-prop/retry/1.0.0`:
 * a ChangeProp instance with the same service and rule names consumes it, and the executor
 * consumes ChangeProp's.
 */
export interface RetryEvent {
  readonly $schema: typeof RETRY_EVENT_SCHEMA;
  readonly meta: {
    readonly id: string;
    readonly dt: string;
    readonly stream: string;
    readonly uri: string;
    readonly domain: string;
    readonly request_id?: string;
  };
  /** `req:{request_id},{stream}:{uri}` of the first event, then `,{stream}:{uri}` per retry. */
  readonly triggered_by: string;
  /** `{service}#{rule}`: only that rule's retry consumer runs it. */
  readonly emitter_id: string;
  /**
   * Runs still allowed, this one included (ChangeProp's count): the first retry carries
   * `retryLimit`, each counted failure one less; a message with 0 is not run.
   */
  readonly retries_left: number;
  readonly original_event: JobEvent;
  /** The HTTP status of the failed run (absent for an in-process handler). */
  readonly error_status?: number;
  readonly reason?: string;
  /** switchyard: the run this retry will be (2 = first retry). ChangeProp's lack it. */
  readonly attempt?: number;
  /** switchyard: not before this time. ChangeProp's lack it (the delay counts from `meta.dt`). */
  readonly retry_at?: string;
}

/** An error event on `{service}.error`, shaped as WMF's `/error/0.0.3` (as ChangeProp writes it). */
export interface ErrorEvent {
  readonly $schema: typeof ERROR_EVENT_SCHEMA;
  readonly meta: {
    readonly id: string;
    readonly dt: string;
    readonly stream: string;
    /** The event's `meta.uri`, else {@link GENERIC_ERROR_URI}. */
    readonly uri: string;
    /** The event's `meta.domain`, else `unknown`. */
    readonly domain: string;
    readonly request_id?: string;
  };
  /** `{service}#{rule}`. */
  readonly emitter_id: string;
  /** The message as text: the event's JSON, or the raw text when it was not JSON (an excerpt when too large). */
  readonly raw_event: string;
  /** What went wrong, one line. */
  readonly message: string;
  /** The HTTP response of the failed run, when there was one. */
  readonly details?: {
    readonly status: number;
    readonly headers: Record<string, string>;
    readonly body: string;
  };
  /** switchyard: why (`failed`, `retries-exhausted`, `bad-signature`, `schema-invalid`, `not-json`, `too-large`, …). */
  readonly reason: string;
  /** switchyard: the same as `message`. */
  readonly detail: string;
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
  /** switchyard: the event, when it was JSON and fits. */
  readonly original_event?: unknown;
}

/** ChangeProp's `x-triggered-by` / `triggered_by`: the chain of events that led to this run. */
export function triggeredBy(event: {
  readonly triggered_by?: unknown;
  readonly meta: { readonly stream: string; readonly uri?: unknown; readonly request_id?: unknown };
}): string {
  const prev =
    typeof event.triggered_by === 'string' && event.triggered_by.length > 0
      ? `${event.triggered_by},`
      : `req:${String(event.meta.request_id)},`;
  return `${prev}${event.meta.stream}:${String(event.meta.uri)}`;
}

/** `{service}#{rule}`, ChangeProp's emitter id. */
export function emitterId(service: string, rule: string): string {
  return `${service}#${rule}`;
}

/** Characters of an event kept in an error event that would otherwise be too large. */
export const ERROR_EXCERPT_CHARS = 4096;

/** The broker refused a produce for its size (Kafka error 10, MESSAGE_TOO_LARGE). */
export class MessageTooLarge extends Error {
  constructor(topic: string, messages: ReadonlyArray<{ readonly value: string }>, cause: unknown) {
    const chars = messages.reduce((n, m) => n + m.value.length, 0);
    super(`${topic} refuses a message of ${chars} characters as too large (its max.message.bytes)`, {
      cause,
    });
    this.name = 'MessageTooLarge';
  }
}

export function describe(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}

export { sleep } from '../core/checks.js';

/** Topic helpers for one executor config. */
export function topicNames(config: ExecutorConfig) {
  const dc = config.dcPrefix;
  const stream = (topic: string) =>
    dc !== null && topic.startsWith(`${dc}.`) ? topic.slice(dc.length + 1) : topic;
  const withDc = (name: string) => (dc === null ? name : `${dc}.${name}`);
  return {
    stream,
    retryTopic: (topic: string) => withDc(`${config.service}.retry.${stream(topic)}`),
    errorTopic: withDc(`${config.service}.error`),
    isInternal: (topic: string) =>
      stream(topic).startsWith(`${config.service}.retry.`) || stream(topic) === `${config.service}.error`,
  };
}

/** What an error event carries of the message that caused it. */
export interface ErrorPayload {
  /** The message's value, when it was JSON. */
  readonly original_event?: unknown;
  /** The message text, when it was not JSON. */
  readonly raw_event?: string;
  /** The HTTP response of the failed run. */
  readonly http?: {
    readonly status: number;
    readonly headers: Record<string, string>;
    readonly body: string;
  };
}

function metaOf(value: unknown): { uri?: unknown; domain?: unknown; request_id?: unknown } {
  const meta = (value as { meta?: unknown } | null | undefined)?.meta;
  return typeof meta === 'object' && meta !== null ? (meta as Record<string, unknown>) : {};
}

/** The `/error/0.0.3` event for a message (see {@link ErrorEvent}). */
export function buildErrorEvent(args: {
  readonly id: string;
  readonly now: number;
  readonly stream: string;
  readonly emitter: string;
  readonly reason: string;
  readonly detail: string;
  readonly payload: ErrorPayload;
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
}): ErrorEvent {
  const { payload } = args;
  const meta = metaOf(payload.original_event);
  const detail = args.detail.slice(0, 2000);
  return {
    $schema: ERROR_EVENT_SCHEMA,
    meta: {
      id: args.id,
      dt: new Date(args.now).toISOString(),
      stream: args.stream,
      uri: typeof meta.uri === 'string' ? meta.uri : GENERIC_ERROR_URI,
      domain: typeof meta.domain === 'string' ? meta.domain : 'unknown',
      ...(typeof meta.request_id === 'string' ? { request_id: meta.request_id } : {}),
    },
    emitter_id: args.emitter,
    raw_event: payload.raw_event ?? JSON.stringify(payload.original_event ?? null),
    message: detail,
    ...(payload.http === undefined
      ? {}
      : { details: { ...payload.http, body: payload.http.body.slice(0, 2000) } }),
    reason: args.reason,
    detail,
    topic: args.topic,
    partition: args.partition,
    offset: args.offset,
    ...(payload.original_event === undefined ? {} : { original_event: payload.original_event }),
  };
}
