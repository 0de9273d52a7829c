/**
 * Metric events (promises §10). The base queue emits them; exporters (Prometheus, OpenTelemetry)
 * consume them through a {@link MetricsSink}. Backends never emit these themselves.
 *
 * @packageDocumentation
 */

/** Counter names, per (domain, type). */
export type CounterName =
  | 'inserts'
  | 'actual_inserts'
  | 'dupe_inserts'
  | 'pops'
  | 'dupe_pops'
  | 'acks'
  | 'acks_stale'
  | 'releases'
  | 'recycles'
  | 'abandons'
  | 'pruned'
  | 'delayed_released'
  | 'cancels'
  | 'retries'
  | 'errors';

/** Every counter name, in the order of {@link CounterSource.values}. */
export const COUNTER_NAMES: readonly CounterName[] = Object.freeze([
  'inserts',
  'actual_inserts',
  'dupe_inserts',
  'pops',
  'dupe_pops',
  'acks',
  'acks_stale',
  'releases',
  'recycles',
  'abandons',
  'pruned',
  'delayed_released',
  'cancels',
  'retries',
  'errors',
]);

/** The index of each counter in {@link CounterSource.values}. */
export const COUNTER_INDEX: Readonly<Record<CounterName, number>> = Object.freeze(
  Object.fromEntries(COUNTER_NAMES.map((name, i) => [name, i])) as Record<CounterName, number>,
);

/**
 * One queue's counters as plain running totals, indexed by {@link COUNTER_INDEX}, that a sink
 * reads when it is scraped (see {@link MetricsSink.attachCounters}): the hot path then adds to a
 * number instead of calling the sink.
 */
export interface CounterSource {
  /** The queue's labels (no `op`). */
  readonly labels: MetricLabels;
  readonly values: Float64Array;
  /**
   * The queue's own histograms, when the sink declared {@link MetricsSink.histogramBoundsMs}: the
   * queue observes `pickup_delay`, `root_job_age` and `call_time` into them instead of calling
   * {@link MetricsSink.observe}.
   */
  readonly histograms: QueueHistograms | null;
}

/**
 * One queue's histograms as plain arrays (see {@link CounterSource.histograms}). Each histogram is
 * a `Float64Array` of `boundsMs.length + 3` numbers: the count per bucket (the last bucket is
 * +Inf; not cumulative), then the sum of the observed values (ms), then their count.
 */
export interface QueueHistograms {
  /** Bucket upper bounds, ms, ascending (the sink's). */
  readonly boundsMs: Float64Array;
  readonly pickup_delay: Float64Array;
  readonly root_job_age: Float64Array;
  /** `call_time` per public method (`op`); a method's entry appears at its first timed call. */
  readonly call_time: Map<string, Float64Array>;
}

/** A new, empty histogram array for `boundsMs` (see {@link QueueHistograms}). */
export function newHistogram(boundsMs: Float64Array): Float64Array {
  return new Float64Array(boundsMs.length + 3);
}

/** Adds one observation of `ms` to histogram `h` (see {@link QueueHistograms}). */
export function observeInto(h: Float64Array, boundsMs: Float64Array, ms: number): void {
  const n = boundsMs.length;
  let k = 0;
  while (k < n && ms > (boundsMs[k] as number)) k++;
  h[k] = (h[k] as number) + 1;
  h[n + 1] = (h[n + 1] as number) + ms;
  h[n + 2] = (h[n + 2] as number) + 1;
}

/** Histogram names (milliseconds), per (domain, type). */
export type TimingName = 'run_time' | 'pickup_delay' | 'root_job_age' | 'call_time';

/** Labels every metric carries. */
export interface MetricLabels {
  readonly domain: string;
  readonly type: string;
  /** The backend class name (`memory`, `sql`, …). */
  readonly backend: string;
  /** For `call_time` and `errors`: the public method (`push`, `pop`, …). */
  readonly op?: string;
}

/** Receives metric events. Implementations must not throw and must be cheap. */
export interface MetricsSink {
  /**
   * Observe `call_time` on one call in this many, per queue (the rest are only counted on
   * failure, as `errors`). Default 1: every call. Exporters raise it to keep the hot path cheap.
   */
  readonly callTimeEvery?: number;
  increment(name: CounterName, labels: MetricLabels, value: number): void;
  observe(name: TimingName, labels: MetricLabels, ms: number): void;
  /**
   * Optional, for pull-based sinks: a queue hands over its {@link CounterSource} once, at
   * construction, and from then on counts its own counters (those without an `op` label) into it
   * instead of calling {@link MetricsSink.increment}; the sink reads the totals when scraped.
   */
  attachCounters?(source: CounterSource): void;
  /**
   * Optional, with {@link attachCounters}: histogram bucket upper bounds in ms. When set, an
   * attached queue also keeps its own histograms ({@link CounterSource.histograms}) and the sink
   * reads them when scraped; `run_time` and observations from elsewhere still come through
   * {@link observe}.
   */
  readonly histogramBoundsMs?: readonly number[];
  /** The queue closed: fold the source's totals in for good and drop the reference. */
  detachCounters?(source: CounterSource): void;
}

/** Discards everything (the default). */
export const noopMetrics: MetricsSink = Object.freeze({
  increment() {},
  observe() {},
});

/** Keeps running totals in memory; handy for tests, the CLI and small deployments. */
export class CountingMetrics implements MetricsSink {
  readonly counters = new Map<string, number>();
  readonly timings = new Map<string, { count: number; sum: number; max: number }>();

  static key(name: string, labels: MetricLabels): string {
    return `${name}|${labels.domain}|${labels.type}|${labels.backend}|${labels.op ?? ''}`;
  }

  increment(name: CounterName, labels: MetricLabels, value: number): void {
    const key = CountingMetrics.key(name, labels);
    this.counters.set(key, (this.counters.get(key) ?? 0) + value);
  }

  observe(name: TimingName, labels: MetricLabels, ms: number): void {
    const key = CountingMetrics.key(name, labels);
    const t = this.timings.get(key);
    if (t) {
      t.count++;
      t.sum += ms;
      if (ms > t.max) t.max = ms;
    } else this.timings.set(key, { count: 1, sum: ms, max: ms });
  }

  /** Sum of a counter over every label set (optionally one type). */
  total(name: CounterName, type?: string): number {
    let sum = 0;
    for (const [key, value] of this.counters) {
      const [n, , t] = key.split('|');
      if (n === name && (type === undefined || t === type)) sum += value;
    }
    return sum;
  }
}
