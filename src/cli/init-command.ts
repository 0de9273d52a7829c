/**
 * `switchyard init`: writes a commented starter config (SQLite, one example type, one runner
 * group) that loads as written, so a new project goes from an empty folder to a running queue.
 *
 * @packageDocumentation
 */
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { relative, resolve } from 'node:path';
import { loadConfig } from '../container.js';
import { output } from './context.js';
import { CliError, ExitCode } from './exit-codes.js';

/** Options of `init`. */
export interface InitOptions {
  /** Where to write; default `switchyard.config.yaml` in the working directory. */
  readonly config?: string;
  readonly force?: boolean;
  readonly json?: boolean;
  readonly verbose?: boolean;
}

/** The file `init` writes by default (the first name `loadConfig()` looks for). */
export const INIT_FILE = 'switchyard.config.yaml';

/** The starter config: every line valid as it stands, the alternatives commented out. */
export const STARTER_CONFIG = `# switchyard config, written by \`switchyard init\`. Every key is optional: with no config
# file at all, every job type goes to the embedded SQLite file ./switchyard.sqlite.
# \${NAME} and \${NAME:-fallback} are replaced from the environment (keep passwords there).

# The domain (tenant, MediaWiki's wiki) used when a command or a job names none.
defaultDomain: default

# The job types this application uses. Listed types are found by a fresh runner even before
# anything ran them, and the CLI refuses a misspelt one. A type pushed without being listed
# still works; \`switchyard show-jobs --group\` marks it "undeclared".
jobTypes: [hello]

# Where each type's queue lives. \`default\` serves every type without its own entry.
jobTypeConf:
  default:
    class: sql                    # the SQL backend; SQLite here (better-sqlite3, no server)
    filename: ./switchyard.sqlite
    claimTTL: 3600                # seconds a popped job stays claimed before it is handed out again
    maxTries: 3                   # attempts before a failing job is abandoned
  # PostgreSQL or MySQL instead (npm install pg / mysql2):
  # default: { class: sql, connection: "postgres://app:\${PGPASSWORD}@127.0.0.1/app" }
  # One type on Redis (npm install ioredis), the others as above:
  # hello: { class: redis, connection: "redis://127.0.0.1:6379" }

# Groups of \`switchyard runner\`: how many runner loops, how many jobs each runs at once, and
# which types (\`'*'\` = every type the handlers module handles).
runners:
  basic: { runners: 1, concurrency: 4, include: ['*'] }
`;

/** Runs `init`. */
export async function initCommand(options: InitOptions): Promise<number> {
  const target = resolve(options.config ?? INIT_FILE);
  const shown = relative(process.cwd(), target) || target;
  if (existsSync(target) && options.force !== true) {
    throw new CliError(ExitCode.USAGE, `${shown} already exists: pass --force to overwrite it`);
  }
  try {
    await writeFile(target, STARTER_CONFIG, 'utf8');
  } catch (err) {
    throw new CliError(ExitCode.CONFIG, `cannot write ${shown}: ${(err as Error).message}`, { cause: err });
  }
  // What was written must load: a starter config that fails would be the worst first impression.
  await loadConfig({ path: target });
  output(
    options,
    { written: target },
    [
      `wrote ${shown}`,
      'next: a handlers module, e.g. handlers.mjs:',
      '  export default { hello: async (job) => console.log("hello", job.params) };',
      `then: switchyard push --type hello --params '{"name":"world"}'`,
      '      switchyard runner --handlers ./handlers.mjs --until-empty',
    ].join('\n'),
  );
  return ExitCode.OK;
}
