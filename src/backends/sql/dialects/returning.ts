/**
 * The strategies of the dialects with `UPDATE` / `DELETE … RETURNING` (PostgreSQL, SQLite): a
 * claim, an ack and the taking of abandoned jobs are each one statement that returns the rows it
 * changed; maintenance is single statements (racing passes, in many processes, each see a row
 * once, under its row lock).
 *
 * @packageDocumentation
 */
import type { KnexLike, KnexRawLike } from '../knex-like.js';
import * as Q from '../queries.js';
import type { Dialect, HeldRef, Row, StrategyContext } from './dialect.js';

/** One `UPDATE … RETURNING` (PostgreSQL through `FOR UPDATE SKIP LOCKED`; SQLite under the write lock). */
async function claim(
  cx: StrategyContext,
  knex: KnexLike,
  args: Q.ClaimArgs,
  remove: boolean,
): Promise<Row[]> {
  const claimed = await cx.rows(knex, Q.claimReturning(cx.dialect, cx.t, args, remove));
  if (claimed.some((r) => r.sha1 !== null)) {
    // The claims are committed: a failed heir hand-over must not lose them (it only
    // matters when a released twin waits, and the next claim or maintenance retries it).
    await cx.rekey(knex).catch(() => undefined);
  }
  // RETURNING gives the new values of a claim, the old ones of a delete.
  return remove ? claimed.map((r): Row => ({ ...r, attempts: Number(r.attempts) + 1 })) : claimed;
}

/** One fenced `DELETE … RETURNING` for the whole batch (`queries.ts#ackMany`). */
function ackHeld(cx: StrategyContext, knex: KnexLike, refs: readonly HeldRef[]): Promise<Row[]> {
  return cx.rows(knex, Q.ackMany(cx.dialect, cx.t, refs));
}

async function runMaintenance(
  cx: StrategyContext,
  now: number,
): Promise<{ recycled: number; abandoned: number; pruned: number }> {
  const { t, q } = cx;
  return cx.run('maintenance', async (knex) => {
    let recycled = 0;
    let abandoned = 0;
    if (cx.claimTTL > 0) {
      const cutoff = now - cx.claimTTL * 1000;
      // Single statements: racing passes (many processes) each see a row once, under its row lock.
      abandoned = await cx.affected(knex, Q.abandonExpired(t, q, cutoff, cx.maxTries));
      recycled = await cx.affected(knex, Q.recycleExpired(cx.dialect, t, q, cutoff, cx.maxTries));
      if (recycled > 0) await cx.rekey(knex);
    }
    const pruned = await cx.affected(knex, Q.pruneAbandoned(t, q, now - cx.abandonedTTL * 1000));
    await cx.affected(knex, Q.pruneRoots(t, q, now));
    return { recycled, abandoned, pruned };
  });
}

function takeAbandoned(cx: StrategyContext, trx: KnexRawLike, limit: number): Promise<Row[]> {
  return cx.rows(trx, Q.takeAbandoned(cx.dialect, cx.t, cx.q, limit));
}

/** The RETURNING strategies, spread into the PostgreSQL and SQLite dialects. */
export const returningStrategies: Pick<Dialect, 'claim' | 'ackHeld' | 'runMaintenance' | 'takeAbandoned'> =
  Object.freeze({ claim, ackHeld, runMaintenance, takeAbandoned });
