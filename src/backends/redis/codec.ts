/**
 * How the Redis backend stores one job: a short header the Lua scripts read (priority, dedup key,
 * release time, enqueue time), then the payload (params, request id, root job) as JSON, or as
 * base64 of gzip'd JSON when it is larger than `compressAbove` bytes. Compression is transparent:
 * the header says which encoding a job uses, so a queue reads jobs stored with any setting.
 *
 * ```
 * 1|<sha1>|<releaseTimestamp>|<enqueuedAt>|<j or z>|<payload>              priority 0
 * 2|<priority>|<sha1>|<releaseTimestamp>|<enqueuedAt>|<j or z>|<payload>   any other priority
 * 3|<priority>|<group>|<sha1>|<releaseTimestamp>|<enqueuedAt>|<j or z>|<payload>   a groupKey
 * ```
 *
 * Version 3 is version 2 with the job's `groupKey` after the priority (any priority, 0 too),
 * escaped by {@link groupPart} (no `|`, `%`, `:`, braces, whitespace or control characters), the
 * same form the scripts use in the group's key names. Blobs of versions 1 and 2 decode as
 * `groupKey: null`.
 *
 * Version 2 is version 1 with the priority after the version: a priority-0 job is stored exactly
 * as before priorities existed (the same bytes, the same Lua fast paths), and a stored version-1
 * blob decodes as priority 0. The scripts tell the two apart by the first byte
 * (includes/header.lua).
 *
 * Base64 (not raw gzip bytes) keeps every reply a UTF-8 string, so replies need no Buffer mode.
 *
 * @packageDocumentation
 */
import { promisify } from 'node:util';
import { gunzip, gzip } from 'node:zlib';
import type { JsonObject, NormalizedJob, RootJob } from '../../core/job.js';
import { groupPart } from './keys.js';

const gzipAsync = promisify(gzip);
const gunzipAsync = promisify(gunzip);

/** What a stored job holds besides its id and its state. */
export interface StoredJob {
  /** 0 for a version-1 blob. */
  readonly priority: number;
  /** null for a version-1 or version-2 blob. */
  readonly groupKey: string | null;
  readonly sha1: string | null;
  readonly releaseTimestamp: number | null;
  readonly enqueuedAt: number;
  readonly params: JsonObject;
  readonly requestId: string | null;
  readonly rootJob: RootJob | null;
}

/** A stored job that cannot be decoded (a corrupted hash value, or a foreign writer). */
export class CorruptJobError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CorruptJobError';
  }
}

interface Payload {
  p: JsonObject;
  q?: string;
  r?: RootJob;
}

/**
 * Encodes a job for the data hash: synchronously, unless the payload is compressed.
 *
 * @param compressAbove - gzip the payload when its JSON is longer than this many bytes; null = never.
 */
export function encodeJob(
  job: NormalizedJob,
  enqueuedAt: number,
  compressAbove: number | null,
): string | Promise<string> {
  const payload: Payload = { p: job.params };
  if (job.requestId !== null) payload.q = job.requestId;
  if (job.rootJob !== null) payload.r = job.rootJob;
  const json = JSON.stringify(payload);
  const fields = `${job.sha1 ?? ''}|${job.releaseTimestamp ?? ''}|${enqueuedAt}|`;
  const head =
    job.groupKey !== null
      ? `3|${job.priority}|${groupPart(job.groupKey)}|${fields}`
      : job.priority === 0
        ? `1|${fields}`
        : `2|${job.priority}|${fields}`;
  // json.length ≤ byte length; compare bytes only when the cheap bound says it may matter.
  if (compressAbove !== null && json.length * 3 > compressAbove && Buffer.byteLength(json) > compressAbove) {
    return gzipAsync(json).then((zipped) => `${head}z|${zipped.toString('base64')}`);
  }
  return `${head}j|${json}`;
}

/**
 * Decodes a value of the data hash: synchronously, unless the payload is compressed.
 *
 * @throws {@link CorruptJobError} (thrown, or as the rejection of the returned promise) when it
 *   is not a job this backend wrote.
 */
