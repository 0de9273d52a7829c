/**
 * Arguments the queue passes to its scripts: ids and claim-token nonces, and the ARGV of the push
 * scripts.
 *
 * @packageDocumentation
 */
import { randomBytes } from 'node:crypto';
import type { NormalizedJob } from '../../core/job.js';

// Ids and claim tokens: a random per-process prefix plus a counter. Unique across processes (72
// random bits) without a syscall per job; they fence claims, they are not secrets.
const PROCESS_PREFIX = randomBytes(9).toString('base64url');
let sequence = 0;
export function nextId(): string {
  return `${PROCESS_PREFIX}${(++sequence).toString(36)}`;
}

/**
 * True when every job of `jobs[start..end)` is priority 0 without a dedup key, a release time or a
 * group key
 * (push-plain-2: only the ready list).
 */
export function isPlain(jobs: readonly NormalizedJob[], start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    const job = jobs[i] as NormalizedJob;
    if (job.sha1 !== null || job.releaseTimestamp !== null || job.priority !== 0 || job.groupKey !== null) {
      return false;
    }
  }
  return true;
}

/** push-plain-2's ARGV: id and stored job per job. */
export function plainPushArgs(blobs: readonly string[], start: number, end: number): string[] {
  const args: string[] = new Array(2 * (end - start));
  for (let i = start, a = 0; i < end; i++, a += 2) {
    args[a] = nextId();
    args[a + 1] = blobs[i] as string;
  }
  return args;
}

/** push-7's ARGV: now, then id, sha1, release time and stored job per job (its header holds the priority). */
export function pushArgs(
  jobs: readonly NormalizedJob[],
  blobs: readonly string[],
  start: number,
  end: number,
  now: number,
): (string | number)[] {
  const args: (string | number)[] = [now];
  for (let i = start; i < end; i++) {
    const job = jobs[i] as NormalizedJob;
    args.push(nextId(), job.sha1 ?? '', job.releaseTimestamp ?? '', blobs[i] as string);
  }
  return args;
}
