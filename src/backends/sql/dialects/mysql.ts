/**
 * MySQL 8 / MariaDB ≥ 10.6 (mysql2): `CONCAT()`, `INSERT IGNORE`, `UPDATE IGNORE`,
 * `FOR UPDATE SKIP LOCKED`, no `UPDATE … RETURNING`: the claim is a SELECT … SKIP LOCKED plus an
 * UPDATE in one short transaction, and so are the ack, the expiry of claims and the taking of
 * abandoned jobs (a locking read, then a write by primary key). mysql2 returns `[rows, fields]`,
 * or `[ResultSetHeader]`.
 *
 * @packageDocumentation
 */
import type { KnexLike, KnexRawLike } from '../knex-like.js';
import * as Q from '../queries.js';
import { type Dialect, type HeldRef, numericId, type Row, type StrategyContext } from './dialect.js';

/**
 * MySQL's claim, ack and expiry transactions, at READ COMMITTED: their locking reads take record
 * locks only (no gap / next-key locks) and release the rows they scanned but did not match. At
 * REPEATABLE READ, maintenance's expiry UPDATEs locked every claimed row they scanned and batch
 * acks took next-key locks on neighbouring ids: both deadlocked with acks and claims (the
 * crash-concurrency drain: ~20 deadlocks a run with maintenance racing, failing acks after the
 * retries; a few a run without). Fencing needs no more: a locking read sees the latest commit.
 * The claim ran at the server's default too (it measured no faster under READ COMMITTED: P-7
 * pushes racing pops, 2,000 jobs, 1.85–2.09 s vs 1.82–1.94 s), until coalesced claims of a few
 * hundred rows deadlocked with acks at REPEATABLE READ (InnoDB status: the claim's
 * `UPDATE … WHERE id IN` holding 3,806 row locks, waiting on a row an ack had deleted).
 */
function lockingTransaction<R>(knex: KnexLike, fn: (trx: KnexRawLike) => Promise<R>): Promise<R> {
  return knex.transaction(fn, { isolationLevel: 'read committed' });
}

/** `SELECT … FOR UPDATE SKIP LOCKED`, then an UPDATE (or DELETE) by primary key, in one transaction. */
function claim(cx: StrategyContext, knex: KnexLike, args: Q.ClaimArgs, remove: boolean): Promise<Row[]> {
  const { dialect: d, t } = cx;
  return lockingTransaction(knex, async (trx) => {
    if ((await cx.rows(trx, Q.pausedRow(t, cx.q))).length > 0) return [];
    const picked = await cx.rows(trx, Q.claimSelect(d, t, args));
    if (picked.length === 0) return picked;
    const ids = picked.map((r) => r.id as string | number);
    const q = remove ? Q.deleteByIds(t, ids) : Q.claimByIds(d, t, ids, args.now, args.token);
    await trx.raw(q.sql, q.bindings);
    if (picked.some((r) => r.sha1 !== null)) await cx.rekey(trx);
    return picked.map((r): Row => ({ ...r, attempts: Number(r.attempts) + 1 }));
  });
}

/**
 * Locks by primary key in id order (one lock order for every ack), then deletes the rows whose
 * claims the tokens still hold (P-11).
 */
function ackHeld(cx: StrategyContext, knex: KnexLike, refs: readonly HeldRef[]): Promise<Row[]> {
  const ids = [...new Set(refs.map((r) => Number(r.id)))].sort((a, b) => a - b);
  const tokens = new Set(refs.map((r) => `${String(r.id)}\u0000${r.token}`));
  return lockingTransaction(knex, async (trx) => {
    const locked = await cx.rows(trx, Q.lockByIds(cx.t, ids));
    const held = locked.filter((r) => tokens.has(`${String(r.id)}\u0000${String(r.claim_token)}`));
    await deleteLocked(cx, trx, held);
    return held;
  });
}

