/**
 * Every statement the sql backend runs, as pure builders returning `{ sql, bindings }` (STYLE 13,
 * pg-boss `plans.ts`): no I/O here, so each can be checked without a database. Times are bound
 * Unix ms from the queue's clock, never the server's `now()`.
 *
 * Job rows (see `migrations/0001_init.ts`): `state` 0 = queued (ready when `release_at <= now`,
 * else delayed), 1 = claimed, 2 = abandoned. `dedup_key` is the sha1 while the job is queued and
 * holds its queue's dedup slot, `~<sha1>:<id>` while it is queued behind a twin that holds the slot
 * (an "heir": a released or recycled job whose twin was pushed meanwhile), NULL otherwise.
 * `sort_key` is the pop order key, set at push from the queue's order; `neg_priority` the job's
 * priority negated (migration 5), which orders the claim before it.
 *
 * @packageDocumentation
 */
import type { Order } from '../../core/supports.js';
import type { Binding, DialectName } from './knex-like.js';

/**
 * What the builders need to know of a dialect: its name and its SQL spellings. The dialects
 * (`dialects/`) implement it, together with the strategies that use these builders.
 */
export interface DialectSql {
  readonly name: DialectName;
  /** A string concatenation expression of SQL expressions. */
  concat(...parts: readonly string[]): string;
  /** `INSERT … ` head and tail that skip rows hitting a unique index (P-13: never read-then-insert). */
  readonly insertIgnore: { readonly head: string; readonly tail: string };
  /**
   * An `UPDATE` head that skips rows hitting a unique index (`UPDATE IGNORE`, `UPDATE OR IGNORE`),
   * or plain `UPDATE` where the dialect has none (PostgreSQL: the caller retries on a conflict).
   */
  readonly updateIgnore: string;
  /** True when `UPDATE` / `DELETE … RETURNING` works (PostgreSQL, SQLite ≥ 3.35; not MySQL 8). */
  readonly returning: boolean;
  /** The row-locking clause of the claim's SELECT (`FOR UPDATE SKIP LOCKED`), or '' (SQLite). */
  readonly skipLocked: string;
}

/** A statement and its bindings, in placeholder order. */
export interface Query {
  readonly sql: string;
  readonly bindings: readonly Binding[];
}

/** The table names for one prefix. */
export interface Tables {
  readonly prefix: string;
  readonly jobs: string;
  readonly rootJobs: string;
  readonly migrations: string;
  /** Paused (domain, type) pairs (migration 3). */
  readonly paused: string;
  /** The last claimed tick per (domain, type, periodic schedule) (migration 4). */
  readonly ticks: string;
  /** Unsettled flow links, dependency → dependent (migration 6, `flows.ts`). */
  readonly deps: string;
  /** Flow-control groups: turn and rate window per (domain, type, group key) (migration 7, `groups.ts`). */
  readonly groups: string;
}

/** Table names for `prefix` (validated elsewhere: `[a-z_][a-z0-9_]*`, so never quoted). */
export function tablesFor(prefix: string): Tables {
  return Object.freeze({
    prefix,
    jobs: `${prefix}jobs`,
    rootJobs: `${prefix}root_jobs`,
    migrations: `${prefix}migrations`,
    paused: `${prefix}paused_queues`,
    ticks: `${prefix}periodic_ticks`,
    deps: `${prefix}job_deps`,
    groups: `${prefix}job_groups`,
  });
}

/**
 * Values of the `state` column. A queued job with a group key is `GROUPED` (4), not `QUEUED` (0):
 * the keyless claim never reads it (migration 7, `groups.ts`).
 */
export const State = Object.freeze({ QUEUED: 0, CLAIMED: 1, ABANDONED: 2, WAITING: 3, GROUPED: 4 });

/** Both queued states, for `state IN (…)`: keyless and grouped. */
const QUEUED_STATES = `${State.QUEUED}, ${State.GROUPED}`;

/** The queued state of a row by its group key: what a release, a recycle or a settle sets. */
export const QUEUED_STATE_OF_ROW = `CASE WHEN group_key IS NULL THEN ${State.QUEUED} ELSE ${State.GROUPED} END`;

/** The queued state of a job with `groupKey`. */
export function queuedState(groupKey: string | null): number {
  return groupKey === null ? State.QUEUED : State.GROUPED;
}

/**
 * Bits of the `flags` column: a root job's own registration; a flow job others wait for (its
 * settle has links to follow); a flow job whose policy ignores a failed dependency.
 */
export const Flags = Object.freeze({ ROOT_IS_SELF: 1, HAS_DEPENDENTS: 2, IGNORE_FAILED_DEPENDENCY: 4 });

/** Rows per multi-row INSERT (16 bindings each: 8,000 per statement, under every dialect's limit). */
export const INSERT_CHUNK = 500;

/**
 * Rows per PostgreSQL `INSERT … SELECT … FROM unnest(…)` (array parameters: one bind per column,
 * whatever the row count, so the chunk is bounded by memory only).
 */
export const PG_INSERT_CHUNK = 10_000;

/** Rows per INSERT statement of a dialect (see {@link insertJobs}). */
export function insertChunk(d: DialectSql): number {
  return d.name === 'postgres' ? PG_INSERT_CHUNK : INSERT_CHUNK;
}

/**
 * The most params bytes one INSERT carries, whatever the dialect allows: bounds the client memory
 * of one statement (a PostgreSQL array parameter, or mysql2's escaped copy, is built whole).
 */
export const STATEMENT_BYTES_MAX = 64 * 1024 * 1024;

/**
 * The bytes a params string takes in a statement: UTF-8 bytes, plus on MySQL one backslash per
 * character mysql2 escapes when it inlines the value (`"`, `'`, `\\`, NUL, newline, CR, tab,
 * backspace, ^Z): JSON's quotes can double a job's size in the packet.
 */
export function paramsBytes(d: DialectSql, params: string): number {
  const bytes = Buffer.byteLength(params);
  if (d.name !== 'mysql') return bytes;
  let escapes = 0;
  for (let i = 0; i < params.length; i++) {
    const c = params.charCodeAt(i);
    if (
      c === 34 ||
      c === 39 ||
      c === 92 ||
      c === 0 ||
      c === 10 ||
      c === 13 ||
      c === 9 ||
      c === 8 ||
      c === 26
    ) {
      escapes++;
    }
  }
  return bytes + escapes;
}

/**
 * Splits rows into INSERT statements: `[start, end)` ranges of at most {@link insertChunk} rows
 * whose params add up to at most `maxBytes` (and {@link STATEMENT_BYTES_MAX}); a row larger than
 * that still gets a statement of its own (callers refuse such rows first).
 *
 * @param bytes - each row's params size in bytes.
 */
