/**
 * Job specifications (promises §1): the types a host app pushes, their validation, the canonical
 * dedup key ("sha1") and root-job parameters.
 *
 * @packageDocumentation
 */
import { createHash } from 'node:crypto';
import { type Issue, invalidJob } from './errors.js';

/** A JSON value: what job params may hold. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** A JSON object: the shape of job params. */
export type JsonObject = { [key: string]: JsonValue };

/**
 * Payload types by job type, filled in by the host app through declaration merging:
 *
 * @example
 * ```ts
 * declare module 'switchyard' {
 *   interface JobTypes { refreshLinks: { pageId: number } }
 * }
 * ```
 */
// biome-ignore lint/suspicious/noEmptyInterface: filled by declaration merging in host apps.
export interface JobTypes {}

/** A job type name: a declared one (with typed params) or any other string. */
export type JobType = keyof JobTypes | (string & {});

/**
 * The params type of job type `T`: the declared payload, else any JSON object. An untyped queue
 * (`T` is plain `string` or {@link JobType}) takes any JSON object.
 */
export type ParamsOf<T extends string> = string extends T
  ? JsonObject
  : T extends keyof JobTypes
    ? JobTypes[T]
    : JsonObject;

/**
 * Root-job parameters: jobs that belong to one "root" (e.g. every refreshLinks job spawned by one
 * template edit) share a signature; a newer root timestamp supersedes older pending children.
 */
export interface RootJob {
  /** Identifies the root (usually the SHA-1 of a descriptive key; see {@link newRootJob}). */
  readonly signature: string;
  /** When the root was created, Unix milliseconds. */
  readonly timestamp: number;
  /** True on the root job itself: its successful push registers the root (P-14). */
  readonly isSelf?: boolean;
}

/** What a host app pushes (promises §1). */
export interface JobSpecification<T extends string = JobType> {
  /** The job type; selects the queue through `jobTypeConf`. */
  readonly type: T;
  /** JSON params (no functions, Dates, BigInt, cycles or `undefined` in arrays). */
  readonly params: ParamsOf<T>;
  /** The tenant (MediaWiki's wiki); defaults to the queue's domain. */
  readonly domain?: string;
  /** Release time (Unix ms or a Date): makes this a delayed job. */
  readonly releaseTimestamp?: number | Date;
  /** Skip the push when an identical ready or delayed job is queued (P-13). */
  readonly removeDuplicates?: boolean;
  /**
   * Top-level param names left out of the dedup key (MediaWiki's `removeDuplicatesIgnoreParams`):
   * two jobs differing only in these are duplicates. The params are still stored and delivered.
   */
  readonly removeDuplicatesIgnoreParams?: readonly string[];
  /** Root-job parameters (P-14). */
  readonly rootJob?: RootJob;
  /** Request id for tracing; not part of the dedup key. */
  readonly requestId?: string;
  /**
   * Pop priority within the queue: an integer from {@link MIN_PRIORITY} to {@link MAX_PRIORITY},
   * higher first, the queue's order within one priority. Default 0. Needs `supports.priorities`
   * for anything but 0. Not part of the dedup key: a duplicate with another priority is skipped.
   */
  readonly priority?: number;
  /**
   * The flow-control group (a tenant, an upstream API): a queue pops its groups round-robin, and
   * the queue's `groupLimits` cap each group's claims held at once and claims per interval, in
   * the store, across every process. Needs `supports.groupLimits`. A non-empty string of at most
   * {@link MAX_GROUP_KEY_LENGTH} characters; not part of the dedup key.
   */
  readonly groupKey?: string;
}

/** The longest `groupKey`. */
export const MAX_GROUP_KEY_LENGTH = 255;

/** The lowest job priority. */
export const MIN_PRIORITY = -1_000_000;
/** The highest job priority. */
export const MAX_PRIORITY = 1_000_000;

/**
 * A specification after validation and normalisation: what every backend hook receives.
 * Backend authors: every field is present; `sha1` is set iff `removeDuplicates`.
 */
export interface NormalizedJob {
  readonly type: string;
  readonly params: JsonObject;
  readonly domain: string;
  /** Unix ms, or null when the job is not delayed. */
  readonly releaseTimestamp: number | null;
  readonly removeDuplicates: boolean;
  /** The dedup key, set iff `removeDuplicates`. */
  readonly sha1: string | null;
  readonly rootJob: RootJob | null;
  readonly requestId: string | null;
  /** The pop priority (0 unless the spec set one). */
  readonly priority: number;
  /** The flow-control group, or null. */
  readonly groupKey: string | null;
  /** The spec's `removeDuplicatesIgnoreParams`, when given (a backend with its own dedup key needs it). */
  readonly removeDuplicatesIgnoreParams?: readonly string[];
}

