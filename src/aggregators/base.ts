/**
 * The abstract aggregator every built-in implementation extends (STYLE 1): public methods check
 * and normalise their arguments, refuse calls after `close()`, take "now" from one clock, and
 * only then call a `protected` hook. Implementations fill the hooks with their store's atomic
 * operations and never repeat those checks.
 *
 * The state every implementation keeps is the same, whatever the store:
 * - **marks**: (domain, type) → the epoch ms of its latest non-empty mark. A non-empty
 *   notification keeps the newer of the stored and the new time; an empty notification removes a
 *   mark only when the mark is strictly older than the emptiness it reports ("non-empty wins").
 * - **built marker**: when the map was last rebuilt, and until when it is trusted (`cacheTTL`).
 *   Without one (never built, purged, expired) {@link JobQueueAggregator.getAllReadyQueues}
 *   answers `null`, so a rebuilt-but-empty map (`{}`) is told apart from a missing one.
 *
 * @packageDocumentation
 */
import type { JobQueueAggregator, ReadyQueueMap } from '../core/aggregator.js';
import { type Clock, systemClock } from '../core/clock.js';
import { queueClosed } from '../core/errors.js';

/** Options every built-in aggregator accepts. */
export interface AggregatorOptions {
  /**
   * Seconds a rebuilt map is trusted; after that {@link JobQueueAggregator.getAllReadyQueues}
   * answers `null` until the next rebuild (so a dead chron degrades to polling the queues, never
   * to a stale map). `null` = never expires. Default {@link AGGREGATOR_DEFAULTS.cacheTTL}.
   */
  readonly cacheTTL?: number | null;
  /** Source of "now" for marks and expiry. Default: the wall clock. */
  readonly clock?: Clock;
}

/** Defaults of {@link AggregatorOptions}. */
export const AGGREGATOR_DEFAULTS = Object.freeze({
  /** Ten chron passes at the chron's default 30 s interval. */
  cacheTTL: 300,
});

/** The swap, as hooks receive it: the map's entries, deduplicated, and the built marker. */
export interface ReplaceHookOptions {
  /** When the caller started reading the queues (epoch ms); marks newer than this survive. */
  readonly builtAt: number;
  /** When the map stops being trusted (epoch ms), or null for never. */
  readonly expiresAt: number | null;
}

/** One (type, domains) entry of a normalised map; never an empty domain list. */
export type ReadyEntry = readonly [type: string, domains: readonly string[]];

/**
 * A base for aggregators: argument checks, the closed state and the clock, around `protected`
 * hooks. Implementation authors: implement every `do*` hook; each receives validated,
 * non-empty strings and a finite epoch-ms time.
 */
export abstract class BaseAggregator implements JobQueueAggregator {
  /** The implementation's name (`memory`, `redis`, `sql`, …). */
  abstract readonly name: string;
  /** Seconds a rebuilt map is trusted, or null for never. */
  readonly cacheTTL: number | null;
  protected readonly clock: Clock;
  #closed = false;

  /** @throws `TypeError` for a `cacheTTL` that is neither null nor a number of seconds > 0. */
  protected constructor(options: AggregatorOptions = {}) {
    const ttl = options.cacheTTL === undefined ? AGGREGATOR_DEFAULTS.cacheTTL : options.cacheTTL;
    if (ttl !== null && !(typeof ttl === 'number' && Number.isFinite(ttl) && ttl > 0)) {
      throw new TypeError(`aggregator cacheTTL must be a number of seconds > 0 or null, got ${String(ttl)}`);
    }
    this.cacheTTL = ttl;
    this.clock = options.clock ?? systemClock;
  }

  /** True after {@link BaseAggregator.close}. */
  get closed(): boolean {
    return this.#closed;
  }

  /** `redis aggregator`, for messages. */
  toString(): string {
    return `${this.name} aggregator`;
  }

  /** Marks (domain, type) as having ready jobs, at the clock's now (the newer mark wins). */
  notifyQueueNonEmpty(domain: string, type: string): Promise<void> {
    try {
      this.#assertOpen();
      checkName(domain, 'domain', 'notifyQueueNonEmpty');
      checkName(type, 'type', 'notifyQueueNonEmpty');
    } catch (error) {
      return Promise.reject(error);
    }
    // The hot path (one call per push): no extra async frame.
    return this.doNotifyNonEmpty(domain, type, this.clock.now());
  }