export function decodeJob(blob: unknown): StoredJob | Promise<StoredJob> {
  if (typeof blob !== 'string') throw new CorruptJobError('unknown header');
  let start = 2;
  let priority = 0;
  let groupKey: string | null = null;
  const v3 = blob.startsWith('3|');
  if (v3 || blob.startsWith('2|')) {
    const end = blob.indexOf('|', 2);
    const text = end < 0 ? '' : blob.slice(2, end);
    priority = Number(text);
    if (!(v3 && text === '0') && (!/^-?[1-9]\d{0,6}$/.test(text) || !Number.isSafeInteger(priority))) {
      throw new CorruptJobError('bad priority in the header');
    }
    start = end + 1;
    if (v3) {
      const g = blob.indexOf('|', start);
      const part = g < 0 ? '' : blob.slice(start, g);
      if (part === '') throw new CorruptJobError('bad group key in the header');
      try {
        groupKey = decodeURIComponent(part);
      } catch {
        throw new CorruptJobError('bad group key in the header');
      }
      start = g + 1;
    }
  } else if (!blob.startsWith('1|')) {
    throw new CorruptJobError('unknown header');
  }
  const p1 = blob.indexOf('|', start);
  const p2 = p1 < 0 ? -1 : blob.indexOf('|', p1 + 1);
  const p3 = p2 < 0 ? -1 : blob.indexOf('|', p2 + 1);
  const p4 = p3 < 0 ? -1 : blob.indexOf('|', p3 + 1);
  if (p4 < 0 || p4 !== p3 + 2 || p3 === p2 + 1) throw new CorruptJobError('truncated header');
  const sha1 = blob.slice(start, p1);
  const release = blob.slice(p1 + 1, p2);
  const enqueuedAt = Number(blob.slice(p2 + 1, p3));
  const releaseTimestamp = release === '' ? null : Number(release);
  if (!Number.isFinite(enqueuedAt) || (releaseTimestamp !== null && !Number.isFinite(releaseTimestamp))) {
    throw new CorruptJobError('bad timestamps in the header');
  }
  const encoding = blob[p3 + 1];
  const header: Header = {
    priority,
    groupKey,
    sha1: sha1 === '' ? null : sha1,
    releaseTimestamp,
    enqueuedAt,
  };
  if (encoding === 'j') return decodePayload(header, blob.slice(p4 + 1));
  if (encoding === 'z') {
    return gunzipAsync(Buffer.from(blob.slice(p4 + 1), 'base64')).then(
      (json) => decodePayload(header, json.toString('utf8')),
      (err: unknown) => {
        throw new CorruptJobError(`gzip payload does not inflate: ${(err as Error).message}`);
      },
    );
  }
  throw new CorruptJobError(`unknown payload encoding ${JSON.stringify(encoding)}`);
}

type Header = Pick<StoredJob, 'priority' | 'groupKey' | 'sha1' | 'releaseTimestamp' | 'enqueuedAt'>;

function decodePayload(header: Header, json: string): StoredJob {
  let payload: unknown;
  try {
    payload = JSON.parse(json);
  } catch (err) {
    throw new CorruptJobError(`payload is not JSON: ${(err as Error).message}`);
  }
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
    throw new CorruptJobError('payload is not an object');
  }
  const { p, q, r } = payload as { p?: unknown; q?: unknown; r?: unknown };
  if (typeof p !== 'object' || p === null || Array.isArray(p)) {
    throw new CorruptJobError('params is not an object');
  }
  if (q !== undefined && typeof q !== 'string') throw new CorruptJobError('requestId is not a string');
  let rootJob: RootJob | null = null;
  if (r !== undefined) {
    const root = r as { signature?: unknown; timestamp?: unknown; isSelf?: unknown };
    if (typeof root !== 'object' || root === null || typeof root.signature !== 'string') {
      throw new CorruptJobError('rootJob is malformed');
    }
    if (typeof root.timestamp !== 'number') throw new CorruptJobError('rootJob.timestamp is not a number');
    rootJob =
      root.isSelf === true
        ? { signature: root.signature, timestamp: root.timestamp, isSelf: true }
        : { signature: root.signature, timestamp: root.timestamp };
  }
  return { ...header, params: p as JsonObject, requestId: q ?? null, rootJob };
}
