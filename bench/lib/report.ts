/**
 * Output: the command line and machine header, the Markdown results table, per-group ratio tables,
 * and one JSON line per subject and phase.
 *
 * @packageDocumentation
 */
import { appendFile } from 'node:fs/promises';
import { cpus, loadavg, totalmem } from 'node:os';
import { relative } from 'node:path';
import type { GcSource } from './memory.js';
import type { PhaseName, SubjectGroup, SubjectKind } from './types.js';

/** One JSON line: the median run of one phase of one subject. */
export interface PhaseRecord {
  readonly bench: 'switchyard';
  readonly subject: string;
  readonly group: SubjectGroup;
  readonly kind: SubjectKind;
  readonly phase: PhaseName;
  readonly jobs: number;
  /** Jobs per second of the median run. */
  readonly opsPerSec: number;
  /** Wall time of the median run (ms). */
  readonly ms: number;
  /**
   * CPU time of the median run (ms, user + system, every thread incl. GC helpers). Compare it with
   * `ms` on a busy machine: wall time well above CPU time means the run waited for a core.
   */
  readonly cpuMs: number;
  /** Highest process RSS during the median run (MB, absolute). */
  readonly rssPeakMB: number;
  /** heapUsed after minus before the median run, both after a full GC (MB). */
  readonly heapDeltaMB: number;
  /** Highest RSS minus RSS at the start (MB). */
  readonly rssDeltaMB: number;
  /** Highest heapUsed minus heapUsed at the start (MB). */
  readonly heapPeakMB: number;
  /** heapDeltaMB per job, in bytes (single/bulk: what one queued job costs). */
  readonly heapBytesPerJob: number;
  /** Drain only: wall time of the bulk pre-fill (ms). */
  readonly prefillMs: number | null;
  /** Jobs per second of every measured run, in run order. */
  readonly runsOpsPerSec: readonly number[];
  readonly repeat: number;
  readonly warmupJobs: number;
  readonly concurrency: number;
  readonly drainBatch: number;
  readonly bulkSize: number;
  readonly payloadBytes: number;
  /** How heap figures were GC'd (`none`: they include garbage). */
  readonly gc: GcSource;
  /** `process.version`. */
  readonly node: string;
  /** 1-minute load average when the phase finished; > 0.5 per core means the numbers are suspect. */
  readonly load1: number;
  /** ISO time the record was written. */
  readonly ts: string;
  /** The command line, as printed at the top of the output. */
  readonly cmd: string;
}

/** A subject that did not run, and why. */
export interface Skipped {
  readonly subject: string;
  readonly reason: string;
}

/** A phase that threw. */
export interface Failure {
  readonly subject: string;
  readonly phase: PhaseName;
  readonly error: string;
}

function shellQuote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", `'\\''`)}'`;
}

/**
 * The command line as the user typed it: `npm run bench -- …` when run through npm, else the node
 * invocation (node flags, script, arguments).
 */
export function commandLine(): string {
  const args = process.argv.slice(2).map(shellQuote);
  if (process.env.npm_lifecycle_event === 'bench') {
    return ['npm run bench', ...(args.length > 0 ? ['--', ...args] : [])].join(' ');
  }
  const script = relative(process.cwd(), process.argv[1] ?? '') || (process.argv[1] ?? '');
  return ['node', ...process.execArgv.map(shellQuote), script, ...args].join(' ');
}

/** One line describing the machine and runtime. */
export function machineLine(gc: GcSource): string {
  const cpu = cpus();
  const model = cpu[0]?.model.trim() ?? 'unknown CPU';
  const gb = (totalmem() / 1024 ** 3).toFixed(1);
  return (
    `node ${process.version} (V8 ${process.versions.v8}), ${process.platform}/${process.arch}, ` +
    `${cpu.length} × ${model}, ${gb} GB RAM, load ${loadavg()[0]?.toFixed(2) ?? '?'}, gc: ${gc}`
  );
}

const int = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const one = new Intl.NumberFormat('en-US', { minimumFractionDigits: 1, maximumFractionDigits: 1 });

