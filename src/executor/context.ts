/**
 * The port through which a rule (its consumers, ./rule.ts, and its pipeline, ./pipeline.ts) sees
 * the executor that runs it: what it produces, dedups, runs and counts with. The executor
 * implements it; a rule never reaches back into the executor.
 *
 * @packageDocumentation
 */
import type { JobTracer } from '../core/tracing.js';
import type { HandlerRegistry, RunnerLogger } from '../runner/handlers.js';
import type { ExecutorConfig, ExecutorRule, PartitionerConf } from './config.js';
import type { Process, TrackedConsumer } from './consumer.js';
import type { RedisDedup } from './dedup.js';
import type { ErrorPayload, MessageTooLarge } from './events.js';
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
