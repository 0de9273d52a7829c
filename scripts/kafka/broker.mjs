#!/usr/bin/env node
/**
 * A real single-node Apache Kafka broker (KRaft, combined broker+controller) for tests and local
 * use, assembled from Maven Central jars: no Docker, no tarball. See scripts/kafka/README.md.
 *
 *   node scripts/kafka/broker.mjs start            # foreground; Ctrl-C stops it
 *   node scripts/kafka/broker.mjs start --daemon   # background; writes .kafka/broker.json and
 *                                                  # prints `export SWITCHYARD_KAFKA_BROKERS=...`
 *   node scripts/kafka/broker.mjs env              # re-print the export line of the running daemon
 *   node scripts/kafka/broker.mjs stop             # stop the daemon (SIGTERM, then SIGKILL)
 *   node scripts/kafka/broker.mjs fetch            # only collect the jars into .kafka/libs
 *   options: --auto-create-topics (default off), --heap=512m, --timeout=60000 (ready, in ms)
 *
 * Importable: `const { brokers, stop } = await startBroker({ autoCreateTopics: false })`.
 * `startBroker({ security: true })` adds SASL_PLAINTEXT, SSL and SASL_SSL listeners beside the
 * PLAINTEXT one (SASL PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512 for one user; TLS with a self-signed
 * certificate for 127.0.0.1 made with keytool) and returns them as `secure`.
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const KAFKA_VERSION = '3.9.1';
const here = dirname(fileURLToPath(import.meta.url));
export const repoRoot = resolve(here, '../..');
export const kafkaDir = join(repoRoot, '.kafka');
export const libsDir = join(kafkaDir, 'libs');
export const stateFile = join(kafkaDir, 'broker.json');
const markerJar = join(libsDir, `kafka_2.13-${KAFKA_VERSION}.jar`);
export const STARTED = 'Kafka Server started';

const log = (msg) => process.stderr.write(`kafka: ${msg}\n`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Collects the broker jars into .kafka/libs with Maven, unless they are already there. */
export function ensureJars({ quiet = false } = {}) {
  if (existsSync(markerJar)) return { fetched: false, ms: 0 };
  const started = Date.now();
  mkdirSync(kafkaDir, { recursive: true });
  // Copy into a private folder, then rename: concurrent callers never see half a classpath.
  const tmp = mkdtempSync(join(kafkaDir, 'libs.tmp-'));
  if (!quiet) log(`collecting Kafka ${KAFKA_VERSION} jars with Maven into ${libsDir}`);
  const res = spawnSync(
    'mvn',
    [
      '-B',
      '-q',
      '-f',
      join(here, 'pom.xml'),
      'org.apache.maven.plugins:maven-dependency-plugin:3.6.1:copy-dependencies',
      '-DincludeScope=runtime',
      `-DoutputDirectory=${tmp}`,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' },
  );
  if (res.error || res.status !== 0) {
    rmSync(tmp, { recursive: true, force: true });
    const detail = res.error ? res.error.message : `${res.stdout}\n${res.stderr}`.trim().slice(-2000);
    throw new Error(
      `mvn could not collect the Kafka jars (is Maven installed, Central reachable?): ${detail}`,
    );
  }
  if (existsSync(markerJar)) {
    rmSync(tmp, { recursive: true, force: true }); // someone else won the race
  } else {
    rmSync(libsDir, { recursive: true, force: true });
    renameSync(tmp, libsDir);
  }
  const ms = Date.now() - started;
  if (!quiet) log(`jars ready in ${ms} ms`);
  return { fetched: true, ms };
}

/** A TCP port on 127.0.0.1 that nothing listened on a moment ago. */
export function freePort() {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = /** @type {import('node:net').AddressInfo} */ (srv.address());
      srv.close(() => res(port));
    });
  });
}

