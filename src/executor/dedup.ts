/**
 * Executor dedup in Redis (SPEC §5), fail-open: a Redis error never blocks or drops a job.
 *
 * - by event id: a finished event's id is remembered (`idTTL`), so a replay after a crash or a
 *   rebalance is skipped. It is written when the event *finishes*, so an event that was running
 *   when the executor died runs again (at least once).
 * - by sha1: the last start time of a job with the same sha1 (`sha1TTL`); an event created before
 *   that start is covered by it and skipped.
 * - by root event: the newest root `dt` seen per root signature (`rootTTL`); an event of an older
 *   root job is superseded and skipped.
 *
 * One script call per event checks all three and records the start; retries skip it entirely.
 *
 * @packageDocumentation
 */
import { Redis } from 'ioredis';

/** Why an event was skipped as a duplicate. */
export type DedupReason = 'id' | 'sha1' | 'root';

/** TTLs in seconds. */
export interface DedupTTLs {
  readonly idTTL: number;
  readonly sha1TTL: number;
  readonly rootTTL: number;
}

/** What a check needs of an event. */
export interface DedupSubject {
  readonly id: string;
  /** Event creation time, Unix ms. */
  readonly createdAt: number;
  readonly sha1: string | null;
  readonly root: { readonly signature: string; readonly at: number } | null;
}

// KEYS: id, sha1, root. ARGV: createdAt, now, hasSha1, sha1TtlMs, hasRoot, rootAt, rootTtlMs.
const CHECK = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 'id' end
if ARGV[5] == '1' then
  local seen = redis.call('GET', KEYS[3])
  local at = tonumber(ARGV[6])
  if seen and tonumber(seen) > at then return 'root' end
  if (not seen) or tonumber(seen) < at then redis.call('SET', KEYS[3], ARGV[6], 'PX', ARGV[7]) end
end
if ARGV[3] == '1' then
  local started = redis.call('GET', KEYS[2])
  if started and tonumber(started) > tonumber(ARGV[1]) then return 'sha1' end
  redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[4])
end
return ''
`;

type DedupClient = Redis & {
  swyExecutorDedup(k1: string, k2: string, k3: string, ...argv: string[]): Promise<string>;
};

/** Redis dedup for one executor. */
export class RedisDedup {
  readonly #client: DedupClient;
  readonly #owned: boolean;
  readonly #prefix: string;
  readonly #ttl: DedupTTLs;
  /** Called with each Redis failure (the executor counts and logs it); the job goes on. */
  onError: (err: unknown) => void = () => {};

  constructor(source: string | Redis, prefix: string, ttl: DedupTTLs) {
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
    client.defineCommand('swyExecutorDedup', { numberOfKeys: 3, lua: CHECK });
    this.#client = client as DedupClient;
    this.#prefix = prefix;
    this.#ttl = ttl;
  }

  #key(kind: string, value: string): string {
    return `${this.#prefix}${kind}:${value}`;
  }

  /** The reason `subject` is a duplicate, or null (also when Redis failed: fail-open). */
  async check(subject: DedupSubject, now: number): Promise<DedupReason | null> {
    try {
      const reply = await this.#client.swyExecutorDedup(
        this.#key('id', subject.id),
        this.#key('sha1', subject.sha1 ?? '-'),
        this.#key('root', subject.root?.signature ?? '-'),
        String(subject.createdAt),
        String(now),
        subject.sha1 === null ? '0' : '1',
        String(Math.round(this.#ttl.sha1TTL * 1000)),
        subject.root === null ? '0' : '1',
        String(subject.root?.at ?? 0),
        String(Math.round(this.#ttl.rootTTL * 1000)),
      );
      return reply === 'id' || reply === 'sha1' || reply === 'root' ? reply : null;
    } catch (err) {
      this.onError(err);
      return null;
    }
  }

  /** Remembers that the event `id` finished (best effort). */
  async markDone(id: string): Promise<void> {
    try {
      await this.#client.set(this.#key('id', id), '1', 'PX', Math.round(this.#ttl.idTTL * 1000));
    } catch (err) {
      this.onError(err);
    }
  }

  /** Closes an owned client. */
  async close(): Promise<void> {
    if (!this.#owned) return;
    await this.#client.quit().catch(() => this.#client.disconnect());
  }
}
