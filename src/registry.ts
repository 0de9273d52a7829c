/**
 * One registry of plugin classes by name, over a tsyringe container: backends and aggregators are
 * two instances of it ({@link ClassRegistry}), so registering, listing, lazy loading with an
 * `npm install` hint, caching and override rules are written once.
 *
 * @packageDocumentation
 */
import type { DependencyContainer } from 'tsyringe';
import { configInvalid, type Issue, isSwitchyardError } from './core/errors.js';

/** Valid class names (backends and aggregators). */
export const CLASS_NAME_PATTERN: RegExp = /^[a-z][a-z0-9_-]*$/;

/** A registered class: its lazy loader and the optional driver packages it imports. */
export interface ClassLoaderEntry<M> {
  readonly load: () => Promise<M | { readonly default: M }>;
  /** Optional driver packages the class imports (e.g. `['knex', 'better-sqlite3']`), for the install hint. */
  readonly drivers?: readonly string[];
}

/** Options every registration takes. */
export interface RegisterClassOptions {
  /** Replace an existing registration (a built-in, or an earlier host registration). Default false. */
  readonly override?: boolean;
  /** Driver packages for the install hint. */
  readonly drivers?: readonly string[];
}

/** What differs between the kinds of class a {@link ClassRegistry} holds. */
export interface ClassKind<M, E extends ClassLoaderEntry<M>, S, O extends RegisterClassOptions> {
  /** `backend` or `aggregator`: used in tokens and messages. */
  readonly noun: string;
  /** The config path of the class name in messages (`class`, `aggregator.class`). */
  readonly classPath: string;
  /** The built-in classes (listed even before the container is consulted). */
  readonly builtins: Readonly<Record<string, E>>;
  /** True when a loaded value is a module of this kind. */
  readonly isModule: (value: unknown) => value is M;
  /** What a module of this kind must look like, for the "loader returned no …" message. */
  readonly shape: string;
  /** Turns what `register()` accepts into a frozen entry. @throws TypeError for a wrong source. */
  readonly toEntry: (source: S, options: O) => E;
}

/** The tsyringe token a class of `noun` is registered under. */
export function classToken(noun: string, name: string): string {
  return `switchyard.${noun}:${name}`;
}

/**
 * Classes of one kind by name, lazily loaded and cached. Each instance is bound to one tsyringe
 * container; registrations go into that container and never leak into a parent or sibling.
 */
export class ClassRegistry<M, E extends ClassLoaderEntry<M>, S, O extends RegisterClassOptions> {
  /** The container this registry registers into. */
  readonly container: DependencyContainer;
  readonly #kind: ClassKind<M, E, S, O>;
  readonly #own = new Set<string>();
  readonly #cache = new Map<string, Promise<M>>();

  constructor(container: DependencyContainer, kind: ClassKind<M, E, S, O>) {
    this.container = container;
    this.#kind = kind;
  }

  /** Every registered name (built-ins and host registrations), sorted. */
  names(): string[] {
    return [...new Set([...Object.keys(this.#kind.builtins), ...this.#own])].sort();
  }

  /** True when `name` is registered. */
  has(name: string): boolean {
    return typeof name === 'string' && this.container.isRegistered(classToken(this.#kind.noun, name), true);
  }

  /** The registered entry of `name`, or undefined. */
  protected entryOf(name: string): E | undefined {
    return this.has(name) ? this.container.resolve<E>(classToken(this.#kind.noun, name)) : undefined;
  }

  /**
   * Registers a class under `name`. A loader runs on the first `load(name)`.
   *
   * @throws `SWITCHYARD_CONFIG_INVALID` for a name not matching {@link CLASS_NAME_PATTERN}, or one
   *   already registered without `{ override: true }`; `TypeError` for a source of the wrong type.
   */
  register(name: string, source: S, options: O = {} as O): this {
    const { noun } = this.#kind;
    if (typeof name !== 'string' || !CLASS_NAME_PATTERN.test(name)) {
      throw configInvalid(
        [
          {
            path: 'name',
            message: `must match ${CLASS_NAME_PATTERN} (lowercase letters, digits, _ and -)`,
            value: name,
          },
        ],
        `${noun} registration`,
      );
    }
    if (this.has(name) && options.override !== true) {
      const what = Object.hasOwn(this.#kind.builtins, name) ? `a built-in ${noun}` : 'already registered';
      throw configInvalid(
        [{ path: 'name', message: `is ${what}; pass { override: true } to replace it`, value: name }],
        `${noun} registration`,
      );
    }
    const entry = this.#kind.toEntry(source, options);
    this.container.register(classToken(noun, name), { useValue: entry });
    this.#own.add(name);
    this.#cache.delete(name);
    return this;
  }

  /**
   * Loads (once) and returns the class registered as `name`. A failed load is not cached, so it
   * can be retried after installing a driver.
   *
   * @throws `SWITCHYARD_CONFIG_INVALID` for an unknown name (listing the registered ones), a
   *   missing driver package (with an `npm install` hint), or a loader that fails or returns no
   *   module of this kind (the original error as `cause`).
   */
  load(name: string): Promise<M> {
    const { noun, classPath } = this.#kind;
    const entry = this.entryOf(name);
    if (entry === undefined) {
      return Promise.reject(
        configInvalid(
          [
            {
              path: classPath,
              message: `is not a registered ${noun} class`,
              value: name,
              choices: this.names(),
            },
          ],
          `${noun} class`,
        ),
      );
    }
    let promise = this.#cache.get(name);
    if (!promise) {
      promise = this.#import(name, entry);
      this.#cache.set(name, promise);
      promise.catch(() => {
        if (this.#cache.get(name) === promise) this.#cache.delete(name);
      });
    }
    return promise;
  }

  async #import(name: string, entry: E): Promise<M> {
    const { noun, classPath, isModule } = this.#kind;
    let loaded: unknown;
    try {
      loaded = await entry.load();
    } catch (err) {
      if (isSwitchyardError(err)) throw err;
      const packages = missingPackages(err, entry.drivers ?? []);
      const issue: Issue = {
        path: classPath,
        message:
          packages === null
            ? `${noun} ${name} failed to load: ${errorMessage(err)}`
            : `${noun} ${name} needs ${packages.join(' and ')}, which is not installed: run npm install ${packages.join(' ')}`,
        value: name,
      };
      throw configInvalid([issue], `${noun} class`, { cause: err });
    }
    if (isModule(loaded)) return loaded;
    const fallback =
      typeof loaded === 'object' && loaded !== null ? (loaded as { default?: unknown }).default : undefined;
    if (isModule(fallback)) return fallback;
    throw configInvalid(
      [{ path: classPath, message: `${noun} ${name}'s loader returned no ${this.#kind.shape}`, value: name }],
      `${noun} class`,
    );
  }
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
