/**
 * The Redis job queue (the class; see index.ts for the key layout): every operation one Lua
 * script call (`scripts/<op>-<nKeys>.lua`) through a {@link RedisLink}, concurrent pops and acks
 * of a handle group-committed by an {@link Exchange}.
 *
 * @packageDocumentation
 */
import { configInvalid, ErrorCode, SwitchyardError } from '../../core/errors.js';
import type { FlowNode } from '../../core/flow.js';
import type { JobState, ListedJob, NormalizedJob, RootJob } from '../../core/job.js';
import {
  type ClaimedJob,
  type ClaimRef,
  JobQueue,
  type MaintenanceHookOptions,
  type MaintenanceResult,
  type PushHookOptions,
  type PushResult,
  type QueueStats,
  type ReleaseHookOptions,
  type ReleaseOutcome,
} from '../../core/job-queue.js';
import { type GroupLimits, GroupLimitTable, type ResolvedGroupLimit } from '../../core/queue-options.js';
import { type ClaimDecoding, decodeClaims } from './claims.js';
import { encodeJob } from './codec.js';
import {
  closeClient,
  createOwnedFrom,
  describeClient,
  describeSettings,
  REDIS_DEFAULTS,
  type RedisClientLike,
  validateRedisSettings,
} from './connection.js';
import { Exchange, type ExchangeReply } from './exchange.js';
import { groupPart, type QueueKeys, queueKeys, rootKey, type ScriptKeys, scriptKeys } from './keys.js';
import { RedisLink } from './link.js';
import { listJobs } from './listing.js';
import type { RedisErrorHandler, RedisJobQueueOptions } from './options.js';
import { isPlain, nextId, plainPushArgs, pushArgs } from './script-args.js';
import { STEP_LIMIT, scripts } from './script-loader.js';
import { redisSupports } from './supports.js';
import { type WakeHub, waitForWake, wakeHubFor } from './wake.js';

/** Jobs per push script call (a non-atomic batch is split; an atomic one is one call). */
const PUSH_CHUNK = 1000;
/** cancel-10's replies by number. */
const CANCELLED_STATES: readonly (JobState | null)[] = [
  null,
  'ready',
  'claimed',
  'delayed',
  'abandoned',
  'waiting',
];

