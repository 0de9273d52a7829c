/**
 * Private database servers for the chaos suite: a PostgreSQL cluster, a MariaDB server and a Redis
 * server of the test's own, each on a spare port with its data under a temp directory, so a
 * SIGKILL and a restart never touch the shared services other suites (and other people) use.
 *
 * Every server is killed with SIGKILL (no clean shutdown: crash recovery on restart) and started
 * again on the same port and data. Durability is the servers' defaults (fsync on, InnoDB flush at
 * commit) and, for Redis, AOF with `appendfsync always`: an acknowledged write survives a crash.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
} from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { freePort } from '../helpers/net.js';

/** A server the test owns. */
export interface PrivateServer {
  /** Human name for logs. */
  readonly name: string;
  /** The URL switchyard connects with. */
  readonly url: string;
  /** SIGKILLs the server (no shutdown), then starts it again on the same port and data. */
  restart(downMs?: number): Promise<void>;
  /** Stops the server and removes its data. */
  stop(): Promise<void>;
}

function which(command: string): string | null {
  try {
    return execFileSync('sh', ['-c', `command -v ${command}`], { encoding: 'utf8' }).trim() || null;
  } catch {
    return null;
  }
}

async function waitFor(what: string, probe: () => Promise<boolean>, child: ChildProcess, ms = 60_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`${what} exited during startup (${child.exitCode ?? child.signalCode})`);
    }
    if (await probe().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`${what} did not start within ${ms} ms`);
    await sleep(100);
  }
}

async function killHard(child: ChildProcess | null): Promise<void> {
  if (child === null || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}

// ------------------------------------------------------------------ PostgreSQL

function postgresBin(): string | null {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return null;
  const versions = readdirSync(root)
    .filter((v) => existsSync(join(root, v, 'bin', 'postgres')))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] === undefined ? null : join(root, versions[0], 'bin');
}

/** Why a private PostgreSQL cannot start here, or null when it can. */
export function postgresMissing(): string | null {
  return postgresBin() === null ? 'no PostgreSQL server binaries under /usr/lib/postgresql/*/bin' : null;
}

/**
 * A private PostgreSQL cluster (initdb, trust auth, database `test`). PostgreSQL refuses to run as
 * root, so as root the cluster belongs to the `postgres` user (`runuser`).
 */
