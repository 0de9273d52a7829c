/**
 * One executor rule: its main and retry consumers, the topics they read (a `topicPattern` rule
 * re-lists them), and their start, restart and stop. What happens to each message is the rule's
 * {@link EventPipeline} (./pipeline.ts).
 *
 * A rule sees the executor only through a {@link RuleContext}: what it produces, dedups, runs and
 * counts with. The executor implements the port; the rule never reaches back into it.
 *
 * @packageDocumentation
 */
import { setMaxListeners } from 'node:events';
import { ErrorCode, SwitchyardError } from '../core/errors.js';
import type { ExecutorRule } from './config.js';
import type { TrackedConsumer } from './consumer.js';
import type { RuleContext } from './context.js';
import { describe, topicNames } from './events.js';
import { EventPipeline } from './pipeline.js';

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
  /** False once the consumers started: a restart (topic change) starts new topics at their beginning. */
  #firstStart = true;
  readonly #pipeline: EventPipeline;

  constructor(cx: RuleContext, rule: ExecutorRule) {
    // Every in-flight job listens on these: thousands at high concurrency, by design.
    setMaxListeners(0, this.#abortRunning.signal, this.#abortWaits.signal);
    this.#cx = cx;
    this.rule = rule;
    this.#pipeline = new EventPipeline(cx, rule, {
      running: () => this.#abortRunning.signal,
      waits: this.#abortWaits.signal,
    });
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
    const pipeline = this.#pipeline;
    this.#main = this.#cx.consumer({ rule, groupId, topics: this.#topics, concurrency, startAt }, (m, t, p) =>
      pipeline.main(m, t, p),
    );
    this.#retry = this.#cx.consumer(
      { rule, groupId: `${groupId}-retry`, topics: retryTopics, concurrency, startAt },
      (m, t, p) => pipeline.retry(m, t, p),
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
}
