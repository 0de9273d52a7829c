/**
 * The chaos soak (issue 16 point 4): per backend, SWITCHYARD_CHAOS_JOBS jobs (default 100,000) are
 * pushed and drained by 8 runner processes (`fixtures/soak-runner.ts`, the public API over a config
 * file) while runners are SIGKILLed at random points and respawned, and the server (a private one:
 * see ./servers.ts) is SIGKILLed and restarted mid-run. A Chron in this process runs maintenance
 * every second, so a dead runner's claims come back after the short claimTTL.
 *
 * Each backend first runs a clean soak of a fifth as many jobs (no kill, no restart), which must
 * show no duplicate at all and every job run on its first claim.
 *
 * What is checked, from the run logs the handlers write (one line per run, before the ack):
 *
 * - lost = pushed − distinct jobs run = 0, and the store ends empty (nothing ready, claimed,
 *   delayed or abandoned);
 * - duplicates are counted, and each one is explained: the earlier run was in a runner that was
 *   later SIGKILLed, or it happened while the server was being restarted (an ack lost with the
 *   connection). A duplicate run by a live runner outside an outage fails the test, so a run
 *   without kills must have none;
 * - a job runs again only on a newer claim (its attempts grew): never two claims at once;
 * - every runner that was not killed exits 0 on SIGTERM, and none logged an untyped error.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, test } from 'vitest';
import { Chron, createJobQueueGroup, type JobQueueGroup, loadConfig, silentLogger } from '../../src/index.js';
import { describeIfService, services } from '../helpers/env.js';
import { recordFigures, type SoakFigures } from './figures.js';
import { announceSeed, type Rng, rngFor } from './rng.js';
import {
  mariadbMissing,
  type PrivateServer,
  postgresMissing,
  redisMissing,
  startMariadb,
  startPostgres,
  startRedis,
} from './servers.js';

announceSeed('soak');

const repo = fileURLToPath(new URL('../../', import.meta.url));
const runnerFile = fileURLToPath(new URL('./fixtures/soak-runner.ts', import.meta.url));

/** Jobs per backend; 100,000 is the full soak the README reports. */
const CHAOS_JOBS = Number(process.env.SWITCHYARD_CHAOS_JOBS ?? '100000');
if (!Number.isInteger(CHAOS_JOBS) || CHAOS_JOBS < 1000)
  throw new Error('SWITCHYARD_CHAOS_JOBS must be an integer ≥ 1000');
/** The clean run first (no kills, no restart): it must show no duplicate at all. */
const CLEAN_JOBS = Math.max(1000, Math.floor(CHAOS_JOBS / 5));
const RUNNERS = 8;
/** Jobs each runner runs at once (and pops / acks per round trip). */
const CONCURRENCY = 16;
/** Seconds: short, so a dead runner's claims come back within the run. */
const CLAIM_TTL = 10;
/** A duplicate this close (ms) to a server outage is explained by it (a lost ack reply). */
const OUTAGE_SLACK_MS = 10_000;
/** A whole backend's soak must end within this (ms). */
const SOAK_DEADLINE_MS = Number(process.env.SWITCHYARD_CHAOS_SOAK_TIMEOUT ?? '300000');

const dirs: string[] = [];
const servers: PrivateServer[] = [];
const children = new Set<ChildProcess>();
afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  for (const server of servers) await server.stop().catch(() => undefined);
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** One run of a job, as a handler logged it. */
interface RunLine {
  readonly id: string;
  readonly n: number;
  readonly attempts: number;
  readonly at: number;
  /** Which runner process (spawn number) ran it. */
  readonly spawn: number;
}

/** A runner process and its log. */
interface RunnerProc {
  readonly spawn: number;
  readonly child: ChildProcess;
  readonly log: string;
  readonly stderr: string;
  readonly exited: Promise<number | null>;
  /** Settles once the runner installed its signal handlers (or exited). */
  readonly ready: Promise<void>;
  killed: boolean;
  offset: number;
  partial: string;
}

/** Reads what a runner's log gained since the last read. */
function readNew(proc: RunnerProc, into: RunLine[]): void {
  let fd: number;
  try {
    fd = openSync(proc.log, 'r');
  } catch {
    return;
  }
  try {
    const buf = Buffer.alloc(1 << 20);
    for (;;) {
      const got = readSync(fd, buf, 0, buf.length, proc.offset);
      if (got === 0) break;
      proc.offset += got;
      const text = proc.partial + buf.toString('utf8', 0, got);
      const lines = text.split('\n');
      proc.partial = lines.pop() ?? '';
      for (const line of lines) {
        const [id, n, attempts, at] = line.split(' ');
        into.push({
          id: id ?? '',
          n: Number(n),
          attempts: Number(attempts),
          at: Number(at),
          spawn: proc.spawn,
        });
      }
    }
  } finally {
    closeSync(fd);
  }
}

