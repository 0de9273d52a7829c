/**
 * `switchyard/metrics/prometheus`: the Prometheus exporter and its `/metrics` server.
 *
 * @packageDocumentation
 */
export {
  OTHER_LABEL,
  PrometheusMetrics,
  type PrometheusMetricsOptions,
  QUEUE_COUNTERS,
  QUEUE_TIMINGS,
  type RunnerJobSample,
  STORE_GAUGES,
  type TextSource,
} from './prometheus.js';
export { type MetricsServer, type MetricsSource, serveMetrics } from './server.js';
