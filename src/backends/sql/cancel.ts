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
import * as Q from './queries.js';

/** Reads before giving up on a job that keeps changing state under a cancel. */
const CANCEL_TRIES = 16;

/** Ids per claim-token query. */
const TOKEN_CHUNK = 500;

/** Deletes job `id` of the queue whatever its state; returns the state it was in, or null. */
export function cancelJob(cx: StrategyContext, id: string | number, now: number): Promise<JobState | null> {
  return cx.run('cancel', async (knex) => {
    for (let attempt = 0; attempt < CANCEL_TRIES; attempt++) {
      const [row] = await cx.rows(knex, Q.jobForCancel(cx.t, cx.q, id));
      if (row === undefined) return null;
      const state = Number(row.state);
      if ((await cx.affected(knex, Q.cancelInState(cx.t, id, state))) === 0) continue;
      if (state === Q.State.CLAIMED) return 'claimed';
      if (state === Q.State.ABANDONED) return 'abandoned';
      const key = row.dedup_key;
      if (typeof key === 'string' && !key.startsWith('~')) await cx.rekey(knex);
      return Number(row.release_at) > now ? 'delayed' : 'ready';
    }
    throw new Error(`job ${String(id)} changed state ${CANCEL_TRIES} times while being cancelled`);
  });
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
