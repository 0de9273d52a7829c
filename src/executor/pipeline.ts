/**
 * The per-event pipeline of one executor rule (promises §5): schema → signature → type filter →
 * partitioner → delay_until → stale drop → dedup → execute → retry / error. It sees the executor
 * through the rule's {@link RuleContext}, and the rule's consumers only through the two abort
 * signals it is given.
 *
 * @packageDocumentation
 */
import type { JobEvent } from '../events/job-event.js';
import { checkJobEvent, type EventCheck, eventTimes } from '../events/receive.js';
import type { ConsumedMessage } from '../kafka/index.js';
import type { ExecutorRule } from './config.js';
import type { RuleContext } from './context.js';
import { type Dispatch, dispatcherOf } from './dispatch.js';
import { type ErrorPayload, emitterId, MessageTooLarge, sleep, topicNames } from './events.js';
import { expandHeader } from './http.js';
import type { HttpFailure } from './outcome.js';
import {
  buildRetryEvent,
  nextRun,
  parseRetryEvent,
  type RunInfo,
  retryDelayMs,
  retryTopicOf,
} from './retry.js';

/** When the pipeline must stop waiting or running. */
export interface PipelineSignals {
  /** Aborted when running jobs must be cut short (grace over); renewed after a topic change. */
  running(): AbortSignal;
  /** Aborted when waits (delays) must end at once (stop begun). */
  readonly waits: AbortSignal;
}

/** Where a message was read. */
interface MessageAt {
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
}

/** What happens to each message one rule's consumers hand over. */
export class EventPipeline {
  readonly #cx: RuleContext;
  readonly #rule: ExecutorRule;
  readonly #signals: PipelineSignals;
  readonly #waits: AbortSignal;
  readonly #dispatch: Dispatch;

  constructor(cx: RuleContext, rule: ExecutorRule, signals: PipelineSignals) {
    this.#cx = cx;
    this.#rule = rule;
    this.#signals = signals;
    this.#waits = signals.waits;
    this.#dispatch = dispatcherOf(rule, cx);
  }

  /** A message of the rule's job topics, through the whole pipeline. True when it may be committed. */
  main(message: ConsumedMessage, topic: string, partition: number): Promise<boolean> {
    return this.#sizeGuarded(message, topic, partition, () => this.#main(message, topic, partition));
  }

  /** A message of the rule's retry topics: a retry event, run when due. True when it may be committed. */
  retry(message: ConsumedMessage, topic: string, partition: number): Promise<boolean> {
    return this.#sizeGuarded(message, topic, partition, () => this.#retry(message, topic, partition));
  }