export function insertChunks(
  d: DialectSql,
  bytes: readonly number[],
  maxBytes: number,
): Array<readonly [number, number]> {
  const rowsMax = insertChunk(d);
  const budget = Math.min(maxBytes, STATEMENT_BYTES_MAX);
  const chunks: Array<readonly [number, number]> = [];
  let start = 0;
  let sum = 0;
  for (let i = 0; i < bytes.length; i++) {
    const size = bytes[i] ?? 0;
    if (i > start && (i - start >= rowsMax || sum + size > budget)) {
      chunks.push([start, i]);
      start = i;
      sum = 0;
    }
    sum += size;
  }
  if (bytes.length > start) chunks.push([start, bytes.length]);
  return chunks;
}

/** Rows per listing page and per repush batch. */
export const PAGE_SIZE = 500;

/** The columns a job row is read with. */
export const JOB_COLUMNS: readonly string[] = Object.freeze([
  'id',
  'domain',
  'type',
  'state',
  'flags',
  'params',
  'sha1',
  'root_signature',
  'root_timestamp',
  'request_id',
  'attempts',
  'enqueued_at',
  'release_ts',
  'release_at',
  'claimed_at',
  'claim_token',
  'sort_key',
  'neg_priority',
  'group_key',
]);

const INSERT_COLUMNS: readonly string[] = Object.freeze([
  'domain',
  'type',
  'state',
  'flags',
  'params',
  'sha1',
  'dedup_key',
  'root_signature',
  'root_timestamp',
  'request_id',
  'attempts',
  'enqueued_at',
  'release_ts',
  'release_at',
  'sort_key',
  'neg_priority',
  'group_key',
]);

/** One row to insert (a pushed job, or the fresh copy of an abandoned one). */
export interface InsertRow {
  readonly domain: string;
  readonly type: string;
  readonly flags: number;
  /** JSON text. */
  readonly params: string;
  readonly sha1: string | null;
  /** The sha1 when the job deduplicates (it competes for the slot), else null. */
  readonly dedupKey: string | null;
  readonly rootSignature: string | null;
  readonly rootTimestamp: number | null;
  readonly requestId: string | null;
  readonly enqueuedAt: number;
  /** The user-visible releaseTimestamp (null when not delayed). */
  readonly releaseTs: number | null;
  /** When the job becomes ready. */
  readonly releaseAt: number;
  readonly sortKey: number;
  /** The job's priority (stored negated: {@link negPriority}). */
  readonly priority: number;
  /** The job's flow-control group (migration 7), or null. */
  readonly groupKey: string | null;
}

/** One queue: the `(domain, type)` every statement is scoped to. */
export interface QueueKey {
  readonly domain: string;
  readonly type: string;
}

/**
 * The pop order key of a job pushed (or released) at `releaseAt` by a queue of `order`:
 * `fifo` → 0 (so the claim index orders by id, i.e. push order), `timestamp` → enqueue time,
 * `random` → a random 31-bit integer, `any` → the ready time, so the claim is a pure index range
 * scan (`sort_key <= now`) that never visits a delayed row.
 */
export function sortKeyFor(
  order: Order,
  enqueuedAt: number,
  releaseAt: number,
  random: () => number,
): number {
  switch (order) {
    case 'fifo':
      return 0;
    case 'timestamp':
      return enqueuedAt;
    case 'random':
      return Math.floor(random() * 2 ** 31);
    default:
      return releaseAt;
  }
}

/**
 * The `neg_priority` column of a job of `priority` (migration 5): the claim index holds it
 * ascending right before `sort_key`, so the highest priority comes first in index order with no
 * DESC index. `0 - p`, never `-p`: priority 0 is stored (and read back) as 0, not -0.
 */
export function negPriority(priority: number): number {
  return 0 - priority;
}

/** The priority of a row's `neg_priority` (0 for 0, never -0). */
export function priorityOf(negPriority: number): number {
  return 0 - negPriority;
}

/** `?, ?, …`: `n` bind placeholders. */
export const placeholders = (n: number): string => Array.from({ length: n }, () => '?').join(', ');

const cols = (alias = ''): string => JOB_COLUMNS.map((c) => `${alias}${c}`).join(', ');

/** The dedup key of a job queued behind a twin that holds the slot. */
function heirKey(d: DialectSql): string {
  return d.concat("'~'", 'sha1', "':'", 'id');
}

/** A bound text parameter (PostgreSQL needs the type to concatenate it). */
function textParam(d: DialectSql): string {
  return d.name === 'postgres' ? 'CAST(? AS TEXT)' : '?';
}

// ---------------------------------------------------------------- push

/**
 * A multi-row insert that skips rows whose dedup key is held (insert-ignore against the unique
 * index `(domain, type, dedup_key)`: atomic, never read-then-insert, P-13). The matched-row count
 * is the number inserted.
 */
export function insertJobs(d: DialectSql, t: Tables, rows: readonly InsertRow[]): Query {
  if (d.name === 'postgres') return insertJobsUnnest(d, t, rows);
  const bindings: Binding[] = [];
  const values: string[] = [];
  const row = `(${placeholders(INSERT_COLUMNS.length)})`;
  for (const r of rows) {
    values.push(row);
    bindings.push(
      r.domain,
      r.type,
      queuedState(r.groupKey),
      r.flags,
      r.params,
      r.sha1,
      r.dedupKey,
      r.rootSignature,
      r.rootTimestamp,
      r.requestId,
      0,
      r.enqueuedAt,
      r.releaseTs,
      r.releaseAt,
      r.sortKey,
      negPriority(r.priority),
      r.groupKey,
    );
  }
  return {
    sql: `${d.insertIgnore.head} ${t.jobs} (${INSERT_COLUMNS.join(', ')}) VALUES ${values.join(', ')}${d.insertIgnore.tail}`,
    bindings,
  };
}

/** The inserted columns PostgreSQL binds as arrays (or as one scalar when every row agrees), with their types. */
const PG_INSERT_VALUES: readonly (readonly [
  column: string,
  type: string,
  value: (r: InsertRow) => string | number | null,
])[] = Object.freeze([
  ['domain', 'TEXT', (r) => r.domain],
  ['type', 'TEXT', (r) => r.type],
  ['state', 'SMALLINT', (r) => queuedState(r.groupKey)],
  ['flags', 'SMALLINT', (r) => r.flags],
  ['sha1', 'TEXT', (r) => r.sha1],
  ['dedup_key', 'TEXT', (r) => r.dedupKey],
  ['root_signature', 'TEXT', (r) => r.rootSignature],
  ['root_timestamp', 'BIGINT', (r) => r.rootTimestamp],
  ['request_id', 'TEXT', (r) => r.requestId],
  ['enqueued_at', 'BIGINT', (r) => r.enqueuedAt],
  ['release_ts', 'BIGINT', (r) => r.releaseTs],
  ['release_at', 'BIGINT', (r) => r.releaseAt],
  ['sort_key', 'BIGINT', (r) => r.sortKey],
  ['neg_priority', 'INTEGER', (r) => negPriority(r.priority)],
  ['group_key', 'TEXT', (r) => r.groupKey],
]);

