/**
 * The kafkajs adapter of the client seam (any Node version; the default below Node 22.22).
 *
 * @packageDocumentation
 */
import {
  type Admin,
  type Consumer,
  Kafka,
  logLevel,
  Partitioners,
  type Producer,
  type SASLOptions,
} from 'kafkajs';
import { compressionType, registerKafkaCodecs } from './codecs.js';
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

// Snappy-compressed topics (WMF's producers' default) are readable, and `compression: snappy` works.
registerKafkaCodecs();

/** A kafkajs producer behind the producer port: owned, or a host's (then `connect`/`disconnect` are the host's business). */
export function kafkajsProducer(
  producer: Producer,
  compression: KafkaClientOptions['compression'],
): KafkaProducerPort {
  const type = compressionType(compression);
  return {
    connect: () => producer.connect(),
    disconnect: () => producer.disconnect(),
    async send(topic: string, messages: readonly OutgoingMessage[], options: SendOptions = {}) {
      await producer.send({
        topic,
        acks: -1,
        compression: options.compression === undefined ? type : compressionType(options.compression),
        messages: messages as OutgoingMessage[],
        ...(options.timeout === undefined ? {} : { timeout: options.timeout }),
      });
    },
  };
}

/** How long createTopics waits for the new topics' leaders (and subscribe for a new topic). */
const LEADER_WAIT_MS = 30_000;

/** A node's "I do not know this topic (yet)" answer. */
function isUnknownTopic(err: unknown): boolean {
  return (err as { type?: unknown } | null)?.type === 'UNKNOWN_TOPIC_OR_PARTITION';
}

class KafkajsAdmin implements KafkaAdminPort {
  readonly #admin: Admin;
  constructor(admin: Admin) {
    this.#admin = admin;
  }
  connect(): Promise<void> {
    return this.#admin.connect();
  }
  disconnect(): Promise<void> {
    return this.#admin.disconnect();
  }
  listTopics(): Promise<string[]> {
    return this.#admin.listTopics();
  }
  async createTopics(topics: readonly string[], partitions: number): Promise<void> {
    // kafkajs's own leader wait (waitForLeaders) asks for these topics by name; on a multi-node
    // cluster a node that has not learnt them yet answers UNKNOWN_TOPIC_OR_PARTITION, which its
    // retry rethrows outside any promise (an uncaught exception). Create, then poll the metadata of
    // every topic until each new one has a leader on every partition.
    try {
      await this.#admin.createTopics({
        topics: topics.map((topic) => ({ topic, numPartitions: partitions })),
      });
    } catch (err) {
      if (!isUnknownTopic(err)) throw err;
    }
    const deadline = Date.now() + LEADER_WAIT_MS;
    for (;;) {
      const { topics: known } = await this.#admin.fetchTopicMetadata();
      const led = (name: string) => {
        const t = known.find((k) => k.name === name);
        return t !== undefined && t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0);
      };
      if (topics.every(led)) return;
      if (Date.now() > deadline) {
        throw new Error(
          `created topics have no leader after ${LEADER_WAIT_MS} ms: ${topics.filter((t) => !led(t)).join(', ')}`,
        );
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  async committedOffsets(
    groupId: string,
    topics: readonly string[],
  ): Promise<Map<string, PartitionOffset[]>> {
    const got = await this.#admin.fetchOffsets({ groupId, topics: [...topics] });
    return new Map(
      got.map((t) => [
        t.topic,
        t.partitions.map((p) => ({ partition: p.partition, offset: BigInt(p.offset) })),
      ]),
    );
  }
  async topicEnds(topic: string): Promise<Array<{ partition: number; low: bigint; high: bigint }>> {
    const ends = await this.#admin.fetchTopicOffsets(topic);
    return ends.map((e) => ({ partition: e.partition, low: BigInt(e.low), high: BigInt(e.high) }));
  }
  async setGroupOffsets(groupId: string, topic: string, offsets: readonly PartitionOffset[]): Promise<void> {
    await this.#admin.setOffsets({
      groupId,
      topic,
      partitions: offsets.map((o) => ({ partition: o.partition, offset: o.offset.toString() })),
    });
  }
}

class KafkajsConsumer implements KafkaConsumerPort {
  readonly #consumer: Consumer;
  constructor(consumer: Consumer, options: ConsumerOptions) {
    this.#consumer = consumer;
    const { onAssignment, onError } = options;
    if (onAssignment) consumer.on(consumer.events.GROUP_JOIN, () => onAssignment());
    if (onError) consumer.on(consumer.events.CRASH, (event) => onError(event.payload.error));
  }
  async run(topics: readonly string[], eachBatch: (batch: ConsumedBatch) => Promise<void>): Promise<void> {
    await this.#consumer.connect();
    // A topic created a moment ago (the executor's retry and error topics) may not be known yet
    // to the node a multi-node cluster routes the metadata request to: retry that answer briefly.
    const deadline = Date.now() + LEADER_WAIT_MS;
    for (;;) {
      try {
        await this.#consumer.subscribe({ topics: [...topics], fromBeginning: true });
        break;
      } catch (err) {
        if (!isUnknownTopic(err) || Date.now() > deadline) throw err;
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    await this.#consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      eachBatch: ({ batch, resolveOffset, heartbeat, isRunning, isStale }) =>
        eachBatch({
          topic: batch.topic,
          partition: batch.partition,
          messages: batch.messages,
          highWatermark: BigInt(batch.highWatermark),
          resolveOffset,
          heartbeat,
          isActive: () => isRunning() && !isStale(),
        }),
    });
  }
  async commit(commits: readonly OffsetCommit[]): Promise<void> {
    await this.#consumer.commitOffsets([...commits]);
  }
  pause(topics: readonly string[]): void {
    try {
      this.#consumer.pause(topics.map((topic) => ({ topic })));
    } catch {
      // Not running yet.
    }
  }
  disconnect(): Promise<void> {
    return this.#consumer.disconnect();
  }
}

/** Builds the kafkajs client. */
export function kafkajsClient(options: KafkaClientOptions): KafkaClient {
  const tls = tlsConnectionOptions(options.tls);
  const kafka = new Kafka({
    clientId: options.clientId,
    brokers: [...options.brokers],
    connectionTimeout: options.connectionTimeout,
    requestTimeout: options.requestTimeout,
    retry: { retries: options.retries, initialRetryTime: 200, maxRetryTime: 5000 },
    logLevel: logLevel.NOTHING,
    ...(tls === undefined ? {} : { ssl: tls }),
    ...(options.sasl === undefined ? {} : { sasl: { ...options.sasl } as SASLOptions }),
  });
  return {
    name: 'kafkajs',
    producer: () =>
      kafkajsProducer(
        kafka.producer({
          createPartitioner: Partitioners.DefaultPartitioner,
          allowAutoTopicCreation: false,
          idempotent: false,
        }),
        options.compression,
      ),
    admin: () => new KafkajsAdmin(kafka.admin()),
    consumer: (o) =>
      new KafkajsConsumer(
        kafka.consumer({
          groupId: o.groupId,
          allowAutoTopicCreation: false,
          maxWaitTimeInMs: 100,
          sessionTimeout: o.sessionTimeout,
          heartbeatInterval: o.heartbeatInterval,
        }),
        o,
      ),
  };
}

/** True for a kafkajs Producer (a host's, given as the eventbus `producer` setting). */
export function isKafkajsProducer(value: unknown): value is Producer {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as Producer).sendBatch === 'function' &&
    typeof (value as Producer).connect === 'function'
  );
}
