/**
 * The `runners` and `backoffThrottling` config sections (promises §6, §8): one parser each, from
 * the section as written (interpolated, still textual) to typed values and issues in one walk;
 * the validators `loadConfig({ sections })` runs and the lenient readers are views of it.
 *
 * ```yaml
 * runners:
 *   basic: { runners: 4, include: ['*'], exclude: [gwtJob], lowPriority: [htmlCacheUpdate] }
 *   gwt: { runners: 1, include: [gwtJob], claimTTL: { gwtJob: 86400 }, attempts: { '*': 2 } }
 * backoffThrottling:
 *   htmlCacheUpdate: 50   # work items per second, shared by the runners of a host
 * ```
 *
 * @packageDocumentation
 */

import { isRecord, parsedOnce, type SectionParser } from '../core/checks.js';
import type { Issue } from '../core/errors.js';

/** One runner group after parsing. */
export interface RunnerGroupConf {
  /** The group's name (its key under `runners`). */
  readonly name: string;
  /** Runner slots: jobs of this group run at once. */
  readonly runners: number;
  /** Jobs one slot runs at once, popped and acked in batches of that size. Default 1. */
  readonly concurrency: number;
  /** Types the group runs; `*` = every type not in `typesExcludedFromDefaultQueue`. */
  readonly include: readonly string[];
  /** Types the group never runs (wins over `include`). */
  readonly exclude: readonly string[];
  /** Included types that only get the low-priority share of the group's time. */
  readonly lowPriority: readonly string[];
  /**
   * Per type (or `*`): seconds a job's handler may run before it times out (its signal aborts and
   * the run fails). The config key is `claimTTL`, MediaWiki jobrunner's name; it is no claim lease.
   */
  readonly timeout: Readonly<Record<string, number>>;
  /** Per type (or `*`): attempts after which a failure is dropped instead of retried. */
  readonly attempts: Readonly<Record<string, number>>;
}

/** Keys of a runner group entry. */
export const RUNNER_GROUP_KEYS: readonly string[] = Object.freeze([
  'runners',
  'concurrency',
  'include',
  'exclude',
  'lowPriority',
  'claimTTL',
  'attempts',
]);

const GROUP_NAME = /^[A-Za-z0-9_.-]+$/;

/** A number, or a string that reads as one (values from `${ENV}` stay strings until parsed). */
function toNumber(value: unknown): number | null {
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  if (typeof value === 'string' && value.trim() !== '') {
    const n = Number(value);
    return Number.isFinite(n) ? n : null;
  }
  return null;
}

/** The group of a config without a `runners` section (or with one that is not a mapping). */
function basicGroup(): RunnerGroupConf {
  return Object.freeze({
    name: 'basic',
    runners: 1,
    concurrency: 1,
    include: Object.freeze(['*']),
    exclude: Object.freeze([]),
    lowPriority: Object.freeze([]),
    timeout: Object.freeze({}),
    attempts: Object.freeze({}),
  });
}

/**
 * The job types of a list (non-strings left out), with an issue for each bad entry.
 * `null` and absent are no list.
 */
function typeList(value: unknown, path: string, issues: Issue[], allowStar: boolean): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) {
    issues.push({ path, message: 'must be a list of job types', value });
    return [];
  }
  value.forEach((item, i) => {
    if (typeof item !== 'string' || item.length === 0) {
      issues.push({ path: `${path}.${i}`, message: 'must be a non-empty job type', value: item });
    } else if (item === '*' && !allowStar) {
      issues.push({ path: `${path}.${i}`, message: '"*" is only allowed in include', value: item });
    }
  });
  return value.filter((v): v is string => typeof v === 'string');
}

/**
 * Type (or `*`) → number of a per-type mapping (entries that do not read as numbers left out),
 * with an issue for each entry that is not `what`.
 */
function perTypeOf(
  value: unknown,
  path: string,
  issues: Issue[],
  valid: (n: number) => boolean,
  what: string,
): Record<string, number> {
  const out: Record<string, number> = {};
  if (value === undefined) return out;
  if (!isRecord(value)) {
    issues.push({ path, message: `must map job types (or "*") to ${what}`, value });
    return out;
  }
  for (const [type, v] of Object.entries(value)) {
    const n = toNumber(v);
    if (n === null || !valid(n))
      issues.push({ path: `${path}.${type}`, message: `must be ${what}`, value: v });
    if (n !== null) out[type] = n;
  }
  return out;
}

/** A count setting of a group: its number (null when it does not read as one) and its issue. */
function countOf(value: unknown, path: string, issues: Issue[], min: number): number | null {
  if (value === undefined) return null;
  const n = toNumber(value);
  if (n === null || !Number.isInteger(n) || n < min) {
    issues.push({ path, message: `must be an integer ≥ ${min}`, value });
  }
  return n;
}

