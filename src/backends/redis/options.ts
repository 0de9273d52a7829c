/**
 * The options of a {@link RedisJobQueue} built in code (config entries reach it through
 * `module.ts`).
 *
 * @packageDocumentation
 */
import type { SwitchyardError } from '../../core/errors.js';
import type { JobQueueOptions } from '../../core/queue-options.js';
import type { RedisClientLike } from './connection.js';

/** Called with every job the backend had to skip (corrupted or missing data). Must not throw. */
export type RedisErrorHandler = (error: SwitchyardError) => void;

/** Options of {@link RedisJobQueue}: the common queue options plus {@link RedisSettings}. */
export interface RedisJobQueueOptions extends JobQueueOptions {
  /** A host-provided ioredis client, shared and never closed by the queue. */
  readonly client?: RedisClientLike;
  /** A Redis URL; the queue opens (lazily) and owns this client, and closes it on `close()`. */
  readonly url?: string;
  /** Startup nodes of a Redis Cluster (URLs) instead of `url`; the queue owns the `Cluster` client. */
  readonly cluster?: readonly string[];
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
