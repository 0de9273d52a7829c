/**
 * The common queue options (promises §2): their type, the ones a config entry may set, their
 * defaults and their validation against a backend's manifest. One home, read by the JobQueue
 * constructor, the config resolver, the group and the conformance suite.
 *
 * @packageDocumentation
 */
import type { JobQueueAggregator } from './aggregator.js';
import { isRecord } from './checks.js';
import type { Clock } from './clock.js';
import type { Issue } from './errors.js';
import { MAX_GROUP_KEY_LENGTH } from './job.js';
import type { MetricsSink } from './metrics.js';
import { ORDERS, type Order, type Supports } from './supports.js';
import type { JobTracer } from './tracing.js';

/** Options every queue accepts (promises §2). Durations are in seconds, as in MediaWiki. */
export interface JobQueueOptions {
  /** The tenant (MediaWiki's wiki). Default `"default"`. */
  readonly domain?: string;
  /** The job type this queue holds. */
  readonly type: string;
  /** Seconds a claim lasts before it is recycled; 0 = no claim tracking. Default 3600. */
  readonly claimTTL?: number;
  /** Claims allowed before a job is abandoned. Default 3. */
  readonly maxTries?: number;
  /** Pop order. Default `any` (the backend's fastest). */
  readonly order?: Order;
  /** When set, the queue is read-only and writes throw `SWITCHYARD_READ_ONLY` with this reason. */
  readonly readOnlyReason?: string | null;
  /** Seconds abandoned jobs are kept after their last claim. Default 7 days. */
  readonly abandonedTTL?: number;
  /** Seconds a root-job record is kept. Default 28 days. */
  readonly rootJobTTL?: number;
  /**
   * Minimum seconds between opportunistic maintenance passes run after an empty pop, so an
   * embedded app needs no chron (P-20). `null` disables them. Default 10.
   */
  readonly maintenanceInterval?: number | null;
  /** Source of "now" (Unix ms). Default: the wall clock. Tests pass a ManualClock. */
  readonly clock?: Clock;
  /** Receives metric events (promises §10). */
  readonly metrics?: MetricsSink;
  /** Wraps push in a span and stamps the trace context as the jobs' requestId. Default: none. */
  readonly tracer?: JobTracer;
  /**
   * Told when this queue gains ready jobs (push, release, maintenance) and when a pop finds it
   * empty (promises §7). A failing notification never fails the call: it is counted (`errors`, op
   * `aggregator`) and dropped; the chron's rebuild heals it.
   */
  readonly aggregator?: JobQueueAggregator | null;
  /**
   * Flow-control limits per `groupKey` (needs `supports.groupLimits`): the defaults every group
   * gets, and `keys` overriding them for named groups. Enforced by the store at claim time.
   */
  readonly groupLimits?: GroupLimits | null;
}

/** The limits of one flow-control group. Absent fields do not limit. */
export interface GroupLimit {
  /** Claims a group may hold at once (jobs running), across every process. Needs claim tracking. */
  readonly maxConcurrent?: number;
  /** At most `max` claims per `perSeconds` per group (a window that starts at a group's first claim). */
  readonly rate?: { readonly max: number; readonly perSeconds: number };
}

/** The `groupLimits` queue option: defaults for every group, with per-key overrides. */
export interface GroupLimits extends GroupLimit {
  /** Limits of named groups; each replaces the defaults for its key (fields it omits do not limit). */
  readonly keys?: Readonly<Record<string, GroupLimit>>;
}

/** One group's limits as a backend applies them: null where the group is not limited. */
export interface ResolvedGroupLimit {
  readonly maxConcurrent: number | null;
  readonly rate: { readonly max: number; readonly perMs: number } | null;
}

/** No limit. */
export const UNLIMITED_GROUP: ResolvedGroupLimit = Object.freeze({ maxConcurrent: null, rate: null });

/** One group's limits as a backend applies them. */
function resolveLimit(l: GroupLimit): ResolvedGroupLimit {
  if (l.maxConcurrent === undefined && l.rate === undefined) return UNLIMITED_GROUP;
  return Object.freeze({
    maxConcurrent: l.maxConcurrent ?? null,
    rate:
      l.rate === undefined
        ? null
        : Object.freeze({ max: l.rate.max, perMs: Math.round(l.rate.perSeconds * 1000) }),
  });
}

/**
 * Each group's limits under a `groupLimits` option, computed once: a backend asks it per claim and it
 * allocates nothing (one map lookup when the option has per-key entries, none otherwise).
 */
