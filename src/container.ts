/**
 * The composition root (STYLE 18): the one place that knows every built-in backend and wires the
 * tsyringe container. Core classes never see the container; they are still built with `new`.
 *
 * Backends are held as a frozen name → lazy loader map (knex's dialect map, STYLE 12): nothing is
 * imported until a config names the class, and a missing optional driver package turns into a
 * `SWITCHYARD_CONFIG_INVALID` with an `npm install` hint.
 *
 * Container layout: `rootContainer` (a child of tsyringe's global container, so the host's own
 * registrations are untouched) holds the built-ins and a per-container {@link BackendRegistry}
 * factory. `defaultContainer` is the process-wide child the host registers into;
 * {@link createContainer} / {@link createRegistry} make fresh, isolated children for tests.
 *
 * @packageDocumentation
 */
import 'reflect-metadata';
import {
  type DependencyContainer,
  container as globalContainer,
  instancePerContainerCachingFactory,
} from 'tsyringe';
import {
  type AggregatorModule,
  parseCacheTTL,
  sectionSettings,
  validateAggregatorSectionWith,
  validateMemoryAggregatorSettings,
  validateRedisAggregatorSettings,
  validateSqlAggregatorSettings,
} from './aggregators/module.js';
import type { JobQueueAggregator } from './core/aggregator.js';
import type { BackendModule } from './core/backend.js';
import type { Clock } from './core/clock.js';
import {
  type BackendRegistryLike,
  isBackendModule,
  type LoadConfigOptions,
  loadConfig as loadConfigWith,
  type ResolveConfigOptions,
  resolveConfig as resolveConfigWith,
  type SectionValidator,
} from './core/config.js';
import type { ResolvedConfig } from './core/config-types.js';
import { configInvalid, ErrorCode, type Issue, isSwitchyardError, SwitchyardError } from './core/errors.js';
import { ConnectionPool, JobQueueFarm, type JobQueueFarmOptions } from './core/farm.js';
import type { ConnectionProvider } from './core/job-queue-group.js';
import { validateExecutorSection } from './executor/config.js';
import { validateBackoffThrottlingSection, validateRunnersSection } from './runner/service-config.js';

/** Loads a backend module: resolves to the module, or to an ES module namespace whose `default` is it. */
export type BackendLoader = () => Promise<BackendModule | { readonly default: BackendModule }>;

/** A registry entry: the lazy loader and the npm packages it needs (for the install hint). */
export interface BackendLoaderEntry {
  readonly load: BackendLoader;
  /** Optional driver packages the backend imports (e.g. `['knex', 'better-sqlite3']`). */
  readonly drivers?: readonly string[];
}

/** What {@link registerBackend} accepts: a module, a lazy loader, or a loader entry with drivers. */
export type BackendSource = BackendModule | BackendLoader | BackendLoaderEntry;

/** Options of {@link registerBackend}. */
export interface RegisterBackendOptions {
  /** Replace an existing registration (a built-in, or an earlier host registration). Default false. */
  readonly override?: boolean;
  /** Driver packages for the install hint (when `source` is a loader function). */
  readonly drivers?: readonly string[];
}

/** Valid backend class names. */
export const BACKEND_NAME_PATTERN: RegExp = /^[a-z][a-z0-9_-]*$/;

/**
 * The built-in backends: a frozen name → lazy loader map. Only names whose modules exist are
 * listed; a meta-test checks every `src/backends/*` folder is here.
 */
