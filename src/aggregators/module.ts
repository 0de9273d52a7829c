/**
 * The seam between the config and an aggregator class: what the registry loads for a class name
 * (`memory`, `redis`, `sql`, or a host-registered one), what it hands the class to build one, and
 * the `aggregator` config section's validator. No driver is imported here: the section is
 * validated synchronously when the config loads, before any aggregator module is.
 *
 * ```yaml
 * connections:
 *   cache: { class: redis, url: "redis://127.0.0.1:6379" }
 * aggregator:
 *   class: redis          # memory | redis | sql | a registered name
 *   connection: cache     # reuse a named connection (its client / knex pool)
 *   cacheTTL: 300         # seconds a rebuilt map is trusted; null = forever
 *   prefix: "swy:aggregator"
 * ```
 *
 * @packageDocumentation
 */
import type { JobQueueAggregator } from '../core/aggregator.js';
import type { BackendConnection, BackendSettings } from '../core/backend.js';
import { isRecord } from '../core/checks.js';
import type { Clock } from '../core/clock.js';
import type { ResolvedConnectionConf } from '../core/config-types.js';
import type { Issue } from '../core/errors.js';

/** The `aggregator` section after validation. */
export interface AggregatorSection {
  /** The aggregator class name. */
  readonly class: string;
  /** A named connection to reuse, or absent. */
  readonly connection?: string;
  /** Seconds a rebuilt map is trusted, or null (never expires); absent = the class default. */
  readonly cacheTTL?: number | null;
  /** Everything else: class-specific settings. */
  readonly [setting: string]: unknown;
}

/** What an aggregator class gets to build one aggregator. */
export interface AggregatorContext {
  /** Class-specific settings (the section minus `class`, `connection` and `cacheTTL`), validated. */
  readonly settings: BackendSettings;
  /** Seconds a rebuilt map is trusted, null for never, undefined for the class default. */
  readonly cacheTTL: number | null | undefined;
  /** The clock of the farm the aggregator serves (marks and expiry use it). */
  readonly clock: Clock | undefined;
  /**
   * The named connection, opened and lent by a farm's pool (never closed by the aggregator), or
   * null when the section names none or no pool was given.
   */
  readonly connection: BackendConnection | null;
  /** The named connection's config entry (class and settings), to open a private one; or null. */
  readonly connectionConf: ResolvedConnectionConf | null;
  /** Config path of the section, for messages (`aggregator`). */
  readonly path: string;
}

/** An aggregator class as the registry knows it. Export one and register it with `registerAggregator`. */
export interface AggregatorModule {
  /** The class name, for messages (the registry name is used when absent). */
  readonly name?: string;
  /** Checks class-specific settings; `path` prefixes each issue. */
  validateSettings?(settings: BackendSettings, path: string): Issue[];
  /**
   * Builds one aggregator. Must not do I/O before its first call.
   *
   * @throws `SWITCHYARD_CONFIG_INVALID` for a connection of the wrong class or missing settings.
   */
  create(context: AggregatorContext): JobQueueAggregator;
}

/** Keys of the section every class shares. */
export const AGGREGATOR_SECTION_KEYS: readonly string[] = Object.freeze(['class', 'connection', 'cacheTTL']);

/** Valid aggregator class names. */
export const AGGREGATOR_NAME_PATTERN: RegExp = /^[a-z][a-z0-9_-]*$/;

/** `cacheTTL` as a number or null; numeric strings (from `${ENV}`) are accepted. Undefined when invalid. */
export function parseCacheTTL(value: unknown): number | null | undefined {
  if (value === null) return null;
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  return typeof n === 'number' && Number.isFinite(n) && n > 0 ? n : undefined;
}

/**
 * Checks an `aggregator` section: the shared keys, the class name against `names`, and the class's
 * own settings through `validatorOf(class)` (when the class has one).
 */
