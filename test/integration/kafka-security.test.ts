/**
 * Kafka TLS and SASL (`tls`, `sasl` on the executor section and on eventbus settings or their
 * connection): the config checks, and — on a real broker this suite starts with SASL_PLAINTEXT,
 * SSL and SASL_SSL listeners (scripts/kafka/broker.mjs `security: true`: SASL PLAIN, SCRAM-SHA-256,
 * SCRAM-SHA-512, a self-signed certificate for 127.0.0.1) — every mechanism and TLS with each
 * client this Node runs: pushes land (counted on the plain listener), an executor consumes and
 * runs jobs over SASL_SSL, and a wrong password or an untrusted certificate is a typed error that
 * never shows the password.
 */
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { EventBusJobQueue } from '../../src/backends/eventbus/index.js';
import { resolveConfig } from '../../src/container.js';
import type { Job } from '../../src/core/job.js';
import { type ExecutorHandle, startExecutorFromSection } from '../../src/executor/index.js';
import {
  type KafkaClientName,
  type KafkaSaslMechanism,
  kafkaSecurityIssues,
  openKafkaClient,
  platformaticSupported,
} from '../../src/kafka/index.js';
import { defineHandlers } from '../../src/runner/handlers.js';
import { describeIfService, services } from '../helpers/env.js';
import { countMessages } from '../helpers/kafka.js';

const SECRET = 'kafka-security-secret-0123456789abcdef';
const PASSWORD = 'never-shown-password-42';
const run = `${process.pid}${Date.now().toString(36)}`;
let seq = 0;
const uniq = (p: string) => `${p}_${run}_${++seq}`;
const CLIENTS: KafkaClientName[] = platformaticSupported() ? ['kafkajs', 'platformatic'] : ['kafkajs'];

describe('tls and sasl settings', () => {
  test('each bad setting is an issue at its path; the password is never shown', () => {
    const caFile = join(tmpdir(), `swytest-ca-${run}.pem`);
    writeFileSync(caFile, '-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n');
    expect(
      kafkaSecurityIssues(true, { mechanism: 'plain', username: 'u', password: 'p' }, 'executor'),
    ).toEqual([]);
    expect(
      kafkaSecurityIssues({ caFile, rejectUnauthorized: true, servername: 'kafka' }, undefined, 'x'),
    ).toEqual([]);
    const issues = kafkaSecurityIssues(
      { ca: 'PEM', caFile, certFile: '/nonexistent/cert.pem', ciphers: 'x', rejectUnauthorized: 'yes' },
      { mechanism: 'gssapi', username: '', password: 7, realm: 'X' },
      'executor',
    );
    expect(issues.map((i) => `${i.path}: ${i.message}`)).toEqual([
      expect.stringMatching(/^executor\.tls\.ciphers: is not a TLS option/),
      'executor.tls.caFile: give ca or caFile, not both',
      'executor.tls.certFile: is not a readable file',
      'executor.tls: a client certificate needs both cert (or certFile) and key (or keyFile)',
      'executor.tls.rejectUnauthorized: must be a boolean',
      'executor.sasl.realm: is not a SASL option (known: mechanism, username, password)',
      'executor.sasl.mechanism: must be one of plain, scram-sha-256, scram-sha-512',
      'executor.sasl.username: must be a non-empty string',
      'executor.sasl.password: must be a non-empty string (never shown)',
    ]);
    expect(issues.find((i) => i.path === 'executor.sasl.password')).not.toHaveProperty('value');
    expect(kafkaSecurityIssues('yes', 'plain', '')).toEqual([
      expect.objectContaining({ path: 'tls', message: 'must be true or an object of TLS options' }),
      expect.objectContaining({
        path: 'sasl',
        message: 'must be an object { mechanism, username, password }',
      }),
    ]);
  });

  test('resolveConfig checks both sections once at load; tls/sasl beside a host producer or in an entry naming a connection are refused', async () => {
    const err = await resolveConfig({
      jobTypeConf: {
        default: {
          class: 'eventbus',
          brokers: '127.0.0.1:9',
          secret: SECRET,
          sasl: { mechanism: 'scram-sha-1', username: 'u', password: PASSWORD },
        },
      },
      executor: {
        brokers: '127.0.0.1:9',
        secret: SECRET,
        tls: { caFile: '/nonexistent/ca.pem' },
        rules: [{ name: 'r', topics: ['t'] }],
      },
    }).catch((e: unknown) => e);
    expect(err).toMatchObject({
      code: 'SWITCHYARD_CONFIG_INVALID',
      issues: [
        expect.objectContaining({ path: 'executor.tls.caFile', message: 'is not a readable file' }),
        expect.objectContaining({ path: 'jobTypeConf.default.sasl.mechanism' }),
      ],
    });
    expect(`${String(err)} ${JSON.stringify(err)}`).not.toContain(PASSWORD);

    const host = { send: async () => [], sendBatch: async () => [], connect: async () => undefined };
    await expect(
      resolveConfig({
        jobTypeConf: {
          default: {
            class: 'eventbus',
            producer: host,
            secret: SECRET,
            sasl: { mechanism: 'plain', username: 'u', password: PASSWORD },
          },
        },
      }),
    ).rejects.toMatchObject({
      issues: [
        expect.objectContaining({
          path: 'jobTypeConf.default.sasl',
          message: expect.stringContaining('host producer'),
        }),
      ],
    });

    // Checked when the config loads (BackendModule.connectionKeys), not when a queue is built.
    await expect(
      resolveConfig({
        connections: { kafka: { class: 'eventbus', brokers: '127.0.0.1:9', secret: SECRET, tls: true } },
        jobTypeConf: { default: { class: 'eventbus', connection: 'kafka', tls: true } },
      }),
    ).rejects.toMatchObject({
      issues: [
        expect.objectContaining({
          path: 'jobTypeConf.default.tls',
          message: expect.stringContaining('belongs on the connection entry (connections.kafka)'),
        }),
      ],
    });
  });
});

