/**
 * `resolveConfig()`: a raw config (parsed file or an object built in code) interpolated, validated
 * all at once and returned deeply frozen. It runs in phases, each reporting into one issue list:
 * the top-level keys and owned sections, the scalars and name lists, loading every named backend
 * class once, the shared connections, then each `jobTypeConf` entry.
 */
import type { BackendModule, BackendSettings, SettingsResolver } from '../backend.js';
import { isPlainObject } from '../checks.js';
import type { ResolvedConfig, ResolvedConnectionConf, ResolvedQueueConf } from '../config-types.js';
import { configInvalid, type Issue } from '../errors.js';
import { type ConfiguredQueueOptions, type JobQueueOptions, validateQueueOptions } from '../queue-options.js';
import { defineSupports, type Supports } from '../supports.js';
import { type Interpolation, interpolateTree, isUnder, redact } from './interpolate.js';
import {
  type BackendRegistryLike,
  CONFIG_KEYS,
  DEFAULT_JOB_TYPE_CONF,
  ENTRY_KEYS,
  isBackendModule,
  NUMERIC_OPTION_KEYS,
  QUEUE_OPTION_KEYS,
  type ResolveConfigOptions,
  type SectionValidator,
} from './types.js';
import {
  callResolver,
  callValidator,
  checkNameList,
  checkReadOnlyReason,
  checkRecord,
  deepFreeze,
  join,
  loadIssues,
} from './util.js';

type Loaded =
  | { readonly ok: true; readonly backend: BackendModule }
  | { readonly ok: false; readonly error: unknown };

/** A resolved `class`: its name for messages and the module. */
interface ClassRef {
  readonly name: string;
  readonly backend: BackendModule;
}

/** A `jobTypeConf` entry to resolve: type, raw entry, and whether it is the implicit default. */
type RawEntry = readonly [type: string, entry: unknown, implicit: boolean];

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

  const sections = resolveSections(tree, options.sections ?? {}, issues);
  const top = resolveTopLevel(tree, issues);
  const rawConnections = checkRecord(tree.connections, 'connections', issues);
  const rawJobTypeConf = checkRecord(tree.jobTypeConf, 'jobTypeConf', issues);
  const entries: RawEntry[] = [];
  if (!Object.hasOwn(rawJobTypeConf, 'default')) entries.push(['default', DEFAULT_JOB_TYPE_CONF, true]);
  for (const type of Object.keys(rawJobTypeConf)) entries.push([type, rawJobTypeConf[type], false]);

  const classes = await ClassResolver.load(registry, [
    ...Object.values(rawConnections),
    ...entries.map(([, entry]) => entry),
  ]);
  const { connections, refs } = resolveConnections(rawConnections, classes, issues);
  const settingsResolver: SettingsResolver = {
    backendNames: classes.registered,
    loadBackend: (name) => registry.load(name),
    connectionClass: (name) => {
      const c = Object.hasOwn(rawConnections, name) ? rawConnections[name] : undefined;
      return isPlainObject(c) && typeof c.class === 'string' ? c.class : null;
    },
    connectionNames: Object.keys(rawConnections),
  };
  const resolved: Array<[string, ResolvedQueueConf]> = [];
  for (const raw of entries) {
    const conf = await resolveEntry(raw, { rawConnections, refs, classes, settingsResolver, state, issues });
    if (conf !== null) resolved.push([raw[0], conf]);
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
    typesExcludedFromDefaultQueue: Object.freeze(top.typesExcluded),
    jobTypes: Object.freeze(top.jobTypes),
    readOnlyReason: top.readOnlyReason,
    defaultDomain: top.defaultDomain,
    domains: Object.freeze(top.domains),
    sections: deepFreeze(sections),
  };
  return Object.freeze(config);
}

