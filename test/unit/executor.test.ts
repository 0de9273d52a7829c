// biome-ignore-all lint/suspicious/noTemplateCurlyInString: literal ${ENV} references in config strings.
/**
 * Executor pieces that need no broker: the config section (validation, defaults, a missing secret
 * is a config error and never shown), the per-partition commit tracker (out-of-order finishes
 * never let the commit pass an unfinished message), the semaphore, and the HTTP status mapping.
 */

import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Ajv } from 'ajv';
import { describe, expect, test } from 'vitest';
import { createRegistry, resolveConfig } from '../../src/container.js';
import { ErrorCode } from '../../src/core/errors.js';
import { buildJobEvent } from '../../src/events/job-event.js';
import {
  createJobEndpoint,
  JobIgnoredError,
  jobEndpointMiddleware,
  OffsetTracker,
  outcomeOfStatus,
  PartitionOffsets,
  resolveExecutorConfig,
  Semaphore,
  startExecutorFromSection,
  validateExecutorSection,
} from '../../src/executor/index.js';
import { JobFailedError } from '../../src/runner/handlers.js';

const SECRET = 'unit-secret-0123456789';

describe('executor config section', () => {
  test('defaults are filled in and rules get their own consumer groups', () => {
    const c = resolveExecutorConfig({
      brokers: '127.0.0.1:9092, 127.0.0.1:9093',
      secret: SECRET,
      redis: 'redis://127.0.0.1:6379',
      defaults: { concurrency: 5 },
      rules: [
        { name: 'basic', topics: ['mediawiki.job.a'] },
        {
          name: 'rx',
          topicPattern: 'mediawiki\\.job\\..*',
          retryDelay: 0.1,
          endpoint: 'http://127.0.0.1:1/rpc',
        },
      ],
      partitioners: [
        {
          type: 'htmlCacheUpdate',
          topic: 'mediawiki.job.htmlCacheUpdate.partitioned',
          domains: { enwiki: 1 },
        },
      ],
    });
    expect(c.brokers).toEqual(['127.0.0.1:9092', '127.0.0.1:9093']);
    expect(c.rules[0]).toMatchObject({
      groupId: 'switchyard-basic',
      concurrency: 5,
      retryDelay: 60,
      retryFactor: 6,
      retryLimit: 2,
      reenqueueDelay: 20,
      endpoint: null,
    });
    expect(c.rules[1]?.topicPattern?.test('mediawiki.job.x')).toBe(true);
    expect(c.rules[1]?.topicPattern?.test('xmediawiki.job.x')).toBe(false);
    expect(c.rules[1]).toMatchObject({ retryDelay: 0.1, endpoint: 'http://127.0.0.1:1/rpc' });
    expect(c.dedup).toEqual({ idAtCheck: false, idTTL: 3600, sha1TTL: 3600, rootTTL: 86400 });
    expect(c.partitioners[0]).toMatchObject({ defaultPartition: 0, domains: { enwiki: 1 } });
  });

  test('maxEventAge is the stale-event age; claimTTL (ChangeProp) is its alias, and not both', () => {
    const base = { brokers: 'h:1', secret: SECRET };
    const rule = { name: 'a', topics: ['t'] };
    expect(resolveExecutorConfig({ ...base, rules: [rule] }).rules[0]?.maxEventAge).toBe(0);
    expect(
      resolveExecutorConfig({ ...base, rules: [{ ...rule, maxEventAge: 60 }] }).rules[0]?.maxEventAge,
    ).toBe(60);
    expect(resolveExecutorConfig({ ...base, rules: [{ ...rule, claimTTL: 30 }] }).rules[0]?.maxEventAge).toBe(
      30,
    );
    const inherited = resolveExecutorConfig({
      ...base,
      defaults: { claimTTL: 5 },
      rules: [rule, { ...rule, name: 'b', maxEventAge: 7 }],
    });
    expect(inherited.rules.map((r) => r.maxEventAge)).toEqual([5, 7]);
    const both = validateExecutorSection({ ...base, rules: [{ ...rule, claimTTL: 1, maxEventAge: 1 }] });
    expect(both.map((i) => i.path)).toEqual(['executor.rules[0].claimTTL']);
    // A config the parser made is handed back as it is.
    const made = resolveExecutorConfig({ ...base, rules: [rule] });
    expect(resolveExecutorConfig(made)).toBe(made);
  });

  test('every problem is reported with its path; a missing secret is a config error', async () => {
    const issues = validateExecutorSection({
      brokers: 'nope',
      rules: [{ name: 'a' }, { name: 'a', topics: ['x'], concurrency: 0, topicPattern: '(' }],
      bogus: 1,
    });
    const paths = issues.map((i) => i.path);
    expect(paths).toEqual(
      expect.arrayContaining([
        'executor.brokers',
        'executor.secret',
        'executor.bogus',
        'executor.rules[0].topics',
        'executor.rules[1].name',
        'executor.rules[1].concurrency',
        'executor.rules[1].topicPattern',
      ]),
    );
    expect(() => resolveExecutorConfig({ brokers: 'h:1', rules: [{ name: 'a', topics: ['t'] }] })).toThrow(
      /executor\.secret/,
    );
    // A raw section reaches the executor only through a parser (the constructor takes the typed config).
    await expect(
      startExecutorFromSection({ brokers: 'h:1', rules: [{ name: 'a', topics: ['t'] }] }),
    ).rejects.toThrow(/secret/);
  });

  test('the section is validated by loadConfig / resolveConfig, and an ${ENV} secret never shows', async () => {
    const registry = createRegistry();
    const missing = resolveConfig(
      { executor: { brokers: 'h:1', rules: [{ name: 'a', topics: ['t'] }] } },
      { registry, env: {} },
    );
    await expect(missing).rejects.toMatchObject({ code: ErrorCode.CONFIG_INVALID });
    await expect(missing).rejects.toThrow(/executor\.secret/);
    const unset = resolveConfig(
      { executor: { brokers: 'h:1', secret: '${EXEC_SECRET}', rules: [{ name: 'a', topics: ['t'] }] } },
      { registry, env: {} },
    );
    await expect(unset).rejects.toThrow(/EXEC_SECRET/);
    const config = await resolveConfig(
      {
        executor: {
          brokers: 'h:1',
          secret: '${EXEC_SECRET}',
          rules: [{ name: 'a', topics: ['t'], concurrency: -1 }],
        },
      },
      { registry, env: { EXEC_SECRET: SECRET } },
    ).catch((e: unknown) => e);
    expect(String((config as Error).message)).toMatch(/executor\.rules\[0\]\.concurrency/);
    expect(String((config as Error).message)).not.toContain(SECRET);
    const ok = await resolveConfig(
      { executor: { brokers: 'h:1', secret: '${EXEC_SECRET}', rules: [{ name: 'a', topics: ['t'] }] } },
      { registry, env: { EXEC_SECRET: SECRET } },
    );
    expect(resolveExecutorConfig(ok.sections.executor).secret).toBe(SECRET);
    const typo = resolveConfig({ executer: {} }, { registry, env: {} });
    await expect(typo).rejects.toThrow(/executor/);
  });
});