/**
 * PostgreSQL's {@link insertJobs}: ONE `INSERT … SELECT … FROM unnest(…) ON CONFLICT DO NOTHING`
 * whatever the row count, each varying column bound as one array (`params` always), each column
 * every row agrees on (domain, type, enqueued_at, usually most) as one scalar, `attempts` as a
 * literal. `WITH ORDINALITY … ORDER BY` keeps the ids in push order (FIFO). Same
 * insert-ignore against the dedup index as the VALUES form (a later twin in the same batch hits
 * the earlier one's key and is skipped); the matched-row count is the number inserted.
 *
 * Measured (PostgreSQL 15, local, 2 vCPU, 20 batches of 1,000 rows): push(1000) was 2
 * autocommitted 500-row × 15-column VALUES statements (7,500 binds each through knex) at 19.4–21.1
 * ms; this one statement takes 6.3–6.9 ms. Bench `bulk` (push(1000) × 100): 45–49k → 116–139k
 * jobs/s (0.58–0.70× → 1.44–2.04× graphile-worker).
 */
function insertJobsUnnest(d: DialectSql, t: Tables, rows: readonly InsertRow[]): Query {
  const columns = ['attempts', 'params'];
  const exprs = ['0', 'u.params'];
  const scalars: Binding[] = [];
  const arrays: Binding[] = [rows.map((r) => r.params)];
  const unnest = ['CAST(? AS TEXT[])'];
  const names = ['params'];
  for (const [column, type, value] of PG_INSERT_VALUES) {
    const values = rows.map(value);
    const first = values[0] ?? null;
    columns.push(column);
    if (values.every((v) => v === first)) {
      exprs.push(`CAST(? AS ${type})`);
      scalars.push(first);
    } else {
      exprs.push(`u.${column}`);
      unnest.push(`CAST(? AS ${type}[])`);
      names.push(column);
      arrays.push(values);
    }
  }
  return {
    sql: `${d.insertIgnore.head} ${t.jobs} (${columns.join(', ')}) SELECT ${exprs.join(', ')} FROM unnest(${unnest.join(', ')}) WITH ORDINALITY AS u(${names.join(', ')}, n) ORDER BY u.n${d.insertIgnore.tail}`,
    // The SELECT list's scalars come before the FROM's arrays, in placeholder order.
    bindings: [...scalars, ...arrays],
  };
}

// ---------------------------------------------------------------- claim

/** What a claim needs. */
export interface ClaimArgs extends QueueKey {
  readonly order: Order;
  readonly now: number;
  readonly limit: number;
  /** The batch token; each job's claim token is `<token>.<id>`. */
  readonly token: string;
  /** Claim from this flow-control group only (`groups.ts`); absent: the keyless jobs. */
  readonly group?: string;
}

/**
 * The condition of a ready row (columns of `alias`, if given): released, and for order `any`
 * (where `sort_key` is the ready time) its ready time reached. One spelling for every claim and
 * for the grouped claim's look-ahead, so what they call ready cannot drift apart.
 */
export function dueCondition(
  args: Pick<ClaimArgs, 'order' | 'now'>,
  alias = '',
): { sql: string; bindings: Binding[] } {
  const a = alias === '' ? '' : `${alias}.`;
  return args.order === 'any'
    ? { sql: `${a}release_at <= ? AND ${a}sort_key <= ?`, bindings: [args.now, args.now] }
    : { sql: `${a}release_at <= ?`, bindings: [args.now] };
}

/**
 * The ready rows of a queue in pop order. With order `any` the key is the ready time, so
 * `sort_key <= now` holds exactly for the ready rows. Since migration 5 it no longer bounds the
 * range (`neg_priority` comes before `sort_key` in the claim index): within each priority the
 * delayed rows sit after the ready ones and are skipped inside the index, as for the other orders.
 */
function pick(t: Tables, args: ClaimArgs, checkPaused = true): { where: string; bindings: Binding[] } {
  const bindings: Binding[] = [args.domain, args.type];
  let where = 'domain = ? AND type = ?';
  if (args.group === undefined) where += ` AND state = ${State.QUEUED}`;
  else {
    // The group index `(domain, type, group_key, state, neg_priority, sort_key, id, release_at)`:
    // `group_key = ?` implies its partial predicate (`group_key IS NOT NULL`) on PostgreSQL and SQLite.
    where += ` AND group_key = ? AND state = ${State.GROUPED}`;
    bindings.push(args.group);
  }
  const due = dueCondition(args);
  where += ` AND ${due.sql}`;
  bindings.push(...due.bindings);
  if (checkPaused) {
    // A paused queue (see pauseQueue) claims nothing: one primary-key probe, in the same statement.
    // PostgreSQL's FOR UPDATE locks rows of the FROM tables only, never the probed paused row.
    where += ` AND NOT EXISTS (SELECT 1 FROM ${t.paused} WHERE domain = ? AND type = ?)`;
    bindings.push(args.domain, args.type);
  }
  return { where, bindings };
}

/** Pop order: highest priority first (`neg_priority` ascending), then the queue's order. The claim index's order. */
const CLAIM_ORDER = 'ORDER BY neg_priority, sort_key, id';

/**
 * Claims (or, with `remove`, takes and deletes) up to `limit` ready jobs in ONE statement,
 * returning them. PostgreSQL: a `FOR UPDATE SKIP LOCKED` CTE (materialised, so the LIMIT is
 * applied once) joined into an `UPDATE … RETURNING`; SQLite: `UPDATE … WHERE id IN (…) RETURNING`
 * (the statement holds the write lock). Not for MySQL (no RETURNING): see {@link claimSelect}.
 *
 * Plans (EXPLAIN, claim index `(domain, type, state, neg_priority, sort_key, id, release_at)`,
 * 100k ready rows in the queue over 3 priorities plus 100k of another type): the picking SELECT
 * is one range scan of the claim index with every predicate in the index condition and no sort
 * (PostgreSQL 15: `Index Scan using …_claim`, `Index Cond: (domain, type, state = 0, [sort_key
 * <= now,] release_at <= now)`, LockRows, Limit, no Sort node; 0.11 ms (fifo) / 0.3–0.4 ms
 * (any) server time for 100 rows, as before priorities; SQLite 3.53: `SEARCH … USING COVERING
 * INDEX …_claim (domain=? AND type=? AND state=?)`, no `USE TEMP B-TREE FOR ORDER BY`), then a
 * primary-key nested loop for the UPDATE. The cost of priorities: order `any` used to bound the
 * range with `sort_key <= ?` and never read a delayed row; now delayed rows are skipped inside the
 * index, so a pop finding no ready job among 20k delayed ones reads them all (PostgreSQL
 * 0.02 → 1.2 ms server time, SQLite 0.10 → 1.0 ms). A pop that finds ready jobs stops at them.
 */
