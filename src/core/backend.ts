/**
 * The seam between the core and a backend class: what the registry loads for a class name
 * (`memory`, `sql`, …), and what it hands a backend when the config asks for a queue.
 *
 * @packageDocumentation
 */
import type { Clock } from './clock.js';
import type { Issue } from './errors.js';
import type { JobQueue } from './job-queue.js';
import type { MetricsSink } from './metrics.js';
import type { JobQueueOptions } from './queue-options.js';
import type { Supports } from './supports.js';

/** Backend-specific settings from the config file (everything but the common queue options). */
export type BackendSettings = Readonly<Record<string, unknown>>;

/** A connection a backend opened from a `connections` entry; shared by every queue that names it. */
export interface BackendConnection {
  /** The backend-specific handle (a knex instance, an ioredis client, a memory store…). */
  readonly handle: unknown;
  /** Closes what was opened. Called once, by the farm that owns the connection. */
  close(): Promise<void>;
}

/** What a backend gets to build one queue. */
export interface BackendContext {
  /** Common queue options (domain, type, claimTTL, maxTries, order, clock, metrics, …), validated. */
  readonly queue: JobQueueOptions & {
    readonly domain: string;
    readonly clock: Clock;
    readonly metrics: MetricsSink;
  };
  /** Backend-specific settings of the `jobTypeConf` entry, validated by `validateSettings`. */
  readonly settings: BackendSettings;
  /**
   * The shared connection named by the entry's `connection`, or null when the entry names none
   * (the backend then uses a private default and owns it).
   */
  readonly connection: BackendConnection | null;
  /** The connection's name (for `storeKey`), or null. */
  readonly connectionName: string | null;
  /**
   * Every named connection of the config, opened on first use and owned by the farm (for
   * backends that build queues of other classes, such as federated). Absent when the queue is
   * built outside a group.
   */
  readonly connections?: BackendConnections;
}

/** Named connections, opened once and shared (a farm's connection pool). */
export interface BackendConnections {
  /**
   * The connection named `name`, opened on first use.
   * @throws `SWITCHYARD_CONFIG_INVALID` for an unknown name, `SWITCHYARD_QUEUE_CLOSED` once closed.
   */
  connection(name: string): BackendConnection;
}

/**
 * What `resolveSettings` may look up while the config is resolved: backend classes by name (for
 * settings that name other classes) and the config's connections.
 */
export interface SettingsResolver {
  /** Every registered backend class name (for "valid choices"). */
  readonly backendNames: readonly string[];
  /**
   * Loads the backend class `name`.
   * @throws `SWITCHYARD_CONFIG_INVALID` for an unknown name or a class that cannot load.
   */
  loadBackend(name: string): Promise<BackendModule>;
  /** The class name of the `connections` entry `name`, or null when the config has none. */
  connectionClass(name: string): string | null;
  /** Every `connections` entry name. */
  readonly connectionNames: readonly string[];
}

/** What `resolveSettings` returns: the settings `createQueue` will get, and every problem found. */
export interface ResolvedSettings {
  readonly settings: BackendSettings;
  readonly issues: readonly Issue[];
}

/**
 * A backend class as the registry knows it. Backend authors: export one of these from your
 * module and register it with `registerBackend(name, loader)`.
 */
export interface BackendModule {
  /** The class name, for messages (the registry name is used when absent). */
  readonly name?: string;
  /** The manifest every queue of this class declares (read at config load to check orders). */
  readonly supports: Supports;
  /** Checks the backend-specific settings of a `jobTypeConf` entry; `path` prefixes each issue. */
  validateSettings?(settings: BackendSettings, path: string): Issue[];
  /**
   * Resolves settings that need other backend classes or connections (e.g. federated partitions),
   * after `validateSettings` found no issue. The returned settings replace the entry's; may hold
   * loaded modules. Optional.
   */
  resolveSettings?(
    settings: BackendSettings,
    path: string,
    resolver: SettingsResolver,
  ): Promise<ResolvedSettings>;
  /** Checks a `connections` entry of this class; `path` prefixes each issue. */
  validateConnection?(settings: BackendSettings, path: string): Issue[];
  /**
   * Settings that belong on a `connections` entry: a `jobTypeConf` entry that names a connection
   * may not set them (`loadConfig` reports each at its path, so a queue is never built from
   * such an entry). Optional.
   */
  readonly connectionKeys?: readonly string[];
  /** Opens a shared connection from a validated `connections` entry. */
  openConnection?(settings: BackendSettings): BackendConnection;
  /** Builds one queue. Must not do I/O before the first call on the queue. */
  createQueue(context: BackendContext): JobQueue;
}
