/**
 * The common queue options (promises §2): their type, the ones a config entry may set, their
 * defaults and their validation against a backend's manifest. One home, read by the JobQueue
 * constructor, the config resolver, the group and the conformance suite.
 *
 * @packageDocumentation
 */
import type { JobQueueAggregator } from './aggregator.js';
import type { Clock } from './clock.js';
import type { Issue } from './errors.js';
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
  const ro = options.readOnlyReason;
  if (ro !== undefined && ro !== null && typeof ro !== 'string') {
    issues.push({ path: p('readOnlyReason'), message: 'must be a string or null', value: ro });
  }
  return issues;
}
