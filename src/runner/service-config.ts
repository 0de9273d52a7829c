/**
 * The `runners` and `backoffThrottling` config sections (promises §6, §8): validators for
 * `loadConfig({ sections })` and parsers from the validated (interpolated, still textual) section
 * to typed values.
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

import { isRecord } from '../core/checks.js';
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
  /** Per type (or `*`): seconds a job may run before it times out (MediaWiki's claimTTL limit). */
  readonly claimTTL: Readonly<Record<string, number>>;
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

function checkTypeList(value: unknown, path: string, issues: Issue[], allowStar: boolean): void {
  if (value === undefined || value === null) return;
  if (!Array.isArray(value)) {
    issues.push({ path, message: 'must be a list of job types', value });
    return;
  }
  value.forEach((item, i) => {
    if (typeof item !== 'string' || item.length === 0) {
      issues.push({ path: `${path}.${i}`, message: 'must be a non-empty job type', value: item });
    } else if (item === '*' && !allowStar) {
      issues.push({ path: `${path}.${i}`, message: '"*" is only allowed in include', value: item });
    }
  });
}

function checkPerType(
  value: unknown,
  path: string,
  issues: Issue[],
  valid: (n: number) => boolean,
  what: string,
): void {
  if (value === undefined) return;
  if (!isRecord(value)) {
    issues.push({ path, message: `must map job types (or "*") to ${what}`, value });
    return;
  }
  for (const [type, v] of Object.entries(value)) {
    const n = toNumber(v);
    if (n === null || !valid(n))
      issues.push({ path: `${path}.${type}`, message: `must be ${what}`, value: v });
  }
}

/**
 * Validates a `runners` section: a mapping of group name → `{ runners, include, exclude,
 * lowPriority, claimTTL, attempts }`.
 */
export function validateRunnersSection(value: unknown, path: string): Issue[] {
  const issues: Issue[] = [];
  if (!isRecord(value)) {
    return [{ path, message: 'must map runner group names to { runners, include, … }', value }];
  }
  for (const [name, group] of Object.entries(value)) {
    const at = `${path}.${name}`;
    if (!GROUP_NAME.test(name)) {
      issues.push({ path: at, message: 'group names use letters, digits, _ . and -', value: name });
    }
    if (!isRecord(group)) {
      issues.push({
        path: at,
        message: 'must be a mapping { runners, include, exclude, lowPriority }',
        value: group,
      });
      continue;
    }
    for (const key of Object.keys(group)) {
      if (!RUNNER_GROUP_KEYS.includes(key)) {
        issues.push({
          path: `${at}.${key}`,
          message: 'is not a runner group key',
          choices: RUNNER_GROUP_KEYS,
        });
      }
    }
    if (group.runners !== undefined) {
      const n = toNumber(group.runners);
      if (n === null || !Number.isInteger(n) || n < 0) {
        issues.push({ path: `${at}.runners`, message: 'must be an integer ≥ 0', value: group.runners });
      }
    }
    if (group.concurrency !== undefined) {
      const n = toNumber(group.concurrency);
      if (n === null || !Number.isInteger(n) || n < 1) {
        issues.push({
          path: `${at}.concurrency`,
          message: 'must be an integer ≥ 1',
          value: group.concurrency,
        });
      }
    }
    checkTypeList(group.include, `${at}.include`, issues, true);
    checkTypeList(group.exclude, `${at}.exclude`, issues, false);
    checkTypeList(group.lowPriority, `${at}.lowPriority`, issues, false);
    checkPerType(group.claimTTL, `${at}.claimTTL`, issues, (n) => n > 0, 'seconds > 0');
    checkPerType(
      group.attempts,
      `${at}.attempts`,
      issues,
      (n) => Number.isInteger(n) && n >= 1,
      'an integer ≥ 1',
    );
  }
  return issues;
}

/** Validates a `backoffThrottling` section: job type → work items per second (> 0). */
export function validateBackoffThrottlingSection(value: unknown, path: string): Issue[] {
  if (!isRecord(value)) {
    return [{ path, message: 'must map job types to work items per second', value }];
  }
  const issues: Issue[] = [];
  for (const [type, rate] of Object.entries(value)) {
    const n = toNumber(rate);
    if (n === null || n <= 0) {
      issues.push({ path: `${path}.${type}`, message: 'must be work items per second > 0', value: rate });
    }
  }
  return issues;
}

function list(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

function perType(value: unknown): Record<string, number> {
  const out: Record<string, number> = {};
  if (!isRecord(value)) return out;
  for (const [type, v] of Object.entries(value)) {
    const n = toNumber(v);
    if (n !== null) out[type] = n;
  }
  return out;
}

/**
 * The runner groups of a validated `runners` section (see {@link validateRunnersSection}).
 * Defaults: `runners` 1, `concurrency` 1, `include` `['*']`, the rest empty. Without a section: one group `basic`.
 */
export function parseRunnersSection(value: unknown): RunnerGroupConf[] {
  if (!isRecord(value)) {
    return [
      {
        name: 'basic',
        runners: 1,
        concurrency: 1,
        include: ['*'],
        exclude: [],
        lowPriority: [],
        claimTTL: {},
        attempts: {},
      },
    ];
  }
  return Object.entries(value).map(([name, raw]) => {
    const g = isRecord(raw) ? raw : {};
    const runners = toNumber(g.runners);
    const concurrency = toNumber(g.concurrency);
    return {
      name,
      runners: runners === null ? 1 : runners,
      concurrency: concurrency === null ? 1 : concurrency,
      include: g.include === undefined || g.include === null ? ['*'] : list(g.include),
      exclude: list(g.exclude),
      lowPriority: list(g.lowPriority),
      claimTTL: perType(g.claimTTL),
      attempts: perType(g.attempts),
    };
  });
}

/** Type → work items/s of a validated `backoffThrottling` section (empty without one). */
export function parseBackoffThrottlingSection(value: unknown): Record<string, number> {
  return perType(value);
}
