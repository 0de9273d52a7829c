/**
 * {@link SqlJobQueue}: a queue in a SQL database through knex. What differs per dialect, the
 * claim / ack / expiry strategies included, is the queue's {@link Dialect}; rows ↔ jobs is `rows.ts`.
 *
 * @packageDocumentation
 */
import { randomUUID } from 'node:crypto';
import type { FlowNode } from '../../core/flow.js';
import type { JobState, ListedJob, NormalizedJob, RootJob } from '../../core/job.js';
import {
  type ClaimedJob,
  type ClaimRef,
  EMPTY_QUEUE_STATS,
  JobQueue,
  type JobQueueOptions,
  type MaintenanceHookOptions,
  type MaintenanceResult,
  type PushHookOptions,
  type PushResult,
  type QueueStats,
  type ReleaseHookOptions,
  type ReleaseOutcome,
  type StoredQueue,
} from '../../core/job-queue.js';
import { GroupLimitTable } from '../../core/queue-options.js';
import { defineSupports, type Supports } from '../../core/supports.js';
import { cancelHolders, cancelJob, claimsHeld } from './cancel.js';
import { Coalescer } from './coalescer.js';
import { type DatabaseHold, holdDatabase, queueSettings, type SqlDatabase } from './database.js';
import type { Dialect, HeldRef, Row, StrategyContext } from './dialects/index.js';
import { isUniqueViolation, MAX_TRIES, retryingConflicts } from './errors.js';
import { flowFlags, insertFlow, settleNow, sweepLinks } from './flows.js';
import {
  CONTENDED,
  claimGrouped,
  deleteQueueGroups,
  GROUP_CHECK_MS,
  groupKeysOf,
  hasGroups,
  pruneGroups,
  registerGroups,
} from './groups.js';
import { dialectOf, isKnexRawLike, type KnexLike, type KnexRawLike } from './knex-like.js';
import * as Q from './queries.js';
import {
  assertJobsFit,
  cmp,
  copyRow,
  insertRow,
  PACKET_HEADROOM,
  popOrder,
  toClaimed,
  toListed,
} from './rows.js';
import type { MigrateMode, SqlConnectionSettings } from './settings.js';

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
  // Read, then delete iff still in that state (cancel.ts); by key through the dedup index.
  cancel: true,
  cancelByKey: true,
  // A `neg_priority` column (migration 5) leading the claim index's order: ORDER BY neg_priority, sort_key, id.
  priorities: true,
  // Waiting jobs in state 3 and a links table (migration 6, flows.ts), settled in transactions.
  dependencies: true,
  // Grouped jobs in state 4, a turn / rate-window row per group (migration 7, groups.ts).
  groupLimits: true,
});

/**
 * Rows one claim statement takes at most for the pops queued together (a single larger
 * popBatch still claims its count in one statement).
 */
const CLAIM_ROWS_MAX = 1000;

/** Grouped claims tried again when every usable group row was held by another claim. */
const CONTENDED_RETRIES = 3;

/** Claims one ack statement deletes at most for the acks queued together. */
const ACK_ROWS_MAX = 1000;

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

/**
 * A job queue in a SQL database. Durable, every order, delayed jobs, atomic dedup, root jobs,
 * batch pop / ack, sibling queries, transactional enqueue.
 */
