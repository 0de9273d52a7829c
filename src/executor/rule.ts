/**
 * One executor rule: its main and retry consumers and the per-event pipeline (schema → signature
 * → type filter → partitioner → delay_until → stale drop → dedup → execute → retry / error).
 *
 * A rule sees the executor only through a {@link RuleContext}: what it produces, dedups, runs and
 * counts with. The executor implements the port; the rule never reaches back into it.
 *
 * @packageDocumentation
 */
import { randomUUID } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { ErrorCode, SwitchyardError } from '../core/errors.js';
import type { JobTracer } from '../core/tracing.js';
import type { JobEvent } from '../events/job-event.js';
import { checkJobEvent, eventTimes, jobFromEvent, parseTime } from '../events/receive.js';
import type { ConsumedMessage } from '../kafka/index.js';
import type { HandlerRegistry, RunnerLogger } from '../runner/handlers.js';
import type { ExecutorConfig, ExecutorRule, PartitionerConf } from './config.js';
import type { Process, TrackedConsumer } from './consumer.js';
import type { RedisDedup } from './dedup.js';
import { type RunOutcome, runHandler } from './dispatch.js';
import {
  describe,
  type ErrorPayload,
  emitterId,
  GENERIC_ERROR_URI,
  LEGACY_RETRY_EVENT_SCHEMA,
  MessageTooLarge,
  RETRY_EVENT_SCHEMA,
  type RetryEvent,
  sleep,
  topicNames,
  triggeredBy,
} from './events.js';
import { dispatchHttp, expandHeader, type HttpTarget, statusMatcher } from './http.js';
import type { ExecutorMetrics } from './metrics.js';

/** Which consumer a rule asks its context for. */
export interface ConsumerSpec {
  readonly rule: string;
  readonly groupId: string;
  readonly topics: readonly string[];
  readonly concurrency: number;
  /** Where the group starts when it has no committed offset at all (a new group). */
  readonly startAt: 'latest' | 'earliest';
}

/** What a {@link RuleRunner} needs from the executor that runs it. */
export interface RuleContext {
  /** The section (topic naming, secret, intervals). */
  readonly config: ExecutorConfig;
  readonly logger: RunnerLogger;
  readonly metrics: ExecutorMetrics;
  readonly tracer: JobTracer;
  /** In-process handlers (rules without an endpoint). */
  readonly handlers: HandlerRegistry;
  /** Redis dedup, or null when off. */
  readonly dedup: RedisDedup | null;
  /** Clock, Unix ms. */
  now(): number;
  /**
   * Produces; false (logged) when it failed.
   * @throws {@link MessageTooLarge} when the broker refuses the message for its size.
   */
  produce(topic: string, messages: Array<{ value: string; partition?: number }>): Promise<boolean>;
  /** Produces an error event; true when it was produced. */
  produceError(
    rule: ExecutorRule,
    reason: string,
    detail: string,
    payload: ErrorPayload,
    topic: string,
    partition: number,
    offset: string,
  ): Promise<boolean>;
  /** The partitioner of a job type, or null. */
  partitionerFor(type: string): PartitionerConf | null;
  /** Every topic of the cluster. */
  listTopics(): Promise<string[]>;
  /** Creates missing topics (when `createTopics`), else fails naming them. */
  ensureTopics(topics: readonly string[]): Promise<void>;
  /** A consumer of `spec.topics` in `spec.groupId` with at most `spec.concurrency` messages in flight. */
  consumer(spec: ConsumerSpec, process: Process): TrackedConsumer;
}

/** One rule: its main and retry consumers and the per-event pipeline. */
export class RuleRunner {
  readonly rule: ExecutorRule;
  readonly #cx: RuleContext;
  #main: TrackedConsumer | null = null;
  #retry: TrackedConsumer | null = null;
  /** Aborted when running jobs must be cut short (grace over); renewed after a topic change. */
  #abortRunning = new AbortController();
  /** Aborted when waits (delays) must end at once (stop begun). */
  readonly #abortWaits = new AbortController();
  #topics: string[] = [];
  #refresh: NodeJS.Timeout | null = null;
  #restarting: Promise<void> = Promise.resolve();
  /** The HTTP target, or null for in-process handlers. */
  readonly #http: HttpTarget | null;
  /** False once the consumers started: a restart (topic change) starts new topics at their beginning. */
  #firstStart = true;

