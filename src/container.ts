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
import type { BackendModule } from './core/backend.js';
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

/**
 * Validators of the top-level config sections owned outside the core (each by the module that
 * reads it), passed to every `loadConfig()` / `resolveConfig()` of this entry point.
 */
export const CONFIG_SECTIONS: Readonly<Record<string, SectionValidator>> = Object.freeze({
  runners: validateRunnersSection,
  backoffThrottling: validateBackoffThrottlingSection,
});

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
