/**
 * The sql backend (promises §3): one backend over knex for SQLite (better-sqlite3, the embedded
 * default), PostgreSQL (pg) and MySQL / MariaDB (mysql2). Per-dialect code only where the SQL
 * differs (`dialects/`); every statement is a pure builder in `queries.ts`; the schema ships as
 * numbered migrations (`migrations/`).
 *
 * Claims are fenced (`… WHERE id = ? AND claim_token = ?`) and taken in one statement per batch:
 * PostgreSQL `UPDATE … FROM (SELECT … FOR UPDATE SKIP LOCKED) RETURNING`, SQLite
 * `UPDATE … RETURNING` (the statement holds the write lock), MySQL `SELECT … FOR UPDATE SKIP
 * LOCKED` + `UPDATE` in one short transaction. Acks are one DELETE per batch. Concurrent pops of
 * one queue object share one claim statement, and concurrent acks one ack statement
 * (`coalescer.ts`): 16 workers racing their own `FOR UPDATE SKIP LOCKED` claims over the head of
 * the claim index cost PostgreSQL ~3× the CPU of one claim at a time (bench drain, 20k jobs,
 * `popBatch(100)` × 16: server CPU 0.7–1.2 s → 0.28–0.32 s, 24–29k → 36–49k jobs/s).
 *
 * Measured through knex on a 2-vCPU box (SQLite 3.53 WAL, PostgreSQL 15, MariaDB 10.11, all
 * local, 100k ready jobs in the queue plus 100k of another type, order `any`):
 *
 * | | SQLite | PostgreSQL | MariaDB |
 * |---|---|---|---|
 * | `popBatch(100)` | 1.0 ms | 2.3 ms (0.9 ms server) | 4.5 ms |
 * | `pop()` + `ack()` | 0.19 ms | 1.2–1.6 ms | 3.7 ms |
 * | empty `pop()` | 0.09 ms | 0.3–0.4 ms | 0.6 ms |
 * | bulk push | 150k jobs/s (500 rows / INSERT) | 116k–139k jobs/s (one unnest INSERT of up to 10,000 rows) | 78k jobs/s (500 rows / INSERT) |
 * | 32 poppers drain 5,000 (pop + ack) | — | 1.8–2.5 s | 2.9–4.3 s |
 *
 * (PostgreSQL and MariaDB commit every claim and ack to disk: most of their time is the fsync.)
 *
 * @example
 * ```ts
 * import { SqlJobQueue } from 'switchyard/backends/sql';
 * const queue = new SqlJobQueue({ type: 'refreshLinks' });              // ./switchyard.sqlite
 * const pg = new SqlJobQueue({ type: 'refreshLinks', knex: hostKnex }); // the host's knex
 * await pg.push(jobs, { transaction: trx });                            // transactional enqueue
 * ```
 *
 * @packageDocumentation
 */
import { randomUUID } from 'node:crypto';
import type { BackendContext, BackendModule, BackendSettings } from '../../core/backend.js';
import { configInvalid, type Issue, invalidJob } from '../../core/errors.js';
import type { JobState, JsonObject, ListedJob, NormalizedJob, RootJob } from '../../core/job.js';
import {
  type ClaimedJob,
  type ClaimRef,
  JobQueue,
  type JobQueueOptions,
  type MaintenanceHookOptions,
  type MaintenanceResult,
  type PushHookOptions,
  type PushResult,
  type ReleaseHookOptions,
  type ReleaseOutcome,
  type StoredQueue,
} from '../../core/job-queue.js';
import { defineSupports, type Supports } from '../../core/supports.js';
import { Coalescer } from './coalescer.js';
import { acquirePrivateDatabase, releasePrivateDatabase, SqlDatabase } from './database.js';
import type { Dialect, Row } from './dialects/index.js';
import { isRetryableConflict, isUniqueViolation, wrapSqlError } from './errors.js';
import { dialectOf, isKnexRawLike, type KnexLike, type KnexRawLike } from './knex-like.js';
import * as Q from './queries.js';
import {
  CONNECTION_KEYS,
  type MigrateMode,
  SETTING_KEYS,
  type SqlConnectionSettings,
  validateSqlSettings,
} from './settings.js';

export {
  createKnex,
  importKnex,
  type KnexFactory,
  type KnexImporter,
  SqlDatabase,
  type SqlDatabaseOptions,
} from './database.js';
export type { Dialect, Row } from './dialects/index.js';
export { type SqlDriverLogger, setSqlDriverLogger, stderrDriverLogger } from './driver-log.js';
export {
  type Binding,
  type DialectName,
  dialectOf,
  type KnexLike,
  type KnexRawLike,
  type KnexTransactionLike,
  SUPPORTED_DRIVERS,
} from './knex-like.js';
export {
  dropSchema,
  MIGRATIONS,
  type MigrateOptions,
  type MigrateResult,
  type Migration,
  migrate,
  SCHEMA_VERSION,
  type SchemaStatus,
  schemaStatus,
} from './migrations/index.js';
export {
  DEFAULT_PREFIX,
  DEFAULT_SQLITE_FILE,
  type MigrateMode,
  SQL_CLIENTS,
  type SqlClient,
  type SqlConnectionSettings,
  type SqlPoolSettings,
  validateSqlSettings,
} from './settings.js';

