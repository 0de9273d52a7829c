/**
 * The Redis backend (promises §3 "redis"): every promises §2 promise through one Lua script per operation
 * (`scripts/<op>-<nKeys>.lua`), over ioredis. MediaWiki's JobQueueRedis, rebuilt with fenced
 * claims, delayed jobs released by the pop itself, and counts of every state.
 *
 * Key layout (one queue = one (domain, type); `{…}` is the Redis Cluster hash tag, so every key
 * of a queue lives in one slot; `%`, `:`, `{`, `}`, whitespace and control characters in a
 * domain or type are %-escaped):
 *
 * | key                                  | type   | holds                                                |
 * | ------------------------------------ | ------ | ---------------------------------------------------- |
 * | `{prefix}:{domain:type}:ready`       | list   | ready ids; push LPUSH (back), pop RPOP (front)       |
 * | `{prefix}:{domain:type}:delayed`     | zset   | id → release time (ms)                               |
 * | `{prefix}:{domain:type}:claimed`     | zset   | id → claimedAt (ms)                                  |
 * | `{prefix}:{domain:type}:abandoned`   | zset   | id → last claimedAt (ms); pruned abandonedTTL later  |
 * | `{prefix}:{domain:type}:data`        | hash   | id → stored job (header + JSON or gzip payload)      |
 * | `{prefix}:{domain:type}:attempts`    | hash   | id → claims so far                                   |
 * | `{prefix}:{domain:type}:tokens`      | hash   | id → live claim token (claimed jobs only)            |
 * | `{prefix}:{domain:type}:dedup`       | hash   | sha1 → number of ready/delayed jobs holding it       |
 * | `{prefix}:{domain:type}:root:<sig>`  | string | `timestamp|expiresAt` of the newest root, TTL        |
 * | `{prefix}:{domain:type}:paused`      | string | exists while paused; the pop scripts claim nothing   |
 * | `{prefix}:{domain:type}:ticks`       | hash   | periodic schedule name → last tick claimed (ms)      |
 * | `{prefix}:{domain:type}:wake`        | channel| published when `ready` goes from empty to non-empty  |
 *
 * Every timestamp comes from the queue's clock (passed to the scripts), never from Redis `TIME`.
 * Orders: `fifo` (and `any` = fifo). Recycled claims go back to the FRONT of the list (as in
 * MediaWiki), and processes' clocks differ, so enqueue-time (`timestamp`) order is not promised.
 *
 * @packageDocumentation
 */
import { randomBytes } from 'node:crypto';
import type {
  BackendConnection,
  BackendContext,
  BackendModule,
  BackendSettings,
} from '../../core/backend.js';
import { configInvalid, ErrorCode, type Issue, SwitchyardError } from '../../core/errors.js';
import type { JobState, ListedJob, NormalizedJob, RootJob } from '../../core/job.js';
import {
  type ClaimedJob,
  type ClaimRef,
  JobQueue,
  type JobQueueOptions,
  type MaintenanceHookOptions,
  type MaintenanceResult,
  type PushHookOptions,
  type PushResult,
  type ReleaseHookOptions,
  type ReleaseOutcome,
} from '../../core/job-queue.js';
import { defineSupports, type Supports } from '../../core/supports.js';
import { CorruptJobError, decodeJob, encodeJob, type StoredJob } from './codec.js';
import {
  createOwnedClient,
  describeClient,
  isClientLike,
  REDIS_DEFAULTS,
  type RedisClientLike,
  type RedisSettings,
  redactUrl,
  validateRedisSettings,
} from './connection.js';
import { Exchange, type ExchangeReply } from './exchange.js';
import { type QueueKeys, queueKeys, rootKey } from './keys.js';
import { RedisLink } from './link.js';
import { scripts } from './script-loader.js';
import { type WakeHub, wakeHubFor } from './wake.js';

export { CorruptJobError } from './codec.js';
export type { RedisClientLike, RedisSettings } from './connection.js';
export { keyPart, queueKeys } from './keys.js';
export { WAKE_CLIENT_NAME } from './wake.js';

/** The Redis backend's manifest. */
export const redisSupports: Supports = defineSupports({
  pop: true,
  ack: true,
  delayedJobs: true,
  // Why not timestamp: recycled claims go to the front of the list and clocks differ between
  // processes, so pop order is push order, not enqueue-time order. Why not random: a list has no
  // O(1) random pop.
  orders: ['fifo'],
  sizes: 'exact',
  // One Lua script per batch; `#!lua` makes Redis refuse it up front when out of memory.
  atomicBatchPush: true,
  typeAgnostic: false,
  // Jobs live outside the process; across a Redis restart they are as durable as its RDB/AOF setup.
  durable: true,
  listing: true,
  deduplication: true,
  rootJobs: true,
  batchPop: true,
  siblingQueries: true,
  transactionalPush: false,
  // Pub/sub on a per-queue channel, published only when the ready list was empty (see wake.ts).
  wake: true,
  // A `paused` key checked inside the pop and ack-pop scripts (see doSetPaused).
  pause: true,
  // A hash of last ticks, compare-and-set by tick-1.lua.
  periodicTicks: true,
});

