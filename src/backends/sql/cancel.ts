/**
 * Cancellation on SQL (`JobQueue.cancel`, `cancelDuplicates`, `claimsHeld`): a job is read, then
 * deleted only if it is still in the state read (no row locks, no dialect branch; a job that moved
 * on in between is read again), and a queued holder's dedup slot goes to its heir.
 *
 * @packageDocumentation
 */
import type { JobState } from '../../core/job.js';
import type { ClaimRef } from '../../core/job-queue.js';
import type { StrategyContext } from './dialects/dialect.js';
import { settleLinks } from './flows.js';
import type { KnexRawLike } from './knex-like.js';
import * as Q from './queries.js';

/** Reads before giving up on a job that keeps changing state under a cancel. */
const CANCEL_TRIES = 16;

/** Ids per claim-token query. */
const TOKEN_CHUNK = 500;

/** What a cancel did: the state the job was in, and how many flow jobs that made ready. */
export interface Cancelled {
  readonly was: JobState;
  readonly queued: number;
}

/**
 * Deletes job `id` of the queue whatever its state; returns the state it was in (and the flow
 * jobs that made queued), or null. A flow job is deleted in one transaction with its links: a
 * waiting one's own links, and the settle (as a failure) of the jobs waiting on it.
 */
export function cancelJob(cx: StrategyContext, id: string | number, now: number): Promise<Cancelled | null> {
  return cx.run('cancel', async (knex) => {
    for (let attempt = 0; attempt < CANCEL_TRIES; attempt++) {
      const [row] = await cx.rows(knex, Q.jobForCancel(cx.t, cx.q, id));
      if (row === undefined) return null;
      const state = Number(row.state);
      let queued = 0;
      if (state === Q.State.WAITING || (Number(row.flags) & Q.Flags.HAS_DEPENDENTS) !== 0) {
        const deleted = await knex.transaction(async (trx: KnexRawLike) => {
          if ((await cx.affected(trx, Q.cancelInState(cx.t, id, state))) === 0) return null;
          await trx.raw(`DELETE FROM ${cx.t.deps} WHERE dependent_id = ?`, [id]);
          return settleLinks(cx, trx, [id], false, now);
        });
        if (deleted === null) continue;
        queued = deleted;
      } else if ((await cx.affected(knex, Q.cancelInState(cx.t, id, state))) === 0) continue;
      const was = stateName(state, Number(row.release_at) > now);
      if (state !== Q.State.QUEUED && state !== Q.State.GROUPED) return { was, queued };
      const key = row.dedup_key;
      if (typeof key === 'string' && !key.startsWith('~')) await cx.rekey(knex);
      return { was, queued };
    }
    throw new Error(`job ${String(id)} changed state ${CANCEL_TRIES} times while being cancelled`);
  });
}

function stateName(state: number, releaseAhead: boolean): JobState {
  if (state === Q.State.CLAIMED) return 'claimed';
  if (state === Q.State.ABANDONED) return 'abandoned';
  if (state === Q.State.WAITING) return 'waiting';
  return releaseAhead ? 'delayed' : 'ready';
}

/** Deletes the queued holders of dedup key `sha1` (and their heirs); returns how many. */
export function cancelHolders(cx: StrategyContext, sha1: string): Promise<number> {
  return cx.run('cancelDuplicates', (knex) => cx.affected(knex, Q.cancelHolders(cx.t, cx.q, sha1)));
}

/**
 * Whether each claim's token still holds its job. `bindId` maps a job id to what the driver binds
 * (null: not an id this backend issues, so not held).
 */
export function claimsHeld(
  cx: StrategyContext,
  jobs: readonly ClaimRef[],
  bindId: (id: string) => string | number | null,
): Promise<boolean[]> {
  return cx.run('claimsHeld', async (knex) => {
    const live = new Map<string, unknown>();
    const ids = jobs.map((job) => bindId(job.id)).filter((id): id is string | number => id !== null);
    for (let start = 0; start < ids.length; start += TOKEN_CHUNK) {
      const rows = await cx.rows(knex, Q.claimTokens(cx.t, ids.slice(start, start + TOKEN_CHUNK)));
      for (const row of rows) live.set(String(row.id), row.claim_token);
    }
    return jobs.map((job) => live.get(job.id) === job.claimToken);
  });
}
