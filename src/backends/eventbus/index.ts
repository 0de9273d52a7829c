/**
 * The eventbus backend (promises §3, §4): push-only. Each pushed job becomes one signed,
 * schema-valid `mediawiki/job` 1.0.0 event produced to Kafka (the `client` setting: platformatic or
 * kafkajs, src/kafka/) on topic `{dcPrefix}.{streamPrefix}{type}`. Events are validated before
 * anything is produced, sent in produce requests of at most maxBatchBytes (acks -1) and awaited; any failure is an error naming how many jobs
 * were not produced. pop / ack / sizes / listing throw `SWITCHYARD_NOT_SUPPORTED` (P-22).
 *
 * The signing secret is held privately and never appears in logs or errors.
 *
 * @packageDocumentation
 */
import type { Producer } from 'kafkajs';
import type {
  BackendConnection,
  BackendContext,
  BackendModule,
  BackendSettings,
} from '../../core/backend.js';
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
import { validateJobEvent } from '../../events/schema.js';
import { SIGNATURE_MODES, type SignatureMode } from '../../events/signature.js';
import {
  defaultKafkaClient,
  isKafkaCompression,
  isKafkaUnreachable,
  KAFKA_COMPRESSIONS,
  type KafkaClientName,
  type KafkaCompression,
  type KafkaProducerPort,
  type KafkaSaslOptions,
  type KafkaTlsSetting,
  kafkaClientIssues,
  kafkaSecurityIssues,
  openKafkaClient,
} from '../../kafka/index.js';

// The wire format lives in src/events/ (shared with the executor); re-exported here as before.
export {
  type BuildJobEventOptions,
  buildJobEvent,
  buildSerializedJobEvent,
  type JobEvent,
  MEDIAWIKI_JOB_URI,
  mediawikiIso,
  mediawikiJobParams,
  mediawikiSha1,
  mediawikiTimestamp,
  type SerializedJobEvent,
} from '../../events/job-event.js';
export { PhpEncodeError, phpFloat, phpJson, phpSerialize, phpString } from '../../events/php.js';
export {
  JOB_EVENT_SCHEMA_FILE,
  JOB_EVENT_SCHEMA_URI,
  jobEventValidator,
  loadJobEventSchema,
  validateJobEvent,
} from '../../events/schema.js';
export {
  mediawikiSignedBytes,
  SIGNATURE_MODES,
  type SignatureMode,
  signedPayload,
  signJobEvent,
  verifyJobEvent,
} from '../../events/signature.js';

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

/** Defaults of the eventbus settings. */
export const EVENTBUS_DEFAULTS = Object.freeze({
  streamPrefix: 'mediawiki.job.',
  clientId: 'switchyard-eventbus',
  /** ms to open a broker connection. */
  connectionTimeout: 3000,
  /** ms a broker request may take. */
  requestTimeout: 30_000,
  /** Retries of a failed request (owned client). */
  retries: 3,
  /** ms the broker waits for the in-sync replicas' acks. */
  ackTimeout: 30_000,
  /**
   * Most bytes of event JSON in one produce request. A bigger push is split into several requests
   * (sent together), so no partition's record batch nears the broker's `message.max.bytes` (1 MiB
   * by default).
   */
  maxBatchBytes: 262_144,
  /** Produce compression (`none`, `gzip`, `snappy`; `lz4`, `zstd` with the platformatic client). */
  compression: 'none' as KafkaCompression,
});

/** Bytes counted per message on top of its value (record framing). */
const MESSAGE_OVERHEAD = 64;