/** A job as returned by `pop()` (promises §1). */
export interface Job<T extends string = JobType> {
  readonly id: string;
  readonly type: T;
  readonly params: ParamsOf<T>;
  readonly domain: string;
  readonly releaseTimestamp: number | null;
  readonly removeDuplicates: boolean;
  readonly sha1: string | null;
  readonly rootJob: RootJob | null;
  readonly requestId: string | null;
  /** The pop priority (higher first; 0 by default). */
  readonly priority: number;
  /** The flow-control group, or null. */
  readonly groupKey: string | null;
  /** Claims so far, including this one. */
  readonly attempts: number;
  /** When the job was first stored, Unix ms. */
  readonly enqueuedAt: number;
  /** When this claim was taken, Unix ms. */
  readonly claimedAt: number;
  /** Fences ack / release / extend: only the holder of the current claim may settle it (P-11). */
  readonly claimToken: string;
  /** The partition that popped it (federated backends), else null. */
  readonly partition: string | null;
  /** True when a newer root job supersedes this one: ack it without running (P-14). */
  readonly isDuplicate: boolean;
}

/**
 * The states of a stored job (promises §1). `waiting`: a flow job whose dependencies have not all
 * succeeded yet (`supports.dependencies`); it is not poppable and not in the ready count.
 */
export type JobState = 'ready' | 'claimed' | 'delayed' | 'abandoned' | 'waiting';

/** A stored job as listed for inspection (P-19). */
export interface ListedJob {
  readonly id: string;
  readonly state: JobState;
  readonly type: string;
  readonly domain: string;
  readonly params: JsonObject;
  readonly attempts: number;
  readonly enqueuedAt: number;
  readonly releaseTimestamp: number | null;
  /** Set for claimed and abandoned jobs: when the last claim was taken. */
  readonly claimedAt: number | null;
  /** Set for claimed jobs: the live claim token (so an operator can ack or release it). */
  readonly claimToken: string | null;
  readonly sha1: string | null;
  readonly rootJob: RootJob | null;
  readonly removeDuplicates: boolean;
  readonly requestId: string | null;
  /** The pop priority (higher first; 0 by default). */
  readonly priority: number;
  /** The flow-control group, or null. */
  readonly groupKey: string | null;
}

/**
 * Canonical JSON: object keys sorted recursively, no whitespace. Key order never changes it.
 */
export function canonicalJson(value: JsonValue): string {
  // Fast path: native JSON.stringify of the value itself when its keys are already sorted (checked
  // without allocating), else of a copy with the keys inserted in sorted order (unchanged subtrees
  // are shared).
  if (isCanonicalAsIs(value, 0)) return JSON.stringify(value);
  const flat = sortedFlatCopy(value);
  if (flat !== null) return JSON.stringify(flat);
  const sorted = withSortedKeys(value, 0);
  return sorted === UNSORTABLE ? sortedJson(value) : JSON.stringify(sorted);
}

/**
 * True exactly when {@link withSortedKeys} would answer `value` itself: plain JSON whose object
 * keys enumerate in strictly ascending code-unit order at every level (so JSON.stringify of it is
 * the canonical JSON). The common case, answered without building the key lists.
 */
function isCanonicalAsIs(value: unknown, depth: number): boolean {
  if (value === null) return true;
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return true;
    case 'number':
      return Number.isFinite(value);
    case 'object':
      break;
    default:
      return false;
  }
  if (depth > 64) return false;
  if (Array.isArray(value)) {
    if (Object.getPrototypeOf(value) !== Array.prototype) return false;
    for (let i = 0; i < value.length; i++) {
      if (!(i in value) || !isCanonicalAsIs(value[i], depth + 1)) return false;
    }
    return true;
  }
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return false;
  const record = value as Record<string, unknown>;
  if ('toJSON' in record) return false;
  let last: string | null = null;
  for (const key in record) {
    if (!Object.hasOwn(record, key)) return false;
    if (last !== null && !(last < key)) return false;
    last = key;
    if (!isCanonicalAsIs(record[key], depth + 1)) return false;
  }
  return true;
}

/** The last top-level key sequence {@link sortedFlatCopy} saw (own keys, enumeration order). */
let flatKeys: readonly string[] = [];
/** Those keys in canonical order, or null when insertion cannot order them (see withSortedKeys). */
let flatSorted: readonly string[] | null = null;

