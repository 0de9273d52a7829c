/**
 * What every CLI command shares: config loading, the farm, the handlers module, output, logging
 * and error reporting.
 *
 * @packageDocumentation
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { setSqlDriverLogger } from '../backends/sql/driver-log.js';
import { DEFAULT_SQLITE_FILE } from '../backends/sql/settings.js';
import { createFarmWithAggregator, loadConfig, resolveConfig } from '../container.js';
import { findConfigFile } from '../core/config.js';
import type { ResolvedConfig } from '../core/config-types.js';
import { isSwitchyardError } from '../core/errors.js';
import type { JobQueueFarm } from '../core/farm.js';
import type { JobQueueGroup } from '../core/job-queue-group.js';
import type { MetricsSink } from '../core/metrics.js';
import { defineHandlers, HandlerRegistry, type JobHandler, type RunnerLogger } from '../runner/handlers.js';
import { CliError, ExitCode } from './exit-codes.js';

/** Options every command takes. */
export interface CommonOptions {
  readonly config?: string;
  readonly domain?: string;
  readonly verbose?: boolean;
  readonly json?: boolean;
}

/** Hides the password of any `scheme://user:password@host` in a message. */
export function scrub(text: string): string {
  return text.replace(/([a-z][a-z0-9+.-]*:\/\/[^:/\s@]*:)[^@\s]+@/gi, '$1***@');
}

/** One line for an error (multi-line messages, such as config issue lists, are joined). */
export function oneLine(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return scrub(
    text
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l.length > 0)
      .join(' '),
  );
}

/** The stack and cause chain, for `--verbose`. */
export function details(err: unknown): string {
  const parts: string[] = [];
  let e: unknown = err;
  for (let depth = 0; e !== undefined && e !== null && depth < 5; depth++) {
    parts.push(e instanceof Error ? (e.stack ?? e.message) : String(e));
    e = e instanceof Error ? e.cause : undefined;
    if (e !== undefined) parts.push('caused by:');
  }
  return scrub(parts.join('\n'));
}

/** Said once per process when no config file is found and the defaults are used. */
let announcedDefaults = false;

/** Where a config without a file comes from (the `source` of its messages). */
export const NO_CONFIG_SOURCE = '(no config file: defaults)';

/**
 * Loads the config: `--config`, else `$SWITCHYARD_CONFIG`, else `switchyard.config.{yaml,yml,json}`
 * in the working directory, else (none of them) the built-in defaults: every type in the embedded
 * SQLite queue `./switchyard.sqlite`, said once on stderr.
 *
 * @throws `SWITCHYARD_CONFIG_INVALID` (exit code 3) when a named file does not exist, or a file is
 *   invalid.
 */
export async function loadCliConfig(options: CommonOptions): Promise<ResolvedConfig> {
  // Every command loads its config first: from here on the SQL driver's own notices (a dropped
  // PostgreSQL session) are logger lines on stderr.
  setSqlDriverLogger(cliLogger(options.verbose === true));
  const path = options.config ?? process.env.SWITCHYARD_CONFIG;
  if (path !== undefined && path !== '') {
    if (!existsSync(resolve(path))) {
      throw new CliError(ExitCode.CONFIG, `config file not found: ${path}`);
    }
    return loadConfig({ path });
  }
  try {
    await findConfigFile(process.cwd());
  } catch (err) {
    if (!isSwitchyardError(err)) throw err;
    if (!announcedDefaults) {
      announcedDefaults = true;
      process.stderr.write(
        `switchyard: no config file in ${process.cwd()}: using the embedded SQLite queue ${DEFAULT_SQLITE_FILE} (switchyard init writes a starter config)\n`,
      );
    }
    return resolveConfig({}, { source: NO_CONFIG_SOURCE });
  }
  return loadConfig({});
}

/** The config, a farm over it, and the group of `--domain`. */
export interface CliContext {
  readonly config: ResolvedConfig;
  readonly farm: JobQueueFarm;
  readonly domain: string;
  group(): JobQueueGroup;
  close(): Promise<void>;
}

/** Loads the config and opens a farm (no connection is opened until a queue needs one). */
export async function openContext(
  options: CommonOptions,
  farmOptions: { readonly metrics?: MetricsSink } = {},
): Promise<CliContext> {
  const config = await loadCliConfig(options);
  const domain = options.domain ?? config.defaultDomain;
  // With an `aggregator` section the queues notify it and `chron` rebuilds it (promises §7).
  const farm = await createFarmWithAggregator(config, farmOptions);
  return {
    config,
    farm,
    domain,
    group: () => farm.group(domain),
    close: () => farm.close(),
  };
}

/** True when the config names its job types (then an unlisted type is an error). */
function declaresTypes(config: ResolvedConfig): boolean {
  return config.jobTypes.length > 0 || Object.keys(config.jobTypeConf).some((k) => k !== 'default');
}