/** Settings of a `jobTypeConf` entry or `connections` entry of class `eventbus`. */
export interface EventBusSettings {
  /** The HMAC signing secret, MediaWiki's `$wgSecretKey` (use `${ENV}` in the config file). Required. */
  readonly secret?: string;
  /**
   * How events are signed: `mediawiki` (MediaWiki EventBus's bytes: hex HMAC-SHA1, MediaWiki's
   * sha1, root-job / request-id params) or `switchyard-v1` (HMAC-SHA256 over a subset). Default
   * `switchyard-v1`, what earlier releases wrote (docs/eventbus.md says why).
   */
  readonly signature?: SignatureMode;
  /** `mediawiki` signature: meta.domain, the wiki's server name (one, or domain → name). */
  readonly serverName?: string | Readonly<Record<string, string>>;
  /** `mediawiki` signature: meta.uri (default MediaWiki's placeholder). */
  readonly uri?: string;
  /** Broker addresses (`host:port`, a list or a comma-separated string): an owned client. */
  readonly brokers?: string | readonly string[];
  /** A host kafkajs Producer, connected by the host; never connected or disconnected by switchyard. */
  readonly producer?: Producer;
  /**
   * The Kafka client of an owned producer: `platformatic` (default on Node ≥ 22.22) or `kafkajs`
   * (default below). A host `producer` is kafkajs.
   */
  readonly client?: KafkaClientName;
  /** TLS to the brokers of an owned client (`true`: the system CAs; CA / cert / key as PEM or files). */
  readonly tls?: KafkaTlsSetting | false;
  /** SASL of an owned client: `{ mechanism: plain | scram-sha-256 | scram-sha-512, username, password }`. */
  readonly sasl?: KafkaSaslOptions;
  /** Datacenter prefix of topics (`eqiad` → `eqiad.mediawiki.job.x`); none by default. */
  readonly dcPrefix?: string | null;
  /** Stream name prefix; default `mediawiki.job.`. */
  readonly streamPrefix?: string;
  /** Kafka clientId of the owned client. */
  readonly clientId?: string;
  readonly connectionTimeout?: number;
  readonly requestTimeout?: number;
  readonly retries?: number;
  readonly ackTimeout?: number;
  /** Most bytes of event JSON per produce request; larger pushes are split. */
  readonly maxBatchBytes?: number;
  /**
   * Produce compression: `none` (default), `gzip`, `snappy` (what WMF's producers use), and with
   * the platformatic client `lz4` or `zstd`.
   */
  readonly compression?: KafkaCompression;
}

/** Options of {@link EventBusJobQueue}: queue options plus the settings. */
export type EventBusJobQueueOptions = JobQueueOptions & EventBusSettings;

const SETTING_KEYS = [
  'secret',
  'signature',
  'serverName',
  'uri',
  'brokers',
  'producer',
  'client',
  'tls',
  'sasl',
  'dcPrefix',
  'streamPrefix',
  'clientId',
  'connectionTimeout',
  'requestTimeout',
  'retries',
  'ackTimeout',
  'maxBatchBytes',
  'compression',
] as const;

function isProducerLike(value: unknown): value is Producer {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as Producer).send === 'function' &&
    typeof (value as Producer).sendBatch === 'function' &&
    typeof (value as Producer).connect === 'function'
  );
}

/**
 * Checks eventbus settings. `needsSecret`: a secret is required (connections, and entries that
 * bring their own producer or brokers; an entry without them takes the connection's).
 */