interface Secure {
  readonly saslPlaintext: string;
  readonly ssl: string;
  readonly saslSsl: string;
  readonly ca: string;
  readonly caFile: string;
  readonly user: { readonly username: string; readonly password: string };
}

describeIfService(services.kafka, 'TLS and SASL on a real broker', () => {
  let broker: { brokers: string; secure: Secure; stop(): Promise<void> };
  let plain: Kafka;
  const executors: ExecutorHandle[] = [];
  const cleanup: Array<() => Promise<void>> = [];

  beforeAll(async () => {
    // @ts-expect-error: a plain .mjs script without types.
    const mod = (await import('../../scripts/kafka/broker.mjs')) as {
      startBroker(o: object): Promise<typeof broker>;
    };
    broker = await mod.startBroker({ security: true, quiet: true, heap: '384m' });
    plain = new Kafka({
      clientId: `swytest-sec-${run}`,
      brokers: [broker.brokers],
      logLevel: logLevel.NOTHING,
    });
  }, 120_000);

  afterAll(async () => {
    for (const e of executors) await e.stop({ graceMs: 1000 }).catch(() => undefined);
    for (const c of cleanup) await c().catch(() => undefined);
    await broker?.stop();
  });

  async function createTopic(topic: string): Promise<void> {
    const admin = plain.admin();
    await admin.connect();
    try {
      await admin.createTopics({ topics: [{ topic, numPartitions: 2 }], waitForLeaders: true });
    } finally {
      await admin.disconnect();
    }
  }

  type Mode = { name: string; listener: () => string; security: () => Record<string, unknown> };
  const sasl = (mechanism: KafkaSaslMechanism) => ({ mechanism, ...broker.secure.user });
  const modes: Mode[] = [
    {
      name: 'SASL PLAIN',
      listener: () => broker.secure.saslPlaintext,
      security: () => ({ sasl: sasl('plain') }),
    },
    {
      name: 'SASL SCRAM-SHA-256',
      listener: () => broker.secure.saslPlaintext,
      security: () => ({ sasl: sasl('scram-sha-256') }),
    },
    {
      name: 'TLS (caFile)',
      listener: () => broker.secure.ssl,
      security: () => ({ tls: { caFile: broker.secure.caFile } }),
    },
    {
      name: 'SASL SCRAM-SHA-512 over TLS (ca as PEM)',
      listener: () => broker.secure.saslSsl,
      security: () => ({ tls: { ca: broker.secure.ca }, sasl: sasl('scram-sha-512') }),
    },
  ];
  const cases = CLIENTS.flatMap((client) => modes.map((mode) => [client, mode.name, mode] as const));

  test.each(cases)('%s pushes over %s; every event lands', async (client, _name, mode) => {
    const type = uniq('secpush');
    const topic = `mediawiki.job.${type}`;
    await createTopic(topic);
    const q = new EventBusJobQueue({
      type,
      domain: 'enwiki',
      brokers: mode.listener(),
      secret: SECRET,
      client,
      ...mode.security(),
    });
    cleanup.push(() => q.close());
    await q.push(Array.from({ length: 50 }, (_, n) => ({ type, params: { n } })));
    expect(await countMessages(plain, topic)).toBe(50);
  });

  test.each(CLIENTS)('an executor on %s consumes, retries and commits over SASL_SSL', async (client) => {
    const type = uniq('secexec');
    const topic = `mediawiki.job.${type}`;
    await createTopic(topic);
    const runs: number[] = [];
    const security = { tls: { caFile: broker.secure.caFile }, sasl: sasl('scram-sha-512') };
    const handle = await startExecutorFromSection(
      {
        brokers: broker.secure.saslSsl,
        secret: SECRET,
        service: uniq('svc'),
        client,
        ...security,
        commitInterval: 0.1,
        shutdownGrace: 5,
        rules: [
          {
            name: 'r',
            topics: [topic],
            retryLimit: 2,
            retryDelay: 0.1,
            startAt: 'earliest',
            concurrency: 20,
          },
        ],
      },
      {
        handlers: defineHandlers({
          [type]: {
            run: (j: Job<string>) => {
              const n = j.params.n as number;
              // Job 0 fails once: its retry goes through the retry topic, produced over SASL_SSL too.
              if (n === 0 && j.attempts === 1) throw new Error('the first run fails');
              runs.push(n);
            },
          },
        }),
      },
    );
    executors.push(handle);
    expect(handle.client).toBe(client);
    const q = new EventBusJobQueue({
      type,
      domain: 'enwiki',
      brokers: broker.secure.saslSsl,
      secret: SECRET,
      client,
      ...security,
    });
    cleanup.push(() => q.close());
    await q.push(Array.from({ length: 200 }, (_, n) => ({ type, params: { n } })));
    const until = Date.now() + 30_000;
    while (new Set(runs).size < 200 && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    expect(new Set(runs).size).toBe(200);
    expect(runs.filter((n) => n === 0)).toEqual([0]);
  });

  test.each(
    CLIENTS,
  )('%s: a wrong password and an untrusted certificate are typed errors without the password', async (client) => {
    const type = uniq('secbad');
    const topic = `mediawiki.job.${type}`;
    await createTopic(topic);
    const wrong = new EventBusJobQueue({
      type,
      domain: 'enwiki',
      brokers: broker.secure.saslPlaintext,
      secret: SECRET,
      client,
      retries: 0,
      requestTimeout: 3000,
      sasl: { mechanism: 'scram-sha-256', username: broker.secure.user.username, password: PASSWORD },
    });
    cleanup.push(() => wrong.close());
    const e1 = await wrong.push([{ type, params: { n: 1 } }]).then(
      () => null,
      (e: unknown) => e,
    );
    expect(e1).toMatchObject({ code: expect.stringMatching(/^SWITCHYARD_BACKEND_(UNAVAILABLE|ERROR)$/) });
    expect(`${String(e1)} ${JSON.stringify(e1)}`).not.toContain(PASSWORD);

    const untrusted = new EventBusJobQueue({
      type,
      domain: 'enwiki',
      brokers: broker.secure.ssl,
      secret: SECRET,
      client,
      retries: 0,
      connectionTimeout: 2000,
      requestTimeout: 3000,
      tls: true,
    });
    cleanup.push(() => untrusted.close());
    await expect(untrusted.push([{ type, params: { n: 1 } }])).rejects.toMatchObject({
      code: expect.stringMatching(/^SWITCHYARD_BACKEND_(UNAVAILABLE|ERROR)$/),
    });
    expect(await countMessages(plain, topic)).toBe(0);

    // The admin of the client seam reports the same refusal (the executor's start path).
    const admin = (
      await openKafkaClient(client, {
        clientId: `swytest-sec-${run}`,
        brokers: [broker.secure.saslPlaintext],
        connectionTimeout: 2000,
        requestTimeout: 3000,
        retries: 0,
        compression: 'none',
        sasl: { mechanism: 'plain', username: 'nobody', password: PASSWORD },
      })
    ).admin();
    const e3 = await admin
      .connect()
      .then(() => admin.listTopics())
      .then(
        () => null,
        (e: unknown) => e,
      );
    await admin.disconnect().catch(() => undefined);
    expect(e3).toBeInstanceOf(Error);
    expect(String(e3)).not.toContain(PASSWORD);
  });
});
