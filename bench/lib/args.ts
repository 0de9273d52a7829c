/**
 * Command-line flags of `npm run bench`.
 *
 * @packageDocumentation
 */
import { parseArgs } from 'node:util';
import { PHASES, type PhaseName } from './types.js';

/** Harness defaults, sized for a 2-core machine running the memory backend. */
export const DEFAULTS = Object.freeze({
  single: 20_000,
  bulk: 200_000,
  drain: 100_000,
  concurrency: 16,
  drainBatch: 1,
  bulkSize: 1000,
  repeat: 3,
  sampleEvery: 1000,
  payloadBytes: 0,
});

/** Parsed flags. `undefined` means "not given": the subject's default, then the harness's, applies. */
export interface BenchArgs {
  /** `--subjects`: names to run (empty = all). */
  readonly subjects: readonly string[];
  /** `--groups`: groups to run (empty = all). */
  readonly groups: readonly string[];
  /** `--phases`. */
  readonly phases: readonly PhaseName[];
  /** `--jobs`: per-phase job counts given on the command line. */
  readonly jobs: Partial<Record<PhaseName, number>>;
  /** `--concurrency`. */
  readonly concurrency: number | undefined;
  /** `--drain-batch`. */
  readonly drainBatch: number | undefined;
  /** `--bulk-size`: jobs per push in the bulk phase and the drain pre-fill. */
  readonly bulkSize: number;
  /** `--repeat`: measured runs per phase; the median is reported. */
  readonly repeat: number;
  /** `--warmup`: jobs per warm-up run, or undefined for 10% of the phase (≥ 1000). 0 = none. */
  readonly warmup: number | undefined;
  /** `--payload-bytes`: pad params to about this many bytes of JSON (0 = no padding). */
  readonly payloadBytes: number;
  /** `--sample-every`: jobs between memory samples. */
  readonly sampleEvery: number;
  /** `--baseline`: subject names that ratio tables divide by (first one present in a group wins). */
  readonly baseline: readonly string[];
  /** `--json`: print only JSON lines. */
  readonly json: boolean;
  /** `--interleave`: per phase, run the subjects' repeats round-robin instead of back to back. */
  readonly interleave: boolean;
  /** `--out`: append JSON lines to this file. */
  readonly out: string | null;
  /** `--list`: list subjects and whether they can run, then exit. */
  readonly list: boolean;
  /** `--help`. */
  readonly help: boolean;
}

/** The `--help` text. */
export const USAGE = `Usage: npm run bench -- [flags]

Phases (each run on a fresh queue, warmed up, repeated; the median run is reported):
  single  N jobs pushed one at a time, each awaited
  bulk    N jobs pushed in batches of --bulk-size
  drain   N no-op jobs pre-pushed, then claimed + acked by --concurrency workers

Flags:
  --subjects a,b        subjects to run (default: all; see --list)
  --groups a,b          only subjects of these groups (memory, sql, redis, kafka, …)
  --phases p,q          phases to run (default: single,bulk,drain)
  --jobs N              jobs per phase for every phase, or per phase: single=20000,bulk=2e5
                        (default: the subject's sizes, else single 20k, bulk 200k, drain 100k)
  --concurrency C       drain workers (default: the subject's, else 16)
  --drain-batch B       drain with popBatch(B) + ackBatch (default: the subject's, else 1)
  --bulk-size S         jobs per push in the bulk phase and drain pre-fill (default 1000)
  --repeat R            measured runs per phase; the median is reported (default 3)
  --warmup N            jobs per warm-up run (default 10% of the phase, ≥ 1000; 0 = none)
  --payload-bytes B     pad job params to about B bytes of JSON (default: unpadded, ~30 B)
  --sample-every K      jobs between memory samples (default 1000)
  --baseline name,…     ratio tables divide by this subject (per group: first listed present)
  --interleave          per phase, alternate the subjects run by run (round-robin, after all
                        warm-ups), so a busy spell of a shared machine hits them all alike
  --json                print only JSON lines (one per subject and phase)
  --out FILE            also append the JSON lines to FILE
  --list                list subjects and whether they can run here
  --help                this text

Counts accept 20000, 20_000, 20k, 1m, 2e5.`;

