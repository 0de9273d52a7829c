/**
 * The sql backend beyond the conformance suite: the migration ledger and concurrent migrations,
 * transactional enqueue, host-owned knex instances, the default SQLite file, heirs of the dedup
 * slot, settings and driver errors, the config-file path, and a 32-popper drain per server.
 * SQLite always runs; PostgreSQL and MySQL run when their URL variables are set.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { DIALECTS } from '../../src/backends/sql/dialects/index.js';
import {
  createKnex,
  dropSchema,
  type KnexLike,
  MIGRATIONS,
  migrate,
  SCHEMA_VERSION,
  type SqlClient,
  SqlDatabase,
  SqlJobQueue,
  schemaStatus,
  sqlBackend,
  validateSqlSettings,
} from '../../src/backends/sql/index.js';
import * as Q from '../../src/backends/sql/queries.js';
import { createRegistry, resolveConfig } from '../../src/container.js';
import { ManualClock } from '../../src/core/clock.js';
import { ErrorCode, isSwitchyardError, SwitchyardError } from '../../src/core/errors.js';
import { JobQueueFarm } from '../../src/core/farm.js';
import type { Job } from '../../src/core/job.js';
import type { JobQueue } from '../../src/core/job-queue.js';
import { describeIfService, services } from '../helpers/env.js';

const dir = mkdtempSync(join(tmpdir(), 'switchyard-sql-it-'));
const sqliteFile = join(dir, 'integration.sqlite');
const cleanups: (() => Promise<void>)[] = [];

afterAll(async () => {
  for (const fn of cleanups.reverse()) await fn();
  rmSync(dir, { recursive: true, force: true });
});

/** Runs migrate() on a SQLite file in a separate node process; resolves to its result. */
function migrateInChildProcess(
  filename: string,
  prefix: string,
  startAt: number,
): Promise<{ applied: number[] }> {
  const module = join(import.meta.dirname, '../../src/backends/sql/index.ts');
  const code = `
    const { SqlDatabase, migrate } = await import(${JSON.stringify(module)});
    const db = SqlDatabase.open({ filename: ${JSON.stringify(filename)} });
    const knex = await db.knex();
    await knex.raw('SELECT 1', []); // connected: now race the others from the same instant
    await new Promise((r) => setTimeout(r, Math.max(0, ${startAt} - Date.now())));
    const result = await migrate(knex, { prefix: ${JSON.stringify(prefix)} });
    await db.close();
    process.stdout.write(JSON.stringify(result));
  `;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve(JSON.parse(out) as { applied: number[] });
      else reject(new Error(`migrate child exited ${String(code)}: ${err}`));
    });
  });
}

const newPrefix = (): string => `syi_${randomUUID().replaceAll('-', '').slice(0, 8)}_`;

async function rejection(fn: () => Promise<unknown>): Promise<SwitchyardError> {
  try {
    await fn();
  } catch (err) {
    if (err instanceof SwitchyardError) return err;
    throw err;
  }
  throw new Error('expected a rejection');
}

function rows(result: unknown): Record<string, unknown>[] {
  if (Array.isArray(result))
    return (Array.isArray(result[0]) ? result[0] : result) as Record<string, unknown>[];
  return ((result as { rows?: Record<string, unknown>[] }).rows ?? []) as Record<string, unknown>[];
}

/** One database server (or file) the shared tests run against. */
interface Target {
  readonly client: SqlClient;
  /** A database the backend owns, on a fresh prefix (dropped after the file). */
  open(prefix: string, extra?: { readonly pool?: { readonly max?: number } }): SqlDatabase;
  /** A host knex instance (closed after the file). */
  hostKnex(): Promise<KnexLike>;
  /** Connection settings naming a database that does not exist (SQLite: a file in a missing directory). */
  readonly missingDatabase: Readonly<Record<string, unknown>>;
}

function trackPrefix(target: Target, prefix: string): void {
  cleanups.push(async () => {
    const knex = await target.hostKnex();
    await dropSchema(knex, { prefix });
  });
}

function knexConfig(client: SqlClient, connection: string): Record<string, unknown> {
  if (client === 'sqlite')
    return { client: 'better-sqlite3', connection: { filename: connection }, useNullAsDefault: true };
  return { client, connection, pool: { min: 0, max: 4 } };
}

function makeTarget(client: SqlClient, connection: string): Target {
  let host: Promise<KnexLike> | null = null;
  return {
    client,
    get missingDatabase() {
      if (client === 'sqlite') return { filename: join(dir, 'no-such-directory', 'queue.sqlite') };
      const url = new URL(connection);
      url.pathname = '/switchyard_no_such_database';
      return { connection: url.toString() };
    },
    open: (prefix, extra = {}) => {
      const db =
        client === 'sqlite'
          ? SqlDatabase.open({ filename: connection, prefix, ...extra })
          : SqlDatabase.open({ client, connection, prefix, ...extra });
      cleanups.push(() => db.close());
      return db;
    },
    hostKnex: () => {
      if (!host) {
        host = createKnex(client, knexConfig(client, connection));
        const h = host;
        cleanups.unshift(async () => (await h).destroy());
      }
      return host;
    },
  };
}

