/**
 * Reading a topic back in Kafka integration tests: one fresh consumer group from the beginning of
 * the topic, until `count` messages arrived (or 20 s, a failure naming how many came).
 */
import { randomUUID } from 'node:crypto';
import type { Consumer, Kafka } from 'kafkajs';
import { registerKafkaCodecs } from '../../src/kafka/codecs.js';
import { type KafkaClientName, openKafkaClient } from '../../src/kafka/index.js';
import { within } from './net.js';

// The kafkajs reader decodes Snappy batches even when the code under test ran on platformatic.
registerKafkaCodecs();

/** One message read back: its value as text and its partition. */
export interface ReadMessage {
  readonly value: string;
  readonly partition: number;
}

/**
 * Reads `count` messages from the beginning of `topic`. The consumer is pushed onto `consumers`
 * first, so a test's afterAll disconnects it even when the read times out.
 */
export async function readMessages(
  kafka: Kafka,
  consumers: Consumer[],
  topic: string,
  count: number,
): Promise<ReadMessage[]> {
  const consumer = kafka.consumer({ groupId: `swytest-reader-${randomUUID()}`, maxWaitTimeInMs: 100 });
  consumers.push(consumer);
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const out: ReadMessage[] = [];
  await within(
    new Promise<void>((resolve, reject) => {
      consumer
        .run({
          eachMessage: async ({ message, partition }) => {
            out.push({ value: message.value?.toString('utf8') ?? '', partition });
            if (out.length >= count) resolve();
          },
        })
        .catch(reject);
    }),
    20_000,
    `read ${count} from ${topic}`,
  );
  await consumer.disconnect();
  return out;
}

/** How many messages `topic` holds (high minus low watermark, over its partitions). */
export async function countMessages(kafka: Kafka, topic: string): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    return offsets.reduce((n, o) => n + Number(o.high) - Number(o.low), 0);
  } finally {
    await admin.disconnect();
  }
}

/** Creates a one-partition `topic` with the admin port of `client` (the code under test's seam). */
export async function createTopicWith(
  client: KafkaClientName,
  brokers: string,
  topic: string,
): Promise<void> {
  const admin = (
    await openKafkaClient(client, {
      clientId: `swytest-admin-${process.pid}`,
      brokers: brokers.split(','),
      connectionTimeout: 3000,
      requestTimeout: 10_000,
      retries: 3,
      compression: 'none',
    })
  ).admin();
  await admin.connect();
  try {
    await admin.createTopics([topic], 1);
  } finally {
    await admin.disconnect();
  }
}