/** The user of a `security: true` broker (SASL PLAIN and SCRAM). */
export const SECURE_USER = Object.freeze({ username: 'switchyard', password: 'kafka-test-password-0123' });

/** A self-signed PKCS12 keystore for 127.0.0.1 / localhost and its certificate as PEM. */
function makeKeystore(runDir) {
  const keystore = join(runDir, 'broker.p12');
  const password = randomBytes(12).toString('hex');
  const tool = (args) => {
    const r = spawnSync('keytool', args, { encoding: 'utf8' });
    if (r.error || r.status !== 0)
      throw new Error(`keytool ${args[0]} failed: ${r.error?.message ?? r.stderr}`);
    return r.stdout;
  };
  tool([
    '-genkeypair',
    '-alias',
    'broker',
    '-keyalg',
    'RSA',
    '-keysize',
    '2048',
    '-validity',
    '30',
    '-dname',
    'CN=localhost',
    '-ext',
    'SAN=ip:127.0.0.1,dns:localhost',
    '-keystore',
    keystore,
    '-storetype',
    'PKCS12',
    '-storepass',
    password,
    '-keypass',
    password,
  ]);
  const ca = tool(['-exportcert', '-rfc', '-alias', 'broker', '-keystore', keystore, '-storepass', password]);
  const caFile = join(runDir, 'ca.pem');
  writeFileSync(caFile, ca);
  return { keystore, password, ca, caFile };
}

function securityProperties(tls) {
  const plain = `org.apache.kafka.common.security.plain.PlainLoginModule required username="${SECURE_USER.username}" password="${SECURE_USER.password}" user_${SECURE_USER.username}="${SECURE_USER.password}";`;
  const scram = 'org.apache.kafka.common.security.scram.ScramLoginModule required;';
  const jaas = (listener) => [
    `listener.name.${listener}.plain.sasl.jaas.config=${plain}`,
    `listener.name.${listener}.scram-sha-256.sasl.jaas.config=${scram}`,
    `listener.name.${listener}.scram-sha-512.sasl.jaas.config=${scram}`,
  ];
  return [
    'sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256,SCRAM-SHA-512',
    ...jaas('sasl_plaintext'),
    ...jaas('sasl_ssl'),
    `ssl.keystore.location=${tls.keystore}`,
    'ssl.keystore.type=PKCS12',
    `ssl.keystore.password=${tls.password}`,
    `ssl.key.password=${tls.password}`,
    'ssl.client.auth=none',
  ];
}

function serverProperties({ port, controllerPort, dataDir, autoCreateTopics, secure }) {
  const extra = secure
    ? [
        ['SASL_PLAINTEXT', secure.ports.saslPlaintext],
        ['SSL', secure.ports.ssl],
        ['SASL_SSL', secure.ports.saslSsl],
      ]
    : [];
  const listeners = [[`PLAINTEXT`, port], ...extra].map(([n, p]) => `${n}://127.0.0.1:${p}`);
  return `${[
    'process.roles=broker,controller',
    'node.id=1',
    `controller.quorum.voters=1@127.0.0.1:${controllerPort}`,
    `listeners=${[...listeners, `CONTROLLER://127.0.0.1:${controllerPort}`].join(',')}`,
    `advertised.listeners=${listeners.join(',')}`,
    'inter.broker.listener.name=PLAINTEXT',
    'controller.listener.names=CONTROLLER',
    `listener.security.protocol.map=${['CONTROLLER:PLAINTEXT', 'PLAINTEXT:PLAINTEXT', ...extra.map(([n]) => `${n}:${n}`)].join(',')}`,
    ...(secure ? securityProperties(secure.tls) : []),
    `log.dirs=${dataDir}`,
    'num.partitions=1',
    'default.replication.factor=1',
    'min.insync.replicas=1',
    'offsets.topic.replication.factor=1',
    'offsets.topic.num.partitions=1',
    'transaction.state.log.replication.factor=1',
    'transaction.state.log.min.isr=1',
    'transaction.state.log.num.partitions=1',
    'group.initial.rebalance.delay.ms=0',
    `auto.create.topics.enable=${autoCreateTopics ? 'true' : 'false'}`,
    'delete.topic.enable=true',
    'num.network.threads=2',
    'num.io.threads=2',
    'log.flush.interval.messages=9223372036854775807',
  ].join('\n')}\n`;
}

