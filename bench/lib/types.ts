/**
 * The contract between the benchmark harness and the things it measures ("subjects"). A subject
 * is one queue implementation — a switchyard backend or a peer library (BullMQ, bee-queue, pg-boss,
 * graphile-worker, …) — that can push jobs and drain them. Subjects live in `bench/subjects/*.ts`
 * and are discovered at run time, so adding one never touches the harness.
 *
 * @packageDocumentation
 */
import type { JsonObject } from '../../src/core/job.js';

/** The three phases every subject runs. */
export type PhaseName = 'single' | 'bulk' | 'drain';

/** Every phase, in run order. */
export const PHASES: readonly PhaseName[] = Object.freeze(['single', 'bulk', 'drain']);

/**
 * Which subjects compare like for like: a group holds switchyard's backend for one store and the
 * peer libraries on the same store (e.g. `redis`: switchyard's redis backend, BullMQ, bee-queue).
 */
export type SubjectGroup = 'memory' | 'sql' | 'redis' | 'kafka' | (string & {});

/** Whether a subject is switchyard itself or another library measured for comparison. */
export type SubjectKind = 'switchyard' | 'peer';

/** One job as the harness hands it to a subject. Params are built before the clock starts. */
export interface BenchJob {
  /** 0-based index within the phase (unique per run; peers may use it as a job id). */
  readonly i: number;
  /** Small JSON params (`{ i, page }`, padded by `--payload-bytes`). */
  readonly params: JsonObject;
}

/** Per-subject defaults; anything left out falls back to the harness defaults. */
export interface SubjectDefaults {
  /** Jobs in the single-push phase. */
  readonly single?: number;
  /** Jobs in the bulk-push phase. */
  readonly bulk?: number;
  /** Jobs in the drain phase. */
  readonly drain?: number;
  /** Drain workers. */
  readonly concurrency?: number;
  /** Jobs per `popBatch` / `ackBatch` in the drain phase; 1 = `pop` + `ack`. */
  readonly drainBatch?: number;
}

/** What `setup()` learns about the run it prepares. */
export interface SetupContext {
  /** The phase about to run. */
  readonly phase: PhaseName;
  /** Jobs the phase will push (and, for drain, pre-push then drain). */
  readonly jobs: number;
  /** Drain workers. */
  readonly concurrency: number;
  /**
   * Unique per setup within this process (`bench-<pid>-<n>`). Subjects on a shared store (SQL,
   * Redis) use it to name a fresh, empty queue so runs never see each other's jobs.
   */
  readonly runId: string;
  /** True for the short warm-up run whose numbers are thrown away. */
  readonly warmup: boolean;
}

/** What the drain phase asks of a subject. */
export interface DrainOptions {
  /** Jobs that were pre-pushed; the drain is complete when this many were processed. */
  readonly jobs: number;
  /** Concurrent workers (each loops claim → no-op → ack). */
  readonly concurrency: number;
  /** Jobs per claim / ack call; 1 means `pop()` + `ack()`. */
  readonly batch: number;
  /**
   * Call after acking `n` jobs. The harness samples memory every `--sample-every` jobs from here
   * (there is no timer: a memory backend never yields to the event loop while it drains).
   */
  readonly tick: (n: number) => void;
}

/**
 * One thing to benchmark. The harness calls, for every measured run of every phase:
 * `setup()` → (drain only: `bulkPush()` to pre-fill) → the timed phase → `teardown()`.
 * Each run therefore starts from a fresh, empty queue.
 *
 * Peer libraries should be imported dynamically inside `available()` / `setup()`, so a missing
 * optional dependency skips that subject instead of breaking the whole run.
 */
export interface Subject {
  /** Unique name, used by `--subjects` and `--baseline` (e.g. `memory`, `sql-postgres`, `bullmq`). */
  readonly name: string;
  /** Comparison group; ratio tables are printed per group. */
  readonly group: SubjectGroup;
  /** `switchyard` for our backends, `peer` for other libraries. */
  readonly kind: SubjectKind;
  /** One line for `--list`. */
  readonly description?: string;
  /** Phase sizes etc. for this subject (SQL and Redis are slower than memory). */
  readonly defaults?: SubjectDefaults;
  /** Null when the subject can run here, else why it is skipped (e.g. `set SWITCHYARD_REDIS_URL`). */
  available(): Promise<string | null>;
  /** Prepares a fresh, empty queue for one run. */
  setup(ctx: SetupContext): Promise<void>;
  /** Pushes one job and resolves when it is stored. */
  singlePush(job: BenchJob): Promise<void>;
  /** Pushes a batch and resolves when all of it is stored. */
  bulkPush(jobs: readonly BenchJob[]): Promise<void>;
  /** Claims and acks jobs until `opts.jobs` were processed (or the queue is empty); returns how many. */
  drain(opts: DrainOptions): Promise<number>;
  /** Removes what `setup()` created (jobs, queue, connections it owns). */
  teardown(): Promise<void>;
}
