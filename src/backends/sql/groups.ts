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
 *   transaction per claim: a plain look-ahead read of the group rows with ready jobs (lowest turns
 *   first, with the held claims of the capped ones), then the ones with room, up to one per job
 *   wanted, locked `FOR UPDATE SKIP LOCKED` (a concurrent claim takes other groups, never waits;
 *   one that found every usable row held returns {@link CONTENDED} and is tried again); each
 *   group's share claimed in pop order (priority, then the queue's order) by one statement per
 *   pass; the last turns given to the groups served (a group at its limit or without ready jobs
 *   keeps its place), in one UPDATE with their windows. Details at {@link claimGrouped}.
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
import { popOrder } from './rows.js';

/** How long (ms) a handle trusts "this queue has no groups" while its keyless claims come back full. */
export const GROUP_CHECK_MS = 1000;

/** Group rows one look-ahead read of a grouped claim returns at most (a page, in turn order). */
const CANDIDATES = 128;

/** Pages of group rows one grouped claim reads at most. */
const PAGES = 8;

/** Passes over the candidates one grouped claim makes at most (a batch larger than one share per group). */
const PASSES = 4;

/**
 * What {@link claimGrouped} returns when it claimed nothing because other claims held group rows
 * it skipped: the caller tries again a few times, a few ms apart, in new transactions, rather than
 * report an empty queue that may not be. (Waiting for the rows instead serialised every claim:
 * 8 runner processes then ran about 3 jobs at a time; and waiting in turn order deadlocked.)
 */
export const CONTENDED: unique symbol = Symbol('contended');

/** The keyless jobs' row in the groups table. */
const KEYLESS = '';

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

/** One group a claim looked at: what the look-ahead read saw, then (once locked) its room. */
interface Held {
  readonly key: string;
  /** Its `served` column as the look-ahead read saw it (changed by every claim that served it). */
  readonly seenServed: number;
  windowEnd: number;
  windowCount: number;
  /** The claims it holds (counted; null: not counted, it has no cap). */
  held: number | null;
  /** Claims it may still take in this claim (Infinity: unlimited). */
  room: number;
  /** Jobs it gave in this claim. */
  served: number;
  /** True once a pick gave fewer than asked: nothing more is ready in it. */
  drained: boolean;
}

/**
 * Claims up to `args.limit` jobs over the queue's groups, round-robin, within each group's limits
 * (module comment); returns the rows in round-robin order over the groups' turns, or null when
 * the queue has no group row besides the keyless one (the caller claims keyless jobs as before).
 *
 * Per page of group rows (lowest turns first): one look-ahead read (plain, no lock) of the rows
 * that have a ready job, with the claims each capped one holds and the queue's pause and highest
 * turn; of those with room, up to one per job wanted, are locked `FOR UPDATE SKIP LOCKED`
 * (SQLite holds its write lock already); a locked row whose `served` moved since the read (a claim
 * committed in between) has its held claims counted again; then passes of claim statements that
 * ask each group an equal share, and one UPDATE of the served groups' turns, windows and `served`.
 * A group at its cap or without ready jobs is never locked, so claims do not queue behind it.
 * Runs inside `cx.run`.
 */
export function claimGrouped(
  cx: StrategyContext,
  knex: KnexLike,
  args: Q.ClaimArgs,
  limits: GroupLimitTable,
  remove: boolean,
): Promise<Row[] | null | typeof CONTENDED> {
  return groupTransaction(cx, knex, async (trx) => {
    const out: Row[] = [];
    let remaining = args.limit;
    let after: readonly [number, string] | null = null;
    let turn = 0;
    let sawGroup = false;
    let skipped = false;
    for (let page = 0; page < PAGES && remaining > 0; page++) {
      const seen = await cx.rows(trx, lookAhead(cx, args, limits, after));
      if (page === 0) {
        if (Number(seen[0]?.paused ?? 0) > 0) return [];
        turn = Number(seen[0]?.top ?? 0);
      }
      const last = seen[seen.length - 1];
      if (last === undefined) break;
      after = [Number(last.turn), String(last.group_key)];
      const usable: Held[] = [];
      for (const row of seen) {
        const g = heldOf(row, limits, args.now);
        if (g.key !== KEYLESS) sawGroup = true;
        if (g.room > 0) usable.push(g);
      }
      for (let at = 0; at < usable.length && remaining > 0; ) {
        // Every usable group of the page, up to one per job wanted, shares the ask: a batch is
        // shared out round-robin, and its rows lie together in the table (one group's share of an
        // interleaved queue touches ~groups times more pages: SQLite's grouped drain 25k -> 41k
        // jobs/s, MariaDB 10k -> 13k, PostgreSQL's look-ahead walks fewer dead entries).
        const pick: Held[] = [];
        while (at < usable.length && pick.length < remaining) pick.push(usable[at++] as Held);
        const groups = await lockGroups(cx, trx, pick, limits, args.now);
        if (groups.length < pick.length) skipped = true;
        if (groups.length === 0) continue;
        remaining -= await claimPasses(cx, trx, args, groups, remaining, remove, out);
        // The last turns, in turn order: to the groups that gave jobs.
        const served = groups.filter((g) => g.served > 0);
        for (const g of served) {
          const rate = g.key === KEYLESS ? null : limits.of(g.key).rate;
          if (rate === null) continue;
          if (g.windowEnd <= args.now) {
            g.windowEnd = args.now + rate.perMs;
            g.windowCount = 0;
          }
          g.windowCount += g.served;
        }
        if (served.length > 0) turn = await updateGroups(cx, trx, served, turn);
      }
      if (seen.length < CANDIDATES) break;
    }
    if (out.length === 0) {
      // Nothing but the keyless row (or nothing) to be seen: is there any group at all?
      if (!sawGroup && !(await hasGroups(cx, trx))) return null;
      // Groups with room and ready jobs were held by other claims: the caller tries again shortly.
      if (skipped) return CONTENDED;
    }
    if (out.some((r) => r.sha1 !== null)) await cx.rekey(trx);
    return remove ? out.map((r): Row => ({ ...r, attempts: Number(r.attempts) + 1 })) : out;
  });
}