/**
 * A copy of `value` with its keys inserted in sorted order, when it is a plain object whose keys
 * are out of order but whose every value is canonical as it is (the usual job params): what
 * {@link withSortedKeys} would answer, without its key and value lists. The sorted order of the
 * last key sequence is kept (a batch's params share their keys), so one sort and one check of
 * it serve them all. Null for anything else (withSortedKeys decides).
 */
function sortedFlatCopy(value: unknown): Record<string, unknown> | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return null;
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return null;
  const record = value as Record<string, unknown>;
  if ('toJSON' in record) return null;
  let n = 0;
  let same = true;
  for (const key in record) {
    if (!Object.hasOwn(record, key) || !isCanonicalAsIs(record[key], 1)) return null;
    if (same && flatKeys[n] !== key) same = false;
    n++;
  }
  if (!same || n !== flatKeys.length) {
    const keys = Object.keys(record);
    const sorted = [...keys].sort();
    // A "__proto__" key would set the copy's prototype; integer-like keys enumerate first
    // whatever the insertion order: such sequences are withSortedKeys's to refuse.
    const probe: Record<string, unknown> = {};
    for (const key of sorted) probe[key] = true;
    let at = 0;
    let ok = !sorted.includes('__proto__');
    for (const key in probe) if (key !== sorted[at++]) ok = false;
    flatKeys = keys;
    flatSorted = ok && at === sorted.length ? sorted : null;
  }
  if (flatSorted === null) return null;
  const out: Record<string, unknown> = {};
  for (const key of flatSorted) out[key] = record[key];
  return out;
}

/** What {@link withSortedKeys} answers for input JSON.stringify would not write canonically. */
const UNSORTABLE: unique symbol = Symbol('unsortable');

/**
 * `value` itself when it is plain JSON whose object keys, as they enumerate, are in strictly
 * ascending code-unit order at every level; else a copy whose objects enumerate their keys in that
 * order; so `JSON.stringify` of the answer is the canonical JSON. UNSORTABLE for anything
 * JSON.stringify would write differently (undefined, toJSON, class instances, sparse arrays,
 * non-finite numbers, deeper than 64 levels) or that insertion cannot order (integer-like keys
 * always enumerate first, in numeric order).
 */
function withSortedKeys(value: unknown, depth: number): unknown {
  if (value === null) return value;
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      return Number.isFinite(value) ? value : UNSORTABLE;
    case 'object':
      break;
    default:
      return UNSORTABLE;
  }
  if (depth > 64) return UNSORTABLE;
  if (Array.isArray(value)) {
    if (Object.getPrototypeOf(value) !== Array.prototype) return UNSORTABLE;
    let copy: unknown[] | null = null;
    for (let i = 0; i < value.length; i++) {
      if (!(i in value)) return UNSORTABLE;
      const item: unknown = value[i];
      const sorted = withSortedKeys(item, depth + 1);
      if (sorted === UNSORTABLE) return UNSORTABLE;
      if (sorted !== item) copy ??= value.slice(0, i);
      copy?.push(sorted);
    }
    return copy ?? value;
  }
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return UNSORTABLE;
  const record = value as Record<string, unknown>;
  if ('toJSON' in record) return UNSORTABLE;
  const keys: string[] = [];
  const values: unknown[] = [];
  let inOrder = true;
  let changed = false;
  for (const key in record) {
    if (!Object.hasOwn(record, key)) return UNSORTABLE;
    const item = record[key];
    const sorted = withSortedKeys(item, depth + 1);
    if (sorted === UNSORTABLE) return UNSORTABLE;
    if (sorted !== item) changed = true;
    if (inOrder && keys.length > 0 && !((keys[keys.length - 1] as string) < key)) inOrder = false;
    keys.push(key);
    values.push(sorted);
  }
  if (inOrder && !changed) return value;
  const order = keys.map((_, i) => i);
  if (!inOrder) order.sort((x, y) => ((keys[x] as string) < (keys[y] as string) ? -1 : 1));
  // A plain object (JSON.stringify's fast path); a "__proto__" key would set its prototype instead.
  const out: Record<string, unknown> = {};
  for (const i of order) {
    const key = keys[i] as string;
    if (key === '__proto__') return UNSORTABLE;
    out[key] = values[i];
  }
  // Integer-like keys enumerate first whatever the insertion order: check the result.
  let at = 0;
  for (const key in out) if (key !== keys[order[at++] as number]) return UNSORTABLE;
  return out;
}

