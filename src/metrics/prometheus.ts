/**
 * Prometheus exporter (`switchyard/metrics/prometheus`): a {@link MetricsSink} over `prom-client`
 * (an optional peer dependency). Queue events become counters and histograms labelled
 * domain / type / backend; store sizes become gauges sampled from the queues, cached; the runner's
 * job outcomes and the executor's own counters are exported alongside.
 *
 * Label cardinality is bounded: the first `maxDomains` domains seen keep their name and later ones
 * are folded into `_other` (same for `maxTypes` job types), so a farm of thousands of wikis costs
 * at most `maxDomains × maxTypes` series per metric.
 *
 * @packageDocumentation
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { JobQueueFarm } from '../core/farm.js';
import type { QueueStats } from '../core/job-queue.js';
import type { JobQueueGroup } from '../core/job-queue-group.js';
import {
  COUNTER_INDEX,
  COUNTER_NAMES,
  type CounterName,
  type CounterSource,
  type MetricLabels,
  type MetricsSink,
  type TimingName,
} from '../core/metrics.js';

/** The label value that domains / types beyond the cap are folded into. */
export const OTHER_LABEL = '_other';

/** Options of {@link PrometheusMetrics}. */
export interface PrometheusMetricsOptions {
  /** The registry to register in. Default: a new one. */
  readonly registry?: Registry;
  /** Metric name prefix. Default `switchyard_`. */
  readonly prefix?: string;
  /** Distinct `domain` label values kept before folding into `_other`. Default 50. */
  readonly maxDomains?: number;
  /** Distinct `type` label values kept before folding into `_other`. Default 200. */
  readonly maxTypes?: number;
  /** Histogram buckets, seconds. */
  readonly buckets?: readonly number[];
  /**
   * Observe the queue `call_time` histogram on one call in this many per queue (failures are
   * always counted). Default 16: timing every call costs more than every other metric together
   * on an in-memory queue. 1 times every call.
   */
  readonly callTimeEvery?: number;
  /** How long sampled store gauges are reused, ms. Default 5000. */
  readonly gaugeCacheMs?: number;
  /**
   * Also export prom-client's process metrics (`process_resident_memory_bytes`,
   * `nodejs_heap_size_used_bytes`, …) in the registry. Default false (the CLI turns it on).
   */
  readonly processMetrics?: boolean;
}

/** Queue counters, exported as `<prefix>queue_<name>_total`. */
export const QUEUE_COUNTERS: readonly CounterName[] = COUNTER_NAMES;

/** Queue timings, exported as `<prefix>queue_<name>_seconds` histograms. */
export const QUEUE_TIMINGS: readonly TimingName[] = ['run_time', 'pickup_delay', 'root_job_age', 'call_time'];

/** Store gauges, exported as `<prefix>queue_<name>` per domain / type. */
export const STORE_GAUGES = ['ready', 'claimed', 'delayed', 'abandoned', 'oldest_ready_age_seconds'] as const;

const DEFAULT_BUCKETS = [0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 86400];

/** One job the runner ran (what the runner service reports per slice). */
export interface RunnerJobSample {
  readonly domain: string;
  readonly type: string;
  /** ok | failed | retried | abandoned | duplicate | timeout. */
  readonly status: string;
  readonly ms: number;
}

/** A source of extra exposition text appended to `/metrics` (e.g. `ExecutorMetrics.toPrometheus`). */
export type TextSource = () => string;

/** Histogram state of one series: per-bucket (non-cumulative) counts, the last one is +Inf. */
interface HistogramState {
  readonly counts: Float64Array;
  sum: number;
  count: number;
}

/** A queue counting into its own arrays, with what was folded from them so far. */
interface Attached {
  readonly series: Series;
  readonly seen: Float64Array;
  /** Per histogram of the queue (`pickup_delay`, `root_job_age`, `call_time\u0000<op>`). */
  readonly seenHistograms: Map<string, Float64Array>;
}

