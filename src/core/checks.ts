/**
 * The small helpers that validators and loops all over the house need, in one place (config,
 * sections, backend settings, the CLI, runners and the executor used to carry their own copies).
 */
import type { Issue } from './errors.js';

/** Any non-null, non-array object (a parsed YAML/JSON mapping, or a settings object of any class). */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A plain object only: a literal or parsed mapping (prototype `Object.prototype` or null), no class instance. */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (!isRecord(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * Kafka bootstrap brokers as a list: a comma-separated string or an array of `host:port`
 * strings. Null when any entry is not `host:port` or the list is empty.
 */
export function brokerList(value: unknown): string[] | null {
  const list = typeof value === 'string' ? value.split(',') : Array.isArray(value) ? value : null;
  if (list === null) return null;
  const out = list.map((b: unknown) => (typeof b === 'string' ? b.trim() : ''));
  return out.length > 0 && out.every((b) => /^[^\s:]+:\d+$/.test(b)) ? out : null;
}

/**
 * `text` with a URL password replaced by `***`, for messages, logs and store keys. Text that does
 * not parse as a URL has everything between `//` and `@` masked (it may be a bare password).
 */
export function redactUrl(text: string): string {
  try {
    const url = new URL(text);
    if (url.password !== '') url.password = '***';
    return url.toString();
  } catch {
    return text.replace(/\/\/[^@/\s]*@/, '//***@');
  }
}

/**
 * Waits `ms` or until `signal` aborts, whichever comes first; true when the time elapsed, false
 * when aborted. Leaves no listener on the signal either way (a long-lived stop signal shared by
 * many waits would otherwise collect one per wait).
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<boolean> {
  if (signal?.aborted) return Promise.resolve(false);
  if (ms <= 0) return Promise.resolve(true);
  return new Promise((resolve) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** What a config-section parser returns: the typed value and every problem, from one walk. */
export interface Parsed<T> {
  readonly value: T;
  readonly issues: readonly Issue[];
}

/** A config-section parser: the section as written (interpolated) in, {@link Parsed} out. */
export type SectionParser<T> = (value: unknown, path: string) => Parsed<T>;

/**
 * `parse`, remembered per section object (graphile-worker's compile-once): `loadConfig` runs it
 * to report the section's issues, and the reader of the frozen `config.sections.<key>` later gets
 * the same typed value without walking the tree again. A section that is not frozen (its owner
 * may still change it) and a primitive are parsed afresh on every call.
 */
export function parsedOnce<T>(parse: SectionParser<T>): SectionParser<T> {
  const seen = new WeakMap<object, { readonly path: string; readonly parsed: Parsed<T> }>();
  return (value, path) => {
    if (typeof value !== 'object' || value === null) return parse(value, path);
    const hit = seen.get(value);
    if (hit !== undefined && hit.path === path && Object.isFrozen(value)) return hit.parsed;
    const parsed = parse(value, path);
    seen.set(value, { path, parsed });
    return parsed;
  };
}
