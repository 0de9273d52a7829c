/**
 * Periodic (cron-style) jobs: the `periodic` config section and the scheduler that pushes each
 * schedule's job once per tick across every process (docs/periodic.md).
 *
 * @packageDocumentation
 */
export {
  type MissedTicks,
  type PeriodicEntry,
  parsePeriodicSection,
  validatePeriodicSection,
} from './config.js';
export {
  type PeriodicLogger,
  type PeriodicQueueSource,
  type PeriodicRound,
  PeriodicScheduler,
  type PeriodicSchedulerOptions,
} from './scheduler.js';