/**
 * The expired claims in chunks, each a short READ COMMITTED transaction that locks them
 * `FOR UPDATE SKIP LOCKED` and updates them by primary key (see {@link lockingTransaction}). A
 * row counts in the pass whose chunk changed it; a chunk's counts are kept once it commits, so a
 * retried chunk never counts a row twice.
 */
async function runMaintenance(
  cx: StrategyContext,
  now: number,
): Promise<{ recycled: number; abandoned: number; pruned: number }> {
  const { dialect: d, t, q } = cx;
  let recycled = 0;
  let abandoned = 0;
  if (cx.claimTTL > 0) {
    const cutoff = now - cx.claimTTL * 1000;
    for (;;) {
      const chunk = await cx.run('maintenance', (knex) =>
        lockingTransaction(knex, async (trx) => {
          const picked = await cx.rows(trx, Q.lockExpired(d, t, q, cutoff, Q.PAGE_SIZE));
          if (picked.length === 0) return { picked: 0, abandoned: 0, recycled: 0 };
          const ids = picked.map((r) => r.id as string | number);
          return {
            picked: picked.length,
            abandoned: await cx.affected(trx, Q.abandonExpiredByIds(t, ids, cutoff, cx.maxTries)),
            recycled: await cx.affected(trx, Q.recycleExpiredByIds(d, t, ids, cutoff, cx.maxTries)),
          };
        }),
      );
      abandoned += chunk.abandoned;
      recycled += chunk.recycled;
      if (chunk.picked < Q.PAGE_SIZE) break;
    }
  }
  const pruned = await cx.run('maintenance', async (knex) => {
    if (recycled > 0) await cx.rekey(knex);
    return lockingTransaction(knex, async (trx) => {
      const n = await cx.affected(trx, Q.pruneAbandoned(t, q, now - cx.abandonedTTL * 1000));
      await cx.affected(trx, Q.pruneRoots(t, q, now));
      return n;
    });
  });
  return { recycled, abandoned, pruned };
}

/** A locking read of abandoned rows, then a DELETE by primary key (inside the caller's transaction). */
async function takeAbandoned(cx: StrategyContext, trx: KnexRawLike, limit: number): Promise<Row[]> {
  const taken = await cx.rows(trx, Q.lockAbandoned(cx.t, cx.q, limit));
  await deleteLocked(cx, trx, taken);
  return taken;
}

/** Deletes `rows` (locked by the transaction `trx`) by primary key. */
async function deleteLocked(cx: StrategyContext, trx: KnexRawLike, rows: readonly Row[]): Promise<void> {
  if (rows.length === 0) return;
  const q = Q.deleteByIds(
    cx.t,
    rows.map((r) => r.id as string | number),
  );
  await trx.raw(q.sql, q.bindings);
}

/** The MySQL / MariaDB dialect. */
export const mysql: Dialect = Object.freeze({
  name: 'mysql',
  concat: (...parts: readonly string[]) => `CONCAT(${parts.join(', ')})`,
  insertIgnore: Object.freeze({ head: 'INSERT IGNORE INTO', tail: '' }),
  updateIgnore: 'UPDATE IGNORE',
  returning: false,
  skipLocked: ' FOR UPDATE SKIP LOCKED',
  oneConnection: false,
  batchInOneTransaction: false,
  rows(result: unknown): Row[] {
    const first = Array.isArray(result) ? (result[0] as unknown) : undefined;
    return Array.isArray(first) ? (first as Row[]) : [];
  },
  affected(result: unknown): number {
    const header = (Array.isArray(result) ? result[0] : result) as
      | { affectedRows?: unknown; info?: unknown }
      | undefined;
    // "Rows matched" (UPDATE) does not depend on the CLIENT_FOUND_ROWS flag of a host's pool:
    // an UPDATE that sets a value to itself still matched the row.
    const matched = typeof header?.info === 'string' ? /Rows matched:\s*(\d+)/.exec(header.info) : null;
    if (matched?.[1] !== undefined) return Number(matched[1]);
    return Number(header?.affectedRows ?? 0);
  },
  bindId: numericId,
  claim,
  ackHeld,
  runMaintenance,
  takeAbandoned,
});
