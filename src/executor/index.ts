/**
 * The Kafka executor (promises §5) and the job-execution endpoint.
 *
 * @packageDocumentation
 */

export { checkJobEvent, type EventCheck, jobFromEvent } from '../events/receive.js';
export { SIGNATURE_MODES, type SignatureMode } from '../events/signature.js';
export {
  EXECUTOR_DEFAULTS,
  type ExecutorConfig,
  type ExecutorRule,
  type PartitionerConf,
} from './config.js';
export type { ConsumerSpec, RuleContext } from './context.js';
export { type DedupReason, type DedupSubject, type DedupTTLs, RedisDedup } from './dedup.js';
export {
  createJobEndpoint,
  type JobEndpointHandler,
  type JobEndpointOptions,
  JobIgnoredError,
  jobEndpointMiddleware,
  type MiddlewareRequest,
} from './endpoint.js';
export {
  buildErrorEvent,
  emitterId,
  GENERIC_ERROR_URI,
  LEGACY_RETRY_EVENT_SCHEMA,
  triggeredBy,
} from './events.js';
export {
  ERROR_EVENT_SCHEMA,
  type ErrorEvent,
  Executor,
  type ExecutorHandle,
  type ExecutorOptions,
  RETRY_EVENT_SCHEMA,
  type RetryEvent,
  startExecutor,
  startExecutorFromSection,
} from './executor.js';
export {
  dispatchHttp,
  type HttpTarget,
  outcomeOfResponse,
  type StatusMatcher,
  statusMatcher,
} from './http.js';
export {
  type ExecutorCounter,
  type ExecutorLabels,
  ExecutorMetrics,
  type ExecutorTiming,
} from './metrics.js';
export { OffsetTracker, PartitionOffsets } from './offsets.js';
export { outcomeOfStatus, type RunOutcome } from './outcome.js';
export { parseRetryEvent } from './retry.js';
export {
  parseExecutorSection,
  resolveExecutorConfig,
  validateExecutorSection,
} from './section.js';
export { AcquireAborted, Semaphore } from './semaphore.js';