/**
 * Checks that `type` is a type the config knows (when it declares any).
 *
 * @throws CliError (exit code 2) naming the known types.
 */
export function assertKnownType(group: JobQueueGroup, type: string, extra: readonly string[] = []): void {
  if (!declaresTypes(group.config)) return;
  const known = [...new Set([...group.getQueueTypes(), ...extra])];
  if (!known.includes(type)) {
    throw new CliError(ExitCode.USAGE, `unknown job type "${type}" (known: ${known.join(', ') || 'none'})`);
  }
}

function isRegistryLike(value: unknown): value is Pick<HandlerRegistry, 'get' | 'has' | 'types'> {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return typeof v.get === 'function' && typeof v.has === 'function' && typeof v.types === 'function';
}

/** A handler object (`{ run }`) or a plain function `(job, ctx) => …`. */
function asHandler(value: unknown): JobHandler<string> | null {
  if (typeof value === 'function') {
    const fn = value as JobHandler<string>['run'];
    return { run: (job, ctx) => fn(job, ctx) };
  }
  if (typeof value === 'object' && value !== null && typeof (value as { run?: unknown }).run === 'function') {
    return value as JobHandler<string>;
  }
  return null;
}

/** A map of type → handler object or plain function; null when `value` is not one (or is empty). */
function handlerMap(value: unknown): Record<string, JobHandler<string>> | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return null;
  const out: Record<string, JobHandler<string>> = {};
  for (const [type, h] of Object.entries(value)) {
    const handler = asHandler(h);
    if (handler === null) return null;
    out[type] = handler;
  }
  return Object.keys(out).length > 0 ? out : null;
}

function fromRegistryLike(candidate: Pick<HandlerRegistry, 'get' | 'has' | 'types'>): HandlerRegistry {
  // A registry built by another copy of switchyard (e.g. the package next to the module).
  const out = new HandlerRegistry();
  for (const type of candidate.types()) {
    const h = candidate.get(type);
    if (h) out.register(type, h);
  }
  return out;
}

/**
 * Imports the `--handlers` module and returns its registry. Accepted, in this order: the default
 * export or a `handlers` export, either a {@link HandlerRegistry} (from `defineHandlers`) or a plain
 * map of type → handler (`{ run }` objects or plain functions `async (job, ctx) => …`); else the
 * module's named exports, each a handler object or function named after its type.
 *
 * @throws CliError (exit code 5) when the module is missing, fails to load or exports no handlers.
 */
export async function loadHandlers(spec: string | undefined): Promise<HandlerRegistry> {
  if (spec === undefined || spec === '') {
    throw new CliError(ExitCode.USAGE, 'missing --handlers <module>: the module exporting the job handlers');
  }
  const file = resolve(spec);
  if (!existsSync(file)) throw new CliError(ExitCode.HANDLERS, `handlers module not found: ${spec}`);
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  } catch (err) {
    throw new CliError(ExitCode.HANDLERS, `handlers module ${spec} failed to load: ${oneLine(err)}`, {
      cause: err,
    });
  }
  for (const candidate of [mod.default, mod.handlers]) {
    if (candidate instanceof HandlerRegistry) return candidate;
    if (isRegistryLike(candidate)) return fromRegistryLike(candidate);
    const map = handlerMap(candidate);
    if (map) return defineHandlers(map);
  }
  const named = Object.fromEntries(
    Object.entries(mod).filter(([k, v]) => k !== 'default' && k !== 'handlers' && asHandler(v) !== null),
  );
  const map = handlerMap(named);
  if (map) return defineHandlers(map);
  throw new CliError(
    ExitCode.HANDLERS,
    `handlers module ${spec} exports no handlers: export default { type: async (job) => { … } }, defineHandlers({ type: { run } }), or one function per type`,
  );
}

/** A runner logger writing one line per entry to stderr; debug and info only with `--verbose`. */
export function cliLogger(verbose: boolean): RunnerLogger {
  const line = (level: string, message: string, fields?: Record<string, unknown>): void => {
    const extra = fields && Object.keys(fields).length > 0 ? ` ${JSON.stringify(fields)}` : '';
    process.stderr.write(`${level}: ${scrub(message + extra)}\n`);
  };
  return {
    debug: (m, f) => {
      if (verbose) line('debug', m, f);
    },
    info: (m, f) => {
      if (verbose) line('info', m, f);
    },
    warn: (m, f) => line('warn', m, f),
    error: (m, f) => line('error', m, f),
  };
}

/** Writes `value` as JSON (with `--json`) or `text` to stdout. */
export function output(options: CommonOptions, value: unknown, text: string | (() => string)): void {
  if (options.json) process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
  else {
    const t = typeof text === 'function' ? text() : text;
    if (t.length > 0) process.stdout.write(t.endsWith('\n') ? t : `${t}\n`);
  }
}
