/**
 * The executor's wire shapes and small shared helpers: retry and error events, topic naming, the
 * broker's "message too large" refusal, and error sniffing.
 *
 * @packageDocumentation
 */
import type { JobEvent } from '../backends/eventbus/event.js';
import type { ExecutorConfig } from './config.js';

/** `$schema` of the retry events the executor produces. */
export const RETRY_EVENT_SCHEMA = '/switchyard/executor/retry/1.0.0';
/** `$schema` of the error events the executor produces. */
export const ERROR_EVENT_SCHEMA = '/switchyard/executor/error/1.0.0';

/** A retry event on `{service}.retry.{stream}`. */
export interface RetryEvent {
  readonly $schema: typeof RETRY_EVENT_SCHEMA;
  readonly meta: {
    readonly id: string;
    readonly dt: string;
    readonly stream: string;
    readonly domain: string;
  };
  readonly emitter_id: string;
  /** The run this retry will be (2 = first retry). */
  readonly attempt: number;
  readonly retries_left: number;
  /** Not before this time. */
  readonly retry_at: string;
  readonly reason: string;
  readonly original_event: JobEvent;
}

/** An error event on `{service}.error`. */
export interface ErrorEvent {
  readonly $schema: typeof ERROR_EVENT_SCHEMA;
  readonly meta: {
    readonly id: string;
    readonly dt: string;
    readonly stream: string;
    readonly domain?: string;
  };
  readonly emitter_id: string;
  readonly reason: string;
  readonly detail: string;
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
  /** The event, when it was JSON. */
  readonly original_event?: unknown;
  /** The message text, when it was not JSON. */
  readonly raw_event?: string;
}

/** Errors that mean the brokers cannot be reached (as opposed to a refused request). */
export const UNREACHABLE =
  /ECONNREFUSED|ETIMEDOUT|EHOSTUNREACH|ENOTFOUND|Connection timeout|KafkaJSConnectionError|KafkaJSNumberOfRetriesExceeded|Failed to connect/i;

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

/** True for kafkajs' MESSAGE_TOO_LARGE (on the error or the one it wraps). */
export function isMessageTooLarge(err: unknown): boolean {
  for (
    let e = err as { type?: unknown; originalError?: unknown; cause?: unknown } | null, i = 0;
    e && i < 4;
    i++
  ) {
    if (e.type === 'MESSAGE_TOO_LARGE' || e.type === 'RECORD_LIST_TOO_LARGE') return true;
    e = (e.originalError ?? e.cause ?? null) as typeof e;
  }
  return false;
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