/** The tests every dialect runs. */
/** Applies migrations 1 to `version` and writes their ledger rows, as an older switchyard left the schema. */
async function schemaUpTo(target: Target, knex: KnexLike, t: Q.Tables, version: number): Promise<void> {
  const dialect = target.client === 'sqlite' ? 'sqlite' : target.client === 'pg' ? 'postgres' : 'mysql';
  await knex.raw(
    `CREATE TABLE ${t.migrations} (version INTEGER NOT NULL PRIMARY KEY, name VARCHAR(100) NOT NULL, breaking SMALLINT NOT NULL DEFAULT 0, applied_at BIGINT NOT NULL)`,
    [],
  );
  for (const m of MIGRATIONS.filter((x) => x.version <= version)) {
    for (const statement of m.up(dialect, t)) await knex.raw(statement, []);
    await knex.raw(`INSERT INTO ${t.migrations} (version, name, breaking, applied_at) VALUES (?, ?, 0, 0)`, [
      m.version,
      m.name,
    ]);
  }
}

function dialectTests(target: Target): void {
  test('migrate() records each migration once in the ledger; a second run applies nothing', async () => {
    const prefix = newPrefix();
    trackPrefix(target, prefix);
    const knex = await target.hostKnex();
    expect(await schemaStatus(knex, { prefix })).toBeNull();
    expect(await migrate(knex, { prefix })).toEqual({
      applied: [1, 2, 3, 4, 5, 6, 7],
      version: SCHEMA_VERSION,
    });
    expect(await migrate(knex, { prefix })).toEqual({ applied: [], version: SCHEMA_VERSION });
    const ledger = rows(await knex.raw(`SELECT version, name, breaking FROM ${prefix}migrations`, []));
    expect(ledger.map((r) => [Number(r.version), r.name, Number(r.breaking)])).toEqual([
      [1, 'init', 0],
      [2, 'partial-dedup-index', 0],
      [3, 'paused-queues', 0],
      [4, 'periodic-ticks', 0],
      [5, 'priorities', 0],
      [6, 'flows', 0],
      [7, 'groups', 0],
    ]);
    expect(await schemaStatus(knex, { prefix })).toEqual({
      applied: [1, 2, 3, 4, 5, 6, 7],
      pending: [],
      unknownBreaking: [],
    });
  });

  test('concurrent migrate() from several processes applies each migration exactly once', async () => {
    const prefix = newPrefix();
    trackPrefix(target, prefix);
    const dbs = Array.from({ length: 4 }, () => target.open(prefix));
    // SQLite: real processes (one process shares one connection per file); servers: one pool each.
    const startAt = Date.now() + 2_000; // after every child has started and connected
    const results =
      target.client === 'sqlite'
        ? await Promise.all(dbs.map(() => migrateInChildProcess(sqliteFile, prefix, startAt)))
        : await Promise.all(dbs.map(async (db) => migrate(await db.knex(), { prefix })));
    expect(results.map((r) => r.applied.length).sort()).toEqual([0, 0, 0, MIGRATIONS.length]);
    const knex = await target.hostKnex();
    const ledger = rows(await knex.raw(`SELECT version FROM ${prefix}migrations`, []));
    expect(ledger).toHaveLength(MIGRATIONS.length);
    // And the queues on each of them work.
    const queues = dbs.map((database) => new SqlJobQueue({ type: 't', database }));
    await queues[0]?.push({ type: 't', params: { n: 1 } });
    expect(await queues[3]?.getSize()).toBe(1);
    for (const q of queues) await q.close();
  });

  test("migrate: 'manual' refuses an unmigrated schema with SWITCHYARD_CONFIG_INVALID, then works after migrate()", async () => {
    const prefix = newPrefix();
    trackPrefix(target, prefix);
    const database = target.open(prefix, {});
    const q = new SqlJobQueue({ type: 't', database, migrate: 'manual' });
    const error = await rejection(() => q.push({ type: 't', params: {} }));
    expect(error.code).toBe(ErrorCode.CONFIG_INVALID);
    expect(error.message).toContain('migrate');
    await migrate(await database.knex(), { prefix });
    expect(await q.push({ type: 't', params: {} })).toEqual({ inserted: 1, duplicates: 0 });
    await q.close();
  });

  test('migration 5 on a schema with jobs: existing rows become priority 0, the claim index orders by priority', async () => {
    const prefix = newPrefix();
    trackPrefix(target, prefix);
    const knex = await target.hostKnex();
    const t = Q.tablesFor(prefix);
    // The schema as switchyard left it before priorities.
    await schemaUpTo(target, knex, t, 4);
    // A job row written by the old insert (no neg_priority column yet).
    await knex.raw(
      `INSERT INTO ${t.jobs} (domain, type, state, flags, params, attempts, enqueued_at, release_at, sort_key) VALUES (?, ?, 0, 0, ?, 0, 1, 1, 0)`,
      ['default', 't', '{"n":0}'],
    );
    expect(await migrate(knex, { prefix })).toEqual({ applied: [5, 6, 7], version: SCHEMA_VERSION });
    const q = new SqlJobQueue({ type: 't', knex, prefix, order: 'fifo' });
    const listed: number[] = [];
    for await (const job of q.list('ready')) listed.push(job.priority);
    expect(listed).toEqual([0]);
    await q.push([
      { type: 't', params: { n: 1 }, priority: -2 },
      { type: 't', params: { n: 2 }, priority: 3 },
    ]);
    const popped = await q.popBatch(3);
    expect(popped.map((j) => [j.params.n, j.priority])).toEqual([
      [2, 3],
      [0, 0],
      [1, -2],
    ]);
    await q.close();
  });

  test('migration 7 on a schema with jobs: existing rows stay keyless and pop; grouped jobs pop round-robin beside them', async () => {
    const prefix = newPrefix();
    trackPrefix(target, prefix);
    const knex = await target.hostKnex();
    const t = Q.tablesFor(prefix);
    // The schema as switchyard left it before groups.
    await schemaUpTo(target, knex, t, 6);
    // Two job rows written by the old insert (no group_key column yet).
    for (const n of [0, 1]) {
      await knex.raw(
        `INSERT INTO ${t.jobs} (domain, type, state, flags, params, attempts, enqueued_at, release_at, sort_key) VALUES (?, ?, 0, 0, ?, 0, 1, 1, 0)`,
        ['default', 't', JSON.stringify({ n })],
      );
    }
    expect(await migrate(knex, { prefix })).toEqual({ applied: [7], version: SCHEMA_VERSION });
    const q = new SqlJobQueue({ type: 't', knex, prefix, order: 'fifo' });
    const listed: (string | null)[] = [];
    for await (const job of q.list('ready')) listed.push(job.groupKey);
    expect(listed).toEqual([null, null]);
    await q.push([
      { type: 't', params: { n: 10 }, groupKey: 'a' },
      { type: 't', params: { n: 11 }, groupKey: 'a' },
    ]);
    expect(await q.getSize()).toBe(4);
    const popped: unknown[] = [];
    for (let job = await q.pop(); job !== null; job = await q.pop())
      popped.push([job.params.n, job.groupKey]);
    // The keyless jobs are one more group: turns alternate ('' sorts before 'a').
    expect(popped).toEqual([
      [0, null],
      [10, 'a'],
      [1, null],
      [11, 'a'],
    ]);
    await q.close();
  });

  test('a ledger holding an unknown breaking migration stops the queue with SWITCHYARD_CONFIG_INVALID', async () => {
    const prefix = newPrefix();
    trackPrefix(target, prefix);
    const knex = await target.hostKnex();
    await migrate(knex, { prefix });
    await knex.raw(
      `INSERT INTO ${prefix}migrations (version, name, breaking, applied_at) VALUES (999, 'future', 1, 0)`,
      [],
    );
    const q = new SqlJobQueue({ type: 't', database: target.open(prefix) });
    const error = await rejection(() => q.pop());
    expect(error.code).toBe(ErrorCode.CONFIG_INVALID);
    expect(error.message).toContain('upgrade switchyard');
    await expect(migrate(knex, { prefix })).rejects.toMatchObject({ code: ErrorCode.CONFIG_INVALID });
    await q.close();
  });

  test('transactional enqueue: the job exists iff the host transaction commits', async () => {
    const prefix = newPrefix();
    trackPrefix(target, prefix);
    const knex = await target.hostKnex();
    const q = new SqlJobQueue({ type: 'mail', knex, prefix });
    await q.getSize(); // migrated outside the transaction (a SQLite pool has one connection)
    await expect(
      knex.transaction(async (trx) => {
        const r = await q.push({ type: 'mail', params: { to: 'rolled back' } }, { transaction: trx });
        expect(r).toEqual({ inserted: 1, duplicates: 0 });
        throw new Error('host rollback');
      }),
    ).rejects.toThrow('host rollback');
    expect(await q.getSize()).toBe(0);
    await knex.transaction(async (trx) => {
      await q.push(
        [
          { type: 'mail', params: { to: 'committed' } },
          { type: 'mail', params: { to: 'root' }, rootJob: { signature: 'sig', timestamp: 5, isSelf: true } },
        ],
        { transaction: trx },
      );
      if (target.client !== 'sqlite') expect(await q.getSize()).toBe(0); // not visible before the commit
    });
    expect(await q.getSize()).toBe(2);
    expect(await q.isRootJobOldDuplicate({ rootJob: { signature: 'sig', timestamp: 4 } })).toBe(true);
    await expect(q.push({ type: 'mail', params: {} }, { transaction: {} })).rejects.toThrow(TypeError);
    await q.close();
  });

  test('a host knex instance is never closed by queues, nor by a farm', async () => {
    const prefix = newPrefix();
    trackPrefix(target, prefix);
    const knex = await target.hostKnex();
    const q = new SqlJobQueue({ type: 't', knex, prefix });
    await q.push({ type: 't', params: {} });
    await q.close();
    const config = await resolveConfig(
      {
        connections: { host: { class: 'sql', knex, prefix } },
        jobTypeConf: { default: { class: 'sql', connection: 'host' } },
      },
      { registry: createRegistry() },
    );
    const farm = new JobQueueFarm(config);
    const job = await farm.group('default').pop('t');
    expect(job?.type).toBe('t');
    await farm.close();
    expect(rows(await knex.raw('SELECT 1 AS one', []))[0]?.one).toEqual(1);
  });

  test("repushAbandoned keeps each job's priority", async () => {
    const prefix = newPrefix();
    trackPrefix(target, prefix);
    const q = new SqlJobQueue({ type: 't', database: target.open(prefix), order: 'fifo', maxTries: 1 });
    await q.push([
      { type: 't', params: { n: 0 }, priority: -4 },
      { type: 't', params: { n: 1 }, priority: 9 },
      { type: 't', params: { n: 2 } },
    ]);
    for (const job of await q.popBatch(3)) expect(await q.release(job)).toBe('abandoned');
    expect(await q.repushAbandoned()).toBe(3);
    const popped = await q.popBatch(3);
    expect(popped.map((j) => [j.params.n, j.priority])).toEqual([
      [1, 9],
      [2, 0],
      [0, -4],
    ]);
    await q.close();
  });

  test('a twin pushed while its job was claimed: after the release, either of them queued makes pushes duplicates', async () => {
    const prefix = newPrefix();
    trackPrefix(target, prefix);
    const clock = new ManualClock(1_000_000);
    const database = target.open(prefix);
    // Order any: the released job (re-keyed by its ready time) pops after its twin.
    const q = new SqlJobQueue({ type: 't', database, clock, order: 'any', maintenanceInterval: null });
    const spec = { type: 't', params: { page: 1 }, removeDuplicates: true };
    await q.push(spec);
    const a = await q.pop();
    expect(a).not.toBeNull();
    clock.advance(10);
    expect(await q.push(spec)).toEqual({ inserted: 1, duplicates: 0 });
    clock.advance(10);
    expect(await q.release(a as Job)).toBe('released'); // queued as the twin's heir
    expect(await q.push(spec)).toEqual({ inserted: 0, duplicates: 1 });
    const twin = await q.pop();
    expect(twin?.id).not.toBe(a?.id); // the twin first: the heir now holds the slot
    expect(await q.push(spec)).toEqual({ inserted: 0, duplicates: 1 });
    const heir = await q.pop();
    expect(heir?.id).toBe(a?.id);
    expect(heir?.attempts).toBe(2);
    expect(await q.push(spec)).toEqual({ inserted: 1, duplicates: 0 }); // nothing queued: a new job
    // Recycled claims come back as heirs too, and maintenance hands the slot over.
    const c = await q.pop();
    clock.advance(10);
    expect(await q.push(spec)).toEqual({ inserted: 1, duplicates: 0 });
    clock.advance(3_600_000);
    expect((await q.runMaintenance()).recycled).toBe(3); // twin, heir (both unacked) and c
    expect(await q.push(spec)).toEqual({ inserted: 0, duplicates: 1 });
    expect(c).not.toBeNull();
    // Four copies are queued (three recycled heirs and the holder): while any is, pushes are duplicates.
    for (let left = 4; left > 1; left--) {
      expect(await q.pop()).not.toBeNull();
      expect(await q.push(spec)).toEqual({ inserted: 0, duplicates: 1 });
    }
    expect(await q.pop()).not.toBeNull();
    expect(await q.pop()).toBeNull();
    expect(await q.push(spec)).toEqual({ inserted: 1, duplicates: 0 });
    await q.close();
  });

  test('ackBatch() with the same claim twice acks it once; malformed ids ack nothing', async () => {
    const prefix = newPrefix();
    trackPrefix(target, prefix);
    const q = new SqlJobQueue({ type: 't', database: target.open(prefix) });
    await q.push([
      { type: 't', params: { n: 1 } },
      { type: 't', params: { n: 2 } },
    ]);
    const [a, b] = await q.popBatch(2);
    expect(a && b).toBeTruthy();
    const forged = { id: '99999999999999999999', type: 't', claimToken: 'x' };
    expect(await q.ackBatch([a as Job, forged, a as Job, b as Job])).toEqual([true, false, false, true]);
    await q.close();
  });

  test('table prefixes keep apps apart in one database', async () => {
    const [p1, p2] = [newPrefix(), newPrefix()];
    trackPrefix(target, p1);
    trackPrefix(target, p2);
    const knex = await target.hostKnex();
    const a = new SqlJobQueue({ type: 't', knex, prefix: p1 });
    const b = new SqlJobQueue({ type: 't', knex, prefix: p2 });
    await a.push({ type: 't', params: {} });
    expect(await b.getSize()).toBe(0);
    expect(a.storeKey).not.toBe(b.storeKey);
    expect(a.storeKey?.startsWith('sql:')).toBe(true);
    await a.close();
    await b.close();
  });

  test('a connection to a database that does not exist is SWITCHYARD_CONFIG_INVALID naming the connection', async () => {
    const q = new SqlJobQueue({ type: 't', ...target.missingDatabase, pool: { min: 0, max: 1 } });
    const error = await rejection(() => q.push({ type: 't', params: {} }));
    expect(error.code).toBe(ErrorCode.CONFIG_INVALID);
    expect(error.issues.map((i) => i.path)).toEqual(['connection']);
    expect(error.message).toMatch(/database that does not exist/);
    await q.close();
  });

  test('a job larger than maxJobBytes is SWITCHYARD_INVALID_JOB naming it; nothing of the batch is written', async () => {
    const prefix = newPrefix();
    trackPrefix(target, prefix);
    const db = target.open(prefix);
    const q = new SqlJobQueue({ type: 't', database: db, maxJobBytes: 4096 });
    const jobs = [
      { type: 't', params: { n: 0 } },
      { type: 't', params: { pad: 'é'.repeat(2100) } }, // 4,200 bytes of UTF-8 in 2,100 characters
      { type: 't', params: { n: 2 } },
    ];
    const error = await rejection(() => q.push(jobs));
    expect(error.code).toBe(ErrorCode.INVALID_JOB);
    expect(error.issues.map((i) => i.path)).toEqual(['jobs[1].params']);
    expect(error.message).toMatch(/4210 bytes of JSON \(job type t\).*at most 4096 \(maxJobBytes\)/s);
    expect(await q.getSize()).toBe(0);
    expect((await q.push([jobs[0], jobs[2]] as typeof jobs)).inserted).toBe(2);
    expect(() => new SqlJobQueue({ type: 't', database: db, maxJobBytes: 10 })).toThrow(/maxJobBytes/);
    await q.close();
  });

  test('a batch larger than one statement may be is split (MySQL: max_allowed_packet) and lands whole, atomic too', async () => {
    const prefix = newPrefix();
    trackPrefix(target, prefix);
    const db = target.open(prefix);
    const q = new SqlJobQueue({ type: 't', database: db });
    // 20 jobs of 1 MiB, half of them quotes (mysql2 escapes each: 1.5 MiB in the statement) = 30 MiB,
    // over MariaDB's default 16 MiB packet.
    const pad = `${'"'.repeat(512 * 1024)}${'x'.repeat(512 * 1024)}`;
    const jobs = Array.from({ length: 20 }, (_, i) => ({ type: 't', params: { i, pad } }));
    expect(await q.push(jobs, { atomic: true })).toEqual({ inserted: 20, duplicates: 0 });
    const popped = await q.popBatch(20);
    expect(popped.map((j) => (j.params as { i: number }).i).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 20 }, (_, i) => i),
    );
    expect(popped.every((j) => (j.params as { pad: string }).pad === pad)).toBe(true);
    await q.close();
  });

  if (target.client === 'mysql2') {
    test("a job over the server's max_allowed_packet is SWITCHYARD_INVALID_JOB before anything is sent", async () => {
      const prefix = newPrefix();
      trackPrefix(target, prefix);
      const knex = await target.hostKnex();
      const packet = Number(rows(await knex.raw('SELECT @@max_allowed_packet AS p', []))[0]?.p);
      const q = new SqlJobQueue({ type: 't', knex, prefix, maxJobBytes: 1_000_000_000 });
      const error = await rejection(() =>
        q.push([
          { type: 't', params: { n: 1 } },
          { type: 't', params: { pad: 'x'.repeat(packet) } },
        ]),
      );
      expect(error.code).toBe(ErrorCode.INVALID_JOB);
      expect(error.issues.map((i) => i.path)).toEqual(['jobs[1].params']);
      expect(error.message).toContain(`max_allowed_packet is ${packet}`);
      expect(error.message.length).toBeLessThan(2000);
      expect(await q.getSize()).toBe(0);
      await q.close();
    });
  }
}

