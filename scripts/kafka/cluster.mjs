#!/usr/bin/env node
/**
 * A real 3-node Apache Kafka cluster on loopback for failover tests (KRaft; every node is broker
 * and controller, the three form the controller quorum), from the same Maven Central jars as
 * broker.mjs. Topics default to replication factor 3 with `min.insync.replicas=2`, so a produce
 * with acks -1 is acknowledged only once two replicas hold it, and one node may die without an
 * acknowledged message being lost.
 *
 *   import { startCluster } from './scripts/kafka/cluster.mjs';
 *   const c = await startCluster();   // { brokers: 'a,b,c', nodes, kill(id), restart(id), stop() }
 *   node scripts/kafka/cluster.mjs     # foreground; prints the brokers; Ctrl-C stops it
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  alive,
  ensureJars,
  freePort,
  javaArgs,
  killPid,
  LOG4J,
  STARTED,
  tail,
  waitReady,
  waitTopicOnEveryNode,
} from './broker.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const log = (msg) => process.stderr.write(`kafka cluster: ${msg}\n`);

function nodeProperties({ id, port, controllerPort, voters, dataDir, replication, minInsync }) {
  return `${[
    'process.roles=broker,controller',
    `node.id=${id}`,
    `controller.quorum.voters=${voters}`,
    `listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}`,
    `advertised.listeners=PLAINTEXT://127.0.0.1:${port}`,
    'inter.broker.listener.name=PLAINTEXT',
    'controller.listener.names=CONTROLLER',
    'listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
    `log.dirs=${dataDir}`,
    'num.partitions=1',
    `default.replication.factor=${replication}`,
    `min.insync.replicas=${minInsync}`,
    `offsets.topic.replication.factor=${replication}`,
    'offsets.topic.num.partitions=3',
    `transaction.state.log.replication.factor=${replication}`,
    `transaction.state.log.min.isr=${minInsync}`,
    'transaction.state.log.num.partitions=1',
    'group.initial.rebalance.delay.ms=0',
    'auto.create.topics.enable=false',
    'delete.topic.enable=true',
    'num.network.threads=2',
    'num.io.threads=2',
    // A dead node is fenced after 3 s (default 9 s) and a dead follower leaves the ISR after 10 s
    // (default 30 s), so its partitions get new leaders quickly and failover tests stay short.
    'broker.heartbeat.interval.ms=500',
    'broker.session.timeout.ms=3000',
    'replica.lag.time.max.ms=10000',
    'log.flush.interval.messages=9223372036854775807',
  ].join('\n')}\n`;
}

/**
 * Starts `nodes` (default 3) Kafka nodes; resolves when the cluster serves metadata and a
 * consumer group can join. `kill(id)` SIGKILLs one node; `restart(id)` starts it again on the same
 * ports and data; `stop()` stops all and removes their directories.
 */