function sortedJson(value: JsonValue): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const keys = Object.keys(value).sort();
  const parts: string[] = [];
  for (const key of keys) {
    const v = value[key];
    if (v === undefined) continue;
    parts.push(`${JSON.stringify(key)}:${canonicalJson(v)}`);
  }
  return `{${parts.join(',')}}`;
}

/** Params MediaWiki keeps for root jobs and requests; never part of the dedup key. */
const NON_DEDUP_PARAMS = new Set([
  'rootJobSignature',
  'rootJobTimestamp',
  'rootJobIsSelf',
  'requestId',
  'jobReleaseTimestamp',
]);

/**
 * The dedup key ("sha1"): SHA-1 hex of the canonical JSON of `{ domain, type, params }` with
 * root-job, release and request-id fields removed, and the top-level params named in `ignore`.
 */
export function dedupKey(
  domain: string,
  type: string,
  params: JsonObject,
  ignore: readonly string[] = [],
): string {
  const kept: JsonObject = {};
  for (const key of Object.keys(params)) {
    if (NON_DEDUP_PARAMS.has(key) || ignore.includes(key)) continue;
    const v = params[key];
    if (v !== undefined) kept[key] = v;
  }
  return createHash('sha1')
    .update(canonicalJson({ domain, type, params: kept }))
    .digest('hex');
}

/**
 * Root-job params for a new root identified by `key` (MediaWiki's `newRootJobParams`).
 * Give them to the root job with `isSelf: true` and to its children as they are.
 */
export function newRootJob(key: string, now: number = Date.now()): RootJob {
  return { signature: createHash('sha1').update(key).digest('hex'), timestamp: now };
}

/**
 * How deep params may nest (the params object is level 1). MediaWiki decodes job params with PHP's
 * `json_decode`, whose default depth is 512; deeper values also overflow the stack of a recursive
 * walk or `JSON.stringify` (a 100,000-deep array threw `RangeError` from push).
 */
export const MAX_PARAMS_DEPTH = 512;

/**
 * Checks that `value` holds only JSON values, nested at most {@link MAX_PARAMS_DEPTH} levels;
 * pushes an issue naming the path for each violation. A getter or proxy that throws while being
 * read is an issue too (its message quoted), never an exception.
 * @returns false when something was wrong.
 */
export function collectJsonIssues(value: unknown, path: string, issues: Issue[]): boolean {
  const before = issues.length;
  walkJson(value, path, issues, new Set(), 1);
  return issues.length === before;
}

function thrownMessage(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}

function walkJson(value: unknown, path: string, issues: Issue[], seen: Set<object>, depth: number): void {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return;
    case 'number':
      if (!Number.isFinite(value)) issues.push({ path, message: 'is not a finite number', value });
      return;
    case 'object':
      break;
    default:
      issues.push({ path, message: `is ${kindOf(value)}, not a JSON value` });
      return;
  }
  if (value === null) return;
  if (seen.has(value)) {
    issues.push({ path, message: 'is a cycle (refers back to an enclosing value)' });
    return;
  }
  if (depth > MAX_PARAMS_DEPTH) {
    issues.push({ path, message: `is nested deeper than ${MAX_PARAMS_DEPTH} levels` });
    return;
  }
  try {
    if (Array.isArray(value)) {
      seen.add(value);
      for (let i = 0; i < value.length; i++) {
        let item: unknown;
        try {
          item = value[i];
        } catch (err) {
          issues.push({ path: `${path}[${i}]`, message: `cannot be read: ${thrownMessage(err)}` });
          continue;
        }
        if (item === undefined)
          issues.push({ path: `${path}[${i}]`, message: 'is undefined inside an array' });
        else walkJson(item, `${path}[${i}]`, issues, seen, depth + 1);
      }
      seen.delete(value);
      return;
    }
    const proto: unknown = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) {
      issues.push({ path, message: `is ${kindOf(value)}, not a plain JSON object` });
      return;
    }
    seen.add(value);
    for (const key of Object.keys(value)) {
      let item: unknown;
      try {
        item = (value as Record<string, unknown>)[key];
      } catch (err) {
        issues.push({ path: `${path}.${key}`, message: `cannot be read: ${thrownMessage(err)}` });
        continue;
      }
      if (item === undefined) continue; // JSON drops undefined properties, as JSON.stringify does
      walkJson(item, `${path}.${key}`, issues, seen, depth + 1);
    }
    seen.delete(value);
  } catch (err) {
    // A proxy whose traps throw (ownKeys, getPrototypeOf): not a plain JSON value.
    seen.delete(value);
    issues.push({ path, message: `cannot be read: ${thrownMessage(err)}` });
  }
}