function checkSettings(settings: BackendSettings, path: string, needsSecret: boolean): Issue[] {
  const issues: Issue[] = [];
  const p = (k: string) => (path ? `${path}.${k}` : k);
  for (const key of Object.keys(settings)) {
    if (!(SETTING_KEYS as readonly string[]).includes(key)) {
      issues.push({ path: p(key), message: 'is not an eventbus setting', choices: SETTING_KEYS });
    }
  }
  const s = settings as Record<string, unknown>;
  if (s.secret === undefined) {
    if (needsSecret) {
      issues.push({
        path: p('secret'),
        message:
          "is required: the HMAC key that signs job events, MediaWiki's $wgSecretKey (interpolate it from an environment variable)",
      });
    }
  } else if (typeof s.secret !== 'string' || s.secret.length === 0) {
    // Never show the value: it may be (part of) the secret.
    issues.push({ path: p('secret'), message: 'must be a non-empty string' });
  }
  if (s.signature !== undefined && !(SIGNATURE_MODES as readonly unknown[]).includes(s.signature)) {
    issues.push({
      path: p('signature'),
      message: 'must be mediawiki or switchyard-v1',
      value: s.signature,
      choices: SIGNATURE_MODES,
    });
  }
  if (s.serverName !== undefined) {
    const names = s.serverName;
    const ok =
      (typeof names === 'string' && names.length > 0) ||
      (typeof names === 'object' &&
        names !== null &&
        !Array.isArray(names) &&
        Object.values(names).every((n) => typeof n === 'string' && n.length > 0));
    if (!ok) {
      issues.push({
        path: p('serverName'),
        message: 'must be a server name, or a mapping of domain → server name',
        value: names,
      });
    }
  }
  if (s.uri !== undefined && (typeof s.uri !== 'string' || s.uri.length === 0 || /\s/.test(s.uri))) {
    issues.push({ path: p('uri'), message: 'must be a URI (no whitespace)', value: s.uri });
  }
  if (s.brokers !== undefined && s.producer !== undefined) {
    issues.push({ path: p('producer'), message: 'give either producer or brokers, not both' });
  }
  if (s.brokers !== undefined && brokerList(s.brokers) === null) {
    issues.push({
      path: p('brokers'),
      message: 'must be host:port addresses (a list or a comma-separated string)',
      value: s.brokers,
    });
  }
  if (s.producer !== undefined && !isProducerLike(s.producer)) {
    issues.push({ path: p('producer'), message: 'must be a kafkajs Producer' });
  }
  if (s.dcPrefix !== undefined && s.dcPrefix !== null) {
    if (typeof s.dcPrefix !== 'string' || !/^[A-Za-z0-9_-]+$/.test(s.dcPrefix)) {
      issues.push({
        path: p('dcPrefix'),
        message: 'must be a name of letters, digits, _ and - (no dots), or null',
        value: s.dcPrefix,
      });
    }
  }
  if (
    s.streamPrefix !== undefined &&
    (typeof s.streamPrefix !== 'string' || !/^[A-Za-z0-9._-]*$/.test(s.streamPrefix))
  ) {
    issues.push({ path: p('streamPrefix'), message: 'must be a topic-name prefix', value: s.streamPrefix });
  }
  if (s.compression !== undefined && !isKafkaCompression(s.compression)) {
    issues.push({
      path: p('compression'),
      message: `must be one of ${KAFKA_COMPRESSIONS.join(', ')}`,
      value: s.compression,
      choices: KAFKA_COMPRESSIONS,
    });
  } else if (s.producer !== undefined && s.client !== undefined && s.client !== 'kafkajs') {
    issues.push({
      path: p('client'),
      message: 'a host producer is a kafkajs Producer: client must be kafkajs (or left out)',
      value: s.client,
    });
  } else {
    issues.push(...kafkaClientIssues(s.producer !== undefined ? 'kafkajs' : s.client, s.compression, path));
  }
  issues.push(...kafkaSecurityIssues(s.tls, s.sasl, path));
  if (s.producer !== undefined) {
    for (const k of ['tls', 'sasl'] as const) {
      if (s[k] !== undefined) {
        issues.push({
          path: p(k),
          message: 'configure it on the host producer: switchyard does not build that client',
        });
      }
    }
  }
  if (s.clientId !== undefined && (typeof s.clientId !== 'string' || s.clientId.length === 0)) {
    issues.push({ path: p('clientId'), message: 'must be a non-empty string', value: s.clientId });
  }
  for (const key of ['connectionTimeout', 'requestTimeout', 'ackTimeout'] as const) {
    const v = s[key];
    if (v !== undefined && (typeof v !== 'number' || !Number.isInteger(v) || v < 1)) {
      issues.push({ path: p(key), message: 'must be milliseconds ≥ 1', value: v });
    }
  }
  if (
    s.maxBatchBytes !== undefined &&
    (typeof s.maxBatchBytes !== 'number' || !Number.isInteger(s.maxBatchBytes) || s.maxBatchBytes < 1024)
  ) {
    issues.push({
      path: p('maxBatchBytes'),
      message: 'must be an integer ≥ 1024 (bytes)',
      value: s.maxBatchBytes,
    });
  }
  if (
    s.retries !== undefined &&
    (typeof s.retries !== 'number' || !Number.isInteger(s.retries) || s.retries < 0)
  ) {
    issues.push({ path: p('retries'), message: 'must be an integer ≥ 0', value: s.retries });
  }
  return issues;
}