/** The sql backend's manifest. */
export const sqlSupports: Supports = defineSupports({
  pop: true,
  ack: true,
  delayedJobs: true,
  orders: ['fifo', 'timestamp', 'random', 'any'],
  sizes: 'exact',
  // A batch is one transaction.
  atomicBatchPush: true,
  typeAgnostic: false,
  durable: true,
  listing: true,
  deduplication: true,
  rootJobs: true,
  batchPop: true,
  siblingQueries: true,
  // Why: push(jobs, { transaction: knexTrx }) runs the inserts on the host's transaction.
  transactionalPush: true,
  // A `paused_queues` row, checked by every claim statement (NOT EXISTS in the same statement).
  pause: true,
  // A `periodic_ticks` row per schedule (migration 4), moved forward by single statements.
  periodicTicks: true,
});

/** Longest domain / type name (the VARCHAR(255) columns). */
const MAX_NAME_LENGTH = 255;

/** The largest BIGINT id. */
const MAX_BIGINT = 2n ** 63n - 1n;

/**
 * Rows one claim statement takes at most for the pops queued together (a single larger
 * popBatch still claims its count in one statement).
 */
const CLAIM_ROWS_MAX = 1000;

/** Claims one ack statement deletes at most for the acks queued together. */
const ACK_ROWS_MAX = 1000;

/** Tries of a statement that hit a deadlock or serialization failure. */
const MAX_TRIES = 6;

/**
 * Bytes of a MySQL packet kept for everything but the params when sizing INSERTs against
 * `max_allowed_packet`: the statement text (~40 KiB for 500 rows) and the other columns of up to
 * 500 rows (under 300 bytes each, escaped).
 */
const PACKET_HEADROOM = 1024 * 1024;

/**
 * Before retrying a deadlocked statement, wait a random 0–(this × attempt) ms, so the
 * transactions that deadlocked do not collide again at once. Without it, MariaDB's 8-process
 * drain (coalesced acks of up to 1,000 claims) occasionally lost four immediate retries in a row.
 */
const RETRY_JITTER_MS = 5;

/** Options of {@link SqlJobQueue}: the common queue options plus where the jobs live. */
export interface SqlJobQueueOptions extends JobQueueOptions, SqlConnectionSettings {
  /**
   * A shared database (from {@link SqlDatabase.open}, or a farm's `connections` entry); the queue
   * never closes it. Without it (and without `knex`) the queue opens a private database from the
   * connection settings (SQLite at `./switchyard.sqlite` by default) and closes it with the last
   * queue using it.
   */
  readonly database?: SqlDatabase;
}

type Ref = { readonly id: string | number; readonly token: string };

/**
 * A job queue in a SQL database. Durable, every order, delayed jobs, atomic dedup, root jobs,
 * batch pop / ack, sibling queries, transactional enqueue.
 */