/** Top-level keys: core keys pass, owned sections are validated by their owners, the rest are issues. */
function resolveSections(
  tree: Record<string, unknown>,
  validators: Readonly<Record<string, SectionValidator>>,
  issues: Issue[],
): Record<string, unknown> {
  const knownKeys = [...CONFIG_KEYS, ...Object.keys(validators).filter((k) => !CONFIG_KEYS.includes(k))];
  const sections: Record<string, unknown> = Object.create(null);
  for (const key of Object.keys(tree)) {
    if (key === '$schema') continue;
    const validate = Object.hasOwn(validators, key) ? validators[key] : undefined;
    if (validate !== undefined && !CONFIG_KEYS.includes(key)) {
      sections[key] = tree[key];
      issues.push(...callValidator(() => validate(tree[key], key), key, `the ${key} section validator`));
    } else if (!CONFIG_KEYS.includes(key)) {
      issues.push({ path: key, message: 'is not a config key', choices: knownKeys });
    }
  }
  return sections;
}

interface TopLevel {
  readonly readOnlyReason: string | null;
  readonly defaultDomain: string;
  readonly domains: string[];
  readonly typesExcluded: string[];
  readonly jobTypes: string[];
}

/** The scalars and name lists at the top level. */
function resolveTopLevel(tree: Record<string, unknown>, issues: Issue[]): TopLevel {
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
  return { readOnlyReason, defaultDomain: defaultDomain as string, domains, typesExcluded, jobTypes };
}

/** Every backend class the config names, loaded once and in parallel; `classOf` judges one `class` value. */
class ClassResolver {
  readonly registered: string[];
  readonly #loaded: ReadonlyMap<string, Loaded>;

  private constructor(registered: string[], loaded: ReadonlyMap<string, Loaded>) {
    this.registered = registered;
    this.#loaded = loaded;
  }

  static async load(registry: BackendRegistryLike, rawEntries: readonly unknown[]): Promise<ClassResolver> {
    const registered = [...registry.names()].sort();
    const wanted = new Set<string>();
    for (const entry of rawEntries) {
      if (isPlainObject(entry) && typeof entry.class === 'string' && registered.includes(entry.class)) {
        wanted.add(entry.class);
      }
    }
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
    return new ClassResolver(registered, loaded);
  }

  classOf(value: unknown, path: string, implicit: boolean, issues: Issue[]): ClassRef | null {
    const registered = this.registered;
    if (isBackendModule(value)) return { name: '(inline)', backend: value };
    if (value === undefined) {
      issues.push({ path, message: 'is required (a backend class name)', choices: registered });
      return null;
    }
    if (typeof value !== 'string' || value.length === 0) {
      issues.push({ path, message: 'must be a backend class name', value, choices: registered });
      return null;
    }
    const result = this.#loaded.get(value);
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
  }
}