/** Validates a `jobTypeConf` entry of class eventbus. */
export function validateEventBusSettings(settings: BackendSettings, path: string): Issue[] {
  const own = settings.brokers !== undefined || settings.producer !== undefined;
  return checkSettings(settings, path, own);
}

/** Validates a `connections` entry of class eventbus (a secret is always required). */
export function validateEventBusConnection(settings: BackendSettings, path: string): Issue[] {
  const issues = checkSettings(settings, path, true);
  if (settings.brokers === undefined && settings.producer === undefined) {
    issues.push({ path: path ? `${path}.brokers` : 'brokers', message: 'is required (or give a producer)' });
  }
  return issues;
}

/**
 * The producer of a connection or queue: owned (its client opened and connected lazily, closed on
 * close) or the host's kafkajs Producer (the host connects and disconnects it). Shared by the
 * queues of a connection.
 */
export class EventBusProducer {
  readonly owned: boolean;
  /** The Kafka client library producing (a host producer is kafkajs). */
  readonly client: KafkaClientName;
  #port: KafkaProducerPort | null = null;
  readonly #open: (() => Promise<KafkaProducerPort>) | null;
  #connecting: Promise<KafkaProducerPort> | null = null;
  #closed = false;

  constructor(
    source:
      | { readonly producer: Producer }
      | { readonly brokers: string[]; readonly config: EventBusSettings },
  ) {
    if ('producer' in source) {
      const host = source.producer;
      this.owned = false;
      this.client = 'kafkajs';
      this.#open = null;
      this.#connecting = import('../../kafka/kafkajs.js').then(({ kafkajsProducer }) => {
        this.#port = kafkajsProducer(host, 'none');
        return this.#port;
      });
      // Surfaced by ready(); never an unhandled rejection.
      this.#connecting.catch(() => undefined);
      return;
    }
    const s = source.config;
    this.owned = true;
    this.client = s.client ?? defaultKafkaClient();
    this.#open = async () => {
      const client = await openKafkaClient(this.client, {
        clientId: s.clientId ?? EVENTBUS_DEFAULTS.clientId,
        brokers: source.brokers,
        connectionTimeout: s.connectionTimeout ?? EVENTBUS_DEFAULTS.connectionTimeout,
        requestTimeout: s.requestTimeout ?? EVENTBUS_DEFAULTS.requestTimeout,
        retries: s.retries ?? EVENTBUS_DEFAULTS.retries,
        compression: s.compression ?? EVENTBUS_DEFAULTS.compression,
        ackTimeout: s.ackTimeout ?? EVENTBUS_DEFAULTS.ackTimeout,
        ...(s.tls === undefined ? {} : { tls: s.tls }),
        ...(s.sasl === undefined ? {} : { sasl: s.sasl }),
      });
      return client.producer();
    };
  }

  /**
   * The connected producer port. An owned one connects once (concurrent callers share the
   * attempt; a failure is retried next call).
   */
  ready(): Promise<KafkaProducerPort> {
    if (this.#closed) return Promise.reject(new Error('the eventbus producer is closed'));
    const open = this.#open;
    if (open === null) return this.#connecting as Promise<KafkaProducerPort>;
    this.#connecting ??= (async () => {
      const port = await open();
      try {
        await port.connect();
      } catch (err) {
        // A failed connect can leave a client half-open: drop it so the next call starts clean.
        void port.disconnect().catch(() => undefined);
        throw err;
      }
      this.#port = port;
      return port;
    })().catch((err: unknown) => {
      this.#connecting = null;
      throw err;
    });
    return this.#connecting;
  }

  /** Disconnects an owned producer; a host producer is left alone. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.owned && this.#connecting !== null) {
      await this.#connecting.catch(() => undefined);
      await this.#port?.disconnect();
    }
  }
}

/** The handle of an eventbus `connections` entry: a shared producer and its signing settings. */
export class EventBusConnection {
  readonly producer: EventBusProducer;
  readonly settings: EventBusSettings;