/**
 * The condition (on `g`, a group row) of the groups whose held claims are counted: those with a
 * cap by `limits`; null when no group has one.
 */
function cappedWhere(limits: GroupLimitTable): { sql: string; bindings: Binding[] } | null {
  const capped: string[] = [];
  const uncapped: string[] = [];
  for (const [key, limit] of limits.keyed()) (limit.maxConcurrent === null ? uncapped : capped).push(key);
  if (limits.defaults.maxConcurrent === null) {
    if (capped.length === 0) return null;
    return { sql: `g.group_key IN (${Q.placeholders(capped.length)})`, bindings: capped };
  }
  const keys = [KEYLESS, ...uncapped];
  return { sql: `g.group_key NOT IN (${Q.placeholders(keys.length)})`, bindings: keys };
}

/**
 * The look-ahead read of one page of group rows after `after` in turn order (a plain read, no
 * lock): only rows with a ready job (the keyless row: a ready keyless job), each with its turn,
 * rate window and `served`, the claims it holds when it has a cap (`held`), and the queue's
 * `paused` and highest turn (`top`).
 */
function lookAhead(
  cx: StrategyContext,
  args: Q.ClaimArgs,
  limits: GroupLimitTable,
  after: readonly [number, string] | null,
): Q.Query {
  const { t, q } = cx;
  const { sql: due, bindings: times } = Q.dueCondition(args, 'j');
  const capped = cappedWhere(limits);
  const bindings: Binding[] = [q.domain, q.type, q.domain, q.type];
  let held = 'NULL';
  if (capped !== null) {
    held = `CASE WHEN ${capped.sql} THEN (SELECT COUNT(*) FROM ${t.jobs} j WHERE j.domain = g.domain AND j.type = g.type AND j.group_key = g.group_key AND j.state = ${Q.State.CLAIMED}) END`;
    bindings.push(...capped.bindings);
  }
  bindings.push(q.domain, q.type);
  const keyset = after === null ? '' : ' AND (g.turn > ? OR (g.turn = ? AND g.group_key > ?))';
  if (after !== null) bindings.push(after[0], after[0], after[1]);
  bindings.push(KEYLESS, ...times, KEYLESS, ...times);
  return {
    sql:
      `SELECT (SELECT COUNT(*) FROM ${t.paused} WHERE domain = ? AND type = ?) AS paused,` +
      ` (SELECT MAX(turn) FROM ${t.groups} WHERE domain = ? AND type = ?) AS top,` +
      ` g.group_key, g.turn, g.window_end, g.window_count, g.served, ${held} AS held` +
      ` FROM ${t.groups} g WHERE g.domain = ? AND g.type = ?${keyset}` +
      ` AND ((g.group_key = ? AND EXISTS (SELECT 1 FROM ${t.jobs} j WHERE j.domain = g.domain AND j.type = g.type AND j.state = ${Q.State.QUEUED} AND ${due}))` +
      ` OR (g.group_key <> ? AND EXISTS (SELECT 1 FROM ${t.jobs} j WHERE j.domain = g.domain AND j.type = g.type AND j.group_key = g.group_key AND j.state = ${Q.State.GROUPED} AND ${due})))` +
      ` ORDER BY g.turn, g.group_key LIMIT ${CANDIDATES}`,
    bindings,
  };
}

