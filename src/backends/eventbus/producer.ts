/**
 * Where eventbus queues produce: the producer of a connection or queue (owned, or the host's
 * kafkajs Producer), the handle of an eventbus `connections` entry, and the splitting of a push
 * into produce requests of at most `maxBatchBytes`.
 *
 * @packageDocumentation
 */
import type { Producer } from 'kafkajs';
import type { BackendSettings } from '../../core/backend.js';
import { brokerList } from '../../core/checks.js';
import { configInvalid } from '../../core/errors.js';
import {
  defaultKafkaClient,
  type KafkaClientName,
  type KafkaProducerPort,
  openKafkaClient,
} from '../../kafka/index.js';
import {
  EVENTBUS_DEFAULTS,
  type EventBusSettings,
  isProducerLike,
  validateEventBusConnection,
} from './settings.js';

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

/** Bytes counted per message on top of its value (record framing). */
const MESSAGE_OVERHEAD = 64;

/**
 * The message texts of one push, split in order into produce requests of at most `maxBytes`
 * (value bytes plus record framing); an event bigger than that goes alone. Only the texts are
 * kept, so the event objects die young.
 */
export class ProduceRequests {
  readonly #maxBytes: number;
  readonly #requests: string[][] = [];
  #current: string[] = [];
  #bytes = 0;

  constructor(maxBytes: number) {
    this.#maxBytes = maxBytes;
  }

  add(json: string): void {
    // Also flattens the text now, while its pieces are young.
    const size = Buffer.byteLength(json, 'utf8') + MESSAGE_OVERHEAD;
    if (this.#current.length > 0 && this.#bytes + size > this.#maxBytes) {
      this.#requests.push(this.#current);
      this.#current = [];
      this.#bytes = 0;
    }
    this.#current.push(json);
    this.#bytes += size;
  }

  /** Every request, in order (the last one closed). */
  done(): string[][] {
    if (this.#current.length > 0) {
      this.#requests.push(this.#current);
      this.#current = [];
      this.#bytes = 0;
    }
    return this.#requests;
  }
}
