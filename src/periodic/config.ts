/**
 * The `periodic` config section: cron-style jobs (Wikidata's periodic jobs, the peers' repeatable
 * jobs), one entry per schedule name.
 *
 * ```yaml
 * periodic:
 *   purgeOldRevisions:            # the schedule's name (its key in the store)
 *     type: purgeOldRevisions     # the job type pushed
 *     cron: '0 3 * * *'           # 5 fields, or 6 with seconds first
 *     timezone: Europe/Berlin     # IANA zone; default UTC
 *     domain: enwiki              # default: the config's defaultDomain
 *     params: { days: 30 }        # the job's params; default {}
 *     missed: skip                # ticks missed while no scheduler ran: skip (default) | once
 * ```
 *
 * @packageDocumentation
 */
import { Cron } from 'croner';
import { isPlainObject, isRecord } from '../core/checks.js';
import type { Issue } from '../core/errors.js';
import type { JsonObject } from '../core/job.js';
import { MAX_PERIODIC_NAME } from '../core/job-queue.js';

/** What to do with ticks that fell due while no scheduler was running. */
export type MissedTicks = 'skip' | 'once';

/** One schedule after parsing. */
export interface PeriodicEntry {
  /** The schedule's name (its key under `periodic`, and its key in the store). */
  readonly name: string;
  readonly type: string;
  readonly cron: string;
  /** IANA time zone the cron expression is read in. */
  readonly timezone: string;
  /** The domain the job goes to; null = the config's default domain. */
  readonly domain: string | null;
  readonly params: JsonObject;
  readonly missed: MissedTicks;
}

const ENTRY_KEYS: readonly string[] = Object.freeze([
  'type',
  'cron',
  'timezone',
  'domain',
  'params',
  'missed',
]);
const MISSED: readonly MissedTicks[] = Object.freeze(['skip', 'once']);
const NAME = /^[A-Za-z0-9_.-]+$/;

/** Null when `cron` parses in `timezone`, else the parser's complaint. */
function cronProblem(cron: string, timezone: string): { field: 'cron' | 'timezone'; message: string } | null {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: timezone });
  } catch {
    return { field: 'timezone', message: 'is not an IANA time zone (e.g. UTC, Europe/Berlin)' };
  }
  try {
    const next = new Cron(cron, { timezone, paused: true }).nextRun();
    if (next === null) return { field: 'cron', message: 'never fires' };
  } catch (err) {
    return { field: 'cron', message: `is not a cron expression: ${(err as Error).message}` };
  }
  return null;
}

/** The `periodic` section's validator (for `loadConfig({ sections })`). */
export function validatePeriodicSection(value: unknown, path: string): Issue[] {
  if (!isRecord(value)) return [{ path, message: 'must map schedule names to { type, cron, … }', value }];
  const issues: Issue[] = [];
  for (const [name, entry] of Object.entries(value)) {
    const at = `${path}.${name}`;
    if (!NAME.test(name) || name.length > MAX_PERIODIC_NAME) {
      issues.push({
        path: at,
        message: `schedule names are 1–${MAX_PERIODIC_NAME} letters, digits, _ . and -`,
        value: name,
      });
    }
    if (!isRecord(entry)) {
      issues.push({
        path: at,
        message: 'must be a mapping { type, cron, timezone?, domain?, params?, missed? }',
      });
      continue;
    }
    for (const key of Object.keys(entry)) {
      if (!ENTRY_KEYS.includes(key)) {
        issues.push({ path: `${at}.${key}`, message: 'is not a periodic entry key', choices: ENTRY_KEYS });
      }
    }
    if (typeof entry.type !== 'string' || entry.type === '') {
      issues.push({ path: `${at}.type`, message: 'is required: the job type to push', value: entry.type });
    }
    if (entry.domain !== undefined && (typeof entry.domain !== 'string' || entry.domain === '')) {
      issues.push({ path: `${at}.domain`, message: 'must be a non-empty string', value: entry.domain });
    }
    if (entry.params !== undefined && !isPlainObject(entry.params)) {
      issues.push({
        path: `${at}.params`,
        message: 'must be a mapping (the job params)',
        value: entry.params,
      });
    }
    if (entry.missed !== undefined && !MISSED.includes(entry.missed as MissedTicks)) {
      issues.push({
        path: `${at}.missed`,
        message: 'must be skip or once',
        value: entry.missed,
        choices: MISSED,
      });
    }
    const timezone = entry.timezone ?? 'UTC';
    if (typeof timezone !== 'string') {
      issues.push({ path: `${at}.timezone`, message: 'must be an IANA time zone name', value: timezone });
    } else if (typeof entry.cron !== 'string' || entry.cron.trim() === '') {
      issues.push({ path: `${at}.cron`, message: "is required: a cron expression such as '0 3 * * *'" });
    } else {
      const problem = cronProblem(entry.cron, timezone);
      if (problem !== null) {
        issues.push({
          path: `${at}.${problem.field}`,
          message: problem.message,
          value: problem.field === 'cron' ? entry.cron : timezone,
        });
      }
    }
  }
  return issues;
}

/** The schedules of a validated `periodic` section (absent = none). */
export function parsePeriodicSection(value: unknown): PeriodicEntry[] {
  if (!isRecord(value)) return [];
  return Object.entries(value).map(([name, raw]) => {
    const e = raw as Record<string, unknown>;
    return Object.freeze({
      name,
      type: String(e.type),
      cron: String(e.cron),
      timezone: typeof e.timezone === 'string' ? e.timezone : 'UTC',
      domain: typeof e.domain === 'string' ? e.domain : null,
      params: Object.freeze({ ...((e.params as JsonObject | undefined) ?? {}) }),
      missed: e.missed === 'once' ? 'once' : 'skip',
    });
  });
}
