/**
 * The eventbus queue (promises §3, §4): push-only. Each pushed job becomes one signed,
 * schema-valid `mediawiki/job` 1.0.0 event produced to Kafka on topic
 * `{dcPrefix}.{streamPrefix}{type}`. Events are validated before anything is produced, sent in
 * produce requests of at most maxBatchBytes (acks -1) and awaited; any failure is an error naming
 * how many jobs were not produced. The signing secret is held privately and never appears in
 * logs or errors.
 *
 * @packageDocumentation
 */

import { brokerList } from '../../core/checks.js';
import {
  configInvalid,
  describeValue,
  ErrorCode,
  type Issue,
  invalidJob,
  SwitchyardError,
} from '../../core/errors.js';
import type { NormalizedJob } from '../../core/job.js';
import {
  JobQueue,
  type JobQueueOptions,
  type PushHookOptions,
  type PushResult,
} from '../../core/job-queue.js';
import { defineSupports, type Supports } from '../../core/supports.js';
import {
  type BuildJobEventOptions,
  buildSerializedJobEvent,
  type JobEvent,
  type SerializedJobEvent,
} from '../../events/job-event.js';
import { jobEventValidator, validateJobEvent } from '../../events/schema.js';
import {
  isKafkaUnreachable,
  type KafkaClientName,
  type KafkaCompression,
  type KafkaProducerPort,
} from '../../kafka/index.js';
import { EventBusProducer, ProduceRequests } from './producer.js';
import { checkSettings, EVENTBUS_DEFAULTS, type EventBusSettings } from './settings.js';

/** The eventbus backend's manifest: push-only (P-22). */
export const eventbusSupports: Supports = defineSupports({
  pop: false,
  ack: false,
  // The event carries delay_until; the executor honours it.
  delayedJobs: true,
  orders: [],
  sizes: 'none',
  atomicBatchPush: false,
  typeAgnostic: false,
  // Kafka keeps acked events (acks -1) on disk.
  durable: true,
  listing: false,
  // Dedup and root jobs happen in the executor (promises §5), from the event's sha1 / root_event.
  deduplication: false,
  rootJobs: false,
  batchPop: false,
  siblingQueries: false,
  transactionalPush: false,
});

/** Options of {@link EventBusJobQueue}: queue options plus the settings. */
export type EventBusJobQueueOptions = JobQueueOptions & EventBusSettings;

/**
 * The Kafka message of one serialised event: the JSON value only, no key and no headers (the
 * executor reads only the value; a header cost kafkajs about 5 µs of CPU per message to encode).
 */
function message(value: string): { value: string } {
  return { value };
}

/**
 * A push-only queue producing job events to Kafka. Build it from the config (`class: eventbus`)
 * or directly with `{ type, domain, secret, brokers | producer }`.
 */
export class EventBusJobQueue extends JobQueue {
  readonly #secret: string;
  readonly #signing: Pick<BuildJobEventOptions, 'signature' | 'serverName' | 'uri'>;
  readonly #producer: EventBusProducer;
  /** The stream of this queue's type (meta.stream). */
  readonly stream: string;
  /** The Kafka topic of this queue's type. */
  readonly topic: string;
  readonly #ackTimeout: number;
  readonly #maxBatchBytes: number;
  readonly #compression: KafkaCompression;
  readonly #ownsProducer: boolean;