export const LOG4J = `log4j.rootLogger=WARN, stdout
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.server.KafkaRaftServer=INFO
log4j.logger.kafka=WARN
log4j.logger.org.apache.kafka=WARN
`;

export function javaArgs(heap, runDir) {
  return [
    `-Xmx${heap}`,
    '-Xms128m',
    '-XX:+UseSerialGC',
    '-XX:TieredStopAtLevel=1',
    '-Djava.awt.headless=true',
    `-Dlog4j.configuration=file:${join(runDir, 'log4j.properties')}`,
    `-Dkafka.logs.dir=${runDir}`,
    '-cp',
    `${libsDir}/*`, // the JVM expands the wildcard, not a shell
  ];
}

export function tail(file, chars = 3000) {
  try {
    return readFileSync(file, 'utf8').slice(-chars);
  } catch {
    return '';
  }
}

export function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
export async function killPid(pid, graceMs = 10_000) {
  if (!alive(pid)) return;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  const deadline = Date.now() + graceMs;
  while (alive(pid) && Date.now() < deadline) await sleep(100);
  if (alive(pid)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {}
    while (alive(pid)) await sleep(50);
  }
}

async function loadKafkajs() {
  const mod = await import('kafkajs');
  return mod.default ?? mod;
}

/**
 * Waits until every node in `addresses` serves `topic` with `partitions` partitions, each with a
 * leader and `isr` in-sync replicas (KRaft nodes learn new topics asynchronously). Asks each node
 * for the metadata of every topic: asking kafkajs for one a node has not learnt yet can make its
 * retry throw outside any promise.
 */
export async function waitTopicOnEveryNode(
  addresses,
  topic,
  { partitions = 1, isr = 1, timeoutMs = 30_000 } = {},
) {
  const { Kafka, logLevel } = await loadKafkajs();
  const deadline = Date.now() + timeoutMs;
  for (const address of addresses) {
    const admin = new Kafka({
      clientId: 'switchyard-topic-wait',
      brokers: [address],
      logLevel: logLevel.NOTHING,
      retry: { retries: 2 },
    }).admin();
    await admin.connect();
    try {
      for (;;) {
        const ok = await admin
          .fetchTopicMetadata()
          .then((m) => {
            const t = m.topics.find((x) => x.name === topic);
            return (
              t !== undefined &&
              t.partitions.length === partitions &&
              t.partitions.every((p) => p.leader >= 0 && p.isr.length >= isr)
            );
          })
          .catch(() => false);
        if (ok) break;
        if (Date.now() > deadline)
          throw new Error(`topic ${topic} not served by ${address} within ${timeoutMs} ms`);
        await sleep(100);
      }
    } finally {
      await admin.disconnect();
    }
  }
}

/**
 * Waits until a kafkajs admin lists topics and a consumer group can join (warms __consumer_offsets).
 * `nodes`: every node's address, for a multi-node cluster.
 */
