/**
 * The Kafka executor (promises §5, ChangeProp's role in WMF's job queue). Per rule, one consumer
 * group reads the job topics and a second one (`{group}-retry`) reads the rule's retry topics.
 * Each event goes: schema → signature (reject → error topic) → type filter → partitioner →
 * delay_until (sleep, or re-produce when the wait exceeds reenqueueDelay) → stale drop (maxEventAge /
 * rootClaimTTL) → dedup (Redis, fail-open; never for retries) → execute (in-process handler or
 * HTTP POST) → on failure a retry event with exponential delay, then the error topic.
 *
 * At most `concurrency` messages per consumer are in flight; consumption waits at the limit.
 * Offsets are committed per partition, only up to the first message that has not finished.
 * Stopping finishes in-flight jobs within the grace period, hands the rest back (uncommitted),
 * and commits what finished.
 *
 * The pieces: the config section in config.ts / section.ts / rules-section.ts, event shapes in
 * events.ts, the consumer in consumer.ts, a rule's consumers in rule.ts and what happens to each
 * event in pipeline.ts (both seeing this class only through its {@link RuleContext} port), how a
 * job is run in dispatch.ts / http.ts, retries in retry.ts; the job-event wire format in
 * src/events/.
 *
 * @packageDocumentation
 */

import { randomUUID } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import type { ResolvedConfig } from '../core/config-types.js';
import { configInvalid, ErrorCode, SwitchyardError } from '../core/errors.js';
import type { MetricsSink } from '../core/metrics.js';
import { type JobTracer, noopTracer } from '../core/tracing.js';
import {
  isKafkaMessageTooLarge,
  isKafkaUnreachable,
  type KafkaAdminPort,
  type KafkaClient,
  type KafkaClientName,
  type KafkaProducerPort,
  openKafkaClient,
} from '../kafka/index.js';
import {
  defineHandlers,
  type HandlerMap,
  HandlerRegistry,
  type RunnerLogger,
  silentLogger,
} from '../runner/handlers.js';
import type { ExecutorConfig, ExecutorRule, PartitionerConf } from './config.js';
import { type Process, TrackedConsumer } from './consumer.js';
import type { ConsumerSpec, RuleContext } from './context.js';
import { RedisDedup } from './dedup.js';
import {
  buildErrorEvent,
  describe,
  ERROR_EXCERPT_CHARS,
  type ErrorEvent,
  type ErrorPayload,
  emitterId,
  MessageTooLarge,
  topicNames,
} from './events.js';
import { ExecutorMetrics } from './metrics.js';
import { RuleRunner } from './rule.js';
import { resolveExecutorConfig } from './section.js';

export {
  ERROR_EVENT_SCHEMA,
  type ErrorEvent,
  RETRY_EVENT_SCHEMA,
  type RetryEvent,
} from './events.js';

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
  /**
   * A host ioredis client for dedup (never closed by the executor); overrides `redis`. A `Cluster`
   * works too: the dedup keys then share one hash tag (see RedisDedup).
   */
  readonly redisClient?: Redis | Cluster;
  /** Clock, Unix ms (tests). */
  readonly now?: () => number;
}

/** What {@link startExecutor} resolves with. */
export interface ExecutorHandle {
  readonly metrics: ExecutorMetrics;
  /** The Kafka client library running it (config `client`). */
  readonly client: KafkaClientName;
  /** The topics each rule consumes (after regex expansion). */
  topics(): Record<string, string[]>;
  /** Messages dispatched and not finished, per rule. */
  inFlight(): Record<string, number>;
  /** Stops gracefully: finishes in-flight jobs for `graceMs` (default `shutdownGrace`), hands the rest back. */
  stop(options?: { readonly graceMs?: number }): Promise<void>;
  /** Settles when the executor has stopped. */
  readonly stopped: Promise<void>;
}

/** The executor: every rule of an `executor` config section. */
export class Executor implements RuleContext {
  readonly config: ExecutorConfig;
  readonly metrics: ExecutorMetrics;
  readonly tracer: JobTracer;
  readonly logger: RunnerLogger;
  readonly handlers: HandlerRegistry;
  readonly dedup: RedisDedup | null;
  readonly now: () => number;
  /** The Kafka client (config `client`), opened by start(). */
  #client: KafkaClient | null = null;
  #producer: KafkaProducerPort | null = null;
  #admin: KafkaAdminPort | null = null;
  readonly #rules: RuleRunner[];
  readonly #partitioners: Map<string, PartitionerConf>;
  #state: 'new' | 'starting' | 'running' | 'stopping' | 'stopped' = 'new';
  #stopping: Promise<void> | null = null;
  #resolveStopped!: () => void;
  readonly stopped: Promise<void>;
  #dedupWarned = 0;

