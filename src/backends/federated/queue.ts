/**
 * The federated queue (promises §3, MediaWiki's JobQueueFederated): one logical queue stored over
 * weighted partitions, each a queue of any backend class. The base class validates and counts;
 * this class only decides which partition's storage hooks to call.
 *
 * @packageDocumentation
 */
import { ErrorCode, SwitchyardError } from '../../core/errors.js';
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
import { defineSupports, type SizesSupport, type Supports } from '../../core/supports.js';
import { weightedPick } from './hash-ring.js';
import {
  buildPartitions,
  type FederatedPartitionSpec,
  PARTITION_SEPARATOR,
  type Partition,
  Placement,
  tagClaimed,
} from './placement.js';

/** Defaults of the federated options. */
export const FEDERATED_DEFAULTS = Object.freeze({
  /** Placement rounds before a push gives up (MediaWiki's `maxPartitionsTry`). */
  maxPartitionsTry: 2,
  /** Seconds a failing partition is left out of placement and pops. */
  ejectSeconds: 5,
});

/**
 * The manifest of a federated queue over partitions with these manifests: what every partition
 * can do, minus what a federation cannot promise.
 */
export function federatedSupports(partitions: readonly Supports[]): Supports {
  const all = (k: keyof Supports) => partitions.length > 0 && partitions.every((s) => s[k] === true);
  const levels: SizesSupport[] = partitions.map((s) => s.sizes);
  return defineSupports({
    pop: all('pop'),
    ack: all('ack'),
    delayedJobs: all('delayedJobs'),
    // Why only random: jobs are spread over partitions and pops pick a partition at random, so
    // there is no global push or enqueue-time order.
    orders: ['random'],
    // Why approximate: counts sum the partitions that answered; during a partial outage the ones
    // that did not are left out rather than failing the call.
    sizes: levels.length === 0 || levels.includes('none') ? 'none' : 'approximate',
    // Why not: a batch may be spread over partitions, which share no transaction.
    atomicBatchPush: false,
    typeAgnostic: false,
    durable: all('durable'),
    listing: all('listing'),
    // Dedup jobs are placed by consistent hash of their key, so duplicates meet in one partition.
    deduplication: all('deduplication'),
    rootJobs: all('rootJobs'),
    batchPop: all('batchPop'),
    // Why not: a partition's store holds only a share of each sibling queue.
    siblingQueries: false,
    transactionalPush: false,
    // A wait listens on every partition: any one's notification wakes it.
    wake: all('wake'),
    // Fanned out: every partition stores the flag, so every partition's pops honour it.
    pause: all('pause'),
    // Each schedule's ticks live in the one partition a consistent hash of its name picks.
    periodicTicks: all('periodicTicks'),
    // By id: the id names its partition. By key: every partition is asked (a failover may have
    // put a holder of the key outside the partition the ring names).
    cancel: all('cancel'),
    cancelByKey: all('cancelByKey'),
    // Why not: a pop picks a partition at random, so a priority would hold only within the
    // partition a job was placed in, not across the queue.
    priorities: false,
  });
}

/** Options of {@link FederatedJobQueue}. */
export interface FederatedJobQueueOptions extends JobQueueOptions {
  /** The partitions; at least one with weight > 0. */
  readonly partitions: readonly FederatedPartitionSpec[];
  /** Placement rounds before a push gives up. Default 2. */
  readonly maxPartitionsTry?: number;
  /** Seconds a failing partition is skipped. Default 5. */
  readonly ejectSeconds?: number;
}

const NO_ROOT = Object.freeze({ transaction: null });

/**
 * A queue over weighted partitions. Jobs with `removeDuplicates` and root-job records go to the
 * partition a consistent-hash ring assigns to their key; other jobs to a weighted-random live
 * partition. A partition whose call fails is ejected for `ejectSeconds` (by the queue's clock)
 * and its jobs retried elsewhere, up to `maxPartitionsTry` rounds.
 */
export class FederatedJobQueue<T extends string = string> extends JobQueue<T> {
  /** Placement rounds before a push gives up. */
  readonly maxPartitionsTry: number;
  /** Seconds a failing partition is skipped. */
  readonly ejectSeconds: number;
  readonly #partitions: readonly Partition[];
  /** Which partitions are live, where a key goes, and the order pops try them in. */
  readonly #placement: Placement;