/** Parses `200k`, `1m`, `2e5`, `20_000` into a non-negative integer. */
export function parseCount(text: string, flag: string): number {
  const m = /^(\d[\d_]*(?:\.\d+)?(?:e\d+)?)([km]?)$/i.exec(text.trim());
  const mult = m?.[2]?.toLowerCase() === 'k' ? 1e3 : m?.[2]?.toLowerCase() === 'm' ? 1e6 : 1;
  const value = m?.[1] === undefined ? Number.NaN : Number(m[1].replaceAll('_', '')) * mult;
  if (!Number.isFinite(value) || value < 0 || !Number.isInteger(value)) {
    throw new Error(`${flag}: expected a whole number ≥ 0, got "${text}"`);
  }
  return value;
}

function positive(text: string, flag: string): number {
  const n = parseCount(text, flag);
  if (n < 1) throw new Error(`${flag}: must be ≥ 1`);
  return n;
}

function optionalPositive(text: string | undefined, flag: string): number | undefined {
  return text === undefined ? undefined : positive(text, flag);
}

function list(text: string | undefined): string[] {
  if (text === undefined) return [];
  return text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

function parseJobs(text: string | undefined): Partial<Record<PhaseName, number>> {
  const out: Partial<Record<PhaseName, number>> = {};
  if (text === undefined) return out;
  for (const part of list(text)) {
    const eq = part.indexOf('=');
    if (eq < 0) {
      const n = positive(part, '--jobs');
      for (const phase of PHASES) out[phase] = n;
      continue;
    }
    const phase = part.slice(0, eq) as PhaseName;
    if (!PHASES.includes(phase)) throw new Error(`--jobs: unknown phase "${phase}" (${PHASES.join(', ')})`);
    out[phase] = positive(part.slice(eq + 1), `--jobs ${phase}`);
  }
  return out;
}

/** Parses `argv` (without node and the script). Throws on unknown flags or bad values. */
export function parseBenchArgs(argv: readonly string[]): BenchArgs {
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    allowPositionals: false,
    options: {
      subjects: { type: 'string' },
      groups: { type: 'string' },
      phases: { type: 'string' },
      jobs: { type: 'string' },
      concurrency: { type: 'string' },
      'drain-batch': { type: 'string' },
      'bulk-size': { type: 'string' },
      repeat: { type: 'string' },
      warmup: { type: 'string' },
      'payload-bytes': { type: 'string' },
      'sample-every': { type: 'string' },
      baseline: { type: 'string' },
      json: { type: 'boolean', default: false },
      interleave: { type: 'boolean', default: false },
      out: { type: 'string' },
      list: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const phases = values.phases === undefined ? [...PHASES] : list(values.phases);
  for (const p of phases) {
    if (!PHASES.includes(p as PhaseName))
      throw new Error(`--phases: unknown phase "${p}" (${PHASES.join(', ')})`);
  }
  return {
    subjects: list(values.subjects),
    groups: list(values.groups),
    // Keep the canonical order whatever order the flag lists them in.
    phases: PHASES.filter((p) => phases.includes(p)),
    jobs: parseJobs(values.jobs),
    concurrency: optionalPositive(values.concurrency, '--concurrency'),
    drainBatch: optionalPositive(values['drain-batch'], '--drain-batch'),
    bulkSize: optionalPositive(values['bulk-size'], '--bulk-size') ?? DEFAULTS.bulkSize,
    repeat: optionalPositive(values.repeat, '--repeat') ?? DEFAULTS.repeat,
    warmup: values.warmup === undefined ? undefined : parseCount(values.warmup, '--warmup'),
    payloadBytes:
      values['payload-bytes'] === undefined
        ? DEFAULTS.payloadBytes
        : parseCount(values['payload-bytes'], '--payload-bytes'),
    sampleEvery: optionalPositive(values['sample-every'], '--sample-every') ?? DEFAULTS.sampleEvery,
    baseline: list(values.baseline),
    json: values.json === true,
    interleave: values.interleave === true,
    out: values.out ?? null,
    list: values.list === true,
    help: values.help === true,
  };
}