export function claimReturning(
  d: DialectSql,
  t: Tables,
  args: ClaimArgs,
  remove: boolean,
  checkPaused = true,
): Query {
  const p = pick(t, args, checkPaused);
  const token = d.concat(textParam(d), "'.'", d.name === 'postgres' ? 'CAST(j.id AS TEXT)' : 'id');
  if (d.name === 'postgres') {
    const picked = `WITH picked AS MATERIALIZED (SELECT id FROM ${t.jobs} WHERE ${p.where} ${CLAIM_ORDER} LIMIT ?${d.skipLocked})`;
    if (remove) {
      return {
        sql: `${picked} DELETE FROM ${t.jobs} AS j USING picked WHERE j.id = picked.id RETURNING ${cols('j.')}`,
        bindings: [...p.bindings, args.limit],
      };
    }
    return {
      sql: `${picked} UPDATE ${t.jobs} AS j SET state = ${State.CLAIMED}, attempts = j.attempts + 1, claimed_at = ?, claim_token = ${token}, dedup_key = NULL FROM picked WHERE j.id = picked.id RETURNING ${cols('j.')}`,
      bindings: [...p.bindings, args.limit, args.now, args.token],
    };
  }
  const subquery = `SELECT id FROM ${t.jobs} WHERE ${p.where} ${CLAIM_ORDER} LIMIT ?`;
  if (remove) {
    return {
      sql: `DELETE FROM ${t.jobs} WHERE id IN (${subquery}) RETURNING ${cols()}`,
      bindings: [...p.bindings, args.limit],
    };
  }
  return {
    sql: `UPDATE ${t.jobs} SET state = ${State.CLAIMED}, attempts = attempts + 1, claimed_at = ?, claim_token = ${token}, dedup_key = NULL WHERE id IN (${subquery}) RETURNING ${cols()}`,
    bindings: [args.now, args.token, ...p.bindings, args.limit],
  };
}

/**
 * Claims (or, with `remove`, takes) up to `n` ready jobs of each group of `asks`, and up to
 * `keyless` keyless ready jobs, in ONE statement, returning them (`groups.ts`; not MySQL; no
 * paused check: the caller made it). PostgreSQL: the asks as `unnest()`ed arrays, a `LATERAL`
 * pick per group on the group index (`FOR UPDATE SKIP LOCKED`, `LIMIT` the group's ask), and the
 * keyless pick on the claim index, materialised, joined into one `UPDATE … RETURNING`; SQLite: a
 * `UNION ALL` of one `LIMIT`ed pick per group (and the keyless one) inside
 * `UPDATE … WHERE id IN (…) RETURNING`.
 */
export function claimGroupsReturning(
  d: DialectSql,
  t: Tables,
  args: ClaimArgs,
  asks: readonly (readonly [group: string, n: number])[],
  keyless: number,
  remove: boolean,
): Query {
  const token = d.concat(textParam(d), "'.'", d.name === 'postgres' ? 'CAST(j.id AS TEXT)' : 'id');
  const claimSet = `state = ${State.CLAIMED}, attempts = ${d.name === 'postgres' ? 'j.' : ''}attempts + 1, claimed_at = ?, claim_token = ${token}, dedup_key = NULL`;
  const due = dueCondition(args);
  const ready = `state = ${State.GROUPED} AND ${due.sql}`;
  const times = due.bindings;
  const plain = keyless > 0 ? pick(t, args, false) : null;
  if (d.name === 'postgres') {
    // A locking pick may not be an arm of a UNION itself: each one is a subquery of its arm.
    const free =
      plain === null
        ? ''
        : ` UNION ALL SELECT k.id FROM (SELECT id FROM ${t.jobs} WHERE ${plain.where} ${CLAIM_ORDER} LIMIT ?${d.skipLocked}) AS k`;
    const picked = `WITH picked AS MATERIALIZED (SELECT p.id FROM unnest(CAST(? AS TEXT[]), CAST(? AS INTEGER[])) AS w(g, n) CROSS JOIN LATERAL (SELECT id FROM ${t.jobs} WHERE domain = ? AND type = ? AND group_key = w.g AND ${ready} ${CLAIM_ORDER} LIMIT w.n${d.skipLocked}) AS p${free})`;
    const bindings: Binding[] = [
      asks.map((a) => a[0]),
      asks.map((a) => a[1]),
      args.domain,
      args.type,
      ...times,
      ...(plain === null ? [] : [...plain.bindings, keyless]),
    ];
    if (remove) {
      return {
        sql: `${picked} DELETE FROM ${t.jobs} AS j USING picked WHERE j.id = picked.id RETURNING ${cols('j.')}`,
        bindings,
      };
    }
    return {
      sql: `${picked} UPDATE ${t.jobs} AS j SET ${claimSet} FROM picked WHERE j.id = picked.id RETURNING ${cols('j.')}`,
      bindings: [...bindings, args.now, args.token],
    };
  }
  const arms: string[] = [];
  const bindings: Binding[] = [];
  const picks: (readonly [{ where: string; bindings: Binding[] }, number])[] = asks.map(([group, n]) => [
    pick(t, { ...args, group }, false),
    n,
  ]);
  if (plain !== null) picks.push([plain, keyless]);
  for (const [p, n] of picks) {
    arms.push(`SELECT id FROM (SELECT id FROM ${t.jobs} WHERE ${p.where} ${CLAIM_ORDER} LIMIT ?)`);
    bindings.push(...p.bindings, n);
  }
  const subquery = arms.join(' UNION ALL ');
  if (remove) {
    return { sql: `DELETE FROM ${t.jobs} WHERE id IN (${subquery}) RETURNING ${cols()}`, bindings };
  }
  return {
    sql: `UPDATE ${t.jobs} SET ${claimSet} WHERE id IN (${subquery}) RETURNING ${cols()}`,
    bindings: [args.now, args.token, ...bindings],
  };
}

