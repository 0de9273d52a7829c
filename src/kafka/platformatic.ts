/**
 * The `@platformatic/kafka` adapter of the client seam (pure JS; Node ≥ 22.22; the default there).
 * Loaded only when chosen, so Node 20 never evaluates it.
 *
 * Differences from kafkajs that the ports hide: offsets are bigints, a commit names the
 * partition's leader epoch (taken from the last message seen on it), messages arrive as a
 * stream (delivered here as one-message batches, with the stream's buffer as backpressure),
 * heartbeats run on their own timer, and fetches carry no high watermark (lag is sampled from
 * the committed offsets instead).
 *
 * @packageDocumentation
 */
import { isIP } from 'node:net';
import type * as Pk from '@platformatic/kafka';
import { tlsConnectionOptions } from './security.js';
import type {
  ConsumedBatch,
  ConsumerOptions,
  KafkaAdminPort,
  KafkaClient,
  KafkaClientOptions,
  KafkaConsumerPort,
  KafkaProducerPort,
  OffsetCommit,
  OutgoingMessage,
  PartitionOffset,
  SendOptions,
} from './types.js';

type Lib = typeof Pk;

/** True when a `host:port` broker address names its host rather than giving an IP address. */
function namedHost(address: string): boolean {
  const host = address.startsWith('[')
    ? address.slice(1, address.indexOf(']'))
    : address.replace(/:\d+$/, '');
  return isIP(host) === 0;
}

const SASL_MECHANISMS = Object.freeze({
  plain: 'PLAIN',
  'scram-sha-256': 'SCRAM-SHA-256',
  'scram-sha-512': 'SCRAM-SHA-512',
} as const);

function base(options: KafkaClientOptions) {
  const tls = tlsConnectionOptions(options.tls);
  const sasl = options.sasl;
  return {
    clientId: options.clientId,
    bootstrapBrokers: [...options.brokers],
    connectTimeout: options.connectionTimeout,
    timeout: options.requestTimeout,
    retries: options.retries,
    retryDelay: 200,
    autocreateTopics: false,
    // SNI with the host dialled (brokers behind a TLS proxy need it), or the configured name;
    // never an IP address, which RFC 6066 forbids as a server name.
    ...(tls === undefined ? {} : { tls, tlsServerName: tls.servername ?? options.brokers.some(namedHost) }),
    ...(sasl === undefined
      ? {}
      : {
          sasl: {
            mechanism: SASL_MECHANISMS[sasl.mechanism],
            username: sasl.username,
            password: sasl.password,
          },
        }),
  };
}

class PlatformaticProducer implements KafkaProducerPort {
  readonly #producer: Pk.Producer<string, string, string, string>;
  constructor(lib: Lib, options: KafkaClientOptions) {
    this.#producer = new lib.Producer({
      ...base(options),
      timeout: Math.max(options.requestTimeout, options.ackTimeout ?? 0),
      serializers: lib.stringSerializers,
      acks: -1,
      idempotent: false,
      compression: options.compression,
    });
  }
  async connect(): Promise<void> {
    // The client connects on demand: a metadata request proves the brokers answer.
    await this.#producer.metadata({ topics: [] });
  }
  async send(topic: string, messages: readonly OutgoingMessage[], options: SendOptions = {}): Promise<void> {
    await this.#producer.send({
      // Per send: @platformatic/kafka 2.12's send() defaults acks to 1 (leader only) and does not
      // read the constructor's acks. Found by the 3-node failover test: with acks 1, events
      // acknowledged before the leader was killed were lost.
      acks: -1,
      ...(options.compression === undefined ? {} : { compression: options.compression }),
      messages: messages.map((m) =>
        m.partition === undefined
          ? { topic, value: m.value }
          : { topic, value: m.value, partition: m.partition },
      ),
    });
  }
  disconnect(): Promise<void> {
    return this.#producer.close();
  }
}

class PlatformaticAdmin implements KafkaAdminPort {
  readonly #admin: Pk.Admin;
  constructor(lib: Lib, options: KafkaClientOptions) {
    this.#admin = new lib.Admin(base(options));
  }
  async connect(): Promise<void> {
    await this.#admin.metadata({ topics: [] });
  }
  disconnect(): Promise<void> {
    return this.#admin.close();
  }
  listTopics(): Promise<string[]> {
    return this.#admin.listTopics();
  }
  async createTopics(topics: readonly string[], partitions: number): Promise<void> {
    await this.#admin.createTopics({ topics: [...topics], partitions, replicas: -1 });
    // Wait for leaders, as kafkajs's waitForLeaders does: producing right after must not fail.
    const deadline = Date.now() + 10_000;
    for (;;) {
      const meta = await this.#admin.metadata({ topics: [...topics], forceUpdate: true });
      const ready = topics.every((t) => {
        const m = meta.topics.get(t);
        return m !== undefined && m.partitionsCount >= partitions && m.partitions.every((p) => p.leader >= 0);
      });
      if (ready || Date.now() > deadline) return;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  async committedOffsets(
    groupId: string,
    topics: readonly string[],
  ): Promise<Map<string, PartitionOffset[]>> {
    const [group] = await this.#admin.listConsumerGroupOffsets({ groups: [groupId] });
    const out = new Map<string, PartitionOffset[]>(topics.map((t) => [t, []]));
    for (const t of group?.topics ?? []) {
      if (!out.has(t.name)) continue;
      out.set(
        t.name,
        t.partitions.map((p) => ({ partition: p.partitionIndex, offset: p.committedOffset })),
      );
    }
    return out;
  }
  async topicEnds(topic: string): Promise<Array<{ partition: number; low: bigint; high: bigint }>> {
    const meta = await this.#admin.metadata({ topics: [topic] });
    const count = meta.topics.get(topic)?.partitionsCount ?? 0;
    const at = async (timestamp: bigint) => {
      const partitions = Array.from({ length: count }, (_, partitionIndex) => ({
        partitionIndex,
        timestamp,
      }));
      const [listed] = await this.#admin.listOffsets({ topics: [{ name: topic, partitions }] });
      return new Map((listed?.partitions ?? []).map((p) => [p.partitionIndex, p.offset]));
    };
    const [low, high] = [await at(-2n), await at(-1n)];
    return Array.from({ length: count }, (_, partition) => ({
      partition,
      low: low.get(partition) ?? 0n,
      high: high.get(partition) ?? 0n,
    }));
  }
  async setGroupOffsets(groupId: string, topic: string, offsets: readonly PartitionOffset[]): Promise<void> {
    await this.#admin.alterConsumerGroupOffsets({
      groupId,
      topics: [
        { name: topic, partitionOffsets: offsets.map((o) => ({ partition: o.partition, offset: o.offset })) },
      ],
    });
  }
}