  /**
   * @param shared - a connection's producer (not closed by this queue); otherwise the options'
   *   `producer` (the host's) or `brokers` (owned, closed with the queue) are used.
   * @throws `SWITCHYARD_CONFIG_INVALID` for bad settings, a missing secret or no producer.
   */
  constructor(options: EventBusJobQueueOptions, shared: EventBusProducer | null = null) {
    super('eventbus', eventbusSupports, options);
    const { secret, brokers, producer, dcPrefix, streamPrefix, clientId } = options;
    const { connectionTimeout, requestTimeout, retries, ackTimeout, maxBatchBytes, compression } = options;
    const { signature, serverName, uri, client } = options;
    const settings: Record<string, unknown> = {
      secret,
      signature,
      serverName,
      uri,
      brokers,
      producer,
      client,
      dcPrefix,
      streamPrefix,
      clientId,
      connectionTimeout,
      requestTimeout,
      retries,
      ackTimeout,
      maxBatchBytes,
      compression,
    };
    for (const k of Object.keys(settings)) if (settings[k] === undefined) delete settings[k];
    const issues = checkSettings(settings, '', true);
    if (shared === null && brokers === undefined && producer === undefined) {
      issues.push({
        path: 'brokers',
        message: 'an eventbus queue needs brokers, a producer or a connection',
      });
    }
    if (issues.length > 0) throw configInvalid(issues, `options of eventbus queue "${options.type}"`);
    this.#secret = secret as string;
    this.#signing = {
      signature: signature ?? 'switchyard-v1',
      ...(serverName === undefined ? {} : { serverName }),
      ...(uri === undefined ? {} : { uri }),
    };
    this.stream = `${streamPrefix ?? EVENTBUS_DEFAULTS.streamPrefix}${this.type}`;
    this.topic = dcPrefix ? `${dcPrefix}.${this.stream}` : this.stream;
    this.#ackTimeout = ackTimeout ?? EVENTBUS_DEFAULTS.ackTimeout;
    this.#maxBatchBytes = maxBatchBytes ?? EVENTBUS_DEFAULTS.maxBatchBytes;
    this.#compression = compression ?? EVENTBUS_DEFAULTS.compression;
    if (shared !== null) this.#producer = shared;
    else if (producer !== undefined) this.#producer = new EventBusProducer({ producer });
    else this.#producer = new EventBusProducer({ brokers: brokerList(brokers) as string[], config: options });
    this.#ownsProducer = shared === null;
  }

  /** The Kafka client library producing this queue's events. */
  get client(): KafkaClientName {
    return this.#producer.client;
  }

  /** Builds (and validates) the events of a batch without producing them. */
  buildEvents(jobs: readonly NormalizedJob[]): JobEvent[] {
    const events: JobEvent[] = [];
    this.#build(jobs, (built) => events.push(built.event));
    return events;
  }

  /**
   * Builds, validates and serialises the events of a batch, handing each valid one to `take` as
   * it is made (so a caller keeps only what it needs); throws every issue at the end.
   */
  #build(jobs: readonly NormalizedJob[], take: (built: SerializedJobEvent) => void): void {
    const issues: Issue[] = [];
    const options = { ...this.#signing, stream: this.stream, secret: this.#secret, now: this.clock.now() };
    const validate = jobEventValidator();
    for (let i = 0; i < jobs.length; i++) {
      let one: SerializedJobEvent;
      try {
        one = buildSerializedJobEvent(jobs[i] as NormalizedJob, options);
      } catch (err) {
        issues.push({
          path: `jobs[${i}]`,
          message: `cannot be expressed as a job event: ${err instanceof Error ? err.message : String(err)}`,
        });
        continue;
      }
      // The issues (and their path text) only for an event the schema refuses.
      if (!validate(one.event)) issues.push(...validateJobEvent(one.event, `jobs[${i}] event`));
      else if (issues.length === 0) take(one);
    }
    if (issues.length > 0) throw invalidJob(issues);
  }

  protected override async doBatchPush(
    jobs: readonly NormalizedJob[],
    _options: PushHookOptions,
  ): Promise<PushResult> {
    // Every event is built and validated before anything is produced. Only the message texts
    // are kept, split into produce requests of at most maxBatchBytes, in order.
    const requests = new ProduceRequests(this.#maxBatchBytes);
    this.#build(jobs, ({ json }) => requests.add(json));
    const chunks = requests.done();
    const total = jobs.length;
    let port: KafkaProducerPort;
    try {
      port = await this.#producer.ready();
    } catch (err) {
      throw this.#failure(err, total, total);
    }
    // One queue is one topic; each chunk is one produce request, all awaited with acks -1.
    const send = { timeout: this.#ackTimeout, compression: this.#compression };
    const settled = await Promise.allSettled(
      chunks.map((values) => port.send(this.topic, values.map(message), send)),
    );
    let failed = 0;
    let firstError: unknown = null;
    settled.forEach((r, i) => {
      if (r.status === 'rejected') {
        failed += chunks[i]?.length ?? 0;
        firstError ??= r.reason;
      }
    });
    if (failed > 0) throw this.#failure(firstError, failed, total);
    return { inserted: total, duplicates: 0 };
  }

  #failure(err: unknown, failed: number, total: number): SwitchyardError {
    const code = isKafkaUnreachable(err) ? ErrorCode.BACKEND_UNAVAILABLE : ErrorCode.BACKEND_ERROR;
    let detail = err instanceof Error ? `${err.name}: ${err.message}` : describeValue(err);
    if (this.#secret.length >= 4) detail = detail.split(this.#secret).join('***');
    return new SwitchyardError(
      code,
      `${String(this)}: ${failed} of ${total} job${total === 1 ? '' : 's'} ${failed === 1 ? 'was' : 'were'} not produced to Kafka topic ${this.topic} (${detail})`,
      { cause: err },
    );
  }

  protected override async doClose(): Promise<void> {
    if (this.#ownsProducer) await this.#producer.close();
  }
}