function readAll(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

interface Outage {
  readonly from: number;
  until: number;
}

/** Retries a call through a server outage (the parent's own reads). */
async function patiently<T>(fn: () => Promise<T>): Promise<T> {
  for (let i = 0; ; i++) {
    try {
      return await fn();
    } catch (err) {
      if (i >= 100) throw err;
      await sleep(200);
    }
  }
}

/**
 * One backend's soak. `connection`: the store's settings, as the config file's `connections.store`
 * (the soak queue names it).
 */
async function soak(
  backend: string,
  connection: Record<string, unknown>,
  server: PrivateServer | null,
  mode: 'chaos' | 'clean',
): Promise<void> {
  const JOBS = mode === 'chaos' ? CHAOS_JOBS : CLEAN_JOBS;
  const started = performance.now();
  const rng: Rng = rngFor(`soak:${backend}:${mode}`);
  const dir = mkdtempSync(join(tmpdir(), `switchyard-chaos-${backend}-`));
  dirs.push(dir);
  const domain = `chaos${rng.int(0, 1e6)}`;
  const configFile = join(dir, 'switchyard.config.json');
  const conf = {
    connections: { store: connection },
    jobTypeConf: {
      default: { class: 'memory' },
      soak: {
        class: connection.class,
        connection: 'store',
        claimTTL: CLAIM_TTL,
        maxTries: 1000,
        maintenanceInterval: 1,
      },
    },
  };
  writeFileSync(configFile, JSON.stringify(conf, null, 2));
  const config = await loadConfig({ path: configFile });
  const group: JobQueueGroup = createJobQueueGroup(config, domain);
  const queue = group.get('soak');

  // Push every job first (batches of 1,000), before any chaos: each pushed once.
  const pushStarted = performance.now();
  for (let i = 0; i < JOBS; i += 1000) {
    const batch = Array.from({ length: Math.min(1000, JOBS - i) }, (_, k) => ({
      type: 'soak' as const,
      params: { n: i + k },
    }));
    expect(await queue.push(batch)).toEqual({ inserted: batch.length, duplicates: 0 });
  }
  const pushMs = performance.now() - pushStarted;
  expect(await queue.getSize()).toBe(JOBS);

  const chron = new Chron(group, { interval: 1, logger: silentLogger });
  chron.start();

  const procs: RunnerProc[] = [];
  let spawns = 0;
  const spawnRunner = (): RunnerProc => {
    const n = spawns++;
    const log = join(dir, `runs-${n}.log`);
    const stderr = join(dir, `runner-${n}.stderr`);
    writeFileSync(log, '');
    const err = openSync(stderr, 'a');
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', runnerFile, configFile, log, domain, String(CONCURRENCY)],
      { cwd: repo, stdio: ['ignore', 'pipe', err] },
    );
    closeSync(err);
    children.add(child);
    const exited = new Promise<number | null>((resolve) => {
      child.once('exit', (code) => {
        children.delete(child);
        resolve(code);
      });
    });
    // `ready` once its SIGTERM handler is installed (a SIGTERM before that would just kill it).
    const ready = new Promise<void>((resolve) => {
      let out = '';
      child.stdout?.on('data', (chunk: Buffer) => {
        out += chunk.toString('utf8');
        if (out.includes('ready\n')) resolve();
      });
      void exited.then(() => resolve());
    });
    const proc: RunnerProc = {
      spawn: n,
      child,
      log,
      stderr,
      exited,
      ready,
      killed: false,
      offset: 0,
      partial: '',
    };
    procs.push(proc);
    return proc;
  };
  const live = new Set<RunnerProc>();
  for (let i = 0; i < RUNNERS; i++) live.add(spawnRunner());

  const runs: RunLine[] = [];
  const seen = new Uint8Array(JOBS);
  let distinct = 0;
  let scanned = 0;
  const collect = (): void => {
    for (const p of procs) readNew(p, runs);
    for (; scanned < runs.length; scanned++) {
      const n = runs[scanned]?.n ?? -1;
      if (n >= 0 && n < JOBS && seen[n] === 0) {
        seen[n] = 1;
        distinct++;
      }
    }
  };

  // Chaos: kill -9 a random runner every 0.5–2.5 s (respawned 0–1 s later) until 90 % ran; restart
  // the server once, when 30–60 % ran.
  let kills = 0;
  let restarts = 0;
  const outages: Outage[] = [];
  let chaosOn = mode === 'chaos';
  const restarting = mode === 'chaos' && server !== null;
  const restartAt = restarting ? JOBS * (0.3 + rng.next() * 0.3) : Number.POSITIVE_INFINITY;
  const chaos = (async () => {
    while (chaosOn) {
      await sleep(rng.int(500, 2500));
      if (!chaosOn || (distinct >= JOBS * 0.9 && kills > 0)) break;
      const victim = rng.pick([...live]);
      victim.killed = true;
      live.delete(victim);
      victim.child.kill('SIGKILL');
      await victim.exited;
      kills++;
      await sleep(rng.int(0, 1000));
      if (chaosOn) live.add(spawnRunner());
    }
  })();
  const restart = (async () => {
    if (!restarting || server === null) return;
    while (chaosOn && distinct < restartAt) await sleep(100);
    if (!chaosOn) return;
    const outage: Outage = { from: Date.now(), until: Number.POSITIVE_INFINITY };
    outages.push(outage);
    await server.restart(rng.int(300, 1500));
    outage.until = Date.now();
    restarts++;
  })();

  // Until every job ran and the store is empty (a dead runner's claims recycled and run).
  const deadline = Date.now() + SOAK_DEADLINE_MS;
  let last = { ready: -1, claimed: -1, delayed: -1, abandoned: -1 };
  for (;;) {
    await sleep(500);
    collect();
    // A chaos run ends only after its first kill, however small SWITCHYARD_CHAOS_JOBS is.
    if (distinct >= JOBS && restarts >= (restarting ? 1 : 0) && (mode === 'clean' || kills > 0)) {
      last = await patiently(async () => ({
        ready: await queue.getSize(),
        claimed: await queue.getAcquiredCount(),
        delayed: await queue.getDelayedCount(),
        abandoned: await queue.getAbandonedCount(),
      }));
      if (last.ready + last.claimed + last.delayed === 0) break;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `${backend}: soak not done within ${SOAK_DEADLINE_MS} ms: ${distinct}/${JOBS} jobs ran, ` +
          `${kills} kills, ${restarts} restarts, store ${JSON.stringify(last)}; logs in ${dir}`,
      );
    }
  }
  chaosOn = false;
  await chaos;
  await restart;
  const drainMs = performance.now() - pushStarted - pushMs;

  // Stop the runners: SIGTERM, each exits 0.
  const survivors = procs.filter((p) => !p.killed);
  await Promise.all(survivors.map((p) => p.ready));
  for (const p of survivors) p.child.kill('SIGTERM');
  const codes = await Promise.all(survivors.map((p) => p.exited));
  await chron.stop();
  collect();
  const final = await patiently(async () => ({
    ready: await queue.getSize(),
    claimed: await queue.getAcquiredCount(),
    delayed: await queue.getDelayedCount(),
    abandoned: await queue.getAbandonedCount(),
  }));
  await queue.delete();
  await group.close();

  // ---- analysis
  const byN = new Map<number, RunLine[]>();
  for (const r of runs) {
    const list = byN.get(r.n);
    if (list) list.push(r);
    else byN.set(r.n, [r]);
  }
  const lost = JOBS - distinct;
  const duplicates = runs.length - distinct;
  const unexplained: string[] = [];
  const sameClaim: string[] = [];
  const twoIds: string[] = [];
  const killedSpawns = new Set(procs.filter((p) => p.killed).map((p) => p.spawn));
  const inOutage = (at: number): boolean =>
    outages.some((o) => at >= o.from - OUTAGE_SLACK_MS && at <= o.until + OUTAGE_SLACK_MS);
  let afterKill = 0;
  let afterRestart = 0;
  for (const [n, list] of byN) {
    if (list.length < 2) continue;
    list.sort((a, b) => a.attempts - b.attempts || a.at - b.at);
    if (new Set(list.map((r) => r.id)).size > 1) twoIds.push(`n=${n}`);
    for (let i = 1; i < list.length; i++) {
      const prev = list[i - 1] as RunLine;
      const cur = list[i] as RunLine;
      if (cur.attempts <= prev.attempts) sameClaim.push(`n=${n} attempts ${prev.attempts}, ${cur.attempts}`);
      if (killedSpawns.has(prev.spawn)) afterKill++;
      else if (inOutage(prev.at)) afterRestart++;
      else unexplained.push(`n=${n}: ran by live runner ${prev.spawn} at ${prev.at}, again by ${cur.spawn}`);
    }
  }
  const stderrs = procs.map((p) => readAll(p.stderr));
  const fatal = stderrs.flatMap((s) => s.split('\n').filter((l) => l.includes('"level":"fatal"')));
  const runErrors = stderrs.flatMap((s) => s.split('\n').filter((l) => l.includes('"message":"run threw"')));

  const figures: SoakFigures = {
    backend: mode === 'chaos' ? backend : `${backend} (clean)`,
    jobs: JOBS,
    runners: RUNNERS,
    spawns,
    kills,
    restarts,
    lost,
    duplicates,
    duplicatesAfterKill: afterKill,
    duplicatesAfterRestart: afterRestart,
    runErrors: runErrors.length,
    pushMs: Math.round(pushMs),
    drainMs: Math.round(drainMs),
    wallMs: Math.round(performance.now() - started),
  };
  recordFigures(figures);

  expect(fatal, 'runner processes logged untyped errors').toEqual([]);
  expect(codes, 'every runner that was not killed exits 0 on SIGTERM').toEqual(survivors.map(() => 0));
  expect(lost, 'jobs pushed but never run').toBe(0);
  expect(final).toEqual({ ready: 0, claimed: 0, delayed: 0, abandoned: 0 });
  expect(twoIds, 'an item stored twice').toEqual([]);
  expect(sameClaim.slice(0, 10), 'a job run twice on one claim').toEqual([]);
  expect(unexplained.slice(0, 10), 'duplicates not explained by a kill or a restart').toEqual([]);
  expect(afterKill + afterRestart).toBe(duplicates);
  if (mode === 'clean') {
    // No kill, no restart: not one job may run twice, and each ran on its first claim.
    expect({ kills, restarts, duplicates }).toEqual({ kills: 0, restarts: 0, duplicates: 0 });
    expect(runs.filter((r) => r.attempts !== 1).length, 'runs on a second claim').toBe(0);
    return;
  }
  if (server !== null) expect(restarts).toBe(1);
  expect(kills).toBeGreaterThan(0);
}

