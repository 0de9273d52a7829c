/**
 * The config entry point's types and constants: the options of `loadConfig()` / `resolveConfig()`,
 * the registry seam (the core never imports a backend: classes come from a structural
 * {@link BackendRegistryLike}), and the names of the keys a config may hold.
 */
import type { BackendModule } from '../backend.js';
import type { Issue } from '../errors.js';
import { CONFIGURABLE_QUEUE_OPTIONS } from '../queue-options.js';

/** What `resolveConfig()` needs from a backend registry: its names, and a loader by name. */
export interface BackendRegistryLike {
  /** Every registered backend class name (for "valid choices" in messages). */
  names(): readonly string[];
  /**
   * Loads the backend module registered as `name`.
   *
   * @throws `SWITCHYARD_CONFIG_INVALID` for an unknown name or a backend that cannot load (e.g. a
   *   missing driver package); its issues are re-reported under the config path that named it.
   */
  load(name: string): Promise<BackendModule>;
}

/** Options of {@link resolveConfig}. */
export interface ResolveConfigOptions {
  /** Where the raw config came from (a file path), for messages. Default `"object"`. */
  readonly source?: string;
  /** Variables for `${NAME}` interpolation. Default `process.env`. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Where backend class names are looked up. */
  readonly registry: BackendRegistryLike;
  /**
   * Validators of the top-level sections owned outside the core (aggregator, runners, executor,
   * …), by key. A key listed here is accepted at the top level; its validator reports issues
   * under the given path so they join the one `SWITCHYARD_CONFIG_INVALID`.
   */
  readonly sections?: Readonly<Record<string, SectionValidator>>;
}

/**
 * Checks one top-level config section (already `${ENV}`-interpolated) and returns its issues,
 * with paths starting at `path` (the section's key).
 */
export type SectionValidator = (value: unknown, path: string) => readonly Issue[] | undefined;

/** Options of {@link loadConfig}. */
export interface LoadConfigOptions {
  /** The config file, absolute or relative to `cwd`. Default: the first of {@link CONFIG_FILE_NAMES} in `cwd`. */
  readonly path?: string;
  /** The directory to search and to resolve `path` against. Default `process.cwd()`. */
  readonly cwd?: string;
  /** Variables for `${NAME}` interpolation. Default `process.env`. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Where backend class names are looked up (the package root's `loadConfig` defaults it). */
  readonly registry: BackendRegistryLike;
  /** See {@link ResolveConfigOptions.sections}. */
  readonly sections?: Readonly<Record<string, SectionValidator>>;
}

/**
 * The `jobTypeConf.default` entry used when the config has none. The one place to change the
 * out-of-the-box backend: embedded SQLite at `./switchyard.sqlite` (promises §3).
 */
export const DEFAULT_JOB_TYPE_CONF: Readonly<{ class: string }> = Object.freeze({ class: 'sql' });

/** File names `loadConfig()` looks for, in order of preference. */
export const CONFIG_FILE_NAMES: readonly string[] = Object.freeze([
  'switchyard.config.yaml',
  'switchyard.config.yml',
  'switchyard.config.json',
]);

/** Valid top-level keys of a config. (`$schema`, for editors, is accepted and ignored as well.) */
export const CONFIG_KEYS: readonly string[] = Object.freeze([
  'connections',
  'jobTypeConf',
  'typesExcludedFromDefaultQueue',
  'jobTypes',
  'readOnlyReason',
  'defaultDomain',
  'domains',
]);

/** Common queue options of a `jobTypeConf` entry; every other key is a backend setting. */
export const QUEUE_OPTION_KEYS: readonly string[] = Object.freeze(Object.keys(CONFIGURABLE_QUEUE_OPTIONS));

/** Queue options given in seconds or counts: an interpolated numeric string becomes a number. */
export const NUMERIC_OPTION_KEYS: ReadonlySet<string> = new Set(
  Object.entries(CONFIGURABLE_QUEUE_OPTIONS)
    .filter(([, kind]) => kind === 'number')
    .map(([key]) => key),
);

/** Keys of a `jobTypeConf` entry that are neither queue options nor backend settings. */
export const ENTRY_KEYS: readonly string[] = Object.freeze(['class', 'connection']);

/**
 * True when `value` has the shape of a {@link BackendModule} (a `supports` manifest and a
 * `createQueue` function). Used to accept inline modules as `class` and to check what loaders return.
 */
export function isBackendModule(value: unknown): value is BackendModule {
  if (typeof value !== 'object' || value === null) return false;
  const m = value as { supports?: unknown; createQueue?: unknown };
  if (typeof m.createQueue !== 'function') return false;
  if (typeof m.supports !== 'object' || m.supports === null) return false;
  const orders = (m.supports as { orders?: unknown }).orders;
  return orders === undefined || Array.isArray(orders);
}
