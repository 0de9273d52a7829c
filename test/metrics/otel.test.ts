import { SpanKind } from '@opentelemetry/api';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { afterEach, describe, expect, test } from 'vitest';
import { createFarmWithAggregator, loadConfig } from '../../src/container.js';
import type { JobQueueFarm } from '../../src/core/farm.js';
import { defineHandlers } from '../../src/index.js';
import { fromTraceparent, OtelTracer, toTraceparent } from '../../src/metrics/otel.js';
import { JobRunner } from '../../src/runner/runner.js';
import { SHARED_YAML, sqliteConfig, uniquePrefix, withConfig } from '../cli/helpers.js';
import { describeIfService, services } from '../helpers/env.js';

const farms: JobQueueFarm[] = [];
afterEach(async () => {
  for (const f of farms.splice(0)) await f.close();
});

test('traceparent round trip; junk and all-zero ids are not trace context', () => {
  const sc = { traceId: 'a'.repeat(32), spanId: 'b'.repeat(16), traceFlags: 1 };
  expect(toTraceparent(sc)).toBe(`00-${'a'.repeat(32)}-${'b'.repeat(16)}-01`);
  expect(fromTraceparent(toTraceparent(sc))).toEqual({ ...sc, isRemote: true });
  expect(fromTraceparent('req-1234')).toBeNull();
  expect(fromTraceparent(`00-${'0'.repeat(32)}-${'b'.repeat(16)}-01`)).toBeNull();
  expect(fromTraceparent(null)).toBeNull();
});

function scenario(name: string, makeConfig: () => { config: string }): void {
  test(`${name}: the run span is a child of the push span, through the job's requestId in the store`, async () => {
    const exporter = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
    const tracer = new OtelTracer({ tracer: provider.getTracer('test') });
    const { config } = makeConfig();
    const resolved = await loadConfig({ path: config });
    // Two farms: the pushing app and the runner share only the store.
    const app = await createFarmWithAggregator(resolved, { tracer });
    const worker = await createFarmWithAggregator(resolved);
    farms.push(app, worker);
    await app.group(resolved.defaultDomain).push([
      { type: 't1', params: { n: 1 } },
      { type: 't1', params: { n: 2 }, requestId: 'req-from-the-web-request' },
    ]);
    const seen: (string | null)[] = [];
    const runner = new JobRunner(worker.group(resolved.defaultDomain), {
      handlers: defineHandlers({ t1: { run: (job) => void seen.push(job.requestId) } }),
      tracer,
    });
    const r = await runner.run({ maxJobs: 10 });
    expect(r.jobs.map((j) => j.status)).toEqual(['ok', 'ok']);

    const spans = exporter.getFinishedSpans();
    const push = spans.filter((s) => s.kind === SpanKind.PRODUCER);
    const runs = spans.filter((s) => s.kind === SpanKind.CONSUMER);
    expect(push.map((s) => s.name)).toEqual(['switchyard push t1']);
    expect(runs.map((s) => s.name)).toEqual(['switchyard run t1', 'switchyard run t1']);
    const pushCtx = push[0]?.spanContext();
    // The first job carried the push span's traceparent; the second kept its own requestId.
    expect(seen).toEqual([toTraceparent(pushCtx as never), 'req-from-the-web-request']);
    const linked = runs[0];
    expect(linked?.spanContext().traceId).toBe(pushCtx?.traceId);
    expect(linked?.parentSpanContext?.spanId).toBe(pushCtx?.spanId);
    expect(linked?.links.map((l) => l.context.spanId)).toEqual([pushCtx?.spanId]);
    const unlinked = runs[1];
    expect(unlinked?.spanContext().traceId).not.toBe(pushCtx?.traceId);
    expect(unlinked?.attributes['switchyard.request_id']).toBe('req-from-the-web-request');
    await provider.shutdown();
  });
}

describe('OpenTelemetry spans link push → run', () => {
  scenario('SQLite', sqliteConfig);
});

describeIfService(services.redis, 'OpenTelemetry spans link push → run (Redis)', (redisUrl) => {
  scenario('Redis', () =>
    withConfig(
      `connections:\n  r: { class: redis, url: ${JSON.stringify(redisUrl)}, prefix: ${uniquePrefix()} }\n` +
        `jobTypeConf:\n  default: { class: redis, connection: r }\n${SHARED_YAML}`,
    ),
  );
});
