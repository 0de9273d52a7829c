/**
 * Flow-control groups on SQL (`groupKey`, `groupLimits`; migration 7).
 *
 * - A queued job with a group key is `state = 4` (`State.GROUPED`), so the keyless claim (state 0,
 *   the claim index) never reads it: a queue without grouped jobs claims exactly as before.
 * - `${prefix}job_groups` has a row per group that has jobs, plus `''` for the keyless jobs while
 *   any group has a row. A push registers its groups (and `''`) in the transaction of its
 *   inserts, before them, with an upsert that locks the rows ({@link registerGroups}).
 * - A handle claims through {@link claimGrouped} while its queue has group rows (it looks when a
 *   keyless claim comes back short, and at least once a second: {@link GROUP_CHECK_MS}). One
 *   transaction: the candidate groups in turn order (lowest `turn` first), then per group: lock
 *   its row `FOR UPDATE SKIP LOCKED` (a concurrent claim takes other groups, never waits), count
 *   the claims it holds (`state = 1` rows of the group index: at most its cap), check its rate
 *   window, claim up to its room in pop order (priority, then the queue's order), and give it the
 *   last turn. A group found empty takes the last turn too; a group at its limit keeps its place.
 * - Held claims are counted from the rows, never kept as a counter: every way a claim ends (ack,
 *   release, recycle, abandon, cancel, a crash and its recycle) frees the slot by itself.
 * - Maintenance deletes group rows with no job left and no open rate window ({@link pruneGroups}),
 *   locking them first `SKIP LOCKED`; a push that registers the group meanwhile holds the row (the
 *   prune skips it) or waits for the prune and inserts it again, so a job never lands in a group
 *   without a row.
 *
 * @packageDocumentation
 */
import type { GroupLimitTable } from '../../core/queue-options.js';
import type { Row, StrategyContext } from './dialects/dialect.js';
import type { Binding, KnexLike, KnexRawLike } from './knex-like.js';
import * as Q from './queries.js';

/** How long (ms) a handle trusts "this queue has no groups" while its keyless claims come back full. */
export const GROUP_CHECK_MS = 1000;

/** Groups one grouped claim considers, in turn order. */
const CANDIDATES = 128;

/** Passes over the candidates one grouped claim makes at most (a batch larger than one share per group). */
const PASSES = 4;

/** The keyless jobs' row in the groups table. */
const KEYLESS = '';

const marks = (n: number): string => Array.from({ length: n }, () => '?').join(', ');

/** `fn` in a transaction: READ COMMITTED on MySQL (as its claim); SQLite takes the write lock first. */
function groupTransaction<R>(
  cx: StrategyContext,
  knex: KnexLike,
  fn: (trx: KnexRawLike) => Promise<R>,
): Promise<R> {
  if (cx.dialect.name === 'mysql') return knex.transaction(fn, { isolationLevel: 'read committed' });
  if (cx.dialect.name === 'postgres') return knex.transaction(fn);
  return knex.transaction(async (trx) => {
    // A deferred SQLite transaction that reads first cannot take the write lock later once
    // another connection wrote: a write first makes it BEGIN IMMEDIATE.
    await trx.raw(`UPDATE ${cx.t.groups} SET turn = turn WHERE domain = ? AND type = ? AND group_key = ?`, [
      cx.q.domain,
      cx.q.type,
      KEYLESS,
    ]);
    return fn(trx);
  });
}

/** The row-lock clause that skips rows another transaction holds ('' on SQLite: one writer). */
function skipLocked(cx: StrategyContext): string {
  return cx.dialect.skipLocked;
}

/**
 * Registers the groups `keys` (and the keyless row) of queued jobs about to be inserted through
 * `db` (a transaction, or SQLite's one connection). An upsert that locks each row, in key order
 * (every registration locks in the same order, so two pushes never deadlock).
 */
export async function registerGroups(
  cx: StrategyContext,
  db: KnexRawLike,
  keys: Iterable<string>,
): Promise<void> {
  const { t, q } = cx;
  const all = [...new Set([KEYLESS, ...keys])].sort();
  const bindings: Binding[] = [];
  for (const key of all) bindings.push(q.domain, q.type, key);
  const insert = `INSERT INTO ${t.groups} (domain, type, group_key) VALUES ${all.map(() => '(?, ?, ?)').join(', ')}`;
  const sql =
    cx.dialect.name === 'mysql'
      ? `${insert} ON DUPLICATE KEY UPDATE turn = turn`
      : `${insert} ON CONFLICT (domain, type, group_key) DO UPDATE SET turn = ${t.groups}.turn`;
  await db.raw(sql, bindings);
}

