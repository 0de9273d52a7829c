/**
 * switchyard: MediaWiki's job queue, reborn in TypeScript. Per-type queues routed by a config
 * file to pluggable backends, with one conformance suite every backend passes.
 *
 * @packageDocumentation
 */

export {
  AGGREGATOR_DEFAULTS,
  type AggregatorOptions,
  BaseAggregator,
  type ReadyEntry,
  type ReplaceHookOptions,
} from './aggregators/base.js';
export {
  MemoryAggregator,
  type MemoryAggregatorOptions,
  memoryAggregator,
} from './aggregators/memory/index.js';
export type {
  AggregatorContext,
  AggregatorModule,
  AggregatorSection,
} from './aggregators/module.js';
export {
  type AggregatorRebuildError,
  type AggregatorRebuildOptions,
  type AggregatorRebuildResult,
  Chron,
  type ChronOptions,
  type MaintenancePassOptions,
  type MaintenancePassResult,
  type QueueMaintenanceError,
  type QueueMaintenanceResult,
  rebuildAggregator,
  runMaintenancePass,
  type SkippedQueue,
} from './chron/index.js';
export {
  type AggregatorLoader,
  type AggregatorLoaderEntry,
  AggregatorRegistry,
  type AggregatorSource,
  BackendRegistry,
  BUILTIN_AGGREGATORS,
  CONFIG_SECTIONS,
  type CreateAggregatorOptions,
  createAggregator,
  createFarmWithAggregator,
  createRegistry,
  defaultAggregatorRegistry,
  defaultRegistry,
  getBackend,
  loadConfig,
  type RegisterAggregatorOptions,
  registerAggregator,
  registerBackend,
  resolveConfig,
  validateAggregatorSection,
} from './container.js';
export type { JobQueueAggregator, ReadyQueueMap } from './core/aggregator.js';
export type {
  BackendConnection,
  BackendConnections,
  BackendContext,
  BackendModule,
  BackendSettings,
  ResolvedSettings,
  SettingsResolver,
} from './core/backend.js';
export { type Clock, ManualClock, systemClock } from './core/clock.js';
export {
  type BackendRegistryLike,
  CONFIG_FILE_NAMES,
  DEFAULT_JOB_TYPE_CONF,
  findConfigFile,
  parseConfigText,
  type SectionValidator,
} from './core/config.js';
export type { ResolvedConfig, ResolvedConnectionConf, ResolvedQueueConf } from './core/config-types.js';
export {
  ErrorCode,
  type Issue,
  isSwitchyardError,
  SwitchyardError,
  wrapDriverError,
} from './core/errors.js';
export { ConnectionPool, createJobQueueGroup, JobQueueFarm, type JobQueueFarmOptions } from './core/farm.js';
export {
  DEPENDENCY_FAILURE_POLICIES,
  type DependencyFailurePolicy,
  type FlowJobSpecification,
  type FlowNode,
  type FlowPushResult,
  MAX_FLOW_JOBS,
} from './core/flow.js';
export {
  canonicalJson,
  dedupKey,
  type Job,
  type JobSpecification,
  type JobState,
  type JobType,
  type JobTypes,
  type JsonObject,
  type JsonValue,
  type ListedJob,
  MAX_GROUP_KEY_LENGTH,
  MAX_PRIORITY,
  MIN_PRIORITY,
  type NormalizedJob,
  newRootJob,
  type ParamsOf,
  type RootJob,
} from './core/job.js';
export type { JobQueueHooks } from './core/job-queue.js';
export {
  type ClaimedJob,
  type ClaimRef,
  EMPTY_QUEUE_STATS,
  JobQueue,
  MAX_WAIT_MS,
  type MaintenanceHookOptions,
  type MaintenanceResult,
  newClaimToken,
  newJobId,
  type PushHookOptions,
  type PushOptions,
  type PushResult,
  type QueueStats,
  type ReleaseHookOptions,
  type ReleaseOutcome,
  type StoredQueue,
  type WaitForJobsOptions,
} from './core/job-queue.js';
export {
  ANY,
  type ConnectionProvider,
  DEFAULT,
  type GroupClaimRef,
  type GroupPopOptions,
  JobQueueGroup,
  type JobQueueGroupOptions,
  type PopSelector,
} from './core/job-queue-group.js';
export {
  type CounterName,
  CountingMetrics,
  type MetricLabels,
  type MetricsSink,
  noopMetrics,
  type TimingName,
} from './core/metrics.js';
export {
  type GroupLimit,
  type GroupLimits,
  GroupLimitTable,
  type JobQueueOptions,
  QUEUE_DEFAULTS,
  type ResolvedGroupLimit,
  UNLIMITED_GROUP,
} from './core/queue-options.js';
export {
  defineSupports,
  NO_SUPPORT,
  ORDERS,
  type Order,
  type SizesSupport,
  type Supports,
} from './core/supports.js';
export { type JobTracer, noopTracer, type PushTraceInfo, type RunTraceInfo } from './core/tracing.js';
// The executor's config section and the job-execution endpoint need no Kafka or Redis driver; the
// executor itself (kafkajs, ioredis) is the `switchyard/executor` subpath.
export {
  EXECUTOR_DEFAULTS,
  type ExecutorConfig,
  type ExecutorRule,
  type PartitionerConf,
} from './executor/config.js';
export {
  createJobEndpoint,
  type JobEndpointHandler,
  type JobEndpointOptions,
  JobIgnoredError,
  jobEndpointMiddleware,
  type MiddlewareRequest,
} from './executor/endpoint.js';
export {
  parseExecutorSection,
  resolveExecutorConfig,
  validateExecutorSection,
} from './executor/section.js';
export {
  ExpansionError,
  type ExpansionOptions,
  expansionHandler,
  expansionRoot,
  partitionExpansion,
} from './expansion/index.js';
export {
  type MissedTicks,
  type PeriodicEntry,
  type PeriodicLogger,
  type PeriodicQueueSource,
  type PeriodicRound,
  PeriodicScheduler,
  type PeriodicSchedulerOptions,
  parsePeriodicSection,
  validatePeriodicSection,
} from './periodic/index.js';
export {
  CLASS_NAME_PATTERN,
  type ClassKind,
  type ClassLoaderEntry,
  ClassRegistry,
  type RegisterClassOptions,
} from './registry.js';
export {
  type BackoffOptions,
  backoffDelay,
  consoleLogger,
  DEFAULT_BACKOFF,
  defaultThrottleFile,
  defineHandlers,
  type HandlerContext,
  type HandlerMap,
  HandlerRegistry,
  installSignalHandlers,
  JobCancelledError,
  JobFailedError,
  type JobFailedErrorOptions,
  type JobHandler,
  JobRunner,
  type JobRunnerOptions,
  type JobRunRecord,
  type JobRunStatus,
  parseBackoffThrottlingSection,
  parseRunnersSection,
  type RunnerGroupConf,
  type RunnerLogger,
  RunnerService,
  type RunnerServiceOptions,
  type RunOptions,
  type RunReached,
  type RunResult,
  type ServiceReached,
  type ServiceResult,
  type ServiceRunOptions,
  type ServiceSlice,
  type SignalHandlers,
  silentLogger,
  Throttle,
  type ThrottleOptions,
} from './runner/index.js';
export {
  type FinishEmitter,
  jobRunMiddleware,
  jobsForRate,
  type RunOnRequestOptions,
  runJobsOnRequest,
} from './runner/run-on-request.js';