/** The `connections` section: each named connection's class (one that can open connections) and settings. */
function resolveConnections(
  rawConnections: Record<string, unknown>,
  classes: ClassResolver,
  issues: Issue[],
): { connections: Record<string, ResolvedConnectionConf>; refs: Map<string, ClassRef | null> } {
  const connections: Record<string, ResolvedConnectionConf> = Object.create(null);
  const refs = new Map<string, ClassRef | null>();
  for (const name of Object.keys(rawConnections)) {
    const path = join('connections', name);
    const entry = rawConnections[name];
    if (name.length === 0) issues.push({ path, message: 'connection names must be non-empty' });
    if (!isPlainObject(entry)) {
      issues.push({ path, message: 'must be a mapping with a class and its settings', value: entry });
      refs.set(name, null);
      continue;
    }
    const { class: cls, ...settings } = entry;
    const ref = classes.classOf(cls, `${path}.class`, false, issues);
    refs.set(name, ref);
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
  return { connections, refs };
}

interface EntryContext {
  readonly rawConnections: Record<string, unknown>;
  readonly refs: ReadonlyMap<string, ClassRef | null>;
  readonly classes: ClassResolver;
  readonly settingsResolver: SettingsResolver;
  readonly state: Interpolation;
  readonly issues: Issue[];
}

/** One `jobTypeConf` entry: class, connection, queue options and backend settings; null when invalid. */
async function resolveEntry(
  [type, entry, implicit]: RawEntry,
  cx: EntryContext,
): Promise<ResolvedQueueConf | null> {
  const { issues } = cx;
  const path = join('jobTypeConf', type);
  if (type.length === 0) issues.push({ path, message: 'job type names must be non-empty' });
  if (!isPlainObject(entry)) {
    issues.push({ path, message: 'must be a mapping with a class and options', value: entry });
    return null;
  }
  const ref = cx.classes.classOf(entry.class, `${path}.class`, implicit, issues);
  const connection = resolveEntryConnection(entry.connection, path, ref, cx);
  const { queueOptions, settings } = splitEntry(entry, path, cx);

  if (!ref) return null;
  let supports: Supports;
  try {
    supports = defineSupports(ref.backend.supports);
  } catch (err) {
    issues.push({
      path: `${path}.class`,
      message: `backend ${ref.name} has an invalid supports manifest: ${String(err)}`,
    });
    return null;
  }
  // readOnlyReason is already checked (and an empty string normalised) by splitEntry.
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
  if (connection !== null) {
    for (const key of ref.backend.connectionKeys ?? []) {
      if (settings[key] === undefined) continue;
      issues.push({
        path: join(path, key),
        message: `belongs on the connection entry (connections.${connection}), not next to connection`,
      });
    }
  }
  let finalSettings: Record<string, unknown> = settings;
  if (ref.backend.resolveSettings && settingIssues.length === 0) {
    const r = await callResolver(ref.backend, settings, path, cx.settingsResolver);
    issues.push(...r.issues);
    finalSettings = r.settings;
  }
  return buildQueueConf(path, ref, connection, queueOptions, finalSettings);
}

/** An entry's `connection`: a name among `connections`, of the entry's own class. */
function resolveEntryConnection(
  value: unknown,
  path: string,
  ref: ClassRef | null,
  cx: EntryContext,
): string | null {
  if (value === undefined || value === null) return null;
  const names = Object.keys(cx.rawConnections);
  if (typeof value !== 'string' || !Object.hasOwn(cx.rawConnections, value)) {
    cx.issues.push({
      path: `${path}.connection`,
      message: names.length === 0 ? 'names a connection, but connections is empty' : 'is not a connection',
      value,
      choices: names,
    });
    return null;
  }
  const connRef = cx.refs.get(value);
  if (ref && connRef && connRef.backend !== ref.backend) {
    cx.issues.push({
      path: `${path}.connection`,
      message: `names a connection of class ${connRef.name}, but this entry's class is ${ref.name}`,
      value,
    });
  }
  return value;
}

/** Splits an entry's keys into queue options (numeric strings from `${ENV}` made numbers) and backend settings. */
function splitEntry(
  entry: Record<string, unknown>,
  path: string,
  cx: EntryContext,
): { queueOptions: Record<string, unknown>; settings: Record<string, unknown> } {
  const queueOptions: Record<string, unknown> = {};
  const settings: Record<string, unknown> = {};
  for (const key of Object.keys(entry)) {
    if (ENTRY_KEYS.includes(key)) continue;
    let value = entry[key];
    const keyPath = join(path, key);
    if (QUEUE_OPTION_KEYS.includes(key)) {
      if (NUMERIC_OPTION_KEYS.has(key) && typeof value === 'string' && cx.state.paths.has(keyPath)) {
        const n = value.trim() === '' ? Number.NaN : Number(value);
        if (Number.isFinite(n)) value = n;
      }
      if (key === 'readOnlyReason') value = checkReadOnlyReason(value, keyPath, cx.issues);
      queueOptions[key] = value;
      continue;
    }
    const near = [...QUEUE_OPTION_KEYS, ...ENTRY_KEYS].find((k) => k.toLowerCase() === key.toLowerCase());
    if (near !== undefined) {
      cx.issues.push({ path: keyPath, message: `is not an option; did you mean ${near}?`, choices: [near] });
      continue;
    }
    settings[key] = value;
  }
  return { queueOptions, settings };
}

/** Builds (and freezes) one resolved entry; only called with validated values. */
function buildQueueConf(
  path: string,
  ref: ClassRef,
  connection: string | null,
  options: Record<string, unknown>,
  settings: Record<string, unknown>,
): ResolvedQueueConf {
  return Object.freeze({
    path,
    class: ref.name,
    backend: ref.backend,
    connection,
    queue: Object.freeze(
      Object.fromEntries(
        Object.entries(options).filter(([, v]) => v !== undefined),
      ) as ConfiguredQueueOptions,
    ),
    settings: deepFreeze(settings),
  });
}