describe('the executor section in the published JSON Schema', () => {
  const schema = JSON.parse(
    readFileSync(new URL('../../schema/switchyard.config.schema.json', import.meta.url), 'utf8'),
  ) as object;
  const validate = new Ajv({ strict: true, allowUnionTypes: true, allErrors: true }).compile(schema);

  test('a full section validates, and what resolveExecutorConfig rejects the schema rejects too', () => {
    const good = {
      executor: {
        brokers: ['127.0.0.1:9092'],
        secret: '${JOB_SECRET}',
        service: 'cpjobqueue',
        dcPrefix: 'eqiad',
        redis: 'redis://127.0.0.1:6379',
        dedup: { idTTL: 3600, sha1TTL: 3600, rootTTL: 86400 },
        sessionTimeout: 6000,
        defaults: { concurrency: 30, retryDelay: 60, retryFactor: 6, retryLimit: 2 },
        rules: [
          { name: 'basic', topicPattern: 'eqiad\\.mediawiki\\.job\\..*', excludeTypes: ['htmlCacheUpdate'] },
          { name: 'html', topics: ['t'], endpoint: 'http://runner/rpc', httpTimeout: 600, concurrency: 50 },
        ],
        partitioners: [{ type: 'htmlCacheUpdate', topic: 't', domains: { enwiki: 0 }, defaultPartition: 3 }],
      },
    };
    expect(validate(good), JSON.stringify(validate.errors)).toBe(true);
    for (const bad of [
      { executor: { brokers: 'h:1', rules: [{ name: 'a', topics: ['t'] }] } },
      { executor: { brokers: 'h:1', secret: 's', rules: [] } },
      { executor: { brokers: 'h:1', secret: 's', rules: [{ name: 'a', topics: ['t'], concurency: 3 }] } },
      { executor: { brokers: 'h:1', secret: 's', rules: [{ name: 'a', topics: ['t'], concurrency: 0 }] } },
    ]) {
      expect(validate(bad), JSON.stringify(bad)).toBe(false);
      expect(validateExecutorSection(bad.executor).length).toBeGreaterThan(0);
    }
  });
});

