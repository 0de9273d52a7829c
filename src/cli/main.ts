/**
 * The `switchyard` command line (promises §8): commander 14, one module per command family. Every
 * command takes `--config`, `--domain`, `--json` and `--verbose`; errors are one line on stderr
 * (a stack trace only with `--verbose`) and a documented exit code ({@link ExitCode}).
 *
 * @packageDocumentation
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { cancelCommand } from './cancel-command.js';
import { details, oneLine } from './context.js';
import { dashboardCommand } from './dashboard-command.js';
import { demoCommand } from './demo-command.js';
import { executorCommand } from './executor-command.js';
import { ExitCode, exitCodeFor } from './exit-codes.js';
import { initCommand } from './init-command.js';
import { pauseCommand } from './pause-command.js';
import { pushCommand } from './push-command.js';
import {
  chronCommand,
  manageJobsCommand,
  migrateCommand,
  nextJobDomainCommand,
  showJobsCommand,
} from './queue-commands.js';
import { runJobsCommand, runnerCommand } from './run-commands.js';

function version(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      version?: string;
    };
    return pkg.version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}

function integer(min: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!(value.trim() !== '' && Number.isInteger(n) && n >= min)) {
      throw new InvalidArgumentError(`must be an integer ≥ ${min}`);
    }
    return n;
  };
}

function seconds(value: string): number {
  const n = Number(value);
  if (!(value.trim() !== '' && Number.isFinite(n) && n >= 0)) {
    throw new InvalidArgumentError('must be a number of seconds ≥ 0');
  }
  return n;
}

/** Adds the options every command takes. */
function common(cmd: Command): Command {
  return cmd
    .option(
      '-c, --config <file>',
      'config file (default: $SWITCHYARD_CONFIG, else ./switchyard.config.yaml, else the embedded SQLite ./switchyard.sqlite)',
    )
    .option('-d, --domain <domain>', "the domain (tenant); default the config's defaultDomain")
    .option('--json', 'machine-readable output on stdout')
    .option('-v, --verbose', 'log more, and print stack traces on errors');
}

