/**
 * `npm run bench`: measures every subject in `bench/subjects/` through three phases (single push,
 * bulk push, drain) in this one process, and prints a Markdown table, ratio tables and one JSON
 * line per subject and phase. `npm run bench -- --help` lists the flags.
 *
 * @packageDocumentation
 */
import { cpus, loadavg } from 'node:os';
import { relative } from 'node:path';
import { type BenchArgs, DEFAULTS, parseBenchArgs, USAGE } from './lib/args.js';
import { type LoadedSubject, loadSubjects } from './lib/load-subjects.js';
import { gcAvailable } from './lib/memory.js';
import { medianRun, type RunConfig, type RunResult, runOnce, warmupJobs } from './lib/phases.js';
import {
  appendLines,
  commandLine,
  type Failure,
  jsonLine,
  machineLine,
  type PhaseRecord,
  ratioTables,
  resultsTable,
  type Skipped,
} from './lib/report.js';
import type { PhaseName, Subject } from './lib/types.js';

const int = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

function say(text: string): void {
  process.stdout.write(`${text}\n`);
}

function progress(text: string): void {
  process.stderr.write(`${text}\n`);
}

function errorText(error: unknown): string {
  return error instanceof Error ? (error.stack ?? error.message) : String(error);
}

/** Subjects selected by `--subjects` / `--groups`; throws on a name that matches nothing. */
function select(all: readonly LoadedSubject[], args: BenchArgs): LoadedSubject[] {
  const nameOf = (l: LoadedSubject) => (l.ok ? l.subject.name : l.name);
  const known = new Set(all.map(nameOf));
  const unknown = args.subjects.filter((s) => !known.has(s));
  if (unknown.length > 0) {
    throw new Error(`unknown subject(s) ${unknown.join(', ')}; known: ${[...known].join(', ')}`);
  }
  return all.filter(
    (l) =>
      (args.subjects.length === 0 || args.subjects.includes(nameOf(l))) &&
      (args.groups.length === 0 || (l.ok && args.groups.includes(l.subject.group))),
  );
}

async function availability(subject: Subject): Promise<string | null> {
  try {
    return await subject.available();
  } catch (error) {
    return `available() threw: ${error instanceof Error ? error.message : String(error)}`;
  }
}

async function listSubjects(all: readonly LoadedSubject[]): Promise<void> {
  for (const l of all) {
    if (!l.ok) {
      say(`${l.name.padEnd(20)} ${'?'.padEnd(8)} skipped: ${l.reason} (${l.file})`);
      continue;
    }
    const s = l.subject;
    const reason = await availability(s);
    const status = reason === null ? 'runnable' : `skipped: ${reason}`;
    say(`${s.name.padEnd(20)} ${s.group.padEnd(8)} ${s.kind.padEnd(10)} ${status}  ${s.description ?? ''}`);
  }
}

/** The run configuration of `subject` in `phase`: flags first, then the subject's defaults. */
function phaseConfig(subject: Subject, phase: PhaseName, args: BenchArgs): RunConfig {
  const d = subject.defaults ?? {};
  return {
    phase,
    jobs: args.jobs[phase] ?? d[phase] ?? DEFAULTS[phase],
    concurrency: args.concurrency ?? d.concurrency ?? DEFAULTS.concurrency,
    drainBatch: args.drainBatch ?? d.drainBatch ?? DEFAULTS.drainBatch,
    bulkSize: args.bulkSize,
    payloadBytes: args.payloadBytes,
    sampleEvery: args.sampleEvery,
  };
}

/** Runs the warm-up of `subject` in `phase`; returns its size (0 = none). */
async function warmUp(subject: Subject, cfg: RunConfig, args: BenchArgs): Promise<number> {
  const warm = warmupJobs(cfg.jobs, args.warmup);
  if (warm > 0) await runOnce(subject, { ...cfg, jobs: warm }, true);
  return warm;
}

