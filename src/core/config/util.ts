/**
 * The small checks and helpers the config resolver is built from.
 */
import type { BackendModule, SettingsResolver } from '../backend.js';
import { isPlainObject } from '../checks.js';
import { ErrorCode, type Issue, isSwitchyardError, SwitchyardError } from '../errors.js';

export type Mutable<T> = { -readonly [K in keyof T]: T[K] };

export function checkReadOnlyReason(value: unknown, path: string, issues: Issue[]): string | null {
  if (value === undefined || value === null || value === '') return null;
  if (typeof value !== 'string') {
    issues.push({ path, message: 'must be a string (the reason) or null', value });
    return null;
  }
  return value;
}

/** A list of non-empty strings (null or absent = empty); duplicates collapse. */
export function checkNameList(value: unknown, path: string, issues: Issue[]): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) {
    issues.push({ path, message: 'must be a list of names', value });
    return [];
  }
  const out: string[] = [];
  value.forEach((item: unknown, i) => {
    if (typeof item !== 'string' || item.length === 0) {
      issues.push({ path: `${path}[${i}]`, message: 'must be a non-empty string', value: item });
    } else if (!out.includes(item)) out.push(item);
  });
  return out;
}

/** A mapping (null or absent = empty). */
export function checkRecord(value: unknown, path: string, issues: Issue[]): Record<string, unknown> {
  if (value === undefined || value === null) return {};
  if (!isPlainObject(value)) {
    issues.push({ path, message: 'must be a mapping of names to entries', value });
    return {};
  }
  return value;
}

/** Runs a backend's validator; a validator that throws or returns garbage is itself an issue. */
export function callValidator(run: () => readonly Issue[] | undefined, path: string, what: string): Issue[] {
  try {
    const result = run();
    if (result === undefined) return [];
    if (!Array.isArray(result)) return [{ path, message: `${what} did not return a list of issues` }];
    return [...result];
  } catch (err) {
    return [{ path, message: `${what} threw: ${err instanceof Error ? err.message : String(err)}` }];
  }
}

/** Runs a backend's resolveSettings; a resolver that throws or returns garbage is itself an issue. */
export async function callResolver(
  backend: BackendModule,
  settings: Record<string, unknown>,
  path: string,
  resolver: SettingsResolver,
): Promise<{ settings: Record<string, unknown>; issues: Issue[] }> {
  try {
    const r = await backend.resolveSettings?.(settings, path, resolver);
    if (!r || !isPlainObject(r.settings) || !Array.isArray(r.issues)) {
      return { settings, issues: [{ path, message: "the backend's resolveSettings returned no settings" }] };
    }
    return { settings: r.settings, issues: [...r.issues] };
  } catch (err) {
    const detail = err instanceof Error ? err.message : String(err);
    return { settings, issues: [{ path, message: `the backend's resolveSettings threw: ${detail}` }] };
  }
}

/** Re-reports a registry load failure under the config path that named the class. */
export function loadIssues(error: unknown, path: string, name: string): Issue[] {
  if (isSwitchyardError(error, ErrorCode.CONFIG_INVALID) && error.issues.length > 0) {
    return error.issues.map((i) => {
      const out: Mutable<Issue> = { path, message: i.message };
      if ('value' in i) out.value = i.value;
      if (i.choices) out.choices = i.choices;
      return out;
    });
  }
  const detail = error instanceof Error ? error.message : String(error);
  return [{ path, message: `backend class could not be loaded: ${detail}`, value: name }];
}

export function join(path: string, key: string): string {
  if (key === '') return `${path}[""]`;
  return path === '' ? key : `${path}.${key}`;
}

/** Freezes plain objects and arrays recursively; host objects (class instances) are left alone. */
export function deepFreeze<T>(value: T): T {
  if (Array.isArray(value) || isPlainObject(value)) {
    if (Object.isFrozen(value)) return value;
    Object.freeze(value);
    for (const v of Object.values(value as object)) deepFreeze(v);
  }
  return value;
}

export function withCause(error: SwitchyardError, cause: unknown): SwitchyardError {
  return new SwitchyardError(error.code, error.message, { issues: error.issues, cause });
}
