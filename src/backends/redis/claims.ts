/**
 * Claimed jobs as a pop hands them out: the `id, stored, attempts, token` quads a pop or ack-pop
 * script returns, decoded; a job that cannot be decoded is moved to abandoned (dropped when claims
 * are not tracked) and reported, never handed out or retried.
 *
 * @packageDocumentation
 */
import type { ClaimedJob } from '../../core/job-queue.js';
import { CorruptJobError, decodeJob, type StoredJob } from './codec.js';
import type { RedisLink } from './link.js';
import { scripts } from './script-loader.js';

/** What decoding needs of its queue. */
export interface ClaimDecoding {
  readonly type: string;
  readonly domain: string;
  readonly tracksClaims: boolean;
  readonly link: RedisLink;
  /** release-11's KEYS (a corrupted claimed job is released to abandoned). */
  readonly releaseKeys: readonly string[];
  /** Reports a skipped job (metric and the queue's `onError`). */
  report(message: string, cause?: unknown): void;
}

/** Decodes the `id, stored, attempts, token` quads of `reply` from index `first` into `out`. */
export async function decodeClaims(
  ctx: ClaimDecoding,
  reply: readonly unknown[],
  first: number,
  now: number,
  out: ClaimedJob[],
): Promise<void> {
  for (let i = first; i < reply.length; i += 4) {
    const id = String(reply[i]);
    const blob = reply[i + 1];
    const attempts = Number(reply[i + 2]);
    const claimToken = String(reply[i + 3]);
    let stored: StoredJob;
    try {
      const decoded = decodeJob(blob);
      stored = decoded instanceof Promise ? await decoded : decoded;
    } catch (err) {
      await quarantine(ctx, id, claimToken, blob, err, now);
      continue;
    }
    out.push({
      id,
      type: ctx.type,
      params: stored.params,
      domain: ctx.domain,
      releaseTimestamp: stored.releaseTimestamp,
      removeDuplicates: stored.sha1 !== null,
      sha1: stored.sha1,
      rootJob: stored.rootJob,
      requestId: stored.requestId,
      priority: stored.priority,
      groupKey: stored.groupKey,
      attempts,
      enqueuedAt: stored.enqueuedAt,
      claimedAt: now,
      claimToken,
      partition: null,
    });
  }
}

/** Moves a claimed job that cannot be decoded to abandoned (dropped when claims are untracked). */
async function quarantine(
  ctx: ClaimDecoding,
  id: string,
  token: string,
  blob: unknown,
  err: unknown,
  now: number,
): Promise<void> {
  const reason = err instanceof CorruptJobError ? err.message : String(err);
  if (!ctx.tracksClaims) {
    const sample = typeof blob === 'string' ? blob.slice(0, 200) : String(blob);
    ctx.report(`job ${id} cannot be decoded (${reason}) and was dropped; stored value: ${sample}`, err);
    return;
  }
  try {
    await ctx.link.eval(scripts().release, ctx.releaseKeys, [id, token, now, '', 0]);
    ctx.report(`job ${id} cannot be decoded (${reason}); moved to abandoned`, err);
  } catch (moveError) {
    // It stays claimed: maintenance recycles it and, after maxTries claims, abandons it.
    ctx.report(`job ${id} cannot be decoded (${reason}); moving it to abandoned failed`, moveError);
  }
}