/** Allocation-free check: true iff `value` is plain JSON (false = run the slow, reporting walk). */
function isPlainJson(value: unknown, depth: number): boolean {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return true;
    case 'number':
      return Number.isFinite(value);
    case 'object':
      break;
    default:
      return false;
  }
  if (value === null) return true;
  if (depth > 64) return false; // maybe a cycle: let the slow path decide
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      if (item === undefined || !isPlainJson(item, depth + 1)) return false;
    }
    return true;
  }
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return false;
  for (const key in value) {
    if (!Object.hasOwn(value, key)) continue;
    const item: unknown = (value as Record<string, unknown>)[key];
    if (item !== undefined && !isPlainJson(item, depth + 1)) return false;
  }
  return true;
}

function kindOf(value: unknown): string {
  if (value instanceof Date) return 'a Date';
  if (value instanceof Map) return 'a Map';
  if (value instanceof Set) return 'a Set';
  if (typeof value === 'bigint') return 'a BigInt';
  if (typeof value === 'function') return 'a function';
  if (typeof value === 'symbol') return 'a symbol';
  if (value === undefined) return 'undefined';
  if (typeof value === 'object' && value !== null) {
    const name = (value as { constructor?: { name?: unknown } }).constructor?.name;
    return typeof name === 'string' ? `an instance of ${name}` : 'an object';
  }
  return typeof value;
}

/** Options for {@link normalizeJobs}. */
export interface NormalizeOptions {
  /** The queue's domain; a spec with another domain is rejected. */
  readonly domain: string;
  /** The queue's type, or null for a type-agnostic queue. */
  readonly type: string | null;
}

/**
 * Validates and normalises a batch of specifications. Throws `SWITCHYARD_INVALID_JOB` listing
 * every problem (with the job index and field path) and stores nothing. A type other than the
 * queue's is one of those problems (P-2).
 */
export function normalizeJobs(specs: readonly unknown[], opts: NormalizeOptions): NormalizedJob[] {
  const issues: Issue[] = [];
  const out: NormalizedJob[] = [];
  for (let i = 0; i < specs.length; i++) {
    const job = normalizeOne(specs[i], `jobs[${i}]`, opts, issues);
    if (job) out.push(job);
  }
  if (issues.length > 0) throw invalidJob(issues);
  return out;
}

/**
 * Validates and normalises one specification at path `at`, pushing its problems onto `issues`;
 * null when it has any. The step {@link normalizeJobs} takes per job (flows take it too).
 */