/** Builds the program; `done` receives each command's exit code. */
export function buildProgram(done: (code: number) => void): Command {
  const program = new Command('switchyard')
    .description("MediaWiki's job queue, reborn in TypeScript: push, run, inspect and maintain jobs")
    .version(version(), '-V, --version')
    .exitOverride()
    .showSuggestionAfterError(true)
    .configureOutput({
      outputError: (str, write) => write(`switchyard: ${str.replace(/^error: /, '')}`),
    });
  const action =
    <O>(fn: (options: O) => Promise<number>) =>
    async (options: O): Promise<void> => {
      done(await fn(options));
    };

  common(
    program
      .command('run-jobs')
      .description('run jobs of one domain (MediaWiki runJobs.php)')
      .option('-t, --type <type>', 'only this job type')
      .option('--max-jobs <n>', 'stop after this many jobs', integer(1))
      .option('--max-time <seconds>', 'stop after this many seconds', seconds)
      .option('--wait', 'wait for new jobs instead of exiting when none is ready')
      .option('--procs <n>', 'run in this many processes', integer(1))
      .option('--concurrency <n>', 'jobs at once per process', integer(1))
      .option('--memory-limit <MB>', 'stop when the resident set exceeds this many MB', integer(1))
      .option('--handlers <module>', 'module exporting the handler registry (required)'),
  ).action(action(runJobsCommand));

  common(
    program
      .command('runner')
      .description('run the runner groups of the config over every domain (MediaWiki jobrunner)')
      .option('--handlers <module>', 'module exporting the handler registry (required)')
      .option('--max-jobs <n>', 'stop after about this many jobs', integer(1))
      .option('--max-time <seconds>', 'stop after this many seconds', seconds)
      .option('--until-empty', 'exit once no queue of any group has ready jobs')
      .option(
        '--metrics-port <port>',
        'serve Prometheus metrics on http://127.0.0.1:<port>/metrics',
        integer(0),
      ),
  ).action(action(runnerCommand));

  common(
    program
      .command('show-jobs')
      .description('count jobs (ready, claimed, delayed, abandoned), per type with --group, or list them')
      .option('--group', 'counts per job type')
      .option('--list', 'list jobs')
      .addOption(
        new Option('--status <state>', 'with --list: which jobs').choices([
          'ready',
          'claimed',
          'delayed',
          'abandoned',
          'all',
        ]),
      )
      .option('--limit <n>', 'with --list: at most this many jobs (default 100)', integer(1))
      .option('--all-domains', 'with --group: every domain the config lists or the stores hold')
      .option('--periodic', "the config's periodic schedules with their last and next ticks")
      .option('-t, --type <type>', 'only this job type'),
  ).action(action(showJobsCommand));

  common(
    program
      .command('cancel')
      .description(
        "cancel one job by id (any state: a running job is stopped at its runner's next claim check), or the queued jobs holding the dedup key of --params",
      )
      .addOption(new Option('-t, --type <type>', 'the job type').makeOptionMandatory())
      .option('--id <id>', 'the job id (show-jobs --list shows ids)')
      .option('-p, --params <json>', 'params whose dedup key the queued jobs to cancel hold, a JSON object')
      .option(
        '--ignore-params <names>',
        'with --params: top-level params left out of the key, comma-separated',
      ),
  ).action(action(cancelCommand));

  common(
    program
      .command('manage-jobs')
      .description('delete queues or re-push abandoned jobs')
      .addOption(
        new Option('--action <action>', 'what to do')
          .choices(['delete', 'repush-abandoned'])
          .makeOptionMandatory(),
      )
      .option('-t, --type <type>', 'only this job type (default every known type)'),
  ).action(action(manageJobsCommand));

  for (const [name, paused, what] of [
    ['pause', true, 'pause one queue: every runner stops popping it at its next pop; pushes still land'],
    ['resume', false, 'resume a paused queue'],
    ['paused', null, 'tell whether a queue is paused'],
  ] as const) {
    common(
      program
        .command(name)
        .description(what)
        .addOption(new Option('-t, --type <type>', 'the job type').makeOptionMandatory()),
    ).action(action(pauseCommand(paused)));
  }

  common(
    program
      .command('chron')
      .description('periodic maintenance of every queue: recycle, abandon, prune, release delayed')
      .option('--once', 'one pass, then exit')
      .option('--interval <seconds>', 'seconds between passes (default 30)', seconds)
      .option('--max-time <seconds>', 'exit after this many seconds', seconds)
      .option(
        '--metrics-port <port>',
        'serve Prometheus metrics on http://127.0.0.1:<port>/metrics',
        integer(0),
      ),
  ).action(action(chronCommand));

  common(
    program
      .command('next-job-domain')
      .description('print a random domain that has ready jobs (MediaWiki nextJobDB.php)')
      .option('-t, --type <type>', 'only domains with jobs of this type'),
  ).action(action(nextJobDomainCommand));

  common(
    program
      .command('push')
      .description('push one job, or job specifications as JSON lines on stdin')
      .option('-t, --type <type>', 'the job type')
      .option('-p, --params <json>', 'the job params, a JSON object')
      .option('--remove-duplicates', 'skip the job if an identical one is ready or delayed')
      .option('--delay <seconds>', 'release the job this many seconds from now', seconds),
  ).action(action(pushCommand));

  common(
    program.command('migrate').description('create or upgrade the tables of every SQL store in the config'),
  ).action(action(migrateCommand));

  common(
    program
      .command('executor')
      .description('consume job events from Kafka and run them (WMF ChangeProp; the config executor section)')
      .option(
        '--handlers <module>',
        'module exporting the handler registry (rules that post to an endpoint need none)',
      )
      .option(
        '--metrics-port <port>',
        'serve Prometheus metrics on http://127.0.0.1:<port>/metrics',
        integer(0),
      ),
  ).action(action(executorCommand));

  common(
    program
      .command('dashboard')
      .description('serve the web dashboard (counts, job listings, token-guarded actions)')
      .requiredOption('--port <n>', 'TCP port (0 = any free port)', integer(0))
      .option('--host <host>', 'address to listen on (default 127.0.0.1)')
      .option(
        '--token <token>',
        'token actions must carry (default $SWITCHYARD_DASHBOARD_TOKEN; none = actions off)',
      )
      .option('--readonly', 'refuse every action'),
  ).action(action(dashboardCommand));

  program
    .command('init')
    .description('write a commented starter config (switchyard.config.yaml) in this folder')
    .option('-c, --config <file>', 'where to write it (default ./switchyard.config.yaml)')
    .option('--force', 'overwrite an existing file')
    .option('--json', 'machine-readable output on stdout')
    .option('-v, --verbose', 'print stack traces on errors')
    .action(action(initCommand));

  common(
    program
      .command('demo')
      .description('watch jobs flow through an embedded SQLite queue (no services, no config needed)')
      .option('--jobs <n>', 'jobs to push (default 60)', integer(1)),
  ).action(action(demoCommand));

  return program;
}

/** Runs the CLI on `argv` (process.argv style) and resolves to the exit code. */
export async function main(argv: readonly string[] = process.argv): Promise<number> {
  const verbose = argv.includes('--verbose') || argv.includes('-v');
  let code: number = ExitCode.OK;
  const program = buildProgram((c) => {
    code = c;
  });
  if (argv.length <= 2) {
    process.stderr.write(program.helpInformation());
    return ExitCode.USAGE;
  }
  try {
    await program.parseAsync([...argv]);
    return code;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (['commander.helpDisplayed', 'commander.version', 'commander.help'].includes(err.code)) {
        return ExitCode.OK;
      }
      return ExitCode.USAGE;
    }
    process.stderr.write(`switchyard: ${oneLine(err)}\n`);
    if (verbose) process.stderr.write(`${details(err)}\n`);
    return exitCodeFor(err);
  }
}
