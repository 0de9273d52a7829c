/**
 * The one config entry point (SPEC §6, STYLE 11): `loadConfig()` finds and parses the config file,
 * `resolveConfig()` interpolates `${ENV}` references, validates everything at once and returns a
 * deeply frozen {@link ResolvedConfig}. Every problem is reported together in one
 * `SWITCHYARD_CONFIG_INVALID` error whose issues name the path, the value (unless it came from the
 * environment) and, for an unknown name, the valid ones.
 *
 * The core never imports a backend: backend classes come from a structural
 * {@link BackendRegistryLike} (the composition root's registry, or a test's).
 *
 * @packageDocumentation
 */
import { readFile, stat } from 'node:fs/promises';
import { extname, resolve as resolvePath } from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import type { BackendModule, BackendSettings, SettingsResolver } from './backend.js';
import { isPlainObject } from './checks.js';
import type { ResolvedConfig, ResolvedConnectionConf, ResolvedQueueConf } from './config-types.js';
import { configInvalid, ErrorCode, type Issue, isSwitchyardError, SwitchyardError } from './errors.js';
import { type JobQueueOptions, validateQueueOptions } from './job-queue.js';
import { defineSupports, type Order, type Supports } from './supports.js';

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
 * out-of-the-box backend: embedded SQLite at `./switchyard.sqlite` (SPEC §3).
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
export const QUEUE_OPTION_KEYS: readonly string[] = Object.freeze([
  'claimTTL',
  'maxTries',
  'order',
  'abandonedTTL',
  'rootJobTTL',
  'maintenanceInterval',
  'readOnlyReason',
]);

/** Queue options given in seconds or counts: an interpolated numeric string becomes a number. */
const NUMERIC_OPTION_KEYS: ReadonlySet<string> = new Set([
  'claimTTL',
  'maxTries',
  'abandonedTTL',
  'rootJobTTL',
  'maintenanceInterval',
]);

/** Keys of a `jobTypeConf` entry that are neither queue options nor backend settings. */
const ENTRY_KEYS: readonly string[] = Object.freeze(['class', 'connection']);

/** Syntax errors reported per file. */
const MAX_SYNTAX_ERRORS = 5;

/** Secrets shorter than this are not scrubbed from free-text messages (they would garble them). */
const MIN_SCRUB_LENGTH = 4;

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

// ================================================================ loading files

/**
 * Finds, reads and parses the config file, then {@link resolveConfig resolves} it.
 *
 * @remarks Without `path`, looks in `cwd` for `switchyard.config.yaml`, then `.yml`, then
 * `switchyard.config.json`. A `.json` file is parsed as strict JSON (duplicate keys are errors);
 * anything else as YAML 1.2. An empty file is an empty config (every default).
 * @throws `SWITCHYARD_CONFIG_INVALID` when no file is found, the file cannot be parsed, or the
 *   config is wrong (every problem in one error).
 */
export async function loadConfig(options: LoadConfigOptions): Promise<ResolvedConfig> {
  const cwd = options.cwd ?? process.cwd();
  const file = options.path === undefined ? await findConfigFile(cwd) : resolvePath(cwd, options.path);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    const message = code === 'ENOENT' ? 'config file not found' : 'config file cannot be read';
    throw withCause(configInvalid([{ path: '', message, value: file }], `switchyard config ${file}`), err);
  }
  const raw = parseConfigText(text, extname(file).toLowerCase() === '.json' ? 'json' : 'yaml', file);
  return resolveConfig(raw, {
    source: file,
    registry: options.registry,
    ...(options.env === undefined ? {} : { env: options.env }),
    ...(options.sections === undefined ? {} : { sections: options.sections }),
  });
}

/**
 * The first of {@link CONFIG_FILE_NAMES} that exists in `cwd`.
 *
 * @throws `SWITCHYARD_CONFIG_INVALID` listing the names looked for when none exists.
 */
export async function findConfigFile(cwd: string): Promise<string> {
  for (const name of CONFIG_FILE_NAMES) {
    const file = resolvePath(cwd, name);
    try {
      if ((await stat(file)).isFile()) return file;
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') return file; // there but unreadable: loadConfig says so
    }
  }
  throw configInvalid(
    [{ path: '', message: `no config file in ${cwd}`, choices: CONFIG_FILE_NAMES }],
    'switchyard config',
  );
}