export class SqlJobQueue<T extends string = string> extends JobQueue<T> {
  readonly #db: SqlDatabase;
  /** What close() releases: nothing (a shared database), its handle on a host knex, or its private database. */
  readonly #closes: 'nothing' | 'handle' | 'private';
  readonly #prefix: string;
  readonly #migrate: MigrateMode;
  readonly #maxJobBytes: number;
  readonly #d: Dialect;
  readonly #t: Q.Tables;
  readonly #q: Q.QueueKey;
  /** Concurrent pops of this queue, one claim statement at a time (see {@link CLAIM_ROWS_MAX}). */
  readonly #claims = new Coalescer<number, ClaimedJob[]>(
    (limits) => this.#claimFor(limits),
    (n) => n,
    CLAIM_ROWS_MAX,
  );
  /** Concurrent acks of this queue, one ack statement at a time (see {@link ACK_ROWS_MAX}). */
  readonly #acks = new Coalescer<readonly ClaimRef[], boolean[]>(
    (calls) => this.#ackFor(calls),
    (jobs) => jobs.length,
    ACK_ROWS_MAX,
  );

  /**
   * @throws `SWITCHYARD_CONFIG_INVALID` naming every bad option or setting (passwords redacted).
   */
  constructor(options: SqlJobQueueOptions) {
    super('sql', sqlSupports, options);
    const issues: Issue[] = [];
    for (const key of ['domain', 'type'] as const) {
      const name = this[key];
      if (name.length > MAX_NAME_LENGTH) {
        issues.push({
          path: key,
          message: `must be at most ${MAX_NAME_LENGTH} characters`,
          value: name.slice(0, 40),
        });
      }
    }
    const settings: Record<string, unknown> = {};
    const given = options as unknown as Readonly<Record<string, unknown>>;
    for (const key of SETTING_KEYS) {
      if (given[key] !== undefined) settings[key] = given[key];
    }
    issues.push(...validateSqlSettings(settings, ''));
    if (options.database !== undefined) {
      if (!(options.database instanceof SqlDatabase)) {
        issues.push({ path: 'database', message: 'must be a SqlDatabase (SqlDatabase.open(settings))' });
      }
      for (const key of [...CONNECTION_KEYS, 'knex']) {
        if (settings[key] !== undefined)
          issues.push({ path: key, message: 'does not apply next to database' });
      }
    }
    if (issues.length > 0) throw configInvalid(issues, `options of sql queue "${this.type}"`);
    const s = settings as SqlConnectionSettings;
    if (options.database) {
      this.#db = options.database;
      this.#closes = 'nothing';
    } else if (s.knex) {
      this.#db = SqlDatabase.forKnex(s.knex);
      this.#closes = 'handle'; // the handle only: a host instance is never destroyed
    } else {
      this.#db = acquirePrivateDatabase(s);
      this.#closes = 'private';
    }
    this.#prefix = s.prefix ?? this.#db.prefix;
    this.#migrate = s.migrate ?? this.#db.migrateMode;
    this.#maxJobBytes = s.maxJobBytes ?? this.#db.maxJobBytes;
    this.#d = this.#db.dialect;
    this.#t = Q.tablesFor(this.#prefix);
    this.#q = { domain: this.domain, type: this.type };
  }

  /** `sql:<database identity>:<prefix>`: queues in the same tables answer sibling queries together. */
  override get storeKey(): string {
    return `sql:${this.#db.identity}:${this.#prefix}`;
  }

  /** The database this queue uses. */
  get database(): SqlDatabase {
    return this.#db;
  }

  /** The table prefix. */
  get prefix(): string {
    return this.#prefix;
  }

  // ---------------------------------------------------------------- plumbing

  /** The knex instance, with the schema ensured (migrated on first use, or checked when manual). */
  async #ready(via?: KnexRawLike): Promise<KnexLike> {
    const knex = await this.#db.knex();
    await this.#db.ensureSchema(this.#prefix, this.#migrate, via);
    return knex;
  }

  /** Runs `fn`, retrying deadlocks / serialization failures, wrapping driver errors. */
  async #run<R>(what: string, fn: () => Promise<R>, retry = true): Promise<R> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn();
      } catch (err) {
        if (retry && attempt < MAX_TRIES && isRetryableConflict(err)) {
          await new Promise((resolve) => setTimeout(resolve, Math.random() * RETRY_JITTER_MS * attempt));
          continue;
        }
        throw wrapSqlError(err, `${String(this)}: ${what}`, this.#db.secrets);
      }
    }
  }

  async #rows(db: KnexRawLike, q: Q.Query): Promise<Row[]> {
    return this.#d.rows(await db.raw(q.sql, q.bindings));
  }

  async #affected(db: KnexRawLike, q: Q.Query): Promise<number> {
    return this.#d.affected(await db.raw(q.sql, q.bindings));
  }

  /**
   * A transaction at the server's default isolation (repush). MySQL's claim used it too (it
   * measured no faster under READ COMMITTED: P-7 pushes racing pops, 2,000 jobs, 1.85–2.09 s vs
   * 1.82–1.94 s), until coalesced claims of a few hundred rows deadlocked with acks at REPEATABLE
   * READ (InnoDB status: the claim's `UPDATE … WHERE id IN` holding 3,806 row locks, waiting on a
   * row an ack had deleted): the claim now runs in {@link #lockingTransaction}.
   */
  #transaction<R>(knex: KnexLike, fn: (trx: KnexRawLike) => Promise<R>): Promise<R> {
    return knex.transaction(fn);
  }

  /**
   * MySQL's ack and expiry transactions, at READ COMMITTED: their locking reads take record locks
   * only (no gap / next-key locks) and release the rows they scanned but did not match. At
   * REPEATABLE READ, maintenance's expiry UPDATEs locked every claimed row they scanned and batch
   * acks took next-key locks on neighbouring ids: both deadlocked with acks and claims (the
   * crash-concurrency drain: ~20 deadlocks a run with maintenance racing, failing acks after the
   * retries; a few a run without). Fencing needs no more: a locking read sees the latest commit.
   */
  #lockingTransaction<R>(knex: KnexLike, fn: (trx: KnexRawLike) => Promise<R>): Promise<R> {
    return knex.transaction(fn, { isolationLevel: 'read committed' });
  }

  /** A job id as the driver binds it, or null when it cannot be one of ours. */
  #id(id: string): string | number | null {
    if (!/^[1-9][0-9]{0,18}$/.test(id)) return null;
    if (this.#d.name === 'postgres') return BigInt(id) <= MAX_BIGINT ? id : null;
    const n = Number(id);
    return Number.isSafeInteger(n) ? n : null;
  }

  /** Gives unheld dedup slots to heirs (see `queries.ts#rekeyHeirs`). */
  async #rekey(db: KnexRawLike): Promise<void> {
    const q = Q.rekeyHeirs(this.#d, this.#t, this.#q);
    for (let attempt = 1; ; attempt++) {
      try {
        await db.raw(q.sql, q.bindings);
        return;
      } catch (err) {
        // PostgreSQL has no UPDATE IGNORE: a concurrent push took a slot; the NOT EXISTS skips it next time.
        if (attempt < MAX_TRIES && isUniqueViolation(err)) continue;
        throw err;
      }
    }
  }

  // ---------------------------------------------------------------- push

  protected override async doBatchPush(
    jobs: readonly NormalizedJob[],
    o: PushHookOptions,
  ): Promise<PushResult> {
    const now = this.clock.now();
    const rows = jobs.map((job) => this.#insertRow(job, now));
    const bytes = rows.map((row) => Q.paramsBytes(this.#d, row.params));
    /** Statements of at most `insertChunk` rows and one packet each; checked before the first INSERT, so a batch with a job too large writes nothing. */
    const plan = async (db: KnexRawLike): Promise<Array<readonly [number, number]>> => {
      const packet = await this.#db.maxPacket(db);
      this.#assertJobsFit(rows, bytes, packet);
      return Q.insertChunks(this.#d, bytes, packet - PACKET_HEADROOM);
    };
    const insertAll = async (db: KnexRawLike, chunks: ReadonlyArray<readonly [number, number]>) => {
      let inserted = 0;
      for (const [start, end] of chunks) {
        inserted += await this.#affected(db, Q.insertJobs(this.#d, this.#t, rows.slice(start, end)));
      }
      return inserted;
    };
    let inserted: number;
    if (o.transaction !== null) {
      const trx = this.#hostTransaction(o.transaction);
      inserted = await this.#run(
        'push',
        async () => {
          // SQLite's pool is one connection, held by the host's transaction: check the schema through it.
          await this.#ready(this.#d.name === 'sqlite' ? trx : undefined);
          return insertAll(trx, await plan(trx));
        },
        false, // a failed statement aborted the host's transaction: never retry inside it
      );
    } else {
      inserted = await this.#run('push', async () => {
        const knex = await this.#ready();
        const chunks = await plan(knex);
        // One INSERT is atomic on its own; a larger atomic batch is one transaction. PostgreSQL
        // inserts up to 10,000 rows in one statement (queries.ts#insertJobsUnnest: push(1000)
        // 19.4–21.1 → 6.3–6.9 ms measured) and wraps a larger batch in one transaction either
        // way (one commit, not one per statement).
        if (chunks.length > 1 && (o.atomic || this.#d.name === 'postgres')) {
          return this.#transaction(knex, (trx) => insertAll(trx, chunks));
        }
        return insertAll(knex, chunks);
      });
    }
    return { inserted, duplicates: jobs.length - inserted };
  }

  #hostTransaction(transaction: unknown): KnexRawLike {
    if (!isKnexRawLike(transaction)) {
      throw new TypeError('push(jobs, { transaction }): expected a knex transaction (knex.transaction())');
    }
    const dialect = dialectOf(transaction);
    if (dialect !== this.#d.name) {
      throw new TypeError(
        `push(jobs, { transaction }): the transaction is on ${dialect ?? 'an unsupported driver'}, this queue on ${this.#d.name}`,
      );
    }
    return transaction;
  }

  /**
   * @throws `SWITCHYARD_INVALID_JOB` naming every job whose params JSON is larger than
   *   `maxJobBytes`, or larger as a statement than this server takes (MySQL's `max_allowed_packet`).
   * @param bytes - each row's params size in a statement ({@link Q.paramsBytes}).
   */
  #assertJobsFit(rows: readonly Q.InsertRow[], bytes: readonly number[], packet: number): void {
    const issues: Issue[] = [];
    const packetRoom = packet - PACKET_HEADROOM;
    bytes.forEach((size, i) => {
      const row = rows[i] as Q.InsertRow;
      // `size` is the UTF-8 size, plus MySQL's escapes: only a candidate needs the exact count.
      const json = size > this.#maxJobBytes ? Buffer.byteLength(row.params) : size;
      let why: string | null = null;
      if (json > this.#maxJobBytes) why = `at most ${this.#maxJobBytes} (maxJobBytes)`;
      else if (size > packetRoom) {
        why = `at most ${packetRoom} as an escaped statement value (the server's max_allowed_packet is ${packet}); it takes ${size}`;
      }
      if (why === null) return;
      issues.push({
        path: `jobs[${i}].params`,
        message: `is ${json} bytes of JSON (job type ${row.type}); ${String(this)} stores ${why}`,
      });
    });
    if (issues.length > 0) throw invalidJob(issues);
  }

  #insertRow(job: NormalizedJob, now: number): Q.InsertRow {
    const releaseAt = job.releaseTimestamp ?? now;
    return {
      domain: job.domain,
      type: job.type,
      flags: job.rootJob?.isSelf ? Q.Flags.ROOT_IS_SELF : 0,
      params: JSON.stringify(job.params),
      sha1: job.sha1,
      dedupKey: job.sha1,
      rootSignature: job.rootJob?.signature ?? null,
      rootTimestamp: job.rootJob?.timestamp ?? null,
      requestId: job.requestId,
      enqueuedAt: now,
      releaseTs: job.releaseTimestamp,
      releaseAt,
      sortKey: Q.sortKeyFor(this.order, now, releaseAt, Math.random),
    };
  }

  // ---------------------------------------------------------------- pop

  protected override async doPop(): Promise<ClaimedJob | null> {
    return (await this.#claim(1))[0] ?? null;
  }

  protected override doBatchPop(count: number): Promise<ClaimedJob[]> {
    return this.#claim(count);
  }

  #claim(limit: number): Promise<ClaimedJob[]> {
    return this.#claims.add(limit);
  }

  /** One claim statement for the pops queued together: each gets its share, in pop order. */
  async #claimFor(limits: readonly number[]): Promise<ClaimedJob[][]> {
    let total = 0;
    for (const n of limits) total += n;
    const jobs = await this.#claimRows(total);
    const out: ClaimedJob[][] = [];
    let at = 0;
    for (const n of limits) {
      out.push(jobs.slice(at, at + n));
      at += n;
    }
    return out;
  }

  async #claimRows(limit: number): Promise<ClaimedJob[]> {
    const now = this.clock.now();
    const token = randomUUID();
    const args: Q.ClaimArgs = { ...this.#q, order: this.order, now, limit, token };
    const remove = this.claimTTL === 0;
    const d = this.#d;
    const rows = await this.#run('pop', async () => {
      const knex = await this.#ready();
      if (d.returning) {
        const claimed = await this.#rows(knex, Q.claimReturning(d, this.#t, args, remove));
        if (claimed.some((r) => r.sha1 !== null)) {
          // The claims are committed: a failed heir hand-over must not lose them (it only
          // matters when a released twin waits, and the next claim or maintenance retries it).
          await this.#rekey(knex).catch(() => undefined);
        }
        // RETURNING gives the new values of a claim, the old ones of a delete.
        return remove ? claimed.map((r): Row => ({ ...r, attempts: Number(r.attempts) + 1 })) : claimed;
      }
      return this.#lockingTransaction(knex, async (trx) => {
        if ((await this.#rows(trx, Q.pausedRow(this.#t, this.#q))).length > 0) return [];
        const picked = await this.#rows(trx, Q.claimSelect(d, this.#t, args));
        if (picked.length === 0) return picked;
        const ids = picked.map((r) => r.id as string | number);
        const q = remove ? Q.deleteByIds(this.#t, ids) : Q.claimByIds(d, this.#t, ids, now, token);
        await trx.raw(q.sql, q.bindings);
        if (picked.some((r) => r.sha1 !== null)) await this.#rekey(trx);
        return picked.map((r): Row => ({ ...r, attempts: Number(r.attempts) + 1 }));
      });
    });
    const jobs = rows.map((r) => toClaimed(r, now, `${token}.${String(r.id)}`));
    // RETURNING does not keep the ORDER BY: hand the batch out in pop order.
    const key = new Map(rows.map((r) => [String(r.id), Number(r.sort_key)]));
    return jobs.sort((a, b) => (key.get(a.id) ?? 0) - (key.get(b.id) ?? 0) || Number(a.id) - Number(b.id));
  }

  // ---------------------------------------------------------------- ack / release / extend

  protected override async doAck(job: ClaimRef): Promise<boolean> {
    return (await this.#acks.add([job]))[0] ?? false;
  }

  protected override doBatchAck(jobs: readonly ClaimRef[]): Promise<boolean[]> {
    return this.#acks.add(jobs);
  }

  /**
   * One ack statement for the acks queued together. A claim listed twice (in one call or in two
   * calls of the batch) acks once: the first listing gets true.
   */
  async #ackFor(calls: readonly (readonly ClaimRef[])[]): Promise<boolean[][]> {
    const refs: Ref[] = [];
    const seen = new Set<string>();
    for (const jobs of calls) {
      for (const job of jobs) {
        const id = this.#id(job.id);
        const key = `${job.id}\u0000${job.claimToken}`;
        if (id === null || seen.has(key)) continue;
        seen.add(key);
        refs.push({ id, token: job.claimToken });
      }
    }
    const deleted = new Set<string>();
    if (refs.length > 0) {
      const rows = await this.#run('ack', async () => {
        const knex = await this.#ready();
        if (this.#d.returning) return this.#rows(knex, Q.ackMany(this.#d, this.#t, refs));
        // Lock by primary key in id order (one lock order for every ack), then keep the rows
        // whose claims the tokens still hold (P-11).
        const ids = [...new Set(refs.map((r) => Number(r.id)))].sort((a, b) => a - b);
        const tokens = new Set(refs.map((r) => `${String(r.id)}\u0000${r.token}`));
        return this.#lockingTransaction(knex, async (trx) => {
          const locked = await this.#rows(trx, Q.lockByIds(this.#t, ids));
          const held = locked.filter((r) => tokens.has(`${String(r.id)}\u0000${String(r.claim_token)}`));
          if (held.length > 0) {
            const q = Q.deleteByIds(
              this.#t,
              held.map((r) => r.id as string | number),
            );
            await trx.raw(q.sql, q.bindings);
          }
          return held;
        });
      });
      for (const r of rows) deleted.add(`${String(r.id)}\u0000${String(r.claim_token)}`);
    }
    // One true per deleted claim: a job listed twice acks once.
    return calls.map((jobs) => jobs.map((job) => deleted.delete(`${job.id}\u0000${job.claimToken}`)));
  }

  protected override async doRelease(job: ClaimRef, options: ReleaseHookOptions): Promise<ReleaseOutcome> {
    const id = this.#id(job.id);
    if (id === null) return false;
    const now = this.clock.now();
    const releaseAt = now + options.delayMs;
    const args: Q.ReleaseArgs = {
      id,
      token: job.claimToken,
      maxTries: this.maxTries,
      releaseAt,
      releaseTs: options.delayMs > 0 ? releaseAt : undefined,
      sortKey: this.order === 'any' ? releaseAt : undefined,
      asHeir: false,
    };
    return this.#run('release', async () => {
      const knex = await this.#ready();
      let released: number;
      try {
        released = await this.#affected(knex, Q.releaseToQueue(this.#d, this.#t, args));
      } catch (err) {
        if (!isUniqueViolation(err)) throw err;
        // A twin was pushed while this job was claimed and holds the dedup slot: queue behind it
        // as its heir (still poppable; it takes the slot over when the twin is claimed).
        released = await this.#affected(knex, Q.releaseToQueue(this.#d, this.#t, { ...args, asHeir: true }));
        if (released === 1) await this.#rekey(knex);
      }
      if (released === 1) return 'released';
      const abandoned = await this.#affected(knex, Q.abandonOne(this.#t, id, job.claimToken, this.maxTries));
      return abandoned === 1 ? 'abandoned' : false;
    });
  }

  protected override async doExtendClaim(job: ClaimRef): Promise<boolean> {
    const id = this.#id(job.id);
    if (id === null) return false;
    const now = this.clock.now();
    return this.#run('extendClaim', async () => {
      const knex = await this.#ready();
      return (await this.#affected(knex, Q.extendClaim(this.#t, id, job.claimToken, now))) === 1;
    });
  }

  // ---------------------------------------------------------------- root jobs

  protected override async doRegisterRootJobs(
    roots: readonly RootJob[],
    options: { readonly transaction: unknown },
  ): Promise<void> {
    const now = this.clock.now();
    const expiresAt = now + this.rootJobTTL * 1000;
    const rows = roots.map((r) => ({ signature: r.signature, timestamp: r.timestamp, expiresAt }));
    const q = Q.upsertRoots(this.#d, this.#t, this.#q, rows, now);
    const trx = options.transaction === null ? null : this.#hostTransaction(options.transaction);
    await this.#run(
      'register root jobs',
      async () => {
        const knex = await this.#ready(trx && this.#d.name === 'sqlite' ? trx : undefined);
        await (trx ?? knex).raw(q.sql, q.bindings);
      },
      trx === null,
    );
  }

  protected override async doGetRootJobTimestamp(signature: string): Promise<number | null> {
    const now = this.clock.now();
    return this.#run('root job check', async () => {
      const knex = await this.#ready();
      const [row] = await this.#rows(knex, Q.rootTimestamp(this.#t, this.#q, signature, now));
      return row === undefined ? null : Number(row.root_timestamp);
    });
  }

  // ---------------------------------------------------------------- counts

  async #count(state: Q.StateName): Promise<number> {
    const now = this.clock.now();
    return this.#run(`count ${state}`, async () => {
      const knex = await this.#ready();
      const [row] = await this.#rows(knex, Q.countIn(this.#t, this.#q, state, now));
      return Number(row?.n ?? 0);
    });
  }

  protected override doGetSize(): Promise<number> {
    return this.#count('ready');
  }

  protected override doGetAcquiredCount(): Promise<number> {
    return this.#count('claimed');
  }

  protected override doGetDelayedCount(): Promise<number> {
    return this.#count('delayed');
  }

  protected override doGetAbandonedCount(): Promise<number> {
    return this.#count('abandoned');
  }

  // ---------------------------------------------------------------- pause

  protected override async doSetPaused(paused: boolean): Promise<void> {
    const now = this.clock.now();
    await this.#run(paused ? 'pause' : 'resume', async () => {
      const knex = await this.#ready();
      await this.#affected(
        knex,
        paused ? Q.pauseQueue(this.#d, this.#t, this.#q, now) : Q.resumeQueue(this.#t, this.#q),
      );
    });
  }

  // ---------------------------------------------------------------- periodic ticks

  /** The first tick ever is an insert-ignore, a later one a guarded UPDATE: one statement each. */
  protected override doClaimPeriodicTick(name: string, tick: number): Promise<boolean> {
    return this.#run('claimPeriodicTick', async () => {
      const knex = await this.#ready();
      if ((await this.#affected(knex, Q.insertTick(this.#d, this.#t, this.#q, name, tick))) === 1)
        return true;
      return (await this.#affected(knex, Q.advanceTick(this.#t, this.#q, name, tick))) === 1;
    });
  }

  protected override doLastPeriodicTick(name: string): Promise<number | null> {
    return this.#run('lastPeriodicTick', async () => {
      const knex = await this.#ready();
      const [row] = await this.#rows(knex, Q.tickRow(this.#t, this.#q, name));
      return row === undefined ? null : Number((row as { tick: unknown }).tick);
    });
  }

  protected override doIsPaused(): Promise<boolean> {
    return this.#run('isPaused', async () => {
      const knex = await this.#ready();
      return (await this.#rows(knex, Q.pausedRow(this.#t, this.#q))).length > 0;
    });
  }

  protected override async doIsEmpty(): Promise<boolean> {
    const now = this.clock.now();
    return this.#run('isEmpty', async () => {
      const knex = await this.#ready();
      return (await this.#rows(knex, Q.anyReady(this.#t, this.#q, now))).length === 0;
    });
  }

  // ---------------------------------------------------------------- delete / listing / maintenance

  protected override async doDelete(): Promise<void> {
    await this.#run('delete', async () => {
      const knex = await this.#ready();
      await this.#affected(knex, Q.deleteQueue(this.#t, this.#q));
    });
  }

  protected override doList(state: JobState): AsyncIterable<ListedJob> {
    const now = this.clock.now();
    const page = (after: string | number) =>
      this.#run(`list ${state}`, async () => {
        const knex = await this.#ready();
        return this.#rows(knex, Q.listPage(this.#t, this.#q, state, now, after, Q.PAGE_SIZE));
      });
    return (async function* list() {
      let after: string | number = 0;
      for (;;) {
        const rows = await page(after);
        for (const row of rows) yield toListed(row, state);
        const last = rows[rows.length - 1];
        if (rows.length < Q.PAGE_SIZE || last === undefined) return;
        after = last.id as string | number;
      }
    })();
  }

  protected override async doRunMaintenance({ now }: MaintenanceHookOptions): Promise<MaintenanceResult> {
    if (this.#d.name === 'mysql') return this.#mysqlMaintenance(now);
    return this.#run('maintenance', async () => {
      const knex = await this.#ready();
      let recycled = 0;
      let abandoned = 0;
      if (this.claimTTL > 0) {
        const cutoff = now - this.claimTTL * 1000;
        // Single statements: racing passes (many processes) each see a row once, under its row lock.
        abandoned = await this.#affected(knex, Q.abandonExpired(this.#t, this.#q, cutoff, this.maxTries));
        recycled = await this.#affected(
          knex,
          Q.recycleExpired(this.#d, this.#t, this.#q, cutoff, this.maxTries),
        );
        if (recycled > 0) await this.#rekey(knex);
      }
      const pruned = await this.#affected(
        knex,
        Q.pruneAbandoned(this.#t, this.#q, now - this.abandonedTTL * 1000),
      );
      await this.#affected(knex, Q.pruneRoots(this.#t, this.#q, now));
      // Due delayed jobs need no release: the claim reads `release_at <= now` (P-5).
      return { recycled, abandoned, pruned, released: 0 };
    });
  }

  /**
   * MySQL's maintenance: the expired claims in chunks, each a short READ COMMITTED transaction that
   * locks them `FOR UPDATE SKIP LOCKED` and updates them by primary key (see
   * `#lockingTransaction`). A row counts in the pass whose chunk changed it; a
   * chunk's counts are kept once it commits, so a retried chunk never counts a row twice.
   */
  async #mysqlMaintenance(now: number): Promise<MaintenanceResult> {
    let recycled = 0;
    let abandoned = 0;
    if (this.claimTTL > 0) {
      const cutoff = now - this.claimTTL * 1000;
      for (;;) {
        const chunk = await this.#run('maintenance', async () => {
          const knex = await this.#ready();
          return this.#lockingTransaction(knex, async (trx) => {
            const picked = await this.#rows(
              trx,
              Q.lockExpired(this.#d, this.#t, this.#q, cutoff, Q.PAGE_SIZE),
            );
            if (picked.length === 0) return { picked: 0, abandoned: 0, recycled: 0 };
            const ids = picked.map((r) => r.id as string | number);
            return {
              picked: picked.length,
              abandoned: await this.#affected(
                trx,
                Q.abandonExpiredByIds(this.#t, ids, cutoff, this.maxTries),
              ),
              recycled: await this.#affected(
                trx,
                Q.recycleExpiredByIds(this.#d, this.#t, ids, cutoff, this.maxTries),
              ),
            };
          });
        });
        abandoned += chunk.abandoned;
        recycled += chunk.recycled;
        if (chunk.picked < Q.PAGE_SIZE) break;
      }
    }
    const pruned = await this.#run('maintenance', async () => {
      const knex = await this.#ready();
      if (recycled > 0) await this.#rekey(knex);
      return this.#lockingTransaction(knex, async (trx) => {
        const n = await this.#affected(
          trx,
          Q.pruneAbandoned(this.#t, this.#q, now - this.abandonedTTL * 1000),
        );
        await this.#affected(trx, Q.pruneRoots(this.#t, this.#q, now));
        return n;
      });
    });
    return { recycled, abandoned, pruned, released: 0 };
  }

  protected override async doRepushAbandoned(): Promise<number> {
    let moved = 0;
    for (;;) {
      const n = await this.#run('repushAbandoned', async () => {
        const knex = await this.#ready();
        return this.#transaction(knex, async (trx) => {
          let taken: Row[];
          if (this.#d.returning) {
            taken = await this.#rows(trx, Q.takeAbandoned(this.#d, this.#t, this.#q, Q.PAGE_SIZE));
          } else {
            taken = await this.#rows(trx, Q.lockAbandoned(this.#t, this.#q, Q.PAGE_SIZE));
            if (taken.length > 0) {
              const q = Q.deleteByIds(
                this.#t,
                taken.map((r) => r.id as string | number),
              );
              await trx.raw(q.sql, q.bindings);
            }
          }
          if (taken.length === 0) return 0;
          const now = this.clock.now();
          const copies = taken.map((r) => this.#copyRow(r, now));
          const bytes = copies.map((c) => Q.paramsBytes(this.#d, c.params));
          const packet = await this.#db.maxPacket(trx);
          for (const [start, end] of Q.insertChunks(this.#d, bytes, packet - PACKET_HEADROOM)) {
            const q = Q.insertJobs(this.#d, this.#t, copies.slice(start, end));
            await trx.raw(q.sql, q.bindings);
          }
          return taken.length;
        });
      });
      moved += n;
      if (n < Q.PAGE_SIZE) return moved;
    }
  }

  /** A fresh copy of a stored job (attempts 0, ready now). A copy whose twin is queued is a duplicate. */
  #copyRow(r: Row, now: number): Q.InsertRow {
    const sha1 = str(r.sha1);
    return {
      domain: String(r.domain),
      type: String(r.type),
      flags: Number(r.flags),
      params: String(r.params),
      sha1,
      dedupKey: sha1,
      rootSignature: str(r.root_signature),
      rootTimestamp: num(r.root_timestamp),
      requestId: str(r.request_id),
      enqueuedAt: now,
      releaseTs: null,
      releaseAt: now,
      sortKey: Q.sortKeyFor(this.order, now, now, Math.random),
    };
  }

  // ---------------------------------------------------------------- siblings

  async #readyCounts(types: readonly string[], skipPaused = false): Promise<Map<string, number>> {
    const counts = new Map<string, number>();
    if (types.length === 0) return counts;
    const now = this.clock.now();
    const rows = await this.#run('sibling query', async () => {
      const knex = await this.#ready();
      return this.#rows(knex, Q.readyCountsByType(this.#t, this.domain, types, now, skipPaused));
    });
    for (const row of rows) counts.set(String(row.type), Number(row.n));
    return counts;
  }

  protected override async doGetSiblingQueuesWithJobs(types: readonly string[]): Promise<string[]> {
    const counts = await this.#readyCounts(types, true);
    return types.filter((type) => (counts.get(type) ?? 0) > 0);
  }

  protected override async doGetSiblingQueueSizes(types: readonly string[]): Promise<Record<string, number>> {
    const counts = await this.#readyCounts(types);
    const out: Record<string, number> = {};
    for (const type of types) out[type] = counts.get(type) ?? 0;
    return out;
  }

  protected override async doListStoredQueues(): Promise<StoredQueue[]> {
    const rows = await this.#run('stored queues', async () => {
      const knex = await this.#ready();
      return this.#rows(knex, Q.storedQueues(this.#t));
    });
    return rows
      .map((r) => ({ domain: String(r.domain), type: String(r.type) }))
      .sort((a, b) => (a.domain === b.domain ? cmp(a.type, b.type) : cmp(a.domain, b.domain)));
  }

  // ---------------------------------------------------------------- close

  protected override async doClose(): Promise<void> {
    if (this.#closes === 'private') await releasePrivateDatabase(this.#db);
    else if (this.#closes === 'handle') await this.#db.close();
  }
}

// ------------------------------------------------------------------ rows → jobs

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
const str = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));
const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

