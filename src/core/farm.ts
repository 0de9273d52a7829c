/**
 * JobQueueFarm (promises §6): the groups of many domains over shared connections. Each named
 * connection of the config is opened once, lazily, and lent to every group's queues; the farm
 * closes it once, after its groups.
 *
 * @packageDocumentation
 */
import type { JobQueueAggregator } from './aggregator.js';
import type { BackendConnection } from './backend.js';
import type { Clock } from './clock.js';
import type { ResolvedConfig } from './config-types.js';
import { configInvalid, ErrorCode, queueClosed, wrapDriverError } from './errors.js';
import { type ConnectionProvider, JobQueueGroup } from './job-queue-group.js';
import type { MetricsSink } from './metrics.js';
import type { JobTracer } from './tracing.js';

/**
 * Opens each `connections` entry of a config on first use, once, and closes every connection it
 * opened once. Shared by all the groups of a farm.
 */
export class ConnectionPool implements ConnectionProvider {
  readonly #config: ResolvedConfig;
  readonly #open = new Map<string, BackendConnection>();
  #closed = false;
  #closing: Promise<void> | null = null;

  /** Builds the pool; nothing is opened until {@link ConnectionPool.connection} asks. */
  constructor(config: ResolvedConfig) {
    this.#config = config;
  }

