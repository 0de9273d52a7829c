/**
 * The Kafka executor (SPEC §5, ChangeProp's role in WMF's job queue). Per rule, one consumer
 * group reads the job topics and a second one (`{group}-retry`) reads the rule's retry topics.
 * Each event goes: schema → signature (reject → error topic) → type filter → partitioner →
 * delay_until (sleep, or re-produce when the wait exceeds reenqueueDelay) → stale drop (claimTTL /
 * rootClaimTTL) → dedup (Redis, fail-open; never for retries) → execute (in-process handler or
 * HTTP POST) → on failure a retry event with exponential delay, then the error topic.
 *
 * At most `concurrency` messages per consumer are in flight; consumption waits at the limit.
 * Offsets are committed per partition, only up to the first message that has not finished.
 * Stopping finishes in-flight jobs within the grace period, hands the rest back (uncommitted),
 * and commits what finished.
 *
 * @packageDocumentation
 */
import { randomUUID } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import type { Redis } from 'ioredis';
import {
  type Admin,
  type Consumer,
  type EachBatchPayload,
  Kafka,
  type KafkaMessage,
  logLevel,
  Partitioners,
  type Producer,
} from 'kafkajs';
import type { JobEvent } from '../backends/eventbus/event.js';
import type { ResolvedConfig } from '../core/config-types.js';
import { configInvalid, ErrorCode, SwitchyardError } from '../core/errors.js';
import type { MetricsSink } from '../core/metrics.js';
import { type JobTracer, noopTracer } from '../core/tracing.js';
import {
  defineHandlers,
  type HandlerMap,
  HandlerRegistry,
  type RunnerLogger,
  silentLogger,
} from '../runner/handlers.js';
import {
  type ExecutorConfig,
  type ExecutorRule,
  type PartitionerConf,
  resolveExecutorConfig,
} from './config.js';
import { RedisDedup } from './dedup.js';
import {
  checkJobEvent,
  eventTimes,
  jobFromEvent,
  outcomeOfStatus,
  parseTime,
  type RunOutcome,
  runHandler,
} from './job-event.js';
import { ExecutorMetrics } from './metrics.js';
import { OffsetTracker } from './offsets.js';
import { AcquireAborted, Semaphore } from './semaphore.js';

/** `$schema` of the retry events the executor produces. */
export const RETRY_EVENT_SCHEMA = '/switchyard/executor/retry/1.0.0';
/** `$schema` of the error events the executor produces. */
export const ERROR_EVENT_SCHEMA = '/switchyard/executor/error/1.0.0';

/** A retry event on `{service}.retry.{stream}`. */
export interface RetryEvent {
  readonly $schema: typeof RETRY_EVENT_SCHEMA;
  readonly meta: {
    readonly id: string;
    readonly dt: string;
    readonly stream: string;
    readonly domain: string;
  };
  readonly emitter_id: string;
  /** The run this retry will be (2 = first retry). */
  readonly attempt: number;
  readonly retries_left: number;
  /** Not before this time. */
  readonly retry_at: string;
  readonly reason: string;
  readonly original_event: JobEvent;
}

/** An error event on `{service}.error`. */
export interface ErrorEvent {
  readonly $schema: typeof ERROR_EVENT_SCHEMA;
  readonly meta: {
    readonly id: string;
    readonly dt: string;
    readonly stream: string;
    readonly domain?: string;
  };
  readonly emitter_id: string;
  readonly reason: string;
  readonly detail: string;
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
  /** The event, when it was JSON. */
  readonly original_event?: unknown;
  /** The message text, when it was not JSON. */
  readonly raw_event?: string;
}

/** Options of {@link Executor} / {@link startExecutor}. */
export interface ExecutorOptions {
  /** In-process handlers (rules without an endpoint). */
  readonly handlers?: HandlerRegistry | HandlerMap;
  readonly logger?: RunnerLogger;
  /** Aborting it stops the executor (gracefully). */
  readonly signal?: AbortSignal;
  /** A core metrics sink to forward retries / errors / timings to. */
  readonly metrics?: MetricsSink;
  /** Wraps each dispatch in a span linked to the event's `meta.request_id`. Default: none. */
  readonly tracer?: JobTracer;
  /** A host ioredis client for dedup (never closed by the executor); overrides `redis`. */
  readonly redisClient?: Redis;
  /** Clock, Unix ms (tests). */
  readonly now?: () => number;
}

/** What {@link startExecutor} resolves with. */
export interface ExecutorHandle {
  readonly metrics: ExecutorMetrics;
  /** The topics each rule consumes (after regex expansion). */
  topics(): Record<string, string[]>;
  /** Messages dispatched and not finished, per rule. */
  inFlight(): Record<string, number>;
  /** Stops gracefully: finishes in-flight jobs for `graceMs` (default `shutdownGrace`), hands the rest back. */
  stop(options?: { readonly graceMs?: number }): Promise<void>;
  /** Settles when the executor has stopped. */
  readonly stopped: Promise<void>;
}