function rootOf(r: Row): RootJob | null {
  const signature = str(r.root_signature);
  if (signature === null) return null;
  const timestamp = Number(r.root_timestamp);
  return (Number(r.flags) & Q.Flags.ROOT_IS_SELF) !== 0
    ? { signature, timestamp, isSelf: true }
    : { signature, timestamp };
}

function toClaimed(r: Row, now: number, token: string): ClaimedJob {
  const sha1 = str(r.sha1);
  return {
    id: String(r.id),
    type: String(r.type),
    params: JSON.parse(String(r.params)) as JsonObject,
    domain: String(r.domain),
    releaseTimestamp: num(r.release_ts),
    removeDuplicates: sha1 !== null,
    sha1,
    rootJob: rootOf(r),
    requestId: str(r.request_id),
    attempts: Number(r.attempts),
    enqueuedAt: Number(r.enqueued_at),
    claimedAt: now,
    claimToken: token,
    partition: null,
  };
}

function toListed(r: Row, state: JobState): ListedJob {
  const sha1 = str(r.sha1);
  return {
    id: String(r.id),
    state,
    type: String(r.type),
    domain: String(r.domain),
    params: JSON.parse(String(r.params)) as JsonObject,
    attempts: Number(r.attempts),
    enqueuedAt: Number(r.enqueued_at),
    releaseTimestamp: num(r.release_ts),
    claimedAt: num(r.claimed_at),
    claimToken: state === 'claimed' ? str(r.claim_token) : null,
    sha1,
    rootJob: rootOf(r),
    removeDuplicates: sha1 !== null,
    requestId: str(r.request_id),
  };
}

