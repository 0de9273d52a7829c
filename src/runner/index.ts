/**
 * The runner: handlers registry, {@link JobRunner}, throttling and signal wiring.
 *
 * @packageDocumentation
 */
export {
  consoleLogger,
  defineHandlers,
  type HandlerContext,
  type HandlerMap,
  HandlerRegistry,
  JobCancelledError,
  JobFailedError,
  type JobFailedErrorOptions,
  type JobHandler,
  type RunnerLogger,
  silentLogger,
} from './handlers.js';
export {
  type BackoffOptions,
  backoffDelay,
  DEFAULT_BACKOFF,
  JobRunner,
  type JobRunnerOptions,
  type JobRunRecord,
  type JobRunStatus,
  type RunOptions,
  type RunReached,
  type RunResult,
} from './runner.js';
export {
  RunnerService,
  type RunnerServiceOptions,
  type ServiceReached,
  type ServiceResult,
  type ServiceRunOptions,
  type ServiceSlice,
} from './service.js';
export {
  parseBackoffThrottlingSection,
  parseRunnersSection,
  RUNNER_GROUP_KEYS,
  type RunnerGroupConf,
  readBackoffThrottlingSection,
  readRunnersSection,
  validateBackoffThrottlingSection,
  validateRunnersSection,
} from './service-config.js';
export { installSignalHandlers, type SignalHandlers } from './signals.js';
export { defaultThrottleFile, Throttle, type ThrottleOptions } from './throttle.js';
export { MAX_WAKE_QUEUES, waitForAnyJobs } from './wake.js';
