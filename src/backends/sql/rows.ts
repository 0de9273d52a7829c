/**
 * Jobs ↔ rows of the jobs table: the row a push inserts, the fresh copy of a stored row
 * (repushAbandoned), the size check against `maxJobBytes` and the server's packet, and the jobs a
 * claim or a listing returns.
 *
 * @packageDocumentation
 */
import { type Issue, invalidJob } from '../../core/errors.js';
import type { JobState, JsonObject, ListedJob, NormalizedJob, RootJob } from '../../core/job.js';
import type { ClaimedJob } from '../../core/job-queue.js';
import type { Order } from '../../core/supports.js';
import type { Row } from './dialects/index.js';
import * as Q from './queries.js';

/**
 * Bytes of a MySQL packet kept for everything but the params when sizing INSERTs against
 * `max_allowed_packet`: the statement text (~40 KiB for 500 rows) and the other columns of up to
 * 500 rows (under 300 bytes each, escaped).
 */
export const PACKET_HEADROOM = 1024 * 1024;

/** The row a push inserts for `job` at `now`. */
export function insertRow(job: NormalizedJob, now: number, order: Order): Q.InsertRow {
  const releaseAt = job.releaseTimestamp ?? now;
  return {
    domain: job.domain,
    type: job.type,
    flags: job.rootJob?.isSelf ? Q.Flags.ROOT_IS_SELF : 0,
    params: JSON.stringify(job.params),
    sha1: job.sha1,
    dedupKey: job.sha1,
    rootSignature: job.rootJob?.signature ?? null,
    rootTimestamp: job.rootJob?.timestamp ?? null,
    requestId: job.requestId,
    enqueuedAt: now,
    releaseTs: job.releaseTimestamp,
    releaseAt,
    sortKey: Q.sortKeyFor(order, now, releaseAt, Math.random),
    priority: job.priority,
    groupKey: job.groupKey,
  };
}

/**
 * A fresh copy of a stored job (attempts 0, ready now, its priority kept). A copy whose twin is
 * queued is a duplicate.
 */
export function copyRow(r: Row, now: number, order: Order): Q.InsertRow {
  const sha1 = str(r.sha1);
  return {
    domain: String(r.domain),
    type: String(r.type),
    flags: Number(r.flags),
    params: String(r.params),
    sha1,
    dedupKey: sha1,
    rootSignature: str(r.root_signature),
    rootTimestamp: num(r.root_timestamp),
    requestId: str(r.request_id),
    enqueuedAt: now,
    releaseTs: null,
    releaseAt: now,
    sortKey: Q.sortKeyFor(order, now, now, Math.random),
    priority: Q.priorityOf(Number(r.neg_priority)),
    groupKey: str(r.group_key),
  };
}

/**
 * @throws `SWITCHYARD_INVALID_JOB` naming every job whose params JSON is larger than
 *   `maxJobBytes`, or larger as a statement than this server takes (MySQL's `max_allowed_packet`).
 * @param bytes - each row's params size in a statement ({@link Q.paramsBytes}).
 * @param where - the queue, for messages.
 */
export function assertJobsFit(
  rows: readonly Q.InsertRow[],
  bytes: readonly number[],
  packet: number,
  maxJobBytes: number,
  where: string,
): void {
  const issues: Issue[] = [];
  const packetRoom = packet - PACKET_HEADROOM;
  bytes.forEach((size, i) => {
    const row = rows[i] as Q.InsertRow;
    // `size` is the UTF-8 size, plus MySQL's escapes: only a candidate needs the exact count.
    const json = size > maxJobBytes ? Buffer.byteLength(row.params) : size;
    let why: string | null = null;
    if (json > maxJobBytes) why = `at most ${maxJobBytes} (maxJobBytes)`;
    else if (size > packetRoom) {
      why = `at most ${packetRoom} as an escaped statement value (the server's max_allowed_packet is ${packet}); it takes ${size}`;
    }
    if (why === null) return;
    issues.push({
      path: `jobs[${i}].params`,
      message: `is ${json} bytes of JSON (job type ${row.type}); ${where} stores ${why}`,
    });
  });
  if (issues.length > 0) throw invalidJob(issues);
}

// ------------------------------------------------------------------ rows → jobs

export const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
const str = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));
const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

function rootOf(r: Row): RootJob | null {
  const signature = str(r.root_signature);
  if (signature === null) return null;
  const timestamp = Number(r.root_timestamp);
  return (Number(r.flags) & Q.Flags.ROOT_IS_SELF) !== 0
    ? { signature, timestamp, isSelf: true }
    : { signature, timestamp };
}

/**
 * The claim's pop order (`queries.ts` CLAIM_ORDER: `neg_priority, sort_key, id`) as a comparator of
 * claimed rows: RETURNING does not keep a statement's ORDER BY.
 */
export function popOrder(a: Row, b: Row): number {
  return (
    Number(a.neg_priority) - Number(b.neg_priority) ||
    Number(a.sort_key) - Number(b.sort_key) ||
    Number(a.id) - Number(b.id)
  );
}

/** The job a claim returns for row `r`, claimed at `now` with claim token `token`. */
export function toClaimed(r: Row, now: number, token: string): ClaimedJob {
  const sha1 = str(r.sha1);
  return {
    id: String(r.id),
    type: String(r.type),
    params: JSON.parse(String(r.params)) as JsonObject,
    domain: String(r.domain),
    releaseTimestamp: num(r.release_ts),
    removeDuplicates: sha1 !== null,
    sha1,
    rootJob: rootOf(r),
    requestId: str(r.request_id),
    priority: Q.priorityOf(Number(r.neg_priority)),
    groupKey: str(r.group_key),
    attempts: Number(r.attempts),
    enqueuedAt: Number(r.enqueued_at),
    claimedAt: now,
    claimToken: token,
    partition: null,
  };
}

/** The listed job of row `r` in `state`. */
export function toListed(r: Row, state: JobState): ListedJob {
  const sha1 = str(r.sha1);
  return {
    id: String(r.id),
    state,
    type: String(r.type),
    domain: String(r.domain),
    params: JSON.parse(String(r.params)) as JsonObject,
    attempts: Number(r.attempts),
    enqueuedAt: Number(r.enqueued_at),
    releaseTimestamp: num(r.release_ts),
    claimedAt: num(r.claimed_at),
    claimToken: state === 'claimed' ? str(r.claim_token) : null,
    sha1,
    rootJob: rootOf(r),
    removeDuplicates: sha1 !== null,
    requestId: str(r.request_id),
    priority: Q.priorityOf(Number(r.neg_priority)),
    groupKey: str(r.group_key),
  };
}