// ------------------------------------------------------------------ the registry's module

/** Opens a `connections` entry of class `sql` (no I/O until the first query). */
function openConnection(settings: BackendSettings) {
  const db = SqlDatabase.open(settings as SqlConnectionSettings);
  return { handle: db, close: () => db.close() };
}

function createQueue(context: BackendContext): JobQueue {
  const settings = context.settings as SqlConnectionSettings & Record<string, unknown>;
  const connection = context.connection;
  if (connection === null) return new SqlJobQueue({ ...context.queue, ...settings });
  const handle = connection.handle;
  const where = `jobTypeConf.${context.queue.type}`;
  const issues: Issue[] = [];
  if (!(handle instanceof SqlDatabase)) {
    issues.push({
      path: `${where}.connection`,
      message: 'is not a sql connection',
      value: context.connectionName,
    });
  }
  for (const key of [...CONNECTION_KEYS, 'knex']) {
    if (settings[key] !== undefined) {
      issues.push({
        path: `${where}.${key}`,
        message: `belongs on the connection entry (connections.${context.connectionName ?? '?'}), not next to connection`,
      });
    }
  }
  if (issues.length > 0) throw configInvalid(issues, `sql queue "${context.queue.type}"`);
  const overrides: { prefix?: string; migrate?: MigrateMode } = {};
  if (settings.prefix !== undefined) overrides.prefix = settings.prefix;
  if (settings.migrate !== undefined) overrides.migrate = settings.migrate;
  return new SqlJobQueue({ ...context.queue, ...overrides, database: handle as SqlDatabase });
}

/** The sql backend as the registry loads it (`class: sql`). */
export const sqlBackend: BackendModule = Object.freeze({
  name: 'sql',
  supports: sqlSupports,
  validateSettings: (settings: BackendSettings, path: string) => validateSqlSettings(settings, path),
  validateConnection: (settings: BackendSettings, path: string) => validateSqlSettings(settings, path),
  openConnection,
  createQueue,
});
