/**
 * The queues of one {@link JobQueueGroup}: built on first use from the type's `jobTypeConf` entry
 * (else `default`), with the group's clock, metrics, tracer, aggregator and read-only reason, and
 * cached per type.
 *
 * @packageDocumentation
 */
import type { JobQueueAggregator } from './aggregator.js';
import type { BackendConnection, BackendContext } from './backend.js';
import type { Clock } from './clock.js';
import type { ResolvedConfig, ResolvedQueueConf } from './config-types.js';
import { configInvalid } from './errors.js';
import type { JobQueue } from './job-queue.js';
import type { MetricsSink } from './metrics.js';
import type { JobTracer } from './tracing.js';

/**
 * Hands out shared connections by name (a farm's connection pool). The group never closes them:
 * whoever owns the provider does.
 */
export interface ConnectionProvider {
  /**
   * The open connection named `name`, opening it on first use.
   *
   * @throws `SWITCHYARD_CONFIG_INVALID` for an unknown name, `SWITCHYARD_QUEUE_CLOSED` once closed.
   */
  connection(name: string): BackendConnection;
}

/** What every queue of a group shares. */
export interface SharedQueueOptions {
  readonly clock: Clock;
  readonly metrics: MetricsSink;
  readonly tracer: JobTracer | undefined;
  readonly aggregator: JobQueueAggregator | null;
  /** The group-wide read-only reason (it overrides each entry's), or null. */
  readonly readOnlyReason: string | null;
}

/** The queues of one domain, by type, built from a resolved config and cached. */
export class GroupQueues {
  readonly #config: ResolvedConfig;
  readonly #domain: string;
  readonly #connections: ConnectionProvider;
  readonly #shared: SharedQueueOptions;
  /** The group, for messages. */
  readonly #where: string;
  readonly #queues = new Map<string, JobQueue>();
  readonly #usedTypes = new Set<string>();

  constructor(
    config: ResolvedConfig,
    domain: string,
    connections: ConnectionProvider,
    shared: SharedQueueOptions,
    where: string,
  ) {
    this.#config = config;
    this.#domain = domain;
    this.#connections = connections;
    this.#shared = shared;
    this.#where = where;
  }

  /**
   * The queue of `type`, built on first use (no I/O) and cached.
   *
   * @throws `TypeError` for an empty type, `SWITCHYARD_CONFIG_INVALID` when the backend rejects
   *   the entry's options or builds a queue of another domain or type.
   */
  get(type: string): JobQueue {
    if (typeof type !== 'string' || type.length === 0) {
      throw new TypeError(`${this.#where}: a job type must be a non-empty string, got ${String(type)}`);
    }
    const cached = this.#queues.get(type);
    if (cached && !cached.closed) return cached;
    const entry = this.#entry(type);
    const connection = entry.connection === null ? null : this.#connections.connection(entry.connection);
    const context: BackendContext = {
      queue: this.#queueOptions(type, entry),
      settings: entry.settings,
      connection,
      connectionName: entry.connection,
      connections: this.#connections,
    };
    const queue = entry.backend.createQueue(context);
    if (queue.type !== type || queue.domain !== this.#domain) {
      throw configInvalid(
        [
          {
            path: `${entry.path}.class`,
            message: `backend built a queue for ${queue.domain}/${queue.type} when asked for ${this.#domain}/${type}`,
            value: entry.class,
          },
        ],
        `configuration ${this.#config.source}`,
      );
    }
    this.#queues.set(type, queue);
    this.#usedTypes.add(type);
    return queue;
  }

  /**
   * Known job types: the config's `jobTypes`, its per-type `jobTypeConf` entries, and every type
   * used so far, in that order.
   */
  knownTypes(): string[] {
    const types = new Set<string>(this.#config.jobTypes);
    for (const type of Object.keys(this.#config.jobTypeConf)) if (type !== 'default') types.add(type);
    for (const type of this.#usedTypes) types.add(type);
    return [...types];
  }

  /** Every queue built so far, forgotten here (the caller closes them). */
  takeAll(): JobQueue[] {
    const queues = [...this.#queues.values()];
    this.#queues.clear();
    return queues;
  }

  /** The entry routing `type`: its own, else `default`. */
  #entry(type: string): ResolvedQueueConf {
    const conf = this.#config.jobTypeConf;
    return (Object.hasOwn(conf, type) ? conf[type] : undefined) ?? conf.default;
  }

  /** The entry's validated options as they are, plus what the group's queues share. */
  #queueOptions(type: string, entry: ResolvedQueueConf): BackendContext['queue'] {
    const { clock, metrics, tracer, aggregator, readOnlyReason } = this.#shared;
    const base = {
      ...entry.queue,
      type,
      readOnlyReason: readOnlyReason ?? entry.queue.readOnlyReason ?? null,
      domain: this.#domain,
      clock,
      metrics,
      ...(tracer ? { tracer } : {}),
    };
    return aggregator === null ? base : { ...base, aggregator };
  }
}
