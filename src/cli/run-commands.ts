/**
 * `switchyard run-jobs` (one domain, MediaWiki's runJobs.php) and `switchyard runner` (the runner
 * service over the farm, MediaWiki's jobrunner).
 *
 * @packageDocumentation
 */

import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createFarmWithAggregator } from '../container.js';
import { sleep } from '../core/checks.js';
import type { ResolvedConfig } from '../core/config-types.js';
import type { JobQueue } from '../core/job-queue.js';
import type { JobQueueGroup } from '../core/job-queue-group.js';
import type { HandlerRegistry } from '../runner/handlers.js';
import {
  emptyRunCounts,
  JobRunner,
  type JobRunRecord,
  type JobRunStatus,
  type RunReached,
} from '../runner/runner.js';
import { RunnerService } from '../runner/service.js';
import { parseBackoffThrottlingSection } from '../runner/service-config.js';
import { installSignalHandlers } from '../runner/signals.js';
import { defaultThrottleFile, Throttle } from '../runner/throttle.js';
import { waitForAnyJobs } from '../runner/wake.js';
import {
  assertKnownType,
  type CommonOptions,
  cliLogger,
  loadCliConfig,
  loadHandlers,
  openContext,
  output,
} from './context.js';
import { CliError, ExitCode } from './exit-codes.js';
import { startCliMetrics } from './metrics-option.js';
import { Progress } from './progress.js';

/** Options of `run-jobs`. */
export interface RunJobsOptions extends CommonOptions {
  readonly type?: string;
  readonly maxJobs?: number;
  readonly maxTime?: number;
  readonly wait?: boolean;
  readonly procs?: number;
  readonly concurrency?: number;
  readonly memoryLimit?: number;
  readonly handlers?: string;
}

/** Options of `runner`. */
export interface RunnerOptions extends CommonOptions {
  readonly handlers?: string;
  readonly maxJobs?: number;
  readonly maxTime?: number;
  readonly untilEmpty?: boolean;
  /** Serve Prometheus metrics on this port. */
  readonly metricsPort?: number;
}

type Counts = Record<JobRunStatus, number>;

const emptyCounts = (): Counts => emptyRunCounts();

const failedCount = (c: Counts): number => c.failed + c.abandoned + c.timeout;