export function validateAggregatorSectionWith(
  value: unknown,
  path: string,
  names: readonly string[],
  validatorOf: (name: string) => AggregatorModule['validateSettings'] | undefined,
): Issue[] {
  if (!isRecord(value)) {
    return [{ path, message: 'must be a mapping with a class', value, choices: [...names] }];
  }
  const issues: Issue[] = [];
  const cls = value.class;
  if (typeof cls !== 'string' || !names.includes(cls)) {
    issues.push({
      path: `${path}.class`,
      message: cls === undefined ? 'is required' : 'is not a registered aggregator class',
      ...(cls === undefined ? {} : { value: cls }),
      choices: [...names],
    });
  }
  const connection = value.connection;
  if (connection !== undefined && (typeof connection !== 'string' || connection.length === 0)) {
    issues.push({
      path: `${path}.connection`,
      message: 'must be the name of a connection',
      value: connection,
    });
  }
  if (value.cacheTTL !== undefined && parseCacheTTL(value.cacheTTL) === undefined) {
    issues.push({
      path: `${path}.cacheTTL`,
      message: 'must be a number of seconds > 0, or null (never expires)',
      value: value.cacheTTL,
    });
  }
  if (typeof cls === 'string' && names.includes(cls)) {
    const validate = validatorOf(cls);
    if (validate) issues.push(...validate(sectionSettings(value), path));
  }
  return issues;
}

/** The class-specific settings of a section (everything but the shared keys). */
export function sectionSettings(section: Readonly<Record<string, unknown>>): BackendSettings {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(section)) if (!AGGREGATOR_SECTION_KEYS.includes(k)) out[k] = v;
  return out;
}

// ---------------------------------------------------------------- built-in settings validators

function unknownKeys(settings: BackendSettings, path: string, keys: readonly string[], cls: string): Issue[] {
  return Object.keys(settings)
    .filter((k) => !keys.includes(k))
    .map((k) => ({ path: `${path}.${k}`, message: `is not a ${cls} aggregator setting`, choices: keys }));
}

/** Settings of the memory aggregator: `store` (share state by name in one process). */
export function validateMemoryAggregatorSettings(settings: BackendSettings, path: string): Issue[] {
  const issues = unknownKeys(settings, path, ['store'], 'memory');
  const store = settings.store;
  if (store !== undefined && (typeof store !== 'string' || store.length === 0)) {
    issues.push({ path: `${path}.store`, message: 'must be a non-empty string', value: store });
  }
  return issues;
}

/** Settings of the redis aggregator: `url`, `prefix`, `connectTimeout`. Never echoes a URL. */
export function validateRedisAggregatorSettings(settings: BackendSettings, path: string): Issue[] {
  const issues = unknownKeys(settings, path, ['url', 'prefix', 'connectTimeout'], 'redis');
  const { url, prefix, connectTimeout } = settings;
  if (url !== undefined && (typeof url !== 'string' || !/^rediss?:\/\/./.test(url))) {
    issues.push({ path: `${path}.url`, message: 'must be a redis:// or rediss:// URL' });
  }
  if (prefix !== undefined && (typeof prefix !== 'string' || !/^[^\s{}\p{Cc}]+$/u.test(prefix))) {
    issues.push({
      path: `${path}.prefix`,
      message: 'must be a key prefix without whitespace, braces or control characters',
      value: prefix,
    });
  }
  if (
    connectTimeout !== undefined &&
    !(typeof connectTimeout === 'number' && Number.isFinite(connectTimeout) && connectTimeout > 0)
  ) {
    issues.push({
      path: `${path}.connectTimeout`,
      message: 'must be a number of seconds > 0',
      value: connectTimeout,
    });
  }
  return issues;
}

/** Settings of the sql aggregator: `prefix` (table prefix), `filename` (SQLite, without a connection). */
export function validateSqlAggregatorSettings(settings: BackendSettings, path: string): Issue[] {
  const issues = unknownKeys(settings, path, ['prefix', 'filename'], 'sql');
  const { prefix, filename } = settings;
  if (prefix !== undefined && (typeof prefix !== 'string' || !/^(?:[a-z_][a-z0-9_]{0,31})?$/.test(prefix))) {
    issues.push({
      path: `${path}.prefix`,
      message: 'must be lowercase letters, digits and _ (at most 32, not starting with a digit)',
      value: prefix,
    });
  }
  if (filename !== undefined && (typeof filename !== 'string' || filename.length === 0)) {
    issues.push({ path: `${path}.filename`, message: 'must be a SQLite file name', value: filename });
  }
  return issues;
}