export async function waitReady(brokers, { timeoutMs = 60_000, isDead = () => false, nodes = null } = {}) {
  const { Kafka, logLevel } = await loadKafkajs();
  const kafka = new Kafka({
    clientId: 'switchyard-broker-ready',
    brokers: [brokers],
    logLevel: process.env.SWITCHYARD_KAFKA_DEBUG === '1' ? logLevel.DEBUG : logLevel.NOTHING,
    connectionTimeout: 1000,
    retry: { retries: 0 },
  });
  const deadline = Date.now() + timeoutMs;
  let lastError;
  // 1. Metadata served.
  for (;;) {
    if (isDead()) throw new Error('broker process exited');
    if (Date.now() > deadline) throw new Error(`broker did not serve metadata: ${lastError}`);
    const admin = kafka.admin();
    try {
      await admin.connect();
      await admin.listTopics();
      await admin.disconnect();
      break;
    } catch (e) {
      lastError = e;
      await admin.disconnect().catch(() => {});
      await sleep(200);
    }
  }
  // 2. A consumer group joins: creates __consumer_offsets and elects its coordinator.
  // A separate client: a consumer's cluster takes the client's retry settings, not the consumer's,
  // and the first FindCoordinator answers "coordinator not available" while __consumer_offsets is
  // being created.
  const warm = new Kafka({
    clientId: 'switchyard-broker-warmup',
    brokers: [brokers],
    logLevel: process.env.SWITCHYARD_KAFKA_DEBUG === '1' ? logLevel.DEBUG : logLevel.NOTHING,
    connectionTimeout: 1000,
    retry: { retries: 30, initialRetryTime: 100, maxRetryTime: 1000 },
  });
  const topic = '__switchyard_warmup';
  const admin = warm.admin();
  await admin.connect();
  try {
    // On a multi-node cluster kafkajs's leader wait can ask a node that has not learnt the topic
    // yet and throw outside any promise: wait on every node instead.
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: nodes === null });
    if (nodes !== null)
      await waitTopicOnEveryNode(nodes, topic, { timeoutMs: Math.max(1000, deadline - Date.now()) });
    const consumer = warm.consumer({
      groupId: 'switchyard-warmup',
      sessionTimeout: 6000,
      maxWaitTimeInMs: 100, // disconnect waits for the pending fetch: keep it short
    });
    try {
      const joined = new Promise((res) => consumer.on(consumer.events.GROUP_JOIN, res));
      await consumer.connect();
      // A node may still answer "unknown topic" for a moment after the others learnt it.
      for (let attempt = 0; ; attempt++) {
        try {
          await consumer.subscribe({ topics: [topic], fromBeginning: true });
          break;
        } catch (e) {
          if (e?.type !== 'UNKNOWN_TOPIC_OR_PARTITION' || attempt >= 50) throw e;
          await sleep(200);
        }
      }
      await consumer.run({ eachMessage: async () => {} });
      let timer;
      const timeout = new Promise((_, rej) => {
        timer = setTimeout(
          () => rej(new Error('consumer group did not join')),
          Math.max(1000, deadline - Date.now()),
        );
      });
      await Promise.race([joined, timeout]).finally(() => clearTimeout(timer));
    } finally {
      await consumer.disconnect().catch(() => {});
    }
    await admin.deleteTopics({ topics: [topic] }).catch(() => {});
    await admin.deleteGroups(['switchyard-warmup']).catch(() => {});
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

/**
 * Formats a fresh KRaft storage in a temp dir and starts a broker on free 127.0.0.1 ports.
 * Resolves once it serves (see waitReady). Without `daemon`, the broker is killed when this
 * process exits, even by SIGKILL (a small watchdog process).
 */
