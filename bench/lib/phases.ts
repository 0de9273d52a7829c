/**
 * The three phases and how one measured run of a phase is timed.
 *
 * @packageDocumentation
 */
import { makeJobs } from './jobs.js';
import { fullGc, MemorySampler, type MemoryStats } from './memory.js';
import type { BenchJob, PhaseName, Subject } from './types.js';

/** Everything one run of one phase needs. */
export interface RunConfig {
  readonly phase: PhaseName;
  /** Jobs to push (single, bulk) or to pre-push and drain. */
  readonly jobs: number;
  readonly concurrency: number;
  readonly drainBatch: number;
  readonly bulkSize: number;
  readonly payloadBytes: number;
  readonly sampleEvery: number;
}

/** What one run measured. */
export interface RunResult {
  readonly jobs: number;
  /** Wall time of the timed part (ms). For drain: the drain only, not the pre-fill. */
  readonly ms: number;
  readonly opsPerSec: number;
  /** CPU time (user + system, all threads incl. GC helpers) over the timed part (ms). */
  readonly cpuMs: number;
  readonly memory: MemoryStats;
  /** Drain only: how long the bulk pre-fill took (ms). */
  readonly prefillMs: number | null;
}

let runCounter = 0;

/**
 * Holds the current run's jobs until its memory is measured. Without it, once the optimiser
 * proves the local arrays dead, a GC may free them mid-run and heap Δ would drop by ~50 B/job
 * from one run to the next (observed: 194 → 138 B/job after a few runs).
 */
const pinned: { jobs: unknown } = { jobs: null };

function chunk(jobs: readonly BenchJob[], size: number): BenchJob[][] {
  const out: BenchJob[][] = [];
  for (let k = 0; k < jobs.length; k += size) out.push(jobs.slice(k, k + size));
  return out;
}

/**
 * One run: builds the params, `setup()`s a fresh queue, GCs, then times the phase while sampling
 * memory, and `teardown()`s whatever happens.
 *
 * Memory baseline: heap and RSS right after `setup()` and a full GC, with the job params already
 * allocated — so heap Δ is what the queue itself retains after the phase (single/bulk: the N
 * queued jobs; drain: what is left once the queue is empty again, ideally ≈ 0). For drain the
 * baseline is taken before the pre-fill, so its heap peak includes the pre-filled jobs.
 */
export async function runOnce(subject: Subject, cfg: RunConfig, warmup: boolean): Promise<RunResult> {
  const jobs = makeJobs(cfg.jobs, cfg.payloadBytes);
  const batches = cfg.phase === 'single' ? [] : chunk(jobs, cfg.bulkSize);
  pinned.jobs = [jobs, batches];
  const sampler = new MemorySampler(cfg.sampleEvery);
  await subject.setup({
    phase: cfg.phase,
    jobs: cfg.jobs,
    concurrency: cfg.concurrency,
    runId: `bench-${process.pid}-${++runCounter}`,
    warmup,
  });
  try {
    fullGc();
    sampler.start();
    let prefillMs: number | null = null;
    if (cfg.phase === 'drain') {
      const p0 = performance.now();
      for (const batch of batches) await subject.bulkPush(batch);
      prefillMs = performance.now() - p0;
      fullGc();
      sampler.sample();
    }
    let processed = cfg.jobs;
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    switch (cfg.phase) {
      case 'single':
        for (let k = 0; k < jobs.length; k++) {
          await subject.singlePush(jobs[k] as BenchJob);
          sampler.tick(1);
        }
        break;
      case 'bulk':
        for (const batch of batches) {
          await subject.bulkPush(batch);
          sampler.tick(batch.length);
        }
        break;
      case 'drain':
        processed = await subject.drain({
          jobs: cfg.jobs,
          concurrency: cfg.concurrency,
          batch: cfg.drainBatch,
          tick: (n) => sampler.tick(n),
        });
        break;
    }
    const ms = performance.now() - t0;
    const cpu = process.cpuUsage(c0);
    const memory = sampler.finish();
    if (processed !== cfg.jobs) {
      throw new Error(`${subject.name} drain processed ${processed} of ${cfg.jobs} jobs`);
    }
    return {
      jobs: cfg.jobs,
      ms,
      opsPerSec: (cfg.jobs / ms) * 1000,
      cpuMs: (cpu.user + cpu.system) / 1000,
      memory,
      prefillMs,
    };
  } finally {
    pinned.jobs = null;
    await subject.teardown();
  }
}

/** The run with the median wall time (the upper middle one for an even count). */
export function medianRun(runs: readonly RunResult[]): RunResult {
  if (runs.length === 0) throw new Error('medianRun: no runs');
  const sorted = [...runs].sort((a, b) => a.ms - b.ms);
  return sorted[Math.floor(sorted.length / 2)] as RunResult;
}

/** Jobs for the warm-up run: `requested` if given, else 10% of the phase (at least 1000). */
export function warmupJobs(phaseJobs: number, requested: number | undefined): number {
  if (requested !== undefined) return Math.min(requested, phaseJobs);
  return Math.min(phaseJobs, Math.max(1000, Math.round(phaseJobs / 10)));
}
