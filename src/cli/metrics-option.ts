/**
 * `--metrics-port N` of `runner`, `chron` and `executor`: a Prometheus exporter served on
 * `http://127.0.0.1:N/metrics`. `prom-client` is an optional peer, loaded only when asked for.
 *
 * @packageDocumentation
 */
import type { PrometheusMetrics } from '../metrics/prometheus.js';
import type { MetricsServer } from '../metrics/server.js';
import { oneLine } from './context.js';
import { CliError, ExitCode } from './exit-codes.js';

/** The exporter and its server, when `--metrics-port` was given. */
export interface CliMetrics {
  readonly prometheus: PrometheusMetrics;
  readonly server: MetricsServer;
}

/** Starts the exporter on `port`; null without the flag. Prints the URL on stderr. */
export async function startCliMetrics(port: number | undefined): Promise<CliMetrics | null> {
  if (port === undefined) return null;
  let mod: typeof import('../metrics/prometheus-entry.js');
  try {
    mod = await import('../metrics/prometheus-entry.js');
  } catch (err) {
    throw new CliError(
      ExitCode.USAGE,
      `--metrics-port needs the optional dependency prom-client: ${oneLine(err)}`,
    );
  }
  const prometheus = new mod.PrometheusMetrics({ processMetrics: true });
  let server: MetricsServer;
  try {
    server = await mod.serveMetrics(prometheus, port);
  } catch (err) {
    throw new CliError(ExitCode.USAGE, oneLine(err));
  }
  process.stderr.write(`metrics: http://127.0.0.1:${server.port}/metrics\n`);
  return { prometheus, server };
}