function concurrencyTest(target: Target): void {
  test('32 concurrent poppers over one pool drain 5,000 jobs, each exactly once, with no errors', async () => {
    const prefix = newPrefix();
    trackPrefix(target, prefix);
    const database = target.open(prefix, { pool: { max: 16 } });
    const handles: JobQueue[] = Array.from(
      { length: 4 },
      () => new SqlJobQueue({ type: 'drain', database, maintenanceInterval: null }),
    );
    const total = 5_000;
    const specs = Array.from({ length: total }, (_, n) => ({ type: 'drain', params: { n } }));
    for (let i = 0; i < total; i += 500) await handles[0]?.push(specs.slice(i, i + 500));
    const seen = new Map<number, number>();
    const started = performance.now();
    await Promise.all(
      Array.from({ length: 32 }, async (_, w) => {
        const q = handles[w % handles.length] as JobQueue;
        for (;;) {
          const batch =
            w % 2 === 0 ? await q.popBatch(1 + (w % 5)) : [await q.pop()].filter((j) => j !== null);
          if (batch.length === 0) return;
          for (const job of batch)
            seen.set(job.params.n as number, (seen.get(job.params.n as number) ?? 0) + 1);
          const acked =
            w % 3 === 0 ? await q.ackBatch(batch) : await Promise.all(batch.map((job) => q.ack(job)));
          expect(acked.every(Boolean)).toBe(true);
        }
      }),
    );
    const ms = performance.now() - started;
    expect(seen.size).toBe(total);
    expect([...seen.values()].every((count) => count === 1)).toBe(true);
    expect(await handles[0]?.getSize()).toBe(0);
    expect(await handles[0]?.getAcquiredCount()).toBe(0);
    process.stderr.write(
      `sql ${target.client}: 32 poppers drained ${total} jobs (pop + ack) in ${ms.toFixed(0)} ms\n`,
    );
    for (const q of handles) await q.close();
  }, 120_000);
}