  /** Removes the mark of (domain, type) iff it is strictly older than `observedAt` (default now). */
  async notifyQueueEmpty(domain: string, type: string, observedAt?: number): Promise<void> {
    this.#assertOpen();
    checkName(domain, 'domain', 'notifyQueueEmpty');
    checkName(type, 'type', 'notifyQueueEmpty');
    const at = observedAt ?? this.clock.now();
    if (typeof at !== 'number' || !Number.isFinite(at)) {
      throw new TypeError(
        `notifyQueueEmpty(domain, type, observedAt): observedAt must be epoch ms, got ${at}`,
      );
    }
    await this.doNotifyEmpty(domain, type, at);
  }

  /** The ready queues (`{}` when rebuilt and empty), or null without a trusted map. */
  async getAllReadyQueues(): Promise<ReadyQueueMap | null> {
    this.#assertOpen();
    return this.doGetAllReadyQueues(this.clock.now());
  }

  /**
   * Swaps in a rebuilt map atomically. Marks newer than `builtAt` (default now) are kept.
   *
   * @throws `TypeError` when `map` is not `{ type: domains[] }` of non-empty strings.
   */
  async replaceReadyQueues(map: ReadyQueueMap, builtAt?: number): Promise<void> {
    this.#assertOpen();
    const entries = normalizeMap(map);
    const at = builtAt ?? this.clock.now();
    if (typeof at !== 'number' || !Number.isFinite(at)) {
      throw new TypeError(`replaceReadyQueues(map, builtAt): builtAt must be epoch ms, got ${at}`);
    }
    const expiresAt = this.cacheTTL === null ? null : at + this.cacheTTL * 1000;
    await this.doReplaceReadyQueues(entries, { builtAt: at, expiresAt });
  }

  /** Forgets the map and every mark. */
  async purge(): Promise<void> {
    this.#assertOpen();
    await this.doPurge();
  }

  /** Releases what the aggregator owns (never a host client). Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.doClose();
  }

  // ---------------------------------------------------------------- hooks

  /** Sets the mark of (domain, type) to `max(stored, at)`. Mandatory; atomic. */
  protected abstract doNotifyNonEmpty(domain: string, type: string, at: number): Promise<void>;

  /** Deletes the mark of (domain, type) iff it is `< observedAt`. Mandatory; atomic. */
  protected abstract doNotifyEmpty(domain: string, type: string, observedAt: number): Promise<void>;

  /**
   * The marks grouped by type, or null when there is no built marker or `now ≥ expiresAt`.
   * Mandatory; one consistent read (the old map or the new one, never a mix).
   */
  protected abstract doGetAllReadyQueues(now: number): Promise<ReadyQueueMap | null>;

  /**
   * Atomically: marks become `entries` (each at `builtAt`) plus every stored mark newer than
   * `builtAt`; the built marker is set. Mandatory.
   */
  protected abstract doReplaceReadyQueues(
    entries: readonly ReadyEntry[],
    options: ReplaceHookOptions,
  ): Promise<void>;

  /** Deletes every mark and the built marker. Mandatory. */
  protected abstract doPurge(): Promise<void>;

  /** Releases owned resources. Default: nothing. */
  protected doClose(): Promise<void> {
    return Promise.resolve();
  }

  #assertOpen(): void {
    if (this.#closed) throw queueClosed(String(this));
  }
}

function checkName(value: unknown, what: string, where: string): void {
  if (typeof value !== 'string' || value.length === 0) {
    throw new TypeError(`${where}(domain, type): ${what} must be a non-empty string, got ${String(value)}`);
  }
}

/** Checks a `{ type: domains[] }` map; returns its entries with duplicate domains and empty lists dropped. */
export function normalizeMap(map: unknown): ReadyEntry[] {
  if (typeof map !== 'object' || map === null || Array.isArray(map)) {
    throw new TypeError('replaceReadyQueues(map): map must be an object of job type → domains');
  }
  const out: ReadyEntry[] = [];
  for (const [type, domains] of Object.entries(map as Record<string, unknown>)) {
    if (type.length === 0) throw new TypeError('replaceReadyQueues(map): a job type must be non-empty');
    if (!Array.isArray(domains)) {
      throw new TypeError(
        `replaceReadyQueues(map): map[${JSON.stringify(type)}] must be an array of domains`,
      );
    }
    const unique = new Set<string>();
    for (const d of domains) {
      if (typeof d !== 'string' || d.length === 0) {
        throw new TypeError(
          `replaceReadyQueues(map): map[${JSON.stringify(type)}] holds ${String(d)}, not a non-empty domain`,
        );
      }
      unique.add(d);
    }
    if (unique.size > 0) out.push([type, [...unique]]);
  }
  return out;
}