describe('per-partition in-order commits', () => {
  test('out-of-order finishes never let the committable offset pass an unfinished message', () => {
    const p = new PartitionOffsets();
    for (const o of [10n, 11n, 12n, 13n, 14n]) p.dispatch(o);
    expect(p.committable).toBeNull();
    p.finish(12n);
    p.finish(14n);
    expect(p.committable).toBeNull();
    p.finish(10n);
    expect(p.committable).toBe(11n);
    p.finish(13n);
    expect(p.committable).toBe(11n);
    p.finish(11n);
    expect(p.committable).toBe(15n);
    expect(p.inFlight).toBe(0);
  });

  test('a randomized finish order: the commit is always one past the longest finished prefix', () => {
    for (let round = 0; round < 50; round++) {
      const p = new PartitionOffsets();
      const n = 200;
      for (let i = 0; i < n; i++) p.dispatch(BigInt(i * 2));
      const order = [...Array(n).keys()].sort(() => Math.random() - 0.5);
      const done = new Set<number>();
      for (const i of order) {
        done.add(i);
        p.finish(BigInt(i * 2));
        let prefix = 0;
        while (done.has(prefix)) prefix++;
        expect(p.committable).toBe(prefix === 0 ? null : BigInt((prefix - 1) * 2 + 1));
      }
    }
  });

  test('the tracker hands out each moved offset once, and failed commits are retried', () => {
    const t = new OffsetTracker();
    t.partition('a', 0).dispatch(0n);
    t.partition('a', 1).dispatch(5n);
    t.partition('a', 0).finish(0n);
    expect(t.takeCommits()).toEqual([{ topic: 'a', partition: 0, offset: '1' }]);
    expect(t.takeCommits()).toEqual([]);
    t.untake([{ topic: 'a', partition: 0, offset: '1' }]);
    expect(t.takeCommits()).toEqual([{ topic: 'a', partition: 0, offset: '1' }]);
    expect(t.inFlight).toBe(1);
    expect(() => t.partition('a', 1).dispatch(4n)).toThrow(RangeError);
  });
});

describe('semaphore and status mapping', () => {
  test('the semaphore never exceeds its limit and aborted waits leave', async () => {
    const s = new Semaphore(2);
    expect(s.tryAcquire()).toBe(true);
    await s.acquire();
    expect(s.tryAcquire()).toBe(false);
    const ac = new AbortController();
    const waiting = s.acquire(ac.signal);
    ac.abort();
    await expect(waiting).rejects.toThrow(/aborted/);
    const third = s.acquire();
    s.release();
    await third;
    expect(s.held).toBe(2);
    expect(s.peak).toBe(2);
  });

  test('HTTP status codes map as promises §5 says', () => {
    expect(outcomeOfStatus(200, '').kind).toBe('ok');
    expect(outcomeOfStatus(204, '').kind).toBe('ok');
    expect(outcomeOfStatus(412, '').kind).toBe('ignored');
    // As ChangeProp: 423 is not retried (error topic); a 5xx with X-Readonly is retried uncounted.
    expect(outcomeOfStatus(423, '').kind).toBe('error');
    expect(outcomeOfStatus(500, '', true)).toMatchObject({ kind: 'retry', counted: false, readonly: true });
    expect(outcomeOfStatus(500, '')).toMatchObject({ kind: 'retry', counted: true });
    expect(outcomeOfStatus(503, '')).toMatchObject({ kind: 'retry', counted: true });
    expect(outcomeOfStatus(400, '').kind).toBe('error');
    expect(outcomeOfStatus(403, '').kind).toBe('error');
    expect(outcomeOfStatus(404, '').kind).toBe('error');
  });
});

