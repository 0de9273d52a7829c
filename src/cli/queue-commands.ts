/**
 * Inspection and maintenance commands: `show-jobs`, `manage-jobs`, `next-job-domain`, `chron`,
 * `migrate`.
 *
 * @packageDocumentation
 */

import { Chron, type MaintenancePassResult, runMaintenancePass } from '../chron/index.js';
import type { JobState, ListedJob } from '../core/job.js';
import { getStateCounts, type JobQueue, type StoredQueue } from '../core/job-queue.js';
import type { JobQueueGroup } from '../core/job-queue-group.js';
import { type PeriodicEntry, PeriodicScheduler, parsePeriodicSection } from '../periodic/index.js';
import { installSignalHandlers } from '../runner/signals.js';
import {
  assertKnownType,
  type CliContext,
  type CommonOptions,
  cliLogger,
  openContext,
  output,
} from './context.js';
import { CliError, ExitCode } from './exit-codes.js';
import { startCliMetrics } from './metrics-option.js';

/** The four job states, in display order. */
export const STATES: readonly JobState[] = Object.freeze(['ready', 'claimed', 'delayed', 'abandoned']);

/** Per-type counts of `show-jobs --group`. */
export interface TypeCounts {
  ready: number;
  claimed: number;
  delayed: number;
  abandoned: number;
}

/** Options of `show-jobs`. */
export interface ShowJobsOptions extends CommonOptions {
  readonly group?: boolean;
  readonly list?: boolean;
  readonly status?: string;
  readonly limit?: number;
  readonly type?: string;
  /** With `group`: every domain the config lists or the stores hold. */
  readonly allDomains?: boolean;
  /** The `periodic` schedules with their last and next ticks. */
  readonly periodic?: boolean;
}

function poppable(queue: JobQueue): boolean {
  return queue.supports.pop && queue.supports.sizes !== 'none';
}

/** A type no config lists, used only to reach the store `jobTypeConf.default` routes to. */
const PROBE_TYPE = '__switchyard_probe__';

/** The types the config declares: `jobTypes` and the per-type `jobTypeConf` entries. */
function declaredTypes(group: JobQueueGroup): string[] {
  const c = group.config;
  return [...new Set([...c.jobTypes, ...Object.keys(c.jobTypeConf).filter((k) => k !== 'default')])];
}

/**
 * Every (domain, type) holding jobs in any store the config routes `group`'s types to (declared
 * or not): each store is asked once ({@link JobQueue.listStoredQueues}); a backend that cannot
 * enumerate its store adds nothing.
 */
async function storedPairs(group: JobQueueGroup, known: readonly string[]): Promise<StoredQueue[]> {
  const byStore = new Map<string, JobQueue>();
  for (const type of [...known, PROBE_TYPE]) {
    const queue = group.get(type);
    if (!queue.supports.pop) continue;
    const key = queue.storeKey ?? `queue:${type}`;
    if (!byStore.has(key)) byStore.set(key, queue);
  }
  const found = new Map<string, StoredQueue>();
  for (const queue of byStore.values()) {
    for (const q of (await queue.listStoredQueues()) ?? []) {
      if (q.type !== PROBE_TYPE) found.set(`${q.domain}\u0000${q.type}`, q);
    }
  }
  return [...found.values()];
}

/** The types of `group`'s domain that hold jobs in the stores (see {@link storedPairs}). */
async function storedTypes(group: JobQueueGroup, known: readonly string[]): Promise<string[]> {
  return (await storedPairs(group, known)).filter((q) => q.domain === group.domain).map((q) => q.type);
}

/**
 * The types to look at: `--type`, else every type the group knows plus every type its stores
 * hold; and which of them the config does not declare.
 */
async function typesOf(
  group: JobQueueGroup,
  type: string | undefined,
): Promise<{ types: string[]; undeclared: Set<string> }> {
  const declared = declaredTypes(group);
  const known = group.getQueueTypes();
  const stored = await storedTypes(group, known);
  const undeclared = new Set([...known, ...stored].filter((t) => !declared.includes(t)));
  if (type !== undefined) {
    assertKnownType(group, type, stored);
    return { types: [type], undeclared };
  }
  return { types: [...new Set([...known, ...stored])], undeclared };
}