function shape(r: PhaseRecord): string {
  switch (r.phase) {
    case 'single':
      return '1 / push';
    case 'bulk':
      return `${r.bulkSize} / push`;
    case 'drain':
      return r.drainBatch > 1
        ? `${r.concurrency} workers, popBatch(${r.drainBatch})`
        : `${r.concurrency} workers, pop+ack`;
  }
}

function table(header: readonly string[], align: readonly ('l' | 'r')[], rows: readonly string[][]): string {
  const lines = [
    `| ${header.join(' | ')} |`,
    `|${align.map((a) => (a === 'r' ? ' ---: ' : ' --- ')).join('|')}|`,
    ...rows.map((row) => `| ${row.join(' | ')} |`),
  ];
  return lines.join('\n');
}

/** The results table (one row per subject and phase). */
export function resultsTable(records: readonly PhaseRecord[]): string {
  return table(
    ['subject', 'phase', 'shape', 'jobs', 'jobs/s', 'ms', 'RSS peak MB', 'heap Δ MB', 'heap peak MB'],
    ['l', 'l', 'l', 'r', 'r', 'r', 'r', 'r', 'r'],
    records.map((r) => [
      r.subject,
      r.phase,
      shape(r),
      int.format(r.jobs),
      int.format(r.opsPerSec),
      one.format(r.ms),
      one.format(r.rssPeakMB),
      one.format(r.heapDeltaMB),
      one.format(r.heapPeakMB),
    ]),
  );
}

/**
 * Ratio tables, one per group that has two or more subjects and either includes a peer library
 * or was given a `--baseline`: each subject's jobs/s divided by the baseline's, per phase.
 */
export function ratioTables(records: readonly PhaseRecord[], baselines: readonly string[]): string[] {
  const groups = new Map<string, PhaseRecord[]>();
  for (const r of records) {
    const list = groups.get(r.group);
    if (list) list.push(r);
    else groups.set(r.group, [r]);
  }
  const out: string[] = [];
  for (const [group, rows] of groups) {
    const subjects = [...new Set(rows.map((r) => r.subject))];
    if (subjects.length < 2) continue;
    const hasPeer = rows.some((r) => r.kind === 'peer');
    const named = baselines.find((b) => subjects.includes(b));
    if (!hasPeer && named === undefined) continue;
    const base = named ?? rows.find((r) => r.kind === 'switchyard')?.subject ?? (subjects[0] as string);
    const phases = [...new Set(rows.map((r) => r.phase))];
    const baseOps = new Map(rows.filter((r) => r.subject === base).map((r) => [r.phase, r.opsPerSec]));
    const body = subjects.map((s) => [
      s === base ? `${s} (baseline)` : s,
      ...phases.map((p) => {
        const r = rows.find((x) => x.subject === s && x.phase === p);
        const b = baseOps.get(p);
        return r === undefined || b === undefined || b === 0 ? '–' : `${(r.opsPerSec / b).toFixed(2)}×`;
      }),
    ]);
    out.push(
      `### ${group}: jobs/s relative to ${base}\n\n` +
        table(['subject', ...phases], ['l', ...phases.map(() => 'r' as const)], body),
    );
  }
  return out;
}

/** Serialises a record as one JSON line (numbers rounded for humans). */
export function jsonLine(r: PhaseRecord): string {
  const round = (n: number, digits: number) => Number(n.toFixed(digits));
  return JSON.stringify({
    ...r,
    opsPerSec: Math.round(r.opsPerSec),
    ms: round(r.ms, 2),
    cpuMs: round(r.cpuMs, 2),
    rssPeakMB: round(r.rssPeakMB, 2),
    heapDeltaMB: round(r.heapDeltaMB, 2),
    rssDeltaMB: round(r.rssDeltaMB, 2),
    heapPeakMB: round(r.heapPeakMB, 2),
    heapBytesPerJob: Math.round(r.heapBytesPerJob),
    load1: round(r.load1, 2),
    prefillMs: r.prefillMs === null ? null : round(r.prefillMs, 2),
    runsOpsPerSec: r.runsOpsPerSec.map((n) => Math.round(n)),
  });
}

/** Appends lines to `file` (creating it). */
export async function appendLines(file: string, lines: readonly string[]): Promise<void> {
  if (lines.length > 0) await appendFile(file, `${lines.join('\n')}\n`);
}