describe('job-execution endpoint (no broker needed)', () => {
  const event = (params: Record<string, unknown>, secret = SECRET) =>
    buildJobEvent(
      {
        type: 'ep',
        domain: 'w',
        params: params as never,
        releaseTimestamp: null,
        removeDuplicates: false,
        sha1: null,
        rootJob: null,
        requestId: null,
        priority: 0,
        groupKey: null,
      },
      { stream: 'mediawiki.job.ep', secret, now: Date.now() },
    );

  test('status codes: 200, 412, 500 (and 500 + X-Readonly when read-only), 422, 403, 400, 404, 413; an Express-style adapter with a parsed body', async () => {
    let readOnly: string | null = null;
    const ran: unknown[] = [];
    const options = {
      secret: SECRET,
      maxBodyBytes: 4096,
      readOnly: () => readOnly,
      handlers: {
        ep: {
          run: (job: { params: Record<string, unknown> }) => {
            ran.push(job.params.k);
            if (job.params.k === 'ignore') throw new JobIgnoredError('superseded');
            if (job.params.k === 'fail') throw new Error('transient');
            if (job.params.k === 'fatal') throw new JobFailedError('fatal', { retry: false });
          },
        },
      },
    };
    const endpoint = createJobEndpoint(options as never);
    const middleware = jobEndpointMiddleware(options as never);
    const server = createServer((req, res) => {
      if (req.url === '/parsed') {
        let text = '';
        req.on('data', (c: Buffer) => {
          text += c.toString();
        });
        req.on('end', () => {
          (req as IncomingMessage & { body?: unknown }).body = JSON.parse(text);
          middleware(req, res as ServerResponse, () => undefined);
        });
        return;
      }
      void endpoint(req, res);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const post = async (body: unknown, path = '/') =>
      (
        await fetch(base + path, {
          method: 'POST',
          body: typeof body === 'string' ? body : JSON.stringify(body),
        })
      ).status;
    try {
      expect(await post(event({ k: 'ok' }))).toBe(200);
      expect(await post(event({ k: 'ok2' }), '/parsed')).toBe(200);
      expect(await post(event({ k: 'ignore' }))).toBe(412);
      expect(await post(event({ k: 'fail' }))).toBe(500);
      expect(await post(event({ k: 'fatal' }))).toBe(422);
      expect(await post(event({ k: 'x' }, 'forged-key'))).toBe(403);
      expect(await post({ ...event({ k: 'x' }), params: { k: 'y' } }, '/parsed')).toBe(403);
      expect(await post('{')).toBe(400);
      expect(await post({ nope: 1 })).toBe(400);
      expect(await post({ ...event({ k: 'x' }), type: 'other' })).toBe(403);
      expect(await post(event({ pad: 'x'.repeat(5000) }))).toBe(413);
      readOnly = 'maintenance';
      const ro = await fetch(base, { method: 'POST', body: JSON.stringify(event({ k: 'ro' })) });
      expect(ro.status).toBe(500);
      expect(ro.headers.get('x-readonly')).toBe('true');
      expect(ran).toEqual(['ok', 'ok2', 'ignore', 'fail', 'fatal']);
    } finally {
      await new Promise((r) => server.close(r));
    }
    expect(() => createJobEndpoint({ secret: '', handlers: {} })).toThrow(/secret/);
  });
});
