/**
 * The tracing seam: the base queue, the runner and the executor call a {@link JobTracer} around
 * push, run and dispatch. Core never imports a tracing library; `switchyard/metrics/otel`
 * implements this interface over `@opentelemetry/api`.
 *
 * Trace context travels inside the job as its `requestId` (a W3C `traceparent` when the tracer
 * made it), which every backend stores and the eventbus carries as `meta.request_id`.
 *
 * @packageDocumentation
 */

/** What a tracer is told about a push. */
export interface PushTraceInfo {
  readonly domain: string;
  readonly type: string;
  readonly backend: string;
  /** Jobs in the batch. */
  readonly count: number;
}

/** What a tracer is told about a job being run. */
export interface RunTraceInfo {
  readonly domain: string;
  readonly type: string;
  readonly id: string;
  /** The job's requestId (the pusher's trace context when a tracer stamped it), or null. */
  readonly requestId: string | null;
  /** Who runs it: the runner or the Kafka executor. */
  readonly via: 'runner' | 'executor';
}

/** Wraps push and run in spans. Implementations must rethrow what `fn` throws. */
export interface JobTracer {
  /**
   * Runs a push; `fn` receives the requestId to stamp on the batch's jobs that have none (null:
   * leave them alone).
   */
  push<R>(info: PushTraceInfo, fn: (requestId: string | null) => Promise<R>): Promise<R>;
  /** Runs a job. */
  run<R>(info: RunTraceInfo, fn: () => Promise<R>): Promise<R>;
}

/** Traces nothing (the default). */
export const noopTracer: JobTracer = Object.freeze({
  push: <R>(_info: PushTraceInfo, fn: (requestId: string | null) => Promise<R>) => fn(null),
  run: <R>(_info: RunTraceInfo, fn: () => Promise<R>) => fn(),
});