/** One measured run, reported on stderr. */
async function measure(subject: Subject, cfg: RunConfig, r: number, repeat: number): Promise<RunResult> {
  const run = await runOnce(subject, cfg, false);
  progress(
    `  ${subject.name} ${cfg.phase} ${r}/${repeat}: ${int.format(run.opsPerSec)} jobs/s ` +
      `(${run.ms.toFixed(1)} ms, RSS peak ${run.memory.rssPeakMB.toFixed(1)} MB, ` +
      `heap Δ ${run.memory.heapDeltaMB.toFixed(1)} MB)`,
  );
  return run;
}

async function benchPhase(
  subject: Subject,
  phase: PhaseName,
  args: BenchArgs,
  cmd: string,
): Promise<PhaseRecord> {
  const cfg = phaseConfig(subject, phase, args);
  const warm = await warmUp(subject, cfg, args);
  const runs: RunResult[] = [];
  for (let r = 1; r <= args.repeat; r++) runs.push(await measure(subject, cfg, r, args.repeat));
  return phaseRecord(subject, cfg, warm, runs, args, cmd);
}

/** The record of `subject`'s runs in one phase (the median run's numbers). */
function phaseRecord(
  subject: Subject,
  cfg: RunConfig,
  warm: number,
  runs: readonly RunResult[],
  args: BenchArgs,
  cmd: string,
): PhaseRecord {
  const phase = cfg.phase;
  const m = medianRun(runs);
  return {
    bench: 'switchyard',
    subject: subject.name,
    group: subject.group,
    kind: subject.kind,
    phase,
    jobs: m.jobs,
    opsPerSec: m.opsPerSec,
    ms: m.ms,
    cpuMs: m.cpuMs,
    rssPeakMB: m.memory.rssPeakMB,
    heapDeltaMB: m.memory.heapDeltaMB,
    rssDeltaMB: m.memory.rssDeltaMB,
    heapPeakMB: m.memory.heapPeakMB,
    heapBytesPerJob: (m.memory.heapDeltaMB * 1024 * 1024) / m.jobs,
    prefillMs: m.prefillMs,
    runsOpsPerSec: runs.map((r) => r.opsPerSec),
    repeat: args.repeat,
    warmupJobs: warm,
    concurrency: cfg.concurrency,
    drainBatch: cfg.drainBatch,
    bulkSize: cfg.bulkSize,
    payloadBytes: cfg.payloadBytes,
    gc: gcAvailable(),
    node: process.version,
    load1: loadavg()[0] ?? 0,
    ts: new Date().toISOString(),
    cmd,
  };
}

/**
 * One phase for every subject, round-robin: all warm-ups, then run r of each subject in turn
 * (the order rotates every round), so a busy spell of a shared machine hits them all alike.
 */
async function interleavedPhase(
  subjects: readonly Subject[],
  phase: PhaseName,
  args: BenchArgs,
  cmd: string,
  emit: (record: PhaseRecord) => Promise<void>,
  failures: Failure[],
): Promise<void> {
  const live = subjects.map((subject) => ({
    subject,
    cfg: phaseConfig(subject, phase, args),
    warm: 0,
    runs: [] as RunResult[],
    failed: false,
  }));
  const fail = (entry: (typeof live)[number], error: unknown): void => {
    entry.failed = true;
    failures.push({ subject: entry.subject.name, phase, error: errorText(error) });
    progress(`  ${entry.subject.name} ${phase}: FAILED\n${errorText(error)}`);
  };
  for (const entry of live) {
    try {
      entry.warm = await warmUp(entry.subject, entry.cfg, args);
    } catch (error) {
      fail(entry, error);
    }
  }
  for (let r = 1; r <= args.repeat; r++) {
    for (let k = 0; k < live.length; k++) {
      const entry = live[(k + r - 1) % live.length] as (typeof live)[number];
      if (entry.failed) continue;
      try {
        entry.runs.push(await measure(entry.subject, entry.cfg, r, args.repeat));
      } catch (error) {
        fail(entry, error);
      }
    }
  }
  for (const entry of live) {
    if (!entry.failed) await emit(phaseRecord(entry.subject, entry.cfg, entry.warm, entry.runs, args, cmd));
  }
}

