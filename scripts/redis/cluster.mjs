#!/usr/bin/env node
/**
 * A real Redis Cluster on loopback for tests: `masters` masters (default 3), each with `replicas`
 * replicas (default 1), as plain `redis-server --cluster-enabled yes` processes joined with
 * `redis-cli --cluster create`. No persistence; every node in its own temp dir.
 *
 *   import { startRedisCluster } from './scripts/redis/cluster.mjs';
 *   const c = await startRedisCluster();   // { nodes: [{ host, port }], kill(port), stop() }
 *   node scripts/redis/cluster.mjs          # foreground; prints the nodes; Ctrl-C stops it
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function freePort() {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.once('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => res(port));
    });
  });
}

function cli(port, ...args) {
  return spawnSync('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args], { encoding: 'utf8' });
}

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Starts the cluster; resolves once every slot is served and `cluster_state:ok` on every node. */
export async function startRedisCluster(options = {}) {
  const { masters = 3, replicas = 1, timeoutMs = 60_000, nodeTimeoutMs = 2000 } = options;
  const count = masters * (1 + replicas);
  const root = mkdtempSync(join(tmpdir(), 'switchyard-redis-cluster-'));
  const ports = new Set();
  while (ports.size < count) ports.add(await freePort());
  const nodes = [...ports].map((port) => ({ host: '127.0.0.1', port, pid: 0 }));
  const here = fileURLToPath(import.meta.url);
  for (const n of nodes) {
    const child = spawn(
      'redis-server',
      [
        '--port',
        String(n.port),
        '--bind',
        '127.0.0.1',
        '--cluster-enabled',
        'yes',
        '--cluster-config-file',
        join(root, `nodes-${n.port}.conf`),
        '--cluster-node-timeout',
        String(nodeTimeoutMs),
        '--repl-diskless-sync-delay',
        '0',
        '--save',
        '',
        '--appendonly',
        'no',
        '--dir',
        root,
        '--protected-mode',
        'no',
      ],
      { stdio: 'ignore' },
    );
    n.pid = child.pid;
    // Kills the node if this process dies without stopping it.
    spawn(process.execPath, [here, 'watchdog', String(process.pid), String(child.pid)], {
      stdio: 'ignore',
      detached: true,
    }).unref();
  }
  const stop = async () => {
    for (const n of nodes) {
      try {
        process.kill(n.pid, 'SIGKILL');
      } catch {}
    }
    for (const n of nodes) while (alive(n.pid)) await sleep(20);
    rmSync(root, { recursive: true, force: true });
  };
  try {
    const deadline = Date.now() + timeoutMs;
    for (const n of nodes) {
      while (cli(n.port, 'ping').stdout.trim() !== 'PONG') {
        if (Date.now() > deadline) throw new Error(`redis node ${n.port} did not answer`);
        await sleep(50);
      }
    }
    const create = spawnSync(
      'redis-cli',
      [
        '--cluster',
        'create',
        ...nodes.map((n) => `127.0.0.1:${n.port}`),
        '--cluster-replicas',
        String(replicas),
        '--cluster-yes',
      ],
      { encoding: 'utf8' },
    );
    if (create.status !== 0)
      throw new Error(`redis-cli --cluster create failed: ${create.stdout}${create.stderr}`);
    for (const n of nodes) {
      while (!/cluster_state:ok/.test(cli(n.port, 'cluster', 'info').stdout)) {
        if (Date.now() > deadline) throw new Error(`redis node ${n.port}: cluster_state not ok`);
        await sleep(100);
      }
    }
    // Replicas take their role a moment after the create: wait until every master has its own.
    while (
      cli(nodes[0].port, 'cluster', 'nodes')
        .stdout.split('\n')
        .filter((l) => / (myself,)?slave /.test(l) && !/ fail/.test(l)).length <
      masters * replicas
    ) {
      if (Date.now() > deadline) throw new Error('redis cluster: replicas did not attach');
      await sleep(100);
    }
    // …and until each replica finished its first sync: a replica that never synced is too stale to
    // be promoted, and the cluster would stay down after its master died.
    for (const n of nodes) {
      for (;;) {
        const info = cli(n.port, 'info', 'replication').stdout;
        if (/role:master/.test(info) || /master_link_status:up/.test(info)) break;
        if (Date.now() > deadline) throw new Error(`redis replica ${n.port} did not sync`);
        await sleep(100);
      }
    }
  } catch (e) {
    await stop();
    throw e;
  }
  /** The ports of the masters and of each master's replicas, from CLUSTER NODES on `port`. */
  const topology = (port = nodes[0].port) => {
    const lines = cli(port, 'cluster', 'nodes').stdout.trim().split('\n');
    const parsed = lines.map((l) => {
      const [id, addr, flags, master] = l.split(' ');
      return { id, port: Number(addr.split('@')[0].split(':')[1]), flags: flags.split(','), master };
    });
    return parsed
      .filter((p) => p.flags.includes('master') && !p.flags.includes('fail'))
      .map((m) => ({
        port: m.port,
        replicas: parsed.filter((r) => r.master === m.id && !r.flags.includes('fail')).map((r) => r.port),
      }));
  };
  return {
    nodes: nodes.map(({ host, port }) => ({ host, port })),
    topology,
    /** SIGKILLs the node on `port`. */
    async kill(port) {
      const n = nodes.find((x) => x.port === port);
      if (!n) throw new Error(`no redis node on ${port}`);
      process.kill(n.pid, 'SIGKILL');
      while (alive(n.pid)) await sleep(20);
    },
    stop,
  };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const [cmd, parent, child] = process.argv.slice(2);
  if (cmd === 'watchdog') {
    while (alive(Number(parent)) && alive(Number(child))) await sleep(1000);
    if (alive(Number(child))) process.kill(Number(child), 'SIGKILL');
  } else {
    const c = await startRedisCluster();
    process.stdout.write(
      `export SWITCHYARD_REDIS_CLUSTER=${c.nodes.map((n) => `${n.host}:${n.port}`).join(',')}\n`,
    );
    await new Promise((res) => {
      process.once('SIGINT', res);
      process.once('SIGTERM', res);
    });
    await c.stop();
  }
}