  /** Parse, schema, signature. Null when the message went to the error topic (or could not). */
  async #accept(
    message: ConsumedMessage,
    topic: string,
    partition: number,
  ): Promise<{ event: JobEvent } | { done: boolean }> {
    const { text: raw, value } = readJson(message);
    if (value === undefined) {
      this.#cx.metrics.increment('invalid', { rule: this.#rule.name, type: '', reason: 'not-json' });
      return {
        done: await this.#toErrorTopic(
          'not-json',
          'the message is not JSON',
          { raw_event: raw },
          { topic, partition, offset: message.offset },
        ),
      };
    }
    const check = checkJobEvent(value, this.#cx.config.secret, this.#cx.config.signature);
    if (!check.ok) {
      const type =
        typeof (value as { type?: unknown })?.type === 'string' ? (value as { type: string }).type : '';
      return { done: await this.#rejected(check, type, value, { topic, partition, offset: message.offset }) };
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
    const limit = this.#rule.reenqueueDelay * 1000;
    if (wait > limit) {
      if (limit > 0 && !(await sleep(limit, this.#waits))) return 'stopped';
      const produced = await this.#cx.produce(topic, [{ value: JSON.stringify(value) }]);
      if (!produced) return 'stopped';
      this.#cx.metrics.increment('reenqueued', { rule: this.#rule.name, type });
      return 'reenqueued';
    }
    return (await sleep(wait, this.#waits)) ? 'due' : 'stopped';
  }

  #isStale(event: JobEvent, type: string): boolean {
    const now = this.#cx.now();
    const created = eventTimes(event).created ?? now;
    const ready = Math.max(created, eventTimes(event).delayUntil ?? 0);
    if (this.#rule.maxEventAge > 0 && now - ready > this.#rule.maxEventAge * 1000) {
      // The metric's reason keeps the config key's old name (dashboards count by it).
      this.#cx.metrics.increment('stale', { rule: this.#rule.name, type, reason: 'claimTTL' });
      return true;
    }
    const rootAt = eventTimes(event).rootAt;
    if (rootAt !== null && this.#rule.rootClaimTTL > 0 && now - rootAt > this.#rule.rootClaimTTL * 1000) {
      this.#cx.metrics.increment('stale', { rule: this.#rule.name, type, reason: 'rootClaimTTL' });
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
      const { text, value: original } = readJson(message);
      return this.#toErrorTopic(
        'too-large',
        err.message,
        original === undefined ? { raw_event: text } : { original_event: original },
        { topic, partition, offset: message.offset },
      );
    }
  }

  async #main(message: ConsumedMessage, topic: string, partition: number): Promise<boolean> {
    const accepted = await this.#accept(message, topic, partition);
    if ('done' in accepted) return accepted.done;
    const event = accepted.event;
    const type = event.type;
    const labels = { rule: this.#rule.name, type, domain: event.database };
    this.#cx.metrics.increment('consumed', labels);
    if (
      (this.#rule.types !== null && !this.#rule.types.includes(type)) ||
      this.#rule.excludeTypes.includes(type) ||
      (this.#rule.dropCanary && event.meta.domain === 'canary')
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
    if (!this.#rule.disableDelayedExecution) {
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
      { attempt: 1, retriesLeft: this.#rule.retryLimit, retry: null },
      topic,
      partition,
      message.offset,
    );
  }

  async #retry(message: ConsumedMessage, topic: string, partition: number): Promise<boolean> {
    const { text: raw, value } = readJson(message);
    const parsed = value === undefined ? null : parseRetryEvent(value);
    if (parsed === null) {
      this.#cx.metrics.increment('invalid', { rule: this.#rule.name, type: '', reason: 'bad-retry-event' });
      return this.#toErrorTopic(
        'bad-retry-event',
        value === undefined ? 'the message is not JSON' : 'not a retry event',
        value === undefined ? { raw_event: raw } : { original_event: value },
        { topic, partition, offset: message.offset },
      );
    }
    // Another rule's retry on a shared retry topic (ChangeProp's rule: not our business).
    const ours = emitterId(this.#cx.config.service, this.#rule.name);
    if (parsed.emitter !== ours && parsed.emitter !== `${this.#cx.config.service}/${this.#rule.name}`)
      return true;
    const check = checkJobEvent(parsed.original, this.#cx.config.secret, this.#cx.config.signature);
    if (!check.ok) {
      return this.#rejected(check, '', value, { topic, partition, offset: message.offset });
    }
    const event = check.event;
    const { attempt, retriesLeft, due } = nextRun(parsed, this.#rule);
    if (retriesLeft < 0) {
      return this.#toErrorTopic(
        'retries-exhausted',
        'a retry event with no retries left',
        { original_event: event },
        { topic, partition, offset: message.offset },
      );
    }
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
    const labels = { rule: this.#rule.name, type, domain: event.database };
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
      this.#dispatch(event, {
        attempt,
        trigger: run.retry ?? event,
        partition: `${topic}:${partition}`,
        signal: this.#signals.running(),
      }),
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
        const handlerMax = this.#rule.endpoint === null ? this.#cx.handlers.get(type)?.maxTries : undefined;
        const left = handlerMax !== undefined ? Math.min(retriesLeft, handlerMax - attempt) : retriesLeft;
        if (!outcome.counted || left > 0) {
          const delayMs = retryDelayMs(this.#rule, outcome, attempt);
          const names = topicNames(this.#cx.config);
          const retryTopic = retryTopicOf(names, topic);
          const retry = buildRetryEvent({
            event,
            run,
            outcome,
            left,
            now: this.#cx.now(),
            delayMs,
            stream: names.stream(retryTopic),
            emitter: emitterId(this.#cx.config.service, this.#rule.name),
          });
          finished = await this.#cx.produce(retryTopic, [{ value: JSON.stringify(retry) }]);
          if (finished) this.#cx.metrics.increment('retries', labels);
        } else {
          finished = await this.#failed('retries-exhausted', outcome, event, { topic, partition, offset });
        }
        break;
      }
      case 'error':
        this.#cx.metrics.increment('failed', labels);
        finished = await this.#failed('failed', outcome, event, { topic, partition, offset });
        break;
    }
    // Not awaited: the id only matters for a replay, and a replay of a message whose mark was lost
    // runs again (at least once) — holding the slot for the write would halve throughput.
    if (finished && this.#cx.dedup !== null) void this.#cx.dedup.markDone(event.meta.domain, event.meta.id);
    return finished;
  }

  /** Sends a run that failed for good to the error topic, with its HTTP response if any. */
  #failed(
    reason: 'failed' | 'retries-exhausted',
    outcome: { readonly reason: string; readonly http?: HttpFailure },
    event: JobEvent,
    at: MessageAt,
  ): Promise<boolean> {
    const payload = { original_event: event, ...(outcome.http === undefined ? {} : { http: outcome.http }) };
    return this.#toErrorTopic(reason, outcome.reason, payload, at);
  }

  /** A message whose event failed the check (schema or signature): counted, then to the error topic. */
  #rejected(
    check: Extract<EventCheck, { ok: false }>,
    type: string,
    original: unknown,
    at: MessageAt,
  ): Promise<boolean> {
    const labels = { rule: this.#rule.name, type, reason: check.reason };
    this.#cx.metrics.increment(check.reason === 'bad-signature' ? 'signature_rejected' : 'invalid', labels);
    return this.#toErrorTopic(check.reason, check.detail, { original_event: original }, at);
  }

  /** Produces the error event of a message of this rule; true when it was produced. */
  #toErrorTopic(reason: string, detail: string, payload: ErrorPayload, at: MessageAt): Promise<boolean> {
    return this.#cx.produceError(this.#rule, reason, detail, payload, at.topic, at.partition, at.offset);
  }
}

/** The text of a message and its JSON value (undefined when it is not JSON). */
function readJson(message: ConsumedMessage): { readonly text: string; readonly value: unknown } {
  const text = message.value?.toString('utf8') ?? '';
  try {
    return { text, value: JSON.parse(text) as unknown };
  } catch {
    return { text, value: undefined };
  }
}

/** The string at a dotted path of `event`, or undefined. */
function valueAt(event: JobEvent, path: string): string | undefined {
  let v: unknown = event;
  for (const key of path.split('.')) {
    v = typeof v === 'object' && v !== null ? (v as Record<string, unknown>)[key] : undefined;
  }
  return typeof v === 'string' ? v : undefined;
}