  constructor(settings: EventBusSettings) {
    const issues = validateEventBusConnection(settings as BackendSettings, '');
    if (issues.length > 0) throw configInvalid(issues, 'eventbus connection');
    this.settings = settings;
    this.producer = isProducerLike(settings.producer)
      ? new EventBusProducer({ producer: settings.producer })
      : new EventBusProducer({ brokers: brokerList(settings.brokers) as string[], config: settings });
  }
}

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
      const invalid = validateJobEvent(one.event, `jobs[${i}] event`);
      if (invalid.length > 0) issues.push(...invalid);
      else if (issues.length === 0) take(one);
    }
    if (issues.length > 0) throw invalidJob(issues);
  }

  protected override async doBatchPush(
    jobs: readonly NormalizedJob[],
    _options: PushHookOptions,
  ): Promise<PushResult> {
    // Every event is built and validated before anything is produced. Only the message texts
    // are kept, split into produce requests of at most maxBatchBytes (an event bigger than that
    // goes alone), in order; the event objects die young.
    const chunks: string[][] = [];
    let chunk: string[] = [];
    let bytes = 0;
    this.#build(jobs, ({ json }) => {
      // Also flattens the text now, while its pieces are young.
      const size = Buffer.byteLength(json, 'utf8') + MESSAGE_OVERHEAD;
      if (chunk.length > 0 && bytes + size > this.#maxBatchBytes) {
        chunks.push(chunk);
        chunk = [];
        bytes = 0;
      }
      chunk.push(json);
      bytes += size;
    });
    if (chunk.length > 0) chunks.push(chunk);
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

/** The eventbus backend module, as the registry loads it. */
export const eventbusBackend: BackendModule = Object.freeze({
  name: 'eventbus',
  supports: eventbusSupports,
  validateSettings: validateEventBusSettings,
  validateConnection: validateEventBusConnection,
  openConnection(settings: BackendSettings): BackendConnection {
    const handle = new EventBusConnection(settings as EventBusSettings);
    return { handle, close: () => handle.producer.close() };
  },
  createQueue(context: BackendContext): JobQueue {
    const entry = context.settings as EventBusSettings;
    const raw = context.connection?.handle;
    if (raw !== undefined && !(raw instanceof EventBusConnection)) {
      throw configInvalid(
        [{ path: 'connection', message: 'is not an eventbus connection', value: context.connectionName }],
        `eventbus queue "${context.queue.type}"`,
      );
    }
    if (raw) {
      const own = (['brokers', 'producer', 'client', 'tls', 'sasl'] as const).find(
        (k) => entry[k] !== undefined,
      );
      if (own !== undefined) {
        throw configInvalid(
          [
            {
              path: own,
              message: `belongs in the connection "${context.connectionName}" this entry names, not in the entry`,
            },
          ],
          `eventbus queue "${context.queue.type}"`,
        );
      }
      const { brokers: _b, producer: _p, ...connSettings } = raw.settings;
      return new EventBusJobQueue({ ...context.queue, ...connSettings, ...entry }, raw.producer);
    }
    return new EventBusJobQueue({ ...context.queue, ...entry });
  },
});
