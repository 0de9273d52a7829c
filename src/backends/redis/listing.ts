/**
 * Listing a Redis queue's jobs by state (`JobQueue.list`): pages of ids from the ready list, the
 * priority set or a state's sorted set, then one HMGET each of data, attempts (and tokens) per
 * page. A job that settles between the two reads is skipped, not listed half-way.
 *
 * @packageDocumentation
 */
import type { JobState, ListedJob } from '../../core/job.js';
import type { ClaimedJob } from '../../core/job-queue.js';
import { decodeJob, type StoredJob } from './codec.js';
import { type QueueKeys, scriptKeys } from './keys.js';
import type { RedisLink } from './link.js';
import { STEP_LIMIT, scripts } from './script-loader.js';

/** Jobs per listing page. */
const LIST_PAGE = 500;

/** What listing reads from its queue. */
export interface ListingSource {
  readonly link: RedisLink;
  readonly keys: QueueKeys;
  readonly type: string;
  readonly domain: string;
  /** The queue's clock. */
  now(): number;
  /** The jobs this handle prefetched (claimed in Redis, ready for its pops). */
  buffered(): readonly ClaimedJob[];
  /** Reports a job that cannot be decoded (it is skipped). */
  report(message: string, cause?: unknown): void;
}

/** The jobs of `state`, in the order the queue would hand them out (ready) or by score. */
export function listJobs(src: ListingSource, state: JobState): AsyncIterable<ListedJob> {
  switch (state) {
    case 'ready':
      return listReady(src);
    case 'delayed':
      return listSorted(src, 'delayed', src.keys.delayed);
    case 'claimed':
      return listSorted(src, 'claimed', src.keys.claimed);
    case 'waiting':
      return listSorted(src, 'waiting', src.keys.waiting);
    default:
      return listSorted(src, 'abandoned', src.keys.abandoned);
  }
}

async function* listReady(src: ListingSource): AsyncGenerator<ListedJob> {
  const k = src.keys;
  // Due delayed jobs are ready: move them first, so they are listed where the next pop finds them.
  const now = src.now();
  while (
    Number(await src.link.eval(scripts().promote, scriptKeys(k).promote, [now, STEP_LIMIT])) >= STEP_LIMIT
  ) {}
  // This handle's prefetched jobs come first: they are the front of the queue for its pops.
  for (const job of src.buffered()) {
    yield {
      id: job.id,
      state: 'ready',
      type: src.type,
      domain: src.domain,
      params: job.params,
      attempts: job.attempts - 1, // the prefetch claim is given back, not counted
      enqueuedAt: job.enqueuedAt,
      releaseTimestamp: job.releaseTimestamp,
      claimedAt: null,
      claimToken: null,
      sha1: job.sha1,
      rootJob: job.rootJob,
      removeDuplicates: job.removeDuplicates,
      requestId: job.requestId,
      priority: job.priority,
      groupKey: job.groupKey,
    };
  }
  // Pop order: the priority set's positive priorities (scores below 0), the list (priority 0),
  // then the set's negative priorities (scripts/includes/priority.lua).
  yield* listPrioritized(src, '-inf', '(0');
  // The list's pop order is tail first: page from the tail, each page reversed.
  for (let end = -1; ; end -= LIST_PAGE) {
    const page = (await src.link.command('LRANGE', [k.ready, end - LIST_PAGE + 1, end])) as string[];
    const ids = page.reverse();
    yield* await listed(src, 'ready', ids, null);
    if (page.length < LIST_PAGE) break;
  }
  yield* listPrioritized(src, '0', '+inf');
  // Then each group's list (scripts/includes/groups.lua), group by group in turn order: the
  // groups interleave at pop time, listing does not.
  const turns = (await src.link.command('LRANGE', [k.groupTurns, 0, -1])) as string[];
  for (const g of turns) {
    if (g === '') continue;
    const list = `${k.base}g:${g}`;
    for (let end = -1; ; end -= LIST_PAGE) {
      const page = (await src.link.command('LRANGE', [list, end - LIST_PAGE + 1, end])) as string[];
      yield* await listed(src, 'ready', page.reverse(), null);
      if (page.length < LIST_PAGE) break;
    }
  }
}