export class GroupLimitTable {
  /** The limits of every group without its own entry. */
  readonly defaults: ResolvedGroupLimit;
  readonly #keys: ReadonlyMap<string, ResolvedGroupLimit> | null;
  /** True when no group is limited at all. */
  readonly unlimited: boolean;

  constructor(limits: GroupLimits | null) {
    this.defaults = limits === null ? UNLIMITED_GROUP : resolveLimit(limits);
    const keys = Object.entries(limits?.keys ?? {});
    this.#keys = keys.length === 0 ? null : new Map(keys.map(([k, l]) => [k, resolveLimit(l)] as const));
    this.unlimited = [this.defaults, ...(this.#keys?.values() ?? [])].every((l) => l === UNLIMITED_GROUP);
  }

  /** The limits of group `key`. */
  of(key: string): ResolvedGroupLimit {
    return this.#keys === null ? this.defaults : (this.#keys.get(key) ?? this.defaults);
  }

  /** The groups with their own entry, with their limits (for a store that keeps them itself). */
  keyed(): Iterable<readonly [string, ResolvedGroupLimit]> {
    return this.#keys?.entries() ?? [];
  }
}

/** A frozen deep copy of valid `groupLimits` (handles keep their own, callers may not change it). */
export function freezeGroupLimits(limits: GroupLimits | null | undefined): GroupLimits | null {
  if (limits === undefined || limits === null) return null;
  const one = (l: GroupLimit): GroupLimit =>
    Object.freeze({
      ...(l.maxConcurrent === undefined ? {} : { maxConcurrent: l.maxConcurrent }),
      ...(l.rate === undefined
        ? {}
        : { rate: Object.freeze({ max: l.rate.max, perSeconds: l.rate.perSeconds }) }),
    });
  const keys =
    limits.keys === undefined
      ? undefined
      : Object.freeze(Object.fromEntries(Object.entries(limits.keys).map(([k, v]) => [k, one(v)])));
  return Object.freeze({ ...one(limits), ...(keys === undefined ? {} : { keys }) });
}

/**
 * The queue options a config's `jobTypeConf` entry may set, each with how a value interpolated
 * from `${ENV}` is read (`number`: a numeric string becomes a number). The one list the config
 * resolver and the conformance suite's options read; the group passes the resolved entry's
 * options on as one object. Adding an option here, to {@link JobQueueOptions} /
 * {@link validateQueueOptions} (and a default to {@link QUEUE_DEFAULTS}), to the JSON Schema
 * and to the README's option table is the whole change.
 */
export const CONFIGURABLE_QUEUE_OPTIONS = Object.freeze({
  claimTTL: 'number',
  maxTries: 'number',
  order: 'string',
  abandonedTTL: 'number',
  rootJobTTL: 'number',
  maintenanceInterval: 'number',
  readOnlyReason: 'string',
  groupLimits: 'object',
} as const);

/** The queue options set by a config entry (absent ones take the JobQueue defaults). */
export type ConfiguredQueueOptions = {
  -readonly [K in keyof typeof CONFIGURABLE_QUEUE_OPTIONS]?: JobQueueOptions[K];
};

/** Defaults of {@link JobQueueOptions}. */
export const QUEUE_DEFAULTS = Object.freeze({
  domain: 'default',
  claimTTL: 3600,
  maxTries: 3,
  order: 'any' as Order,
  abandonedTTL: 7 * 24 * 3600,
  rootJobTTL: 28 * 24 * 3600,
  maintenanceInterval: 10,
});

/** Checks queue options against the manifest; returns every problem. */
export function validateQueueOptions(options: JobQueueOptions, supports: Supports, at = ''): Issue[] {
  const issues: Issue[] = [];
  const p = (k: string) => (at ? `${at}.${k}` : k);
  if (typeof options.type !== 'string' || options.type.length === 0) {
    issues.push({ path: p('type'), message: 'must be a non-empty string', value: options.type });
  }
  if (options.domain !== undefined && (typeof options.domain !== 'string' || options.domain.length === 0)) {
    issues.push({ path: p('domain'), message: 'must be a non-empty string', value: options.domain });
  }
  const seconds = (k: 'claimTTL' | 'abandonedTTL' | 'rootJobTTL') => {
    const v = options[k];
    if (v !== undefined && (typeof v !== 'number' || !Number.isFinite(v) || v < 0)) {
      issues.push({ path: p(k), message: 'must be a number of seconds ≥ 0', value: v });
    }
  };
  seconds('claimTTL');
  seconds('abandonedTTL');
  seconds('rootJobTTL');
  const mi = options.maintenanceInterval;
  if (mi !== undefined && mi !== null && (typeof mi !== 'number' || !Number.isFinite(mi) || mi < 0)) {
    issues.push({ path: p('maintenanceInterval'), message: 'must be seconds ≥ 0 or null', value: mi });
  }
  const mt = options.maxTries;
  if (mt !== undefined && (typeof mt !== 'number' || !Number.isInteger(mt) || mt < 1)) {
    issues.push({ path: p('maxTries'), message: 'must be an integer ≥ 1', value: mt });
  }
  const order = options.order;
  if (order !== undefined) {
    if (!ORDERS.includes(order)) {
      issues.push({ path: p('order'), message: 'is not an order', value: order, choices: ORDERS });
    } else if (supports.pop && order !== 'any' && !supports.orders.includes(order)) {
      issues.push({
        path: p('order'),
        message: 'is not supported by this backend',
        value: order,
        choices: supports.orders,
      });
    }
  }
  const gl = options.groupLimits;
  if (gl !== undefined && gl !== null) {
    if (!supports.groupLimits) {
      issues.push({
        path: p('groupLimits'),
        message: 'is not supported by this backend (supports.groupLimits)',
      });
    } else {
      const claimTTL = options.claimTTL ?? QUEUE_DEFAULTS.claimTTL;
      issues.push(...groupLimitIssues(gl, p('groupLimits'), supports.ack && claimTTL > 0));
    }
  }
  const ro = options.readOnlyReason;
  if (ro !== undefined && ro !== null && typeof ro !== 'string') {
    issues.push({ path: p('readOnlyReason'), message: 'must be a string or null', value: ro });
  }
  return issues;
}

/** Problems of a `groupLimits` value at `at`; `tracksClaims` says whether maxConcurrent can be kept. */
function groupLimitIssues(value: unknown, at: string, tracksClaims: boolean): Issue[] {
  const issues: Issue[] = [];
  const one = (l: unknown, path: string, allowKeys: boolean): void => {
    if (!isRecord(l)) {
      issues.push({ path, message: 'must be a mapping { maxConcurrent?, rate? }', value: l });
      return;
    }
    for (const k of Object.keys(l)) {
      if (k !== 'maxConcurrent' && k !== 'rate' && !(allowKeys && k === 'keys')) {
        issues.push({
          path: `${path}.${k}`,
          message: 'is not a group limit',
          choices: allowKeys ? ['maxConcurrent', 'rate', 'keys'] : ['maxConcurrent', 'rate'],
        });
      }
    }
    const mc = l.maxConcurrent;
    if (mc !== undefined) {
      if (typeof mc !== 'number' || !Number.isInteger(mc) || mc < 1) {
        issues.push({ path: `${path}.maxConcurrent`, message: 'must be an integer ≥ 1', value: mc });
      } else if (!tracksClaims) {
        issues.push({
          path: `${path}.maxConcurrent`,
          message:
            'needs claim tracking (a backend with ack, and claimTTL > 0): a claim that is never acked cannot be counted',
          value: mc,
        });
      }
    }
    const rate = l.rate;
    if (rate !== undefined) {
      if (!isRecord(rate)) {
        issues.push({ path: `${path}.rate`, message: 'must be a mapping { max, perSeconds }', value: rate });
      } else {
        if (typeof rate.max !== 'number' || !Number.isInteger(rate.max) || rate.max < 1) {
          issues.push({ path: `${path}.rate.max`, message: 'must be an integer ≥ 1', value: rate.max });
        }
        const per = rate.perSeconds;
        if (typeof per !== 'number' || !Number.isFinite(per) || per < 0.001) {
          issues.push({
            path: `${path}.rate.perSeconds`,
            message: 'must be a number of seconds ≥ 0.001',
            value: per,
          });
        }
        for (const k of Object.keys(rate)) {
          if (k !== 'max' && k !== 'perSeconds') {
            issues.push({
              path: `${path}.rate.${k}`,
              message: 'is not a rate field',
              choices: ['max', 'perSeconds'],
            });
          }
        }
      }
    }
  };
  one(value, at, true);
  if (isRecord(value) && value.keys !== undefined) {
    if (!isRecord(value.keys)) {
      issues.push({
        path: `${at}.keys`,
        message: 'must be a mapping of group key → limits',
        value: value.keys,
      });
    } else {
      for (const [key, l] of Object.entries(value.keys)) {
        if (key.length === 0 || key.length > MAX_GROUP_KEY_LENGTH) {
          issues.push({
            path: `${at}.keys`,
            message: `has a key that is not a valid groupKey (1–${MAX_GROUP_KEY_LENGTH} characters)`,
            value: key,
          });
        }
        one(l, `${at}.keys.${key}`, false);
      }
    }
  }
  return issues;
}