export async function startBroker(options = {}) {
  const {
    autoCreateTopics = false,
    heap = '512m',
    timeoutMs = 60_000,
    daemon = false,
    quiet = false,
    security = false,
  } = options;
  const t0 = Date.now();
  const jars = ensureJars({ quiet });
  const runDir = mkdtempSync(join(tmpdir(), 'switchyard-kafka-'));
  const port = await freePort();
  let controllerPort = await freePort();
  while (controllerPort === port) controllerPort = await freePort();
  const brokers = `127.0.0.1:${port}`;
  const props = join(runDir, 'server.properties');
  const logFile = join(runDir, 'broker.log');
  let secure = null;
  if (security) {
    const taken = new Set([port, controllerPort]);
    const another = async () => {
      let p = await freePort();
      while (taken.has(p)) p = await freePort();
      taken.add(p);
      return p;
    };
    const ports = { saslPlaintext: await another(), ssl: await another(), saslSsl: await another() };
    secure = { ports, tls: makeKeystore(runDir) };
  }
  writeFileSync(
    props,
    serverProperties({ port, controllerPort, dataDir: join(runDir, 'data'), autoCreateTopics, secure }),
  );
  writeFileSync(join(runDir, 'log4j.properties'), LOG4J);

  // 16 random bytes, URL-safe base64 (22 chars), as Uuid.fromString wants. Like Kafka's own
  // Uuid.randomUuid, never start with '-': argparse4j would read `-t -abc` as a missing value.
  let clusterId = randomBytes(16).toString('base64url');
  while (clusterId.startsWith('-')) clusterId = randomBytes(16).toString('base64url');
  const fmt = spawnSync(
    'java',
    [
      ...javaArgs('256m', runDir),
      'kafka.tools.StorageTool',
      'format',
      '-t',
      clusterId,
      '-c',
      props,
      // SCRAM credentials go into the metadata log when it is formatted (KRaft).
      ...(secure
        ? ['SCRAM-SHA-256', 'SCRAM-SHA-512'].flatMap((m) => [
            '--add-scram',
            `${m}=[name=${SECURE_USER.username},password=${SECURE_USER.password}]`,
          ])
        : []),
    ],
    { encoding: 'utf8' },
  );
  if (fmt.error || fmt.status !== 0) {
    rmSync(runDir, { recursive: true, force: true });
    throw new Error(`kafka storage format failed: ${fmt.error?.message ?? `${fmt.stdout}${fmt.stderr}`}`);
  }

  const out = openSync(logFile, 'a');
  const child = spawn('java', [...javaArgs(heap, runDir), 'kafka.Kafka', props], {
    stdio: ['ignore', out, out],
    detached: daemon,
  });
  closeSync(out);
  const pid = child.pid;
  let exited = false;
  child.once('exit', () => {
    exited = true;
  });

  let onExit;
  let watchdog;
  if (daemon) {
    child.unref();
  } else {
    // Parent exits normally: kill synchronously. Parent is SIGKILLed: the watchdog kills it.
    onExit = () => {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {}
      rmSync(runDir, { recursive: true, force: true });
    };
    process.once('exit', onExit);
    watchdog = spawn(
      process.execPath,
      [fileURLToPath(import.meta.url), 'watchdog', String(process.pid), String(pid), runDir],
      {
        stdio: 'ignore',
        detached: true,
      },
    );
    watchdog.unref();
  }

  let stopped = false;
  const stop = async (graceMs = 10_000) => {
    if (stopped) return;
    stopped = true;
    await killPid(pid, graceMs);
    if (onExit) process.removeListener('exit', onExit);
    if (watchdog?.pid) {
      try {
        process.kill(watchdog.pid, 'SIGKILL');
      } catch {}
    }
    rmSync(runDir, { recursive: true, force: true });
  };

  try {
    const deadline = Date.now() + timeoutMs;
    while (!tail(logFile, 1_000_000).includes(STARTED)) {
      if (exited) throw new Error('broker process exited during startup');
      if (Date.now() > deadline) throw new Error(`no "${STARTED}" within ${timeoutMs} ms`);
      await sleep(100);
    }
    const startedMs = Date.now() - t0;
    await waitReady(brokers, { timeoutMs: Math.max(5000, deadline - Date.now()), isDead: () => exited });
    const readyMs = Date.now() - t0;
    if (!quiet) log(`broker ${brokers} ready in ${readyMs} ms (started ${startedMs} ms; log ${logFile})`);
    const secureOut = secure && {
      saslPlaintext: `127.0.0.1:${secure.ports.saslPlaintext}`,
      ssl: `127.0.0.1:${secure.ports.ssl}`,
      saslSsl: `127.0.0.1:${secure.ports.saslSsl}`,
      ca: secure.tls.ca,
      caFile: secure.tls.caFile,
      user: SECURE_USER,
    };
    return {
      brokers,
      pid,
      runDir,
      logFile,
      autoCreateTopics,
      secure: secureOut,
      stop,
      timings: { jars, startedMs, readyMs },
    };
  } catch (e) {
    const detail = tail(logFile);
    await stop(2000);
    throw new Error(`Kafka broker did not become ready: ${e instanceof Error ? e.message : e}\n${detail}`);
  }
}