/** The distinct group keys of `rows` (rows to insert). */
export function groupKeysOf(rows: readonly Q.InsertRow[]): string[] {
  const keys = new Set<string>();
  for (const row of rows) if (row.groupKey !== null) keys.add(row.groupKey);
  return [...keys];
}

/** True when the queue has a group row other than the keyless one. */
export async function hasGroups(cx: StrategyContext, db: KnexRawLike): Promise<boolean> {
  const rows = await cx.rows(db, {
    sql: `SELECT 1 AS x FROM ${cx.t.groups} WHERE domain = ? AND type = ? AND group_key <> ? LIMIT 1`,
    bindings: [cx.q.domain, cx.q.type, KEYLESS],
  });
  return rows.length > 0;
}

/** One group's state while a claim holds its row. */
interface Held {
  readonly key: string;
  windowEnd: number;
  windowCount: number;
}

/**
 * Claims up to `args.limit` jobs over the queue's groups, round-robin, within each group's limits
 * (module comment); returns the rows in the order they were claimed (groups' turns), or null when
 * the queue has no group row besides the keyless one (the caller claims keyless jobs as before).
 * Runs inside `cx.run`.
 */
export function claimGrouped(
  cx: StrategyContext,
  knex: KnexLike,
  args: Q.ClaimArgs,
  limits: GroupLimitTable,
  remove: boolean,
): Promise<Row[] | null> {
  const { t, q } = cx;
  return groupTransaction(cx, knex, async (trx) => {
    if ((await cx.rows(trx, Q.pausedRow(t, q))).length > 0) return [];
    const candidates = await cx.rows(trx, {
      sql: `SELECT group_key FROM ${t.groups} WHERE domain = ? AND type = ? ORDER BY turn, group_key LIMIT ${CANDIDATES}`,
      bindings: [q.domain, q.type],
    });
    let live = candidates.map((r) => String(r.group_key));
    if (!live.some((key) => key !== KEYLESS)) return null;
    const [top] = await cx.rows(trx, {
      sql: `SELECT MAX(turn) AS m FROM ${t.groups} WHERE domain = ? AND type = ?`,
      bindings: [q.domain, q.type],
    });
    let turn = Number(top?.m ?? 0);
    const held = new Map<string, Held>();
    const out: Row[] = [];
    let remaining = args.limit;
    for (let pass = 0; pass < PASSES && remaining > 0 && live.length > 0; pass++) {
      const share = Math.max(1, Math.ceil(remaining / live.length));
      const next: string[] = [];
      for (const key of live) {
        if (remaining === 0) {
          next.push(key);
          continue;
        }
        const group = held.get(key) ?? (await lockGroup(cx, trx, key));
        if (group === null) continue;
        held.set(key, group);
        const room = await roomOf(cx, trx, group, limits, args.now, Math.min(share, remaining));
        if (room <= 0) continue;
        const rows = await claimFrom(cx, trx, args, key, room, remove);
        turn += 1;
        const limit = key === KEYLESS ? null : limits.of(key).rate;
        if (limit !== null && rows.length > 0) {
          if (group.windowEnd <= args.now) {
            group.windowEnd = args.now + limit.perMs;
            group.windowCount = 0;
          }
          group.windowCount += rows.length;
        }
        await trx.raw(
          `UPDATE ${t.groups} SET turn = ?, window_end = ?, window_count = ? WHERE domain = ? AND type = ? AND group_key = ?`,
          [turn, group.windowEnd, group.windowCount, q.domain, q.type, key],
        );
        for (const row of rows) out.push(row);
        remaining -= rows.length;
        if (rows.length === room) next.push(key);
      }
      live = next;
    }
    if (out.some((r) => r.sha1 !== null)) await cx.rekey(trx);
    return remove ? out.map((r): Row => ({ ...r, attempts: Number(r.attempts) + 1 })) : out;
  });
}

/** Locks group `key`'s row, or null when another claim holds it (or it is gone). */
async function lockGroup(cx: StrategyContext, trx: KnexRawLike, key: string): Promise<Held | null> {
  const [row] = await cx.rows(trx, {
    sql: `SELECT window_end, window_count FROM ${cx.t.groups} WHERE domain = ? AND type = ? AND group_key = ?${skipLocked(cx)}`,
    bindings: [cx.q.domain, cx.q.type, key],
  });
  if (row === undefined) return null;
  return { key, windowEnd: Number(row.window_end), windowCount: Number(row.window_count) };
}

