/**
 * The core seams for backends of backends, on their own: `BackendModule.resolveSettings` (with
 * its `SettingsResolver`), `BackendContext.connections` from the group, and `JobQueue.hooksOf`.
 */
import { describe, expect, test } from 'vitest';
import { MemoryJobQueue, MemoryStore, memoryBackend } from '../../src/backends/memory/index.js';
import { resolveConfig } from '../../src/container.js';
import type { BackendContext, BackendModule, SettingsResolver } from '../../src/core/backend.js';
import { ErrorCode, isSwitchyardError, type SwitchyardError } from '../../src/core/errors.js';
import { createJobQueueGroup } from '../../src/core/farm.js';
import type { NormalizedJob } from '../../src/core/job.js';
import {
  JobQueue,
  type JobQueueOptions,
  type PushHookOptions,
  type PushResult,
} from '../../src/core/job-queue.js';
import { CountingMetrics } from '../../src/core/metrics.js';

async function configError(raw: unknown): Promise<SwitchyardError> {
  try {
    await resolveConfig(raw);
  } catch (error) {
    if (isSwitchyardError(error, ErrorCode.CONFIG_INVALID)) return error;
    throw error;
  }
  throw new Error('resolveConfig accepted the config');
}

/** A push-only wrapper that stores through an inner memory queue's hooks. */
class Wrapper extends JobQueue {
  readonly inner: JobQueue;
  constructor(options: JobQueueOptions, inner: JobQueue) {
    super('wrapper', { pop: false }, options);
    this.inner = inner;
  }
  protected override doBatchPush(
    jobs: readonly NormalizedJob[],
    options: PushHookOptions,
  ): Promise<PushResult> {
    return JobQueue.hooksOf(this.inner).batchPush(jobs, options);
  }
}

describe('BackendModule.resolveSettings', () => {
  const seen: Array<{ settings: unknown; path: string; names: readonly string[]; conn: string | null }> = [];
  const contexts: BackendContext[] = [];
  const wrapper: BackendModule = {
    name: 'wrapper',
    supports: { ...memoryBackend.supports },
    validateSettings: (settings, path) =>
      typeof settings.inner === 'string' ? [] : [{ path: `${path}.inner`, message: 'is required' }],
    async resolveSettings(settings, path, resolver: SettingsResolver) {
      if (settings.inner === 'boom') throw new Error('boom');
      const inner = await resolver.loadBackend(settings.inner as string);
      seen.push({ settings, path, names: resolver.backendNames, conn: resolver.connectionClass('m') });
      return { settings: { ...settings, module: inner }, issues: [] };
    },
    createQueue(context) {
      contexts.push(context);
      const inner = context.settings.module as BackendModule;
      return inner.createQueue({ ...context, settings: {}, connection: null, connectionName: null });
    },
  };

  test('runs after validateSettings, can load classes, and its settings reach createQueue with the connections', async () => {
    const config = await resolveConfig({
      connections: { m: { class: 'memory', store: 'seams' } },
      jobTypeConf: { default: { class: wrapper, inner: 'memory' } },
    });
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ path: 'jobTypeConf.default', conn: 'memory' });
    expect(seen[0]?.names).toContain('memory');
    const group = createJobQueueGroup(config, 'seams');
    try {
      expect(group.get('t')).toBeInstanceOf(MemoryJobQueue);
      expect(contexts[0]?.settings.module).toBe(memoryBackend);
      expect(contexts[0]?.connections?.connection('m').handle).toBe(MemoryStore.named('seams'));
    } finally {
      await group.close();
    }
  });

  test('is skipped when validateSettings found issues, and a throw becomes an issue at the entry', async () => {
    const before = seen.length;
    const invalid = await configError({ jobTypeConf: { default: { class: wrapper } } });
    expect(invalid.issues.map((i) => i.path)).toEqual(['jobTypeConf.default.inner']);
    expect(seen.length).toBe(before);
    const threw = await configError({ jobTypeConf: { default: { class: wrapper, inner: 'boom' } } });
    expect(threw.issues[0]).toMatchObject({ path: 'jobTypeConf.default' });
    expect(threw.issues[0]?.message).toMatch(/resolveSettings threw: boom/);
  });
});

describe('JobQueue.hooksOf', () => {
  test('stores through another queue without its checks and metrics running a second time', async () => {
    const innerMetrics = new CountingMetrics();
    const outerMetrics = new CountingMetrics();
    const inner = new MemoryJobQueue({
      type: 't',
      domain: 'hooks',
      metrics: innerMetrics,
      readOnlyReason: 'inner',
    });
    const outer = new Wrapper({ type: 't', domain: 'hooks', metrics: outerMetrics }, inner);
    expect(await outer.push([{ type: 't', params: { a: 1 } }])).toEqual({ inserted: 1, duplicates: 0 });
    expect(outerMetrics.total('inserts')).toBe(1);
    expect(innerMetrics.total('inserts')).toBe(0);
    // The inner queue's own public methods still enforce its read-only reason.
    await expect(inner.pop()).rejects.toMatchObject({ code: ErrorCode.READ_ONLY });
  });
});
