/**
 * `${NAME}` / `${NAME:-default}` interpolation of a raw config, and the redaction that keeps values
 * taken from the environment out of every message.
 */
import { isPlainObject } from '../checks.js';
import type { Issue } from '../errors.js';
import { isBackendModule } from './types.js';
import { join, type Mutable } from './util.js';

/** Secrets shorter than this are not scrubbed from free-text messages (they would garble them). */
const MIN_SCRUB_LENGTH = 4;

/** What interpolation found, for redaction and to avoid cascading issues. */
export interface Interpolation {
  /** Path of every string that contained `${…}` → the variable names it used. */
  readonly paths: Map<string, string[]>;
  /** Values taken from the environment (never printed). */
  readonly secrets: Set<string>;
  /** Paths whose interpolation failed; other issues at these paths are dropped. */
  readonly failed: Set<string>;
  readonly issues: Issue[];
}

const VARIABLE = /^([A-Za-z_][A-Za-z0-9_]*)(?::-([\s\S]*))?$/;

function interpolateString(
  text: string,
  path: string,
  env: Readonly<Record<string, string | undefined>>,
  state: Interpolation,
): string {
  if (!text.includes('${')) return text;
  let out = '';
  let i = 0;
  const vars: string[] = [];
  let used = false;
  while (i < text.length) {
    const start = text.indexOf('${', i);
    if (start < 0) {
      out += text.slice(i);
      break;
    }
    if (start > 0 && text[start - 1] === '$') {
      // `$${` is a literal `${`.
      out += `${text.slice(i, start - 1)}\${`;
      i = start + 2;
      continue;
    }
    out += text.slice(i, start);
    used = true;
    const end = text.indexOf('}', start + 2);
    if (end < 0) {
      state.issues.push({ path, message: `has an unterminated \${ (write \${NAME} or \${NAME:-default})` });
      state.failed.add(path);
      break;
    }
    const inner = text.slice(start + 2, end);
    const m = VARIABLE.exec(inner);
    if (!m) {
      state.issues.push({
        path,
        message: `has a malformed interpolation \${${inner}} (write \${NAME} or \${NAME:-default}; NAME is letters, digits and _)`,
      });
      state.failed.add(path);
      i = end + 1;
      continue;
    }
    const name = m[1] as string;
    const fallback = m[2];
    vars.push(name);
    const value = env[name];
    if (value !== undefined && (value !== '' || fallback === undefined)) {
      state.secrets.add(value);
      out += value;
    } else if (fallback !== undefined) {
      out += fallback;
    } else {
      state.issues.push({
        path,
        message: `uses environment variable ${name}, which is not set (write \${${name}:-default} to give a default)`,
      });
      state.failed.add(path);
    }
    i = end + 1;
  }
  if (used) state.paths.set(path, vars);
  return out;
}

/** Copies plain objects and arrays (never mutating or freezing the caller's), interpolating strings. */
export function interpolateTree(
  value: unknown,
  path: string,
  env: Readonly<Record<string, string | undefined>>,
  state: Interpolation,
  ancestors: Set<object>,
): unknown {
  if (typeof value === 'string') return interpolateString(value, path, env, state);
  // Inline backend modules are kept by reference (their identity matters), like host objects.
  if ((!Array.isArray(value) && !isPlainObject(value)) || isBackendModule(value)) return value;
  if (ancestors.has(value)) {
    state.issues.push({ path, message: 'is a circular reference' });
    state.failed.add(path);
    return null;
  }
  ancestors.add(value);
  // A getter (or a proxy trap) of a config built in code may throw: an issue at its path, never
  // the host's exception out of resolveConfig. Later phases see the plain copy, never a getter.
  const read = (get: () => unknown, at: string): unknown => {
    try {
      return interpolateTree(get(), at, env, state, ancestors);
    } catch (err) {
      const text = err instanceof Error ? err.message : String(err);
      state.issues.push({ path: at, message: `cannot be read: ${text.slice(0, 120)}` });
      state.failed.add(at);
      return null;
    }
  };
  let copy: unknown;
  try {
    if (Array.isArray(value)) {
      copy = Array.from({ length: value.length }, (_, i) => read(() => value[i], `${path}[${i}]`));
    } else {
      copy = Object.fromEntries(Object.keys(value).map((k) => [k, read(() => value[k], join(path, k))]));
    }
  } catch (err) {
    const text = err instanceof Error ? err.message : String(err);
    state.issues.push({ path, message: `cannot be read: ${text.slice(0, 120)}` });
    state.failed.add(path);
    copy = null;
  }
  ancestors.delete(value);
  return copy;
}

/** True when `path` is `base` or below it, for any base in `bases`. */
export function isUnder(path: string, bases: ReadonlySet<string>): boolean {
  for (const base of bases) {
    const r = related(path, base);
    if (r === 'same' || r === 'below') return true;
  }
  return false;
}

function related(path: string, other: string): 'same' | 'below' | 'above' | null {
  if (path === other) return 'same';
  if (other === '' || path.startsWith(`${other}.`) || path.startsWith(`${other}[`)) return 'below';
  if (path === '' || other.startsWith(`${path}.`) || other.startsWith(`${path}[`)) return 'above';
  return null;
}

/**
 * Keeps environment values out of an issue: drops `value` when the issue's path is, contains or is
 * inside an interpolated string (naming the variables instead), and scrubs any environment value
 * from the message, value or choices a validator may have echoed.
 */
export function redact(issue: Issue, state: Interpolation): Issue {
  if (state.paths.size === 0) return issue;
  const vars = new Set<string>();
  for (const [p, names] of state.paths) {
    if (related(issue.path, p) !== null) for (const n of names) vars.add(n);
  }
  const scrub = (text: string): string => {
    let clean = text;
    for (const secret of state.secrets) {
      if (secret.length >= MIN_SCRUB_LENGTH) clean = clean.split(secret).join('***');
    }
    return clean;
  };
  const out: Mutable<Issue> = { path: issue.path, message: scrub(issue.message) };
  // Choices can echo the environment too (`defaultDomain` lists `domains`, one of them ${VAR}).
  if (issue.choices) out.choices = issue.choices.map(scrub);
  let hidden = false;
  if ('value' in issue) {
    if (vars.size > 0 || containsSecret(issue.value, state.secrets)) hidden = true;
    else out.value = issue.value;
  }
  if (hidden) {
    const from = vars.size > 0 ? `from ${[...vars].map((v) => `\${${v}}`).join(', ')} ` : '';
    out.message = `${out.message} (value ${from}not shown)`;
  }
  return out;
}

function containsSecret(value: unknown, secrets: ReadonlySet<string>): boolean {
  if (secrets.size === 0) return false;
  let text: string;
  try {
    text = typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value));
  } catch {
    return true; // cannot tell: err on the side of not showing it
  }
  for (const s of secrets) if (s.length > 0 && text.includes(s)) return true;
  return false;
}