export const BUILTIN_BACKENDS: Readonly<Record<string, BackendLoaderEntry>> = Object.freeze(
  Object.assign(Object.create(null) as Record<string, BackendLoaderEntry>, {
    memory: Object.freeze({
      load: () => import('./backends/memory/index.js').then((m) => m.memoryBackend),
      drivers: Object.freeze([]),
    }),
    redis: Object.freeze({
      load: () => import('./backends/redis/index.js').then((m) => m.redisBackend),
      drivers: Object.freeze(['ioredis']),
    }),
    sql: Object.freeze({
      load: () => import('./backends/sql/index.js').then((m) => m.sqlBackend),
      drivers: Object.freeze(['knex']),
    }),
    federated: Object.freeze({
      load: () => import('./backends/federated/index.js').then((m) => m.federatedBackend),
      drivers: Object.freeze([]),
    }),
    eventbus: Object.freeze({
      load: () => import('./backends/eventbus/index.js').then((m) => m.eventbusBackend),
      drivers: Object.freeze(['kafkajs']),
    }),
  }),
);

/** Injection tokens of the switchyard container. */
export const TOKENS = Object.freeze({
  /** The {@link BackendRegistry} of a container (one instance per container). */
  backendRegistry: Symbol.for('switchyard.BackendRegistry'),
  /** The {@link AggregatorRegistry} of a container (one instance per container). */
  aggregatorRegistry: Symbol.for('switchyard.AggregatorRegistry'),
});

const backendToken = (name: string): string => `switchyard.backend:${name}`;

/**
 * Backend classes by name, lazily loaded and cached. Implements the structural
 * {@link BackendRegistryLike} that `resolveConfig()` takes. Each instance is bound to one tsyringe
 * container; registrations go into that container and never leak into a parent or sibling.
 */
export class BackendRegistry implements BackendRegistryLike {
  /** The container this registry registers into. */
  readonly container: DependencyContainer;
  readonly #own = new Set<string>();
  readonly #cache = new Map<string, Promise<BackendModule>>();

  constructor(container: DependencyContainer) {
    this.container = container;
  }

