/**
 * The composition root: the one place that knows every built-in backend and wires the
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
import { configInvalid, type Issue } from './core/errors.js';
import { ConnectionPool, JobQueueFarm, type JobQueueFarmOptions } from './core/farm.js';
import type { ConnectionProvider } from './core/job-queue-group.js';
import { validateExecutorSection } from './executor/section.js';
import { validatePeriodicSection } from './periodic/config.js';
import { CLASS_NAME_PATTERN, type ClassKind, ClassRegistry, classToken } from './registry.js';
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

/** Valid backend class names (the registry's {@link CLASS_NAME_PATTERN}). */
export const BACKEND_NAME_PATTERN: RegExp = CLASS_NAME_PATTERN;

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
      drivers: Object.freeze(['kafkajs', '@platformatic/kafka']),
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

const BACKEND_KIND: ClassKind<BackendModule, BackendLoaderEntry, BackendSource, RegisterBackendOptions> =
  Object.freeze({
    noun: 'backend',
    classPath: 'class',
    builtins: BUILTIN_BACKENDS,
    isModule: isBackendModule,
    shape: 'BackendModule (an object with supports and createQueue)',
    toEntry: (source: BackendSource, options: RegisterBackendOptions): BackendLoaderEntry => {
      const withDrivers = (load: BackendLoader, own?: readonly string[]): BackendLoaderEntry => {
        const list = options.drivers ?? own;
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
    },
  });

/**
 * Backend classes by name, lazily loaded and cached (a {@link ClassRegistry}). Implements the
 * structural {@link BackendRegistryLike} that `resolveConfig()` takes.
 */
export class BackendRegistry
  extends ClassRegistry<BackendModule, BackendLoaderEntry, BackendSource, RegisterBackendOptions>
  implements BackendRegistryLike
{
  constructor(container: DependencyContainer) {
    super(container, BACKEND_KIND);
  }
}

/**
 * switchyard's root container: a child of tsyringe's global container holding the built-in
 * backends and the per-container registry factory. Never registered into at run time.
 */
export const rootContainer: DependencyContainer = globalContainer.createChildContainer();
for (const [name, entry] of Object.entries(BUILTIN_BACKENDS)) {
  rootContainer.register(classToken('backend', name), { useValue: entry });
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

// ================================================================ aggregators (promises §7)

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

function isAggregatorModule(value: unknown): value is AggregatorModule {
  return (
    typeof value === 'object' && value !== null && typeof (value as AggregatorModule).create === 'function'
  );
}

/** What {@link registerAggregator} accepts: a module, a lazy loader, or a loader entry. */
export type AggregatorSource = AggregatorModule | AggregatorLoader | AggregatorLoaderEntry;

const AGGREGATOR_KIND: ClassKind<
  AggregatorModule,
  AggregatorLoaderEntry,
  AggregatorSource,
  RegisterAggregatorOptions
> = Object.freeze({
  noun: 'aggregator',
  classPath: 'aggregator.class',
  builtins: BUILTIN_AGGREGATORS,
  isModule: isAggregatorModule,
  shape: 'module with create()',
  toEntry: (source: AggregatorSource, options: RegisterAggregatorOptions): AggregatorLoaderEntry => {
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
    return Object.freeze({
      ...entry,
      ...(options.drivers ? { drivers: Object.freeze([...options.drivers]) } : {}),
      ...(options.validateSettings ? { validateSettings: options.validateSettings } : {}),
    });
  },
});

/** Aggregator classes by name, lazily loaded and cached (a {@link ClassRegistry}, as {@link BackendRegistry}). */
export class AggregatorRegistry extends ClassRegistry<
  AggregatorModule,
  AggregatorLoaderEntry,
  AggregatorSource,
  RegisterAggregatorOptions
> {
  constructor(container: DependencyContainer) {
    super(container, AGGREGATOR_KIND);
  }

  /** The sync settings check of `name`, if it has one. */
  validatorOf(name: string): AggregatorModule['validateSettings'] | undefined {
    return this.entryOf(name)?.validateSettings;
  }
}

for (const [name, entry] of Object.entries(BUILTIN_AGGREGATORS)) {
  rootContainer.register(classToken('aggregator', name), { useValue: entry });
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
  source: AggregatorSource,
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
  periodic: validatePeriodicSection,
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
