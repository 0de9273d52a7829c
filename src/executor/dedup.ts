/**
 * Executor dedup in Redis (promises §5), fail-open: a Redis error never blocks or drops a job. The
 * rules are ChangeProp's deduplicator's, in its order:
 *
 * - by event id (key `id:{domain}:{id}`): a finished event's id is remembered (`idTTL`), so a
 *   replay after a crash or a rebalance is skipped. By default it is written when the event
 *   *finishes*, so an event that was running when the executor died runs again (at least once);
 *   with `idAtCheck` it is written when the check passes, as ChangeProp does.
 * - by sha1 (key `sha1:{domain}:{sha1}`): the last start time of a job with the same sha1
 *   (`sha1TTL`). An event created more than 1 s before that start, or whose root event is more
 *   than 1 s older than that start, is covered by it and skipped (the 1 s allows for `dt`'s
 *   one-second resolution, as ChangeProp).
 * - by root event (key `root:{signature}`): the newest root `dt` seen per root signature
 *   (`rootTTL`); an event of an older root job is superseded and skipped.
 *
 * One script call per batch of events (those of the same tick) checks all three and records the
 * start; retries skip it entirely.
 *
 * @packageDocumentation
 */
import { type Cluster, Redis } from 'ioredis';

/** Why an event was skipped as a duplicate. */
export type DedupReason = 'id' | 'sha1' | 'root';

/** TTLs in seconds. */
export interface DedupTTLs {
  readonly idTTL: number;
  readonly sha1TTL: number;
  readonly rootTTL: number;
  /** Write the id key when the check passes (ChangeProp) instead of when the event finished. */
  readonly idAtCheck?: boolean;
}

/** What a check needs of an event. */
export interface DedupSubject {
  /** `meta.domain`: part of the id and sha1 keys, as ChangeProp's. */
  readonly domain: string;
  readonly id: string;
  /** Event creation time, Unix ms. */
  readonly createdAt: number;
  readonly sha1: string | null;
  readonly root: { readonly signature: string; readonly at: number } | null;
}

// Batched: KEYS are (id, sha1, root) per subject; ARGV: now, sha1TtlMs, rootTtlMs, idTtlMs,
// idAtCheck, then per subject createdAt, hasSha1, hasRoot, rootAt. Returns one reason ('' = run
// it) per subject.
const CHECK = `
local out = {}
local now, sha1Ttl, rootTtl, idTtl, idAtCheck = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5] == '1'
for i = 1, #KEYS / 3 do
  local k, a = (i - 1) * 3, 5 + (i - 1) * 4
  local reason = ''
  if idAtCheck then
    if not redis.call('SET', KEYS[k + 1], '1', 'NX', 'PX', idTtl) then reason = 'id' end
  elseif redis.call('EXISTS', KEYS[k + 1]) == 1 then
    reason = 'id'
  end
  local hasRoot = ARGV[a + 3] == '1'
  if reason == '' and ARGV[a + 2] == '1' then
    local started = redis.call('GET', KEYS[k + 2])
    if started and (tonumber(started) - 1000 > tonumber(ARGV[a + 1])
        or (hasRoot and tonumber(started) - 1000 > tonumber(ARGV[a + 4]))) then
      reason = 'sha1'
    else
      redis.call('SET', KEYS[k + 2], now, 'PX', sha1Ttl)
    end
  end
  if reason == '' and hasRoot then
    local seen = redis.call('GET', KEYS[k + 3])
    local at = tonumber(ARGV[a + 4])
    if seen and tonumber(seen) > at then
      reason = 'root'
    elseif (not seen) or tonumber(seen) < at then
      redis.call('SET', KEYS[k + 3], ARGV[a + 4], 'PX', rootTtl)
    end
  end
  out[i] = reason
end
return out
`;

// KEYS: event id keys; ARGV[1]: TTL ms.
const MARK = `
for i = 1, #KEYS do redis.call('SET', KEYS[i], '1', 'PX', ARGV[1]) end
return #KEYS
`;

/** Most subjects per script call. */
const MAX_BATCH = 500;

type DedupClient = (Redis | Cluster) & {
  swyExecutorDedup(numKeys: number, ...args: string[]): Promise<string[]>;
  swyExecutorMark(numKeys: number, ...args: string[]): Promise<number>;
};

/** Redis dedup for one executor. */
export class RedisDedup {
  readonly #client: DedupClient;
  readonly #owned: boolean;
  readonly #prefix: string;
  readonly #ttl: DedupTTLs;
  /** Called with each Redis failure (the executor counts and logs it); the job goes on. */
  onError: (err: unknown) => void = () => {};

