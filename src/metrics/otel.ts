/**
 * OpenTelemetry integration (`switchyard/metrics/otel`) over `@opentelemetry/api` only (an
 * optional peer; bring your own SDK): {@link OtelTracer} implements the core tracing seam with
 * spans for push (producer), run (consumer, via the runner) and executor dispatch, and
 * {@link OtelMetrics} forwards the queue's metric events to an OTel meter.
 *
 * The push span's context is written into each job that has no `requestId` as a W3C
 * `traceparent` (`00-<trace-id>-<span-id>-<flags>`); every backend stores `requestId` and the
 * eventbus carries it as `meta.request_id`, so the run span, on any backend and in another
 * process, is a child of (and links to) the push span.
 *
 * @packageDocumentation
 */
import {
  type Attributes,
  type Counter,
  context,
  type Histogram,
  type Meter,
  metrics,
  type SpanContext,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  trace,
} from '@opentelemetry/api';
import type { CounterName, MetricLabels, MetricsSink, TimingName } from '../core/metrics.js';
import type { JobTracer, PushTraceInfo, RunTraceInfo } from '../core/tracing.js';

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** The W3C `traceparent` of a span context. */
export function toTraceparent(sc: SpanContext): string {
  return `00-${sc.traceId}-${sc.spanId}-${(sc.traceFlags & 0xff).toString(16).padStart(2, '0')}`;
}

/** The remote span context of a W3C `traceparent`, or null when `value` is not one. */
export function fromTraceparent(value: string | null): SpanContext | null {
  if (value === null) return null;
  const m = TRACEPARENT.exec(value);
  if (!m) return null;
  const [, traceId, spanId, flags] = m as unknown as [string, string, string, string];
  if (/^0+$/.test(traceId) || /^0+$/.test(spanId)) return null;
  return { traceId, spanId, traceFlags: Number.parseInt(flags, 16), isRemote: true };
}

/** Options of {@link OtelTracer}. */
export interface OtelTracerOptions {
  /** Default: `trace.getTracer('switchyard')` (the global provider). */
  readonly tracer?: Tracer;
}

async function inSpan<R>(span: ReturnType<Tracer['startSpan']>, fn: () => Promise<R>): Promise<R> {
  try {
    return await fn();
  } catch (err) {
    span.recordException(err instanceof Error ? err : String(err));
    span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) });
    throw err;
  } finally {
    span.end();
  }
}

/** The OTel implementation of the core {@link JobTracer} seam. */
export class OtelTracer implements JobTracer {
  readonly #tracer: Tracer;

  constructor(options: OtelTracerOptions = {}) {
    this.#tracer = options.tracer ?? trace.getTracer('switchyard');
  }

  push<R>(info: PushTraceInfo, fn: (requestId: string | null) => Promise<R>): Promise<R> {
    const span = this.#tracer.startSpan(`switchyard push ${info.type}`, {
      kind: SpanKind.PRODUCER,
      attributes: {
        'messaging.system': 'switchyard',
        'messaging.operation.type': 'send',
        'messaging.destination.name': info.type,
        'messaging.batch.message_count': info.count,
        'switchyard.domain': info.domain,
        'switchyard.backend': info.backend,
      },
    });
    const sc = span.spanContext();
    const rid = trace.isSpanContextValid(sc) ? toTraceparent(sc) : null;
    return inSpan(span, () => context.with(trace.setSpan(context.active(), span), () => fn(rid)));
  }

  run<R>(info: RunTraceInfo, fn: () => Promise<R>): Promise<R> {
    const parent = fromTraceparent(info.requestId);
    const attributes: Attributes = {
      'messaging.system': 'switchyard',
      'messaging.operation.type': 'process',
      'messaging.destination.name': info.type,
      'messaging.message.id': info.id,
      'switchyard.domain': info.domain,
      'switchyard.via': info.via,
    };
    if (info.requestId !== null && parent === null) attributes['switchyard.request_id'] = info.requestId;
    const ctx = parent === null ? context.active() : trace.setSpanContext(context.active(), parent);
    const span = this.#tracer.startSpan(
      `switchyard ${info.via === 'executor' ? 'dispatch' : 'run'} ${info.type}`,
      { kind: SpanKind.CONSUMER, attributes, ...(parent === null ? {} : { links: [{ context: parent }] }) },
      ctx,
    );
    return inSpan(span, () => context.with(trace.setSpan(ctx, span), fn));
  }
}

/** Options of {@link OtelMetrics}. */
export interface OtelMetricsOptions {
  /** Default: `metrics.getMeter('switchyard')` (the global provider). */
  readonly meter?: Meter;
}

/** A {@link MetricsSink} over an OTel meter: `switchyard.queue.<name>` counters and histograms (s). */
export class OtelMetrics implements MetricsSink {
  readonly #meter: Meter;
  readonly #counters = new Map<CounterName, Counter>();
  readonly #histograms = new Map<TimingName, Histogram>();

  constructor(options: OtelMetricsOptions = {}) {
    this.#meter = options.meter ?? metrics.getMeter('switchyard');
  }

  static #attributes(l: MetricLabels): Attributes {
    return l.op === undefined
      ? { domain: l.domain, type: l.type, backend: l.backend }
      : { domain: l.domain, type: l.type, backend: l.backend, op: l.op };
  }

  increment(name: CounterName, labels: MetricLabels, value: number): void {
    let c = this.#counters.get(name);
    if (c === undefined) {
      c = this.#meter.createCounter(`switchyard.queue.${name}`);
      this.#counters.set(name, c);
    }
    c.add(value, OtelMetrics.#attributes(labels));
  }

  observe(name: TimingName, labels: MetricLabels, ms: number): void {
    let h = this.#histograms.get(name);
    if (h === undefined) {
      h = this.#meter.createHistogram(`switchyard.queue.${name}`, { unit: 's' });
      this.#histograms.set(name, h);
    }
    h.record(ms / 1000, OtelMetrics.#attributes(labels));
  }
}
