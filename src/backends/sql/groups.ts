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
 *   transaction: the group rows with the lowest turns, as many as jobs are wanted, locked
 *   `FOR UPDATE SKIP LOCKED` (a concurrent claim takes other groups, never waits; one that found
 *   every usable row held returns {@link CONTENDED} and is tried again); one count of the claims
 *   the capped ones hold (`state = 1` rows of the group index: at most their caps); their rate
 *   windows; each group's share claimed in pop order (priority, then the queue's order) by one
 *   statement per pass; the last turns given to the groups served or found empty (a group at its
 *   limit keeps its place), in one UPDATE with their windows.
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

/** Group rows one grouped claim locks at most, in turn order. */
const CANDIDATES = 128;

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

/** One group while a claim holds its row. */
interface Held {
  readonly key: string;
  windowEnd: number;
  windowCount: number;
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
 * Per chunk of group rows (lowest turns first, locked `SKIP LOCKED`, about as many as jobs are
 * wanted): one count of the held claims of its capped groups, then passes that ask each group
 * with room for an equal share, each pass one claim statement for all of them (PostgreSQL and
 * SQLite; MySQL one locking pick per group and one UPDATE), then one UPDATE of the chunk's turns
 * and rate windows. Runs inside `cx.run`.
 */
export function claimGrouped(
  cx: StrategyContext,
  knex: KnexLike,
  args: Q.ClaimArgs,
  limits: GroupLimitTable,
  remove: boolean,
): Promise<Row[] | null | typeof CONTENDED> {
  const { t, q } = cx;
  return groupTransaction(cx, knex, async (trx) => {
    if ((await cx.rows(trx, Q.pausedRow(t, q))).length > 0) return [];
    const [top] = await cx.rows(trx, {
      sql: `SELECT MAX(turn) AS m FROM ${t.groups} WHERE domain = ? AND type = ?`,
      bindings: [q.domain, q.type],
    });
    let turn = Number(top?.m ?? 0);
    const out: Row[] = [];
    let remaining = args.limit;
    let locked = 0;
    let after: readonly [number, string] | null = null;
    let sawGroup = false;
    while (remaining > 0 && locked < CANDIDATES) {
      // As many groups as jobs wanted (each gives one at least): concurrent claims lock others.
      const chunk = await lockChunk(cx, trx, after, Math.min(CANDIDATES - locked, remaining));
      if (chunk.length === 0) break;
      locked += chunk.length;
      const last = chunk[chunk.length - 1] as Row;
      after = [Number(last.turn), String(last.group_key)];
      const groups = await roomsOf(cx, trx, chunk, limits, args.now);
      if (groups.some((g) => g.key !== KEYLESS)) sawGroup = true;
      remaining -= await claimPasses(cx, trx, args, groups, remaining, remove, out);
      // The last turns, in turn order: to the groups that gave jobs or turned out empty.
      const moved = groups.filter((g) => g.served > 0 || g.drained);
      if (moved.length > 0) {
        const at = new Map<string, number>();
        for (const g of moved) {
          turn += 1;
          at.set(g.key, turn);
        }
        for (const g of moved) {
          const rate = g.key === KEYLESS ? null : limits.of(g.key).rate;
          if (rate === null || g.served === 0) continue;
          if (g.windowEnd <= args.now) {
            g.windowEnd = args.now + rate.perMs;
            g.windowCount = 0;
          }
          g.windowCount += g.served;
        }
        await updateGroups(cx, trx, moved, at);
      }
    }
    if (out.length === 0) {
      // Nothing but the keyless row (or nothing) to be seen: is there any group at all?
      if (!sawGroup && !(await hasGroups(cx, trx))) return null;
      // Rows other claims hold were skipped: the caller tries again shortly.
      if (cx.dialect.skipLocked !== '' && (await skippedAny(cx, trx, locked))) return CONTENDED;
    }
    if (out.some((r) => r.sha1 !== null)) await cx.rekey(trx);
    return remove ? out.map((r): Row => ({ ...r, attempts: Number(r.attempts) + 1 })) : out;
  });
}

/** Locks up to `n` group rows after `after` in turn order, skipping rows other transactions hold. */
function lockChunk(
  cx: StrategyContext,
  trx: KnexRawLike,
  after: readonly [number, string] | null,
  n: number,
): Promise<Row[]> {
  const { t, q } = cx;
  const keyset = after === null ? '' : ' AND (turn > ? OR (turn = ? AND group_key > ?))';
  const bindings: Binding[] = [q.domain, q.type];
  if (after !== null) bindings.push(after[0], after[0], after[1]);
  return cx.rows(trx, {
    sql: `SELECT group_key, turn, window_end, window_count FROM ${t.groups} WHERE domain = ? AND type = ?${keyset} ORDER BY turn, group_key LIMIT ${n}${cx.dialect.skipLocked}`,
    bindings,
  });
}

/** True when the queue has more group rows than the `locked` this claim locked (others held the rest). */
async function skippedAny(cx: StrategyContext, trx: KnexRawLike, locked: number): Promise<boolean> {
  const [row] = await cx.rows(trx, {
    sql: `SELECT COUNT(*) AS n FROM ${cx.t.groups} WHERE domain = ? AND type = ?`,
    bindings: [cx.q.domain, cx.q.type],
  });
  return Number(row?.n ?? 0) > locked;
}

/** Each locked group's room now: its rate window's, and its cap less the claims it holds (one count for all). */
async function roomsOf(
  cx: StrategyContext,
  trx: KnexRawLike,
  chunk: readonly Row[],
  limits: GroupLimitTable,
  now: number,
): Promise<Held[]> {
  const groups = chunk.map(
    (r): Held => ({
      key: String(r.group_key),
      windowEnd: Number(r.window_end),
      windowCount: Number(r.window_count),
      room: Number.POSITIVE_INFINITY,
      served: 0,
      drained: false,
    }),
  );
  const capped: string[] = [];
  for (const g of groups) {
    if (g.key === KEYLESS) continue;
    const limit = limits.of(g.key);
    if (limit.rate !== null) {
      g.room = g.windowEnd > now ? limit.rate.max - g.windowCount : limit.rate.max;
    }
    if (limit.maxConcurrent !== null && g.room > 0) capped.push(g.key);
  }
  if (capped.length > 0) {
    const held = new Map<string, number>();
    const rows = await cx.rows(trx, {
      sql: `SELECT group_key, COUNT(*) AS n FROM ${cx.t.jobs} WHERE domain = ? AND type = ? AND group_key IN (${Q.placeholders(capped.length)}) AND state = ${Q.State.CLAIMED} GROUP BY group_key`,
      bindings: [cx.q.domain, cx.q.type, ...capped],
    });
    for (const r of rows) held.set(String(r.group_key), Number(r.n));
    for (const g of groups) {
      const cap = g.key === KEYLESS ? null : limits.of(g.key).maxConcurrent;
      if (cap !== null) g.room = Math.min(g.room, cap - (held.get(g.key) ?? 0));
    }
  }
  return groups;
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
    if (keyless > 0) {
      for (const row of await cx.rows(
        trx,
        Q.claimReturning(d, t, { ...args, limit: keyless }, remove, false),
      ))
        add(KEYLESS, row);
    }
    if (keyed.length > 0) {
      for (const row of await cx.rows(trx, Q.claimGroupsReturning(d, t, args, keyed, remove)))
        add(String(row.group_key), row);
    }
  } else {
    // MySQL: one locking pick per group, then one write for them all.
    const picked: Row[] = [];
    const picks: (readonly [string, number])[] = [
      ...(keyless > 0 ? [[KEYLESS, keyless] as const] : []),
      ...keyed,
    ];
    for (const [key, n] of picks) {
      const one: Q.ClaimArgs = key === KEYLESS ? { ...args, limit: n } : { ...args, limit: n, group: key };
      for (const row of await cx.rows(trx, Q.claimSelect(d, t, one))) {
        picked.push(row);
        add(key, { ...row, attempts: Number(row.attempts) + (remove ? 0 : 1) });
      }
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

/** One UPDATE of the turns and rate windows of `groups` (`at`: each one's new turn). */
async function updateGroups(
  cx: StrategyContext,
  trx: KnexRawLike,
  groups: readonly Held[],
  at: ReadonlyMap<string, number>,
): Promise<void> {
  const { t, q } = cx;
  const bindings: Binding[] = [];
  const cases = (value: (g: Held) => number): string => {
    for (const g of groups) bindings.push(g.key, value(g));
    // PostgreSQL types an untyped parameter in THEN as text.
    const then = cx.dialect.name === 'postgres' ? 'WHEN ? THEN CAST(? AS BIGINT)' : 'WHEN ? THEN ?';
    return `CASE group_key ${groups.map(() => then).join(' ')} END`;
  };
  const turn = cases((g) => at.get(g.key) ?? 0);
  const end = cases((g) => g.windowEnd);
  const count = cases((g) => g.windowCount);
  await trx.raw(
    `UPDATE ${t.groups} SET turn = ${turn}, window_end = ${end}, window_count = ${count} WHERE domain = ? AND type = ? AND group_key IN (${Q.placeholders(groups.length)})`,
    [...bindings, q.domain, q.type, ...groups.map((g) => g.key)],
  );
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
