/**
 * One Kafka consumer of the executor: bounded in-flight dispatch, per-partition commit tracking,
 * periodic commits, and a drain for shutdown or a topic change.
 *
 * @packageDocumentation
 */
import type { Consumer, EachBatchPayload, Kafka, KafkaMessage } from 'kafkajs';
import type { RunnerLogger } from '../runner/handlers.js';
import { describe } from './events.js';
import type { ExecutorMetrics } from './metrics.js';
import { OffsetTracker } from './offsets.js';
import { AcquireAborted, Semaphore } from './semaphore.js';

/** The message handling of one consumer: resolves true when the message finished (commit may pass it). */
export type Process = (message: KafkaMessage, topic: string, partition: number) => Promise<boolean>;

/**
 * One kafkajs consumer: bounded in-flight dispatch, per-partition commit tracking, periodic
 * commits, and a drain for shutdown or a topic change.
 */
export class TrackedConsumer {
  readonly #consumer: Consumer;
  readonly #semaphore: Semaphore;
  readonly #tracker = new OffsetTracker();
  readonly #process: Process;
  readonly #logger: RunnerLogger;
  readonly #label: string;
  readonly #metrics: ExecutorMetrics;
  readonly #rule: string;
  /** Aborted when dispatch must stop (shutdown or restart). */
  readonly #dispatch = new AbortController();
  readonly #inFlight = new Set<Promise<void>>();
  #timer: NodeJS.Timeout | null = null;
  #committing: Promise<void> = Promise.resolve();
  readonly topics: readonly string[];

  constructor(
    kafka: Kafka,
    groupId: string,
    topics: readonly string[],
    concurrency: number,
    process: Process,
    deps: {
      logger: RunnerLogger;
      metrics: ExecutorMetrics;
      rule: string;
      commitIntervalMs: number;
      sessionTimeout: number;
    },
  ) {
    this.#consumer = kafka.consumer({
      groupId,
      allowAutoTopicCreation: false,
      maxWaitTimeInMs: 100,
      sessionTimeout: deps.sessionTimeout,
      heartbeatInterval: Math.max(500, Math.min(3000, Math.floor(deps.sessionTimeout / 5))),
    });
    this.topics = topics;
    this.#semaphore = new Semaphore(concurrency);
    this.#process = process;
    this.#logger = deps.logger;
    this.#label = `${deps.rule} (${groupId})`;
    this.#metrics = deps.metrics;
    this.#rule = deps.rule;
    this.#timer = setInterval(() => void this.commit(), deps.commitIntervalMs);
    this.#timer.unref();
    this.#consumer.on(this.#consumer.events.GROUP_JOIN, () => {
      // A new assignment restarts fetching at the committed offsets: old trackers no longer apply.
      this.#tracker.clear();
    });
  }

  /** The most messages ever in flight at once. */
  get peak(): number {
    return this.#semaphore.peak;
  }

  get inFlight(): number {
    return this.#inFlight.size;
  }

  async start(): Promise<void> {
    await this.#consumer.connect();
    await this.#consumer.subscribe({ topics: [...this.topics], fromBeginning: true });
    await this.#consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      eachBatch: (payload) => this.#eachBatch(payload),
    });
  }

  async #eachBatch({ batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload): Promise<void> {
    const signal = this.#dispatch.signal;
    const { topic, partition } = batch;
    let offsets = this.#tracker.partition(topic, partition);
    let last: string | null = null;
    try {
      for (const message of batch.messages) {
        if (signal.aborted || !isRunning() || isStale()) return;
        if (!this.#semaphore.tryAcquire()) {
          const beat = setInterval(() => void heartbeat().catch(() => undefined), 2000);
          try {
            await this.#semaphore.acquire(signal);
          } catch (err) {
            if (err instanceof AcquireAborted) return;
            throw err;
          } finally {
            clearInterval(beat);
          }
          if (!isRunning() || isStale()) {
            this.#semaphore.release();
            return;
          }
        }
        const offset = BigInt(message.offset);
        try {
          offsets.dispatch(offset);
        } catch {
          // Fetching went back (a rebalance we did not see yet): start this partition afresh.
          this.#tracker.drop(topic, partition);
          offsets = this.#tracker.partition(topic, partition);
          offsets.dispatch(offset);
        }
        last = message.offset;
        const tracker = offsets;
        const task = this.#process(message, topic, partition)
          .then(
            (finished) => {
              if (finished) tracker.finish(offset);
            },
            (err: unknown) => {
              // Unexpected: the message stays unfinished, so the commit never passes it.
              this.#logger.error('executor: message processing crashed', {
                rule: this.#rule,
                topic,
                partition,
                offset: message.offset,
                error: describe(err),
              });
            },
          )
          .finally(() => {
            this.#semaphore.release();
            this.#inFlight.delete(task);
          });
        this.#inFlight.add(task);
      }
    } finally {
      // Moves the fetch position past what was dispatched (commits are separate, see commit()).
      if (last !== null) {
        resolveOffset(last);
        const lag = BigInt(batch.highWatermark) - 1n - BigInt(last);
        this.#metrics.setLag(this.#rule, topic, partition, Number(lag > 0n ? lag : 0n));
      }
    }
  }

  /** Commits every partition's finished prefix that moved. */
  commit(): Promise<void> {
    this.#committing = this.#committing.then(async () => {
      const commits = this.#tracker.takeCommits();
      if (commits.length === 0) return;
      try {
        await this.#consumer.commitOffsets(commits);
        this.#metrics.increment('commits', { rule: this.#rule, type: '' }, commits.length);
      } catch (err) {
        this.#tracker.untake(commits);
        this.#logger.warn('executor: offset commit failed (will retry)', {
          consumer: this.#label,
          error: describe(err),
        });
      }
    });
    return this.#committing;
  }

  /**
   * Stops dispatching, waits for in-flight messages up to `graceMs`, then aborts the rest via
   * `abortRunning` (they are handed back), commits what finished and disconnects.
   */
  async stop(graceMs: number, abortRunning: () => void): Promise<void> {
    this.#dispatch.abort();
    try {
      this.#consumer.pause(this.topics.map((topic) => ({ topic })));
    } catch {
      // Not running yet.
    }
    if (this.#inFlight.size > 0) {
      let timer: NodeJS.Timeout | undefined;
      const all = Promise.allSettled([...this.#inFlight]);
      const grace = new Promise<'grace'>((r) => {
        timer = setTimeout(() => r('grace'), graceMs);
      });
      const first = await Promise.race([all, grace]);
      clearTimeout(timer);
      if (first === 'grace') {
        abortRunning();
        await Promise.race([
          Promise.allSettled([...this.#inFlight]),
          new Promise((r) => setTimeout(r, 2000)),
        ]);
      }
    }
    if (this.#timer) clearInterval(this.#timer);
    await this.commit();
    await this.#consumer.disconnect().catch((err: unknown) => {
      this.#logger.warn('executor: consumer disconnect failed', {
        consumer: this.#label,
        error: describe(err),
      });
    });
  }
}