/** Jobs per push script call (a non-atomic batch is split; an atomic one is one call). */
const PUSH_CHUNK = 1000;
/** Jobs per pop / ack script call. */
const POP_CHUNK = 1000;
/** Delayed jobs promoted per pop call, and jobs per maintenance / repush step. */
const STEP_LIMIT = 1000;
/** Jobs per listing page. */
const LIST_PAGE = 500;

// Ids and claim tokens: a random per-process prefix plus a counter. Unique across processes (72
// random bits) without a syscall per job; they fence claims, they are not secrets.
const PROCESS_PREFIX = randomBytes(9).toString('base64url');
let sequence = 0;
function nextId(): string {
  return `${PROCESS_PREFIX}${(++sequence).toString(36)}`;
}

/** Called with every job the backend had to skip (corrupted or missing data). Must not throw. */
export type RedisErrorHandler = (error: SwitchyardError) => void;

/** Options of {@link RedisJobQueue}: the common queue options plus {@link RedisSettings}. */
export interface RedisJobQueueOptions extends JobQueueOptions {
  /** A host-provided ioredis client, shared and never closed by the queue. */
  readonly client?: RedisClientLike;
  /** A Redis URL; the queue opens (lazily) and owns this client, and closes it on `close()`. */
  readonly url?: string;
  /** Key prefix. Default `swy`. */
  readonly prefix?: string;
  /** Seconds to wait for a usable connection before `SWITCHYARD_CONNECTION_LOST`. Default 10. */
  readonly connectTimeout?: number;
  /** Gzip payloads whose JSON exceeds this many bytes. Default null (never). */
  readonly compressAbove?: number | null;
  /**
   * Jobs this handle claims ahead of its `pop()` calls, handed to later pops without a round trip
   * (0 = none, the default; at most 1000; ignored with claimTTL 0). Buffered jobs are claimed:
   * other handles do not see them, counts show them as claimed, and `close()` gives them back to
   * the front of the queue (attempts restored); after a crash they come back after claimTTL.
   */
  readonly prefetch?: number;
  /**
   * Receives a `SWITCHYARD_BACKEND_ERROR` for each stored job that could not be decoded (it is
   * moved to abandoned, or dropped when claims are not tracked) and for ready ids without data
   * (dropped). Each also counts as an `errors` metric with op `decode`. Default: none.
   */
  readonly onError?: RedisErrorHandler;
}

/** A job queue in Redis. */
export class RedisJobQueue<T extends string = string> extends JobQueue<T> {
  readonly #client: RedisClientLike;
  readonly #owned: boolean;
  readonly #keys: QueueKeys;
  readonly #prefix: string;
  readonly #where: string;
  readonly #timeoutMs: number;
  readonly #link: RedisLink;
  readonly #compressAbove: number | null;
  readonly #onError: RedisErrorHandler | null;
  readonly #popKeys: readonly string[];
  readonly #plainPushKeys: readonly string[];
  readonly #ackKeys: readonly string[];
  readonly #releaseKeys: readonly string[];
  readonly #maintenanceKeys: readonly string[];
  /** The wake channel as the server names it (the scripts publish on a key-prefixed name). */
  readonly #wakeChannel: string;
  /** The shared subscriber of this queue's client, once this queue waited. */
  #wakeHub: WakeHub | null = null;
  /** Concurrent `pop()` and `ack()` calls on this handle share one script call (group commit). */
  readonly #exchange: Exchange<ClaimedJob>;