/** How many more claims group `group` may take now, at most `want`. */
async function roomOf(
  cx: StrategyContext,
  trx: KnexRawLike,
  group: Held,
  limits: GroupLimitTable,
  now: number,
  want: number,
): Promise<number> {
  if (group.key === KEYLESS) return want;
  const limit = limits.of(group.key);
  let room = want;
  if (limit.rate !== null) {
    room = Math.min(room, group.windowEnd > now ? limit.rate.max - group.windowCount : limit.rate.max);
  }
  if (limit.maxConcurrent !== null && room > 0) {
    const [row] = await cx.rows(trx, {
      sql: `SELECT COUNT(*) AS n FROM ${cx.t.jobs} WHERE domain = ? AND type = ? AND group_key = ? AND state = ${Q.State.CLAIMED}`,
      bindings: [cx.q.domain, cx.q.type, group.key],
    });
    room = Math.min(room, limit.maxConcurrent - Number(row?.n ?? 0));
  }
  return room;
}

/** Claims up to `limit` ready jobs of group `key` ('' = the keyless jobs), inside `trx`. */
async function claimFrom(
  cx: StrategyContext,
  trx: KnexRawLike,
  args: Q.ClaimArgs,
  key: string,
  limit: number,
  remove: boolean,
): Promise<Row[]> {
  const { dialect: d, t } = cx;
  // `args` never names a group (the caller's keyless claim arguments).
  const one: Q.ClaimArgs = key === KEYLESS ? { ...args, limit } : { ...args, limit, group: key };
  if (d.returning) return cx.rows(trx, Q.claimReturning(d, t, one, remove, false));
  const picked = await cx.rows(trx, Q.claimSelect(d, t, one));
  if (picked.length === 0) return picked;
  const ids = picked.map((r) => r.id as string | number);
  const write = remove ? Q.deleteByIds(t, ids) : Q.claimByIds(d, t, ids, args.now, args.token);
  await trx.raw(write.sql, write.bindings);
  return picked.map((r): Row => ({ ...r, attempts: Number(r.attempts) + 1 }));
}

/**
 * Deletes the queue's group rows with no job left (in any state) and no open rate window, and
 * the keyless row once no other is left; returns how many rows went. Rows another transaction
 * holds (a claim, or a push registering the group) are skipped.
 */
export async function pruneGroups(cx: StrategyContext, now: number): Promise<number> {
  const { t, q } = cx;
  return cx.run('maintenance (groups)', async (knex) => {
    const any = await cx.rows(knex, {
      sql: `SELECT 1 AS x FROM ${t.groups} WHERE domain = ? AND type = ? LIMIT 1`,
      bindings: [q.domain, q.type],
    });
    if (any.length === 0) return 0;
    return groupTransaction(cx, knex, async (trx) => {
      const locked = (
        await cx.rows(trx, {
          sql: `SELECT group_key FROM ${t.groups} WHERE domain = ? AND type = ? AND window_end <= ? ORDER BY group_key${skipLocked(cx)}`,
          bindings: [q.domain, q.type, now],
        })
      ).map((r) => String(r.group_key));
      const keyed = locked.filter((key) => key !== KEYLESS);
      let pruned = 0;
      for (let i = 0; i < keyed.length; i += 500) {
        const part = keyed.slice(i, i + 500);
        pruned += await cx.affected(trx, {
          sql: `DELETE FROM ${t.groups} WHERE domain = ? AND type = ? AND group_key IN (${marks(part.length)}) AND NOT EXISTS (SELECT 1 FROM ${t.jobs} j WHERE j.domain = ${t.groups}.domain AND j.type = ${t.groups}.type AND j.group_key = ${t.groups}.group_key)`,
          bindings: [q.domain, q.type, ...part],
        });
      }
      if (locked.includes(KEYLESS) && !(await hasGroups(cx, trx))) {
        pruned += await cx.affected(trx, {
          sql: `DELETE FROM ${t.groups} WHERE domain = ? AND type = ? AND group_key = ?`,
          bindings: [q.domain, q.type, KEYLESS],
        });
      }
      return pruned;
    });
  });
}

/** Every group row of the queue (with `deleteQueue`). */
export function deleteQueueGroups(t: Q.Tables, q: Q.QueueKey): Q.Query {
  return { sql: `DELETE FROM ${t.groups} WHERE domain = ? AND type = ?`, bindings: [q.domain, q.type] };
}
