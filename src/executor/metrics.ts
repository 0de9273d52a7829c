/**
 * Executor metrics (promises §10): per (rule, type) counters and timings, readable in Prometheus
 * text format, and forwarded to a core {@link MetricsSink} where the names match (retries,
 * errors, run_time, pickup_delay, root_job_age) with backend `executor`.
 *
 * @packageDocumentation
 */
import type { CounterName, MetricsSink, TimingName } from '../core/metrics.js';

/** Executor counters. */
export type ExecutorCounter =
  | 'consumed'
  | 'executed'
  | 'failed'
  | 'retries'
  | 'errors'
  | 'ignored'
  | 'dedup'
  | 'stale'
  | 'reenqueued'
  | 'partitioned'
  | 'signature_rejected'
  | 'invalid'
  | 'excluded'
  | 'dedup_errors'
  | 'commits';

/** Executor timings, ms. */
export type ExecutorTiming = 'run_time' | 'pickup_delay' | 'root_job_age';

const FORWARDED_COUNTERS: Partial<Record<ExecutorCounter, CounterName>> = {
  retries: 'retries',
  errors: 'errors',
};

/** Labels of an executor metric. */
export interface ExecutorLabels {
  readonly rule: string;
  readonly type: string;
  readonly domain?: string;
  /** For `dedup`: id | sha1 | root. For `errors`: why. */
  readonly reason?: string;
}

function labelKey(l: ExecutorLabels): string {
  return `${l.rule}\u0000${l.type}\u0000${l.reason ?? ''}`;
}

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** In-memory executor metrics. */
export class ExecutorMetrics {
  readonly #counters = new Map<string, Map<string, { labels: ExecutorLabels; value: number }>>();
  readonly #timings = new Map<
    string,
    Map<string, { labels: ExecutorLabels; count: number; sum: number; max: number }>
  >();
  readonly #sink: MetricsSink | null;
  readonly #lag = new Map<string, { rule: string; topic: string; partition: number; lag: number }>();

  constructor(sink: MetricsSink | null = null) {
    this.#sink = sink;
  }

  increment(name: ExecutorCounter, labels: ExecutorLabels, value = 1): void {
    let byLabel = this.#counters.get(name);
    if (byLabel === undefined) {
      byLabel = new Map();
      this.#counters.set(name, byLabel);
    }
    const key = labelKey(labels);
    const entry = byLabel.get(key);
    if (entry) entry.value += value;
    else
      byLabel.set(key, {
        labels: { rule: labels.rule, type: labels.type, ...(labels.reason ? { reason: labels.reason } : {}) },
        value,
      });
    const forwarded = FORWARDED_COUNTERS[name];
    if (forwarded !== undefined && this.#sink !== null) {
      this.#sink.increment(
        forwarded,
        { domain: labels.domain ?? '', type: labels.type, backend: 'executor' },
        value,
      );
    }
  }

  observe(name: ExecutorTiming, labels: ExecutorLabels, ms: number): void {
    let byLabel = this.#timings.get(name);
    if (byLabel === undefined) {
      byLabel = new Map();
      this.#timings.set(name, byLabel);
    }
    const key = labelKey(labels);
    const entry = byLabel.get(key);
    if (entry) {
      entry.count++;
      entry.sum += ms;
      if (ms > entry.max) entry.max = ms;
    } else byLabel.set(key, { labels: { rule: labels.rule, type: labels.type }, count: 1, sum: ms, max: ms });
    this.#sink?.observe(
      name as TimingName,
      { domain: labels.domain ?? '', type: labels.type, backend: 'executor' },
      ms,
    );
  }

  /** Records a partition's consumer lag (messages behind the high watermark after a batch). */
  setLag(rule: string, topic: string, partition: number, lag: number): void {
    this.#lag.set(`${rule}\u0000${topic}\u0000${partition}`, { rule, topic, partition, lag });
  }

  /** The last recorded lag of a partition, or undefined. */
  lag(rule: string, topic: string, partition: number): number | undefined {
    return this.#lag.get(`${rule}\u0000${topic}\u0000${partition}`)?.lag;
  }

  /** A counter summed over labels, optionally filtered. */
  total(name: ExecutorCounter, filter: Partial<ExecutorLabels> = {}): number {
    let sum = 0;
    for (const { labels, value } of this.#counters.get(name)?.values() ?? []) {
      if (filter.rule !== undefined && labels.rule !== filter.rule) continue;
      if (filter.type !== undefined && labels.type !== filter.type) continue;
      if (filter.reason !== undefined && labels.reason !== filter.reason) continue;
      sum += value;
    }
    return sum;
  }

  /** Prometheus text exposition (counters as `_total`, timings as summaries in seconds). */
  toPrometheus(prefix = 'switchyard_executor_'): string {
    const lines: string[] = [];
    const fmt = (l: ExecutorLabels) =>
      `{rule="${escapeLabel(l.rule)}",type="${escapeLabel(l.type)}"${l.reason ? `,reason="${escapeLabel(l.reason)}"` : ''}}`;
    for (const [name, byLabel] of [...this.#counters].sort()) {
      lines.push(`# TYPE ${prefix}${name}_total counter`);
      for (const { labels, value } of byLabel.values())
        lines.push(`${prefix}${name}_total${fmt(labels)} ${value}`);
    }
    for (const [name, byLabel] of [...this.#timings].sort()) {
      lines.push(`# TYPE ${prefix}${name}_seconds summary`);
      for (const { labels, count, sum } of byLabel.values()) {
        lines.push(`${prefix}${name}_seconds_sum${fmt(labels)} ${sum / 1000}`);
        lines.push(`${prefix}${name}_seconds_count${fmt(labels)} ${count}`);
      }
    }
    if (this.#lag.size > 0) {
      lines.push(`# TYPE ${prefix}consumer_lag gauge`);
      for (const { rule, topic, partition, lag } of this.#lag.values()) {
        lines.push(
          `${prefix}consumer_lag{rule="${escapeLabel(rule)}",topic="${escapeLabel(topic)}",partition="${partition}"} ${lag}`,
        );
      }
    }
    return `${lines.join('\n')}\n`;
  }
}