async function main(): Promise<number> {
  let args: BenchArgs;
  try {
    args = parseBenchArgs(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n\n${USAGE}\n`);
    return 2;
  }
  if (args.help) {
    say(USAGE);
    return 0;
  }
  const all = await loadSubjects();
  if (args.list) {
    await listSubjects(all);
    return 0;
  }
  let selected: LoadedSubject[];
  try {
    selected = select(all, args);
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    return 2;
  }

  const cmd = commandLine();
  if (!args.json) {
    say('## switchyard bench\n');
    say(`\`${cmd}\`\n`);
    if (process.env.npm_lifecycle_event === 'bench') {
      const script = relative(process.cwd(), process.argv[1] ?? '');
      say(`(runs \`node ${process.execArgv.join(' ')} ${script}\`)\n`);
    }
    say(`${machineLine(gcAvailable())}  `);
    say(
      `phases: ${args.phases.join(', ')}; median of ${args.repeat} run(s) after a warm-up; ` +
        `payload: ${args.payloadBytes > 0 ? `~${args.payloadBytes} B` : 'unpadded'}; ` +
        `memory sampled every ${args.sampleEvery} jobs\n`,
    );
  }
  if (gcAvailable() === 'none') progress('warning: no gc available; heap figures include garbage');
  const load = loadavg()[0] ?? 0;
  if (load > cpus().length / 2) {
    progress(`warning: load average ${load.toFixed(2)} on ${cpus().length} cores; numbers will be noisy`);
  }

  const records: PhaseRecord[] = [];
  const skipped: Skipped[] = [];
  const failures: Failure[] = [];
  const emit = async (record: PhaseRecord): Promise<void> => {
    records.push(record);
    const line = jsonLine(record);
    if (args.json) say(line);
    if (args.out !== null) await appendLines(args.out, [line]);
  };
  if (args.interleave) {
    const runnable: Subject[] = [];
    for (const l of selected) {
      if (!l.ok) {
        skipped.push({ subject: l.name, reason: l.reason });
        continue;
      }
      const reason = await availability(l.subject);
      if (reason === null) runnable.push(l.subject);
      else skipped.push({ subject: l.subject.name, reason });
    }
    for (const phase of args.phases) {
      await interleavedPhase(runnable, phase, args, cmd, emit, failures);
    }
  }
  for (const l of args.interleave ? [] : selected) {
    if (!l.ok) {
      skipped.push({ subject: l.name, reason: l.reason });
      progress(`${l.name}: skipped (${l.reason})`);
      continue;
    }
    const subject = l.subject;
    const reason = await availability(subject);
    if (reason !== null) {
      skipped.push({ subject: subject.name, reason });
      progress(`${subject.name}: skipped (${reason})`);
      continue;
    }
    progress(`${subject.name} (${subject.group}, ${subject.kind})`);
    for (const phase of args.phases) {
      try {
        await emit(await benchPhase(subject, phase, args, cmd));
      } catch (error) {
        failures.push({ subject: subject.name, phase, error: errorText(error) });
        progress(`  ${subject.name} ${phase}: FAILED\n${errorText(error)}`);
      }
    }
  }

  if (!args.json) {
    say(records.length > 0 ? resultsTable(records) : '_No subject ran._');
    for (const t of ratioTables(records, args.baseline)) say(`\n${t}`);
    if (skipped.length > 0) {
      say('\nSkipped:');
      for (const s of skipped) say(`- ${s.subject}: ${s.reason}`);
    }
    if (failures.length > 0) {
      say('\nFailed:');
      for (const f of failures) say(`- ${f.subject} ${f.phase}: ${f.error.split('\n')[0]}`);
    }
    if (records.length > 0) say(`\n\`\`\`jsonl\n${records.map(jsonLine).join('\n')}\n\`\`\``);
  }
  return failures.length > 0 ? 1 : 0;
}

process.exitCode = await main();