  /**
   * @throws `SWITCHYARD_CONFIG_INVALID` naming every bad option or setting (e.g. a prefix with
   *   spaces, neither `client` nor `url`, an order other than fifo / any).
   */
  constructor(options: RedisJobQueueOptions) {
    super('redis', redisSupports, options);
    const settings: Record<string, unknown> = {};
    for (const key of ['client', 'url', 'prefix', 'connectTimeout', 'compressAbove', 'prefetch'] as const) {
      if (options[key] !== undefined) settings[key] = options[key];
    }
    const issues = validateRedisSettings(settings, '');
    if (options.client === undefined && options.url === undefined) {
      issues.push({ path: 'client', message: 'a redis queue needs a client or a url' });
    }
    if (issues.length > 0) throw configInvalid(issues, `options of redis queue "${options.type}"`);
    this.#prefix = options.prefix ?? REDIS_DEFAULTS.prefix;
    this.#timeoutMs = Math.round((options.connectTimeout ?? REDIS_DEFAULTS.connectTimeout) * 1000);
    if (options.client !== undefined) {
      this.#client = options.client;
      this.#owned = false;
    } else {
      this.#client = createOwnedClient(options.url as string, this.#timeoutMs / 1000);
      this.#owned = true;
    }
    this.#where = options.url !== undefined ? redactUrl(options.url) : describeClient(this.#client);
    this.#link = new RedisLink(this.#client, this.#timeoutMs, this.#where);
    this.#compressAbove = options.compressAbove ?? null;
    this.#onError = options.onError ?? null;
    const freshForMs = (this.claimTTL * 1000) / 2;
    this.#exchange = new Exchange<ClaimedJob>(
      {
        run: (acks, want, extra) => this.#ackPop(acks, want, extra),
        fresh: (job) => this.clock.now() - job.claimedAt < freshForMs,
        giveBack: (jobs) => {
          this.#giveBack(jobs).catch((err: unknown) => {
            this.#report(`giving back ${jobs.length} prefetched job(s) failed; claimTTL recycles them`, err);
          });
        },
      },
      this.tracksClaims ? (options.prefetch ?? 0) : 0,
      POP_CHUNK,
    );
    const k = queueKeys(this.#prefix, this.domain, this.type);
    this.#keys = k;
    this.#popKeys = [k.ready, k.delayed, k.data, k.claimed, k.attempts, k.tokens, k.dedup, k.paused];
    this.#plainPushKeys = [k.data, k.ready];
    this.#ackKeys = [k.tokens, k.claimed, k.data, k.attempts];
    this.#releaseKeys = [k.tokens, k.claimed, k.attempts, k.data, k.ready, k.delayed, k.abandoned, k.dedup];
    // The scripts derive the channel from KEYS (which ioredis's keyPrefix prefixes); SUBSCRIBE
    // arguments are not keys, so the prefix is added here.
    this.#wakeChannel = `${this.#client.options?.keyPrefix ?? ''}${k.wake}`;
    this.#maintenanceKeys = [
      k.claimed,
      k.tokens,
      k.attempts,
      k.data,
      k.ready,
      k.abandoned,
      k.dedup,
      k.delayed,
    ];
  }

  /** `redis:<host:port/db>:<prefix>`: queues with the same one can answer sibling queries. */
  override get storeKey(): string {
    return `redis:${describeClient(this.#client)}:${this.#prefix}`;
  }

  /** The client this queue talks through (the host's, or the one it opened from `url`). */
  get client(): RedisClientLike {
    return this.#client;
  }

  /** The keys of this queue (for operators and tests). */
  get keys(): QueueKeys {
    return this.#keys;
  }

  // ---------------------------------------------------------------- plumbing

  /** Reports a skipped job: `errors` metric (op `decode`) and the `onError` handler. */
  #report(message: string, cause?: unknown): void {
    this.metrics.increment(
      'errors',
      { domain: this.domain, type: this.type, backend: 'redis', op: 'decode' },
      1,
    );
    if (!this.#onError) return;
    const error = new SwitchyardError(
      ErrorCode.BACKEND_ERROR,
      `${String(this)}: ${message}`,
      cause === undefined ? {} : { cause },
    );
    try {
      this.#onError(error);
    } catch {
      // A failing handler must not turn a skipped job into a failed pop.
    }
  }

  // ---------------------------------------------------------------- push

  protected override async doBatchPush(
    jobs: readonly NormalizedJob[],
    options: PushHookOptions,
  ): Promise<PushResult> {
    const now = this.clock.now();
    const encoded = jobs.map((job) => encodeJob(job, now, this.#compressAbove));
    const blobs = encoded.some((b) => typeof b !== 'string')
      ? await Promise.all(encoded)
      : (encoded as string[]);
    const k = this.#keys;
    const keys = [k.data, k.ready, k.delayed, k.dedup];
    const chunk = options.atomic ? jobs.length : PUSH_CHUNK;
    let inserted = 0;
    let duplicates = 0;
    for (let start = 0; start < jobs.length; start += chunk) {
      const end = Math.min(start + chunk, jobs.length);
      const [ins, dup] = (
        isPlain(jobs, start, end)
          ? await this.#link.eval(scripts().pushPlain, this.#plainPushKeys, plainPushArgs(blobs, start, end))
          : await this.#link.eval(scripts().push, keys, pushArgs(jobs, blobs, start, end, now))
      ) as [number, number];
      inserted += ins;
      duplicates += dup;
    }
    return { inserted, duplicates };
  }

  // ---------------------------------------------------------------- pop

  protected override doPop(): Promise<ClaimedJob | null> {
    return this.#exchange.pop();
  }

  protected override doBatchPop(count: number): Promise<ClaimedJob[]> {
    return this.#claim(count);
  }

  async #claim(count: number): Promise<ClaimedJob[]> {
    const now = this.clock.now();
    const track = this.tracksClaims ? '1' : '0';
    const out: ClaimedJob[] = [];
    // Each round either fills the batch, runs the queue dry, or skips corrupted jobs (which leave
    // the ready list for good), so the loop ends; the bound is a second guard.
    for (let round = 0; out.length < count && round < count / POP_CHUNK + 8; round++) {
      const want = Math.min(count - out.length, POP_CHUNK);
      const reply = (await this.#link.eval(scripts().pop, this.#popKeys, [
        now,
        want,
        track,
        nextId(),
        STEP_LIMIT,
      ])) as unknown[];
      const missing = Number(reply[0]);
      if (missing > 0) this.#report(`${missing} ready id(s) had no stored job and were dropped`);
      await this.#decodeClaims(reply, 1, now, out);
      if ((reply.length - 1) / 4 < want) break; // the queue ran dry
    }
    return out;
  }

  /** Decodes the `id, stored, attempts, token` quads of `reply` from index `first` into `out`. */
  async #decodeClaims(
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
        await this.#quarantine(id, claimToken, blob, err, now);
        continue;
      }
      out.push({
        id,
        type: this.type,
        params: stored.params,
        domain: this.domain,
        releaseTimestamp: stored.releaseTimestamp,
        removeDuplicates: stored.sha1 !== null,
        sha1: stored.sha1,
        rootJob: stored.rootJob,
        requestId: stored.requestId,
        attempts,
        enqueuedAt: stored.enqueuedAt,
        claimedAt: now,
        claimToken,
        partition: null,
      });
    }
  }

  /** One ack-pop script call: the acks (fenced), then up to `want` + `extra` claims. */
  async #ackPop(acks: readonly ClaimRef[], want: number, extra: number): Promise<ExchangeReply<ClaimedJob>> {
    const now = this.clock.now();
    const args: (string | number)[] = [
      now,
      want,
      this.tracksClaims ? '1' : '0',
      nextId(),
      STEP_LIMIT,
      extra,
      acks.length,
    ];
    for (const job of acks) args.push(job.id, job.claimToken);
    const reply = (await this.#link.eval(scripts().ackPop, this.#popKeys, args)) as unknown[];
    const missing = Number(reply[0]);
    if (missing > 0) this.#report(`${missing} ready id(s) had no stored job and were dropped`);
    const n = Number(reply[1]);
    const acked: boolean[] = new Array(n);
    for (let i = 0; i < n; i++) acked[i] = reply[2 + i] === 1;
    const claimed: ClaimedJob[] = [];
    await this.#decodeClaims(reply, 2 + n, now, claimed);
    return { acked, claimed, dry: (reply.length - 2 - n) / 4 < want };
  }

  /** Gives prefetched jobs that were never handed out back to the front of the queue. */
  async #giveBack(jobs: readonly ClaimedJob[]): Promise<void> {
    const k = this.#keys;
    for (let start = 0; start < jobs.length; start += POP_CHUNK) {
      const args: string[] = [];
      for (const job of jobs.slice(start, start + POP_CHUNK)) args.push(job.id, job.claimToken);
      await this.#link.eval(
        scripts().giveBack,
        [k.tokens, k.claimed, k.attempts, k.data, k.ready, k.dedup],
        args,
      );
    }
  }

  /** Moves a claimed job that cannot be decoded to abandoned (dropped when claims are untracked). */
  async #quarantine(id: string, token: string, blob: unknown, err: unknown, now: number): Promise<void> {
    const reason = err instanceof CorruptJobError ? err.message : String(err);
    if (!this.tracksClaims) {
      const sample = typeof blob === 'string' ? blob.slice(0, 200) : String(blob);
      this.#report(`job ${id} cannot be decoded (${reason}) and was dropped; stored value: ${sample}`, err);
      return;
    }
    try {
      await this.#link.eval(scripts().release, this.#releaseKeys, [id, token, now, '', 0]);
      this.#report(`job ${id} cannot be decoded (${reason}); moved to abandoned`, err);
    } catch (moveError) {
      // It stays claimed: maintenance recycles it and, after maxTries claims, abandons it.
      this.#report(`job ${id} cannot be decoded (${reason}); moving it to abandoned failed`, moveError);
    }
  }

  // ---------------------------------------------------------------- ack / release / extend

  protected override doAck(job: ClaimRef): Promise<boolean> {
    return this.#exchange.ack(job);
  }

  protected override async doBatchAck(jobs: readonly ClaimRef[]): Promise<boolean[]> {
    const out: boolean[] = [];
    for (let start = 0; start < jobs.length; start += POP_CHUNK) {
      out.push(...(await this.#ackMany(jobs.slice(start, start + POP_CHUNK))));
    }
    return out;
  }

  /** One ack script call for `jobs` (at most {@link POP_CHUNK}). */
  async #ackMany(jobs: readonly ClaimRef[]): Promise<boolean[]> {
    const args: string[] = [];
    for (const job of jobs) args.push(job.id, job.claimToken);
    const reply = (await this.#link.eval(scripts().ack, this.#ackKeys, args)) as number[];
    return reply.map((ok) => ok === 1);
  }

  protected override async doRelease(job: ClaimRef, options: ReleaseHookOptions): Promise<ReleaseOutcome> {
    const now = this.clock.now();
    const at = options.delayMs > 0 ? now + options.delayMs : '';
    const r = await this.#link.eval(scripts().release, this.#releaseKeys, [
      job.id,
      job.claimToken,
      now,
      at,
      this.maxTries,
    ]);
    return r === 1 ? 'released' : r === 2 ? 'abandoned' : false;
  }

  protected override async doExtendClaim(job: ClaimRef): Promise<boolean> {
    const k = this.#keys;
    const r = await this.#link.eval(
      scripts().extend,
      [k.tokens, k.claimed],
      [job.id, job.claimToken, this.clock.now()],
    );
    return r === 1;
  }

  // ---------------------------------------------------------------- root jobs

  protected override async doRegisterRootJobs(roots: readonly RootJob[]): Promise<void> {
    const ttlMs = Math.round(this.rootJobTTL * 1000);
    if (ttlMs <= 0) return; // a record kept 0 s is never seen
    const now = this.clock.now();
    await Promise.all(
      roots.map((root) =>
        this.#link.eval(
          scripts().registerRoot,
          [rootKey(this.#keys.base, root.signature)],
          [root.timestamp, now, now + ttlMs, ttlMs],
        ),
      ),
    );
  }

  protected override async doGetRootJobTimestamp(signature: string): Promise<number | null> {
    const value = await this.#link.command('GET', [rootKey(this.#keys.base, signature)]);
    if (typeof value !== 'string') return null;
    const sep = value.indexOf('|');
    const timestamp = Number(value.slice(0, sep));
    const expiresAt = Number(value.slice(sep + 1));
    if (sep < 0 || !Number.isFinite(timestamp) || !(expiresAt > this.clock.now())) return null;
    return timestamp;
  }

  // ---------------------------------------------------------------- counts

  // This handle's prefetched jobs are claimed in Redis but not handed out: it counts and lists
  // them as ready (other handles see them as claimed).

  protected override async doGetSize(): Promise<number> {
    const ready = Number(
      await this.#link.eval(scripts().size, [this.#keys.ready, this.#keys.delayed], [this.clock.now()]),
    );
    return ready + this.#exchange.buffered;
  }

  protected override async doGetAcquiredCount(): Promise<number> {
    const claimed = Number(await this.#link.command('ZCARD', [this.#keys.claimed]));
    return Math.max(0, claimed - this.#exchange.buffered);
  }

  protected override async doGetDelayedCount(): Promise<number> {
    return Number(await this.#link.command('ZCOUNT', [this.#keys.delayed, `(${this.clock.now()}`, '+inf']));
  }

  protected override async doGetAbandonedCount(): Promise<number> {
    return Number(await this.#link.command('ZCARD', [this.#keys.abandoned]));
  }

  // ---------------------------------------------------------------- delete / maintenance / repush

  protected override async doDelete(): Promise<void> {
    const k = this.#keys;
    await this.#exchange.idle();
    this.#exchange.takeBuffered(); // deleted with the rest
    await this.#link.eval(
      scripts().delete,
      [k.ready, k.delayed, k.claimed, k.abandoned, k.data, k.attempts, k.tokens, k.dedup],
      [],
    );
  }

  protected override async doRunMaintenance({ now }: MaintenanceHookOptions): Promise<MaintenanceResult> {
    const claimCutoff = this.tracksClaims ? now - Math.round(this.claimTTL * 1000) : '';
    const pruneCutoff = now - Math.round(this.abandonedTTL * 1000);
    let recycled = 0;
    let abandoned = 0;
    let pruned = 0;
    let released = 0;
    for (let more = true; more; ) {
      const r = (await this.#link.eval(scripts().maintenance, this.#maintenanceKeys, [
        now,
        claimCutoff,
        this.maxTries,
        pruneCutoff,
        STEP_LIMIT,
      ])) as number[];
      recycled += r[0] ?? 0;
      abandoned += r[1] ?? 0;
      pruned += r[2] ?? 0;
      released += r[3] ?? 0;
      more = r[4] === 1;
    }
    return { recycled, abandoned, pruned, released };
  }

  protected override async doRepushAbandoned(): Promise<number> {
    const k = this.#keys;
    const now = this.clock.now();
    let repushed = 0;
    for (let more = true; more; ) {
      const r = (await this.#link.eval(
        scripts().repush,
        [k.abandoned, k.data, k.attempts, k.ready, k.dedup],
        [now, nextId(), STEP_LIMIT],
      )) as number[];
      repushed += r[0] ?? 0;
      if ((r[1] ?? 0) > 0) this.#report(`${r[1]} abandoned job(s) could not be decoded and were dropped`);
      more = r[2] === 1;
    }
    return repushed;
  }

  // ---------------------------------------------------------------- pause / resume

  /**
   * Pause sets the queue's `paused` key, which the pop and ack-pop scripts check in the same
   * script call as the claim, so every handle in every process stops claiming at its next pop.
   * This handle's own prefetch buffer is given back first; another process's handle with
   * `prefetch` may still hand out the up to `prefetch` jobs it had already claimed. Resume deletes
   * the key and publishes on the wake channel when jobs are ready (resume-3.lua).
   */
  protected override async doSetPaused(paused: boolean): Promise<void> {
    const k = this.#keys;
    if (!paused) {
      await this.#link.eval(scripts().resume, [k.paused, k.ready, k.delayed], [this.clock.now()]);
      return;
    }
    await this.#link.command('SET', [k.paused, '1']);
    await this.#exchange.idle();
    const buffered = this.#exchange.takeBuffered();
    if (buffered.length > 0) await this.#giveBack(buffered);
  }

  protected override async doIsPaused(): Promise<boolean> {
    return Number(await this.#link.command('EXISTS', [this.#keys.paused])) === 1;
  }

  // ---------------------------------------------------------------- periodic ticks

  protected override async doClaimPeriodicTick(name: string, tick: number): Promise<boolean> {
    return Number(await this.#link.eval(scripts().tick, [this.#keys.ticks], [name, tick])) === 1;
  }

  protected override async doLastPeriodicTick(name: string): Promise<number | null> {
    const v = await this.#link.command('HGET', [this.#keys.ticks, name]);
    return v === null || v === undefined ? null : Number(v);
  }

  // ---------------------------------------------------------------- listing

  protected override doList(state: JobState): AsyncIterable<ListedJob> {
    switch (state) {
      case 'ready':
        return this.#listReady();
      case 'delayed':
        return this.#listSorted('delayed', this.#keys.delayed);
      case 'claimed':
        return this.#listSorted('claimed', this.#keys.claimed);
      default:
        return this.#listSorted('abandoned', this.#keys.abandoned);
    }
  }

  async *#listReady(): AsyncGenerator<ListedJob> {
    const k = this.#keys;
    // Due delayed jobs are ready: move them first, so they are listed where the next pop finds them.
    const now = this.clock.now();
    while (
      Number(await this.#link.eval(scripts().promote, [k.delayed, k.ready], [now, STEP_LIMIT])) >= STEP_LIMIT
    ) {}
    // This handle's prefetched jobs come first: they are the front of the queue for its pops.
    for (const job of this.#exchange.peekBuffered()) {
      yield {
        id: job.id,
        state: 'ready',
        type: this.type,
        domain: this.domain,
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
      };
    }
    // Pop order is tail first: page from the tail, each page reversed.
    for (let end = -1; ; end -= LIST_PAGE) {
      const page = (await this.#link.command('LRANGE', [k.ready, end - LIST_PAGE + 1, end])) as string[];
      const ids = page.reverse();
      yield* await this.#listed('ready', ids, null);
      if (page.length < LIST_PAGE) return;
    }
  }

  async *#listSorted(state: Exclude<JobState, 'ready'>, key: string): AsyncGenerator<ListedJob> {
    const now = this.clock.now();
    for (let offset = 0; ; offset += LIST_PAGE) {
      const reply = (
        state === 'delayed'
          ? await this.#link.command('ZRANGE', [
              key,
              `(${now}`,
              '+inf',
              'BYSCORE',
              'LIMIT',
              offset,
              LIST_PAGE,
              'WITHSCORES',
            ])
          : await this.#link.command('ZRANGE', [key, offset, offset + LIST_PAGE - 1, 'WITHSCORES'])
      ) as unknown[];
      const scores = scoredMembers(reply);
      let ids = [...scores.keys()];
      if (state === 'claimed' && this.#exchange.buffered > 0) {
        const buffered = new Set(this.#exchange.peekBuffered().map((job) => job.id));
        ids = ids.filter((id) => !buffered.has(id));
      }
      yield* await this.#listed(state, ids, scores);
      if (scores.size < LIST_PAGE) return;
    }
  }

  /** Reads the data, attempts (and tokens) of `ids` and builds listed jobs; skips vanished ones. */
  async #listed(
    state: JobState,
    ids: readonly string[],
    scores: Map<string, number> | null,
  ): Promise<ListedJob[]> {
    if (ids.length === 0) return [];
    const k = this.#keys;
    const [blobs, attempts, tokens] = (await Promise.all([
      this.#link.command('HMGET', [k.data, ...ids]),
      this.#link.command('HMGET', [k.attempts, ...ids]),
      state === 'claimed' ? this.#link.command('HMGET', [k.tokens, ...ids]) : Promise.resolve(null),
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
        this.#report(`${state} job ${id} cannot be decoded (${(err as Error).message}); not listed`, err);
        continue;
      }
      const score = scores?.get(id) ?? null;
      const token = tokens?.[i] ?? null;
      if (state === 'claimed' && token === null) continue; // settled between the two reads
      out.push({
        id,
        state,
        type: this.type,
        domain: this.domain,
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
      });
    }
    return out;
  }

  // ---------------------------------------------------------------- siblings

  /** Types with ready jobs that are not paused (a paused queue is not worth a runner's visit). */
  protected override async doGetSiblingQueuesWithJobs(types: readonly string[]): Promise<string[]> {
    const [sizes, paused] = await Promise.all([
      this.doGetSiblingQueueSizes(types),
      Promise.all(
        types.map((type) =>
          this.#link.command('EXISTS', [queueKeys(this.#prefix, this.domain, type).paused]),
        ),
      ),
    ]);
    return types.filter((type, i) => (sizes[type] ?? 0) > 0 && Number(paused[i]) !== 1);
  }

  /**
   * One size script per type, all issued at once on one connection (pipelined: one round trip).
   * A Lua script over every type would need keys from many Cluster slots, so it is one per type.
   */
  protected override async doGetSiblingQueueSizes(types: readonly string[]): Promise<Record<string, number>> {
    const now = this.clock.now();
    const sizes = await Promise.all(
      types.map((type) => {
        const k = queueKeys(this.#prefix, this.domain, type);
        return this.#link.eval(scripts().size, [k.ready, k.delayed], [now]);
      }),
    );
    const out: Record<string, number> = {};
    types.forEach((type, i) => {
      out[type] = Number(sizes[i]);
    });
    return out;
  }

  // ---------------------------------------------------------------- wake

  /**
   * Listens on the queue's wake channel (through the client's shared subscriber), then looks at
   * the queue: true at once when jobs are ready, else on a message, or when the earliest delayed
   * job falls due.
   */
  protected override async doWaitForJobs(timeoutMs: number, signal: AbortSignal): Promise<boolean> {
    // Jobs this handle prefetched are ready for its next pop (they count as ready here too).
    if (this.#exchange.buffered > 0) return true;
    if (this.#wakeHub === null) {
      this.#wakeHub = wakeHubFor(this.#client);
      this.#wakeHub.acquire();
    }
    const hub = this.#wakeHub;
    if (!hub.available) return super.doWaitForJobs(timeoutMs, signal);
    let woken = false;
    let wake: (() => void) | null = null;
    const unlisten = await hub.listen(this.#wakeChannel, () => {
      woken = true;
      wake?.();
    });
    // A wake is a hint: a push to a paused queue publishes too, and on a Redis Cluster the message
    // can arrive after this wait began (the cluster bus forwards it). While paused, only resume()
    // (which clears the flag, then publishes) may end the wait.
    const stillPaused = async (): Promise<boolean> =>
      Number(await this.#link.command('EXISTS', [this.#keys.paused]).catch(() => 0)) === 1;
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      if (signal.aborted) return false;
      const k = this.#keys;
      const now = this.clock.now();
      const [ready, first, pausedFlag] = (await Promise.all([
        this.#link.eval(scripts().size, [k.ready, k.delayed], [now]),
        this.#link.command('ZRANGE', [k.delayed, 0, 0, 'WITHSCORES']),
        this.#link.command('EXISTS', [k.paused]),
      ])) as [unknown, unknown[], unknown];
      // Paused: ready jobs do not count and no delayed job is awaited; resume() publishes.
      const paused = Number(pausedFlag) === 1;
      if (woken && !paused) return true;
      if (!paused && Number(ready) > 0) return true;
      if (signal.aborted) return false;
      return await new Promise<boolean>((resolve) => {
        const due = paused ? undefined : scoredMembers(first).values().next().value;
        if (due !== undefined) {
          const ms = Math.max(0, due - this.clock.now());
          if (ms <= timeoutMs) timer = setTimeout(() => resolve(true), ms);
        }
        wake = paused
          ? () => {
              void stillPaused().then((p) => {
                if (!p) resolve(true);
              });
            }
          : () => resolve(true);
        signal.addEventListener('abort', () => resolve(false), { once: true });
        // A wake that came while the state was read may have been resume()'s: look again.
        if (woken && paused) wake();
      });
    } finally {
      clearTimeout(timer);
      unlisten();
    }
  }

  // ---------------------------------------------------------------- close

  protected override async doClose(): Promise<void> {
    try {
      await this.#exchange.idle();
      const buffered = this.#exchange.takeBuffered();
      if (buffered.length > 0) await this.#giveBack(buffered);
    } catch (err) {
      // They stay claimed: maintenance recycles them after claimTTL, like a crashed worker's.
      this.#report('giving back prefetched jobs on close failed; claimTTL recycles them', err);
    } finally {
      const hub = this.#wakeHub;
      this.#wakeHub = null;
      if (hub !== null) await hub.release();
      if (this.#owned) await closeClient(this.#client);
    }
  }
}

/** True when no job of `jobs[start..end)` has a dedup key or a release time (push-plain-2). */
function isPlain(jobs: readonly NormalizedJob[], start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    const job = jobs[i] as NormalizedJob;
    if (job.sha1 !== null || job.releaseTimestamp !== null) return false;
  }
  return true;
}

/** push-plain-2's ARGV: id and stored job per job. */
function plainPushArgs(blobs: readonly string[], start: number, end: number): string[] {
  const args: string[] = new Array(2 * (end - start));
  for (let i = start, a = 0; i < end; i++, a += 2) {
    args[a] = nextId();
    args[a + 1] = blobs[i] as string;
  }
  return args;
}

/** push-4's ARGV: now, then id, sha1, release time and stored job per job. */
function pushArgs(
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

/**
 * Members and scores of a `WITHSCORES` reply: flat `[m, s, m, s]` under RESP2, pairs
 * `[[m, s], …]` under RESP3 (ioredis may speak either).
 */
function scoredMembers(reply: readonly unknown[]): Map<string, number> {
  const out = new Map<string, number>();
  if (reply.length > 0 && Array.isArray(reply[0])) {
    for (const pair of reply as [unknown, unknown][]) out.set(String(pair[0]), Number(pair[1]));
  } else {
    for (let i = 0; i + 1 < reply.length; i += 2) out.set(String(reply[i]), Number(reply[i + 1]));
  }
  return out;
}

/**
 * Closes a client we own: QUIT when connected (pending replies arrive first) and wait until the
 * socket is gone, so no handle outlives `close()`; otherwise disconnect at once (a client that is
 * reconnecting has no socket: ioredis just stops retrying).
 */
async function closeClient(client: RedisClientLike): Promise<void> {
  if (client.status === 'end') return;
  if (client.status === 'ready') {
    const ended = onceEnded(client, 2_000);
    try {
      await client.quit();
      await ended;
      return;
    } catch {
      // fall through to a hard close
    }
  }
  client.disconnect();
}

/** Resolves on the client's `end` event, or after `ms` at the latest. */
function onceEnded(client: RedisClientLike, ms: number): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      client.removeListener('end', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    timer.unref();
    client.on('end', done);
  });
}

// ------------------------------------------------------------------ the backend module

/** The handle of a shared `connections` entry of class redis. */
export class RedisConnection {
  constructor(
    /** The client every queue of the connection uses. */
    readonly client: RedisClientLike,
    /** True when the connection opened the client (and closes it). */
    readonly owned: boolean,
    /** The connection's settings (prefix, connectTimeout, compressAbove), defaults for its queues. */
    readonly settings: RedisSettings,
  ) {}
}

function validateConnectionSettings(settings: BackendSettings, path: string): Issue[] {
  const issues = validateRedisSettings(settings, path);
  if (settings.url === undefined && settings.client === undefined) {
    issues.push({ path: `${path}.url`, message: 'is required (or a client, in a config built in code)' });
  }
  return issues;
}

/** Picks the settings a queue inherits from its connection and entry (entry wins). */
function mergedSettings(conn: RedisConnection | null, entry: BackendSettings): RedisJobQueueOptionsTail {
  const pick = <K extends 'prefix' | 'connectTimeout' | 'compressAbove' | 'prefetch'>(key: K): unknown =>
    entry[key] !== undefined ? entry[key] : conn?.settings[key];
  const out: { -readonly [K in keyof RedisJobQueueOptionsTail]: RedisJobQueueOptionsTail[K] } = {};
  const prefix = pick('prefix');
  if (typeof prefix === 'string') out.prefix = prefix;
  const timeout = pick('connectTimeout');
  if (typeof timeout === 'number') out.connectTimeout = timeout;
  const compress = pick('compressAbove');
  if (typeof compress === 'number' || compress === null) out.compressAbove = compress;
  const prefetch = pick('prefetch');
  if (typeof prefetch === 'number') out.prefetch = prefetch;
  return out;
}

type RedisJobQueueOptionsTail = Pick<
  RedisJobQueueOptions,
  'prefix' | 'connectTimeout' | 'compressAbove' | 'prefetch'
>;

/** The redis backend as the registry loads it. */
export const redisBackend: BackendModule = Object.freeze({
  name: 'redis',
  supports: redisSupports,
  validateSettings: validateRedisSettings,
  validateConnection: validateConnectionSettings,
  openConnection(settings: BackendSettings): BackendConnection {
    const issues = validateConnectionSettings(settings, 'connection');
    if (issues.length > 0) throw configInvalid(issues, 'redis connection');
    const s = settings as RedisSettings;
    const handle = isClientLike(s.client)
      ? new RedisConnection(s.client, false, s)
      : new RedisConnection(
          createOwnedClient(s.url as string, s.connectTimeout ?? REDIS_DEFAULTS.connectTimeout),
          true,
          s,
        );
    return {
      handle,
      close: async () => {
        if (handle.owned) await closeClient(handle.client);
      },
    };
  },
  createQueue(context: BackendContext): JobQueue {
    const entry = context.settings;
    const raw = context.connection?.handle;
    if (raw !== undefined && !(raw instanceof RedisConnection)) {
      throw configInvalid(
        [{ path: 'connection', message: 'is not a redis connection', value: context.connectionName }],
        `redis queue "${context.queue.type}"`,
      );
    }
    const conn = raw ?? null;
    if (conn && (entry.url !== undefined || entry.client !== undefined)) {
      throw configInvalid(
        [
          {
            path: entry.url !== undefined ? 'url' : 'client',
            message: `belongs in the connection "${context.connectionName}" this entry names, not in the entry`,
          },
        ],
        `redis queue "${context.queue.type}"`,
      );
    }
    const tail = mergedSettings(conn, entry);
    if (conn) return new RedisJobQueue({ ...context.queue, ...tail, client: conn.client });
    if (isClientLike(entry.client))
      return new RedisJobQueue({ ...context.queue, ...tail, client: entry.client });
    if (typeof entry.url === 'string')
      return new RedisJobQueue({ ...context.queue, ...tail, url: entry.url });
    throw configInvalid(
      [{ path: 'url', message: 'a redis queue needs a connection, a url or a client' }],
      `redis queue "${context.queue.type}"`,
    );
  },
});