/**
 * The one parser of a `runners` section (a mapping of group name → `{ runners, concurrency,
 * include, exclude, lowPriority, claimTTL, attempts }`): the runner groups and every issue, in one
 * walk. Defaults: `runners` 1, `concurrency` 1, `include` `['*']`, the rest empty; a value that is
 * not a mapping is an issue and yields the one group `basic`. `claimTTL` is MediaWiki jobrunner's
 * name for the per-type handler timeout: it is parsed into {@link RunnerGroupConf.timeout}.
 *
 * A frozen section (a loaded config's) is parsed once: `loadConfig` reports the issues and
 * `RunnerService` gets the same groups.
 */
export const readRunnersSection: SectionParser<readonly RunnerGroupConf[]> = parsedOnce((value, path) => {
  if (!isRecord(value)) {
    return {
      value: Object.freeze([basicGroup()]),
      issues: [{ path, message: 'must map runner group names to { runners, include, … }', value }],
    };
  }
  const issues: Issue[] = [];
  const groups = Object.entries(value).map(([name, raw]): RunnerGroupConf => {
    const at = `${path}.${name}`;
    if (!GROUP_NAME.test(name)) {
      issues.push({ path: at, message: 'group names use letters, digits, _ . and -', value: name });
    }
    if (!isRecord(raw)) {
      issues.push({
        path: at,
        message: 'must be a mapping { runners, include, exclude, lowPriority }',
        value: raw,
      });
    }
    const group = isRecord(raw) ? raw : {};
    for (const key of Object.keys(group)) {
      if (!RUNNER_GROUP_KEYS.includes(key)) {
        issues.push({
          path: `${at}.${key}`,
          message: 'is not a runner group key',
          choices: RUNNER_GROUP_KEYS,
        });
      }
    }
    const runners = countOf(group.runners, `${at}.runners`, issues, 0);
    const concurrency = countOf(group.concurrency, `${at}.concurrency`, issues, 1);
    const include = typeList(group.include, `${at}.include`, issues, true);
    const exclude = typeList(group.exclude, `${at}.exclude`, issues, false);
    const lowPriority = typeList(group.lowPriority, `${at}.lowPriority`, issues, false);
    const timeout = perTypeOf(group.claimTTL, `${at}.claimTTL`, issues, (n) => n > 0, 'seconds > 0');
    const attempts = perTypeOf(
      group.attempts,
      `${at}.attempts`,
      issues,
      (n) => Number.isInteger(n) && n >= 1,
      'an integer ≥ 1',
    );
    return Object.freeze({
      name,
      runners: runners ?? 1,
      concurrency: concurrency ?? 1,
      include: Object.freeze(group.include === undefined || group.include === null ? ['*'] : include),
      exclude: Object.freeze(exclude),
      lowPriority: Object.freeze(lowPriority),
      timeout: Object.freeze(timeout),
      attempts: Object.freeze(attempts),
    });
  });
  return { value: Object.freeze(groups), issues };
});

/** The issues of a `runners` section (see {@link readRunnersSection}); in `CONFIG_SECTIONS`. */
export function validateRunnersSection(value: unknown, path: string): Issue[] {
  return [...readRunnersSection(value, path).issues];
}

/**
 * The runner groups of a `runners` section (see {@link readRunnersSection}); without a section,
 * one group `basic`. Lenient: what does not parse takes the default (the issues are
 * {@link validateRunnersSection}'s, reported by `loadConfig`).
 */
export function parseRunnersSection(value: unknown): RunnerGroupConf[] {
  return [...readRunnersSection(value, 'runners').value];
}

/**
 * The one parser of a `backoffThrottling` section (job type → work items per second, > 0): the
 * rates and every issue. Entries that do not read as numbers are left out.
 */
export const readBackoffThrottlingSection: SectionParser<Readonly<Record<string, number>>> = parsedOnce(
  (value, path) => {
    if (!isRecord(value)) {
      return {
        value: Object.freeze({}),
        issues: [{ path, message: 'must map job types to work items per second', value }],
      };
    }
    const issues: Issue[] = [];
    const rates: Record<string, number> = {};
    for (const [type, rate] of Object.entries(value)) {
      const n = toNumber(rate);
      if (n === null || n <= 0) {
        issues.push({ path: `${path}.${type}`, message: 'must be work items per second > 0', value: rate });
      }
      if (n !== null) rates[type] = n;
    }
    return { value: Object.freeze(rates), issues };
  },
);

/** The issues of a `backoffThrottling` section (see {@link readBackoffThrottlingSection}). */
export function validateBackoffThrottlingSection(value: unknown, path: string): Issue[] {
  return [...readBackoffThrottlingSection(value, path).issues];
}

/** Type → work items/s of a `backoffThrottling` section (empty without one). */
export function parseBackoffThrottlingSection(value: unknown): Record<string, number> {
  return { ...readBackoffThrottlingSection(value, 'backoffThrottling').value };
}
