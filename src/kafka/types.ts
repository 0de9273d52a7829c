/**
 * The Kafka client seam: the few operations the eventbus backend and the executor need, as ports
 * that two adapters implement — kafkajs (any Node) and `@platformatic/kafka` (Node ≥ 22.22, about
 * 2.4–3.1× kafkajs's produce rate on the same broker). Nothing outside `src/kafka/` imports a
 * Kafka library.
 *
 * @packageDocumentation
 */

import type { KafkaSaslOptions, KafkaTlsSetting } from './security.js';

/** The `client` setting's values. */
export const KAFKA_CLIENTS = Object.freeze(['kafkajs', 'platformatic'] as const);
export type KafkaClientName = (typeof KAFKA_CLIENTS)[number];

/** The `compression` setting's values (LZ4 and zstd need the platformatic client). */
export const KAFKA_COMPRESSIONS = Object.freeze(['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const);
export type KafkaCompression = (typeof KAFKA_COMPRESSIONS)[number];

/** The compressions kafkajs can produce (its LZ4 and zstd codecs are native addons). */
export const KAFKAJS_COMPRESSIONS: readonly KafkaCompression[] = Object.freeze(['none', 'gzip', 'snappy']);

/** True for a valid `compression` setting. */
export function isKafkaCompression(value: unknown): value is KafkaCompression {
  return (KAFKA_COMPRESSIONS as readonly unknown[]).includes(value);
}

/** What building a client needs. */
export interface KafkaClientOptions {
  readonly clientId: string;
  readonly brokers: readonly string[];
  /** ms to open a connection. */
  readonly connectionTimeout: number;
  /** ms a request may take. */
  readonly requestTimeout: number;
  /** Retries of a failed request. */
  readonly retries: number;
  /** Produce compression (a send may override it). */
  readonly compression: KafkaCompression;
  /**
   * ms the broker may wait for the in-sync replicas' acks. kafkajs takes it per send; platformatic
   * per client (its produce requests carry the client's request timeout, raised to this).
   */
  readonly ackTimeout?: number;
  /** TLS to the brokers (true: the system CAs). */
  readonly tls?: KafkaTlsSetting | false;
  /** SASL authentication (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512). */
  readonly sasl?: KafkaSaslOptions;
}

/** Per-send options. */
export interface SendOptions {
  /** ms for the replicas' acks (kafkajs; platformatic uses the client's, see ackTimeout). */
  readonly timeout?: number;
  readonly compression?: KafkaCompression;
}

/** One message to produce: the JSON text, and a partition when the caller picks it. */
export interface OutgoingMessage {
  readonly value: string;
  readonly partition?: number;
}

/** Produces with acks from every in-sync replica. */
export interface KafkaProducerPort {
  connect(): Promise<void>;
  /** One produce request to one topic, awaited with acks -1. */
  send(topic: string, messages: readonly OutgoingMessage[], options?: SendOptions): Promise<void>;
  disconnect(): Promise<void>;
}

/** A committed or end offset of one partition. */
export interface PartitionOffset {
  readonly partition: number;
  readonly offset: bigint;
}

/** The admin operations of the executor. */
export interface KafkaAdminPort {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  listTopics(): Promise<string[]>;
  /** Creates the topics and waits for their leaders. */
  createTopics(topics: readonly string[], partitions: number): Promise<void>;
  /** A group's committed offsets per topic: -1n for a partition it never committed. */
  committedOffsets(groupId: string, topics: readonly string[]): Promise<Map<string, PartitionOffset[]>>;
  /** The first and next offsets of every partition of a topic. */
  topicEnds(topic: string): Promise<Array<{ partition: number; low: bigint; high: bigint }>>;
  /** Sets an (inactive) group's offsets on one topic. */
  setGroupOffsets(groupId: string, topic: string, offsets: readonly PartitionOffset[]): Promise<void>;
}

/** One consumed message: what the executor reads of it. */
export interface ConsumedMessage {
  readonly value: Buffer | null;
  /** The offset, as a decimal string. */
  readonly offset: string;
}

/** Messages of one partition, fetched together. */
export interface ConsumedBatch {
  readonly topic: string;
  readonly partition: number;
  readonly messages: readonly ConsumedMessage[];
  /** The partition's next offset when the fetch answered; null when the client does not say. */
  readonly highWatermark: bigint | null;
  /** Moves the fetch position past `offset` (commits are separate). */
  resolveOffset(offset: string): void;
  /** Keeps the group membership alive during a long wait. */
  heartbeat(): Promise<void>;
  /** False once the consumer stops or the batch belongs to an assignment that was revoked. */
  isActive(): boolean;
}

/** A next-offset commit of one partition. */
export interface OffsetCommit {
  readonly topic: string;
  readonly partition: number;
  /** The next offset to consume, as a decimal string. */
  readonly offset: string;
}

/** What opening a consumer needs. */
export interface ConsumerOptions {
  readonly groupId: string;
  readonly sessionTimeout: number;
  readonly heartbeatInterval: number;
  /** Called on every (re)join: fetching restarts at the committed offsets. */
  readonly onAssignment?: () => void;
  /**
   * Lag reports (messages behind the partition's end) for clients whose batches carry no high
   * watermark: sampled every `lagIntervalMs`, counted from the committed offset.
   */
  readonly onLag?: (topic: string, partition: number, lag: number) => void;
  readonly lagIntervalMs?: number;
  /** Errors after start (logged by the caller). */
  readonly onError?: (err: unknown) => void;
}

/** A group consumer with manual commits. */
export interface KafkaConsumerPort {
  /**
   * Joins the group on `topics` (starting at committed offsets, else the earliest) and hands
   * batches to `eachBatch` one at a time per partition; resolves once consumption runs.
   */
  run(topics: readonly string[], eachBatch: (batch: ConsumedBatch) => Promise<void>): Promise<void>;
  commit(commits: readonly OffsetCommit[]): Promise<void>;
  /** Stops fetching (best effort; never throws). */
  pause(topics: readonly string[]): void;
  disconnect(): Promise<void>;
}

/** One Kafka client library behind the ports. */
export interface KafkaClient {
  readonly name: KafkaClientName;
  producer(): KafkaProducerPort;
  admin(): KafkaAdminPort;
  consumer(options: ConsumerOptions): KafkaConsumerPort;
}