export async function startCluster(options = {}) {
  const { nodes: count = 3, heap = '384m', timeoutMs = 120_000, quiet = false } = options;
  const replication = options.replication ?? Math.min(3, count);
  const minInsync = options.minInsync ?? Math.max(1, replication - 1);
  const t0 = Date.now();
  ensureJars({ quiet });
  const root = mkdtempSync(join(tmpdir(), 'switchyard-kafka-cluster-'));
  writeFileSync(join(root, 'log4j.properties'), LOG4J);
  const taken = new Set();
  const port = async () => {
    let p = await freePort();
    while (taken.has(p)) p = await freePort();
    taken.add(p);
    return p;
  };
  const nodes = [];
  for (let id = 1; id <= count; id++) nodes.push({ id, port: await port(), controllerPort: await port() });
  const voters = nodes.map((n) => `${n.id}@127.0.0.1:${n.controllerPort}`).join(',');
  const addresses = nodes.map((n) => `127.0.0.1:${n.port}`);
  let clusterId = randomBytes(16).toString('base64url');
  while (clusterId.startsWith('-')) clusterId = randomBytes(16).toString('base64url');
  for (const n of nodes) {
    n.dir = join(root, `node${n.id}`);
    n.props = join(root, `node${n.id}.properties`);
    n.logFile = join(root, `node${n.id}.log`);
    writeFileSync(n.props, nodeProperties({ ...n, voters, dataDir: n.dir, replication, minInsync }));
    const fmt = spawnSync(
      'java',
      [...javaArgs('256m', root), 'kafka.tools.StorageTool', 'format', '-t', clusterId, '-c', n.props],
      { encoding: 'utf8' },
    );
    if (fmt.error || fmt.status !== 0) {
      rmSync(root, { recursive: true, force: true });
      throw new Error(`kafka storage format failed: ${fmt.error?.message ?? `${fmt.stdout}${fmt.stderr}`}`);
    }
  }
  const here = fileURLToPath(new URL('./broker.mjs', import.meta.url));
  const launch = (n) => {
    const out = openSync(n.logFile, 'a');
    const child = spawn('java', [...javaArgs(heap, root), 'kafka.Kafka', n.props], {
      stdio: ['ignore', out, out],
    });
    closeSync(out);
    n.pid = child.pid;
    n.exited = false;
    child.once('exit', () => {
      n.exited = true;
    });
    // Kills the node if this process dies without stopping it.
    spawn(process.execPath, [here, 'watchdog', String(process.pid), String(child.pid), ''], {
      stdio: 'ignore',
      detached: true,
    }).unref();
  };
  const started = async (n, since) => {
    const deadline = Date.now() + timeoutMs;
    while (tail(n.logFile, 1_000_000).split(STARTED).length - 1 < since + 1) {
      if (n.exited) throw new Error(`node ${n.id} exited during startup:\n${tail(n.logFile)}`);
      if (Date.now() > deadline) throw new Error(`node ${n.id}: no "${STARTED}" within ${timeoutMs} ms`);
      await sleep(100);
    }
  };
  const starts = new Map(nodes.map((n) => [n.id, 0]));
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await Promise.all(nodes.map((n) => (n.pid && alive(n.pid) ? killPid(n.pid, 5000) : undefined)));
    rmSync(root, { recursive: true, force: true });
  };
  try {
    for (const n of nodes) launch(n);
    await Promise.all(nodes.map((n) => started(n, 0)));
    await waitReady(addresses[0], {
      timeoutMs: Math.max(10_000, timeoutMs - (Date.now() - t0)),
      nodes: addresses,
    });
  } catch (e) {
    await stop();
    throw e;
  }
  if (!quiet)
    log(
      `${count} nodes ready in ${Date.now() - t0} ms (replication ${replication}, min.insync ${minInsync})`,
    );
  const byId = (id) => {
    const n = nodes.find((x) => x.id === id);
    if (!n) throw new Error(`no node ${id}`);
    return n;
  };
  return {
    brokers: addresses.join(','),
    nodes: nodes.map((n, i) => ({ id: n.id, address: addresses[i] })),
    replication,
    minInsync,
    root,
    /**
     * Creates a topic (replication from the cluster defaults) and waits until every node serves
     * its metadata with a leader and a full ISR per partition: a client's first request may go to
     * any node, and KRaft brokers learn new topics asynchronously.
     */
    async createTopic(topic, partitions = 1) {
      const { Kafka, logLevel } = await import('kafkajs');
      const admin = new Kafka({
        clientId: 'switchyard-cluster-admin',
        brokers: addresses,
        logLevel: logLevel.NOTHING,
        retry: { retries: 2 },
      }).admin();
      await admin.connect();
      try {
        await admin.createTopics({ topics: [{ topic, numPartitions: partitions }] });
      } catch (e) {
        // The creation is done; kafkajs's own wait asked a node that had not learnt the topic yet.
        if (e?.type !== 'UNKNOWN_TOPIC_OR_PARTITION') throw e;
      } finally {
        await admin.disconnect();
      }
      await waitTopicOnEveryNode(addresses, topic, { partitions, isr: replication });
    },
    /** SIGKILLs node `id` (no clean shutdown) and waits until it is gone. */
    async kill(id) {
      const n = byId(id);
      if (!alive(n.pid)) return;
      process.kill(n.pid, 'SIGKILL');
      while (alive(n.pid)) await sleep(20);
    },
    /** Starts node `id` again on its ports and data; resolves when it logged its start. */
    async restart(id) {
      const n = byId(id);
      if (alive(n.pid)) return;
      starts.set(id, (starts.get(id) ?? 0) + 1);
      launch(n);
      await started(n, starts.get(id));
    },
    stop,
  };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const c = await startCluster();
  process.stdout.write(`export SWITCHYARD_KAFKA_CLUSTER=${c.brokers}\n`);
  log('running in the foreground; Ctrl-C stops it');
  await new Promise((res) => {
    process.once('SIGINT', res);
    process.once('SIGTERM', res);
  });
  await c.stop();
}
