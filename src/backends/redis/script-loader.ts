/**
 * Loads the Redis backend's Lua scripts (`scripts/<op>-<nKeys>.lua`, shared fragments in
 * `scripts/includes/`) and runs them with EVALSHA, falling back to EVAL when the server does not
 * know the script (NOSCRIPT: first use, a restart, a `SCRIPT FLUSH`, a failover). EVAL caches the
 * script on the server, so the fallback costs one extra round trip per script and server.
 *
 * The `.lua` files are read relative to this module. `tsc` does not copy them; when the compiled
 * module runs from `dist/` and no copy sits beside it, the files are read from `src/` (a
 * development build). A published package must copy `src/backends/redis/scripts` to
 * `dist/backends/redis/scripts` in its build step.
 *
 * @packageDocumentation
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** One loaded script: its source with includes inlined, and that source's SHA-1. */
export interface LuaScript {
  /** The file name without `.lua`, e.g. `pop-11`. */
  readonly name: string;
  /** How many KEYS the script takes (the number after the last dash). */
  readonly numberOfKeys: number;
  readonly source: string;
  readonly sha1: string;
}

const INCLUDE = /^--- @include "([\w./-]+)"\s*$/gm;

/** The folder holding the `.lua` files: beside this module, else the `src/` copy. */
function scriptsDir(): URL {
  const here = new URL('./scripts/', import.meta.url);
  if (existsSync(fileURLToPath(here))) return here;
  // Running from dist/backends/redis/ without copied scripts: use src/backends/redis/scripts/.
  const fromSource = new URL('../../../src/backends/redis/scripts/', import.meta.url);
  if (existsSync(fileURLToPath(fromSource))) return fromSource;
  throw new Error(
    `switchyard redis backend: Lua scripts not found at ${fileURLToPath(here)} ` +
      '(copy src/backends/redis/scripts there in the build step)',
  );
}

/** Reads `<name>.lua` from `dir` and inlines its `--- @include "…"` lines (each file once). */
function readScript(dir: URL, name: string): string {
  const seen = new Set<string>();
  const expand = (file: string): string => {
    const text = readFileSync(new URL(`${file}.lua`, dir), 'utf8');
    return text.replace(INCLUDE, (_line, include: string) => {
      if (seen.has(include)) return '';
      seen.add(include);
      return expand(include).trimEnd();
    });
  };
  return expand(name);
}

/** Loads one script by file name (`pop-11`). */
function load(dir: URL, name: string): LuaScript {
  const m = /-(\d+)$/.exec(name);
  if (!m) throw new Error(`switchyard redis backend: script name ${name} lacks its -<nKeys> suffix`);
  const source = readScript(dir, name);
  return Object.freeze({
    name,
    numberOfKeys: Number(m[1]),
    source,
    sha1: createHash('sha1').update(source).digest('hex'),
  });
}

/** Every script of the backend, by operation. */
export interface Scripts {
  readonly push: LuaScript;
  readonly pushPlain: LuaScript;
  readonly pop: LuaScript;
  readonly ack: LuaScript;
  readonly release: LuaScript;
  readonly extend: LuaScript;
  readonly maintenance: LuaScript;
  readonly delete: LuaScript;
  readonly repush: LuaScript;
  readonly registerRoot: LuaScript;
  readonly promote: LuaScript;
  readonly size: LuaScript;
  readonly stats: LuaScript;
  readonly ackPop: LuaScript;
  readonly giveBack: LuaScript;
  readonly resume: LuaScript;
  readonly tick: LuaScript;
  readonly cancel: LuaScript;
  readonly pushFlow: LuaScript;
}

/** Delayed jobs promoted per pop call, and jobs per maintenance / repush / listing step. */
export const STEP_LIMIT = 1000;

let cached: Scripts | null = null;

/** Reads every script once per process (synchronously, on first use). */
export function scripts(): Scripts {
  if (cached) return cached;
  const dir = scriptsDir();
  cached = Object.freeze({
    push: load(dir, 'push-7'),
    pushPlain: load(dir, 'push-plain-2'),
    pop: load(dir, 'pop-11'),
    ack: load(dir, 'ack-4'),
    release: load(dir, 'release-11'),
    extend: load(dir, 'extend-2'),
    maintenance: load(dir, 'maintenance-11'),
    delete: load(dir, 'delete-11'),
    repush: load(dir, 'repush-7'),
    registerRoot: load(dir, 'register-root-1'),
    promote: load(dir, 'promote-6'),
    size: load(dir, 'size-3'),
    stats: load(dir, 'stats-6'),
    ackPop: load(dir, 'ackpop-11'),
    resume: load(dir, 'resume-4'),
    tick: load(dir, 'tick-1'),
    giveBack: load(dir, 'giveback-8'),
    cancel: load(dir, 'cancel-10'),
    pushFlow: load(dir, 'pushflow-6'),
  });
  return cached;
}

/** True when `err` is Redis's "NOSCRIPT No matching script" reply. */
export function isNoScript(err: unknown): boolean {
  return err instanceof Error && err.message.startsWith('NOSCRIPT');
}

/**
 * EVALSHA's arguments for `script`: its SHA-1, the key count, the keys, then `args`, in one array
 * built without intermediate copies (the hot path). Replacing element 0 by the source makes them
 * EVAL's.
 *
 * @throws TypeError when `keys` does not match the script's key count.
 */
export function scriptArgv(
  script: LuaScript,
  keys: readonly string[],
  args: readonly (string | number)[],
): (string | number)[] {
  const nKeys = keys.length;
  if (nKeys !== script.numberOfKeys) {
    throw new TypeError(`script ${script.name} takes ${script.numberOfKeys} keys, got ${nKeys}`);
  }
  const argv: (string | number)[] = new Array(2 + nKeys + args.length);
  argv[0] = script.sha1;
  argv[1] = nKeys;
  for (let i = 0; i < nKeys; i++) argv[2 + i] = keys[i] as string;
  for (let i = 0, base = 2 + nKeys; i < args.length; i++) argv[base + i] = args[i] as string | number;
  return argv;
}