// ------------------------------------------------------------------ SQLite (always)

describe('sql backend on SQLite', () => {
  const target = makeTarget('sqlite', sqliteFile);
  dialectTests(target);

  test('an owned SQLite database runs in WAL mode with a busy timeout', async () => {
    const db = target.open(newPrefix());
    const knex = await db.knex();
    expect(rows(await knex.raw('PRAGMA journal_mode', []))[0]?.journal_mode).toBe('wal');
    expect(rows(await knex.raw('PRAGMA busy_timeout', []))[0]?.timeout).toBe(5000);
  });

  test('with no connection and no knex, a queue uses ./switchyard.sqlite and closes it with the last queue', async () => {
    const cwd = process.cwd();
    const here = mkdtempSync(join(dir, 'cwd-'));
    process.chdir(here);
    try {
      const a = new SqlJobQueue({ type: 'a' });
      const b = new SqlJobQueue({ type: 'b' });
      expect(a.database).toBe(b.database); // one private pool for identical settings
      expect(a.storeKey).toBe(`sql:sqlite:${join(here, 'switchyard.sqlite')}:switchyard_`);
      await a.push({ type: 'a', params: { n: 1 } });
      expect(existsSync(join(here, 'switchyard.sqlite'))).toBe(true);
      expect(await b.getSiblingQueueSizes(['a', 'b'])).toEqual({ a: 1, b: 0 });
      await a.close();
      expect(a.database.closed).toBe(false);
      await b.close();
      expect(b.database.closed).toBe(true);
      const again = new SqlJobQueue({ type: 'a' });
      expect((await again.pop())?.params).toEqual({ n: 1 }); // durable
      await again.close();
    } finally {
      process.chdir(cwd);
    }
  });

  test('a config file entry opens, shares and closes one connection per farm', async () => {
    const filename = join(dir, 'farm.sqlite');
    const registry = createRegistry();
    const config = await resolveConfig(
      {
        connections: { main: { class: 'sql', filename, prefix: 'farm_' } },
        jobTypeConf: {
          default: { class: 'sql', connection: 'main' },
          mail: { class: 'sql', connection: 'main', claimTTL: 60 },
        },
      },
      { registry },
    );
    const farm = new JobQueueFarm(config);
    const group = farm.group('wiki1');
    await group.push([
      { type: 'mail', params: { to: 'x' } },
      { type: 'refresh', params: { page: 1 } },
    ]);
    expect(await group.getQueueSizes()).toEqual({ mail: 1, refresh: 1 });
    const database = farm.connections.connection('main').handle as SqlDatabase;
    expect(database).toBeInstanceOf(SqlDatabase);
    expect(group.get('mail').storeKey).toBe(group.get('refresh').storeKey);
    await farm.close();
    expect(database.closed).toBe(true);
  });

  test("an entry's maxJobBytes overrides its connection's (it used to be dropped)", async () => {
    const filename = join(dir, 'limits.sqlite');
    const config = await resolveConfig(
      {
        connections: { main: { class: 'sql', filename, prefix: 'lim_' } },
        jobTypeConf: {
          default: { class: 'sql', connection: 'main' },
          small: { class: 'sql', connection: 'main', maxJobBytes: 4096 },
        },
      },
      { registry: createRegistry() },
    );
    const farm = new JobQueueFarm(config);
    try {
      const group = farm.group('wiki1');
      const big = { blob: 'x'.repeat(5000) };
      const error = await rejection(() => group.push({ type: 'small', params: big }));
      expect(error.code).toBe(ErrorCode.INVALID_JOB);
      expect(error.message).toMatch(/maxJobBytes/);
      expect((await group.push({ type: 'other', params: big })).inserted).toBe(1);
    } finally {
      await farm.close();
    }
  });

  test("a first push inside a host transaction migrates through it (the pool's one connection is the host's)", async () => {
    const prefix = newPrefix();
    trackPrefix(target, prefix);
    const knex = await target.hostKnex();
    const q = new SqlJobQueue({ type: 't', knex, prefix });
    await expect(
      knex.transaction(async (trx) => {
        await q.push({ type: 't', params: {} }, { transaction: trx });
        throw new Error('host rollback');
      }),
    ).rejects.toThrow('host rollback');
    expect(await schemaStatus(knex, { prefix })).toBeNull(); // the schema rolled back with it
    await knex.transaction(async (trx) => {
      await q.push({ type: 't', params: {} }, { transaction: trx });
    });
    expect(await q.getSize()).toBe(1);
    const pg = { raw: () => Promise.resolve(null), client: { driverName: 'pg' } };
    await expect(q.push({ type: 't', params: {} }, { transaction: pg })).rejects.toThrow(/on postgres/);
    await q.close();
  });

  test('the registry loads the sql backend lazily', async () => {
    expect(await createRegistry().load('sql')).toBe(sqlBackend);
  });
});