export function normalizeOne(
  raw: unknown,
  at: string,
  opts: NormalizeOptions,
  issues: Issue[],
): NormalizedJob | null {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    issues.push({ path: at, message: 'is not a job specification object', value: raw });
    return null;
  }
  const spec = raw as Record<string, unknown>;
  const start = issues.length;
  const type = spec.type;
  if (typeof type !== 'string' || type.length === 0) {
    issues.push({ path: `${at}.type`, message: 'must be a non-empty string', value: type });
  }
  const params = spec.params;
  if (typeof params !== 'object' || params === null || Array.isArray(params)) {
    issues.push({ path: `${at}.params`, message: 'must be a JSON object', value: params });
  } else {
    let plain: boolean;
    try {
      plain = isPlainJson(params, 0);
    } catch {
      plain = false; // a getter or proxy threw: the reporting walk names where
    }
    if (!plain) collectJsonIssues(params, `${at}.params`, issues);
  }
  let domain = opts.domain;
  if (spec.domain !== undefined) {
    if (typeof spec.domain !== 'string' || spec.domain.length === 0) {
      issues.push({ path: `${at}.domain`, message: 'must be a non-empty string', value: spec.domain });
    } else if (spec.domain !== opts.domain) {
      issues.push({
        path: `${at}.domain`,
        message: `does not match the queue's domain "${opts.domain}"`,
        value: spec.domain,
      });
    } else {
      domain = spec.domain;
    }
  }
  let releaseTimestamp: number | null = null;
  const rt = spec.releaseTimestamp;
  if (rt instanceof Date) {
    releaseTimestamp = rt.getTime();
    if (!Number.isFinite(releaseTimestamp)) {
      issues.push({ path: `${at}.releaseTimestamp`, message: 'is an invalid Date' });
    }
  } else if (typeof rt === 'number') {
    if (!Number.isFinite(rt) || rt < 0) {
      issues.push({ path: `${at}.releaseTimestamp`, message: 'must be Unix milliseconds ≥ 0', value: rt });
    } else releaseTimestamp = Math.floor(rt);
  } else if (rt !== undefined && rt !== null) {
    issues.push({
      path: `${at}.releaseTimestamp`,
      message: 'must be Unix milliseconds or a Date',
      value: rt,
    });
  }
  const rd = spec.removeDuplicates;
  if (rd !== undefined && typeof rd !== 'boolean') {
    issues.push({ path: `${at}.removeDuplicates`, message: 'must be a boolean', value: rd });
  }
  const ignored = spec.removeDuplicatesIgnoreParams;
  if (
    ignored !== undefined &&
    (!Array.isArray(ignored) || ignored.some((name) => typeof name !== 'string' || name.length === 0))
  ) {
    issues.push({
      path: `${at}.removeDuplicatesIgnoreParams`,
      message: 'must be an array of param names (non-empty strings)',
      value: ignored,
    });
  }
  let rootJob: RootJob | null = null;
  const rj = spec.rootJob;
  if (rj !== undefined && rj !== null) {
    if (typeof rj !== 'object' || Array.isArray(rj)) {
      issues.push({ path: `${at}.rootJob`, message: 'must be { signature, timestamp }', value: rj });
    } else {
      const r = rj as Record<string, unknown>;
      if (typeof r.signature !== 'string' || r.signature.length === 0) {
        issues.push({
          path: `${at}.rootJob.signature`,
          message: 'must be a non-empty string',
          value: r.signature,
        });
      }
      const ts = r.timestamp instanceof Date ? r.timestamp.getTime() : r.timestamp;
      if (typeof ts !== 'number' || !Number.isFinite(ts)) {
        issues.push({
          path: `${at}.rootJob.timestamp`,
          message: 'must be Unix milliseconds',
          value: r.timestamp,
        });
      }
      if (r.isSelf !== undefined && typeof r.isSelf !== 'boolean') {
        issues.push({ path: `${at}.rootJob.isSelf`, message: 'must be a boolean', value: r.isSelf });
      }
      if (typeof r.signature === 'string' && typeof ts === 'number') {
        rootJob =
          r.isSelf === true
            ? { signature: r.signature, timestamp: ts, isSelf: true }
            : { signature: r.signature, timestamp: ts };
      }
    }
  }
  const rid = spec.requestId;
  if (rid !== undefined && rid !== null && typeof rid !== 'string') {
    issues.push({ path: `${at}.requestId`, message: 'must be a string', value: rid });
  }
  const pr = spec.priority;
  if (
    pr !== undefined &&
    pr !== null &&
    (typeof pr !== 'number' || !Number.isInteger(pr) || pr < MIN_PRIORITY || pr > MAX_PRIORITY)
  ) {
    issues.push({
      path: `${at}.priority`,
      message: `must be an integer from ${MIN_PRIORITY} to ${MAX_PRIORITY}`,
      value: pr,
    });
  }
  const gk = spec.groupKey;
  if (
    gk !== undefined &&
    gk !== null &&
    (typeof gk !== 'string' || gk.length === 0 || gk.length > MAX_GROUP_KEY_LENGTH)
  ) {
    issues.push({
      path: `${at}.groupKey`,
      message: `must be a non-empty string of at most ${MAX_GROUP_KEY_LENGTH} characters`,
      value: gk,
    });
  }
  if (issues.length > start) return null;
  const typeName = type as string;
  if (opts.type !== null && typeName !== opts.type) {
    issues.push({
      path: `${at}.type`,
      message: `does not match the queue's type "${opts.type}"`,
      value: typeName,
    });
    return null;
  }
  const jsonParams = params as JsonObject;
  const removeDuplicates = rd === true;
  return {
    type: typeName,
    params: jsonParams,
    domain,
    releaseTimestamp,
    removeDuplicates,
    sha1: removeDuplicates
      ? dedupKey(domain, typeName, jsonParams, (ignored as readonly string[] | undefined) ?? [])
      : null,
    rootJob,
    requestId: typeof rid === 'string' ? rid : null,
    priority: typeof pr === 'number' && pr !== 0 ? pr : 0, // -0 is 0
    groupKey: typeof gk === 'string' ? gk : null,
    ...(ignored === undefined ? {} : { removeDuplicatesIgnoreParams: [...(ignored as readonly string[])] }),
  };
}
