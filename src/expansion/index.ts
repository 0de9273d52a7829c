/**
 * Progressive dependency expansion (MediaWiki's backlink partitioning, promises §9 "fan-out helper").
 *
 * A root job carries a half-open range `[start, end)` of work items. Running it pushes up to
 * `batchSize` leaf jobs (each covering `leafSize` items) for the first part of the range plus one
 * "remainder" job carrying the rest, all with the root's `rootJob` params; so a newer root
 * supersedes every pending leaf and remainder. The remainder expands the same way when it runs,
 * until the range is exhausted. Leaves and remainders are pushed with `removeDuplicates` and
 * params derived only from the root signature and the range, so a retried parent re-pushes the
 * same jobs and the queue collapses them while they are still queued.
 */

import type { Job, JobSpecification, JsonObject, RootJob } from '../core/job.js';
import type { HandlerContext, JobHandler } from '../runner/handlers.js';

/** Options of {@link expansionHandler}. */
export interface ExpansionOptions {
  /** Leaf jobs pushed per expansion step (N); at most N + 1 jobs are queued per root. */
  readonly batchSize: number;
  /** Items per leaf job. Default 1. */
  readonly leafSize?: number;
  /** Pushes the children (a queue's or group's `push`). */
  readonly push: (specs: readonly JobSpecification<string>[]) => Promise<unknown>;
  /** Runs one leaf: the items `[start, end)`. */
  readonly runLeaf: (
    start: number,
    end: number,
    job: Job<string>,
    ctx: HandlerContext,
  ) => Promise<void> | void;
}

/** Thrown for bad expansion options or params. */
export class ExpansionError extends TypeError {
  readonly code = 'SWITCHYARD_INVALID_EXPANSION';
}

function checkInt(value: unknown, what: string, min: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    throw new ExpansionError(`expansion: ${what} must be an integer ≥ ${min} (got ${String(value)})`);
  }
  return value;
}

/** The spec of a root job expanding `[start, end)`; pass `rootJob` from `newRootJob(key)`. */
export function expansionRoot(
  type: string,
  range: { readonly start: number; readonly end: number },
  rootJob: RootJob,
  base: JsonObject = {},
): JobSpecification<string> {
  checkInt(range.start, 'range.start', 0);
  checkInt(range.end, 'range.end', range.start);
  return {
    type,
    params: { ...base, rangeStart: range.start, rangeEnd: range.end, recursive: true },
    rootJob: { signature: rootJob.signature, timestamp: rootJob.timestamp, isSelf: true },
  };
}

/**
 * Splits one expansion step: the leaves for the first `batchSize * leafSize` items and, when
 * items remain, one remainder job. Pure; exported for tests and custom executors.
 */
export function partitionExpansion(
  job: Pick<Job<string>, 'type' | 'params' | 'rootJob' | 'domain'>,
  batchSize: number,
  leafSize = 1,
): JobSpecification<string>[] {
  checkInt(batchSize, 'batchSize', 1);
  checkInt(leafSize, 'leafSize', 1);
  const p = job.params as JsonObject;
  const start = checkInt(p.rangeStart, `${job.type}.params.rangeStart`, 0);
  const end = checkInt(p.rangeEnd, `${job.type}.params.rangeEnd`, start);
  const root = job.rootJob
    ? { signature: job.rootJob.signature, timestamp: job.rootJob.timestamp }
    : undefined;
  const base: JsonObject = {};
  for (const [k, v] of Object.entries(p))
    if (k !== 'rangeStart' && k !== 'rangeEnd' && k !== 'recursive') base[k] = v;
  // The root's signature and timestamp are part of the params so that the dedup key (which
  // ignores rootJob*) differs between roots — also between an older and a newer root of the same
  // key: a newer root's leaf must never collapse into a still-queued leaf of the older one (which
  // then pops as a duplicate, and the item would never run). A retried parent (same root)
  // re-pushes the same keys, which collapse while still queued.
  if (root) {
    base.expansionRoot = root.signature;
    base.expansionRootTimestamp = root.timestamp;
  }
  const specs: JobSpecification<string>[] = [];
  let at = start;
  for (let i = 0; i < batchSize && at < end; i++) {
    const to = Math.min(end, at + leafSize);
    specs.push(child(job, { ...base, rangeStart: at, rangeEnd: to, recursive: false }, root));
    at = to;
  }
  if (at < end) specs.push(child(job, { ...base, rangeStart: at, rangeEnd: end, recursive: true }, root));
  return specs;
}

function child(
  job: Pick<Job<string>, 'type' | 'domain'>,
  params: JsonObject,
  rootJob: RootJob | undefined,
): JobSpecification<string> {
  return {
    type: job.type,
    domain: job.domain,
    params,
    removeDuplicates: true,
    ...(rootJob ? { rootJob } : {}),
  };
}

/**
 * A handler for an expansion type: register it in the runner's `HandlerRegistry` or in the Kafka
 * executor's handlers. A recursive job pushes its children (one `push` call) and returns; a leaf
 * calls `runLeaf`. Superseded jobs are acked as duplicates by the runner before this runs.
 */
export function expansionHandler(options: ExpansionOptions): JobHandler<string> {
  checkInt(options.batchSize, 'batchSize', 1);
  const leafSize = checkInt(options.leafSize ?? 1, 'leafSize', 1);
  return {
    async run(job, ctx) {
      const p = job.params as JsonObject;
      if (p.recursive === true) {
        const specs = partitionExpansion(job, options.batchSize, leafSize);
        if (specs.length > 0) await options.push(specs);
        return;
      }
      const start = checkInt(p.rangeStart, `${job.type}.params.rangeStart`, 0);
      const end = checkInt(p.rangeEnd, `${job.type}.params.rangeEnd`, start);
      await options.runLeaf(start, end, job, ctx);
    },
  };
}