/**
 * MySQL's claim, step 1 (in a transaction): lock up to `limit` ready rows, skipping rows other
 * claims hold. EXPLAIN (MariaDB 10.11, data as in {@link claimReturning}): `ref` on the claim
 * index, `Using index condition; Using where`, no filesort. `FORCE INDEX`: left to itself MariaDB
 * sometimes picked a `range` scan of the same index with `Using where` only (no index condition
 * pushdown, so every delayed row ahead was read from the clustered index): a pop finding no ready
 * job among 20k delayed ones (or a fifo pop behind them) took 22–24 ms; forced, 3.9–4.0 ms
 * (before priorities order `any` never read a delayed row: 0.3 ms).
 * No paused check here: InnoDB's `FOR UPDATE SKIP LOCKED` would lock (and so let a concurrent
 * claim skip) the probed paused row, so the caller runs {@link pausedRow} first, in the same
 * transaction, as a plain consistent read.
 */
export function claimSelect(d: DialectSql, t: Tables, args: ClaimArgs): Query {
  const p = pick(t, args, false);
  return {
    sql: `SELECT ${cols()} FROM ${t.jobs} FORCE INDEX (${t.jobs}_${args.group === undefined ? 'claim' : 'group'}) WHERE ${p.where} ${CLAIM_ORDER} LIMIT ?${d.skipLocked}`,
    bindings: [...p.bindings, args.limit],
  };
}

/** MySQL's claim, step 2: mark the locked rows claimed. */
export function claimByIds(
  d: DialectSql,
  t: Tables,
  ids: readonly (string | number)[],
  now: number,
  token: string,
): Query {
  return {
    sql: `UPDATE ${t.jobs} SET state = ${State.CLAIMED}, attempts = attempts + 1, claimed_at = ?, claim_token = ${d.concat('?', "'.'", 'id')}, dedup_key = NULL WHERE id IN (${placeholders(ids.length)})`,
    bindings: [now, token, ...ids],
  };
}

/** Deletes rows by id (MySQL's claimTTL-0 pop and repush, after a locking SELECT). */
export function deleteByIds(t: Tables, ids: readonly (string | number)[]): Query {
  return { sql: `DELETE FROM ${t.jobs} WHERE id IN (${placeholders(ids.length)})`, bindings: [...ids] };
}

/**
 * Hands the dedup slot of each sha1 that no queued job holds to its oldest heir (`~sha1:id`), so
 * "any identical job queued ⇒ pushes are duplicates" holds after the holder was claimed (P-13,
 * the memory backend's semantics). Cheap when there are no heirs: one seek on the `'~'` range of
 * the unique index. Rows that would collide with a key a concurrent push just took are skipped
 * (`UPDATE IGNORE` / `UPDATE OR IGNORE`) or, on PostgreSQL, the statement is retried.
 */
export function rekeyHeirs(d: DialectSql, t: Tables, q: QueueKey): Query {
  const heirs = `SELECT MIN(o.id) AS id FROM ${t.jobs} o WHERE o.domain = ? AND o.type = ? AND o.dedup_key >= '~' AND NOT EXISTS (SELECT 1 FROM ${t.jobs} h WHERE h.domain = o.domain AND h.type = o.type AND h.dedup_key = o.sha1) GROUP BY o.sha1`;
  if (d.name === 'mysql') {
    // MySQL cannot read the updated table in a WHERE subquery; a joined derived table is materialised.
    return {
      sql: `${d.updateIgnore} ${t.jobs} AS j JOIN (${heirs}) AS x ON j.id = x.id SET j.dedup_key = j.sha1`,
      bindings: [q.domain, q.type],
    };
  }
  return {
    sql: `${d.updateIgnore} ${t.jobs} SET dedup_key = sha1 WHERE id IN (${heirs})`,
    bindings: [q.domain, q.type],
  };
}

// ---------------------------------------------------------------- ack / release / extend

/** Fenced ack: deletes the job iff the token still holds its claim (P-11). */
export function ackOne(t: Tables, id: string | number, token: string): Query {
  return { sql: `DELETE FROM ${t.jobs} WHERE id = ? AND claim_token = ?`, bindings: [id, token] };
}

/**
 * Fenced batch ack in one statement returning the deleted claims: PostgreSQL joins `unnest()` of
 * the two arrays (a primary-key nested loop: 0.2 ms server time for 100); SQLite a row-value
 * `IN (VALUES …)` (a primary-key probe per pair). Not for MySQL: see {@link lockHeldClaims}.
 */
export function ackMany(
  d: DialectSql,
  t: Tables,
  refs: readonly { readonly id: string | number; readonly token: string }[],
): Query {
  if (d.name === 'postgres') {
    // `j.id = ANY(ARRAY(SELECT unnest(ids)))` pins the primary-key index. Without it, on a freshly
    // filled table with no statistics (reltuples -1) the planner hash-joined the unnest against a
    // full scan. A plain `j.id = ANY(CAST(? AS BIGINT[]))` is not enough: the planner sees the 100
    // constants, guesses ~1,100 rows for the unanalyzed 20k-row table and still seq-scans with the
    // ANY as a filter. Behind the sub-SELECT the array is opaque (estimated 10 ids), so it is always
    // a pkey (bitmap) index scan. Measured (PostgreSQL 15, 20k rows, no ANALYZE, 100 acks, server
    // EXPLAIN ANALYZE): 2.30 ms before, 1.52 ms with the plain ANY, 0.21 ms with this form; ackBatch
    // round trip (with its commit) 2.6–3.0 → 1.0 ms. The bench drain (popBatch(100) + ackBatch,
    // 16 workers) stays within noise (A/B: 25.3k, 28.7k → 29.3k, 25.6k jobs/s): commits dominate.
    const ids = refs.map((r) => String(r.id));
    return {
      sql: `DELETE FROM ${t.jobs} AS j USING unnest(CAST(? AS BIGINT[]), CAST(? AS TEXT[])) AS a(id, token) WHERE j.id = ANY(ARRAY(SELECT unnest(CAST(? AS BIGINT[])))) AND j.id = a.id AND j.claim_token = a.token RETURNING j.id, j.claim_token, j.flags`,
      bindings: [ids, refs.map((r) => r.token), ids],
    };
  }
  // Row values, not an OR of `(id = ? AND claim_token = ?)` terms: SQLite's expression tree is at
  // most 1,000 deep, which an OR of ~1,000 pairs exceeds ("Expression tree is too large"); this
  // is the same primary-key probe per pair (EXPLAIN QUERY PLAN: `SEARCH … USING INTEGER PRIMARY
  // KEY`, 1,000 pairs of a 100k-row table 0.93–0.98 ms either way).
  const bindings: Binding[] = [];
  for (const r of refs) bindings.push(r.id, r.token);
  return {
    sql: `DELETE FROM ${t.jobs} WHERE (id, claim_token) IN (VALUES ${Array.from(refs, () => '(?, ?)').join(', ')}) RETURNING id, claim_token, flags`,
    bindings,
  };
}