/**
 * Parses config text as YAML 1.2 or strict JSON. Every syntax error is reported (line and column,
 * never the surrounding text) in one `SWITCHYARD_CONFIG_INVALID`. Empty text is `{}`.
 *
 * @param source - a file name for messages.
 */
export function parseConfigText(text: string, format: 'yaml' | 'json', source: string = format): unknown {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, {
    prettyErrors: false,
    lineCounter,
    uniqueKeys: true,
    ...(format === 'json' ? { schema: 'json' as const } : {}),
  });
  const at = (offset: number) => {
    const { line, col } = lineCounter.linePos(offset);
    return `line ${line}, column ${col}`;
  };
  // Later syntax errors mostly cascade from the first ones: show a few.
  const issues: Issue[] = doc.errors.slice(0, MAX_SYNTAX_ERRORS).map((e) => ({
    path: '',
    message: `${format === 'json' ? 'JSON' : 'YAML'} syntax error at ${at(e.pos[0])}: ${e.message}`,
  }));
  const more = doc.errors.length - MAX_SYNTAX_ERRORS;
  if (more > 0) issues.push({ path: '', message: `and ${more} more syntax error${more === 1 ? '' : 's'}` });
  if (format === 'yaml' && issues.length > 0 && /[[{][^\n]*\$\{/.test(text)) {
    issues.push({ path: '', message: `hint: inside { } or [ ], quote strings that use \${…} ("\${NAME}")` });
  }
  if (issues.length === 0) {
    try {
      const value: unknown = doc.toJS({ maxAliasCount: 100 });
      return value === null || value === undefined ? {} : value;
    } catch (err) {
      issues.push({
        path: '',
        message: `cannot be read: ${err instanceof Error ? err.message : String(err)}`,
      });
    }
  }
  throw configInvalid(issues, `switchyard config ${source}`);
}

// ================================================================ interpolation

/** What interpolation found, for redaction and to avoid cascading issues. */
interface Interpolation {
  /** Path of every string that contained `${…}` → the variable names it used. */
  readonly paths: Map<string, string[]>;
  /** Values taken from the environment (never printed). */
  readonly secrets: Set<string>;
  /** Paths whose interpolation failed; other issues at these paths are dropped. */
  readonly failed: Set<string>;
  readonly issues: Issue[];
}

const VARIABLE = /^([A-Za-z_][A-Za-z0-9_]*)(?::-([\s\S]*))?$/;

function interpolateString(
  text: string,
  path: string,
  env: Readonly<Record<string, string | undefined>>,
  state: Interpolation,
): string {
  if (!text.includes('${')) return text;
  let out = '';
  let i = 0;
  const vars: string[] = [];
  let used = false;
  while (i < text.length) {
    const start = text.indexOf('${', i);
    if (start < 0) {
      out += text.slice(i);
      break;
    }
    if (start > 0 && text[start - 1] === '$') {
      // `$${` is a literal `${`.
      out += `${text.slice(i, start - 1)}\${`;
      i = start + 2;
      continue;
    }
    out += text.slice(i, start);
    used = true;
    const end = text.indexOf('}', start + 2);
    if (end < 0) {
      state.issues.push({ path, message: `has an unterminated \${ (write \${NAME} or \${NAME:-default})` });
      state.failed.add(path);
      break;
    }
    const inner = text.slice(start + 2, end);
    const m = VARIABLE.exec(inner);
    if (!m) {
      state.issues.push({
        path,
        message: `has a malformed interpolation \${${inner}} (write \${NAME} or \${NAME:-default}; NAME is letters, digits and _)`,
      });
      state.failed.add(path);
      i = end + 1;
      continue;
    }
    const name = m[1] as string;
    const fallback = m[2];
    vars.push(name);
    const value = env[name];
    if (value !== undefined && (value !== '' || fallback === undefined)) {
      state.secrets.add(value);
      out += value;
    } else if (fallback !== undefined) {
      out += fallback;
    } else {
      state.issues.push({
        path,
        message: `uses environment variable ${name}, which is not set (write \${${name}:-default} to give a default)`,
      });
      state.failed.add(path);
    }
    i = end + 1;
  }
  if (used) state.paths.set(path, vars);
  return out;
}

/** Copies plain objects and arrays (never mutating or freezing the caller's), interpolating strings. */
function interpolateTree(
  value: unknown,
  path: string,
  env: Readonly<Record<string, string | undefined>>,
  state: Interpolation,
  ancestors: Set<object>,
): unknown {
  if (typeof value === 'string') return interpolateString(value, path, env, state);
  // Inline backend modules are kept by reference (their identity matters), like host objects.
  if ((!Array.isArray(value) && !isPlainObject(value)) || isBackendModule(value)) return value;
  if (ancestors.has(value)) {
    state.issues.push({ path, message: 'is a circular reference' });
    state.failed.add(path);
    return null;
  }
  ancestors.add(value);
  let copy: unknown;
  if (Array.isArray(value)) {
    copy = Array.from(value, (v: unknown, i) => interpolateTree(v, `${path}[${i}]`, env, state, ancestors));
  } else {
    copy = Object.fromEntries(
      Object.keys(value).map((k) => [k, interpolateTree(value[k], join(path, k), env, state, ancestors)]),
    );
  }
  ancestors.delete(value);
  return copy;
}

// ================================================================ resolving

type Loaded =
  | { readonly ok: true; readonly backend: BackendModule }
  | { readonly ok: false; readonly error: unknown };

/** A resolved `class`: its name for messages and the module. */
interface ClassRef {
  readonly name: string;
  readonly backend: BackendModule;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/**
 * Validates and normalises a raw config (parsed YAML / JSON, or an object built in code).
 *
 * @remarks
 * - Strings are interpolated first: `${NAME}` and `${NAME:-default}` (the default applies when the
 *   variable is unset or empty); `$${` is a literal `${`. An interpolated numeric string in a
 *   numeric queue option (`claimTTL: ${CLAIM_TTL:-600}`) becomes a number. Values from the
 *   environment never appear in messages: an issue on an interpolated string names the variable.
 * - `class` is a registered backend name or, in a config built in code, a {@link BackendModule}.
 * - `jobTypeConf.default` is {@link DEFAULT_JOB_TYPE_CONF} when absent.
 * - An empty `readOnlyReason` means "not read-only" (so `${READ_ONLY_REASON:-}` works).
 * - The caller's object is never mutated; the result (but not backend modules or host objects
 *   passed as settings, such as a knex instance) is deeply frozen.
 *
 * @throws `SWITCHYARD_CONFIG_INVALID` with every problem found (`error.issues`).
 */
export async function resolveConfig(raw: unknown, options: ResolveConfigOptions): Promise<ResolvedConfig> {
  const source = options.source ?? 'object';
  const env = options.env ?? process.env;
  const registry = options.registry;
  const state: Interpolation = { paths: new Map(), secrets: new Set(), failed: new Set(), issues: [] };
  const tree = raw === undefined ? {} : interpolateTree(raw, '', env, state, new Set());
  const issues: Issue[] = [];
  const fail = () => {
    // An interpolation that failed is reported once; the value it left behind is not judged again.
    const kept = [...state.issues, ...issues.filter((i) => !isUnder(i.path, state.failed))];
    return configInvalid(
      kept.map((i) => redact(i, state)),
      `switchyard config ${source}`,
    );
  };

  if (!isPlainObject(tree)) {
    issues.push({ path: '', message: 'must be a mapping of config keys', value: tree, choices: CONFIG_KEYS });
    throw fail();
  }

  const sectionValidators = options.sections ?? {};
  const knownKeys = [
    ...CONFIG_KEYS,
    ...Object.keys(sectionValidators).filter((k) => !CONFIG_KEYS.includes(k)),
  ];
  const sections: Record<string, unknown> = Object.create(null);
  for (const key of Object.keys(tree)) {
    if (key === '$schema') continue;
    const validate = Object.hasOwn(sectionValidators, key) ? sectionValidators[key] : undefined;
    if (validate !== undefined && !CONFIG_KEYS.includes(key)) {
      sections[key] = tree[key];
      issues.push(...callValidator(() => validate(tree[key], key), key, `the ${key} section validator`));
    } else if (!CONFIG_KEYS.includes(key)) {
      issues.push({ path: key, message: 'is not a config key', choices: knownKeys });
    }
  }

  // ---- scalars and lists
  const readOnlyReason = checkReadOnlyReason(tree.readOnlyReason, 'readOnlyReason', issues);
  const defaultDomain = tree.defaultDomain === undefined ? 'default' : tree.defaultDomain;
  if (typeof defaultDomain !== 'string' || defaultDomain.length === 0) {
    issues.push({ path: 'defaultDomain', message: 'must be a non-empty string', value: defaultDomain });
  }
  const domains = checkNameList(tree.domains, 'domains', issues);
  if (tree.defaultDomain !== undefined && domains.length > 0 && typeof defaultDomain === 'string') {
    if (!domains.includes(defaultDomain)) {
      issues.push({
        path: 'defaultDomain',
        message: 'is not one of the farm domains',
        value: defaultDomain,
        choices: domains,
      });
    }
  }
  const typesExcluded = checkNameList(
    tree.typesExcludedFromDefaultQueue,
    'typesExcludedFromDefaultQueue',
    issues,
  );
  const jobTypes = checkNameList(tree.jobTypes, 'jobTypes', issues);

  // ---- the raw records
  const rawConnections = checkRecord(tree.connections, 'connections', issues);
  const rawJobTypeConf = checkRecord(tree.jobTypeConf, 'jobTypeConf', issues);
  const entries: Array<[string, unknown, boolean]> = [];
  if (!Object.hasOwn(rawJobTypeConf, 'default')) entries.push(['default', DEFAULT_JOB_TYPE_CONF, true]);
  for (const type of Object.keys(rawJobTypeConf)) entries.push([type, rawJobTypeConf[type], false]);

  // ---- load every named class once, in parallel
  const registered = [...registry.names()].sort();
  const wanted = new Set<string>();
  const collect = (entry: unknown) => {
    if (isPlainObject(entry) && typeof entry.class === 'string' && registered.includes(entry.class)) {
      wanted.add(entry.class);
    }
  };
  for (const name of Object.keys(rawConnections)) collect(rawConnections[name]);
  for (const [, entry] of entries) collect(entry);
  const loaded = new Map<string, Loaded>(
    await Promise.all(
      [...wanted].map(async (name): Promise<[string, Loaded]> => {
        try {
          const backend = await registry.load(name);
          if (!isBackendModule(backend)) {
            return [name, { ok: false, error: new TypeError('the registry returned no BackendModule') }];
          }
          return [name, { ok: true, backend }];
        } catch (error) {
          return [name, { ok: false, error }];
        }
      }),
    ),
  );

  const classOf = (value: unknown, path: string, implicit: boolean): ClassRef | null => {
    if (isBackendModule(value)) return { name: '(inline)', backend: value };
    if (value === undefined) {
      issues.push({ path, message: 'is required (a backend class name)', choices: registered });
      return null;
    }
    if (typeof value !== 'string' || value.length === 0) {
      issues.push({ path, message: 'must be a backend class name', value, choices: registered });
      return null;
    }
    const result = loaded.get(value);
    if (result === undefined) {
      issues.push({
        path,
        message: implicit
          ? 'is not a registered backend class (the implicit default entry uses it: configure jobTypeConf.default)'
          : 'is not a registered backend class',
        value,
        choices: registered,
      });
      return null;
    }
    if (!result.ok) {
      issues.push(...loadIssues(result.error, path, value));
      return null;
    }
    return { name: value, backend: result.backend };
  };

  // ---- connections
  const connections: Record<string, ResolvedConnectionConf> = Object.create(null);
  const connectionRefs = new Map<string, ClassRef | null>();
  for (const name of Object.keys(rawConnections)) {
    const path = join('connections', name);
    const entry = rawConnections[name];
    if (name.length === 0) issues.push({ path, message: 'connection names must be non-empty' });
    if (!isPlainObject(entry)) {
      issues.push({ path, message: 'must be a mapping with a class and its settings', value: entry });
      connectionRefs.set(name, null);
      continue;
    }
    const { class: cls, ...settings } = entry;
    const ref = classOf(cls, `${path}.class`, false);
    connectionRefs.set(name, ref);
    if (!ref) continue;
    if (typeof ref.backend.openConnection !== 'function') {
      issues.push({
        path: `${path}.class`,
        message: `backend ${ref.name} cannot open shared connections (it has no openConnection)`,
        value: ref.name,
      });
      continue;
    }
    if (ref.backend.validateConnection) {
      issues.push(
        ...callValidator(
          () => ref.backend.validateConnection?.(settings, path),
          path,
          "the backend's validateConnection",
        ),
      );
    }
    connections[name] = {
      path,
      name,
      class: ref.name,
      backend: ref.backend,
      settings: settings as BackendSettings,
    };
  }

  // ---- jobTypeConf
  const connectionNames = Object.keys(rawConnections);
  const settingsResolver: SettingsResolver = {
    backendNames: registered,
    loadBackend: (name) => registry.load(name),
    connectionClass: (name) => {
      const c = Object.hasOwn(rawConnections, name) ? rawConnections[name] : undefined;
      return isPlainObject(c) && typeof c.class === 'string' ? c.class : null;
    },
    connectionNames,
  };
  const resolved: Array<[string, ResolvedQueueConf]> = [];
  for (const [type, entry, implicit] of entries) {
    const path = join('jobTypeConf', type);
    if (type.length === 0) issues.push({ path, message: 'job type names must be non-empty' });
    if (!isPlainObject(entry)) {
      issues.push({ path, message: 'must be a mapping with a class and options', value: entry });
      continue;
    }
    const ref = classOf(entry.class, `${path}.class`, implicit);

    let connection: string | null = null;
    if (entry.connection !== undefined && entry.connection !== null) {
      const c = entry.connection;
      if (typeof c !== 'string' || !Object.hasOwn(rawConnections, c)) {
        issues.push({
          path: `${path}.connection`,
          message:
            connectionNames.length === 0
              ? 'names a connection, but connections is empty'
              : 'is not a connection',
          value: c,
          choices: connectionNames,
        });
      } else {
        connection = c;
        const connRef = connectionRefs.get(c);
        if (ref && connRef && connRef.backend !== ref.backend) {
          issues.push({
            path: `${path}.connection`,
            message: `names a connection of class ${connRef.name}, but this entry's class is ${ref.name}`,
            value: c,
          });
        }
      }
    }

    const queueOptions: Record<string, unknown> = {};
    const settings: Record<string, unknown> = {};
    for (const key of Object.keys(entry)) {
      if (ENTRY_KEYS.includes(key)) continue;
      let value = entry[key];
      const keyPath = join(path, key);
      if (QUEUE_OPTION_KEYS.includes(key)) {
        if (NUMERIC_OPTION_KEYS.has(key) && typeof value === 'string' && state.paths.has(keyPath)) {
          const n = value.trim() === '' ? Number.NaN : Number(value);
          if (Number.isFinite(n)) value = n;
        }
        if (key === 'readOnlyReason') value = checkReadOnlyReason(value, keyPath, issues);
        queueOptions[key] = value;
        continue;
      }
      const near = [...QUEUE_OPTION_KEYS, ...ENTRY_KEYS].find((k) => k.toLowerCase() === key.toLowerCase());
      if (near !== undefined) {
        issues.push({ path: keyPath, message: `is not an option; did you mean ${near}?`, choices: [near] });
        continue;
      }
      settings[key] = value;
    }

    if (!ref) continue;
    let supports: Supports;
    try {
      supports = defineSupports(ref.backend.supports);
    } catch (err) {
      issues.push({
        path: `${path}.class`,
        message: `backend ${ref.name} has an invalid supports manifest: ${String(err)}`,
      });
      continue;
    }
    // readOnlyReason is already checked (and an empty string normalised) above.
    const { readOnlyReason: _ro, ...checked } = queueOptions;
    issues.push(
      ...validateQueueOptions(
        { ...checked, type: type || 'default' } as unknown as JobQueueOptions,
        supports,
        path,
      ),
    );
    const settingIssues = ref.backend.validateSettings
      ? callValidator(
          () => ref.backend.validateSettings?.(settings, path),
          path,
          "the backend's validateSettings",
        )
      : [];
    issues.push(...settingIssues);
    let finalSettings: Record<string, unknown> = settings;
    if (ref.backend.resolveSettings && settingIssues.length === 0) {
      const r = await callResolver(ref.backend, settings, path, settingsResolver);
      issues.push(...r.issues);
      finalSettings = r.settings;
    }
    resolved.push([type, buildQueueConf(path, ref, connection, queueOptions, finalSettings)]);
  }

  if (issues.length > 0 || state.issues.length > 0) throw fail();

  const jobTypeConf: Record<string, ResolvedQueueConf> = Object.create(null);
  for (const [type, conf] of resolved) jobTypeConf[type] = conf;
  for (const conf of Object.values(connections)) {
    deepFreeze(conf.settings);
    Object.freeze(conf);
  }
  const config: ResolvedConfig = {
    source,
    connections: Object.freeze(connections),
    jobTypeConf: Object.freeze(jobTypeConf) as ResolvedConfig['jobTypeConf'],
    typesExcludedFromDefaultQueue: Object.freeze(typesExcluded),
    jobTypes: Object.freeze(jobTypes),
    readOnlyReason,
    defaultDomain: defaultDomain as string,
    domains: Object.freeze(domains),
    sections: deepFreeze(sections),
  };
  return Object.freeze(config);
}

/** Builds (and freezes) one resolved entry; only called with validated values. */
function buildQueueConf(
  path: string,
  ref: ClassRef,
  connection: string | null,
  options: Record<string, unknown>,
  settings: Record<string, unknown>,
): ResolvedQueueConf {
  const conf: Mutable<ResolvedQueueConf> = {
    path,
    class: ref.name,
    backend: ref.backend,
    connection,
    settings: deepFreeze(settings),
  };
  const num = (k: string) => options[k] as number;
  if (options.claimTTL !== undefined) conf.claimTTL = num('claimTTL');
  if (options.maxTries !== undefined) conf.maxTries = num('maxTries');
  if (options.order !== undefined) conf.order = options.order as Order;
  if (options.abandonedTTL !== undefined) conf.abandonedTTL = num('abandonedTTL');
  if (options.rootJobTTL !== undefined) conf.rootJobTTL = num('rootJobTTL');
  if (options.maintenanceInterval !== undefined) {
    conf.maintenanceInterval = options.maintenanceInterval as number | null;
  }
  if (options.readOnlyReason !== undefined) conf.readOnlyReason = options.readOnlyReason as string | null;
  return Object.freeze(conf);
}

// ================================================================ checks

function checkReadOnlyReason(value: unknown, path: string, issues: Issue[]): string | null {
  if (value === undefined || value === null || value === '') return null;
  if (typeof value !== 'string') {
    issues.push({ path, message: 'must be a string (the reason) or null', value });
    return null;
  }
  return value;
}

/** A list of non-empty strings (null or absent = empty); duplicates collapse. */
function checkNameList(value: unknown, path: string, issues: Issue[]): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) {
    issues.push({ path, message: 'must be a list of names', value });
    return [];
  }
  const out: string[] = [];
  value.forEach((item: unknown, i) => {
    if (typeof item !== 'string' || item.length === 0) {
      issues.push({ path: `${path}[${i}]`, message: 'must be a non-empty string', value: item });
    } else if (!out.includes(item)) out.push(item);
  });
  return out;
}

/** A mapping (null or absent = empty). */
function checkRecord(value: unknown, path: string, issues: Issue[]): Record<string, unknown> {
  if (value === undefined || value === null) return {};
  if (!isPlainObject(value)) {
    issues.push({ path, message: 'must be a mapping of names to entries', value });
    return {};
  }
  return value;
}

/** Runs a backend's validator; a validator that throws or returns garbage is itself an issue. */
function callValidator(run: () => readonly Issue[] | undefined, path: string, what: string): Issue[] {
  try {
    const result = run();
    if (result === undefined) return [];
    if (!Array.isArray(result)) return [{ path, message: `${what} did not return a list of issues` }];
    return [...result];
  } catch (err) {
    return [{ path, message: `${what} threw: ${err instanceof Error ? err.message : String(err)}` }];
  }
}

/** Runs a backend's resolveSettings; a resolver that throws or returns garbage is itself an issue. */
async function callResolver(
  backend: BackendModule,
  settings: Record<string, unknown>,
  path: string,
  resolver: SettingsResolver,
): Promise<{ settings: Record<string, unknown>; issues: Issue[] }> {
  try {
    const r = await backend.resolveSettings?.(settings, path, resolver);
    if (!r || !isPlainObject(r.settings) || !Array.isArray(r.issues)) {
      return { settings, issues: [{ path, message: "the backend's resolveSettings returned no settings" }] };
    }
    return { settings: r.settings, issues: [...r.issues] };
  } catch (err) {
    const detail = err instanceof Error ? err.message : String(err);
    return { settings, issues: [{ path, message: `the backend's resolveSettings threw: ${detail}` }] };
  }
}

/** Re-reports a registry load failure under the config path that named the class. */
function loadIssues(error: unknown, path: string, name: string): Issue[] {
  if (isSwitchyardError(error, ErrorCode.CONFIG_INVALID) && error.issues.length > 0) {
    return error.issues.map((i) => {
      const out: Mutable<Issue> = { path, message: i.message };
      if ('value' in i) out.value = i.value;
      if (i.choices) out.choices = i.choices;
      return out;
    });
  }
  const detail = error instanceof Error ? error.message : String(error);
  return [{ path, message: `backend class could not be loaded: ${detail}`, value: name }];
}

// ================================================================ redaction

/** True when `path` is `base` or below it, for any base in `bases`. */
function isUnder(path: string, bases: ReadonlySet<string>): boolean {
  for (const base of bases) {
    const r = related(path, base);
    if (r === 'same' || r === 'below') return true;
  }
  return false;
}

function related(path: string, other: string): 'same' | 'below' | 'above' | null {
  if (path === other) return 'same';
  if (other === '' || path.startsWith(`${other}.`) || path.startsWith(`${other}[`)) return 'below';
  if (path === '' || other.startsWith(`${path}.`) || other.startsWith(`${path}[`)) return 'above';
  return null;
}

/**
 * Keeps environment values out of an issue: drops `value` when the issue's path is, contains or is
 * inside an interpolated string (naming the variables instead), and scrubs any environment value
 * from the message or value a backend validator may have echoed.
 */
function redact(issue: Issue, state: Interpolation): Issue {
  if (state.paths.size === 0) return issue;
  const vars = new Set<string>();
  for (const [p, names] of state.paths) {
    if (related(issue.path, p) !== null) for (const n of names) vars.add(n);
  }
  const out: Mutable<Issue> = { path: issue.path, message: issue.message };
  if (issue.choices) out.choices = issue.choices;
  let hidden = false;
  if ('value' in issue) {
    if (vars.size > 0 || containsSecret(issue.value, state.secrets)) hidden = true;
    else out.value = issue.value;
  }
  for (const secret of state.secrets) {
    if (secret.length >= MIN_SCRUB_LENGTH) out.message = out.message.split(secret).join('***');
  }
  if (hidden) {
    const from = vars.size > 0 ? `from ${[...vars].map((v) => `\${${v}}`).join(', ')} ` : '';
    out.message = `${out.message} (value ${from}not shown)`;
  }
  return out;
}

function containsSecret(value: unknown, secrets: ReadonlySet<string>): boolean {
  if (secrets.size === 0) return false;
  let text: string;
  try {
    text = typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value));
  } catch {
    return true; // cannot tell: err on the side of not showing it
  }
  for (const s of secrets) if (s.length > 0 && text.includes(s)) return true;
  return false;
}

// ================================================================ helpers

function join(path: string, key: string): string {
  if (key === '') return `${path}[""]`;
  return path === '' ? key : `${path}.${key}`;
}

/** Freezes plain objects and arrays recursively; host objects (class instances) are left alone. */
function deepFreeze<T>(value: T): T {
  if (Array.isArray(value) || isPlainObject(value)) {
    if (Object.isFrozen(value)) return value;
    Object.freeze(value);
    for (const v of Object.values(value as object)) deepFreeze(v);
  }
  return value;
}

function withCause(error: SwitchyardError, cause: unknown): SwitchyardError {
  return new SwitchyardError(error.code, error.message, { issues: error.issues, cause });
}