class PlatformaticConsumer implements KafkaConsumerPort {
  readonly #consumer: Pk.Consumer<Buffer, Buffer, Buffer, Buffer>;
  readonly #options: ConsumerOptions;
  /** The leader epoch last seen per `topic:partition` (a commit must name it). */
  readonly #epochs = new Map<string, number>();
  #stream: Pk.MessagesStream<Buffer, Buffer, Buffer, Buffer> | null = null;
  #loop: Promise<void> | null = null;
  #closed = false;

  constructor(lib: Lib, client: KafkaClientOptions, options: ConsumerOptions) {
    this.#options = options;
    this.#consumer = new lib.Consumer({
      ...base(client),
      groupId: options.groupId,
      sessionTimeout: options.sessionTimeout,
      heartbeatInterval: options.heartbeatInterval,
      maxWaitTime: 100,
      autocommit: false,
    });
    const { onAssignment, onLag, onError } = options;
    if (onAssignment) this.#consumer.on('consumer:group:join', () => onAssignment());
    if (onError) this.#consumer.on('error', (err: unknown) => onError(err));
    if (onLag) {
      this.#consumer.on('consumer:lag', (lag: Map<string, bigint[]>) => {
        for (const [topic, partitions] of lag) {
          partitions.forEach((n, partition) => {
            if (n >= 0n) onLag(topic, partition, Number(n));
          });
        }
      });
      this.#consumer.on('consumer:lag:error', () => undefined);
    }
  }

  async run(topics: readonly string[], eachBatch: (batch: ConsumedBatch) => Promise<void>): Promise<void> {
    const stream = await this.#consumer.consume({
      topics: [...topics],
      mode: 'committed',
      fallbackMode: 'earliest',
      autocommit: false,
    });
    this.#stream = stream;
    stream.on('error', (err: unknown) => this.#options.onError?.(err));
    if (this.#options.onLag) {
      this.#consumer.startLagMonitoring({ topics: [...topics] }, this.#options.lagIntervalMs ?? 5000);
    }
    this.#loop = (async () => {
      for await (const m of stream as AsyncIterable<Pk.Message<Buffer, Buffer, Buffer, Buffer>>) {
        if (this.#closed) break;
        const generation = (m.metadata as { consumer?: { generationId?: number } }).consumer?.generationId;
        this.#epochs.set(`${m.topic}:${m.partition}`, m.leaderEpoch);
        await eachBatch({
          topic: m.topic,
          partition: m.partition,
          messages: [{ value: m.value ?? null, offset: m.offset.toString() }],
          highWatermark: null,
          resolveOffset: () => undefined,
          heartbeat: async () => undefined,
          isActive: () =>
            !this.#closed && (generation === undefined || generation === this.#consumer.generationId),
        });
      }
    })().catch((err: unknown) => {
      if (!this.#closed) this.#options.onError?.(err);
    });
  }

  async commit(commits: readonly OffsetCommit[]): Promise<void> {
    await this.#consumer.commit({
      offsets: commits.map((c) => ({
        topic: c.topic,
        partition: c.partition,
        offset: BigInt(c.offset),
        leaderEpoch: this.#epochs.get(`${c.topic}:${c.partition}`) ?? -1,
      })),
    });
  }

  pause(): void {
    this.#stream?.pause();
  }

  async disconnect(): Promise<void> {
    this.#closed = true;
    this.#consumer.stopLagMonitoring();
    await this.#stream?.close().catch(() => undefined);
    await this.#loop;
    await this.#consumer.close(true);
  }
}

/** Builds the platformatic client from the loaded module. */
export function platformaticClient(lib: Lib, options: KafkaClientOptions): KafkaClient {
  return {
    name: 'platformatic',
    producer: () => new PlatformaticProducer(lib, options),
    admin: () => new PlatformaticAdmin(lib, options),
    consumer: (o) => new PlatformaticConsumer(lib, options, o),
  };
}