const soakTimeout = SOAK_DEADLINE_MS + 120_000;

describe('chaos soak: SQLite', () => {
  const dbFile = (name: string): string => {
    const dir = mkdtempSync(join(tmpdir(), 'switchyard-chaos-sqlite-db-'));
    dirs.push(dir);
    return join(dir, name);
  };
  test(
    `clean: ${CLEAN_JOBS} jobs, ${RUNNERS} runner processes, no kill: 0 lost, 0 duplicates`,
    async () => {
      await soak('SQLite', { class: 'sql', filename: dbFile('clean.sqlite') }, null, 'clean');
    },
    soakTimeout,
  );
  test(
    `${CHAOS_JOBS} jobs, ${RUNNERS} runner processes, runners SIGKILLed at random: 0 lost`,
    async () => {
      await soak('SQLite', { class: 'sql', filename: dbFile('soak.sqlite') }, null, 'chaos');
    },
    soakTimeout,
  );
});

/**
 * A private server's suite runs when the shared service's variable is set (the machine has the
 * server installed), like test/integration/redis-restart.test.ts; a missing binary is then a failure.
 * One server for the clean run and the chaos run.
 */
function privateServerSoak(
  service: (typeof services)[keyof typeof services],
  backend: string,
  missing: () => string | null,
  start: () => Promise<PrivateServer>,
  connection: (url: string) => Record<string, unknown>,
): void {
  describeIfService(service, `chaos soak: ${backend}`, () => {
    let server: Promise<PrivateServer> | null = null;
    const started = (): Promise<PrivateServer> => {
      server ??= (async () => {
        const why = missing();
        if (why !== null) throw new Error(`cannot start a private ${backend} server: ${why}`);
        const s = await start();
        servers.push(s);
        return s;
      })();
      return server;
    };
    test(
      `clean: ${CLEAN_JOBS} jobs, ${RUNNERS} runner processes, no kill, no restart: 0 lost, 0 duplicates`,
      async () => {
        const s = await started();
        await soak(backend, connection(s.url), s, 'clean');
      },
      soakTimeout,
    );
    test(
      `${CHAOS_JOBS} jobs, ${RUNNERS} runner processes, runners SIGKILLed at random, the server SIGKILLed and restarted mid-run: 0 lost`,
      async () => {
        const s = await started();
        await soak(backend, connection(s.url), s, 'chaos');
        await s.stop();
        servers.splice(servers.indexOf(s), 1);
      },
      soakTimeout,
    );
  });
}
privateServerSoak(services.postgres, 'PostgreSQL', postgresMissing, startPostgres, (url) => ({
  class: 'sql',
  connection: url,
  pool: { max: 4 },
}));
privateServerSoak(services.mysql, 'MariaDB', mariadbMissing, startMariadb, (url) => ({
  class: 'sql',
  connection: url,
  pool: { max: 4 },
}));
privateServerSoak(services.redis, 'Redis', redisMissing, startRedis, (url) => ({
  class: 'redis',
  url,
  connectTimeout: 5,
}));