const UNREACHABLE =
  /ECONNREFUSED|ETIMEDOUT|EHOSTUNREACH|ENOTFOUND|Connection timeout|KafkaJSConnectionError|KafkaJSNumberOfRetriesExceeded|Failed to connect/i;

/** Characters of an event kept in an error event that would otherwise be too large. */
const ERROR_EXCERPT_CHARS = 4096;

/** The broker refused a produce for its size (Kafka error 10, MESSAGE_TOO_LARGE). */
class MessageTooLarge extends Error {
  constructor(topic: string, messages: ReadonlyArray<{ readonly value: string }>, cause: unknown) {
    const chars = messages.reduce((n, m) => n + m.value.length, 0);
    super(`${topic} refuses a message of ${chars} characters as too large (its max.message.bytes)`, {
      cause,
    });
    this.name = 'MessageTooLarge';
  }
}

/** True for kafkajs' MESSAGE_TOO_LARGE (on the error or the one it wraps). */
function isMessageTooLarge(err: unknown): boolean {
  for (
    let e = err as { type?: unknown; originalError?: unknown; cause?: unknown } | null, i = 0;
    e && i < 4;
    i++
  ) {
    if (e.type === 'MESSAGE_TOO_LARGE' || e.type === 'RECORD_LIST_TOO_LARGE') return true;
    e = (e.originalError ?? e.cause ?? null) as typeof e;
  }
  return false;
}

function describe(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}

/** Sleeps `ms`; resolves false early when `signal` aborts. */
function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** The message handling of one consumer: resolves true when the message finished (commit may pass it). */
type Process = (message: KafkaMessage, topic: string, partition: number) => Promise<boolean>;

/**
 * One kafkajs consumer: bounded in-flight dispatch, per-partition commit tracking, periodic
 * commits, and a drain for shutdown or a topic change.
 */
class TrackedConsumer {
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

/** Topic helpers for one executor config. */
function topicNames(config: ExecutorConfig) {
  const dc = config.dcPrefix;
  const stream = (topic: string) =>
    dc !== null && topic.startsWith(`${dc}.`) ? topic.slice(dc.length + 1) : topic;
  const withDc = (name: string) => (dc === null ? name : `${dc}.${name}`);
  return {
    stream,
    retryTopic: (topic: string) => withDc(`${config.service}.retry.${stream(topic)}`),
    errorTopic: withDc(`${config.service}.error`),
    isInternal: (topic: string) =>
      stream(topic).startsWith(`${config.service}.retry.`) || stream(topic) === `${config.service}.error`,
  };
}

/** One rule: its main and retry consumers and the per-event pipeline. */
class RuleRunner {
  readonly rule: ExecutorRule;
  readonly #ex: Executor;
  #main: TrackedConsumer | null = null;
  #retry: TrackedConsumer | null = null;
  /** Aborted when running jobs must be cut short (grace over); renewed after a topic change. */
  #abortRunning = new AbortController();
  /** Aborted when waits (delays) must end at once (stop begun). */
  readonly #abortWaits = new AbortController();
  #topics: string[] = [];
  #refresh: NodeJS.Timeout | null = null;
  #restarting: Promise<void> = Promise.resolve();