function countsText(c: Counts): string {
  return Object.entries(c)
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${k} ${n}`)
    .join(', ');
}

/**
 * The host-wide throttle of the config's `backoffThrottling` section, shared by every process
 * running with the same config file through a file named after that file's path.
 */
function hostThrottle(config: ResolvedConfig): Throttle | undefined {
  const rates = parseBackoffThrottlingSection(config.sections.backoffThrottling);
  if (Object.keys(rates).length === 0) return undefined;
  const id = createHash('sha1').update(config.source).digest('hex').slice(0, 12);
  return new Throttle(rates, { file: defaultThrottleFile(`cli-${id}`) });
}

/**
 * Makes the handlers' types known to `group` (so a default pop, and `show-jobs`, consider them)
 * even when the config does not list them in `jobTypes`: with no config, `push --type hello`
 * then `run-jobs --handlers` with a `hello` handler must find the job.
 */
function knowHandlerTypes(group: JobQueueGroup, handlers: HandlerRegistry): void {
  for (const type of handlers.types()) group.get(type);
}

/** The queues `run-jobs --wait` listens on: the `--type` one, else every type a default pop considers. */
function waitQueues(group: JobQueueGroup, type: string | undefined): JobQueue[] {
  if (type !== undefined) return [group.get(type)];
  const excluded = new Set(group.typesExcludedFromDefaultQueue);
  return group
    .getQueueTypes()
    .filter((t) => !excluded.has(t))
    .map((t) => group.get(t));
}

/** Runs `run-jobs`; returns the exit code. */
export async function runJobsCommand(options: RunJobsOptions): Promise<number> {
  if ((options.procs ?? 1) > 1) return runInProcesses(options);
  const handlers = await loadHandlers(options.handlers);
  const ctx = await openContext(options);
  const signals = installSignalHandlers();
  try {
    const group = ctx.group();
    if (options.type !== undefined) {
      assertKnownType(group, options.type, handlers.types());
      if (!handlers.has(options.type)) {
        throw new CliError(
          ExitCode.USAGE,
          `no handler for job type "${options.type}" in ${options.handlers}`,
        );
      }
    }
    knowHandlerTypes(group, handlers);
    const throttle = hostThrottle(ctx.config);
    const runner = new JobRunner(group, {
      handlers,
      logger: cliLogger(options.verbose === true),
      ...(throttle ? { throttle } : {}),
      ...(options.memoryLimit === undefined ? {} : { memoryLimitMB: options.memoryLimit }),
    });
    const progress = new Progress({
      label: 'jobs',
      ...(options.maxJobs === undefined ? {} : { total: options.maxJobs }),
      enabled: options.json !== true,
    });
    const started = Date.now();
    const deadline =
      options.maxTime === undefined ? Number.POSITIVE_INFINITY : started + options.maxTime * 1000;
    const maxJobs = options.maxJobs ?? Number.POSITIVE_INFINITY;
    const counts = emptyCounts();
    const failures: JobRunRecord[] = [];
    let done = 0;
    let reached: RunReached;
    const chunk = Math.max(100, (options.concurrency ?? 1) * 10);
    let woke = false;
    while (true) {
      const left = maxJobs - done;
      const r = await runner.run({
        ...(options.type === undefined ? {} : { type: options.type }),
        maxJobs: Math.min(chunk, left),
        ...(deadline === Number.POSITIVE_INFINITY
          ? {}
          : { maxTime: Math.max(0, (deadline - Date.now()) / 1000) }),
        concurrency: options.concurrency ?? 1,
        signal: signals.signal,
      });
      for (const rec of r.jobs) {
        counts[rec.status]++;
        if (rec.status === 'failed' || rec.status === 'abandoned' || rec.status === 'timeout') {
          if (failures.length < 20) failures.push(rec);
        }
      }
      done += r.jobs.length;
      progress.update(done);
      reached = r.reached;
      if (reached === 'job-limit' && done < maxJobs) continue;
      if (reached === 'none-ready' && options.wait && !signals.signal.aborted && Date.now() < deadline) {
        // Poll every second, but listen meanwhile (backends with wake): a push ends the wait. After
        // a wake that ran nothing, sleep instead, so a queue that keeps saying "ready" cannot spin us.
        const ms = Math.min(1000, deadline - Date.now());
        if (woke && r.jobs.length === 0) {
          woke = false;
          await sleep(ms, signals.signal);
        } else {
          woke = await waitForAnyJobs(waitQueues(group, options.type), ms, signals.signal);
        }
        if (signals.signal.aborted) reached = 'stopped';
        else continue;
      }
      break;
    }
    progress.finish();
    const seconds = (Date.now() - started) / 1000;
    output(
      options,
      { domain: ctx.domain, jobs: done, ...counts, reached, seconds, failures },
      `ran ${done} job${done === 1 ? '' : 's'} in ${seconds.toFixed(1)} s${done > 0 ? ` (${countsText(counts)})` : ''}; stopped: ${reached}`,
    );
    return failedCount(counts) > 0 ? ExitCode.JOB_FAILURES : ExitCode.OK;
  } finally {
    signals.dispose();
    await ctx.close();
  }
}

/** `run-jobs --procs N`: N child processes of this CLI, their JSON summaries summed. */
async function runInProcesses(options: RunJobsOptions): Promise<number> {
  const procs = options.procs ?? 1;
  const args: string[] = [];
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === '--procs') i++;
    else if (!a.startsWith('--procs=') && a !== '--json') args.push(a);
  }
  args.push('--json');
  const children = Array.from({ length: procs }, () =>
    spawn(process.execPath, [...process.execArgv, process.argv[1] as string, ...args], {
      stdio: ['ignore', 'pipe', 'inherit'],
    }),
  );
  const forward = (sig: NodeJS.Signals): void => {
    for (const c of children) c.kill(sig);
  };
  process.on('SIGTERM', forward);
  process.on('SIGINT', forward);
  try {
    const results = await Promise.all(
      children.map(
        (child) =>
          new Promise<{ code: number; summary: Record<string, unknown> | null }>((resolve) => {
            let out = '';
            child.stdout?.on('data', (d: Buffer) => {
              out += d.toString();
            });
            child.on('close', (code) => {
              let summary: Record<string, unknown> | null = null;
              try {
                summary = JSON.parse(out) as Record<string, unknown>;
              } catch {
                summary = null;
              }
              resolve({ code: code ?? ExitCode.INTERNAL, summary });
            });
          }),
      ),
    );
    const counts = emptyCounts();
    let jobs = 0;
    const reached: unknown[] = [];
    for (const r of results) {
      if (!r.summary) continue;
      jobs += Number(r.summary.jobs ?? 0);
      for (const k of Object.keys(counts) as JobRunStatus[]) counts[k] += Number(r.summary[k] ?? 0);
      reached.push(r.summary.reached);
    }
    output(
      options,
      { jobs, ...counts, procs, reached },
      `ran ${jobs} job${jobs === 1 ? '' : 's'} in ${procs} processes${jobs > 0 ? ` (${countsText(counts)})` : ''}`,
    );
    const bad = results.find((r) => r.code !== ExitCode.OK && r.code !== ExitCode.JOB_FAILURES);
    if (bad) return bad.code;
    return results.some((r) => r.code === ExitCode.JOB_FAILURES) ? ExitCode.JOB_FAILURES : ExitCode.OK;
  } finally {
    process.off('SIGTERM', forward);
    process.off('SIGINT', forward);
  }
}

/** Runs `runner` (the service); returns the exit code. */
export async function runnerCommand(options: RunnerOptions): Promise<number> {
  const handlers = await loadHandlers(options.handlers);
  const loaded = await loadCliConfig(options);
  // --domain restricts the service to one domain; else the config's domains (or the default one).
  const config: ResolvedConfig =
    options.domain === undefined ? loaded : Object.freeze({ ...loaded, domains: [options.domain] });
  // With an `aggregator` section the service picks ready queues from it (promises §7, §8).
  const metrics = await startCliMetrics(options.metricsPort);
  const farm = await createFarmWithAggregator(config, metrics ? { metrics: metrics.prometheus } : {});
  metrics?.prometheus.watchFarm(farm);
  for (const domain of config.domains.length > 0 ? config.domains : [config.defaultDomain]) {
    knowHandlerTypes(farm.group(domain), handlers);
  }
  const signals = installSignalHandlers();
  const progress = new Progress({
    label: 'jobs',
    ...(options.maxJobs === undefined ? {} : { total: options.maxJobs }),
    enabled: options.json !== true,
  });
  let done = 0;
  try {
    const throttle = hostThrottle(config);
    const service = new RunnerService(farm, {
      handlers,
      aggregator: farm.aggregator,
      logger: cliLogger(options.verbose === true),
      ...(throttle ? { throttle } : {}),
      onSlice: (s) => {
        done += s.result.jobs.length;
        if (metrics) {
          for (const j of s.result.jobs)
            metrics.prometheus.recordRunnerJob({
              domain: s.domain,
              type: j.type,
              status: j.status,
              ms: j.ms,
            });
        }
        progress.update(done, `${s.group}: ${s.domain}/${s.type}`);
      },
    });
    const started = Date.now();
    const result = await service.run({
      signal: signals.signal,
      exitWhenIdle: options.untilEmpty === true,
      ...(options.maxTime === undefined ? {} : { maxTime: options.maxTime }),
      ...(options.maxJobs === undefined ? {} : { maxJobs: options.maxJobs }),
    });
    progress.finish();
    const jobs = Object.values(result.jobs).reduce((a, b) => a + b, 0);
    const seconds = (Date.now() - started) / 1000;
    output(
      options,
      {
        jobs,
        ...result.jobs,
        byGroup: result.byGroup,
        reached: result.reached,
        errors: result.errors,
        seconds,
      },
      `ran ${jobs} job${jobs === 1 ? '' : 's'} in ${seconds.toFixed(1)} s${jobs > 0 ? ` (${countsText({ ...result.jobs })})` : ''}; groups: ${Object.entries(
        result.byGroup,
      )
        .map(([g, n]) => `${g} ${n}`)
        .join(', ')}; stopped: ${result.reached}`,
    );
    return failedCount({ ...result.jobs }) > 0 ? ExitCode.JOB_FAILURES : ExitCode.OK;
  } finally {
    signals.dispose();
    await farm.close();
    await metrics?.server.close();
  }
}
