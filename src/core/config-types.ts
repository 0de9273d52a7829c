/**
 * The shape of a resolved (validated, normalised, frozen) switchyard configuration: what
 * `loadConfig()` / `resolveConfig()` return and what JobQueueGroup and JobQueueFarm consume.
 *
 * @packageDocumentation
 */
import type { BackendModule, BackendSettings } from './backend.js';
import type { CONFIGURABLE_QUEUE_OPTIONS, ConfiguredQueueOptions } from './queue-options.js';

/** One `jobTypeConf` entry after validation (`default` or one job type). */
export interface ResolvedQueueConf {
  /** Dotted path in the config, e.g. `jobTypeConf.refreshLinks`, for messages. */
  readonly path: string;
  /** The backend class name (`memory`, `sql`, …, or a host-registered name). */
  readonly class: string;
  /** The loaded backend module for `class`. */
  readonly backend: BackendModule;
  /** The named connection, or null. */
  readonly connection: string | null;
  /**
   * The entry's common queue options ({@link CONFIGURABLE_QUEUE_OPTIONS}), validated and frozen:
   * only those the entry sets (absent ones take the JobQueue defaults). The group passes them on
   * to the backend as they are.
   */
  readonly queue: Readonly<ConfiguredQueueOptions>;
  /** Everything else in the entry: backend-specific settings. */
  readonly settings: BackendSettings;
}

/** One `connections` entry after validation. */
export interface ResolvedConnectionConf {
  readonly path: string;
  readonly name: string;
  readonly class: string;
  readonly backend: BackendModule;
  readonly settings: BackendSettings;
}

/** A whole resolved configuration. */
export interface ResolvedConfig {
  /** Where it came from (a file path, or `"object"`), for messages. */
  readonly source: string;
  readonly connections: Readonly<Record<string, ResolvedConnectionConf>>;
  /** Always has `default`. */
  readonly jobTypeConf: Readonly<Record<string, ResolvedQueueConf>> & { readonly default: ResolvedQueueConf };
  readonly typesExcludedFromDefaultQueue: readonly string[];
  /** Job types the host declares (so `DEFAULT` / `ANY` pops know them even before any push). */
  readonly jobTypes: readonly string[];
  /** Global read-only reason (every queue read-only), or null. */
  readonly readOnlyReason: string | null;
  /** The domain a group uses when none is given. */
  readonly defaultDomain: string;
  /** The farm's domains (empty = only those asked for). */
  readonly domains: readonly string[];
  /**
   * Top-level sections owned outside the core (`aggregator`, `runners`, `executor`, …), as written
   * (interpolated, validated by the section's validator, frozen), by key. Absent sections are absent.
   */
  readonly sections: Readonly<Record<string, unknown>>;
}