export async function startPostgres(): Promise<PrivateServer> {
  const bin = postgresBin();
  if (bin === null) throw new Error(postgresMissing() ?? 'no PostgreSQL');
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-chaos-pg-'));
  const data = join(dir, 'data');
  const asRoot = userInfo().uid === 0;
  const wrap = (cmd: string, args: string[]): [string, string[]] =>
    asRoot ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args];
  if (asRoot) {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    chownSync(dir, uid, gid);
  }
  chmodSync(dir, 0o700);
  const [initCmd, initArgs] = wrap(join(bin, 'initdb'), [
    '-D',
    data,
    '-A',
    'trust',
    '-U',
    'postgres',
    '--no-sync',
    '--no-instructions',
  ]);
  execFileSync(initCmd, initArgs, { stdio: 'ignore' });
  const port = await freePort();
  let child: ChildProcess | null = null;
  const probe = async (): Promise<boolean> => {
    try {
      execFileSync(join(bin, 'pg_isready'), ['-h', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  };
  const launch = async (): Promise<void> => {
    const [cmd, args] = wrap(join(bin, 'postgres'), [
      '-D',
      data,
      '-p',
      String(port),
      '-k',
      dir,
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      'max_connections=200',
    ]);
    // As root `child` is runuser, not the postmaster: the kill below goes through pg_ctl.
    child = spawn(cmd, args, { stdio: 'ignore' });
    await waitFor('PostgreSQL', probe, child);
  };
  const postmasterPid = (): number | null => {
    try {
      const text = readFileSync(join(data, 'postmaster.pid'), 'utf8');
      const pid = Number(text.split('\n')[0]);
      return Number.isInteger(pid) && pid > 0 ? pid : null;
    } catch {
      return null;
    }
  };
  const kill = async (): Promise<void> => {
    // SIGKILL of the postmaster alone leaves its backends running; `pg_ctl stop -m immediate`
    // is PostgreSQL's crash: every process quits at once, no checkpoint, WAL recovery on start.
    const [cmd, args] = wrap(join(bin, 'pg_ctl'), ['-D', data, '-m', 'immediate', '-w', 'stop']);
    const pid = postmasterPid();
    if (pid !== null) execFileSync(cmd, args, { stdio: 'ignore' });
    await killHard(child);
    child = null;
  };
  await launch();
  execFileSync(
    'psql',
    ['-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', '-c', 'CREATE DATABASE test'],
    {
      stdio: 'ignore',
    },
  );
  return {
    name: 'PostgreSQL',
    url: `postgres://postgres@127.0.0.1:${port}/test`,
    async restart(downMs = 500) {
      await kill();
      await sleep(downMs);
      await launch();
    },
    async stop() {
      await kill().catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

// ------------------------------------------------------------------ MariaDB

/** Why a private MariaDB cannot start here, or null when it can. */
export function mariadbMissing(): string | null {
  if (which('mariadb-install-db') === null) return 'mariadb-install-db is not installed';
  if (!existsSync('/usr/sbin/mariadbd') && which('mariadbd') === null) return 'mariadbd is not installed';
  return null;
}

/** A private MariaDB server (mariadb-install-db, root without a password, database `test`). */
export async function startMariadb(): Promise<PrivateServer> {
  const missing = mariadbMissing();
  if (missing !== null) throw new Error(missing);
  const server = existsSync('/usr/sbin/mariadbd') ? '/usr/sbin/mariadbd' : 'mariadbd';
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-chaos-mariadb-'));
  const data = join(dir, 'data');
  mkdirSync(data);
  const user = userInfo().username;
  execFileSync(
    'mariadb-install-db',
    [
      '--no-defaults',
      `--datadir=${data}`,
      `--user=${user}`,
      '--auth-root-authentication-method=normal',
      '--skip-test-db',
    ],
    { stdio: 'ignore' },
  );
  const port = await freePort();
  let child: ChildProcess | null = null;
  const probe = async (): Promise<boolean> => {
    try {
      execFileSync('mariadb-admin', ['-h', '127.0.0.1', '-P', String(port), '-u', 'root', 'ping'], {
        stdio: 'ignore',
      });
      return true;
    } catch {
      return false;
    }
  };
  const launch = async (): Promise<void> => {
    child = spawn(
      server,
      [
        '--no-defaults',
        `--datadir=${data}`,
        `--user=${user}`,
        `--port=${port}`,
        '--bind-address=127.0.0.1',
        `--socket=${join(dir, 'mariadb.sock')}`,
        `--pid-file=${join(dir, 'mariadb.pid')}`,
        `--log-error=${join(dir, 'error.log')}`,
        '--max-connections=300',
        '--innodb-buffer-pool-size=128M',
      ],
      { stdio: 'ignore' },
    );
    await waitFor('MariaDB', probe, child);
  };
  await launch();
  execFileSync(
    'mariadb',
    ['-h', '127.0.0.1', '-P', String(port), '-u', 'root', '-e', 'CREATE DATABASE test'],
    {
      stdio: 'ignore',
    },
  );
  return {
    name: 'MariaDB',
    url: `mysql://root@127.0.0.1:${port}/test`,
    async restart(downMs = 500) {
      await killHard(child);
      await sleep(downMs);
      await launch();
    },
    async stop() {
      await killHard(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

// ------------------------------------------------------------------ Redis

/** Why a private Redis cannot start here, or null when it can. */
export function redisMissing(): string | null {
  return which('redis-server') === null ? 'redis-server is not installed' : null;
}

/** A private Redis server with AOF and `appendfsync always` (an acknowledged write survives). */
export async function startRedis(): Promise<PrivateServer> {
  const missing = redisMissing();
  if (missing !== null) throw new Error(missing);
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-chaos-redis-'));
  const port = await freePort();
  let child: ChildProcess | null = null;
  const probe = async (): Promise<boolean> => {
    const client = new Redis({ port, host: '127.0.0.1', lazyConnect: true, retryStrategy: () => null });
    client.on('error', () => {});
    try {
      await client.connect();
      // Loading the AOF answers LOADING until done.
      return (await client.ping()) === 'PONG';
    } catch {
      return false;
    } finally {
      client.disconnect();
    }
  };
  const launch = async (): Promise<void> => {
    child = spawn(
      'redis-server',
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--dir',
        dir,
        '--save',
        '',
        '--appendonly',
        'yes',
        '--appendfsync',
        'always',
      ],
      { stdio: 'ignore' },
    );
    await waitFor('Redis', probe, child);
  };
  await launch();
  return {
    name: 'Redis',
    url: `redis://127.0.0.1:${port}`,
    async restart(downMs = 500) {
      await killHard(child);
      await sleep(downMs);
      await launch();
    },
    async stop() {
      await killHard(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