export class SqlJobQueue<T extends string = string> extends JobQueue<T> {
  readonly #db: SqlDatabase;
  /** What close() releases: nothing (a shared database), its handle on a host knex, or its private database. */
  readonly #hold: DatabaseHold;
  readonly #prefix: string;
  readonly #migrate: MigrateMode;
  readonly #maxJobBytes: number;
  readonly #d: Dialect;
  readonly #t: Q.Tables;
  readonly #q: Q.QueueKey;
  /** What the dialect's strategies use of this queue. */
  readonly #cx: StrategyContext;
  /** `groupLimits`, resolved per key. */
  readonly #limits: GroupLimitTable;
  /** True while the queue is known to have groups: claims go through `groups.ts#claimGrouped`. */
  #grouped = false;
  /** When (performance.now()) this handle last looked for groups. */
  #groupsCheckedAt = Number.NEGATIVE_INFINITY;
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
    const s = queueSettings(options, this);
    this.#hold = holdDatabase(s, options.database);
    this.#db = this.#hold.db;
    this.#prefix = s.prefix ?? this.#db.prefix;
    this.#migrate = s.migrate ?? this.#db.migrateMode;
    this.#maxJobBytes = s.maxJobBytes ?? this.#db.maxJobBytes;
    this.#d = this.#db.dialect;
    this.#t = Q.tablesFor(this.#prefix);
    this.#q = { domain: this.domain, type: this.type };
    this.#limits = new GroupLimitTable(this.groupLimits);
    this.#cx = Object.freeze({
      dialect: this.#d,
      t: this.#t,
      q: this.#q,
      claimTTL: this.claimTTL,
      maxTries: this.maxTries,
      abandonedTTL: this.abandonedTTL,
      run: <R>(what: string, fn: (knex: KnexLike) => Promise<R>) => this.#run(what, fn),
      rekey: (db: KnexRawLike) => this.#rekey(db),
      rows: (db: KnexRawLike, q: Q.Query) => this.#rows(db, q),
      affected: (db: KnexRawLike, q: Q.Query) => this.#affected(db, q),
    });
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

  /**
   * Runs `fn` on the knex instance with the schema ensured, retrying deadlocks / serialization
   * failures and wrapping driver errors. Inside a `host` transaction nothing is retried (a failed
   * statement aborted it), and where the pool is one connection (SQLite) the host's transaction
   * holds it, so the schema is checked through that transaction.
   */
  #run<R>(what: string, fn: (knex: KnexLike) => Promise<R>, host: KnexRawLike | null = null): Promise<R> {
    const via = host !== null && this.#d.oneConnection ? host : undefined;
    return retryingConflicts(
      async () => fn(await this.#ready(via)),
      () => `${String(this)}: ${what}`,
      this.#db.secrets,
      host === null,
    );
  }

  async #rows(db: KnexRawLike, q: Q.Query): Promise<Row[]> {
    return this.#d.rows(await db.raw(q.sql, q.bindings));
  }

  async #affected(db: KnexRawLike, q: Q.Query): Promise<number> {
    return this.#d.affected(await db.raw(q.sql, q.bindings));
  }

  /** A job id as the driver binds it, or null when it cannot be one of ours. */
  #id(id: string): string | number | null {
    return /^[1-9][0-9]{0,18}$/.test(id) ? this.#d.bindId(id) : null;
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
    const rows = jobs.map((job) => insertRow(job, now, this.order));
    const bytes = rows.map((row) => Q.paramsBytes(this.#d, row.params));
    /** Statements of at most `insertChunk` rows and one packet each; checked before the first INSERT, so a batch with a job too large writes nothing. */
    const plan = async (db: KnexRawLike): Promise<Array<readonly [number, number]>> => {
      const packet = await this.#db.maxPacket(db);
      assertJobsFit(rows, bytes, packet, this.#maxJobBytes, String(this));
      return Q.insertChunks(this.#d, bytes, packet - PACKET_HEADROOM);
    };
    const groups = groupKeysOf(rows);
    const insertAll = async (db: KnexRawLike, chunks: ReadonlyArray<readonly [number, number]>) => {
      // Grouped jobs: their groups' rows first, in the same transaction (groups.ts).
      if (groups.length > 0) await registerGroups(this.#cx, db, groups);
      let inserted = 0;
      for (const [start, end] of chunks) {
        inserted += await this.#affected(db, Q.insertJobs(this.#d, this.#t, rows.slice(start, end)));
      }
      return inserted;
    };
    let inserted: number;
    if (o.transaction !== null) {
      const trx = this.#hostTransaction(o.transaction);
      inserted = await this.#run('push', async () => insertAll(trx, await plan(trx)), trx);
    } else {
      inserted = await this.#run('push', async (knex) => {
        const chunks = await plan(knex);
        // One INSERT is atomic on its own; a larger atomic batch is one transaction. PostgreSQL
        // inserts up to 10,000 rows in one statement (queries.ts#insertJobsUnnest: push(1000)
        // 19.4–21.1 → 6.3–6.9 ms measured) and wraps a larger batch in one transaction either
        // way (one commit, not one per statement: `batchInOneTransaction`).
        if (groups.length > 0 || (chunks.length > 1 && (o.atomic || this.#d.batchInOneTransaction))) {
          return knex.transaction((trx) => insertAll(trx, chunks));
        }
        return insertAll(knex, chunks);
      });
    }
    if (groups.length > 0) this.#grouped = true;
    return { inserted, duplicates: jobs.length - inserted };
  }

  /** One transaction: the flow's rows one INSERT each (for their ids), then its links (`flows.ts`). */
  protected override async doPushFlow(nodes: readonly FlowNode[]): Promise<string[]> {
    const now = this.clock.now();
    const dependents = new Set(nodes.flatMap((n) => n.after));
    const rows = nodes.map((node, i) => {
      const row = insertRow(node.job, now, this.order);
      return { ...row, flags: flowFlags(row.flags, node, dependents.has(i)) };
    });
    const packet = await this.#run('pushFlow', (knex) => this.#db.maxPacket(knex));
    assertJobsFit(
      rows,
      rows.map((row) => Q.paramsBytes(this.#d, row.params)),
      packet,
      this.#maxJobBytes,
      String(this),
    );
    const ids = await insertFlow(this.#cx, nodes, rows);
    if (groupKeysOf(rows).length > 0) this.#grouped = true;
    return ids;
  }

  protected override doGetWaitingCount(): Promise<number> {
    return this.#count('waiting');
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
    const claimed = (rows: readonly Row[]) => rows.map((r) => toClaimed(r, now, `${token}.${String(r.id)}`));
    const looked = !this.#grouped && performance.now() - this.#groupsCheckedAt >= GROUP_CHECK_MS;
    if (this.#grouped || looked) {
      const grouped = await this.#claimGrouped(args, remove);
      // In the groups' turn order (groups.ts).
      if (grouped !== null) return claimed(grouped);
    }
    const rows = await this.#cx.run('pop', (knex) => this.#d.claim(this.#cx, knex, args, remove));
    // RETURNING does not keep the ORDER BY: hand the batch out in pop order (CLAIM_ORDER).
    const jobs = claimed(rows.sort(popOrder));
    // Short: grouped jobs another handle pushed may be waiting (a keyless claim never reads them).
    if (jobs.length < limit && !looked) {
      const more = await this.#claimGrouped({ ...args, limit: limit - jobs.length }, remove);
      if (more !== null) for (const job of claimed(more)) jobs.push(job);
    }
    return jobs;
  }

  /**
   * A grouped claim when the queue has groups (looked up first unless this handle knows it has),
   * else null. Sets what this handle knows.
   */
  async #claimGrouped(args: Q.ClaimArgs, remove: boolean): Promise<Row[] | null> {
    if (!this.#grouped) {
      this.#groupsCheckedAt = performance.now();
      this.#grouped = await this.#cx.run('pop', (knex) => hasGroups(this.#cx, knex));
      if (!this.#grouped) return null;
    }
    const claim = () =>
      this.#cx.run('pop', (knex) => claimGrouped(this.#cx, knex, args, this.#limits, remove));
    let rows = await claim();
    // Every group row it could use was held by another claim (each holds one for a few ms): try
    // again shortly rather than report an empty queue (a runner would sleep on it).
    for (let retry = 0; rows === CONTENDED && retry < CONTENDED_RETRIES; retry++) {
      await new Promise((r) => setTimeout(r, 1 + Math.floor(Math.random() * 3)));
      rows = await claim();
    }
    if (rows === null) this.#grouped = false;
    return rows === CONTENDED ? [] : rows;
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
    const refs: HeldRef[] = [];
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
      const rows = await this.#cx.run('ack', (knex) => this.#d.ackHeld(this.#cx, knex, refs));
      const settle: (string | number)[] = [];
      for (const r of rows) {
        deleted.add(`${String(r.id)}\u0000${String(r.claim_token)}`);
        if ((Number(r.flags) & Q.Flags.HAS_DEPENDENTS) !== 0) settle.push(r.id as string | number);
      }
      // Flow jobs waiting on these: a second transaction (maintenance redoes it after a crash).
      if (settle.length > 0)
        await this.dependentsReady(await settleNow(this.#cx, settle, true, this.clock.now()));
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
    return this.#run('release', async (knex) => {
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
    }).then(async (outcome) => {
      // Jobs waiting on it fail (maintenance's sweep redoes this after a crash).
      if (outcome === 'abandoned') await this.dependentsReady(await settleNow(this.#cx, [id], false, now));
      return outcome;
    });
  }

  protected override async doExtendClaim(job: ClaimRef): Promise<boolean> {
    const id = this.#id(job.id);
    if (id === null) return false;
    const now = this.clock.now();
    return this.#run('extendClaim', async (knex) => {
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
      async (knex) => {
        await (trx ?? knex).raw(q.sql, q.bindings);
      },
      trx,
    );
  }

  protected override async doGetRootJobTimestamp(signature: string): Promise<number | null> {
    const now = this.clock.now();
    return this.#run('root job check', async (knex) => {
      const [row] = await this.#rows(knex, Q.rootTimestamp(this.#t, this.#q, signature, now));
      return row === undefined ? null : Number(row.root_timestamp);
    });
  }

  // ---------------------------------------------------------------- counts

  async #count(state: Q.StateName): Promise<number> {
    const now = this.clock.now();
    return this.#run(`count ${state}`, async (knex) => {
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

  // ---------------------------------------------------------------- cancellation

  protected override async doCancel(id: string): Promise<JobState | null> {
    const bound = this.#id(id);
    if (bound === null) return null;
    const cancelled = await cancelJob(this.#cx, bound, this.clock.now());
    if (cancelled === null) return null;
    await this.dependentsReady(cancelled.queued);
    return cancelled.was;
  }

  protected override doCancelByDedupKey(sha1: string): Promise<number> {
    return cancelHolders(this.#cx, sha1);
  }

  protected override doClaimsHeld(jobs: readonly ClaimRef[]): Promise<boolean[]> {
    return claimsHeld(this.#cx, jobs, (id) => this.#id(id));
  }

  // ---------------------------------------------------------------- pause

  protected override async doSetPaused(paused: boolean): Promise<void> {
    const now = this.clock.now();
    await this.#run(paused ? 'pause' : 'resume', async (knex) => {
      await this.#affected(
        knex,
        paused ? Q.pauseQueue(this.#d, this.#t, this.#q, now) : Q.resumeQueue(this.#t, this.#q),
      );
    });
  }

  // ---------------------------------------------------------------- periodic ticks

  /** The first tick ever is an insert-ignore, a later one a guarded UPDATE: one statement each. */
  protected override doClaimPeriodicTick(name: string, tick: number): Promise<boolean> {
    return this.#run('claimPeriodicTick', async (knex) => {
      if ((await this.#affected(knex, Q.insertTick(this.#d, this.#t, this.#q, name, tick))) === 1)
        return true;
      return (await this.#affected(knex, Q.advanceTick(this.#t, this.#q, name, tick))) === 1;
    });
  }

  protected override doLastPeriodicTick(name: string): Promise<number | null> {
    return this.#run('lastPeriodicTick', async (knex) => {
      const [row] = await this.#rows(knex, Q.tickRow(this.#t, this.#q, name));
      return row === undefined ? null : Number((row as { tick: unknown }).tick);
    });
  }

  protected override doIsPaused(): Promise<boolean> {
    return this.#run('isPaused', async (knex) => {
      return (await this.#rows(knex, Q.pausedRow(this.#t, this.#q))).length > 0;
    });
  }

  protected override async doIsEmpty(): Promise<boolean> {
    const now = this.clock.now();
    return this.#run('isEmpty', async (knex) => {
      return (await this.#rows(knex, Q.anyReady(this.#t, this.#q, now))).length === 0;
    });
  }

  // ---------------------------------------------------------------- delete / listing / maintenance

  protected override async doDelete(): Promise<void> {
    await this.#run('delete', async (knex) => {
      await knex.transaction(async (trx) => {
        await this.#affected(trx, Q.deleteQueueLinks(this.#t, this.#q));
        await this.#affected(trx, deleteQueueGroups(this.#t, this.#q));
        await this.#affected(trx, Q.deleteQueue(this.#t, this.#q));
      });
    });
  }

  protected override doList(state: JobState): AsyncIterable<ListedJob> {
    const now = this.clock.now();
    const page = (after: string | number) =>
      this.#run(`list ${state}`, async (knex) => {
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
    const done = await this.#d.runMaintenance(this.#cx, now);
    // After the pass: its own abandons fail their dependents; a lost ack settle is redone.
    await this.dependentsReady(await sweepLinks(this.#cx, now));
    await pruneGroups(this.#cx, now);
    // Due delayed jobs need no release: the claim reads `release_at <= now` (P-5).
    return { ...done, released: 0 };
  }

  protected override async doRepushAbandoned(): Promise<number> {
    // An abandoned dependency's links settle (as a failure) before its copy is a new job.
    await this.dependentsReady(await sweepLinks(this.#cx, this.clock.now()));
    let moved = 0;
    for (;;) {
      const n = await this.#run('repushAbandoned', async (knex) => {
        // At the server's default isolation (MySQL's claim, ack and expiry: READ COMMITTED, mysql.ts).
        return knex.transaction(async (trx) => {
          const taken = await this.#d.takeAbandoned(this.#cx, trx, Q.PAGE_SIZE);
          if (taken.length === 0) return 0;
          const now = this.clock.now();
          const copies = taken.map((r) => copyRow(r, now, this.order));
          const groups = groupKeysOf(copies);
          if (groups.length > 0) await registerGroups(this.#cx, trx, groups);
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

  // ---------------------------------------------------------------- siblings

  async #readyCounts(types: readonly string[], skipPaused = false): Promise<Map<string, number>> {
    const counts = new Map<string, number>();
    if (types.length === 0) return counts;
    const now = this.clock.now();
    const rows = await this.#run('sibling query', async (knex) => {
      return this.#rows(knex, Q.readyCountsByType(this.#t, this.domain, types, now, skipPaused));
    });
    for (const row of rows) counts.set(String(row.type), Number(row.n));
    return counts;
  }

  protected override async doGetSiblingQueuesWithJobs(types: readonly string[]): Promise<string[]> {
    const counts = await this.#readyCounts(types, true);
    return types.filter((type) => (counts.get(type) ?? 0) > 0);
  }

  protected override async doGetSiblingQueueStats(
    types: readonly string[],
  ): Promise<Record<string, QueueStats>> {
    const out: Record<string, QueueStats> = {};
    for (const type of types) out[type] = EMPTY_QUEUE_STATS;
    if (types.length === 0) return out;
    const now = this.clock.now();
    const rows = await this.#run('sibling stats', async (knex) => {
      return this.#rows(knex, Q.statsByType(this.#t, this.domain, types, now));
    });
    for (const row of rows) {
      const type = String(row.type);
      if (!Object.hasOwn(out, type)) continue;
      out[type] = {
        ready: Number(row.n_ready ?? 0),
        claimed: Number(row.n_claimed ?? 0),
        delayed: Number(row.n_delayed ?? 0),
        abandoned: Number(row.n_abandoned ?? 0),
        oldestReadyAt: row.n_oldest === null || row.n_oldest === undefined ? null : Number(row.n_oldest),
      };
    }
    return out;
  }

  protected override async doGetSiblingQueueSizes(types: readonly string[]): Promise<Record<string, number>> {
    const counts = await this.#readyCounts(types);
    const out: Record<string, number> = {};
    for (const type of types) out[type] = counts.get(type) ?? 0;
    return out;
  }

  protected override async doListStoredQueues(): Promise<StoredQueue[]> {
    const rows = await this.#run('stored queues', async (knex) => {
      return this.#rows(knex, Q.storedQueues(this.#t));
    });
    return rows
      .map((r) => ({ domain: String(r.domain), type: String(r.type) }))
      .sort((a, b) => (a.domain === b.domain ? cmp(a.type, b.type) : cmp(a.domain, b.domain)));
  }

  // ---------------------------------------------------------------- close

  protected override async doClose(): Promise<void> {
    await this.#hold.release();
  }
}