interface Series {
  readonly labels: Record<string, string>;
  readonly counters: Float64Array;
  readonly timings: (HistogramState | undefined)[];
}

const TIMING_INDEX: Partial<Record<TimingName, number>> = Object.fromEntries(
  QUEUE_TIMINGS.map((n, i) => [n, i]),
);

/**
 * A prom-client histogram whose values come from plain per-series arrays filled on the hot path
 * (no label hashing per observation); the registry formats it like any histogram.
 */
class SeriesHistogram extends Histogram<string> {
  readonly #read: () => { labels: Record<string, string>; h: HistogramState }[];
  readonly #bounds: readonly number[];
  readonly #name: string;
  readonly #help: string;

  constructor(
    name: string,
    help: string,
    read: () => { labels: Record<string, string>; h: HistogramState }[],
    buckets: readonly number[],
  ) {
    super({
      name,
      help,
      labelNames: ['domain', 'type', 'backend', 'op'],
      buckets: [...buckets],
      registers: [],
    });
    this.#name = name;
    this.#help = help;
    this.#read = read;
    this.#bounds = buckets;
  }

  #values(): { labels: Record<string, string | number>; value: number; metricName: string }[] {
    const out: { labels: Record<string, string | number>; value: number; metricName: string }[] = [];
    for (const { labels, h } of this.#read()) {
      let cumulative = 0;
      this.#bounds.forEach((le, k) => {
        cumulative += h.counts[k] as number;
        out.push({ labels: { ...labels, le }, value: cumulative, metricName: `${this.#name}_bucket` });
      });
      out.push({ labels: { ...labels, le: '+Inf' }, value: h.count, metricName: `${this.#name}_bucket` });
      out.push({ labels, value: h.sum, metricName: `${this.#name}_sum` });
      out.push({ labels, value: h.count, metricName: `${this.#name}_count` });
    }
    return out;
  }

  override async get(): Promise<Awaited<ReturnType<Histogram<string>['get']>>> {
    return {
      name: this.#name,
      help: this.#help,
      type: 'histogram' as never,
      aggregator: 'sum',
      values: this.#values(),
    } as never;
  }

  async getForPromString(): Promise<Awaited<ReturnType<Histogram<string>['get']>>> {
    return this.get();
  }
}

/** Each queue's stats asked alone; a queue whose store (or backend) cannot answer is left out. */
async function statsQueueByQueue(group: JobQueueGroup): Promise<Record<string, QueueStats>> {
  const out: Record<string, QueueStats> = {};
  await Promise.all(
    group.getQueueTypes().map(async (type) => {
      try {
        out[type] = await group.get(type).getQueueStats();
      } catch {
        // left out of this scrape
      }
    }),
  );
  return out;
}

