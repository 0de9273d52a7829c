/**
 * Signing and verifying job events (promises §4). Two schemes (see docs/eventbus.md):
 *
 * - `mediawiki`: MediaWiki EventBus's own. Hex HMAC-SHA1, keyed by the wiki secret, over the
 *   JSON of the whole event without `mediawiki_signature`, as PHP writes it (member order as
 *   built, unescaped slashes and Unicode; see ./php.ts), computed before `meta.dt` is set (the
 *   intake service adds it). Verification accepts the event as it is or without `meta.dt`.
 * - `switchyard-v1`: switchyard's earlier scheme. HMAC-SHA256 (hex) over the canonical JSON of a
 *   fixed subset (`database`, `type`, `params`, `meta.id`, `sha1`, `root_event`, `delay_until`;
 *   absent fields omitted), so intake-side edits of other fields (meta.dt, meta.stream) keep it
 *   valid.
 *
 * @packageDocumentation
 */
import { createHmac, createSecretKey, type KeyObject, timingSafeEqual } from 'node:crypto';
import { canonicalJson, type JsonValue } from '../core/job.js';
import { phpJson } from './php.js';
import type { JobEvent } from './schema.js';

/** How job events are signed and verified (see the module comment). */
export type SignatureMode = 'mediawiki' | 'switchyard-v1';

/** Every {@link SignatureMode}. */
export const SIGNATURE_MODES: readonly SignatureMode[] = Object.freeze(['mediawiki', 'switchyard-v1']);

let keyText: string | null = null;
let keyObject: KeyObject | null = null;

/** The HMAC key of `secret`, converted once (the last one is kept). */
export function hmacKey(secret: string): KeyObject {
  if (secret !== keyText || keyObject === null) {
    keyObject = createSecretKey(Buffer.from(secret, 'utf8'));
    keyText = secret;
  }
  return keyObject;
}

/**
 * The canonical JSON the signature covers, or null when `event` is not shaped like a job event
 * (not an object, or meta.id missing).
 */
export function signedPayload(event: unknown): string | null {
  if (typeof event !== 'object' || event === null || Array.isArray(event)) return null;
  const e = event as Record<string, unknown>;
  const meta = e.meta;
  if (typeof meta !== 'object' || meta === null || Array.isArray(meta)) return null;
  const id = (meta as Record<string, unknown>).id;
  if (typeof id !== 'string') return null;
  const subset: Record<string, unknown> = {};
  // Added in sorted order, so canonicalJson's fast path applies when the values are canonical too.
  for (const key of ['database', 'delay_until', 'meta', 'params', 'root_event', 'sha1', 'type'] as const) {
    if (key === 'meta') subset.meta = { id };
    else if (e[key] !== undefined) subset[key] = e[key];
  }
  try {
    return canonicalJson(subset as JsonValue);
  } catch {
    return null;
  }
}

/** HMAC-SHA256 (hex) of the signed subset of `event` with `secret` (the `switchyard-v1` scheme). */
function signV1(event: unknown, secret: string): string {
  const payload = signedPayload(event);
  if (payload === null) throw new TypeError('signJobEvent: not a job event (meta.id is missing)');
  return createHmac('sha256', hmacKey(secret)).update(payload).digest('hex');
}

/**
 * The signature of `event` with `secret` under `mode` (default `switchyard-v1`). `mediawiki`: hex
 * HMAC-SHA1 of {@link mediawikiSignedBytes} of the event as given (leave `meta.dt` out to sign
 * the way MediaWiki does).
 *
 * @throws TypeError for a value that is not a job event or that PHP could not encode.
 */
export function signJobEvent(
  event: Omit<JobEvent, 'mediawiki_signature'> | JobEvent,
  secret: string,
  mode: SignatureMode = 'switchyard-v1',
): string {
  if (mode === 'switchyard-v1') return signV1(event, secret);
  return createHmac('sha1', hmacKey(secret)).update(mediawikiSignedBytes(event)).digest('hex');
}

/**
 * True iff `event` carries a `mediawiki_signature` made with `secret` (constant-time comparison).
 * `mode`: the scheme to accept; null accepts either, told apart by length (40 hex digits:
 * `mediawiki`, 64: `switchyard-v1`). A forged, altered or unsigned event, or a non-event, is
 * false. Checks the signature only; validate the shape with `validateJobEvent`.
 */
export function verifyJobEvent(
  event: unknown,
  secret: string,
  mode: SignatureMode | null = 'switchyard-v1',
): boolean {
  if (typeof secret !== 'string' || secret.length === 0) return false;
  if (typeof event !== 'object' || event === null || Array.isArray(event)) return false;
  const claimed = (event as Record<string, unknown>).mediawiki_signature;
  if (typeof claimed !== 'string') return false;
  if (claimed.length === 40 && (mode === null || mode === 'mediawiki')) {
    return verifyMediaWiki(event as Record<string, unknown>, claimed, secret);
  }
  if (claimed.length === 64 && (mode === null || mode === 'switchyard-v1')) {
    if (!/^[0-9a-f]{64}$/.test(claimed)) return false;
    const payload = signedPayload(event);
    if (payload === null) return false;
    const expected = createHmac('sha256', hmacKey(secret)).update(payload).digest();
    return timingSafeEqual(expected, Buffer.from(claimed, 'hex'));
  }
  return false;
}

// ---------------------------------------------------------------------------------------------
// The `mediawiki` scheme: MediaWiki EventBus's signEvent, reproduced byte for byte.

/**
 * The bytes MediaWiki signs for `event`: PHP's JSON (./php.ts) of every member but
 * `mediawiki_signature`, in the event's own order.
 *
 * @throws TypeError for a non-object or what PHP could not encode.
 */
export function mediawikiSignedBytes(event: unknown): string {
  if (typeof event !== 'object' || event === null || Array.isArray(event)) {
    throw new TypeError('mediawikiSignedBytes: not a job event (not an object)');
  }
  const record = event as Record<string, unknown>;
  const rest: Record<string, unknown> = {};
  for (const key of Object.keys(record)) if (key !== 'mediawiki_signature') rest[key] = record[key];
  return phpJson(rest);
}

function hmacSha1(bytes: string, secret: string): Buffer {
  return createHmac('sha1', hmacKey(secret)).update(bytes).digest();
}

/**
 * The event without `meta.dt` (intake adds it after signing: MediaWiki since July 2025, T267648,
 * and switchyard), then, when that fails, as it is (older MediaWiki signed with `meta.dt` in).
 */
function verifyMediaWiki(event: Record<string, unknown>, claimed: string, secret: string): boolean {
  if (!/^[0-9a-f]{40}$/.test(claimed)) return false;
  const want = Buffer.from(claimed, 'hex');
  const meta = event.meta;
  const dated = typeof meta === 'object' && meta !== null && !Array.isArray(meta) && 'dt' in meta;
  const tries: Array<Record<string, unknown>> = [event];
  if (dated) {
    const { dt: _dt, ...undated } = meta as Record<string, unknown>;
    const copy: Record<string, unknown> = {};
    for (const key of Object.keys(event)) copy[key] = key === 'meta' ? undated : event[key];
    tries.unshift(copy);
  }
  for (const candidate of tries) {
    let bytes: string;
    try {
      bytes = mediawikiSignedBytes(candidate);
    } catch {
      return false;
    }
    if (timingSafeEqual(hmacSha1(bytes, secret), want)) return true;
  }
  return false;
}