/** A group row read (look-ahead or lock) as a {@link Held} with its room by `limits` at `now`. */
function heldOf(row: Row, limits: GroupLimitTable, now: number, seenServed?: number): Held {
  const key = String(row.group_key);
  const g: Held = {
    key,
    seenServed: seenServed ?? Number(row.served),
    windowEnd: Number(row.window_end),
    windowCount: Number(row.window_count),
    held: row.held === null || row.held === undefined ? null : Number(row.held),
    room: Number.POSITIVE_INFINITY,
    served: 0,
    drained: false,
  };
  roomOf(g, limits, now);
  return g;
}

/** Sets `g.room` from its rate window and its cap less its held claims. */
function roomOf(g: Held, limits: GroupLimitTable, now: number): void {
  g.room = Number.POSITIVE_INFINITY;
  if (g.key === KEYLESS) return;
  const limit = limits.of(g.key);
  if (limit.rate !== null) g.room = g.windowEnd > now ? limit.rate.max - g.windowCount : limit.rate.max;
  if (limit.maxConcurrent !== null) g.room = Math.min(g.room, limit.maxConcurrent - (g.held ?? 0));
}

/**
 * Locks the rows of `pick` (skipping those other transactions hold) and returns them with their
 * room now. The locked row is the newest committed one: where its `served` moved since the
 * look-ahead (a claim of the group committed in between), the held claims of capped ones are
 * counted again (one count for all); else the look-ahead's count stands, as only claims raise it.
 * SQLite: the transaction holds the write lock, so the look-ahead is current and there is no lock.
 */
async function lockGroups(
  cx: StrategyContext,
  trx: KnexRawLike,
  pick: readonly Held[],
  limits: GroupLimitTable,
  now: number,
): Promise<Held[]> {
  if (cx.dialect.skipLocked === '') return [...pick];
  const { t, q } = cx;
  const seen = new Map(pick.map((g) => [g.key, g] as const));
  const rows = await cx.rows(trx, {
    sql: `SELECT group_key, window_end, window_count, served FROM ${t.groups} WHERE domain = ? AND type = ? AND group_key IN (${Q.placeholders(pick.length)}) ORDER BY group_key${cx.dialect.skipLocked}`,
    bindings: [q.domain, q.type, ...pick.map((g) => g.key)],
  });
  const groups: Held[] = [];
  const recount: Held[] = [];
  for (const row of rows) {
    const before = seen.get(String(row.group_key)) as Held;
    const g = heldOf({ ...row, held: before.held }, limits, now, before.seenServed);
    if (g.held !== null && Number(row.served) !== g.seenServed) recount.push(g);
    groups.push(g);
  }
  if (recount.length > 0) {
    const held = new Map<string, number>();
    for (const r of await cx.rows(trx, {
      sql: `SELECT group_key, COUNT(*) AS n FROM ${t.jobs} WHERE domain = ? AND type = ? AND group_key IN (${Q.placeholders(recount.length)}) AND state = ${Q.State.CLAIMED} GROUP BY group_key`,
      bindings: [q.domain, q.type, ...recount.map((g) => g.key)],
    }))
      held.set(String(r.group_key), Number(r.n));
    for (const g of recount) {
      g.held = held.get(g.key) ?? 0;
      roomOf(g, limits, now);
    }
  }
  // In the look-ahead's turn order.
  const order = new Map(pick.map((g, i) => [g.key, i] as const));
  return groups.filter((g) => g.room > 0).sort((a, b) => (order.get(a.key) ?? 0) - (order.get(b.key) ?? 0));
}

/**
 * Passes over `groups` that ask each group with room an equal share of what is still wanted;
 * appends the claimed rows to `out` round-robin over the groups, per pass; returns how many.
 */
async function claimPasses(
  cx: StrategyContext,
  trx: KnexRawLike,
  args: Q.ClaimArgs,
  groups: Held[],
  wanted: number,
  remove: boolean,
  out: Row[],
): Promise<number> {
  let remaining = wanted;
  for (let pass = 0; pass < PASSES && remaining > 0; pass++) {
    const live = groups.filter((g) => g.room > 0 && !g.drained);
    if (live.length === 0) break;
    const share = Math.max(1, Math.ceil(remaining / live.length));
    const asks: [Held, number][] = [];
    let asked = 0;
    for (const g of live) {
      const n = Math.min(share, g.room, remaining - asked);
      if (n <= 0) break;
      asks.push([g, n]);
      asked += n;
    }
    const got = await claimAsks(cx, trx, args, asks, remove);
    const lists: Row[][] = [];
    for (const [g, n] of asks) {
      const rows = got.get(g.key) ?? [];
      g.served += rows.length;
      g.room -= rows.length;
      if (rows.length < n) g.drained = true;
      lists.push(rows);
      remaining -= rows.length;
    }
    // Round-robin over the groups within the pass, so a coalesced batch is shared out fairly.
    for (let i = 0; lists.some((l) => i < l.length); i++) {
      for (const l of lists) {
        const row = l[i];
        if (row !== undefined) out.push(row);
      }
    }
  }
  return wanted - remaining;
}