/** Jobs per pop / ack script call. */
const POP_CHUNK = 1000;

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
  /** The KEYS of each script. */
  readonly #sk: ScriptKeys;
  /** What decoding claimed jobs needs (built once: the pop path allocates nothing for it). */
  readonly #claims: ClaimDecoding;
  /** The wake channel as the server names it (the scripts publish on a key-prefixed name). */
  readonly #wakeChannel: string;
  /** The shared subscriber of this queue's client, once this queue waited. */
  #wakeHub: WakeHub | null = null;
  /** `groupLimits` as the pop scripts take it ('' = none; see {@link groupLimitsArg}). */
  readonly #groupLimitsArg: string;
  /** Concurrent `pop()` and `ack()` calls on this handle share one script call (group commit). */
  readonly #exchange: Exchange<ClaimedJob>;

  /**
   * @throws `SWITCHYARD_CONFIG_INVALID` naming every bad option or setting (e.g. a prefix with
   *   spaces, none of `client`, `url` or `cluster`, an order other than fifo / any).
   */
  constructor(options: RedisJobQueueOptions) {
    super('redis', redisSupports, options);
    const settings: Record<string, unknown> = {};
    for (const key of [
      'client',
      'url',
      'cluster',
      'prefix',
      'connectTimeout',
      'compressAbove',
      'prefetch',
    ] as const) {
      if (options[key] !== undefined) settings[key] = options[key];
    }
    const issues = validateRedisSettings(settings, '');
    if (options.client === undefined && options.url === undefined && options.cluster === undefined) {
      issues.push({ path: 'client', message: 'a redis queue needs a client, a url or a cluster' });
    }
    if (issues.length > 0) throw configInvalid(issues, `options of redis queue "${options.type}"`);
    this.#prefix = options.prefix ?? REDIS_DEFAULTS.prefix;
    this.#timeoutMs = Math.round((options.connectTimeout ?? REDIS_DEFAULTS.connectTimeout) * 1000);
    if (options.client !== undefined) {
      this.#client = options.client;
      this.#owned = false;
    } else {
      this.#client = createOwnedFrom(options, this.#timeoutMs / 1000);
      this.#owned = true;
    }
    this.#where = describeSettings(options) ?? describeClient(this.#client);
    this.#link = new RedisLink(this.#client, this.#timeoutMs, this.#where);
    this.#compressAbove = options.compressAbove ?? null;
    this.#onError = options.onError ?? null;
    this.#groupLimitsArg = groupLimitsArg(this.groupLimits);
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
    this.#sk = scriptKeys(k);
    this.#claims = {
      type: this.type,
      domain: this.domain,
      tracksClaims: this.tracksClaims,
      link: this.#link,
      releaseKeys: this.#sk.release,
      report: (message, cause) => this.#report(message, cause),
    };
    // The scripts derive the channel from KEYS (which ioredis's keyPrefix prefixes); SUBSCRIBE
    // arguments are not keys, so the prefix is added here.
    this.#wakeChannel = `${this.#client.options?.keyPrefix ?? ''}${k.wake}`;
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

  protected override doBatchPush(
    jobs: readonly NormalizedJob[],
    options: PushHookOptions,
  ): Promise<PushResult> {
    const now = this.clock.now();
    const n = jobs.length;
    const encoded: (string | Promise<string>)[] = new Array(n);
    let compressed = false;
    let high = false;
    for (let i = 0; i < n; i++) {
      const job = jobs[i] as NormalizedJob;
      const blob = encodeJob(job, now, this.#compressAbove);
      if (typeof blob !== 'string') compressed = true;
      if (job.priority > 0) high = true;
      encoded[i] = blob;
    }
    // Jobs this handle prefetched would be handed out before a higher one pushed now: give them
    // back first (one more round trip, only then), so its next pop finds the new job.
    if (high && this.#exchange.buffered > 0) {
      return this.#giveBackBuffered().then(() => this.#pushEncoded(jobs, encoded, compressed, options, now));
    }
    return this.#pushEncoded(jobs, encoded, compressed, options, now);
  }

  #pushEncoded(
    jobs: readonly NormalizedJob[],
    encoded: readonly (string | Promise<string>)[],
    compressed: boolean,
    options: PushHookOptions,
    now: number,
  ): Promise<PushResult> {
    const n = jobs.length;
    const chunk = options.atomic ? n : PUSH_CHUNK;
    if (compressed) return Promise.all(encoded).then((blobs) => this.#pushChunks(jobs, blobs, chunk, now));
    const blobs = encoded as string[];
    // One script call (a single push, a batch up to PUSH_CHUNK): no async frame around it.
    if (n <= chunk) return this.#pushChunk(jobs, blobs, 0, n, now).then(pushResult);
    return this.#pushChunks(jobs, blobs, chunk, now);
  }

  async #pushChunks(
    jobs: readonly NormalizedJob[],
    blobs: readonly string[],
    chunk: number,
    now: number,
  ): Promise<PushResult> {
    let inserted = 0;
    let duplicates = 0;
    for (let start = 0; start < jobs.length; start += chunk) {
      const [ins, dup] = await this.#pushChunk(jobs, blobs, start, Math.min(start + chunk, jobs.length), now);
      inserted += ins;
      duplicates += dup;
    }
    return { inserted, duplicates };
  }

  /**
   * One push script call for `jobs[start..end)`: push-plain-2 when every job is priority 0 and
   * none dedups or waits.
   */
  #pushChunk(
    jobs: readonly NormalizedJob[],
    blobs: readonly string[],
    start: number,
    end: number,
    now: number,
  ): Promise<[number, number]> {
    return (
      isPlain(jobs, start, end)
        ? this.#link.eval(scripts().pushPlain, this.#sk.pushPlain, plainPushArgs(blobs, start, end))
        : this.#link.eval(scripts().push, this.#sk.push, pushArgs(jobs, blobs, start, end, now))
    ) as Promise<[number, number]>;
  }

  // ---------------------------------------------------------------- flows

  /** One pushflow-6 call: the whole flow is stored and linked in one atomic step. */
  protected override async doPushFlow(nodes: readonly FlowNode[]): Promise<string[]> {
    const now = this.clock.now();
    const ids = nodes.map(() => nextId());
    const dependents: string[][] = nodes.map(() => []);
    nodes.forEach((node, i) => {
      for (const dep of node.after) (dependents[dep] as string[]).push(ids[i] as string);
    });
    const blobs = await Promise.all(nodes.map((n) => encodeJob(n.job, now, this.#compressAbove)));
    const args: (string | number)[] = [now];
    nodes.forEach((node, i) => {
      args.push(
        ids[i] as string,
        node.job.releaseTimestamp ?? '',
        blobs[i] as string,
        node.after.length,
        (dependents[i] as string[]).join(','),
        node.onDependencyFailure === 'ignore' ? 'i' : '',
      );
    });
    // A job of a positive priority made ready must not be overtaken by this handle's buffer.
    if (this.#exchange.buffered > 0 && nodes.some((n) => n.job.priority > 0)) await this.#giveBackBuffered();
    await this.#link.eval(scripts().pushFlow, this.#sk.pushFlow, args);
    return ids;
  }

  protected override async doGetWaitingCount(): Promise<number> {
    return Number(await this.#link.command('ZCARD', [this.#keys.waiting]));
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
      const reply = (await this.#link.eval(scripts().pop, this.#sk.pop, [
        now,
        want,
        track,
        nextId(),
        STEP_LIMIT,
        this.#groupLimitsArg,
      ])) as unknown[];
      const missing = Number(reply[0]);
      if (missing > 0) this.#report(`${missing} ready id(s) had no stored job and were dropped`);
      await decodeClaims(this.#claims, reply, 1, now, out);
      if ((reply.length - 1) / 4 < want) break; // the queue ran dry
    }
    return out;
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
      this.#groupLimitsArg,
    ];
    for (const job of acks) args.push(job.id, job.claimToken);
    const reply = (await this.#link.eval(scripts().ackPop, this.#sk.pop, args)) as unknown[];
    const missing = Number(reply[0]);
    if (missing > 0) this.#report(`${missing} ready id(s) had no stored job and were dropped`);
    const n = Number(reply[1]);
    const acked: boolean[] = new Array(n);
    let dependentsReady = false;
    for (let i = 0; i < n; i++) {
      const r = reply[2 + i];
      acked[i] = r === 1 || r === 2;
      if (r === 2) dependentsReady = true;
    }
    if (dependentsReady) await this.dependentsReady(1);
    const claimed: ClaimedJob[] = [];
    await decodeClaims(this.#claims, reply, 2 + n, now, claimed);
    return { acked, claimed, dry: (reply.length - 2 - n) / 4 < want };
  }

  /** Gives this handle's whole prefetch buffer back (once its script calls in flight are done). */
  async #giveBackBuffered(): Promise<void> {
    await this.#exchange.idle();
    const buffered = this.#exchange.takeBuffered();
    if (buffered.length > 0) await this.#giveBack(buffered);
  }

  /** Gives prefetched jobs that were never handed out back to the front of the queue. */
  async #giveBack(jobs: readonly ClaimedJob[]): Promise<void> {
    for (let start = 0; start < jobs.length; start += POP_CHUNK) {
      const args: string[] = [];
      for (const job of jobs.slice(start, start + POP_CHUNK)) args.push(job.id, job.claimToken);
      await this.#link.eval(scripts().giveBack, this.#sk.giveBack, args);
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
    const reply = (await this.#link.eval(scripts().ack, this.#sk.ack, args)) as number[];
    // 2: acked, and jobs waiting on it became ready.
    if (reply.includes(2)) await this.dependentsReady(1);
    return reply.map((ok) => ok === 1 || ok === 2);
  }

  protected override async doRelease(job: ClaimRef, options: ReleaseHookOptions): Promise<ReleaseOutcome> {
    const now = this.clock.now();
    const at = options.delayMs > 0 ? now + options.delayMs : '';
    const r = await this.#link.eval(scripts().release, this.#sk.release, [
      job.id,
      job.claimToken,
      now,
      at,
      this.maxTries,
    ]);
    // 3: back in ready with a positive priority; this handle's prefetched jobs would be handed
    // out before it, so they go back first (one more round trip, only then).
    if (r === 3 && this.#exchange.buffered > 0) await this.#giveBackBuffered();
    // 4: abandoned, and jobs waiting on it became ready (policy ignore).
    if (r === 4) await this.dependentsReady(1);
    return r === 1 || r === 3 ? 'released' : r === 2 || r === 4 ? 'abandoned' : false;
  }

  protected override async doExtendClaim(job: ClaimRef): Promise<boolean> {
    const r = await this.#link.eval(scripts().extend, this.#sk.extend, [
      job.id,
      job.claimToken,
      this.clock.now(),
    ]);
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
    const ready = Number(await this.#link.eval(scripts().size, this.#sk.size, [this.clock.now()]));
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
    await this.#exchange.idle();
    this.#exchange.takeBuffered(); // deleted with the rest
    await this.#link.eval(scripts().delete, this.#sk.delete, []);
  }

  // ---------------------------------------------------------------- cancellation

  /**
   * One cancel-10 call. A job this handle prefetched is claimed in Redis but ready as far as its
   * pops go: it leaves the buffer and counts as ready. (A job another handle prefetched is
   * revoked like any claim: that handle may still hand it out, and the runner running it stops at
   * its first claim check.)
   */
  protected override async doCancel(id: string): Promise<JobState | null> {
    const buffered = this.#exchange.takeWhere((job) => job.id === id).length > 0;
    const [state, ready] = (await this.#link.eval(scripts().cancel, this.#sk.cancel, [
      id,
      this.clock.now(),
    ])) as [number, number];
    await this.dependentsReady(ready);
    if (buffered && state !== 0) return 'ready';
    return CANCELLED_STATES[state] ?? null;
  }

  protected override async doClaimsHeld(jobs: readonly ClaimRef[]): Promise<boolean[]> {
    const tokens = (await this.#link.command('HMGET', [this.#keys.tokens, ...jobs.map((j) => j.id)])) as (
      | string
      | null
    )[];
    return jobs.map((job, i) => tokens[i] === job.claimToken);
  }

  protected override async doRunMaintenance({ now }: MaintenanceHookOptions): Promise<MaintenanceResult> {
    const claimCutoff = this.tracksClaims ? now - Math.round(this.claimTTL * 1000) : '';
    const pruneCutoff = now - Math.round(this.abandonedTTL * 1000);
    let recycled = 0;
    let abandoned = 0;
    let pruned = 0;
    let released = 0;
    let dependentsReady = 0;
    for (let more = true; more; ) {
      const r = (await this.#link.eval(scripts().maintenance, this.#sk.maintenance, [
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
      dependentsReady += r[5] ?? 0;
    }
    await this.dependentsReady(dependentsReady);
    return { recycled, abandoned, pruned, released };
  }

  protected override async doRepushAbandoned(): Promise<number> {
    const now = this.clock.now();
    let repushed = 0;
    for (let more = true; more; ) {
      const r = (await this.#link.eval(scripts().repush, this.#sk.repush, [
        now,
        nextId(),
        STEP_LIMIT,
      ])) as number[];
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
   * the key and publishes on the wake channel when jobs are ready (resume-4.lua).
   */
  protected override async doSetPaused(paused: boolean): Promise<void> {
    const k = this.#keys;
    if (!paused) {
      await this.#link.eval(scripts().resume, this.#sk.resume, [this.clock.now()]);
      return;
    }
    await this.#link.command('SET', [k.paused, '1']);
    await this.#giveBackBuffered();
  }

  protected override async doIsPaused(): Promise<boolean> {
    return Number(await this.#link.command('EXISTS', [this.#keys.paused])) === 1;
  }

  // ---------------------------------------------------------------- periodic ticks

  protected override async doClaimPeriodicTick(name: string, tick: number): Promise<boolean> {
    return Number(await this.#link.eval(scripts().tick, this.#sk.tick, [name, tick])) === 1;
  }

  protected override async doLastPeriodicTick(name: string): Promise<number | null> {
    const v = await this.#link.command('HGET', [this.#keys.ticks, name]);
    return v === null || v === undefined ? null : Number(v);
  }

  // ---------------------------------------------------------------- listing

  protected override doList(state: JobState): AsyncIterable<ListedJob> {
    return listJobs(
      {
        link: this.#link,
        keys: this.#keys,
        type: this.type,
        domain: this.domain,
        now: () => this.clock.now(),
        buffered: () => this.#exchange.peekBuffered(),
        report: (message, cause) => this.#report(message, cause),
      },
      state,
    );
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
        return this.#link.eval(scripts().size, [k.ready, k.delayed, k.priority], [now]);
      }),
    );
    const out: Record<string, number> = {};
    types.forEach((type, i) => {
      out[type] = Number(sizes[i]);
    });
    return out;
  }

  /**
   * One read-only stats script per type, pipelined (one round trip), as the sibling sizes. This
   * handle's prefetched jobs count as ready in its own queue, as in {@link doGetSize}.
   */
  protected override async doGetSiblingQueueStats(
    types: readonly string[],
  ): Promise<Record<string, QueueStats>> {
    const now = this.clock.now();
    const replies = await Promise.all(
      types.map((type) =>
        this.#link.eval(scripts().stats, scriptKeys(queueKeys(this.#prefix, this.domain, type)).stats, [now]),
      ),
    );
    const out: Record<string, QueueStats> = {};
    types.forEach((type, i) => {
      const r = replies[i] as unknown[];
      const buffered = type === this.type ? this.#exchange.buffered : 0;
      const oldest = String(r[4] ?? '');
      out[type] = {
        ready: Number(r[0]) + buffered,
        claimed: Math.max(0, Number(r[1]) - buffered),
        delayed: Number(r[2]),
        abandoned: Number(r[3]),
        oldestReadyAt: oldest === '' ? null : Number(oldest),
      };
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
    return waitForWake(
      hub,
      {
        channel: this.#wakeChannel,
        link: this.#link,
        keys: this.#keys,
        sizeKeys: this.#sk.size,
        now: () => this.clock.now(),
      },
      timeoutMs,
      signal,
    );
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

/**
 * The pop scripts' form of `groupLimits` (includes/claim.lua claim_grouped): '' for none, else
 * JSON `{ d: [maxConcurrent, rate.max, rate ms], k: { <groupPart(key)>: [...] } }`, 0 = no limit,
 * each per-key entry as {@link GroupLimitTable} resolves it (it replaces the defaults). Built once
 * per handle: every pop sends it, the script decodes it only while grouped jobs are ready.
 */
export function groupLimitsArg(limits: GroupLimits | null): string {
  if (limits === null) return '';
  const table = new GroupLimitTable(limits);
  const triple = (l: ResolvedGroupLimit): [number, number, number] => [
    l.maxConcurrent ?? 0,
    l.rate?.max ?? 0,
    l.rate?.perMs ?? 0,
  ];
  const out: { d: [number, number, number]; k?: Record<string, [number, number, number]> } = {
    d: triple(table.defaults),
  };
  const keyed = [...table.keyed()];
  if (keyed.length > 0) out.k = Object.fromEntries(keyed.map(([key, l]) => [groupPart(key), triple(l)]));
  return JSON.stringify(out);
}

/** A push script's reply `[inserted, duplicates]` as a {@link PushResult}. */
function pushResult(reply: [number, number]): PushResult {
  return { inserted: reply[0], duplicates: reply[1] };
}