  constructor(ex: Executor, rule: ExecutorRule) {
    // Every in-flight job listens on these: thousands at high concurrency, by design.
    setMaxListeners(0, this.#abortRunning.signal, this.#abortWaits.signal);
    this.#ex = ex;
    this.rule = rule;
  }

  get topics(): string[] {
    return [...this.#topics];
  }

  get inFlight(): number {
    return (this.#main?.inFlight ?? 0) + (this.#retry?.inFlight ?? 0);
  }

  /** The most messages ever in flight at once in the main consumer. */
  get peak(): number {
    return Math.max(this.#main?.peak ?? 0, this.#retry?.peak ?? 0);
  }

  #matching(all: readonly string[]): string[] {
    const names = topicNames(this.#ex.config);
    const set = new Set(this.rule.topics);
    if (this.rule.topicPattern !== null) {
      for (const t of all)
        if (!t.startsWith('__') && !names.isInternal(t) && this.rule.topicPattern.test(t)) set.add(t);
    }
    return [...set].sort();
  }

  async start(allTopics: readonly string[]): Promise<void> {
    const existing = new Set(allTopics);
    const missing = this.rule.topics.filter((t) => !existing.has(t));
    if (missing.length > 0) {
      throw new SwitchyardError(
        ErrorCode.CONFIG_INVALID,
        `executor rule "${this.rule.name}": topic${missing.length === 1 ? '' : 's'} ${missing.join(', ')} ${missing.length === 1 ? 'does' : 'do'} not exist on the Kafka cluster (the executor never auto-creates job topics; create ${missing.length === 1 ? 'it' : 'them'} first)`,
      );
    }
    this.#topics = this.#matching(allTopics);
    await this.#startConsumers();
    if (this.rule.topicPattern !== null) {
      this.#refresh = setInterval(
        () => void this.#refreshTopics(),
        this.#ex.config.topicRefreshInterval * 1000,
      );
      this.#refresh.unref();
    }
  }

  async #startConsumers(): Promise<void> {
    if (this.#topics.length === 0) {
      this.#ex.logger.warn('executor: no topic matches the rule yet', { rule: this.rule.name });
      return;
    }
    const names = topicNames(this.#ex.config);
    const retryTopics = this.#topics.map((t) => names.retryTopic(t));
    await this.#ex.ensureTopics(retryTopics);
    const deps = {
      logger: this.#ex.logger,
      metrics: this.#ex.metrics,
      rule: this.rule.name,
      commitIntervalMs: this.#ex.config.commitInterval * 1000,
      sessionTimeout: this.#ex.config.sessionTimeout,
    };
    this.#main = new TrackedConsumer(
      this.#ex.kafka,
      this.rule.groupId,
      this.#topics,
      this.rule.concurrency,
      (m, t, p) => this.#sizeGuarded(m, t, p, () => this.#processMain(m, t, p)),
      deps,
    );
    this.#retry = new TrackedConsumer(
      this.#ex.kafka,
      `${this.rule.groupId}-retry`,
      retryTopics,
      this.rule.concurrency,
      (m, t, p) => this.#sizeGuarded(m, t, p, () => this.#processRetry(m, t, p)),
      deps,
    );
    await Promise.all([this.#main.start(), this.#retry.start()]);
  }

  async #refreshTopics(): Promise<void> {
    this.#restarting = this.#restarting.then(async () => {
      if (this.#abortWaits.signal.aborted) return;
      try {
        const all = await this.#ex.admin.listTopics();
        const next = this.#matching(all);
        if (next.join('\n') === this.#topics.join('\n')) return;
        this.#ex.logger.info('executor: rule topics changed; resubscribing', {
          rule: this.rule.name,
          topics: next,
        });
        await this.#stopConsumers(this.#ex.config.shutdownGrace * 1000);
        if (this.#abortRunning.signal.aborted) {
          this.#abortRunning = new AbortController();
          setMaxListeners(0, this.#abortRunning.signal);
        }
        this.#topics = next;
        if (!this.#abortWaits.signal.aborted) await this.#startConsumers();
      } catch (err) {
        this.#ex.logger.warn('executor: topic refresh failed', {
          rule: this.rule.name,
          error: describe(err),
        });
      }
    });
    return this.#restarting;
  }