  constructor(options: FederatedJobQueueOptions) {
    const built = buildPartitions(options);
    super('federated', federatedSupports(built.map((p) => p.queue.supports)), options);
    this.maxPartitionsTry = options.maxPartitionsTry ?? FEDERATED_DEFAULTS.maxPartitionsTry;
    this.ejectSeconds = options.ejectSeconds ?? FEDERATED_DEFAULTS.ejectSeconds;
    this.#partitions = built.map((p) => ({ ...p, hooks: JobQueue.hooksOf(p.queue) }));
    this.#placement = new Placement(this.#partitions, this.clock, this.ejectSeconds);
  }

  /** The partitions' names and weights, in configuration order. */
  get partitions(): ReadonlyArray<{ readonly name: string; readonly weight: number }> {
    return this.#partitions.map((p) => ({ name: p.name, weight: p.weight }));
  }

  /** Names of the partitions currently ejected after a failure. */
  get ejectedPartitions(): string[] {
    return this.#placement.ejected();
  }

  /** The partition a consistent hash sends `key` to (ignoring ejections). */
  partitionFor(key: string): string | null {
    return this.#placement.ringLocate(key);
  }

  #unavailable(what: string, cause: unknown): SwitchyardError {
    return new SwitchyardError(
      ErrorCode.BACKEND_UNAVAILABLE,
      `${String(this)}: ${what} (partitions: ${this.#partitions.map((p) => p.name).join(', ')})`,
      cause === undefined ? {} : { cause },
    );
  }

  // ---------------------------------------------------------------- push

  protected override async doBatchPush(
    jobs: readonly NormalizedJob[],
    options: PushHookOptions,
  ): Promise<PushResult> {
    let pending: readonly NormalizedJob[] = jobs;
    let inserted = 0;
    let duplicates = 0;
    let lastError: unknown;
    for (let round = 0; round < this.maxPartitionsTry && pending.length > 0; round++) {
      const live = this.#placement.live();
      const random = weightedPick(live, (p) => p.weight);
      if (random === null) break;
      const groups = new Map<Partition, NormalizedJob[]>();
      for (const job of pending) {
        const p = job.sha1 === null ? random : (this.#placement.locate(job.sha1) ?? random);
        const list = groups.get(p);
        if (list) list.push(job);
        else groups.set(p, [job]);
      }
      const failed: NormalizedJob[] = [];
      await Promise.all(
        [...groups].map(async ([p, batch]) => {
          try {
            const r = await p.hooks.batchPush(batch, options);
            this.#placement.noteEmpty(p, false);
            inserted += r.inserted;
            duplicates += r.duplicates;
          } catch (error) {
            this.#placement.eject(p);
            lastError = error;
            failed.push(...batch);
          }
        }),
      );
      pending = failed;
    }
    if (pending.length > 0) {
      throw this.#unavailable(
        `${pending.length} of ${jobs.length} jobs were not stored: no live partition took them in ${this.maxPartitionsTry} round(s)`,
        lastError,
      );
    }
    return { inserted, duplicates };
  }

  protected override async doRegisterRootJobs(
    roots: readonly RootJob[],
    _options: { readonly transaction: unknown },
  ): Promise<void> {
    let pending = roots;
    let lastError: unknown;
    for (let round = 0; round < this.maxPartitionsTry && pending.length > 0; round++) {
      const groups = new Map<Partition, RootJob[]>();
      const failed: RootJob[] = [];
      for (const root of pending) {
        const p = this.#placement.locate(root.signature);
        if (p === null) {
          failed.push(root);
          continue;
        }
        const list = groups.get(p);
        if (list) list.push(root);
        else groups.set(p, [root]);
      }
      await Promise.all(
        [...groups].map(async ([p, batch]) => {
          try {
            await p.hooks.registerRootJobs(batch, NO_ROOT);
          } catch (error) {
            this.#placement.eject(p);
            lastError = error;
            failed.push(...batch);
          }
        }),
      );
      if (groups.size === 0) break;
      pending = failed;
    }
    if (pending.length > 0) {
      throw this.#unavailable(`${pending.length} root-job records were not stored`, lastError);
    }
  }

  protected override async doGetRootJobTimestamp(signature: string): Promise<number | null> {
    const p = this.#placement.locate(signature);
    if (p === null) throw this.#unavailable('no live partition holds root-job records', undefined);
    try {
      return await p.hooks.getRootJobTimestamp(signature);
    } catch (error) {
      this.#placement.eject(p);
      throw error;
    }
  }

  // ---------------------------------------------------------------- pop

  protected override async doPop(): Promise<ClaimedJob | null> {
    const order = this.#placement.popOrder();
    let failures = 0;
    let lastError: unknown;
    for (const p of order) {
      // Ejected by an earlier pop of the same turn: counts as failed, without a call.
      if (!this.#placement.isLive(p, this.clock.now())) {
        failures++;
        continue;
      }
      try {
        const job = await p.hooks.pop();
        this.#placement.noteEmpty(p, job === null);
        if (job !== null) return tagClaimed(job, p.name);
      } catch (error) {
        this.#placement.eject(p);
        failures++;
        lastError = error;
      }
    }
    if (failures === order.length) throw this.#unavailable('no partition could be popped', lastError);
    return null;
  }

  protected override async doBatchPop(count: number): Promise<ClaimedJob[]> {
    const order = this.#placement.popOrder();
    const out: ClaimedJob[] = [];
    let failures = 0;
    let lastError: unknown;
    for (const p of order) {
      const want = count - out.length;
      if (want <= 0) break;
      if (!this.#placement.isLive(p, this.clock.now())) {
        failures++;
        continue;
      }
      try {
        const jobs =
          want === 1 ? await p.hooks.pop().then((j) => (j ? [j] : [])) : await p.hooks.batchPop(want);
        this.#placement.noteEmpty(p, jobs.length < want);
        for (const job of jobs) out.push(tagClaimed(job, p.name));
      } catch (error) {
        this.#placement.eject(p);
        failures++;
        lastError = error;
      }
    }
    if (out.length === 0 && failures === order.length) {
      throw this.#unavailable('no partition could be popped', lastError);
    }
    return out;
  }

  // ---------------------------------------------------------------- claims

  /** The partition named in a federated job id and the partition's own reference; null when none. */
  #route(ref: ClaimRef): { readonly p: Partition; readonly inner: ClaimRef } | null {
    const at = ref.id.indexOf(PARTITION_SEPARATOR);
    if (at <= 0) return null;
    const p = this.#placement.byName(ref.id.slice(0, at));
    if (!p) return null;
    const tag = `${p.name}${PARTITION_SEPARATOR}`;
    const token = ref.claimToken.startsWith(tag) ? ref.claimToken.slice(tag.length) : ref.claimToken;
    return { p, inner: { id: ref.id.slice(at + 1), type: ref.type, claimToken: token } };
  }

  /** `jobs` grouped by the partition their ids name, with each one's index (unroutable ones left out). */
  #byPartition(
    jobs: readonly ClaimRef[],
  ): Map<Partition, Array<{ readonly i: number; readonly inner: ClaimRef }>> {
    const groups = new Map<Partition, Array<{ readonly i: number; readonly inner: ClaimRef }>>();
    jobs.forEach((job, i) => {
      const r = this.#route(job);
      if (r === null) return;
      const list = groups.get(r.p);
      if (list) list.push({ i, inner: r.inner });
      else groups.set(r.p, [{ i, inner: r.inner }]);
    });
    return groups;
  }

  protected override async doAck(job: ClaimRef): Promise<boolean> {
    const r = this.#route(job);
    return r === null ? false : r.p.hooks.ack(r.inner);
  }

  protected override async doBatchAck(jobs: readonly ClaimRef[]): Promise<boolean[]> {
    const out: boolean[] = jobs.map(() => false);
    const groups = this.#byPartition(jobs);
    await Promise.all(
      [...groups].map(async ([p, list]) => {
        const results =
          list.length === 1
            ? [await p.hooks.ack((list[0] as { inner: ClaimRef }).inner)]
            : await p.hooks.batchAck(list.map((x) => x.inner));
        list.forEach((x, k) => {
          out[x.i] = results[k] === true;
        });
      }),
    );
    return out;
  }

  protected override async doRelease(job: ClaimRef, options: ReleaseHookOptions): Promise<ReleaseOutcome> {
    const r = this.#route(job);
    return r === null ? false : r.p.hooks.release(r.inner, options);
  }

  protected override async doExtendClaim(job: ClaimRef): Promise<boolean> {
    const r = this.#route(job);
    return r === null ? false : r.p.hooks.extendClaim(r.inner);
  }

  // ---------------------------------------------------------------- cancellation

  protected override async doCancel(id: string): Promise<JobState | null> {
    const r = this.#route({ id, type: this.type, claimToken: '' });
    return r === null ? null : r.p.hooks.cancel(r.inner.id);
  }

  protected override async doCancelByDedupKey(sha1: string): Promise<number> {
    const counts = await Promise.all(this.#partitions.map((p) => p.hooks.cancelByDedupKey(sha1)));
    return counts.reduce((a, b) => a + b, 0);
  }

  protected override async doClaimsHeld(jobs: readonly ClaimRef[]): Promise<boolean[]> {
    const out: boolean[] = jobs.map(() => false);
    const groups = this.#byPartition(jobs);
    await Promise.all(
      [...groups].map(async ([p, list]) => {
        const held = await p.hooks.claimsHeld(list.map((x) => x.inner));
        list.forEach((x, k) => {
          out[x.i] = held[k] === true;
        });
      }),
    );
    return out;
  }

  // ---------------------------------------------------------------- counts

  /**
   * Asks every live partition; the answers of those that replied, or BACKEND_UNAVAILABLE when
   * none did. A partition that fails is ejected.
   */
  async #fromLive<R>(what: string, ask: (p: Partition) => Promise<R>): Promise<R[]> {
    const live = this.#placement.live();
    const settled = await Promise.allSettled(live.map(ask));
    const out: R[] = [];
    let lastError: unknown;
    settled.forEach((s, i) => {
      if (s.status === 'fulfilled') out.push(s.value);
      else {
        this.#placement.eject(live[i] as Partition);
        lastError = s.reason;
      }
    });
    if (out.length === 0) throw this.#unavailable(`no partition answered ${what}`, lastError);
    return out;
  }

  async #sum(what: string, ask: (p: Partition) => Promise<number>): Promise<number> {
    const values = await this.#fromLive(what, ask);
    return values.reduce((a, b) => a + b, 0);
  }

  protected override doGetSize(): Promise<number> {
    return this.#sum('getSize', (p) => p.hooks.getSize());
  }

  protected override doGetAcquiredCount(): Promise<number> {
    return this.#sum('getAcquiredCount', (p) => p.hooks.getAcquiredCount());
  }

  protected override doGetDelayedCount(): Promise<number> {
    return this.#sum('getDelayedCount', (p) => p.hooks.getDelayedCount());
  }

  protected override doGetAbandonedCount(): Promise<number> {
    return this.#sum('getAbandonedCount', (p) => p.hooks.getAbandonedCount());
  }

  protected override async doIsEmpty(): Promise<boolean> {
    const answers = await this.#fromLive('isEmpty', (p) => p.hooks.isEmpty());
    return answers.every(Boolean);
  }

  // ---------------------------------------------------------------- delete / listing / maintenance

  /** Every partition, ejected or not: a delete that skipped one would leave jobs behind. */
  protected override async doSetPaused(paused: boolean): Promise<void> {
    const settled = await Promise.allSettled(this.#partitions.map((p) => p.hooks.setPaused(paused)));
    const failed = this.#partitions.filter((_, i) => settled[i]?.status === 'rejected');
    if (failed.length > 0) {
      const first = settled.find((s) => s.status === 'rejected') as PromiseRejectedResult;
      throw this.#unavailable(
        `${paused ? 'pause' : 'resume'}() failed on partition(s) ${failed.map((p) => p.name).join(', ')}; the others were ${paused ? 'paused' : 'resumed'} (retry it)`,
        first.reason,
      );
    }
  }

  /**
   * A schedule's ticks live in the partition the hash ring assigns to its name, ejected or not: a
   * tick claimed elsewhere during an outage could fire twice, so a down partition fails the claim
   * (the scheduler logs it and that tick is skipped) rather than moving it.
   */
  protected override doClaimPeriodicTick(name: string, tick: number): Promise<boolean> {
    return this.#tickPartition(name).hooks.claimPeriodicTick(name, tick);
  }

  protected override doLastPeriodicTick(name: string): Promise<number | null> {
    return this.#tickPartition(name).hooks.lastPeriodicTick(name);
  }

  #tickPartition(name: string): Partition {
    const located = this.#placement.ringLocate(`periodic:${name}`);
    return (
      (located === null ? undefined : this.#placement.byName(located)) ?? (this.#partitions[0] as Partition)
    );
  }

  /** True when any partition is paused (a half-done pause or resume reads as paused). */
  protected override async doIsPaused(): Promise<boolean> {
    const flags = await Promise.all(this.#partitions.map((p) => p.hooks.isPaused()));
    return flags.includes(true);
  }

  protected override async doDelete(): Promise<void> {
    const settled = await Promise.allSettled(this.#partitions.map((p) => p.hooks.delete()));
    const failed = this.#partitions.filter((_, i) => settled[i]?.status === 'rejected');
    if (failed.length > 0) {
      const first = settled.find((s) => s.status === 'rejected') as PromiseRejectedResult;
      throw this.#unavailable(
        `delete() failed on partition(s) ${failed.map((p) => p.name).join(', ')}; the others were emptied`,
        first.reason,
      );
    }
  }

  protected override doList(state: JobState): AsyncIterable<ListedJob> {
    const partitions = this.#partitions;
    return (async function* list() {
      for (const p of partitions) {
        for await (const job of p.hooks.list(state)) {
          const tag = `${p.name}${PARTITION_SEPARATOR}`;
          yield {
            ...job,
            id: `${tag}${job.id}`,
            claimToken: job.claimToken === null ? null : `${tag}${job.claimToken}`,
          };
        }
      }
    })();
  }

  protected override async doRunMaintenance(options: MaintenanceHookOptions): Promise<MaintenanceResult> {
    const results = await this.#fromLive('runMaintenance', (p) => p.hooks.runMaintenance(options));
    const total = { recycled: 0, abandoned: 0, pruned: 0, released: 0 };
    for (const r of results) {
      total.recycled += r.recycled;
      total.abandoned += r.abandoned;
      total.pruned += r.pruned;
      total.released += r.released;
    }
    return total;
  }

  protected override async doRepushAbandoned(): Promise<number> {
    return this.#sum('repushAbandoned', (p) => p.hooks.repushAbandoned());
  }

  /** Closes every partition queue (each releases only what it owns). */
  /**
   * Waits on every partition at once (a job may land on any of them): true as soon as one says
   * jobs may be ready, false when all ran out (timeout / abort / close). A partition whose wait
   * fails is left out: the others still wake the caller, and the next pop reports the failure.
   */
  protected override doWaitForJobs(timeoutMs: number, signal: AbortSignal): Promise<boolean> {
    const stop = new AbortController();
    const abort = (): void => stop.abort();
    if (signal.aborted) return Promise.resolve(false);
    signal.addEventListener('abort', abort, { once: true });
    return new Promise<boolean>((resolve) => {
      let pending = this.#partitions.length;
      const settle = (woken: boolean): void => {
        if (woken) resolve(true);
        if (woken || --pending === 0) {
          resolve(false);
          signal.removeEventListener('abort', abort);
          stop.abort(); // the other partitions stop listening
        }
      };
      for (const p of this.#partitions) {
        p.hooks.waitForJobs(timeoutMs, stop.signal).then(
          (woken) => settle(woken === true),
          () => settle(false),
        );
      }
    });
  }

  protected override async doClose(): Promise<void> {
    const settled = await Promise.allSettled(this.#partitions.map((p) => p.queue.close()));
    const failure = settled.find((s) => s.status === 'rejected');
    if (failure) throw (failure as PromiseRejectedResult).reason;
  }
}