/** Claims each ask's count of its group's ready jobs; returns the rows per group key. */
async function claimAsks(
  cx: StrategyContext,
  trx: KnexRawLike,
  args: Q.ClaimArgs,
  asks: readonly (readonly [Held, number])[],
  remove: boolean,
): Promise<Map<string, Row[]>> {
  const { dialect: d, t } = cx;
  const byKey = new Map<string, Row[]>();
  const add = (key: string, row: Row) => {
    const list = byKey.get(key);
    if (list === undefined) byKey.set(key, [row]);
    else list.push(row);
  };
  const keyed = asks.filter(([g]) => g.key !== KEYLESS).map(([g, n]) => [g.key, n] as const);
  const keyless = asks.find(([g]) => g.key === KEYLESS)?.[1] ?? 0;
  if (d.returning) {
    // One statement for the keyless ask and the groups' (a keyless row's group_key is NULL).
    if (keyed.length === 0 && keyless === 0) return byKey;
    const claim =
      keyed.length === 0
        ? Q.claimReturning(d, t, { ...args, limit: keyless }, remove, false)
        : Q.claimGroupsReturning(d, t, args, keyed, keyless, remove);
    for (const row of await cx.rows(trx, claim))
      add(row.group_key === null ? KEYLESS : String(row.group_key), row);
  } else {
    // MySQL: one locking pick per group, then one write for them all.
    const arms: Q.Query[] = [];
    if (keyless > 0) arms.push(Q.claimSelect(d, t, { ...args, limit: keyless }));
    for (const [key, n] of keyed) arms.push(Q.claimSelect(d, t, { ...args, limit: n, group: key }));
    const picked: Row[] = [];
    for (const a of arms) picked.push(...(await cx.rows(trx, a)));
    for (const row of picked) {
      const key = row.group_key === null ? KEYLESS : String(row.group_key);
      add(key, { ...row, attempts: Number(row.attempts) + (remove ? 0 : 1) });
    }
    if (picked.length > 0) {
      const ids = picked.map((r) => r.id as string | number);
      const write = remove ? Q.deleteByIds(t, ids) : Q.claimByIds(d, t, ids, args.now, args.token);
      await trx.raw(write.sql, write.bindings);
    }
  }
  // RETURNING does not keep the ORDER BY: each group's rows in pop order.
  for (const rows of byKey.values()) rows.sort(popOrder);
  return byKey;
}

/**
 * One UPDATE of the groups that served jobs: the last turns after `turn`, in their order, their
 * rate windows, and `served` moved on by the jobs each gave; returns the highest turn given.
 */
async function updateGroups(
  cx: StrategyContext,
  trx: KnexRawLike,
  groups: readonly Held[],
  turn: number,
): Promise<number> {
  const { t, q } = cx;
  const bindings: Binding[] = [];
  const cases = (value: (g: Held, i: number) => number): string => {
    for (const [i, g] of groups.entries()) bindings.push(g.key, value(g, i));
    // PostgreSQL types an untyped parameter in THEN as text.
    const then = cx.dialect.name === 'postgres' ? 'WHEN ? THEN CAST(? AS BIGINT)' : 'WHEN ? THEN ?';
    return `CASE group_key ${groups.map(() => then).join(' ')} END`;
  };
  const turns = cases((_, i) => turn + i + 1);
  const end = cases((g) => g.windowEnd);
  const count = cases((g) => g.windowCount);
  const served = cases((g) => g.served);
  await trx.raw(
    `UPDATE ${t.groups} SET turn = ${turns}, window_end = ${end}, window_count = ${count}, served = served + ${served} WHERE domain = ? AND type = ? AND group_key IN (${Q.placeholders(groups.length)})`,
    [...bindings, q.domain, q.type, ...groups.map((g) => g.key)],
  );
  return turn + groups.length;
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
          sql: `SELECT group_key FROM ${t.groups} WHERE domain = ? AND type = ? AND window_end <= ? ORDER BY group_key${cx.dialect.skipLocked}`,
          bindings: [q.domain, q.type, now],
        })
      ).map((r) => String(r.group_key));
      const keyed = locked.filter((key) => key !== KEYLESS);
      let pruned = 0;
      for (let i = 0; i < keyed.length; i += 500) {
        const part = keyed.slice(i, i + 500);
        pruned += await cx.affected(trx, {
          sql: `DELETE FROM ${t.groups} WHERE domain = ? AND type = ? AND group_key IN (${Q.placeholders(part.length)}) AND NOT EXISTS (SELECT 1 FROM ${t.jobs} j WHERE j.domain = ${t.groups}.domain AND j.type = ${t.groups}.type AND j.group_key = ${t.groups}.group_key)`,
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