/**
 * MySQL's batch ack, step 1 (in a READ COMMITTED transaction): lock the rows by primary key, in id
 * order, and read their current claim tokens (the caller keeps the rows the tokens still hold).
 * Equality probes of the primary key take record locks only; an OR of `(id = ? AND claim_token = ?)`
 * pairs took next-key locks on neighbouring ids under REPEATABLE READ and deadlocked with claims.
 */
export function lockByIds(t: Tables, ids: readonly (string | number)[]): Query {
  return {
    sql: `SELECT id, claim_token, flags FROM ${t.jobs} WHERE id IN (${placeholders(ids.length)}) FOR UPDATE`,
    bindings: [...ids],
  };
}

/** What a release sets. */
export interface ReleaseArgs {
  readonly id: string | number;
  readonly token: string;
  readonly maxTries: number;
  /** When the job is ready again. */
  readonly releaseAt: number;
  /** The new user-visible releaseTimestamp (delayed release), or undefined to keep it. */
  readonly releaseTs: number | undefined;
  /** The new pop order key, or undefined to keep it (order `any` re-keys by ready time). */
  readonly sortKey: number | undefined;
  /** True to queue it behind a twin that holds the dedup slot (`~sha1:id`). */
  readonly asHeir: boolean;
}

/** Fenced release to queued (ready or delayed), iff tries remain (P-12). Takes the dedup slot back. */
export function releaseToQueue(d: DialectSql, t: Tables, a: ReleaseArgs): Query {
  const sets = [`state = ${QUEUED_STATE_OF_ROW}`, 'claim_token = NULL', 'release_at = ?'];
  const bindings: Binding[] = [a.releaseAt];
  if (a.releaseTs !== undefined) {
    sets.push('release_ts = ?');
    bindings.push(a.releaseTs);
  }
  if (a.sortKey !== undefined) {
    sets.push('sort_key = ?');
    bindings.push(a.sortKey);
  }
  sets.push(`dedup_key = ${a.asHeir ? heirKey(d) : 'sha1'}`);
  bindings.push(a.id, a.token, a.maxTries);
  return {
    sql: `UPDATE ${t.jobs} SET ${sets.join(', ')} WHERE id = ? AND claim_token = ? AND attempts < ?`,
    bindings,
  };
}

/** Fenced release of a job on its last try: abandoned (P-12). The claim time stays (prune clock, P-10). */
export function abandonOne(t: Tables, id: string | number, token: string, maxTries: number): Query {
  return {
    sql: `UPDATE ${t.jobs} SET state = ${State.ABANDONED}, claim_token = NULL WHERE id = ? AND claim_token = ? AND attempts >= ?`,
    bindings: [id, token, maxTries],
  };
}

/** Fenced claim renewal (P-12). */
export function extendClaim(t: Tables, id: string | number, token: string, now: number): Query {
  return {
    sql: `UPDATE ${t.jobs} SET claimed_at = ? WHERE id = ? AND claim_token = ?`,
    bindings: [now, id, token],
  };
}

// ---------------------------------------------------------------- maintenance (P-20)

/** Expired claims on their last try → abandoned. One statement; row locks make racing passes count each row once. */
export function abandonExpired(t: Tables, q: QueueKey, cutoff: number, maxTries: number): Query {
  return {
    sql: `UPDATE ${t.jobs} SET state = ${State.ABANDONED}, claim_token = NULL WHERE domain = ? AND type = ? AND state = ${State.CLAIMED} AND claimed_at <= ? AND attempts >= ?`,
    bindings: [q.domain, q.type, cutoff, maxTries],
  };
}

/**
 * Expired claims with tries left → queued, attempts kept, order key kept (recycled jobs pop
 * early, as in MediaWiki). They come back as heirs (`~sha1:id`, which never collides), and
 * {@link rekeyHeirs} then gives each sha1 without a holder its slot back.
 */
export function recycleExpired(
  d: DialectSql,
  t: Tables,
  q: QueueKey,
  cutoff: number,
  maxTries: number,
): Query {
  return {
    sql: `UPDATE ${t.jobs} SET state = ${QUEUED_STATE_OF_ROW}, claim_token = NULL, dedup_key = ${heirKey(d)} WHERE domain = ? AND type = ? AND state = ${State.CLAIMED} AND claimed_at <= ? AND attempts < ?`,
    bindings: [q.domain, q.type, cutoff, maxTries],
  };
}

/**
 * MySQL's expiry, step 1 (in a READ COMMITTED transaction): lock up to `limit` expired claims,
 * skipping rows an ack, a release or another maintenance pass holds (those are counted there, or
 * by the next pass). A plain `UPDATE … WHERE claimed_at <= ?` locked every claimed row it scanned
 * under REPEATABLE READ and deadlocked with batch acks.
 */
export function lockExpired(d: DialectSql, t: Tables, q: QueueKey, cutoff: number, limit: number): Query {
  return {
    sql: `SELECT id FROM ${t.jobs} WHERE domain = ? AND type = ? AND state = ${State.CLAIMED} AND claimed_at <= ? LIMIT ?${d.skipLocked}`,
    bindings: [q.domain, q.type, cutoff, limit],
  };
}

/** MySQL's expiry, step 2: the locked expired claims on their last try → abandoned. */
export function abandonExpiredByIds(
  t: Tables,
  ids: readonly (string | number)[],
  cutoff: number,
  maxTries: number,
): Query {
  return {
    sql: `UPDATE ${t.jobs} SET state = ${State.ABANDONED}, claim_token = NULL WHERE id IN (${placeholders(ids.length)}) AND state = ${State.CLAIMED} AND claimed_at <= ? AND attempts >= ?`,
    bindings: [...ids, cutoff, maxTries],
  };
}

/** MySQL's expiry, step 3: the locked expired claims with tries left → queued (see {@link recycleExpired}). */
export function recycleExpiredByIds(
  d: DialectSql,
  t: Tables,
  ids: readonly (string | number)[],
  cutoff: number,
  maxTries: number,
): Query {
  return {
    sql: `UPDATE ${t.jobs} SET state = ${QUEUED_STATE_OF_ROW}, claim_token = NULL, dedup_key = ${heirKey(d)} WHERE id IN (${placeholders(ids.length)}) AND state = ${State.CLAIMED} AND claimed_at <= ? AND attempts < ?`,
    bindings: [...ids, cutoff, maxTries],
  };
}