  async #stopConsumers(graceMs: number): Promise<void> {
    const running = this.#abortRunning;
    const abort = () => running.abort();
    await Promise.all([this.#main?.stop(graceMs, abort), this.#retry?.stop(graceMs, abort)]);
    this.#main = null;
    this.#retry = null;
  }

  async stop(graceMs: number): Promise<void> {
    if (this.#refresh) clearInterval(this.#refresh);
    this.#abortWaits.abort();
    await this.#restarting;
    await this.#stopConsumers(graceMs);
  }

  /** Parse, schema, signature. Null when the message went to the error topic (or could not). */
  async #accept(
    message: KafkaMessage,
    topic: string,
    partition: number,
  ): Promise<{ event: JobEvent } | { done: boolean }> {
    const raw = message.value?.toString('utf8') ?? '';
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch {
      this.#ex.metrics.increment('invalid', { rule: this.rule.name, type: '', reason: 'not-json' });
      return {
        done: await this.#ex.produceError(
          this.rule,
          'not-json',
          'the message is not JSON',
          { raw_event: raw },
          topic,
          partition,
          message.offset,
        ),
      };
    }
    const check = checkJobEvent(value, this.#ex.config.secret, this.#ex.config.signature);
    if (!check.ok) {
      const type =
        typeof (value as { type?: unknown })?.type === 'string' ? (value as { type: string }).type : '';
      this.#ex.metrics.increment(check.reason === 'bad-signature' ? 'signature_rejected' : 'invalid', {
        rule: this.rule.name,
        type,
        reason: check.reason,
      });
      return {
        done: await this.#ex.produceError(
          this.rule,
          check.reason,
          check.detail,
          { original_event: value },
          topic,
          partition,
          message.offset,
        ),
      };
    }
    return { event: check.event };
  }

  /**
   * Waits until `due` (Unix ms). A wait longer than reenqueueDelay sleeps reenqueueDelay and then
   * re-produces `value` to `topic` ('reenqueued'). 'stopped' when shutdown cut the wait.
   */
  async #waitUntil(
    due: number | null,
    topic: string,
    value: unknown,
    type: string,
  ): Promise<'due' | 'reenqueued' | 'stopped'> {
    if (due === null) return 'due';
    const wait = due - this.#ex.now();
    if (wait <= 0) return 'due';
    const limit = this.rule.reenqueueDelay * 1000;
    if (wait > limit) {
      if (limit > 0 && !(await sleep(limit, this.#abortWaits.signal))) return 'stopped';
      const produced = await this.#ex.produce(topic, [{ value: JSON.stringify(value) }]);
      if (!produced) return 'stopped';
      this.#ex.metrics.increment('reenqueued', { rule: this.rule.name, type });
      return 'reenqueued';
    }
    return (await sleep(wait, this.#abortWaits.signal)) ? 'due' : 'stopped';
  }

  #isStale(event: JobEvent, type: string): boolean {
    const now = this.#ex.now();
    const created = eventTimes(event).created ?? now;
    const ready = Math.max(created, eventTimes(event).delayUntil ?? 0);
    if (this.rule.claimTTL > 0 && now - ready > this.rule.claimTTL * 1000) {
      this.#ex.metrics.increment('stale', { rule: this.rule.name, type, reason: 'claimTTL' });
      return true;
    }
    const rootAt = eventTimes(event).rootAt;
    if (rootAt !== null && this.rule.rootClaimTTL > 0 && now - rootAt > this.rule.rootClaimTTL * 1000) {
      this.#ex.metrics.increment('stale', { rule: this.rule.name, type, reason: 'rootClaimTTL' });
      return true;
    }
    return false;
  }

  /**
   * Runs `process`; when a produce it makes (retry, delay re-enqueue, partitioner) is refused as too
   * large, sends the message to the error topic (`too-large`) instead, so the partition's commits
   * move on rather than replaying a message that can never be produced.
   */
  async #sizeGuarded(
    message: KafkaMessage,
    topic: string,
    partition: number,
    process: () => Promise<boolean>,
  ): Promise<boolean> {
    try {
      return await process();
    } catch (err) {
      if (!(err instanceof MessageTooLarge)) throw err;
      const text = message.value?.toString('utf8') ?? '';
      let original: unknown;
      try {
        original = JSON.parse(text);
      } catch {
        original = undefined;
      }
      return this.#ex.produceError(
        this.rule,
        'too-large',
        err.message,
        original === undefined ? { raw_event: text } : { original_event: original },
        topic,
        partition,
        message.offset,
      );
    }
  }

  async #processMain(message: KafkaMessage, topic: string, partition: number): Promise<boolean> {
    const accepted = await this.#accept(message, topic, partition);
    if ('done' in accepted) return accepted.done;
    const event = accepted.event;
    const type = event.type;
    const labels = { rule: this.rule.name, type, domain: event.database };
    this.#ex.metrics.increment('consumed', labels);
    if (
      (this.rule.types !== null && !this.rule.types.includes(type)) ||
      this.rule.excludeTypes.includes(type)
    ) {
      this.#ex.metrics.increment('excluded', labels);
      return true;
    }
    const partitioner = this.#ex.partitionerFor(type);
    if (partitioner !== null && partitioner.topic !== topic) {
      const target = partitioner.domains[event.database] ?? partitioner.defaultPartition;
      const ok = await this.#ex.produce(partitioner.topic, [
        { value: JSON.stringify(event), partition: target },
      ]);
      if (ok) this.#ex.metrics.increment('partitioned', labels);
      return ok;
    }
    const waited = await this.#waitUntil(eventTimes(event).delayUntil, topic, event, type);
    if (waited === 'stopped') return false;
    if (waited === 'reenqueued') return true;
    if (this.#isStale(event, type)) return true;
    const now = this.#ex.now();
    if (this.#ex.dedup !== null) {
      const rootAt = eventTimes(event).rootAt;
      const reason = await this.#ex.dedup.check(
        {
          id: event.meta.id,
          createdAt: eventTimes(event).created ?? now,
          sha1: event.sha1 ?? null,
          root:
            event.root_event && rootAt !== null
              ? { signature: event.root_event.signature, at: rootAt }
              : null,
        },
        now,
      );
      if (reason !== null) {
        this.#ex.metrics.increment('dedup', { ...labels, reason });
        return true;
      }
    }
    return this.#execute(event, 1, this.rule.retryLimit, topic, partition, message.offset);
  }

  async #processRetry(message: KafkaMessage, topic: string, partition: number): Promise<boolean> {
    const raw = message.value?.toString('utf8') ?? '';
    let retry: RetryEvent;
    try {
      retry = JSON.parse(raw) as RetryEvent;
      if (
        retry?.$schema !== RETRY_EVENT_SCHEMA ||
        typeof retry.retries_left !== 'number' ||
        typeof retry.attempt !== 'number' ||
        typeof retry.retry_at !== 'string'
      ) {
        throw new Error('not a retry event');
      }
    } catch (err) {
      this.#ex.metrics.increment('invalid', { rule: this.rule.name, type: '', reason: 'bad-retry-event' });
      return this.#ex.produceError(
        this.rule,
        'bad-retry-event',
        describe(err),
        { raw_event: raw },
        topic,
        partition,
        message.offset,
      );
    }
    const check = checkJobEvent(retry.original_event, this.#ex.config.secret, this.#ex.config.signature);
    if (!check.ok) {
      this.#ex.metrics.increment(check.reason === 'bad-signature' ? 'signature_rejected' : 'invalid', {
        rule: this.rule.name,
        type: '',
        reason: check.reason,
      });
      return this.#ex.produceError(
        this.rule,
        check.reason,
        check.detail,
        { original_event: retry },
        topic,
        partition,
        message.offset,
      );
    }
    const event = check.event;
    const waited = await this.#waitUntil(parseTime(retry.retry_at), topic, retry, event.type);
    if (waited === 'stopped') return false;
    if (waited === 'reenqueued') return true;
    if (this.#isStale(event, event.type)) return true;
    // Retries are never deduplicated (SPEC §5).
    return this.#execute(event, retry.attempt, retry.retries_left, topic, partition, message.offset);
  }

  async #run(event: JobEvent, attempt: number, topic: string, partition: number): Promise<RunOutcome> {
    const now = this.#ex.now();
    if (this.rule.endpoint === null) {
      const job = jobFromEvent(event, attempt, now, `${topic}:${partition}`);
      return runHandler(this.#ex.handlers, job, this.#ex.logger, this.#abortRunning.signal);
    }
    const signal = AbortSignal.any([
      this.#abortRunning.signal,
      AbortSignal.timeout(this.rule.httpTimeout * 1000),
    ]);
    try {
      const res = await fetch(this.rule.endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-switchyard-attempt': String(attempt) },
        body: JSON.stringify(event),
        signal,
      });
      const body = await res.text();
      return outcomeOfStatus(res.status, body);
    } catch (err) {
      if (this.#abortRunning.signal.aborted) return { kind: 'aborted' };
      return { kind: 'retry', counted: true, reason: `HTTP request failed: ${describe(err)}` };
    }
  }

  /** Runs the job and settles it: ok, retry event, or error event. True when finished. */
  async #execute(
    event: JobEvent,
    attempt: number,
    retriesLeft: number,
    topic: string,
    partition: number,
    offset: string,
  ): Promise<boolean> {
    const type = event.type;
    const labels = { rule: this.rule.name, type, domain: event.database };
    const started = this.#ex.now();
    const ready = Math.max(eventTimes(event).created ?? started, eventTimes(event).delayUntil ?? 0);
    if (attempt === 1) this.#ex.metrics.observe('pickup_delay', labels, Math.max(0, started - ready));
    const rootAt = eventTimes(event).rootAt;
    if (rootAt !== null) this.#ex.metrics.observe('root_job_age', labels, Math.max(0, started - rootAt));
    const trace = {
      domain: event.database,
      type,
      id: event.meta.id,
      requestId: event.meta.request_id ?? null,
    };
    const outcome = await this.#ex.tracer.run({ ...trace, via: 'executor' }, () =>
      this.#run(event, attempt, topic, partition),
    );
    this.#ex.metrics.observe('run_time', labels, this.#ex.now() - started);
    let finished: boolean;
    switch (outcome.kind) {
      case 'aborted':
        return false;
      case 'ok':
        this.#ex.metrics.increment('executed', labels);
        finished = true;
        break;
      case 'ignored':
        this.#ex.metrics.increment('ignored', labels);
        finished = true;
        break;
      case 'retry': {
        this.#ex.metrics.increment('failed', labels);
        const handlerMax = this.rule.endpoint === null ? this.#ex.handlers.get(type)?.maxTries : undefined;
        const left = handlerMax !== undefined ? Math.min(retriesLeft, handlerMax - attempt) : retriesLeft;
        if (!outcome.counted || left > 0) {
          const nth = outcome.counted ? attempt - 1 : Math.max(0, attempt - 2);
          const delay = this.rule.retryDelay * this.rule.retryFactor ** nth * 1000;
          const names = topicNames(this.#ex.config);
          const retryTopic =
            topic === names.retryTopic(topic) || names.isInternal(topic) ? topic : names.retryTopic(topic);
          const now = this.#ex.now();
          const retry: RetryEvent = {
            $schema: RETRY_EVENT_SCHEMA,
            meta: {
              id: randomUUID(),
              dt: new Date(now).toISOString(),
              stream: names.stream(retryTopic),
              domain: event.database,
            },
            emitter_id: `${this.#ex.config.service}/${this.rule.name}`,
            attempt: outcome.counted ? attempt + 1 : attempt,
            retries_left: outcome.counted ? left - 1 : left,
            retry_at: new Date(now + delay).toISOString(),
            reason: outcome.reason.slice(0, 2000),
            original_event: event,
          };
          finished = await this.#ex.produce(retryTopic, [{ value: JSON.stringify(retry) }]);
          if (finished) this.#ex.metrics.increment('retries', labels);
        } else {
          finished = await this.#ex.produceError(
            this.rule,
            'retries-exhausted',
            outcome.reason,
            { original_event: event },
            topic,
            partition,
            offset,
          );
        }
        break;
      }
      case 'error':
        this.#ex.metrics.increment('failed', labels);
        finished = await this.#ex.produceError(
          this.rule,
          'failed',
          outcome.reason,
          { original_event: event },
          topic,
          partition,
          offset,
        );
        break;
    }
    // Not awaited: the id only matters for a replay, and a replay of a message whose mark was lost
    // runs again (at least once) — holding the slot for the write would halve throughput.
    if (finished && this.#ex.dedup !== null) void this.#ex.dedup.markDone(event.meta.id);
    return finished;
  }
}

