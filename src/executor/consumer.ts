/**
 * One Kafka consumer of the executor: bounded in-flight dispatch, per-partition commit tracking,
 * periodic commits, and a drain for shutdown or a topic change.
 *
 * @packageDocumentation
 */
import type {
  ConsumedBatch,
  ConsumedMessage,
  KafkaAdminPort,
  KafkaClient,
  KafkaConsumerPort,
} from '../kafka/index.js';
import type { RunnerLogger } from '../runner/handlers.js';
import { describe } from './events.js';
import type { ExecutorMetrics } from './metrics.js';
import { OffsetTracker } from './offsets.js';
import { AcquireAborted, Semaphore } from './semaphore.js';

/** The message handling of one consumer: resolves true when the message finished (commit may pass it). */
export type Process = (message: ConsumedMessage, topic: string, partition: number) => Promise<boolean>;

/**
 * One Kafka consumer (either client, through the seam's port): bounded in-flight dispatch, per-partition commit tracking, periodic
 * commits, and a drain for shutdown or a topic change.
 */
export class TrackedConsumer {
  readonly #consumer: KafkaConsumerPort;
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
  readonly #groupId: string;
  readonly #startAt: 'latest' | 'earliest';
  readonly #admin: KafkaAdminPort | null;

  constructor(
    kafka: KafkaClient,
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
      /** Where the group starts when it has no committed offset at all (a new group). */
      startAt?: 'latest' | 'earliest';
      /** For `startAt: latest`. */
      admin?: KafkaAdminPort;
    },
  ) {
    this.#consumer = kafka.consumer({
      groupId,
      sessionTimeout: deps.sessionTimeout,
      heartbeatInterval: Math.max(500, Math.min(3000, Math.floor(deps.sessionTimeout / 5))),
      // A new assignment restarts fetching at the committed offsets: old trackers no longer apply.
      onAssignment: () => this.#tracker.clear(),
      onLag: (topic, partition, lag) => this.#metrics.setLag(this.#rule, topic, partition, lag),
      lagIntervalMs: deps.commitIntervalMs,
      onError: (err) =>
        this.#logger.error('executor: the Kafka consumer failed', {
          consumer: this.#label,
          error: describe(err),
        }),
    });
    this.topics = topics;
    this.#semaphore = new Semaphore(concurrency);
    this.#process = process;
    this.#logger = deps.logger;
    this.#label = `${deps.rule} (${groupId})`;
    this.#metrics = deps.metrics;
    this.#rule = deps.rule;
    this.#groupId = groupId;
    this.#startAt = deps.startAt ?? 'earliest';
    this.#admin = deps.admin ?? null;
    this.#timer = setInterval(() => void this.commit(), deps.commitIntervalMs);
    this.#timer.unref();
  }

  /** The most messages ever in flight at once. */
  get peak(): number {
    return this.#semaphore.peak;
  }

  get inFlight(): number {
    return this.#inFlight.size;
  }

  /**
   * A group with no committed offset on any of its topics is new: its offsets are set to the
   * current ends before it joins, so it starts at the latest message (ChangeProp's
   * `auto.offset.reset: largest`) — and, unlike a reset policy resolved at the first fetch, every
   * message produced after start() resolved is consumed. A group that has committed anything
   * keeps its offsets; a partition it never committed starts at the beginning.
   */
  async #skipToEndIfNew(): Promise<void> {
    if (this.#startAt !== 'latest' || this.#admin === null) return;
    const committed = await this.#admin.committedOffsets(this.#groupId, this.topics);
    const isNew = [...committed.values()].every((ps) => ps.every((p) => p.offset < 0n));
    if (!isNew) return;
    for (const topic of this.topics) {
      // Only partitions holding messages: an empty one reads from its beginning anyway.
      const ends = (await this.#admin.topicEnds(topic)).filter((e) => e.high > e.low);
      if (ends.length === 0) continue;
      await this.#admin.setGroupOffsets(
        this.#groupId,
        topic,
        ends.map((e) => ({ partition: e.partition, offset: e.high })),
      );
    }
    this.#logger.info('executor: new consumer group starts at the latest messages', {
      consumer: this.#label,
    });
  }

  async start(): Promise<void> {
    await this.#skipToEndIfNew();
    await this.#consumer.run(this.topics, (batch) => this.#eachBatch(batch));
  }

  async #eachBatch(batch: ConsumedBatch): Promise<void> {
    const signal = this.#dispatch.signal;
    const { topic, partition, resolveOffset, heartbeat, isActive } = batch;
    let offsets = this.#tracker.partition(topic, partition);
    let last: string | null = null;
    try {
      for (const message of batch.messages) {
        if (signal.aborted || !isActive()) return;
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
          if (!isActive()) {
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
        if (batch.highWatermark !== null) {
          const lag = batch.highWatermark - 1n - BigInt(last);
          this.#metrics.setLag(this.#rule, topic, partition, Number(lag > 0n ? lag : 0n));
        }
      }
    }
  }

  /** Commits every partition's finished prefix that moved. */
  commit(): Promise<void> {
    this.#committing = this.#committing.then(async () => {
      const commits = this.#tracker.takeCommits();
      if (commits.length === 0) return;
      try {
        await this.#consumer.commit(commits);
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
    this.#consumer.pause(this.topics);
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