/** Abandoned jobs whose last claim is older than the cutoff → deleted (P-10). */
export function pruneAbandoned(t: Tables, q: QueueKey, cutoff: number): Query {
  return {
    sql: `DELETE FROM ${t.jobs} WHERE domain = ? AND type = ? AND state = ${State.ABANDONED} AND claimed_at <= ?`,
    bindings: [q.domain, q.type, cutoff],
  };
}

/** Expired root-job records → deleted. */
export function pruneRoots(t: Tables, q: QueueKey, now: number): Query {
  return {
    sql: `DELETE FROM ${t.rootJobs} WHERE domain = ? AND type = ? AND expires_at <= ?`,
    bindings: [q.domain, q.type, now],
  };
}

// ---------------------------------------------------------------- counts, listing, delete

/** The states a job can be listed or counted in. */
export type StateName = 'ready' | 'claimed' | 'delayed' | 'abandoned' | 'waiting';

function stateWhere(state: StateName, now: number): { where: string; bindings: Binding[] } {
  switch (state) {
    case 'ready':
      return { where: `state IN (${QUEUED_STATES}) AND release_at <= ?`, bindings: [now] };
    case 'delayed':
      return { where: `state IN (${QUEUED_STATES}) AND release_at > ?`, bindings: [now] };
    case 'claimed':
      return { where: `state = ${State.CLAIMED}`, bindings: [] };
    case 'waiting':
      return { where: `state = ${State.WAITING}`, bindings: [] };
    default:
      return { where: `state = ${State.ABANDONED}`, bindings: [] };
  }
}

/** The number of the queue's jobs in `state` (exact, P-17). */
export function countIn(t: Tables, q: QueueKey, state: StateName, now: number): Query {
  const s = stateWhere(state, now);
  return {
    sql: `SELECT COUNT(*) AS n FROM ${t.jobs} WHERE domain = ? AND type = ? AND ${s.where}`,
    bindings: [q.domain, q.type, ...s.bindings],
  };
}

// ---------------------------------------------------------------- pause

/** Marks the queue paused (idempotent: a second pause keeps the first row). */
export function pauseQueue(d: DialectSql, t: Tables, q: QueueKey, now: number): Query {
  return {
    sql: `${d.insertIgnore.head} ${t.paused} (domain, type, paused_at) VALUES (?, ?, ?)${d.insertIgnore.tail}`,
    bindings: [q.domain, q.type, now],
  };
}

/** Lifts the pause (idempotent). */
export function resumeQueue(t: Tables, q: QueueKey): Query {
  return { sql: `DELETE FROM ${t.paused} WHERE domain = ? AND type = ?`, bindings: [q.domain, q.type] };
}

/** One row iff the queue is paused. */
export function pausedRow(t: Tables, q: QueueKey): Query {
  return {
    sql: `SELECT 1 AS x FROM ${t.paused} WHERE domain = ? AND type = ?`,
    bindings: [q.domain, q.type],
  };
}

/** The first tick ever of a schedule: inserts the row unless one exists (affected 1 = claimed). */
export function insertTick(d: DialectSql, t: Tables, q: QueueKey, name: string, tick: number): Query {
  return {
    sql: `${d.insertIgnore.head} ${t.ticks} (domain, type, name, tick) VALUES (?, ?, ?, ?)${d.insertIgnore.tail}`,
    bindings: [q.domain, q.type, name, tick],
  };
}

/** A later tick: moves the row forward only from an earlier tick (affected 1 = claimed). */
export function advanceTick(t: Tables, q: QueueKey, name: string, tick: number): Query {
  return {
    sql: `UPDATE ${t.ticks} SET tick = ? WHERE domain = ? AND type = ? AND name = ? AND tick < ?`,
    bindings: [tick, q.domain, q.type, name, tick],
  };
}

/** The schedule's row (`tick`), if any. */
export function tickRow(t: Tables, q: QueueKey, name: string): Query {
  return {
    sql: `SELECT tick FROM ${t.ticks} WHERE domain = ? AND type = ? AND name = ?`,
    bindings: [q.domain, q.type, name],
  };
}

/** One row iff the queue has a ready job. */
export function anyReady(t: Tables, q: QueueKey, now: number): Query {
  const s = stateWhere('ready', now);
  return {
    sql: `SELECT 1 AS x FROM ${t.jobs} WHERE domain = ? AND type = ? AND ${s.where} LIMIT 1`,
    bindings: [q.domain, q.type, ...s.bindings],
  };
}

/** One page of the queue's jobs in `state`, by id (keyset paging, P-19). */
export function listPage(
  t: Tables,
  q: QueueKey,
  state: StateName,
  now: number,
  afterId: string | number,
  limit: number,
): Query {
  const s = stateWhere(state, now);
  return {
    sql: `SELECT ${cols()} FROM ${t.jobs} WHERE domain = ? AND type = ? AND ${s.where} AND id > ? ORDER BY id LIMIT ?`,
    bindings: [q.domain, q.type, ...s.bindings, afterId, limit],
  };
}

/** Every unsettled flow link of the queue (with {@link deleteQueue}). */
export function deleteQueueLinks(t: Tables, q: QueueKey): Query {
  return { sql: `DELETE FROM ${t.deps} WHERE domain = ? AND type = ?`, bindings: [q.domain, q.type] };
}

/** Every job of the queue, in every state (P-18). */
export function deleteQueue(t: Tables, q: QueueKey): Query {
  return { sql: `DELETE FROM ${t.jobs} WHERE domain = ? AND type = ?`, bindings: [q.domain, q.type] };
}

/** Ready counts of many types of one domain in one GROUP BY (promises §6). */
export function readyCountsByType(
  t: Tables,
  domain: string,
  types: readonly string[],
  now: number,
  skipPaused = false,
): Query {
  // With skipPaused (queues with poppable jobs): paused queues are left out, so runners never pick them.
  const paused = skipPaused
    ? ` AND NOT EXISTS (SELECT 1 FROM ${t.paused} p WHERE p.domain = ${t.jobs}.domain AND p.type = ${t.jobs}.type)`
    : '';
  return {
    sql: `SELECT type, COUNT(*) AS n FROM ${t.jobs} WHERE domain = ? AND type IN (${placeholders(types.length)}) AND state IN (${QUEUED_STATES}) AND release_at <= ?${paused} GROUP BY type`,
    bindings: [domain, ...types, now],
  };
}

/**
 * The four counts of each of `types` and the earliest release time of its ready jobs, in one
 * grouped scan (the claim index holds state and release_at: index-only where the dialect can).
 */