function readState() {
  try {
    return JSON.parse(readFileSync(stateFile, 'utf8'));
  } catch {
    return undefined;
  }
}

function printEnv(state) {
  process.stdout.write(
    `export SWITCHYARD_KAFKA_BROKERS=${state.brokers}\nexport KAFKAJS_NO_PARTITIONER_WARNING=1\n`,
  );
}

async function main(argv) {
  const [cmd = 'help', ...rest] = argv;
  const flag = (name) => rest.includes(`--${name}`);
  const value = (name, dflt) => {
    const hit = rest.find((a) => a.startsWith(`--${name}=`));
    return hit ? hit.slice(name.length + 3) : dflt;
  };
  const opts = {
    autoCreateTopics: flag('auto-create-topics') || process.env.SWITCHYARD_KAFKA_AUTO_CREATE === '1',
    heap: value('heap', '512m'),
    timeoutMs: Number(value('timeout', '60000')),
  };
  switch (cmd) {
    case 'fetch': {
      const r = ensureJars();
      log(r.fetched ? `fetched in ${r.ms} ms` : `already present in ${libsDir}`);
      return;
    }
    case 'start': {
      if (flag('daemon')) {
        const old = readState();
        if (old && alive(old.pid)) {
          log(`already running (pid ${old.pid}, ${old.brokers})`);
          printEnv(old);
          return;
        }
        const b = await startBroker({ ...opts, daemon: true });
        writeFileSync(
          stateFile,
          `${JSON.stringify({ pid: b.pid, brokers: b.brokers, runDir: b.runDir, logFile: b.logFile, autoCreateTopics: b.autoCreateTopics, startedAt: new Date().toISOString(), timings: b.timings }, null, 2)}\n`,
        );
        printEnv(b);
        return;
      }
      const b = await startBroker(opts);
      printEnv(b);
      log('running in the foreground; Ctrl-C stops it');
      await new Promise((res) => {
        process.once('SIGINT', res);
        process.once('SIGTERM', res);
      });
      await b.stop();
      return;
    }
    case 'stop': {
      const s = readState();
      if (!s) {
        log('no daemon (.kafka/broker.json missing)');
        return;
      }
      await killPid(s.pid, Number(value('timeout', '10000')));
      rmSync(s.runDir, { recursive: true, force: true });
      rmSync(stateFile, { force: true });
      log(`stopped pid ${s.pid}`);
      return;
    }
    case 'env': {
      const s = readState();
      if (!s || !alive(s.pid))
        throw new Error('no running daemon: run `node scripts/kafka/broker.mjs start --daemon`');
      printEnv(s);
      return;
    }
    case 'watchdog': {
      // Internal: kill the broker (and clean its dir) once the parent process is gone.
      const [parent, child, dir] = rest;
      while (alive(Number(parent)) && alive(Number(child))) await sleep(1000);
      if (alive(Number(child))) await killPid(Number(child), 5000);
      if (dir) rmSync(dir, { recursive: true, force: true });
      return;
    }
    default:
      process.stdout.write(
        'usage: node scripts/kafka/broker.mjs start [--daemon] [--auto-create-topics] [--heap=512m] [--timeout=ms] | stop | env | fetch\n',
      );
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).catch((e) => {
    log(e instanceof Error ? e.message : String(e));
    process.exit(1);
  });
}