// ------------------------------------------------------------------ servers

describeIfService(services.postgres, 'sql backend on PostgreSQL', (url) => {
  const target = makeTarget('pg', url);
  dialectTests(target);
  concurrencyTest(target);
});

describeIfService(services.mysql, 'sql backend on MySQL/MariaDB', (url) => {
  const target = makeTarget('mysql2', url);
  dialectTests(target);
  concurrencyTest(target);
});

// ------------------------------------------------------------------ settings and errors (no server)

describe('sql backend settings', () => {
  test('an unknown client is refused with its path and the valid clients', () => {
    const issues = validateSqlSettings({ client: 'oracle' }, 'connections.main');
    expect(issues).toEqual([
      {
        path: 'connections.main.client',
        message: 'is not a known sql client',
        value: 'oracle',
        choices: ['sqlite', 'pg', 'mysql2'],
      },
    ]);
  });

  test('every bad setting is reported with its path; passwords are never echoed', () => {
    const issues = validateSqlSettings(
      {
        client: 'mysql2',
        connection: 'postgres://app:hunter2secret@db.example/app',
        prefix: 'Bad-Prefix',
        migrate: 'sometimes',
        pool: { max: 0 },
        filename: 'x.sqlite',
        colour: 'blue',
      },
      'jobTypeConf.default',
    );
    const paths = issues.map((i) => i.path).sort();
    expect(paths).toEqual([
      'jobTypeConf.default.colour',
      'jobTypeConf.default.connection',
      'jobTypeConf.default.filename',
      'jobTypeConf.default.migrate',
      'jobTypeConf.default.pool.max',
      'jobTypeConf.default.prefix',
    ]);
    expect(JSON.stringify(issues)).not.toContain('hunter2secret');
    expect(JSON.stringify(issues)).toContain('postgres://app:***@db.example/app');
  });

  test('pg and mysql2 need a connection; a connection object needs a client; a URL implies it', () => {
    expect(validateSqlSettings({ client: 'pg' }, 'c').map((i) => i.path)).toEqual(['c.connection']);
    expect(validateSqlSettings({ connection: { host: 'db' } }, 'c').map((i) => i.path)).toEqual(['c.client']);
    expect(validateSqlSettings({ connection: 'mysql://root@db/app' }, 'c')).toEqual([]);
    expect(validateSqlSettings({ connection: 'oracle://db/app' }, 'c').map((i) => i.path)).toEqual([
      'c.connection',
    ]);
    expect(validateSqlSettings({}, 'c')).toEqual([]);
    expect(validateSqlSettings({ knex: {}, client: 'pg' }, 'c').map((i) => i.path)).toEqual([
      'c.knex',
      'c.client',
    ]);
  });

  test('a config file with bad sql settings fails at load with every path, without the password', async () => {
    const error = await rejection(() =>
      resolveConfig(
        {
          connections: {
            main: { class: 'sql', client: 'postgress', connection: 'postgres://u:pw-sekrit-1@h/db' },
          },
          jobTypeConf: { default: { class: 'sql', prefix: 'UPPER' } },
        },
        { registry: createRegistry() },
      ),
    );
    expect(error.code).toBe(ErrorCode.CONFIG_INVALID);
    expect(error.message).toContain('connections.main.client');
    expect(error.message).toContain('sqlite, pg, mysql2');
    expect(error.message).toContain('jobTypeConf.default.prefix');
    expect(error.message).not.toContain('pw-sekrit-1');
  });

  test('queue options that contradict each other are refused at construction', () => {
    const database = SqlDatabase.open({ filename: ':memory:' });
    cleanups.push(() => database.close());
    expect(() => new SqlJobQueue({ type: 't', database, filename: 'x.sqlite' })).toThrow(
      expect.objectContaining({ code: ErrorCode.CONFIG_INVALID }),
    );
    expect(() => new SqlJobQueue({ type: 'x'.repeat(256) })).toThrow(
      expect.objectContaining({ code: ErrorCode.CONFIG_INVALID }),
    );
  });

  test('a job type entry that names a connection may not carry connection settings', async () => {
    const config = await resolveConfig(
      {
        connections: { main: { class: 'sql', filename: ':memory:' } },
        jobTypeConf: { default: { class: 'sql', connection: 'main', client: 'pg' } },
      },
      { registry: createRegistry() },
    ).catch((err: unknown) => err);
    // Either the loader or the first queue refuses it; never silently ignored.
    if (isSwitchyardError(config)) {
      expect(config.code).toBe(ErrorCode.CONFIG_INVALID);
      return;
    }
    const farm = new JobQueueFarm(config as Awaited<ReturnType<typeof resolveConfig>>);
    expect(() => farm.group('default').get('t')).toThrow(
      expect.objectContaining({ code: ErrorCode.CONFIG_INVALID }),
    );
    await farm.close();
  });

  test('a missing knex or driver is SWITCHYARD_CONFIG_INVALID naming the npm install command', async () => {
    const missing = () =>
      Promise.reject(
        Object.assign(new Error("Cannot find package 'knex' imported from x.js"), {
          code: 'ERR_MODULE_NOT_FOUND',
        }),
      );
    const error = await rejection(() => createKnex('sqlite', {}, missing));
    expect(error.code).toBe(ErrorCode.CONFIG_INVALID);
    expect(error.message).toContain('npm install knex better-sqlite3');
    const pg = await rejection(() => createKnex('pg', {}, missing));
    expect(pg.message).toContain('npm install knex pg');
  });

  test('an unreachable server is SWITCHYARD_CONNECTION_LOST, without the password', async () => {
    const q = new SqlJobQueue({
      type: 't',
      connection: 'postgres://app:pw-do-not-leak@127.0.0.1:9/app',
      pool: { min: 0, max: 1, acquireTimeoutMillis: 2000 },
    });
    const error = await rejection(() => q.push({ type: 't', params: {} }));
    expect(error.code).toBe(ErrorCode.CONNECTION_LOST);
    expect(error.message).not.toContain('pw-do-not-leak');
    expect(error.message).toContain(q.toString());
    await q.close();
  });
});

