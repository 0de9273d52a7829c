/**
 * Finding, reading and parsing config files (YAML 1.2 or strict JSON) before they are resolved.
 */
import { readFile, stat } from 'node:fs/promises';
import { extname, resolve as resolvePath } from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import type { ResolvedConfig } from '../config-types.js';
import { configInvalid, type Issue } from '../errors.js';
import { resolveConfig } from './resolve.js';
import { CONFIG_FILE_NAMES, type LoadConfigOptions } from './types.js';
import { withCause } from './util.js';

/** Syntax errors reported per file. */
const MAX_SYNTAX_ERRORS = 5;

/**
 * Finds, reads and parses the config file, then {@link resolveConfig resolves} it.
 *
 * @remarks Without `path`, looks in `cwd` for `switchyard.config.yaml`, then `.yml`, then
 * `switchyard.config.json`. A `.json` file is parsed as strict JSON (duplicate keys are errors);
 * anything else as YAML 1.2. An empty file is an empty config (every default).
 * @throws `SWITCHYARD_CONFIG_INVALID` when no file is found, the file cannot be parsed, or the
 *   config is wrong (every problem in one error).
 */
export async function loadConfig(options: LoadConfigOptions): Promise<ResolvedConfig> {
  const cwd = options.cwd ?? process.cwd();
  const file = options.path === undefined ? await findConfigFile(cwd) : resolvePath(cwd, options.path);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    const message = code === 'ENOENT' ? 'config file not found' : 'config file cannot be read';
    throw withCause(configInvalid([{ path: '', message, value: file }], `switchyard config ${file}`), err);
  }
  const raw = parseConfigText(text, extname(file).toLowerCase() === '.json' ? 'json' : 'yaml', file);
  return resolveConfig(raw, {
    source: file,
    registry: options.registry,
    ...(options.env === undefined ? {} : { env: options.env }),
    ...(options.sections === undefined ? {} : { sections: options.sections }),
  });
}

/**
 * The first of {@link CONFIG_FILE_NAMES} that exists in `cwd`.
 *
 * @throws `SWITCHYARD_CONFIG_INVALID` listing the names looked for when none exists.
 */
export async function findConfigFile(cwd: string): Promise<string> {
  for (const name of CONFIG_FILE_NAMES) {
    const file = resolvePath(cwd, name);
    try {
      if ((await stat(file)).isFile()) return file;
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') return file; // there but unreadable: loadConfig says so
    }
  }
  throw configInvalid(
    [{ path: '', message: `no config file in ${cwd}`, choices: CONFIG_FILE_NAMES }],
    'switchyard config',
  );
}

/**
 * Parses config text as YAML 1.2 or strict JSON. Every syntax error is reported (line and column,
 * never the surrounding text) in one `SWITCHYARD_CONFIG_INVALID`. Empty text is `{}`.
 *
 * @param source - a file name for messages.
 */
export function parseConfigText(text: string, format: 'yaml' | 'json', source: string = format): unknown {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, {
    prettyErrors: false,
    lineCounter,
    uniqueKeys: true,
    ...(format === 'json' ? { schema: 'json' as const } : {}),
  });
  const at = (offset: number) => {
    const { line, col } = lineCounter.linePos(offset);
    return `line ${line}, column ${col}`;
  };
  // Later syntax errors mostly cascade from the first ones: show a few.
  const issues: Issue[] = doc.errors.slice(0, MAX_SYNTAX_ERRORS).map((e) => ({
    path: '',
    message: `${format === 'json' ? 'JSON' : 'YAML'} syntax error at ${at(e.pos[0])}: ${e.message}`,
  }));
  const more = doc.errors.length - MAX_SYNTAX_ERRORS;
  if (more > 0) issues.push({ path: '', message: `and ${more} more syntax error${more === 1 ? '' : 's'}` });
  if (format === 'yaml' && issues.length > 0 && /[[{][^\n]*\$\{/.test(text)) {
    issues.push({ path: '', message: `hint: inside { } or [ ], quote strings that use \${…} ("\${NAME}")` });
  }
  if (issues.length === 0) {
    try {
      const value: unknown = doc.toJS({ maxAliasCount: 100 });
      return value === null || value === undefined ? {} : value;
    } catch (err) {
      issues.push({
        path: '',
        message: `cannot be read: ${err instanceof Error ? err.message : String(err)}`,
      });
    }
  }
  throw configInvalid(issues, `switchyard config ${source}`);
}
