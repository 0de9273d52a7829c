import { randomUUID } from 'node:crypto';
import { memoryBackend } from '../../src/backends/memory/index.js';
import type { Clock } from '../../src/core/clock.js';
import type { ResolvedConfig, ResolvedQueueConf } from '../../src/core/config-types.js';
import { createJobQueueGroup } from '../../src/core/farm.js';
import type { JobQueueGroup } from '../../src/core/job-queue-group.js';

/** Queue options of the default entry. */
export type QueueOpts = Pick<ResolvedQueueConf['queue'], 'claimTTL' | 'maxTries' | 'maintenanceInterval'>;

/** A group over a fresh private memory store. */
export function memoryGroup(
  opts: QueueOpts = {},
  extra: {
    readonly readOnlyReason?: string | null;
    readonly clock?: Clock;
    readonly jobTypes?: string[];
  } = {},
): JobQueueGroup {
  const store = `runner-${randomUUID()}`;
  const config: ResolvedConfig = Object.freeze({
    source: 'object',
    connections: Object.freeze({
      mem: Object.freeze({
        path: 'connections.mem',
        name: 'mem',
        class: 'memory',
        backend: memoryBackend,
        settings: Object.freeze({ store }),
      }),
    }),
    jobTypeConf: Object.freeze({
      default: Object.freeze({
        path: 'jobTypeConf.default',
        class: 'memory',
        backend: memoryBackend,
        connection: 'mem',
        queue: Object.freeze({ order: 'fifo' as const, ...opts }),
        settings: Object.freeze({}),
      }),
    }),
    typesExcludedFromDefaultQueue: Object.freeze([]),
    jobTypes: Object.freeze([...(extra.jobTypes ?? [])]),
    readOnlyReason: extra.readOnlyReason ?? null,
    defaultDomain: 'default',
    domains: Object.freeze([]),
    sections: Object.freeze({}),
  });
  return createJobQueueGroup(config, 'default', extra.clock ? { clock: extra.clock } : {});
}

/** Real sleep (keep it short in tests). */
export function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