describe('sql query builders (no database)', () => {
  const t = Q.tablesFor('p_');
  const key = { domain: 'd', type: 't' };
  const claim = { ...key, order: 'fifo' as const, now: 5, limit: 3, token: 'tok' };
  const refs = [
    { id: 1, token: 'a' },
    { id: 2, token: 'b' },
  ];
  const row: Q.InsertRow = {
    domain: 'd',
    type: 't',
    flags: 0,
    params: '{}',
    sha1: null,
    dedupKey: null,
    rootSignature: null,
    rootTimestamp: null,
    requestId: null,
    enqueuedAt: 1,
    releaseTs: null,
    releaseAt: 1,
    sortKey: 0,
    priority: 0,
    groupKey: null,
  };
  const release: Q.ReleaseArgs = {
    id: 1,
    token: 'a',
    maxTries: 3,
    releaseAt: 9,
    releaseTs: 9,
    sortKey: 9,
    asHeir: true,
  };
  for (const d of Object.values(DIALECTS)) {
    test(`${d.name}: every statement binds one value per placeholder and never reads the server clock`, () => {
      const queries: Q.Query[] = [
        Q.insertJobs(d, t, [row, row]),
        Q.insertJobs(d, t, [row, { ...row, priority: 7 }]),
        Q.claimSelect(d, t, { ...claim, order: 'any' }),
        Q.claimByIds(d, t, [1, 2], 5, 'tok'),
        Q.deleteByIds(t, [1, 2]),
        Q.rekeyHeirs(d, t, key),
        Q.ackOne(t, 1, 'a'),
        Q.lockByIds(t, [1, 2]),
        Q.releaseToQueue(d, t, release),
        Q.releaseToQueue(d, t, { ...release, releaseTs: undefined, sortKey: undefined, asHeir: false }),
        Q.abandonOne(t, 1, 'a', 3),
        Q.extendClaim(t, 1, 'a', 5),
        Q.abandonExpired(t, key, 5, 3),
        Q.recycleExpired(d, t, key, 5, 3),
        Q.lockExpired(d, t, key, 5, 10),
        Q.abandonExpiredByIds(t, [1, 2], 5, 3),
        Q.recycleExpiredByIds(d, t, [1, 2], 5, 3),
        Q.pruneAbandoned(t, key, 5),
        Q.pruneRoots(t, key, 5),
        Q.anyReady(t, key, 5),
        Q.deleteQueue(t, key),
        Q.readyCountsByType(t, 'd', ['a', 'b'], 5),
        Q.lockAbandoned(t, key, 10),
        Q.upsertRoots(d, t, key, [{ signature: 's', timestamp: 1, expiresAt: 2 }], 5),
        Q.rootTimestamp(t, key, 's', 5),
        ...(['ready', 'claimed', 'delayed', 'abandoned'] as const).flatMap((state) => [
          Q.countIn(t, key, state, 5),
          Q.listPage(t, key, state, 5, 0, 10),
        ]),
        ...(d.returning
          ? [
              Q.claimReturning(d, t, claim, false),
              Q.claimReturning(d, t, { ...claim, order: 'any' }, true),
              Q.ackMany(d, t, refs),
              Q.takeAbandoned(d, t, key, 10),
            ]
          : []),
      ];
      for (const q of queries) {
        expect(q.sql.split('?').length - 1, q.sql).toBe(q.bindings.length);
        expect(q.sql, q.sql).not.toMatch(/now\(|current_timestamp|unix_timestamp|julianday|strftime/i);
      }
    });
  }

  test('the claim takes due jobs only, in index order, with the lock clause where the dialect has one', () => {
    const pg = Q.claimReturning(DIALECTS.postgres, t, claim, false).sql;
    expect(pg).toContain('FOR UPDATE SKIP LOCKED');
    expect(pg).toContain('ORDER BY neg_priority, sort_key, id LIMIT ?');
    expect(pg).toContain('release_at <= ?');
    expect(pg).toContain(`NOT EXISTS (SELECT 1 FROM ${t.paused} WHERE domain = ? AND type = ?)`);
    expect(Q.claimReturning(DIALECTS.sqlite, t, claim, false).sql).toContain(
      `NOT EXISTS (SELECT 1 FROM ${t.paused}`,
    );
    expect(Q.claimSelect(DIALECTS.mysql, t, claim).sql).not.toContain(t.paused);
    expect(Q.claimSelect(DIALECTS.mysql, t, claim).sql).toContain('FOR UPDATE SKIP LOCKED');
    expect(Q.claimReturning(DIALECTS.sqlite, t, claim, false).sql).not.toContain('FOR UPDATE');
    expect(Q.claimSelect(DIALECTS.mysql, t, { ...claim, order: 'any' }).bindings).toEqual([
      'd',
      't',
      5,
      5,
      3,
    ]);
  });

  test('priorities are stored negated, and 0 reads back as 0, never -0', () => {
    expect(Q.negPriority(5)).toBe(-5);
    expect(Q.negPriority(-1_000_000)).toBe(1_000_000);
    expect(Object.is(Q.negPriority(0), 0)).toBe(true);
    expect(Object.is(Q.priorityOf(0), 0)).toBe(true);
    expect(Object.is(Q.priorityOf(-0), 0)).toBe(true);
    expect(Q.priorityOf(Q.negPriority(-7))).toBe(-7);
  });

  test('sort keys: fifo 0, timestamp the enqueue time, any the ready time, random a 31-bit int', () => {
    expect(Q.sortKeyFor('fifo', 10, 20, Math.random)).toBe(0);
    expect(Q.sortKeyFor('timestamp', 10, 20, Math.random)).toBe(10);
    expect(Q.sortKeyFor('any', 10, 20, Math.random)).toBe(20);
    expect(Q.sortKeyFor('random', 10, 20, () => 0.5)).toBe(2 ** 30);
  });
});
