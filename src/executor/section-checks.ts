/**
 * The small checks every part of the executor section shares: unknown keys, numbers with a
 * bound, name lists, topic names.
 *
 * @packageDocumentation
 */
import type { Issue } from '../core/errors.js';

/** A mapping of the section as written. */
export type Raw = Record<string, unknown>;

/** A Kafka topic name. */
export const TOPIC = /^[A-Za-z0-9._-]{1,249}$/;

export function unknownKeys(
  obj: Raw,
  allowed: readonly string[],
  path: string,
  issues: Issue[],
  what: string,
): void {
  for (const key of Object.keys(obj)) {
    if (!allowed.includes(key))
      issues.push({ path: `${path}.${key}`, message: `is not ${what}`, choices: allowed });
  }
}

export function checkNumber(
  v: unknown,
  path: string,
  issues: Issue[],
  opts: { min: number; integer?: boolean; exclusive?: boolean; unit?: string },
): void {
  if (v === undefined) return;
  const ok =
    typeof v === 'number' &&
    Number.isFinite(v) &&
    (opts.exclusive ? v > opts.min : v >= opts.min) &&
    (!opts.integer || Number.isInteger(v));
  if (!ok) {
    const what = opts.integer ? 'an integer' : `${opts.unit ?? 'a number'}`;
    issues.push({ path, message: `must be ${what} ${opts.exclusive ? '>' : '≥'} ${opts.min}`, value: v });
  }
}

export function checkStringList(v: unknown, path: string, issues: Issue[], pattern?: RegExp): void {
  if (v === undefined) return;
  if (
    !Array.isArray(v) ||
    !v.every((t) => typeof t === 'string' && t.length > 0 && (!pattern || pattern.test(t)))
  ) {
    issues.push({ path, message: 'must be a list of names', value: v });
  }
}

/** `v` when it is a number, else `fallback`. */
export function num(v: unknown, fallback: number): number {
  return typeof v === 'number' ? v : fallback;
}
