/**
 * The adapter every switchyard backend subject uses: it turns a factory of {@link JobQueue}s into a
 * {@link Subject}, driving the queue only through its public API (`push`, `pop`, `popBatch`,
 * `ack`, `ackBatch`, `delete`, `close`) exactly as an application would.
 *
 * @packageDocumentation
 */
import type { JobSpecification } from '../../src/core/job.js';
import type { JobQueue } from '../../src/core/job-queue.js';
import type {
  BenchJob,
  DrainOptions,
  SetupContext,
  Subject,
  SubjectDefaults,
  SubjectGroup,
  SubjectKind,
} from './types.js';

/** Options of {@link jobQueueSubject}. */
export interface JobQueueSubjectOptions {
  /** Comparison group. Default: the name up to its first `-` (`sql-postgres` → `sql`). */
  readonly group?: SubjectGroup;
  /** Default `switchyard`. */
  readonly kind?: SubjectKind;
  /** One line for `--list`. */
  readonly description?: string;
  /** Phase sizes etc. for this subject. */
  readonly defaults?: SubjectDefaults;
  /** Null when runnable, else the skip reason. Default: always runnable. */
  readonly available?: () => Promise<string | null>;
  /**
   * Cleans up after a run. Default: `queue.delete()` then `queue.close()`, so a shared store
   * (SQL table, Redis keyspace) is left empty. Override to also close a connection you opened.
   */
  readonly dispose?: (queue: JobQueue<string>) => Promise<void>;
}

/** Builds the queue for one run; called from `setup()`, so every run gets a fresh queue. */
export type QueueFactory = (ctx: SetupContext) => JobQueue<string> | Promise<JobQueue<string>>;

/**
 * A {@link Subject} around any switchyard {@link JobQueue}.
 *
 * Drain workers loop `pop()` → `ack()` (or `popBatch(b)` → `ackBatch()` when the drain batch is
 * above 1) until a claim comes back empty. Every push result and ack result is checked, so a
 * backend that drops or double-delivers jobs fails the bench instead of posting a fast number.
 *
 * @param name - unique subject name (`memory`, `sql-sqlite`, `redis`, …).
 * @param makeQueue - creates a fresh, empty queue for one run.
 * @param options - group, defaults, availability check, cleanup.
 */
export function jobQueueSubject(
  name: string,
  makeQueue: QueueFactory,
  options: JobQueueSubjectOptions = {},
): Subject {
  let queue: JobQueue<string> | null = null;
  let type = '';
  const current = (): JobQueue<string> => {
    if (queue === null) throw new Error(`bench subject ${name}: setup() was not called`);
    return queue;
  };
  const dispose =
    options.dispose ??
    (async (q: JobQueue<string>) => {
      await q.delete();
      await q.close();
    });
  const subject: Subject = {
    name,
    group: options.group ?? name.split('-')[0] ?? name,
    kind: options.kind ?? 'switchyard',
    ...(options.description === undefined ? {} : { description: options.description }),
    ...(options.defaults === undefined ? {} : { defaults: options.defaults }),
    available: options.available ?? (() => Promise.resolve(null)),

    async setup(ctx: SetupContext): Promise<void> {
      if (queue !== null) throw new Error(`bench subject ${name}: setup() twice without teardown()`);
      queue = await makeQueue(ctx);
      type = queue.type;
    },

    async singlePush(job: BenchJob): Promise<void> {
      const r = await current().push({ type, params: job.params });
      if (r.inserted !== 1) throw new Error(`${name}: push stored ${r.inserted} of 1 job`);
    },

    async bulkPush(jobs: readonly BenchJob[]): Promise<void> {
      const specs: JobSpecification<string>[] = new Array(jobs.length);
      for (let k = 0; k < jobs.length; k++) specs[k] = { type, params: (jobs[k] as BenchJob).params };
      const r = await current().push(specs);
      if (r.inserted !== jobs.length) {
        throw new Error(`${name}: push stored ${r.inserted} of ${jobs.length} jobs`);
      }
    },

    drain(opts: DrainOptions): Promise<number> {
      return drainQueue(name, current(), opts);
    },

    async teardown(): Promise<void> {
      const q = queue;
      queue = null;
      if (q !== null) await dispose(q);
    },
  };
  return subject;
}

/** Runs `opts.concurrency` pop/ack workers over `queue` until it is empty; returns the jobs acked. */
async function drainQueue(name: string, queue: JobQueue<string>, opts: DrainOptions): Promise<number> {
  const { batch, tick } = opts;
  let done = 0;
  const single = async (): Promise<void> => {
    for (;;) {
      const job = await queue.pop();
      if (job === null) return;
      if (!(await queue.ack(job))) throw new Error(`${name}: ack of ${job.id} returned false`);
      done++;
      tick(1);
    }
  };
  const batched = async (): Promise<void> => {
    for (;;) {
      const jobs = await queue.popBatch(batch);
      if (jobs.length === 0) return;
      const acked = await queue.ackBatch(jobs);
      for (let k = 0; k < acked.length; k++) {
        if (acked[k] !== true) throw new Error(`${name}: ack of ${jobs[k]?.id} returned false`);
      }
      done += jobs.length;
      tick(jobs.length);
    }
  };
  const worker = batch > 1 ? batched : single;
  const workers: Promise<void>[] = [];
  for (let w = 0; w < opts.concurrency; w++) workers.push(worker());
  await Promise.all(workers);
  return done;
}