/** The executor: every rule of an `executor` config section. */
export class Executor {
  readonly config: ExecutorConfig;
  readonly metrics: ExecutorMetrics;
  readonly tracer: JobTracer;
  readonly logger: RunnerLogger;
  readonly handlers: HandlerRegistry;
  readonly kafka: Kafka;
  readonly dedup: RedisDedup | null;
  readonly now: () => number;
  readonly #producer: Producer;
  readonly #admin: Admin;
  readonly #rules: RuleRunner[];
  readonly #partitioners: Map<string, PartitionerConf>;
  #state: 'new' | 'starting' | 'running' | 'stopping' | 'stopped' = 'new';
  #stopping: Promise<void> | null = null;
  #resolveStopped!: () => void;
  readonly stopped: Promise<void>;
  #dedupWarned = 0;

  /** @throws `SWITCHYARD_CONFIG_INVALID` for a bad section (a missing secret included). */
  constructor(config: ExecutorConfig | unknown, options: ExecutorOptions = {}) {
    this.config = isResolved(config) ? config : resolveExecutorConfig(config);
    this.logger = options.logger ?? silentLogger;
    this.metrics = new ExecutorMetrics(options.metrics ?? null);
    this.tracer = options.tracer ?? noopTracer;
    this.now = options.now ?? Date.now;
    const h = options.handlers;
    this.handlers =
      h instanceof HandlerRegistry ? h : h === undefined ? new HandlerRegistry() : defineHandlers(h);
    const needsHandlers = this.config.rules.some((r) => r.endpoint === null);
    if (needsHandlers && options.handlers === undefined) {
      throw configInvalid(
        [{ path: 'handlers', message: 'rules without an endpoint run jobs in-process: pass handlers' }],
        'executor options',
      );
    }
    this.kafka = new Kafka({
      clientId: this.config.clientId,
      brokers: [...this.config.brokers],
      connectionTimeout: this.config.connectionTimeout,
      requestTimeout: this.config.requestTimeout,
      retry: { retries: this.config.retries, initialRetryTime: 200, maxRetryTime: 5000 },
      logLevel: logLevel.NOTHING,
    });
    this.#producer = this.kafka.producer({
      createPartitioner: Partitioners.DefaultPartitioner,
      allowAutoTopicCreation: false,
    });
    this.#admin = this.kafka.admin();
    const redis = options.redisClient ?? this.config.redis;
    this.dedup = redis === null ? null : new RedisDedup(redis, this.config.redisPrefix, this.config.dedup);
    if (this.dedup !== null) {
      this.dedup.onError = (err) => {
        this.metrics.increment('dedup_errors', { rule: '', type: '' });
        const now = Date.now();
        if (now - this.#dedupWarned > 10_000) {
          this.#dedupWarned = now;
          this.logger.warn('executor: Redis dedup failed; running jobs without it (fail-open)', {
            error: describe(err),
          });
        }
      };
    }
    this.#rules = this.config.rules.map((r) => new RuleRunner(this, r));
    this.#partitioners = new Map(this.config.partitioners.map((p) => [p.type, p]));
    this.stopped = new Promise((r) => {
      this.#resolveStopped = r;
    });
    options.signal?.addEventListener('abort', () => void this.stop(), { once: true });
  }

  get admin(): Admin {
    return this.#admin;
  }

  partitionerFor(type: string): PartitionerConf | null {
    return this.#partitioners.get(type) ?? null;
  }

  /**
   * Connects, checks topics (creating missing retry / error / partitioned topics when
   * `createTopics`), and starts every rule's consumers.
   *
   * @throws `SWITCHYARD_BACKEND_UNAVAILABLE` when the brokers cannot be reached;
   *   `SWITCHYARD_CONFIG_INVALID` when a rule names a topic that does not exist.
   */
  async start(): Promise<void> {
    if (this.#state !== 'new') throw new Error(`executor.start(): already ${this.#state}`);
    this.#state = 'starting';
    try {
      try {
        await this.#admin.connect();
        await this.#producer.connect();
      } catch (err) {
        throw new SwitchyardError(
          UNREACHABLE.test(describe(err)) || UNREACHABLE.test(String((err as { cause?: unknown })?.cause))
            ? ErrorCode.BACKEND_UNAVAILABLE
            : ErrorCode.BACKEND_ERROR,
          `executor: cannot reach Kafka at ${this.config.brokers.join(',')} (${describe(err)})`,
          { cause: err },
        );
      }
      const names = topicNames(this.config);
      await this.ensureTopics([names.errorTopic]);
      for (const p of this.config.partitioners) {
        const partitions = Math.max(p.defaultPartition, ...Object.values(p.domains)) + 1;
        await this.ensureTopics([p.topic], partitions);
      }
      const all = await this.#admin.listTopics();
      for (const rule of this.#rules) await rule.start(all);
      this.#state = 'running';
      this.logger.info('executor: started', {
        rules: this.#rules.map((r) => ({ rule: r.rule.name, topics: r.topics })),
      });
    } catch (err) {
      this.#state = 'running';
      await this.stop({ graceMs: 0 }).catch(() => undefined);
      throw err;
    }
  }

  /** Creates the topics that do not exist (when `createTopics`), else fails naming them. */
  async ensureTopics(topics: readonly string[], numPartitions = 1): Promise<void> {
    const existing = new Set(await this.#admin.listTopics());
    const missing = [...new Set(topics)].filter((t) => !existing.has(t));
    if (missing.length === 0) return;
    if (!this.config.createTopics) {
      throw new SwitchyardError(
        ErrorCode.CONFIG_INVALID,
        `executor: topic${missing.length === 1 ? '' : 's'} ${missing.join(', ')} ${missing.length === 1 ? 'does' : 'do'} not exist and createTopics is false`,
      );
    }
    await this.#admin.createTopics({
      topics: missing.map((topic) => ({ topic, numPartitions })),
      waitForLeaders: true,
    });
  }

  /**
   * Produces with acks from every in-sync replica; false (logged) when it failed.
   * @throws {@link MessageTooLarge} when the broker refuses the message for its size: retrying it
   *   can never work, so the caller sends the event to the error topic instead.
   */
  async produce(topic: string, messages: Array<{ value: string; partition?: number }>): Promise<boolean> {
    try {
      await this.#producer.send({ topic, acks: -1, messages });
      return true;
    } catch (err) {
      if (isMessageTooLarge(err)) throw new MessageTooLarge(topic, messages, err);
      this.logger.error('executor: producing failed; the message stays uncommitted', {
        topic,
        error: describe(err),
      });
      return false;
    }
  }

  /** Produces an error event; true when it was produced. */
  async produceError(
    rule: ExecutorRule,
    reason: string,
    detail: string,
    payload: { original_event?: unknown; raw_event?: string },
    topic: string,
    partition: number,
    offset: string,
  ): Promise<boolean> {
    const names = topicNames(this.config);
    const domain = (payload.original_event as { database?: unknown } | undefined)?.database;
    const event: ErrorEvent = {
      $schema: ERROR_EVENT_SCHEMA,
      meta: {
        id: randomUUID(),
        dt: new Date(this.now()).toISOString(),
        stream: names.stream(names.errorTopic),
        ...(typeof domain === 'string' ? { domain } : {}),
      },
      emitter_id: `${this.config.service}/${rule.name}`,
      reason,
      detail: detail.slice(0, 2000),
      topic,
      partition,
      offset,
      ...payload,
    };
    const type = (payload.original_event as { type?: unknown } | undefined)?.type;
    this.metrics.increment('errors', {
      rule: rule.name,
      type: typeof type === 'string' ? type : '',
      reason,
      ...(typeof domain === 'string' ? { domain } : {}),
    });
    this.logger.warn('executor: event sent to the error topic', {
      rule: rule.name,
      reason,
      topic,
      partition,
      offset,
    });
    try {
      return await this.produce(names.errorTopic, [{ value: JSON.stringify(event) }]);
    } catch (err) {
      if (!(err instanceof MessageTooLarge)) throw err;
      // Even the error event is too large: keep the facts and an excerpt, never stall the partition.
      const { original_event: _o, raw_event: raw, ...rest } = event;
      const text = raw ?? JSON.stringify(payload.original_event ?? null);
      const excerpt: ErrorEvent = {
        ...rest,
        detail:
          `${rest.detail} (the event, ${text.length} characters, is too large for ${names.errorTopic}: an excerpt is in raw_event)`.slice(
            0,
            2500,
          ),
        raw_event: text.slice(0, ERROR_EXCERPT_CHARS),
      };
      try {
        return await this.produce(names.errorTopic, [{ value: JSON.stringify(excerpt) }]);
      } catch (again) {
        if (!(again instanceof MessageTooLarge)) throw again;
        this.logger.error(
          'executor: the error topic refuses even an excerpt; the message stays uncommitted',
          {
            topic: names.errorTopic,
          },
        );
        return false;
      }
    }
  }

  /** Topics per rule. */
  topics(): Record<string, string[]> {
    return Object.fromEntries(this.#rules.map((r) => [r.rule.name, r.topics]));
  }

  /** In-flight messages per rule. */
  inFlight(): Record<string, number> {
    return Object.fromEntries(this.#rules.map((r) => [r.rule.name, r.inFlight]));
  }

  /** The most messages in flight at once per rule (main or retry consumer). */
  peakInFlight(): Record<string, number> {
    return Object.fromEntries(this.#rules.map((r) => [r.rule.name, r.peak]));
  }

  /** Stops gracefully (see {@link ExecutorHandle.stop}). Idempotent. */
  stop(options: { readonly graceMs?: number } = {}): Promise<void> {
    if (this.#stopping !== null) return this.#stopping;
    if (this.#state === 'new') {
      this.#state = 'stopped';
      this.#resolveStopped();
      this.#stopping = Promise.resolve();
      return this.#stopping;
    }
    this.#state = 'stopping';
    const grace = options.graceMs ?? this.config.shutdownGrace * 1000;
    this.#stopping = (async () => {
      await Promise.all(this.#rules.map((r) => r.stop(grace)));
      await this.#producer.disconnect().catch(() => undefined);
      await this.#admin.disconnect().catch(() => undefined);
      await this.dedup?.close();
      this.#state = 'stopped';
      this.logger.info('executor: stopped', {});
      this.#resolveStopped();
    })();
    return this.#stopping;
  }
}

function isResolved(value: unknown): value is ExecutorConfig {
  return (
    typeof value === 'object' &&
    value !== null &&
    Array.isArray((value as ExecutorConfig).rules) &&
    (value as ExecutorConfig).rules.every((r) => typeof r === 'object' && r !== null && 'groupId' in r) &&
    typeof (value as ExecutorConfig).dedup === 'object'
  );
}

/**
 * Starts the executor of a loaded config's `executor` section (what `switchyard executor` runs).
 *
 * @example
 * ```ts
 * const config = await loadConfig('switchyard.yaml');
 * const executor = await startExecutor(config, { handlers, logger: consoleLogger, signal });
 * await executor.stopped;
 * ```
 * @throws `SWITCHYARD_CONFIG_INVALID` (no or bad section, missing secret, unknown topic),
 *   `SWITCHYARD_BACKEND_UNAVAILABLE` (brokers unreachable).
 */
export async function startExecutor(
  config: ResolvedConfig,
  options: ExecutorOptions = {},
): Promise<ExecutorHandle> {
  const section = config.sections.executor;
  if (section === undefined) {
    throw configInvalid(
      [
        {
          path: 'executor',
          message: 'is missing: the executor needs an executor section (brokers, secret, rules)',
        },
      ],
      'switchyard config',
    );
  }
  return startExecutorFromSection(section, options);
}

/** Starts an executor from an `executor` section object (as in the config file) or a resolved one. */
export async function startExecutorFromSection(
  section: unknown,
  options: ExecutorOptions = {},
): Promise<ExecutorHandle> {
  const executor = new Executor(section, options);
  await executor.start();
  return {
    metrics: executor.metrics,
    topics: () => executor.topics(),
    inFlight: () => executor.inFlight(),
    stop: (o) => executor.stop(o),
    stopped: executor.stopped,
  };
}
