/**
 * `switchyard executor`: consumes the job topics of the config's `executor` section and runs each
 * job (promises §5, ChangeProp's role) until SIGTERM / SIGINT, then stops gracefully (in-flight jobs
 * finish within the section's `shutdownGrace`, finished offsets are committed, the rest is handed
 * back to Kafka).
 *
 * @packageDocumentation
 */
import { installSignalHandlers } from '../runner/signals.js';
import { type CommonOptions, cliLogger, loadCliConfig, loadHandlers, output } from './context.js';
import { ExitCode } from './exit-codes.js';
import { startCliMetrics } from './metrics-option.js';

/** Options of `switchyard executor`. */
export interface ExecutorCommandOptions extends CommonOptions {
  /** Module exporting the handler registry; optional when every rule posts to an endpoint. */
  readonly handlers?: string;
  /** Serve Prometheus metrics on this port. */
  readonly metricsPort?: number;
}

/** Runs `executor`; returns the exit code once it has stopped. */
export async function executorCommand(options: ExecutorCommandOptions): Promise<number> {
  const config = await loadCliConfig(options);
  const handlers = options.handlers === undefined ? undefined : await loadHandlers(options.handlers);
  // The executor needs kafkajs and ioredis: loaded only by this command.
  const { startExecutor } = await import('../executor/index.js');
  const signals = installSignalHandlers();
  const started = Date.now();
  const metrics = await startCliMetrics(options.metricsPort);
  try {
    const handle = await startExecutor(config, {
      logger: cliLogger(options.verbose === true),
      ...(metrics ? { metrics: metrics.prometheus } : {}),
      signal: signals.signal,
      ...(handlers === undefined ? {} : { handlers }),
    });
    metrics?.prometheus.addText(() => handle.metrics.toPrometheus());
    const topics = handle.topics();
    process.stderr.write(`executor consuming ${Object.values(topics).flat().join(', ') || 'no topic yet'}\n`);
    await handle.stopped;
    const seconds = (Date.now() - started) / 1000;
    output(options, { stopped: true, seconds, topics }, `executor stopped after ${seconds.toFixed(1)} s`);
    return ExitCode.OK;
  } finally {
    signals.dispose();
    await metrics?.server.close();
  }
}