  /** Every registered name (built-ins and host registrations), sorted. */
  names(): string[] {
    return [...new Set([...Object.keys(BUILTIN_BACKENDS), ...this.#own])].sort();
  }

  /** True when `name` is registered. */
  has(name: string): boolean {
    return typeof name === 'string' && this.container.isRegistered(backendToken(name), true);
  }

  /**
   * Registers a backend class under `name` (a module, a lazy loader, or a `{ load, drivers }`
   * entry). A loader runs on the first `load(name)`.
   *
   * @throws `SWITCHYARD_CONFIG_INVALID` for a name not matching {@link BACKEND_NAME_PATTERN}, or one
   *   already registered without `{ override: true }`; `TypeError` for a source of the wrong type.
   */
  register(name: string, source: BackendSource, options: RegisterBackendOptions = {}): this {
    if (typeof name !== 'string' || !BACKEND_NAME_PATTERN.test(name)) {
      throw configInvalid(
        [
          {
            path: 'name',
            message: `must match ${BACKEND_NAME_PATTERN} (lowercase letters, digits, _ and -)`,
            value: name,
          },
        ],
        'backend registration',
      );
    }
    if (this.has(name) && options.override !== true) {
      const builtin = Object.hasOwn(BUILTIN_BACKENDS, name) ? 'a built-in backend' : 'already registered';
      throw configInvalid(
        [{ path: 'name', message: `is ${builtin}; pass { override: true } to replace it`, value: name }],
        'backend registration',
      );
    }
    const entry = toEntry(source, options.drivers);
    this.container.register(backendToken(name), { useValue: entry });
    this.#own.add(name);
    this.#cache.delete(name);
    return this;
  }

  /**
   * Loads (once) and returns the backend registered as `name`. A failed load is not cached, so it
   * can be retried after installing a driver.
   *
   * @throws `SWITCHYARD_CONFIG_INVALID` for an unknown name (listing the registered ones), a
   *   missing driver package (with an `npm install` hint), or a loader that fails or returns no
   *   BackendModule (the original error as `cause`).
   */
  load(name: string): Promise<BackendModule> {
    if (!this.has(name)) {
      return Promise.reject(
        configInvalid(
          [
            {
              path: 'class',
              message: 'is not a registered backend class',
              value: name,
              choices: this.names(),
            },
          ],
          'backend class',
        ),
      );
    }
    let promise = this.#cache.get(name);
    if (!promise) {
      const entry = this.container.resolve<BackendLoaderEntry>(backendToken(name));
      promise = importBackend(name, entry);
      this.#cache.set(name, promise);
      promise.catch(() => {
        if (this.#cache.get(name) === promise) this.#cache.delete(name);
      });
    }
    return promise;
  }
}

function toEntry(source: BackendSource, drivers: readonly string[] | undefined): BackendLoaderEntry {
  const withDrivers = (load: BackendLoader, own?: readonly string[]): BackendLoaderEntry => {
    const list = drivers ?? own;
    return Object.freeze(list === undefined ? { load } : { load, drivers: Object.freeze([...list]) });
  };
  if (typeof source === 'function') return withDrivers(source);
  if (isBackendModule(source)) return withDrivers(() => Promise.resolve(source));
  if (typeof source === 'object' && source !== null && typeof source.load === 'function') {
    return withDrivers(source.load, source.drivers);
  }
  throw new TypeError(
    'registerBackend(name, source): source must be a BackendModule, a loader function or { load }',
  );
}

async function importBackend(name: string, entry: BackendLoaderEntry): Promise<BackendModule> {
  let loaded: unknown;
  try {
    loaded = await entry.load();
  } catch (err) {
    if (isSwitchyardError(err)) throw err;
    const packages = missingPackages(err, entry.drivers ?? []);
    const issue: Issue =
      packages === null
        ? { path: 'class', message: `backend ${name} failed to load: ${errorMessage(err)}`, value: name }
        : {
            path: 'class',
            message: `backend ${name} needs ${packages.join(' and ')}, which is not installed: run npm install ${packages.join(' ')}`,
            value: name,
          };
    throw withCause(configInvalid([issue], 'backend class'), err);
  }
  if (isBackendModule(loaded)) return loaded;
  const fallback =
    typeof loaded === 'object' && loaded !== null ? (loaded as { default?: unknown }).default : undefined;
  if (isBackendModule(fallback)) return fallback;
  throw configInvalid(
    [
      {
        path: 'class',
        message: `backend ${name}'s loader returned no BackendModule (an object with supports and createQueue)`,
        value: name,
      },
    ],
    'backend class',
  );
}

/**
 * The packages to install when `err` is a module-not-found error: the missing bare package named in
 * the message, else the entry's declared drivers; null when `err` is something else.
 */
function missingPackages(err: unknown, drivers: readonly string[]): string[] | null {
  const code = (err as { code?: unknown } | null)?.code;
  if (code !== 'ERR_MODULE_NOT_FOUND' && code !== 'MODULE_NOT_FOUND') return null;
  const m = /Cannot find (?:package|module) '([^']+)'/.exec(errorMessage(err));
  const specifier = m?.[1];
  if (specifier !== undefined && !/^(\.|\/|[A-Za-z]:[\\/]|file:|node:)/.test(specifier)) {
    const parts = specifier.split('/');
    return [specifier.startsWith('@') ? parts.slice(0, 2).join('/') : (parts[0] as string)];
  }
  return drivers.length > 0 ? [...drivers] : null;
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function withCause(error: SwitchyardError, cause: unknown): SwitchyardError {
  return new SwitchyardError(ErrorCode.CONFIG_INVALID, error.message, { issues: error.issues, cause });
}

/**
 * switchyard's root container: a child of tsyringe's global container holding the built-in
 * backends and the per-container registry factory. Never registered into at run time.
 */
export const rootContainer: DependencyContainer = globalContainer.createChildContainer();
for (const [name, entry] of Object.entries(BUILTIN_BACKENDS)) {
  rootContainer.register(backendToken(name), { useValue: entry });
}
rootContainer.register(TOKENS.backendRegistry, {
  useFactory: instancePerContainerCachingFactory((c) => new BackendRegistry(c)),
});

/** A fresh container (built-ins only) with its own registry: for tests and multi-tenant hosts. */
export function createContainer(): DependencyContainer {
  return rootContainer.createChildContainer();
}

/** A fresh, isolated {@link BackendRegistry} (built-ins only), backed by its own child container. */
export function createRegistry(): BackendRegistry {
  return createContainer().resolve<BackendRegistry>(TOKENS.backendRegistry);
}

/** The process-wide container the host app registers into. */
export const defaultContainer: DependencyContainer = createContainer();

/** The process-wide registry: what `loadConfig()` uses when given none. */
export const defaultRegistry: BackendRegistry = defaultContainer.resolve<BackendRegistry>(
  TOKENS.backendRegistry,
);

/**
 * Registers a backend class by name in the {@link defaultRegistry}, so configs can say
 * `class: <name>`.
 *
 * @example
 * ```ts
 * registerBackend('sqs', () => import('./sqs-backend.js').then((m) => m.sqsBackend), { drivers: ['@aws-sdk/client-sqs'] });
 * ```
 * @throws as {@link BackendRegistry.register}.
 */
export function registerBackend(
  name: string,
  source: BackendSource,
  options: RegisterBackendOptions = {},
): void {
  defaultRegistry.register(name, source, options);
}

/**
 * Loads the backend registered as `name` in the {@link defaultRegistry}.
 *
 * @throws `SWITCHYARD_CONFIG_INVALID` (rejects) for an unknown name, listing the registered ones,
 *   or a backend that cannot load.
 */
export function getBackend(name: string): Promise<BackendModule> {
  return defaultRegistry.load(name);
}

// ================================================================ aggregators (SPEC §7)

/** Loads an aggregator module: resolves to it, or to an ES module namespace whose `default` is it. */
export type AggregatorLoader = () => Promise<AggregatorModule | { readonly default: AggregatorModule }>;

/** An aggregator registry entry: the lazy loader, its driver packages, and its sync settings check. */
export interface AggregatorLoaderEntry {
  readonly load: AggregatorLoader;
  /** Optional driver packages the class imports (for the install hint). */
  readonly drivers?: readonly string[];
  /** Checks class-specific settings when the config loads (before the module is). */
  readonly validateSettings?: AggregatorModule['validateSettings'];
}

/** Options of {@link registerAggregator}. */
export interface RegisterAggregatorOptions {
  /** Replace an existing registration. Default false. */
  readonly override?: boolean;
  /** Driver packages for the install hint. */
  readonly drivers?: readonly string[];
  /** Checks class-specific settings of the `aggregator` section when the config loads. */
  readonly validateSettings?: AggregatorModule['validateSettings'];
}

/** The built-in aggregators: a frozen name → lazy loader map (a meta-test checks every folder is here). */
export const BUILTIN_AGGREGATORS: Readonly<Record<string, AggregatorLoaderEntry>> = Object.freeze(
  Object.assign(Object.create(null) as Record<string, AggregatorLoaderEntry>, {
    memory: Object.freeze({
      load: () => import('./aggregators/memory/index.js').then((m) => m.memoryAggregator),
      drivers: Object.freeze([]),
      validateSettings: validateMemoryAggregatorSettings,
    }),
    redis: Object.freeze({
      load: () => import('./aggregators/redis/index.js').then((m) => m.redisAggregator),
      drivers: Object.freeze(['ioredis']),
      validateSettings: validateRedisAggregatorSettings,
    }),
    sql: Object.freeze({
      load: () => import('./aggregators/sql/index.js').then((m) => m.sqlAggregator),
      drivers: Object.freeze(['knex']),
      validateSettings: validateSqlAggregatorSettings,
    }),
  }),
);

const aggregatorToken = (name: string): string => `switchyard.aggregator:${name}`;

function isAggregatorModule(value: unknown): value is AggregatorModule {
  return (
    typeof value === 'object' && value !== null && typeof (value as AggregatorModule).create === 'function'
  );
}

/**
 * Aggregator classes by name, lazily loaded and cached, bound to one tsyringe container (as
 * {@link BackendRegistry}).
 */
export class AggregatorRegistry {
  /** The container this registry registers into. */
  readonly container: DependencyContainer;
  readonly #own = new Set<string>();
  readonly #cache = new Map<string, Promise<AggregatorModule>>();

  constructor(container: DependencyContainer) {
    this.container = container;
  }

  /** Every registered name, sorted. */
  names(): string[] {
    return [...new Set([...Object.keys(BUILTIN_AGGREGATORS), ...this.#own])].sort();
  }

  /** True when `name` is registered. */
  has(name: string): boolean {
    return typeof name === 'string' && this.container.isRegistered(aggregatorToken(name), true);
  }

  /** The sync settings check of `name`, if it has one. */
  validatorOf(name: string): AggregatorModule['validateSettings'] | undefined {
    if (!this.has(name)) return undefined;
    return this.container.resolve<AggregatorLoaderEntry>(aggregatorToken(name)).validateSettings;
  }

  /**
   * Registers an aggregator class under `name` (a module, a lazy loader or a `{ load }` entry).
   *
   * @throws `SWITCHYARD_CONFIG_INVALID` for a bad name, or one already registered without
   *   `{ override: true }`; `TypeError` for a source of the wrong type.
   */
  register(
    name: string,
    source: AggregatorModule | AggregatorLoader | AggregatorLoaderEntry,
    options: RegisterAggregatorOptions = {},
  ): this {
    if (typeof name !== 'string' || !BACKEND_NAME_PATTERN.test(name)) {
      throw configInvalid(
        [{ path: 'name', message: `must match ${BACKEND_NAME_PATTERN}`, value: name }],
        'aggregator registration',
      );
    }
    if (this.has(name) && options.override !== true) {
      const what = Object.hasOwn(BUILTIN_AGGREGATORS, name) ? 'a built-in aggregator' : 'already registered';
      throw configInvalid(
        [{ path: 'name', message: `is ${what}; pass { override: true } to replace it`, value: name }],
        'aggregator registration',
      );
    }
    let entry: AggregatorLoaderEntry;
    if (typeof source === 'function') entry = { load: source };
    else if (isAggregatorModule(source)) {
      entry = {
        load: () => Promise.resolve(source),
        ...(source.validateSettings ? { validateSettings: source.validateSettings } : {}),
      };
    } else if (typeof source === 'object' && source !== null && typeof source.load === 'function') {
      entry = source;
    } else {
      throw new TypeError('registerAggregator(name, source): source must be a module, a loader or { load }');
    }
    const full: AggregatorLoaderEntry = Object.freeze({
      ...entry,
      ...(options.drivers ? { drivers: Object.freeze([...options.drivers]) } : {}),
      ...(options.validateSettings ? { validateSettings: options.validateSettings } : {}),
    });
    this.container.register(aggregatorToken(name), { useValue: full });
    this.#own.add(name);
    this.#cache.delete(name);
    return this;
  }

  /**
   * Loads (once) the aggregator class registered as `name`.
   *
   * @throws `SWITCHYARD_CONFIG_INVALID` (path `aggregator.class`) for an unknown name, listing the
   *   registered ones, or a class that cannot load (with an `npm install` hint for a missing driver).
   */
  load(name: string): Promise<AggregatorModule> {
    if (!this.has(name)) {
      return Promise.reject(
        configInvalid(
          [
            {
              path: 'aggregator.class',
              message: 'is not a registered aggregator class',
              value: name,
              choices: this.names(),
            },
          ],
          'aggregator class',
        ),
      );
    }
    let promise = this.#cache.get(name);
    if (!promise) {
      const entry = this.container.resolve<AggregatorLoaderEntry>(aggregatorToken(name));
      promise = importAggregator(name, entry);
      this.#cache.set(name, promise);
      promise.catch(() => {
        if (this.#cache.get(name) === promise) this.#cache.delete(name);
      });
    }
    return promise;
  }
}

async function importAggregator(name: string, entry: AggregatorLoaderEntry): Promise<AggregatorModule> {
  let loaded: unknown;
  try {
    loaded = await entry.load();
  } catch (err) {
    if (isSwitchyardError(err)) throw err;
    const packages = missingPackages(err, entry.drivers ?? []);
    const message =
      packages === null
        ? `aggregator ${name} failed to load: ${errorMessage(err)}`
        : `aggregator ${name} needs ${packages.join(' and ')}, which is not installed: run npm install ${packages.join(' ')}`;
    throw configInvalid([{ path: 'aggregator.class', message, value: name }], 'aggregator class', {
      cause: err,
    });
  }
  if (isAggregatorModule(loaded)) return loaded;
  const fallback =
    typeof loaded === 'object' && loaded !== null ? (loaded as { default?: unknown }).default : undefined;
  if (isAggregatorModule(fallback)) return fallback;
  throw configInvalid(
    [
      {
        path: 'aggregator.class',
        message: `aggregator ${name}'s loader returned no module with create()`,
        value: name,
      },
    ],
    'aggregator class',
  );
}

for (const [name, entry] of Object.entries(BUILTIN_AGGREGATORS)) {
  rootContainer.register(aggregatorToken(name), { useValue: entry });
}
rootContainer.register(TOKENS.aggregatorRegistry, {
  useFactory: instancePerContainerCachingFactory((c) => new AggregatorRegistry(c)),
});

/** The process-wide aggregator registry (what the `aggregator` section is checked against). */
export const defaultAggregatorRegistry: AggregatorRegistry = defaultContainer.resolve<AggregatorRegistry>(
  TOKENS.aggregatorRegistry,
);

/**
 * Registers an aggregator class by name in {@link defaultAggregatorRegistry}, so configs can say
 * `aggregator: { class: <name> }`. Register before loading the config.
 *
 * @example
 * ```ts
 * registerAggregator('etcd', () => import('./etcd-aggregator.js').then((m) => m.etcdAggregator));
 * ```
 * @throws as {@link AggregatorRegistry.register}.
 */
export function registerAggregator(
  name: string,
  source: AggregatorModule | AggregatorLoader | AggregatorLoaderEntry,
  options: RegisterAggregatorOptions = {},
): void {
  defaultAggregatorRegistry.register(name, source, options);
}

/**
 * The `aggregator` section's validator (in {@link CONFIG_SECTIONS}): `class` among the registered
 * names, `connection` a name, `cacheTTL` seconds > 0 or null, and the class's own settings.
 * Whether the connection exists is checked by {@link createAggregator}.
 */
export function validateAggregatorSection(value: unknown, path: string): Issue[] {
  const registry = defaultAggregatorRegistry;
  return validateAggregatorSectionWith(value, path, registry.names(), (n) => registry.validatorOf(n));
}

/** Options of {@link createAggregator}. */
export interface CreateAggregatorOptions {
  /** Where named connections come from (a farm's pool: its client / knex pool is reused, not owned). */
  readonly connections?: ConnectionProvider;
  /** The farm's clock. Default: the wall clock. */
  readonly clock?: Clock;
  /** Default {@link defaultAggregatorRegistry}. */
  readonly registry?: AggregatorRegistry;
}

/**
 * Builds the aggregator a resolved config's `aggregator` section describes, or null when the
 * config has none. A named connection is taken from `connections` when given (shared with the
 * queues), else a private client is opened from the connection's settings (and closed by the
 * aggregator's `close()`).
 *
 * @throws `SWITCHYARD_CONFIG_INVALID` with the path (`aggregator.class`, `aggregator.connection`,
 *   …) and the valid choices.
 */
export async function createAggregator(
  config: ResolvedConfig,
  options: CreateAggregatorOptions = {},
): Promise<JobQueueAggregator | null> {
  const raw = config.sections.aggregator;
  if (raw === undefined || raw === null) return null;
  const path = 'aggregator';
  const registry = options.registry ?? defaultAggregatorRegistry;
  const issues = validateAggregatorSectionWith(raw, path, registry.names(), (n) => registry.validatorOf(n));
  if (issues.length > 0) throw configInvalid(issues, `configuration ${config.source}`);
  const section = raw as Readonly<Record<string, unknown>>;
  const module = await registry.load(section.class as string);
  const name = section.connection as string | undefined;
  let connectionConf = null;
  let connection = null;
  if (name !== undefined) {
    connectionConf = Object.hasOwn(config.connections, name) ? (config.connections[name] ?? null) : null;
    if (connectionConf === null) {
      throw configInvalid(
        [
          {
            path: `${path}.connection`,
            message: 'has no such connection',
            value: name,
            choices: Object.keys(config.connections),
          },
        ],
        `configuration ${config.source}`,
      );
    }
    connection = options.connections ? options.connections.connection(name) : null;
  }
  const cacheTTL = section.cacheTTL === undefined ? undefined : parseCacheTTL(section.cacheTTL);
  return module.create({
    settings: sectionSettings(section),
    cacheTTL,
    clock: options.clock,
    connection,
    connectionConf,
    path,
  });
}

/**
 * A farm with the config's aggregator (if it has one) wired into every queue, sharing the farm's
 * connections; the farm closes the aggregator after its groups.
 *
 * @throws as {@link createAggregator}.
 */
export async function createFarmWithAggregator(
  config: ResolvedConfig,
  options: Omit<JobQueueFarmOptions, 'connections' | 'ownsAggregator'> = {},
): Promise<JobQueueFarm> {
  if (options.aggregator !== undefined) return new JobQueueFarm(config, options);
  const pool = new ConnectionPool(config);
  let aggregator: JobQueueAggregator | null;
  try {
    aggregator = await createAggregator(config, {
      connections: pool,
      ...(options.clock ? { clock: options.clock } : {}),
    });
  } catch (error) {
    await pool.close();
    throw error;
  }
  return new JobQueueFarm(config, { ...options, aggregator, ownsAggregator: true, connections: pool });
}

/**
 * Validators of the top-level config sections owned outside the core (each by the module that
 * reads it), passed to every `loadConfig()` / `resolveConfig()` of this entry point.
 */
export const CONFIG_SECTIONS: Readonly<Record<string, SectionValidator>> = Object.freeze({
  aggregator: validateAggregatorSection,
  executor: validateExecutorSection,
  runners: validateRunnersSection,
  backoffThrottling: validateBackoffThrottlingSection,
});

/** Options of {@link loadConfig}: as the core's, with the registry defaulting to {@link defaultRegistry}. */
export type LoadConfigWithDefaultsOptions = Omit<LoadConfigOptions, 'registry'> & {
  readonly registry?: BackendRegistryLike;
};

/**
 * Finds, parses and validates a config file (`switchyard.config.yaml` in the working directory by
 * default), resolving class names through {@link defaultRegistry} unless told otherwise.
 *
 * @throws `SWITCHYARD_CONFIG_INVALID` listing every problem with its path.
 */
export function loadConfig(options: LoadConfigWithDefaultsOptions = {}): Promise<ResolvedConfig> {
  return loadConfigWith({
    ...options,
    registry: options.registry ?? defaultRegistry,
    sections: { ...CONFIG_SECTIONS, ...options.sections },
  });
}

/**
 * Validates a config object (as it would be in a file) through {@link defaultRegistry} unless
 * told otherwise.
 *
 * @throws `SWITCHYARD_CONFIG_INVALID` listing every problem with its path.
 */
export function resolveConfig(
  raw: unknown,
  options: Omit<ResolveConfigOptions, 'registry'> & { readonly registry?: BackendRegistryLike } = {},
): Promise<ResolvedConfig> {
  return resolveConfigWith(raw, {
    ...options,
    registry: options.registry ?? defaultRegistry,
    sections: { ...CONFIG_SECTIONS, ...options.sections },
  });
}