/** The ready jobs of the priority set scored from `min` to `max`, in pop order. */
async function* listPrioritized(src: ListingSource, min: string, max: string): AsyncGenerator<ListedJob> {
  for (let offset = 0; ; offset += LIST_PAGE) {
    const ids = (await src.link.command('ZRANGE', [
      src.keys.priority,
      min,
      max,
      'BYSCORE',
      'LIMIT',
      offset,
      LIST_PAGE,
    ])) as string[];
    yield* await listed(src, 'ready', ids, null);
    if (ids.length < LIST_PAGE) return;
  }
}

async function* listSorted(
  src: ListingSource,
  state: Exclude<JobState, 'ready'>,
  key: string,
): AsyncGenerator<ListedJob> {
  const now = src.now();
  for (let offset = 0; ; offset += LIST_PAGE) {
    const reply = (
      state === 'delayed'
        ? await src.link.command('ZRANGE', [
            key,
            `(${now}`,
            '+inf',
            'BYSCORE',
            'LIMIT',
            offset,
            LIST_PAGE,
            'WITHSCORES',
          ])
        : await src.link.command('ZRANGE', [key, offset, offset + LIST_PAGE - 1, 'WITHSCORES'])
    ) as unknown[];
    const scores = scoredMembers(reply);
    let ids = [...scores.keys()];
    if (state === 'claimed' && src.buffered().length > 0) {
      const buffered = new Set(src.buffered().map((job) => job.id));
      ids = ids.filter((id) => !buffered.has(id));
    }
    yield* await listed(src, state, ids, scores);
    if (scores.size < LIST_PAGE) return;
  }
}

/** Reads the data, attempts (and tokens) of `ids` and builds listed jobs; skips vanished ones. */
async function listed(
  src: ListingSource,
  state: JobState,
  ids: readonly string[],
  scores: Map<string, number> | null,
): Promise<ListedJob[]> {
  if (ids.length === 0) return [];
  const k = src.keys;
  const [blobs, attempts, tokens] = (await Promise.all([
    src.link.command('HMGET', [k.data, ...ids]),
    src.link.command('HMGET', [k.attempts, ...ids]),
    state === 'claimed' ? src.link.command('HMGET', [k.tokens, ...ids]) : Promise.resolve(null),
  ])) as [(string | null)[], (string | null)[], (string | null)[] | null];
  const out: ListedJob[] = [];
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i] as string;
    const blob = blobs[i];
    if (blob === null || blob === undefined) continue; // settled between the two reads
    let stored: StoredJob;
    try {
      const decoded = decodeJob(blob);
      stored = decoded instanceof Promise ? await decoded : decoded;
    } catch (err) {
      src.report(`${state} job ${id} cannot be decoded (${(err as Error).message}); not listed`, err);
      continue;
    }
    const score = scores?.get(id) ?? null;
    const token = tokens?.[i] ?? null;
    if (state === 'claimed' && token === null) continue; // settled between the two reads
    out.push({
      id,
      state,
      type: src.type,
      domain: src.domain,
      params: stored.params,
      attempts: Number(attempts[i] ?? 0),
      enqueuedAt: stored.enqueuedAt,
      releaseTimestamp: state === 'delayed' ? score : stored.releaseTimestamp,
      claimedAt: state === 'claimed' || state === 'abandoned' ? score : null,
      claimToken: token,
      sha1: stored.sha1,
      rootJob: stored.rootJob,
      removeDuplicates: stored.sha1 !== null,
      requestId: stored.requestId,
      priority: stored.priority,
      groupKey: stored.groupKey,
    });
  }
  return out;
}

/**
 * Members and scores of a `WITHSCORES` reply: flat `[m, s, m, s]` under RESP2, pairs
 * `[[m, s], …]` under RESP3 (ioredis may speak either).
 */
export function scoredMembers(reply: readonly unknown[]): Map<string, number> {
  const out = new Map<string, number>();
  if (reply.length > 0 && Array.isArray(reply[0])) {
    for (const pair of reply as [unknown, unknown][]) out.set(String(pair[0]), Number(pair[1]));
  } else {
    for (let i = 0; i + 1 < reply.length; i += 2) out.set(String(reply[i]), Number(reply[i + 1]));
  }
  return out;
}