class LabelCap {
  readonly #kept = new Set<string>();
  readonly #max: number;
  constructor(max: number) {
    this.#max = max;
  }
  map(value: string): string {
    if (this.#kept.has(value)) return value;
    if (this.#kept.size >= this.#max) return OTHER_LABEL;
    this.#kept.add(value);
    return value;
  }
}

/** The Prometheus exporter: a metrics sink plus runner, store and executor collectors. */
export class PrometheusMetrics implements MetricsSink {
  readonly registry: Registry;
  readonly prefix: string;
  readonly callTimeEvery: number;
  readonly #buckets: readonly number[];
  /** One entry per (domain, type, backend, op) label set after capping. */
  readonly #series = new Map<string, Series>();
  /** Series by the labels object (the base queue passes the same frozen object every call). */
  readonly #byObject = new WeakMap<MetricLabels, Series>();
  /** The last series per `op` (call_time / errors labels are fresh objects each call). */
  readonly #lastByOp = new Map<string, { domain: string; type: string; backend: string; series: Series }>();
  readonly #runnerJobs: Counter<string>;
  readonly #runnerRunTime: Histogram<string>;
  readonly #domains: LabelCap;
  readonly #types: LabelCap;
  readonly #gaugeCacheMs: number;
  readonly #texts: TextSource[] = [];
  #farm: JobQueueFarm | null = null;
  #sampledAt = Number.NEGATIVE_INFINITY;
  #sampling: Promise<void> | null = null;
  readonly #gauges = new Map<string, Gauge<string>>();
  /** Queues that count into their own arrays, with the totals folded so far. */
  readonly #attached = new Map<CounterSource, Attached>();
  /** The histogram bucket bounds in ms, for attached queues (see `MetricsSink.histogramBoundsMs`). */
  readonly histogramBoundsMs: readonly number[];

  constructor(options: PrometheusMetricsOptions = {}) {
    this.registry = options.registry ?? new Registry();
    this.prefix = options.prefix ?? 'switchyard_';
    this.callTimeEvery = options.callTimeEvery ?? 16;
    this.#domains = new LabelCap(options.maxDomains ?? 50);
    this.#types = new LabelCap(options.maxTypes ?? 200);
    this.#gaugeCacheMs = options.gaugeCacheMs ?? 5000;
    const buckets = [...(options.buckets ?? DEFAULT_BUCKETS)];
    this.#buckets = buckets;
    this.histogramBoundsMs = Object.freeze(buckets.map((b) => b * 1000));
    if (options.processMetrics === true) collectDefaultMetrics({ register: this.registry });
    const registers = [this.registry];
    const self = this;
    QUEUE_COUNTERS.forEach((name, index) => {
      new Counter({
        name: `${this.prefix}queue_${name}_total`,
        help: `Queue ${name.replace(/_/g, ' ')} (base JobQueue events)`,
        labelNames: ['domain', 'type', 'backend', 'op'],
        registers,
        // The hot path adds to plain numbers (see #resolve); the registry reads them at scrape time.
        collect() {
          this.reset();
          self.#foldAttached();
          for (const series of self.#series.values()) {
            const v = series.counters[index] as number;
            if (v > 0) this.inc(series.labels, v);
          }
        },
      });
    });
    QUEUE_TIMINGS.forEach((name, index) => {
      registers[0]?.registerMetric(
        new SeriesHistogram(
          `${this.prefix}queue_${name}_seconds`,
          `Queue ${name.replace(/_/g, ' ')}, seconds`,
          () => {
            this.#foldAttached();
            return [...this.#series.values()].flatMap((s) => {
              const h = s.timings[index];
              return h === undefined ? [] : [{ labels: s.labels, h }];
            });
          },
          this.#buckets,
        ),
      );
    });
    this.#runnerJobs = new Counter({
      name: `${this.prefix}runner_jobs_total`,
      help: 'Jobs the runner ran, by outcome (ok, failed, retried, abandoned, duplicate, timeout, cancelled)',
      labelNames: ['domain', 'type', 'status'],
      registers,
    });
    this.#runnerRunTime = new Histogram({
      name: `${this.prefix}runner_run_time_seconds`,
      help: 'Time the runner spent running a job, seconds',
      labelNames: ['domain', 'type', 'status'],
      buckets,
      registers,
    });
    for (const name of STORE_GAUGES) {
      this.#gauges.set(
        name,
        new Gauge({
          name: `${this.prefix}queue_${name}`,
          help:
            name === 'oldest_ready_age_seconds'
              ? 'Seconds the longest-waiting ready job has been ready, per queue, sampled from the store (cached)'
              : `Jobs ${name} per queue, sampled from the store (cached)`,
          labelNames: ['domain', 'type', 'backend'],
          registers,
          async collect() {
            // One sampling pass feeds every store gauge; the first gauge collected triggers it.
            await self.#sample();
          },
        }),
      );
    }
  }

  #resolve(l: MetricLabels): Series {
    const known = this.#byObject.get(l);
    if (known !== undefined) return known;
    const op = l.op ?? '';
    const last = this.#lastByOp.get(op);
    if (
      last !== undefined &&
      last.domain === l.domain &&
      last.type === l.type &&
      last.backend === l.backend
    ) {
      return last.series;
    }
    const domain = this.#domains.map(l.domain);
    const type = this.#types.map(l.type);
    const key = `${domain}\u0000${type}\u0000${l.backend}\u0000${op}`;
    let series = this.#series.get(key);
    if (series === undefined) {
      const labels: Record<string, string> = { domain, type, backend: l.backend };
      if (op !== '') labels.op = op;
      series = { labels, counters: new Float64Array(QUEUE_COUNTERS.length), timings: [] };
      this.#series.set(key, series);
    }
    if (Object.isFrozen(l)) this.#byObject.set(l, series);
    this.#lastByOp.set(op, { domain: l.domain, type: l.type, backend: l.backend, series });
    return series;
  }

  /**
   * A queue's own counters (see `MetricsSink.attachCounters`): the hot path adds to the queue's
   * array, and each scrape folds what changed since the last one into the queue's series.
   */
  attachCounters(source: CounterSource): void {
    this.#attached.set(source, {
      series: this.#resolve(source.labels),
      seen: new Float64Array(source.values.length),
      seenHistograms: new Map(),
    });
  }

  detachCounters(source: CounterSource): void {
    this.#foldAttached();
    this.#attached.delete(source);
  }

  /** Adds each attached queue's counts since the last fold to its series. */
  #foldAttached(): void {
    for (const [source, attached] of this.#attached) {
      const { series, seen } = attached;
      const hs = source.histograms;
      if (hs !== null) {
        this.#foldHistogram(attached, 'pickup_delay', series, 'pickup_delay', hs.pickup_delay);
        this.#foldHistogram(attached, 'root_job_age', series, 'root_job_age', hs.root_job_age);
        for (const [op, h] of hs.call_time) {
          const opSeries = this.#resolve({ ...source.labels, op });
          this.#foldHistogram(attached, `call_time\u0000${op}`, opSeries, 'call_time', h);
        }
      }
      const values = source.values;
      // The source and the series index counters alike (COUNTER_NAMES).
      for (let k = 0; k < values.length; k++) {
        const now = values[k] as number;
        const delta = now - (seen[k] as number);
        if (delta === 0) continue;
        series.counters[k] = (series.counters[k] as number) + delta;
        seen[k] = now;
      }
    }
  }

  /** Adds what queue histogram `h` (ms; see `QueueHistograms`) gained since the last fold. */
  #foldHistogram(attached: Attached, key: string, series: Series, name: TimingName, h: Float64Array): void {
    const n = this.#buckets.length;
    let seen = attached.seenHistograms.get(key);
    if (seen === undefined) {
      seen = new Float64Array(h.length);
      attached.seenHistograms.set(key, seen);
    }
    const count = (h[n + 2] as number) - (seen[n + 2] as number);
    if (count === 0) return;
    const state = this.#histogram(series, name);
    for (let k = 0; k <= n; k++) {
      state.counts[k] = (state.counts[k] as number) + (h[k] as number) - (seen[k] as number);
    }
    state.sum += ((h[n + 1] as number) - (seen[n + 1] as number)) / 1000;
    state.count += count;
    seen.set(h);
  }

  #histogram(series: Series, name: TimingName): HistogramState {
    const i = TIMING_INDEX[name] as number;
    let h = series.timings[i];
    if (h === undefined) {
      h = { counts: new Float64Array(this.#buckets.length + 1), sum: 0, count: 0 };
      series.timings[i] = h;
    }
    return h;
  }

  increment(name: CounterName, labels: MetricLabels, value: number): void {
    const i = COUNTER_INDEX[name];
    if (i === undefined) return;
    const s = this.#resolve(labels);
    s.counters[i] = (s.counters[i] as number) + value;
  }

  observe(name: TimingName, labels: MetricLabels, ms: number): void {
    const i = TIMING_INDEX[name];
    if (i === undefined) return;
    const h = this.#histogram(this.#resolve(labels), name);
    const seconds = ms / 1000;
    const b = this.#buckets;
    let k = 0;
    while (k < b.length && seconds > (b[k] as number)) k++;
    h.counts[k] = (h.counts[k] as number) + 1;
    h.sum += seconds;
    h.count++;
  }

  /** Records the jobs a runner ran (feed it the runner service's `onSlice` results). */
  recordRunnerJob(sample: RunnerJobSample): void {
    const labels = {
      domain: this.#domains.map(sample.domain),
      type: this.#types.map(sample.type),
      status: sample.status,
    };
    this.#runnerJobs.inc(labels, 1);
    this.#runnerRunTime.observe(labels, sample.ms / 1000);
  }

  /** Samples the store gauges from this farm's queues at scrape time (cached `gaugeCacheMs`). */
  watchFarm(farm: JobQueueFarm): void {
    this.#farm = farm;
  }

  /** Appends another exposition text to {@link metrics} (e.g. the executor's own counters). */
  addText(source: TextSource): void {
    this.#texts.push(source);
  }

  async #sample(): Promise<void> {
    if (this.#farm === null) return;
    if (Date.now() - this.#sampledAt < this.#gaugeCacheMs) return;
    this.#sampling ??= this.#doSample(this.#farm).finally(() => {
      this.#sampling = null;
      this.#sampledAt = Date.now();
    });
    await this.#sampling;
  }

  async #doSample(farm: JobQueueFarm): Promise<void> {
    const values = new Map<string, Map<string, { labels: Record<string, string>; value: number }>>();
    for (const name of STORE_GAUGES) values.set(name, new Map());
    const add = (gauge: string, labels: Record<string, string>, value: number): void => {
      const m = values.get(gauge) as Map<string, { labels: Record<string, string>; value: number }>;
      const key = `${labels.domain}\u0000${labels.type}\u0000${labels.backend}`;
      const prev = m.get(key);
      // Queues folded into one label set (`_other`) add up their counts and keep the oldest age.
      if (prev)
        prev.value = gauge === 'oldest_ready_age_seconds' ? Math.max(prev.value, value) : prev.value + value;
      else m.set(key, { labels, value });
    };
    const domains = farm.config.domains.length > 0 ? farm.config.domains : [farm.config.defaultDomain];
    const now = Date.now();
    for (const domain of domains) {
      const group = farm.group(domain);
      let stats: Record<string, QueueStats>;
      try {
        // One sibling query per store (each queue's four counts where a backend has none).
        stats = await group.getQueueStats();
      } catch {
        // A store failed: ask queue by queue, so only the queues that cannot answer go missing.
        stats = await statsQueueByQueue(group);
      }
      for (const [type, s] of Object.entries(stats)) {
        const labels = {
          domain: this.#domains.map(domain),
          type: this.#types.map(type),
          backend: group.get(type).backendName,
        };
        add('ready', labels, s.ready);
        add('claimed', labels, s.claimed);
        add('delayed', labels, s.delayed);
        add('abandoned', labels, s.abandoned);
        if (s.ready === 0) add('oldest_ready_age_seconds', labels, 0);
        else if (s.oldestReadyAt !== null) {
          add('oldest_ready_age_seconds', labels, Math.max(0, now - s.oldestReadyAt) / 1000);
        }
      }
    }
    for (const [name, m] of values) {
      const gauge = this.#gauges.get(name) as Gauge<string>;
      gauge.reset();
      for (const { labels, value } of m.values()) gauge.set(labels, value);
    }
  }

  /** The exposition text: the registry, then every added text source. */
  async metrics(): Promise<string> {
    let text = await this.registry.metrics();
    for (const source of this.#texts) text += source();
    return text;
  }

  /** The content type of {@link metrics}. */
  get contentType(): string {
    return this.registry.contentType;
  }
}