export function statsByType(t: Tables, domain: string, types: readonly string[], now: number): Query {
  const ready = `state IN (${QUEUED_STATES}) AND release_at <= ?`;
  return {
    sql:
      `SELECT type,` +
      ` SUM(CASE WHEN ${ready} THEN 1 ELSE 0 END) AS n_ready,` +
      ` SUM(CASE WHEN state IN (${QUEUED_STATES}) AND release_at > ? THEN 1 ELSE 0 END) AS n_delayed,` +
      ` SUM(CASE WHEN state = ${State.CLAIMED} THEN 1 ELSE 0 END) AS n_claimed,` +
      ` SUM(CASE WHEN state = ${State.ABANDONED} THEN 1 ELSE 0 END) AS n_abandoned,` +
      ` MIN(CASE WHEN ${ready} THEN release_at END) AS n_oldest` +
      ` FROM ${t.jobs} WHERE domain = ? AND type IN (${placeholders(types.length)}) GROUP BY type`,
    bindings: [now, now, now, domain, ...types],
  };
}

/** Every (domain, type) with a job in any state (an index-only scan of the dedup index). */
export function storedQueues(t: Tables): Query {
  return { sql: `SELECT DISTINCT domain, type FROM ${t.jobs}`, bindings: [] };
}

// ---------------------------------------------------------------- repush (P-10)

/**
 * Takes (deletes, returning them) up to `limit` abandoned jobs, in a transaction with the insert
 * of their copies. PostgreSQL / SQLite only; MySQL locks with {@link lockAbandoned} and deletes by id.
 */
export function takeAbandoned(d: DialectSql, t: Tables, q: QueueKey, limit: number): Query {
  const subquery = `SELECT id FROM ${t.jobs} WHERE domain = ? AND type = ? AND state = ${State.ABANDONED} ORDER BY id LIMIT ?`;
  if (d.name === 'postgres') {
    return {
      sql: `WITH picked AS MATERIALIZED (${subquery} FOR UPDATE) DELETE FROM ${t.jobs} AS j USING picked WHERE j.id = picked.id RETURNING ${cols('j.')}`,
      bindings: [q.domain, q.type, limit],
    };
  }
  return {
    sql: `DELETE FROM ${t.jobs} WHERE id IN (${subquery}) RETURNING ${cols()}`,
    bindings: [q.domain, q.type, limit],
  };
}

/** MySQL's repush, step 1: lock up to `limit` abandoned jobs. */
export function lockAbandoned(t: Tables, q: QueueKey, limit: number): Query {
  return {
    sql: `SELECT ${cols()} FROM ${t.jobs} WHERE domain = ? AND type = ? AND state = ${State.ABANDONED} ORDER BY id LIMIT ? FOR UPDATE`,
    bindings: [q.domain, q.type, limit],
  };
}

// ---------------------------------------------------------------- root jobs (P-14)

/** A root record to upsert. */
export interface RootRow {
  readonly signature: string;
  readonly timestamp: number;
  readonly expiresAt: number;
}

/**
 * Upserts root records keeping the newest timestamp (an expired record is replaced whatever its
 * timestamp). One statement per batch.
 */
export function upsertRoots(
  d: DialectSql,
  t: Tables,
  q: QueueKey,
  roots: readonly RootRow[],
  now: number,
): Query {
  const bindings: Binding[] = [];
  const values: string[] = [];
  for (const r of roots) {
    values.push('(?, ?, ?, ?, ?)');
    bindings.push(q.domain, q.type, r.signature, r.timestamp, r.expiresAt);
  }
  const insert = `INSERT INTO ${t.rootJobs} (domain, type, signature, root_timestamp, expires_at) VALUES ${values.join(', ')}`;
  if (d.name === 'mysql') {
    // Assignments run left to right and see earlier ones: root_timestamp first; then it equals
    // the new value exactly when the record was replaced.
    return {
      sql: `${insert} ON DUPLICATE KEY UPDATE root_timestamp = IF(expires_at <= ? OR VALUES(root_timestamp) >= root_timestamp, VALUES(root_timestamp), root_timestamp), expires_at = IF(root_timestamp = VALUES(root_timestamp), VALUES(expires_at), expires_at)`,
      bindings: [...bindings, now],
    };
  }
  // PostgreSQL and SQLite evaluate every SET expression against the old row.
  const replace = `${t.rootJobs}.expires_at <= ? OR excluded.root_timestamp >= ${t.rootJobs}.root_timestamp`;
  return {
    sql: `${insert} ON CONFLICT (domain, type, signature) DO UPDATE SET root_timestamp = CASE WHEN ${replace} THEN excluded.root_timestamp ELSE ${t.rootJobs}.root_timestamp END, expires_at = CASE WHEN ${replace} THEN excluded.expires_at ELSE ${t.rootJobs}.expires_at END`,
    bindings: [...bindings, now, now],
  };
}

/** The live root record's timestamp for a signature. */
export function rootTimestamp(t: Tables, q: QueueKey, signature: string, now: number): Query {
  return {
    sql: `SELECT root_timestamp FROM ${t.rootJobs} WHERE domain = ? AND type = ? AND signature = ? AND expires_at > ?`,
    bindings: [q.domain, q.type, signature, now],
  };
}

// ---------------------------------------------------------------- cancellation

/** What `cancel(id)` needs to know of a job first: its state, release time and dedup slot. */
export function jobForCancel(t: Tables, q: QueueKey, id: string | number): Query {
  return {
    sql: `SELECT state, flags, release_at, dedup_key FROM ${t.jobs} WHERE id = ? AND domain = ? AND type = ?`,
    bindings: [id, q.domain, q.type],
  };
}

/**
 * Deletes job `id` iff it is still in `state` (0 rows when a pop, ack or maintenance moved it on
 * since it was read; the caller reads it again). Deleting a claimed row takes its claim token with
 * it, so the claim's later acks are stale.
 */
export function cancelInState(t: Tables, id: string | number, state: number): Query {
  return { sql: `DELETE FROM ${t.jobs} WHERE id = ? AND state = ?`, bindings: [id, state] };
}

/**
 * Deletes the queued jobs holding dedup key `sha1` and the heirs waiting for it (`~<sha1>:<id>`):
 * two ranges of the dedup index, no scan of the queue.
 */
export function cancelHolders(t: Tables, q: QueueKey, sha1: string): Query {
  return {
    sql: `DELETE FROM ${t.jobs} WHERE domain = ? AND type = ? AND state IN (${QUEUED_STATES}) AND (dedup_key = ? OR (dedup_key >= ? AND dedup_key < ?))`,
    bindings: [q.domain, q.type, sha1, `~${sha1}:`, `~${sha1};`],
  };
}

/** The live claim tokens of `ids` (rows that are gone are absent). */
export function claimTokens(t: Tables, ids: readonly (string | number)[]): Query {
  return {
    sql: `SELECT id, claim_token FROM ${t.jobs} WHERE id IN (${ids.map(() => '?').join(', ')})`,
    bindings: [...ids],
  };
}