  /** Names of the connections opened so far, in opening order. */
  get opened(): string[] {
    return [...this.#open.keys()];
  }

  /** True once {@link ConnectionPool.close} has been called. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * The connection named `name`, opened by its backend's `openConnection` on first use.
   *
   * @throws `SWITCHYARD_CONFIG_INVALID` for a name the config lacks or a backend that cannot open
   *   shared connections, `SWITCHYARD_CONNECTION_LOST` when opening fails (original as `cause`),
   *   `SWITCHYARD_QUEUE_CLOSED` after close.
   */
  connection(name: string): BackendConnection {
    if (this.#closed) throw queueClosed('connection pool');
    const existing = this.#open.get(name);
    if (existing) return existing;
    const connections = this.#config.connections;
    const conf = Object.hasOwn(connections, name) ? connections[name] : undefined;
    const source = `configuration ${this.#config.source}`;
    if (!conf) {
      throw configInvalid(
        [
          {
            path: 'connections',
            message: 'has no such connection',
            value: name,
            choices: Object.keys(connections),
          },
        ],
        source,
      );
    }
    if (!conf.backend.openConnection) {
      throw configInvalid(
        [{ path: conf.path, message: 'this backend cannot open shared connections', value: conf.class }],
        source,
      );
    }
    let connection: BackendConnection;
    try {
      connection = conf.backend.openConnection(conf.settings);
    } catch (error) {
      throw wrapDriverError(error, `opening connection "${name}"`, ErrorCode.CONNECTION_LOST);
    }
    this.#open.set(name, connection);
    return connection;
  }

  /**
   * Closes every connection opened so far, each once, in parallel. Idempotent. Every connection
   * is closed even when one fails; the first failure is rethrown afterwards.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#closed = true;
    const entries = [...this.#open];
    this.#open.clear();
    const results = await Promise.allSettled(entries.map(([, c]) => c.close()));
    for (let i = 0; i < results.length; i++) {
      const r = results[i];
      if (r?.status === 'rejected') {
        throw wrapDriverError(r.reason, `closing connection "${entries[i]?.[0]}"`);
      }
    }
  }
}

/** Options of {@link JobQueueFarm}. */
export interface JobQueueFarmOptions {
  /** Passed to every queue. Default: the wall clock. */
  readonly clock?: Clock;
  /** Passed to every queue. Default: discard. */
  readonly metrics?: MetricsSink;
  /** Passed to every queue. Default: none. */
  readonly tracer?: JobTracer;
  /** Makes every group read-only (the config's global reason wins). */
  readonly readOnlyReason?: string | null;
  /** Passed to every group and queue (promises §7). Closed by the farm only with `ownsAggregator`. */
  readonly aggregator?: JobQueueAggregator | null;
  /** Close `aggregator` in {@link JobQueueFarm.close} (after the groups). Default false. */
  readonly ownsAggregator?: boolean;
  /**
   * The pool to take named connections from (built over the same config, e.g. to lend one of its
   * connections to the aggregator first). The farm owns and closes it. Default: a new pool.
   */
  readonly connections?: ConnectionPool;
}

/**
 * The job queue groups of many domains (a wiki farm) over one set of shared connections.
 *
 * @example
 * ```ts
 * const farm = new JobQueueFarm(config);
 * await farm.group('enwiki').push({ type: 'refreshLinks', params: { pageId: 1 } });
 * await farm.close();
 * ```
 */
export class JobQueueFarm {
  /** The resolved configuration every group routes by. */
  readonly config: ResolvedConfig;
  readonly #options: JobQueueFarmOptions;
  readonly #pool: ConnectionPool;
  readonly #groups = new Map<string, JobQueueGroup>();
  #closed = false;
  #closing: Promise<void> | null = null;

  /** Builds the farm; no connection is opened until a queue needs it. */
  constructor(config: ResolvedConfig, options: JobQueueFarmOptions = {}) {
    this.config = config;
    this.#options = options;
    this.#pool = options.connections ?? new ConnectionPool(config);
  }

  /** The aggregator every group and queue notifies, or null. */
  get aggregator(): JobQueueAggregator | null {
    return this.#options.aggregator ?? null;
  }

  /** True once {@link JobQueueFarm.close} has been called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** The shared connection pool (for inspection; the farm owns and closes it). */
  get connections(): ConnectionPool {
    return this.#pool;
  }

  /**
   * The group of `domain`, built on first use and cached (rebuilt if the host closed it).
   *
   * @throws `TypeError` for an empty domain, `SWITCHYARD_QUEUE_CLOSED` after close.
   */
  group(domain: string = this.config.defaultDomain): JobQueueGroup {
    if (this.#closed) throw queueClosed('job queue farm');
    if (typeof domain !== 'string' || domain.length === 0) {
      throw new TypeError(
        `JobQueueFarm.group(domain): domain must be a non-empty string, got ${String(domain)}`,
      );
    }
    const cached = this.#groups.get(domain);
    if (cached && !cached.closed) return cached;
    const group = new JobQueueGroup(this.config, domain, this.#pool, this.#options);
    this.#groups.set(domain, group);
    return group;
  }

  /**
   * The farm's domains: the config's `domains`, then any other domain a group was asked for.
   *
   * @throws `SWITCHYARD_QUEUE_CLOSED` after close.
   */
  domains(): string[] {
    if (this.#closed) throw queueClosed('job queue farm');
    return [...new Set([...this.config.domains, ...this.#groups.keys()])];
  }

  /**
   * Closes every group (flushing lazy pushes), then every connection the farm opened, each once.
   * Idempotent. Everything is closed even when a step fails; the first error is rethrown.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#closed = true;
    const groups = [...this.#groups.values()];
    this.#groups.clear();
    const errors: unknown[] = [];
    for (const r of await Promise.allSettled(groups.map((g) => g.close()))) {
      if (r.status === 'rejected') errors.push(r.reason);
    }
    const aggregator = this.#options.aggregator;
    if (aggregator && this.#options.ownsAggregator === true) {
      try {
        await aggregator.close();
      } catch (error) {
        errors.push(error);
      }
    }
    try {
      await this.#pool.close();
    } catch (error) {
      errors.push(error);
    }
    if (errors.length > 0) throw errors[0];
  }
}

/**
 * A group over a private set of connections: the one-domain convenience. Closing the group
 * closes the connections it opened.
 *
 * @param domain - default `config.defaultDomain`.
 * @throws `TypeError` for an empty domain.
 */
export function createJobQueueGroup(
  config: ResolvedConfig,
  domain: string = config.defaultDomain,
  options: JobQueueFarmOptions = {},
): JobQueueGroup {
  const pool = options.connections ?? new ConnectionPool(config);
  const aggregator = options.aggregator ?? null;
  const owns = options.ownsAggregator === true;
  return new JobQueueGroup(config, domain, pool, {
    ...options,
    onClose: async () => {
      try {
        if (owns && aggregator) await aggregator.close();
      } finally {
        await pool.close();
      }
    },
  });
}