  /**
   * @param config - the parsed section: `config.sections.executor` of a loaded config through
   *   {@link startExecutor}, or {@link resolveExecutorConfig} of a section built in code.
   * @throws `SWITCHYARD_CONFIG_INVALID` when rules run in-process and no handlers are given.
   */
  constructor(config: ExecutorConfig, options: ExecutorOptions = {}) {
    this.config = config;
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

  /** The admin port (after start()). */
  get admin(): KafkaAdminPort {
    if (this.#admin === null) throw new Error('executor: not started');
    return this.#admin;
  }

  partitionerFor(type: string): PartitionerConf | null {
    return this.#partitioners.get(type) ?? null;
  }

  listTopics(): Promise<string[]> {
    return this.admin.listTopics();
  }

  consumer(spec: ConsumerSpec, process: Process): TrackedConsumer {
    if (this.#client === null) throw new Error('executor: not started');
    return new TrackedConsumer(this.#client, spec.groupId, spec.topics, spec.concurrency, process, {
      logger: this.logger,
      metrics: this.metrics,
      rule: spec.rule,
      commitIntervalMs: this.config.commitInterval * 1000,
      sessionTimeout: this.config.sessionTimeout,
      startAt: spec.startAt,
      admin: this.admin,
    });
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
      const c = this.config;
      this.#client = await openKafkaClient(c.client, {
        clientId: c.clientId,
        brokers: c.brokers,
        connectionTimeout: c.connectionTimeout,
        requestTimeout: c.requestTimeout,
        retries: c.retries,
        compression: c.compression,
        ...(c.tls === null ? {} : { tls: c.tls }),
        ...(c.sasl === null ? {} : { sasl: c.sasl }),
      });
      this.#admin = this.#client.admin();
      this.#producer = this.#client.producer();
      try {
        await this.#admin.connect();
        await this.#producer.connect();
      } catch (err) {
        throw new SwitchyardError(
          isKafkaUnreachable(err) ? ErrorCode.BACKEND_UNAVAILABLE : ErrorCode.BACKEND_ERROR,
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
      const all = await this.admin.listTopics();
      for (const rule of this.#rules) await rule.start(all);
      this.#state = 'running';
      this.logger.info('executor: started', {
        client: this.#client.name,
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
    const existing = new Set(await this.admin.listTopics());
    const missing = [...new Set(topics)].filter((t) => !existing.has(t));
    if (missing.length === 0) return;
    if (!this.config.createTopics) {
      throw new SwitchyardError(
        ErrorCode.CONFIG_INVALID,
        `executor: topic${missing.length === 1 ? '' : 's'} ${missing.join(', ')} ${missing.length === 1 ? 'does' : 'do'} not exist and createTopics is false`,
      );
    }
    await this.admin.createTopics(missing, numPartitions);
  }

  /**
   * Produces with acks from every in-sync replica; false (logged) when it failed.
   * @throws {@link MessageTooLarge} when the broker refuses the message for its size: retrying it
   *   can never work, so the caller sends the event to the error topic instead.
   */
  async produce(topic: string, messages: Array<{ value: string; partition?: number }>): Promise<boolean> {
    try {
      if (this.#producer === null) throw new Error('executor: not started');
      await this.#producer.send(topic, messages);
      return true;
    } catch (err) {
      if (isKafkaMessageTooLarge(err)) throw new MessageTooLarge(topic, messages, err);
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
    payload: ErrorPayload,
    topic: string,
    partition: number,
    offset: string,
  ): Promise<boolean> {
    const names = topicNames(this.config);
    const domain = (payload.original_event as { database?: unknown } | undefined)?.database;
    const event = buildErrorEvent({
      id: randomUUID(),
      now: this.now(),
      stream: names.stream(names.errorTopic),
      emitter: emitterId(this.config.service, rule.name),
      reason,
      detail,
      payload,
      topic,
      partition,
      offset,
    });
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
      const { original_event: _o, raw_event: text, ...rest } = event;
      const detail =
        `${rest.detail} (the event, ${text.length} characters, is too large for ${names.errorTopic}: an excerpt is in raw_event)`.slice(
          0,
          2500,
        );
      const excerpt: ErrorEvent = {
        ...rest,
        message: detail,
        detail,
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
      await this.#producer?.disconnect().catch(() => undefined);
      await this.#admin?.disconnect().catch(() => undefined);
      await this.dedup?.close();
      this.#state = 'stopped';
      this.logger.info('executor: stopped', {});
      this.#resolveStopped();
    })();
    return this.#stopping;
  }
}

/**
 * Starts the executor of a loaded config's `executor` section (what `switchyard executor` runs).
 *
 * @example
 * ```ts
 * const config = await loadConfig({ path: 'switchyard.config.yaml' });
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
  // Parsed when the config was loaded (a frozen section is parsed once): no second walk here.
  return startParsed(resolveExecutorConfig(section), options);
}

/**
 * Starts an executor from an `executor` section object as in the config file (or a config
 * {@link resolveExecutorConfig} made).
 *
 * @throws as {@link startExecutor}.
 */
export async function startExecutorFromSection(
  section: unknown,
  options: ExecutorOptions = {},
): Promise<ExecutorHandle> {
  return startParsed(resolveExecutorConfig(section), options);
}

async function startParsed(config: ExecutorConfig, options: ExecutorOptions): Promise<ExecutorHandle> {
  const executor = new Executor(config, options);
  await executor.start();
  return {
    metrics: executor.metrics,
    client: executor.config.client,
    topics: () => executor.topics(),
    inFlight: () => executor.inFlight(),
    stop: (o) => executor.stop(o),
    stopped: executor.stopped,
  };
}