  constructor(cx: RuleContext, rule: ExecutorRule) {
    // Every in-flight job listens on these: thousands at high concurrency, by design.
    setMaxListeners(0, this.#abortRunning.signal, this.#abortWaits.signal);
    this.#cx = cx;
    this.rule = rule;
    this.#http =
      rule.endpoint === null
        ? null
        : {
            endpoint: rule.endpoint,
            timeoutMs: rule.httpTimeout * 1000,
            headers: rule.headers,
            retryOn: statusMatcher(rule.retryOn),
            ignore: statusMatcher(rule.ignore),
          };
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
    const names = topicNames(this.#cx.config);
    const set = new Set(this.rule.topics);
    if (this.rule.topicPattern !== null) {
      for (const t of all)
        if (!t.startsWith('__') && !names.isInternal(t) && this.rule.topicPattern.test(t)) set.add(t);
    }
    for (const t of this.rule.excludeTopics) set.delete(t);
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
        this.#cx.config.topicRefreshInterval * 1000,
      );
      this.#refresh.unref();
    }
  }

  async #startConsumers(): Promise<void> {
    if (this.#topics.length === 0) {
      this.#cx.logger.warn('executor: no topic matches the rule yet', { rule: this.rule.name });
      return;
    }
    const names = topicNames(this.#cx.config);
    const retryTopics = this.#topics.map((t) => names.retryTopic(t));
    await this.#cx.ensureTopics(retryTopics);
    const { name: rule, groupId, concurrency } = this.rule;
    // Only a new group's first start skips to the end (ChangeProp's auto.offset.reset: largest).
    const startAt = this.#firstStart ? this.rule.startAt : 'earliest';
    this.#firstStart = false;
    this.#main = this.#cx.consumer({ rule, groupId, topics: this.#topics, concurrency, startAt }, (m, t, p) =>
      this.#sizeGuarded(m, t, p, () => this.#processMain(m, t, p)),
    );
    this.#retry = this.#cx.consumer(
      { rule, groupId: `${groupId}-retry`, topics: retryTopics, concurrency, startAt },
      (m, t, p) => this.#sizeGuarded(m, t, p, () => this.#processRetry(m, t, p)),
    );
    await Promise.all([this.#main.start(), this.#retry.start()]);
  }

  async #refreshTopics(): Promise<void> {
    this.#restarting = this.#restarting.then(async () => {
      if (this.#abortWaits.signal.aborted) return;
      try {
        const all = await this.#cx.listTopics();
        const next = this.#matching(all);
        if (next.join('\n') === this.#topics.join('\n')) return;
        this.#cx.logger.info('executor: rule topics changed; resubscribing', {
          rule: this.rule.name,
          topics: next,
        });
        await this.#stopConsumers(this.#cx.config.shutdownGrace * 1000);
        if (this.#abortRunning.signal.aborted) {
          this.#abortRunning = new AbortController();
          setMaxListeners(0, this.#abortRunning.signal);
        }
        this.#topics = next;
        if (!this.#abortWaits.signal.aborted) await this.#startConsumers();
      } catch (err) {
        this.#cx.logger.warn('executor: topic refresh failed', {
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
    message: ConsumedMessage,
    topic: string,
    partition: number,
  ): Promise<{ event: JobEvent } | { done: boolean }> {
    const raw = message.value?.toString('utf8') ?? '';
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch {
      this.#cx.metrics.increment('invalid', { rule: this.rule.name, type: '', reason: 'not-json' });
      return {
        done: await this.#cx.produceError(
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
    const check = checkJobEvent(value, this.#cx.config.secret, this.#cx.config.signature);
    if (!check.ok) {
      const type =
        typeof (value as { type?: unknown })?.type === 'string' ? (value as { type: string }).type : '';
      this.#cx.metrics.increment(check.reason === 'bad-signature' ? 'signature_rejected' : 'invalid', {
        rule: this.rule.name,
        type,
        reason: check.reason,
      });
      return {
        done: await this.#cx.produceError(
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
    const wait = due - this.#cx.now();
    if (wait <= 0) return 'due';
    const limit = this.rule.reenqueueDelay * 1000;
    if (wait > limit) {
      if (limit > 0 && !(await sleep(limit, this.#abortWaits.signal))) return 'stopped';
      const produced = await this.#cx.produce(topic, [{ value: JSON.stringify(value) }]);
      if (!produced) return 'stopped';
      this.#cx.metrics.increment('reenqueued', { rule: this.rule.name, type });
      return 'reenqueued';
    }
    return (await sleep(wait, this.#abortWaits.signal)) ? 'due' : 'stopped';
  }

  #isStale(event: JobEvent, type: string): boolean {
    const now = this.#cx.now();
    const created = eventTimes(event).created ?? now;
    const ready = Math.max(created, eventTimes(event).delayUntil ?? 0);
    if (this.rule.maxEventAge > 0 && now - ready > this.rule.maxEventAge * 1000) {
      // The metric's reason keeps the config key's old name (dashboards count by it).
      this.#cx.metrics.increment('stale', { rule: this.rule.name, type, reason: 'claimTTL' });
      return true;
    }
    const rootAt = eventTimes(event).rootAt;
    if (rootAt !== null && this.rule.rootClaimTTL > 0 && now - rootAt > this.rule.rootClaimTTL * 1000) {
      this.#cx.metrics.increment('stale', { rule: this.rule.name, type, reason: 'rootClaimTTL' });
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
    message: ConsumedMessage,
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
      return this.#cx.produceError(
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

  async #processMain(message: ConsumedMessage, topic: string, partition: number): Promise<boolean> {
    const accepted = await this.#accept(message, topic, partition);
    if ('done' in accepted) return accepted.done;
    const event = accepted.event;
    const type = event.type;
    const labels = { rule: this.rule.name, type, domain: event.database };
    this.#cx.metrics.increment('consumed', labels);
    if (
      (this.rule.types !== null && !this.rule.types.includes(type)) ||
      this.rule.excludeTypes.includes(type) ||
      (this.rule.dropCanary && event.meta.domain === 'canary')
    ) {
      this.#cx.metrics.increment('excluded', labels);
      return true;
    }
    const partitioner = this.#cx.partitionerFor(type);
    if (partitioner !== null && partitioner.topic !== topic) {
      const value = valueAt(event, partitioner.key);
      const target =
        (value === undefined ? undefined : partitioner.domains[value]) ?? partitioner.defaultPartition;
      const out =
        partitioner.stream === null
          ? event
          : { ...event, meta: { ...event.meta, stream: expandHeader(partitioner.stream, event) } };
      const ok = await this.#cx.produce(partitioner.topic, [
        { value: JSON.stringify(out), partition: target },
      ]);
      if (ok) this.#cx.metrics.increment('partitioned', labels);
      return ok;
    }
    if (!this.rule.disableDelayedExecution) {
      const waited = await this.#waitUntil(eventTimes(event).delayUntil, topic, event, type);
      if (waited === 'stopped') return false;
      if (waited === 'reenqueued') return true;
    }
    if (this.#isStale(event, type)) return true;
    const now = this.#cx.now();
    if (this.#cx.dedup !== null) {
      const rootAt = eventTimes(event).rootAt;
      const reason = await this.#cx.dedup.check(
        {
          domain: event.meta.domain,
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
        this.#cx.metrics.increment('dedup', { ...labels, reason });
        return true;
      }
    }
    return this.#execute(
      event,
      { attempt: 1, retriesLeft: this.rule.retryLimit, retry: null },
      topic,
      partition,
      message.offset,
    );
  }

  async #processRetry(message: ConsumedMessage, topic: string, partition: number): Promise<boolean> {
    const raw = message.value?.toString('utf8') ?? '';
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch {
      value = undefined;
    }
    const parsed = value === undefined ? null : parseRetryEvent(value);
    if (parsed === null) {
      this.#cx.metrics.increment('invalid', { rule: this.rule.name, type: '', reason: 'bad-retry-event' });
      return this.#cx.produceError(
        this.rule,
        'bad-retry-event',
        value === undefined ? 'the message is not JSON' : 'not a retry event',
        value === undefined ? { raw_event: raw } : { original_event: value },
        topic,
        partition,
        message.offset,
      );
    }
    // Another rule's retry on a shared retry topic (ChangeProp's rule: not our business).
    const ours = emitterId(this.#cx.config.service, this.rule.name);
    if (parsed.emitter !== ours && parsed.emitter !== `${this.#cx.config.service}/${this.rule.name}`)
      return true;
    const check = checkJobEvent(parsed.original, this.#cx.config.secret, this.#cx.config.signature);
    if (!check.ok) {
      this.#cx.metrics.increment(check.reason === 'bad-signature' ? 'signature_rejected' : 'invalid', {
        rule: this.rule.name,
        type: '',
        reason: check.reason,
      });
      return this.#cx.produceError(
        this.rule,
        check.reason,
        check.detail,
        { original_event: value },
        topic,
        partition,
        message.offset,
      );
    }
    const event = check.event;
    const { retryLimit, retryDelay, retryFactor } = this.rule;
    // ChangeProp's count: retries_left includes this run. Ours before it: runs left after this one.
    const retriesLeft = parsed.legacy ? parsed.retriesLeft : parsed.retriesLeft - 1;
    if (retriesLeft < 0) {
      return this.#cx.produceError(
        this.rule,
        'retries-exhausted',
        'a retry event with no retries left',
        { original_event: event },
        topic,
        partition,
        message.offset,
      );
    }
    const attempt = parsed.attempt ?? Math.max(2, retryLimit - parsed.retriesLeft + 2);
    // ChangeProp's delay: retry_delay × retry_factor^(retry_limit − retries_left) after meta.dt.
    const due =
      parsed.retryAt ??
      (parsed.dt === null
        ? null
        : parsed.dt + retryDelay * 1000 * retryFactor ** Math.max(0, retryLimit - parsed.retriesLeft));
    const waited = await this.#waitUntil(due, topic, value, event.type);
    if (waited === 'stopped') return false;
    if (waited === 'reenqueued') return true;
    if (this.#isStale(event, event.type)) return true;
    // Retries are never deduplicated (promises §5).
    return this.#execute(
      event,
      {
        attempt,
        retriesLeft,
        retry: parsed.triggeredBy === null ? null : { triggered_by: parsed.triggeredBy, meta: parsed.meta },
      },
      topic,
      partition,
      message.offset,
    );
  }

  async #run(event: JobEvent, run: RunInfo, topic: string, partition: number): Promise<RunOutcome> {
    const now = this.#cx.now();
    if (this.#http === null) {
      const job = jobFromEvent(event, run.attempt, now, `${topic}:${partition}`);
      return runHandler(this.#cx.handlers, job, this.#cx.logger, this.#abortRunning.signal);
    }
    return dispatchHttp(this.#http, event, {
      attempt: run.attempt,
      triggeredBy: triggeredBy(run.retry ?? event),
      signal: this.#abortRunning.signal,
    });
  }

  /** Runs the job and settles it: ok, retry event, or error event. True when finished. */
  async #execute(
    event: JobEvent,
    run: RunInfo,
    topic: string,
    partition: number,
    offset: string,
  ): Promise<boolean> {
    const { attempt, retriesLeft } = run;
    const type = event.type;
    const labels = { rule: this.rule.name, type, domain: event.database };
    const started = this.#cx.now();
    const ready = Math.max(eventTimes(event).created ?? started, eventTimes(event).delayUntil ?? 0);
    if (attempt === 1) this.#cx.metrics.observe('pickup_delay', labels, Math.max(0, started - ready));
    const rootAt = eventTimes(event).rootAt;
    if (rootAt !== null) this.#cx.metrics.observe('root_job_age', labels, Math.max(0, started - rootAt));
    const trace = {
      domain: event.database,
      type,
      id: event.meta.id,
      requestId: event.meta.request_id ?? null,
    };
    const outcome = await this.#cx.tracer.run({ ...trace, via: 'executor' }, () =>
      this.#run(event, run, topic, partition),
    );
    this.#cx.metrics.observe('run_time', labels, this.#cx.now() - started);
    let finished: boolean;
    switch (outcome.kind) {
      case 'aborted':
        return false;
      case 'ok':
        this.#cx.metrics.increment('executed', labels);
        finished = true;
        break;
      case 'ignored':
        this.#cx.metrics.increment('ignored', labels);
        finished = true;
        break;
      case 'retry': {
        this.#cx.metrics.increment('failed', labels);
        const handlerMax = this.rule.endpoint === null ? this.#cx.handlers.get(type)?.maxTries : undefined;
        const left = handlerMax !== undefined ? Math.min(retriesLeft, handlerMax - attempt) : retriesLeft;
        if (!outcome.counted || left > 0) {
          const nth = outcome.counted ? attempt - 1 : Math.max(0, attempt - 2);
          let delay = this.rule.retryDelay * this.rule.retryFactor ** nth * 1000;
          // Read-only (X-Readonly): 30–60 s more, so a maintenance window is not hammered (ChangeProp).
          if (outcome.readonly === true) delay += Math.ceil(30_000 + Math.random() * 30_000);
          const names = topicNames(this.#cx.config);
          const retryTopic =
            topic === names.retryTopic(topic) || names.isInternal(topic) ? topic : names.retryTopic(topic);
          const now = this.#cx.now();
          const uri = (event.meta as { uri?: unknown }).uri;
          const retry: RetryEvent = {
            $schema: RETRY_EVENT_SCHEMA,
            meta: {
              id: randomUUID(),
              dt: new Date(now).toISOString(),
              stream: names.stream(retryTopic),
              uri: typeof uri === 'string' ? uri : GENERIC_ERROR_URI,
              domain: event.meta.domain,
              ...(event.meta.request_id === undefined ? {} : { request_id: event.meta.request_id }),
            },
            triggered_by: triggeredBy(run.retry ?? event),
            emitter_id: emitterId(this.#cx.config.service, this.rule.name),
            // ChangeProp's count: the runs still allowed, the next one included. An uncounted
            // (read-only) failure keeps every retry: after a first run that is retryLimit + 1.
            retries_left: outcome.counted ? left : left + 1,
            original_event: event,
            ...(outcome.status === undefined ? {} : { error_status: outcome.status }),
            reason: outcome.reason.slice(0, 2000),
            // The run number (x-switchyard-attempt, Job.attempts) counts every run, read-only ones too.
            attempt: attempt + 1,
            retry_at: new Date(now + delay).toISOString(),
          };
          finished = await this.#cx.produce(retryTopic, [{ value: JSON.stringify(retry) }]);
          if (finished) this.#cx.metrics.increment('retries', labels);
        } else {
          finished = await this.#cx.produceError(
            this.rule,
            'retries-exhausted',
            outcome.reason,
            { original_event: event, ...(outcome.http === undefined ? {} : { http: outcome.http }) },
            topic,
            partition,
            offset,
          );
        }
        break;
      }
      case 'error':
        this.#cx.metrics.increment('failed', labels);
        finished = await this.#cx.produceError(
          this.rule,
          'failed',
          outcome.reason,
          { original_event: event, ...(outcome.http === undefined ? {} : { http: outcome.http }) },
          topic,
          partition,
          offset,
        );
        break;
    }
    // Not awaited: the id only matters for a replay, and a replay of a message whose mark was lost
    // runs again (at least once) — holding the slot for the write would halve throughput.
    if (finished && this.#cx.dedup !== null) void this.#cx.dedup.markDone(event.meta.domain, event.meta.id);
    return finished;
  }
}

/** One run of an event: which attempt, the runs left after it, and the retry event it came from. */
interface RunInfo {
  readonly attempt: number;
  readonly retriesLeft: number;
  /** The retry event (for `triggered_by`), or null for a first run. */
  readonly retry: { readonly triggered_by: string; readonly meta: RetryMeta } | null;
}

type RetryMeta = { readonly stream: string; readonly uri?: unknown; readonly request_id?: unknown };

/** A retry event as read: ChangeProp's (`/change-prop/retry/1.0.0`) or switchyard's earlier shape. */
interface ParsedRetry {
  readonly legacy: boolean;
  readonly emitter: string;
  readonly retriesLeft: number;
  readonly attempt: number | null;
  readonly retryAt: number | null;
  /** `meta.dt`, Unix ms (ChangeProp's delay counts from it). */
  readonly dt: number | null;
  readonly triggeredBy: string | null;
  readonly meta: RetryMeta;
  readonly original: unknown;
}

/** The retry event in `value`, or null when it is not one. */
export function parseRetryEvent(value: unknown): ParsedRetry | null {
  if (typeof value !== 'object' || value === null) return null;
  const v = value as Record<string, unknown>;
  const meta = v.meta as Record<string, unknown> | undefined;
  const legacy = v.$schema === LEGACY_RETRY_EVENT_SCHEMA;
  if (
    (v.$schema !== RETRY_EVENT_SCHEMA && !legacy) ||
    typeof meta !== 'object' ||
    meta === null ||
    typeof v.retries_left !== 'number' ||
    !Number.isInteger(v.retries_left) ||
    typeof v.emitter_id !== 'string' ||
    typeof v.original_event !== 'object' ||
    v.original_event === null
  ) {
    return null;
  }
  if (legacy && (typeof v.attempt !== 'number' || typeof v.retry_at !== 'string')) return null;
  return {
    legacy,
    emitter: v.emitter_id,
    retriesLeft: v.retries_left,
    attempt:
      typeof v.attempt === 'number' && Number.isInteger(v.attempt) && v.attempt >= 2 ? v.attempt : null,
    retryAt: typeof v.retry_at === 'string' ? parseTime(v.retry_at) : null,
    dt: typeof meta.dt === 'string' ? parseTime(meta.dt) : null,
    triggeredBy: typeof v.triggered_by === 'string' ? v.triggered_by : null,
    meta: { stream: String(meta.stream), uri: meta.uri, request_id: meta.request_id },
    original: v.original_event,
  };
}

/** The string at a dotted path of `event`, or undefined. */
function valueAt(event: JobEvent, path: string): string | undefined {
  let v: unknown = event;
  for (const key of path.split('.')) {
    v = typeof v === 'object' && v !== null ? (v as Record<string, unknown>)[key] : undefined;
  }
  return typeof v === 'string' ? v : undefined;
}
