/**
 * The conformance suite against the push-only eventbus backend on a real Kafka broker: push works,
 * and every call a push-only queue lacks throws SWITCHYARD_NOT_SUPPORTED (P-22). Topics are
 * created with the admin API first, since CI runs the broker with auto-create off.
 */
import { Kafka, logLevel, Partitioners, type Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, test } from 'vitest';
import { EventBusJobQueue, eventbusSupports } from '../../src/backends/eventbus/index.js';
import { runBackendConformance } from '../../src/testing/index.js';
import { describeIfService, services } from '../helpers/env.js';

process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1';

describeIfService(services.kafka, 'eventbus backend on Kafka', (brokers) => {
  const kafka = new Kafka({
    clientId: `swytest-eventbus-conformance-${process.pid}`,
    brokers: brokers.split(','),
    logLevel: logLevel.NOTHING,
    retry: { retries: 10 },
  });
  const admin = kafka.admin();
  let producer: Producer | null = null;
  const created = new Map<string, Promise<unknown>>();

  /** Creates the topic once (auto-create is off in CI). */
  function ensureTopic(topic: string): Promise<unknown> {
    let done = created.get(topic);
    if (!done) {
      done = admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
      created.set(topic, done);
    }
    return done;
  }

  runBackendConformance({
    name: 'eventbus',
    supports: eventbusSupports,
    describe,
    test,
    beforeAll,
    afterAll,
    timeout: 30_000,
    setup: async () => {
      await admin.connect();
      producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
      await producer.connect();
    },
    teardown: async () => {
      await producer?.disconnect();
      const topics = [...created.keys()];
      if (topics.length > 0) await admin.deleteTopics({ topics }).catch(() => undefined);
      await admin.disconnect();
    },
    factory: async (options) => {
      if (producer === null) throw new Error('the conformance producer is not connected');
      await ensureTopic(`mediawiki.job.${options.type}`);
      return new EventBusJobQueue({ ...options, secret: 'conformance-secret', producer });
    },
  });
});