  /**
   * @param source a redis:// URL (an owned client) or a host ioredis `Redis` or `Cluster`.
   * @param prefix the key prefix. On a Redis Cluster every dedup key must sit in one slot (a tick's
   *   checks are one script over many keys): a prefix without a `{hash tag}` is wrapped in one,
   *   so `CPJQ:` becomes `{CPJQ:}`.
   */
  constructor(source: string | Redis | Cluster, prefix: string, ttl: DedupTTLs) {
    this.#owned = typeof source === 'string';
    const client =
      typeof source === 'string'
        ? new Redis(source, {
            lazyConnect: true,
            connectTimeout: 2000,
            commandTimeout: 1000,
            maxRetriesPerRequest: 1,
            enableAutoPipelining: true,
          })
        : source;
    if (this.#owned) client.on('error', () => undefined);
    client.defineCommand('swyExecutorDedup', { lua: CHECK });
    client.defineCommand('swyExecutorMark', { lua: MARK });
    this.#client = client as DedupClient;
    const cluster = (client as { isCluster?: unknown }).isCluster === true;
    this.#prefix = cluster && !/\{[^}]+\}/.test(prefix) ? `{${prefix}}` : prefix;
    this.#ttl = ttl;
  }

  #key(kind: string, value: string): string {
    return `${this.#prefix}${kind}:${value}`;
  }

  #checks: Array<{ subject: DedupSubject; now: number; resolve: (r: DedupReason | null) => void }> = [];
  #marks: Array<{ key: string; resolve: () => void }> = [];
  #scheduled = false;

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      this.#flush();
    });
  }

  #flush(): void {
    // Marks first: one connection keeps order, so a check queued after a mark sees it.
    while (this.#marks.length > 0) void this.#sendMarks(this.#marks.splice(0, MAX_BATCH));
    while (this.#checks.length > 0) void this.#sendChecks(this.#checks.splice(0, MAX_BATCH));
  }

  async #sendChecks(
    batch: Array<{ subject: DedupSubject; now: number; resolve: (r: DedupReason | null) => void }>,
  ) {
    const keys: string[] = [];
    const args: string[] = [
      String(batch[0]?.now ?? Date.now()),
      String(Math.round(this.#ttl.sha1TTL * 1000)),
      String(Math.round(this.#ttl.rootTTL * 1000)),
      String(Math.round(this.#ttl.idTTL * 1000)),
      this.#ttl.idAtCheck === true ? '1' : '0',
    ];
    for (const { subject } of batch) {
      keys.push(
        this.#key('id', `${subject.domain}:${subject.id}`),
        this.#key('sha1', `${subject.domain}:${subject.sha1 ?? '-'}`),
        this.#key('root', subject.root?.signature ?? '-'),
      );
      args.push(
        String(subject.createdAt),
        subject.sha1 === null ? '0' : '1',
        subject.root === null ? '0' : '1',
        String(subject.root?.at ?? 0),
      );
    }
    try {
      const replies = await this.#client.swyExecutorDedup(keys.length, ...keys, ...args);
      batch.forEach(({ resolve }, i) => {
        const r = replies[i];
        resolve(r === 'id' || r === 'sha1' || r === 'root' ? r : null);
      });
    } catch (err) {
      this.onError(err);
      for (const { resolve } of batch) resolve(null);
    }
  }

  async #sendMarks(batch: Array<{ key: string; resolve: () => void }>) {
    try {
      await this.#client.swyExecutorMark(
        batch.length,
        ...batch.map((b) => b.key),
        String(Math.round(this.#ttl.idTTL * 1000)),
      );
    } catch (err) {
      this.onError(err);
    }
    for (const { resolve } of batch) resolve();
  }

  /**
   * The reason `subject` is a duplicate, or null (also when Redis failed: fail-open). Checks of
   * the same tick go to Redis as one script call; a start time recorded for sha1 is the batch's.
   */
  check(subject: DedupSubject, now: number): Promise<DedupReason | null> {
    return new Promise((resolve) => {
      this.#checks.push({ subject, now, resolve });
      this.#schedule();
    });
  }

  /**
   * Remembers that the event `id` of `domain` finished (best effort; batched per tick like
   * checks). Nothing to do with `idAtCheck` (the check wrote it).
   */
  markDone(domain: string, id: string): Promise<void> {
    if (this.#ttl.idAtCheck === true) return Promise.resolve();
    return new Promise((resolve) => {
      this.#marks.push({ key: this.#key('id', `${domain}:${id}`), resolve });
      this.#schedule();
    });
  }

  /** Closes an owned client. */
  async close(): Promise<void> {
    if (!this.#owned) return;
    await this.#client.quit().catch(() => this.#client.disconnect());
  }
}