function table(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows
    .map((r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  '))
    .join('\n');
}

/** Runs `show-jobs`. */
export async function showJobsCommand(options: ShowJobsOptions): Promise<number> {
  if (options.allDomains && !options.group) {
    throw new CliError(ExitCode.USAGE, '--all-domains needs --group (counts per domain and type)');
  }
  if (options.allDomains && options.domain !== undefined) {
    throw new CliError(ExitCode.USAGE, '--all-domains and --domain exclude each other');
  }
  const ctx = await openContext(options);
  try {
    if (options.periodic) return await showPeriodic(ctx, options);
    if (options.allDomains) return await showAllDomains(ctx, options);
    const group = ctx.group();
    const found = await typesOf(group, options.type);
    const types = found.types.filter((t) => poppable(group.get(t)));
    if (options.list) {
      const status = options.status ?? 'ready';
      const states = status === 'all' ? [...STATES] : [status as JobState];
      if (!states.every((s) => STATES.includes(s))) {
        throw new CliError(
          ExitCode.USAGE,
          `--status must be one of ${[...STATES, 'all'].join(', ')}; got "${status}"`,
        );
      }
      const limit = options.limit ?? 100;
      const jobs: ListedJob[] = [];
      outer: for (const type of types) {
        const queue = group.get(type);
        if (!queue.supports.listing) continue;
        for (const state of states) {
          for await (const job of queue.list(state)) {
            if (jobs.length >= limit) break outer;
            jobs.push(job);
          }
        }
      }
      output(options, jobs, () =>
        jobs
          .map(
            (j) =>
              `${j.type} ${j.id} ${j.state} attempts=${j.attempts} enqueued=${new Date(j.enqueuedAt).toISOString()} params=${JSON.stringify(j.params)}`,
          )
          .join('\n'),
      );
      return ExitCode.OK;
    }
    const perType: Record<string, TypeCounts> = {};
    for (const type of types) perType[type] = await getStateCounts(group.get(type));
    if (options.group) {
      // A type pushed but not declared in `jobTypes` is listed too, and marked.
      const json: Record<string, TypeCounts & { undeclared?: true }> = {};
      for (const [t, c] of Object.entries(perType)) {
        json[t] = found.undeclared.has(t) ? { ...c, undeclared: true } : c;
      }
      output(options, json, () =>
        table([
          ['type', ...STATES],
          ...Object.entries(perType).map(([t, c]) => [
            found.undeclared.has(t) ? `${t} (undeclared)` : t,
            ...STATES.map((s) => String(c[s as keyof TypeCounts])),
          ]),
        ]),
      );
      return ExitCode.OK;
    }
    const totals: TypeCounts = { ready: 0, claimed: 0, delayed: 0, abandoned: 0 };
    for (const c of Object.values(perType))
      for (const s of STATES) totals[s as keyof TypeCounts] += c[s as keyof TypeCounts];
    output(
      options,
      { domain: ctx.domain, ...totals },
      STATES.map((s) => `${s} ${totals[s as keyof TypeCounts]}`).join(', '),
    );
    return ExitCode.OK;
  } finally {
    await ctx.close();
  }
}

/** `show-jobs --periodic`: each schedule, its queue's last claimed tick and the next tick. */
async function showPeriodic(ctx: CliContext, options: ShowJobsOptions): Promise<number> {
  const entries = parsePeriodicSection(ctx.config.sections.periodic).filter(
    (e) => options.type === undefined || e.type === options.type,
  );
  const scheduler = new PeriodicScheduler(ctx.farm, entries);
  const next = await scheduler.nextTicks();
  const rows: Array<PeriodicEntry & { domain: string; last: string | null; next: string | null }> = [];
  for (const e of entries) {
    const domain = e.domain ?? ctx.config.defaultDomain;
    const last = await ctx.farm.group(domain).get(e.type).lastPeriodicTick(e.name);
    const iso = (t: number | null | undefined) =>
      t === null || t === undefined ? null : new Date(t).toISOString();
    rows.push({ ...e, domain, last: iso(last), next: iso(next[e.name]) });
  }
  output(options, rows, () =>
    rows.length === 0
      ? 'no periodic schedules in the config'
      : table([
          ['name', 'type', 'domain', 'cron', 'timezone', 'missed', 'last', 'next'],
          ...rows.map((r) => [
            r.name,
            r.type,
            r.domain,
            r.cron,
            r.timezone,
            r.missed,
            r.last ?? '-',
            r.next ?? '-',
          ]),
        ]),
  );
  return ExitCode.OK;
}

/**
 * `show-jobs --group --all-domains`: counts of every (domain, type) the config's domains declare
 * or the stores hold, undeclared types marked.
 */
async function showAllDomains(ctx: CliContext, options: ShowJobsOptions): Promise<number> {
  const home = ctx.farm.group(ctx.config.defaultDomain);
  const declared = declaredTypes(home);
  const stored = await storedPairs(home, home.getQueueTypes());
  const domains = [
    ...new Set([ctx.config.defaultDomain, ...ctx.config.domains, ...stored.map((q) => q.domain)]),
  ].sort();
  const json: Record<string, Record<string, TypeCounts & { undeclared?: true }>> = {};
  const rows: string[][] = [['domain', 'type', ...STATES]];
  for (const domain of domains) {
    const group = ctx.farm.group(domain);
    const types = [
      ...new Set([...group.getQueueTypes(), ...stored.filter((q) => q.domain === domain).map((q) => q.type)]),
    ].filter(
      (t) => t !== PROBE_TYPE && (options.type === undefined || t === options.type) && poppable(group.get(t)),
    );
    const perType: Record<string, TypeCounts & { undeclared?: true }> = {};
    for (const type of types) {
      const c = await getStateCounts(group.get(type));
      const undeclared = !declared.includes(type);
      perType[type] = undeclared ? { ...c, undeclared: true } : c;
      rows.push([
        domain,
        undeclared ? `${type} (undeclared)` : type,
        ...STATES.map((st) => String(c[st as keyof TypeCounts])),
      ]);
    }
    json[domain] = perType;
  }
  output(options, json, () => table(rows));
  return ExitCode.OK;
}

/** Options of `manage-jobs`. */
export interface ManageJobsOptions extends CommonOptions {
  readonly action: 'delete' | 'repush-abandoned';
  readonly type?: string;
}

/** Runs `manage-jobs`. */
export async function manageJobsCommand(options: ManageJobsOptions): Promise<number> {
  const ctx = await openContext(options);
  try {
    const group = ctx.group();
    const types = (await typesOf(group, options.type)).types.filter((t) => group.get(t).supports.pop);
    const done: Record<string, number> = {};
    for (const type of types) {
      const queue = group.get(type);
      if (options.action === 'delete') {
        const c = await getStateCounts(queue);
        await queue.delete();
        done[type] = c.ready + c.claimed + c.delayed + c.abandoned;
      } else {
        done[type] = await queue.repushAbandoned();
      }
    }
    const total = Object.values(done).reduce((a, b) => a + b, 0);
    const verb = options.action === 'delete' ? 'deleted' : 're-pushed';
    output(
      options,
      { action: options.action, domain: ctx.domain, total, types: done },
      `${verb} ${total} job${total === 1 ? '' : 's'}${
        types.length > 0
          ? ` (${Object.entries(done)
              .map(([t, n]) => `${t} ${n}`)
              .join(', ')})`
          : ''
      }`,
    );
    return ExitCode.OK;
  } finally {
    await ctx.close();
  }
}

/** Options of `next-job-domain`. */
export interface NextJobDomainOptions extends CommonOptions {
  readonly type?: string;
}

/** Runs `next-job-domain`: prints a random domain with ready jobs (of `--type`), or nothing. */
export async function nextJobDomainCommand(options: NextJobDomainOptions): Promise<number> {
  const ctx = await openContext(options);
  try {
    if (options.type !== undefined) assertKnownType(ctx.group(), options.type);
    const domains = options.domain !== undefined ? [options.domain] : ctx.farm.domains();
    if (domains.length === 0) domains.push(ctx.config.defaultDomain);
    const ready: string[] = [];
    for (const domain of domains) {
      const withJobs = await ctx.farm.group(domain).getQueuesWithJobs();
      if (options.type === undefined ? withJobs.length > 0 : withJobs.includes(options.type))
        ready.push(domain);
    }
    const domain = ready.length === 0 ? null : (ready[Math.floor(Math.random() * ready.length)] as string);
    output(options, { domain }, domain ?? '');
    return ExitCode.OK;
  } finally {
    await ctx.close();
  }
}

/** Options of `chron`. */
export interface ChronOptions extends CommonOptions {
  readonly once?: boolean;
  readonly interval?: number;
  readonly maxTime?: number;
  /** Serve Prometheus metrics on this port. */
  readonly metricsPort?: number;
}

function passText(r: MaintenancePassResult): string {
  const t = r.totals;
  return `maintenance: ${r.queues.length} queues; recycled ${t.recycled}, abandoned ${t.abandoned}, pruned ${t.pruned}, released ${t.released}${r.errors.length > 0 ? `; ${r.errors.length} failed` : ''}`;
}

function passJson(r: MaintenancePassResult): Record<string, unknown> {
  return {
    queues: r.queues.length,
    ...r.totals,
    skipped: r.skipped.length,
    errors: r.errors.map((e) => ({
      domain: e.domain,
      type: e.type,
      error: String((e.error as Error)?.message ?? e.error),
    })),
  };
}

/** Runs `chron`: one pass with `--once`, else passes every `--interval` seconds until stopped. */
export async function chronCommand(options: ChronOptions): Promise<number> {
  const metrics = await startCliMetrics(options.metricsPort);
  const ctx = await openContext(options, metrics ? { metrics: metrics.prometheus } : {});
  metrics?.prometheus.watchFarm(ctx.farm);
  const logger = cliLogger(options.verbose === true);
  const domainOpt = options.domain === undefined ? {} : { domains: [options.domain] };
  try {
    if (options.once) {
      const r = await runMaintenancePass(ctx.farm, domainOpt);
      if (r.queues.length === 0 && r.errors.length > 0) throw r.errors[0]?.error;
      output(options, passJson(r), passText(r));
      return r.errors.length > 0 ? ExitCode.BACKEND : ExitCode.OK;
    }
    const signals = installSignalHandlers();
    const passes: Record<string, unknown>[] = [];
    const chron = new Chron(ctx.farm, {
      interval: options.interval ?? 30,
      logger,
      ...domainOpt,
      onPass: (r) => {
        passes.push(passJson(r));
        if (!options.json) process.stdout.write(`${new Date().toISOString()} ${passText(r)}\n`);
      },
    });
    chron.start();
    await new Promise<void>((resolve) => {
      const timer =
        options.maxTime === undefined ? null : setTimeout(resolve, Math.max(0, options.maxTime * 1000));
      signals.signal.addEventListener(
        'abort',
        () => {
          if (timer) clearTimeout(timer);
          resolve();
        },
        { once: true },
      );
    });
    await chron.stop();
    signals.dispose();
    if (options.json) output(options, { passes }, '');
    return ExitCode.OK;
  } finally {
    await ctx.close();
    await metrics?.server.close();
  }
}

/** Runs `migrate`: brings every SQL store the config routes a queue to up to date. */
export async function migrateCommand(options: CommonOptions): Promise<number> {
  const ctx = await openContext(options);
  try {
    const sql = await import('../backends/sql/index.js');
    const group = ctx.group();
    // Every per-type entry, plus one type that falls to `default`.
    const types = [...new Set([...group.getQueueTypes(), '__switchyard_migrate__'])];
    const seen = new Set<string>();
    const stores: Array<{ store: string; applied: unknown[]; version: number }> = [];
    for (const type of types) {
      const queue = group.get(type);
      if (!(queue instanceof sql.SqlJobQueue) || seen.has(queue.storeKey)) continue;
      seen.add(queue.storeKey);
      const knex = await queue.database.knex();
      const r = await sql.migrate(knex, { prefix: queue.prefix });
      stores.push({
        store: `${queue.database.dialect.name} (prefix ${queue.prefix})`,
        applied: [...r.applied],
        version: r.version,
      });
    }
    output(options, { stores }, () =>
      stores.length === 0
        ? 'no SQL store in this config: nothing to migrate'
        : stores
            .map(
              (s) =>
                `${s.store}: ${s.applied.length === 0 ? 'up to date' : `applied ${s.applied.length}`} (schema version ${s.version})`,
            )
            .join('\n'),
    );
    return ExitCode.OK;
  } finally {
    await ctx.close();
  }
}
