/**
 * Redis backend extras the conformance suite does not cover: script files and loading (including
 * the NOSCRIPT fallback after SCRIPT FLUSH), key layout, corrupted jobs, bad inputs (unreachable
 * server, wrong password, bad prefix), compression, chunked batches, and who closes the client.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import { expect, test } from 'vitest';
import {
  queueKeys,
  type RedisClientLike,
  type RedisConnection,
  RedisJobQueue,
  redisBackend,
} from '../../src/backends/redis/index.js';
import { scripts } from '../../src/backends/redis/script-loader.js';
import { createRegistry, resolveConfig } from '../../src/container.js';
import { ManualClock } from '../../src/core/clock.js';
import { ErrorCode, isSwitchyardError, type SwitchyardError } from '../../src/core/errors.js';
import { JobQueueFarm } from '../../src/core/farm.js';
import { CountingMetrics } from '../../src/core/metrics.js';
import { describeIfService, services } from '../helpers/env.js';
import { freePort } from '../helpers/net.js';
import { redisQueues } from '../helpers/redis.js';

const prefix = `swytest-int-${process.pid}-${Date.now().toString(36)}`;
const scriptDir = new URL('../../src/backends/redis/scripts/', import.meta.url);

/** Resolves once a Redis server answers on `port` (within 10 s). */
async function waitForServer(port: number, password: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const probe = new Redis({ port, password, lazyConnect: true, retryStrategy: () => null });
    probe.on('error', () => {});
    try {
      await probe.connect();
      await probe.quit();
      return;
    } catch {
      probe.disconnect();
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  throw new Error(`redis-server on port ${port} did not start`);
}

/** Runs `fn` and returns the SwitchyardError it rejects with (fails when it resolves). */
async function rejection(fn: () => Promise<unknown>): Promise<SwitchyardError> {
  try {
    await fn();
  } catch (error) {
    expect(isSwitchyardError(error), `expected a SwitchyardError, got ${String(error)}`).toBe(true);
    return error as SwitchyardError;
  }
  throw new Error('expected a rejection');
}

/** Every message in an error's cause chain. */
function messages(error: unknown): string {
  const out: string[] = [];
  for (let e: unknown = error; e instanceof Error; e = e.cause) out.push(e.message);
  return out.join(' <- ');
}

// -------------------------------------------------------------------- no server needed

test('every script file has a header naming KEYS, ARGV and its returns, matching its -<nKeys> name', () => {
  const files = readdirSync(scriptDir).filter((f) => f.endsWith('.lua'));
  expect(files.length).toBeGreaterThanOrEqual(10);
  for (const file of files) {
    const text = readFileSync(new URL(file, scriptDir), 'utf8');
    const n = Number(/-(\d+)\.lua$/.exec(file)?.[1]);
    expect(Number.isInteger(n), `${file} is named <op>-<nKeys>.lua`).toBe(true);
    expect(text, file).toMatch(/^#!lua/);
    expect(text, file).toMatch(/Returns /);
    for (let i = 1; i <= n; i++) expect(text, `${file} documents KEYS[${i}]`).toContain(`KEYS[${i}]`);
    expect(text, `${file} documents no KEYS[${n + 1}]`).not.toContain(`KEYS[${n + 1}]`);
  }
});

test('the loader inlines every include once and names each script by its key count', () => {
  for (const script of Object.values(scripts())) {
    expect(script.source, script.name).not.toContain('@include');
    expect(script.sha1).toMatch(/^[0-9a-f]{40}$/);
    expect(script.name.endsWith(`-${script.numberOfKeys}`)).toBe(true);
    expect(script.source.startsWith('#!lua'), `${script.name}: the shebang stays on line 1`).toBe(true);
    const definitions = script.source.match(/^local function header_parse/gm) ?? [];
    expect(definitions.length, script.name).toBeLessThanOrEqual(1);
  }
});

test('keys of one queue share the {domain:type} hash tag; odd names are escaped', () => {
  const k = queueKeys('swy', 'enwiki', 'refreshLinks');
  expect(k.ready).toBe('swy:{enwiki:refreshLinks}:ready');
  for (const key of Object.values(k)) expect(key.startsWith('swy:{enwiki:refreshLinks}:')).toBe(true);
  const odd = queueKeys('swy', 'a:b', 'c}{d e%');
  expect(odd.base).toBe('swy:{a%3Ab:c%7D%7Bd%20e%25}:');
  expect(queueKeys('swy', 'a', 'b:c').base).not.toBe(queueKeys('swy', 'a:b', 'c').base);
});

test('a prefix with spaces is refused with SWITCHYARD_CONFIG_INVALID, at config load and in code', async () => {
  const registry = createRegistry();
  const err = await rejection(() =>
    resolveConfig(
      {
        connections: { cache: { class: 'redis', url: 'redis://:hunter2@127.0.0.1:6379', prefix: 'my jobs' } },
        jobTypeConf: { default: { class: 'redis', connection: 'cache' } },
      },
      { registry },
    ),
  );
  expect(err.code).toBe(ErrorCode.CONFIG_INVALID);
  expect(err.issues.map((i) => i.path)).toEqual(['connections.cache.prefix']);
  expect(messages(err)).not.toContain('hunter2');
  const entry = await rejection(() =>
    resolveConfig(
      { jobTypeConf: { default: { class: 'redis', url: 'redis://127.0.0.1:6379', prefix: 'a{b}' } } },
      { registry },
    ),
  );
  expect(entry.issues.map((i) => i.path)).toEqual(['jobTypeConf.default.prefix']);
  expect(() => new RedisJobQueue({ type: 't', url: 'redis://127.0.0.1:6379', prefix: 'my jobs' })).toThrow(
    expect.objectContaining({ code: ErrorCode.CONFIG_INVALID }),
  );
});

test('other bad settings are refused at config load, naming the path and never the URL', async () => {
  const registry = createRegistry();
  const err = await rejection(() =>
    resolveConfig(
      {
        connections: {
          noUrl: { class: 'redis' },
          badUrl: { class: 'redis', url: 'http://:hunter2@example.com' },
          badTimeout: { class: 'redis', url: 'redis://x', connectTimeout: 0 },
        },
        jobTypeConf: {
          default: { class: 'redis', connection: 'noUrl', compressAbove: -1, colour: 'blue', prefetch: 1.5 },
          big: { class: 'redis', connection: 'noUrl', prefetch: 1001 },
        },
      },
      { registry },
    ),
  );
  expect(err.code).toBe(ErrorCode.CONFIG_INVALID);
  expect(err.issues.map((i) => i.path).sort()).toEqual([
    'connections.badTimeout.connectTimeout',
    'connections.badUrl.url',
    'connections.noUrl.url',
    'jobTypeConf.big.prefetch',
    'jobTypeConf.default.colour',
    'jobTypeConf.default.compressAbove',
    'jobTypeConf.default.prefetch',
  ]);
  expect(messages(err)).not.toContain('hunter2');
  expect(() => new RedisJobQueue({ type: 't' })).toThrow(
    expect.objectContaining({ code: ErrorCode.CONFIG_INVALID }),
  );
  expect(() => new RedisJobQueue({ type: 't', url: 'redis://x', order: 'timestamp' })).toThrow(
    expect.objectContaining({ code: ErrorCode.CONFIG_INVALID }),
  );
  expect(() => new RedisJobQueue({ type: 't', url: 'redis://x', prefetch: -1 })).toThrow(
    expect.objectContaining({
      code: ErrorCode.CONFIG_INVALID,
      issues: [expect.objectContaining({ path: 'prefetch', value: -1 })],
    }),
  );
});

test('an unreachable Redis fails with SWITCHYARD_CONNECTION_LOST within connectTimeout, no hang', async () => {
  const port = await freePort();
  const q = new RedisJobQueue({ type: 't', url: `redis://127.0.0.1:${port}`, connectTimeout: 1 });
  const start = Date.now();
  const err = await rejection(() => q.push({ type: 't', params: {} }));
  const elapsed = Date.now() - start;
  expect(err.code).toBe(ErrorCode.CONNECTION_LOST);
  expect(err.message).toContain(`127.0.0.1:${port}`);
  expect(elapsed).toBeLessThan(3_000);
  // A host client with ioredis's defaults (20 retries per request) is bounded by connectTimeout too.
  const host = new Redis(`redis://127.0.0.1:${port}`, { lazyConnect: true });
  host.on('error', () => {});
  const hosted = new RedisJobQueue({ type: 't', client: host, connectTimeout: 1 });
  const t1 = Date.now();
  expect((await rejection(() => hosted.getSize())).code).toBe(ErrorCode.CONNECTION_LOST);
  expect(Date.now() - t1).toBeLessThan(3_000);
  await q.close();
  await hosted.close();
  host.disconnect();
});

// -------------------------------------------------------------------- with a Redis server

describeIfService(services.redis, 'redis backend (integration)', (url) => {
  const { client, queue } = redisQueues(url, prefix, 'integration');

  test('scripts run again after SCRIPT FLUSH (EVALSHA, then the EVAL fallback, then EVALSHA)', async () => {
    const commands: string[] = [];
    const recording: RedisClientLike = {
      get status() {
        return client.status;
      },
      call: (command, args) => {
        commands.push(command);
        return client.call(command, args);
      },
      on: (event, listener) => client.on(event, listener),
      removeListener: (event, listener) => client.removeListener(event, listener),
      connect: () => client.connect(),
      quit: () => client.quit(),
      disconnect: () => client.disconnect(),
    };
    const q = queue({ client: recording });
    await q.push({ type: q.type, params: { n: 1 } });
    await client.script('FLUSH');
    commands.length = 0;
    await q.push({ type: q.type, params: { n: 2 } });
    expect(commands).toEqual(['EVALSHA', 'EVAL']);
    commands.length = 0;
    await q.push({ type: q.type, params: { n: 3 } });
    expect(commands).toEqual(['EVALSHA']);
    expect((await q.popBatch(5)).map((j) => j.params.n)).toEqual([1, 2, 3]);
  });

  test('a corrupted job is moved to abandoned and reported; pops go on (no crash loop)', async () => {
    const errors: SwitchyardError[] = [];
    const metrics = new CountingMetrics();
    const q = queue({ onError: (e) => errors.push(e), metrics, claimTTL: 60 });
    await q.push([0, 1, 2, 3].map((n) => ({ type: q.type, params: { n } })));
    const ids = (await client.lrange(q.keys.ready, 0, -1)).reverse();
    // Job 1: params not JSON; job 2: a header that is not ours; job 3: no data at all.
    const blob1 = (await client.hget(q.keys.data, ids[1] as string)) as string;
    await client.hset(q.keys.data, ids[1] as string, blob1.replace(/j\|.*$/, 'j|{"p":{not json'));
    await client.hset(q.keys.data, ids[2] as string, 'garbage');
    await client.hdel(q.keys.data, ids[3] as string);
    const jobs = await q.popBatch(10);
    expect(jobs.map((j) => j.params.n)).toEqual([0]);
    expect(await q.pop()).toBeNull();
    expect(await q.getAbandonedCount()).toBe(2);
    expect(await q.getAcquiredCount()).toBe(1);
    expect(errors).toHaveLength(3);
    for (const e of errors) expect(e.code).toBe(ErrorCode.BACKEND_ERROR);
    expect(errors.map((e) => e.message).join('\n')).toContain(ids[1] as string);
    expect(metrics.total('errors', q.type)).toBe(3);
    // Listing reports and skips them; repush drops the undecodable header and repushes the other.
    const abandoned: string[] = [];
    for await (const job of q.list('abandoned')) abandoned.push(job.id);
    expect(abandoned).toEqual([]);
    expect(errors).toHaveLength(5);
    expect(await q.repushAbandoned()).toBe(1);
    expect(await q.pop()).toBeNull(); // the repushed copy is still undecodable: abandoned again
    expect(await q.getAbandonedCount()).toBe(1);
    expect(await q.ack(jobs[0] as (typeof jobs)[number])).toBe(true);
  });

  test('with claimTTL 0 a corrupted job is dropped and reported with its stored value', async () => {
    const errors: SwitchyardError[] = [];
    const q = queue({ onError: (e) => errors.push(e), claimTTL: 0 });
    await q.push([
      { type: q.type, params: { n: 0 } },
      { type: q.type, params: { n: 1 } },
    ]);
    const [first] = (await client.lrange(q.keys.ready, -1, -1)) as [string];
    await client.hset(q.keys.data, first, 'garbage');
    expect((await q.popBatch(5)).map((j) => j.params.n)).toEqual([1]);
    expect(errors).toHaveLength(1);
    expect(errors[0]?.message).toContain('garbage');
    expect(await q.getAbandonedCount()).toBe(0);
  });

  test('payloads above compressAbove are gzip-stored and come back unchanged', async () => {
    const clock = new ManualClock();
    const big = { text: 'ünïcödé '.repeat(4000), list: Array.from({ length: 500 }, (_, i) => ({ i })) };
    const q = queue({ compressAbove: 1024, clock });
    await q.push([
      { type: q.type, params: big, requestId: 'r1', rootJob: { signature: 's', timestamp: 5, isSelf: true } },
      { type: q.type, params: { small: true } },
    ]);
    const ids = (await client.lrange(q.keys.ready, 0, -1)).reverse();
    const stored = (await client.hget(q.keys.data, ids[0] as string)) as string;
    expect(stored).toMatch(/^1\|\|\|\d+\|z\|/);
    expect(stored.length).toBeLessThan(JSON.stringify(big).length / 4);
    expect(await client.hget(q.keys.data, ids[1] as string)).toMatch(/^1\|\|\|\d+\|j\|/);
    const listed = [];
    for await (const job of q.list('ready')) listed.push(job);
    expect(listed[0]?.params).toEqual(big);
    // A queue without compression reads compressed jobs: the header says which encoding.
    const plain = queue({ type: q.type, clock });
    const [a, b] = await plain.popBatch(2);
    expect(a?.params).toEqual(big);
    expect(a?.requestId).toBe('r1');
    expect(a?.rootJob).toEqual({ signature: 's', timestamp: 5, isSelf: true });
    expect(b?.params).toEqual({ small: true });
  });

  test('batches larger than one script call (push, popBatch, ackBatch, maintenance, repush)', async () => {
    const clock = new ManualClock();
    const q = queue({ clock, claimTTL: 60, maxTries: 2 });
    const specs = Array.from({ length: 2500 }, (_, n) => ({ type: q.type, params: { n } }));
    expect(await q.push(specs)).toEqual({ inserted: 2500, duplicates: 0 });
    expect(await q.push(specs.slice(0, 1500), { atomic: true })).toEqual({ inserted: 1500, duplicates: 0 });
    const popped = await q.popBatch(4000);
    expect(popped).toHaveLength(4000);
    expect(popped.slice(0, 2500).map((j) => j.params.n)).toEqual(specs.map((s) => s.params.n));
    expect(new Set(popped.map((j) => j.claimToken)).size).toBe(4000);
    expect((await q.ackBatch(popped.slice(0, 1500))).every(Boolean)).toBe(true);
    clock.advance(61_000);
    expect(await q.runMaintenance()).toEqual({ recycled: 2500, abandoned: 0, pruned: 0, released: 0 });
    await q.popBatch(2500);
    clock.advance(61_000);
    expect((await q.runMaintenance()).abandoned).toBe(2500);
    expect(await q.repushAbandoned()).toBe(2500);
    expect(await q.getSize()).toBe(2500);
  });

  test('prefetch: later pops come from the buffer; close gives the rest back to the front, attempts restored', async () => {
    const clock = new ManualClock();
    const q = queue({ clock, claimTTL: 60, prefetch: 8 });
    const other = queue({ type: q.type, clock, claimTTL: 60 });
    await q.push(Array.from({ length: 5 }, (_, n) => ({ type: q.type, params: { n } })));
    const first = await q.pop();
    expect(first?.params).toEqual({ n: 0 });
    // The other 4 are claimed in Redis (other handles do not see them) but ready for this handle.
    expect(await client.zcard(q.keys.claimed)).toBe(5);
    expect(await q.getSize()).toBe(1 + 3);
    expect(await q.getAcquiredCount()).toBe(1);
    expect(await other.getSize()).toBe(0);
    const listed = [];
    for await (const job of q.list('ready')) listed.push(job);
    expect(listed.map((j) => [j.params.n, j.attempts, j.claimToken])).toEqual([
      [1, 0, null],
      [2, 0, null],
      [3, 0, null],
      [4, 0, null],
    ]);
    const second = await q.pop();
    expect(second?.params).toEqual({ n: 1 });
    expect(second?.attempts).toBe(1);
    expect(await q.ack(second as NonNullable<typeof second>)).toBe(true);
    await q.close();
    expect(await other.getSize()).toBe(3);
    expect(await other.getAcquiredCount()).toBe(1);
    const rest = await other.popBatch(10);
    expect(rest.map((j) => [j.params.n, j.attempts])).toEqual([
      [2, 1],
      [3, 1],
      [4, 1],
    ]);
    expect(await other.ack(first as NonNullable<typeof first>)).toBe(true);
  });

  test('pause: the paused key stops claims in the scripts; the pausing handle gives its prefetch buffer back; an ack-pop still acks', async () => {
    const clock = new ManualClock();
    const q = queue({ clock, claimTTL: 60, prefetch: 8 });
    const other = queue({ type: q.type, clock, claimTTL: 60 });
    await q.push(Array.from({ length: 5 }, (_, n) => ({ type: q.type, params: { n } })));
    const first = await q.pop();
    expect(first?.params).toEqual({ n: 0 });
    expect(await client.zcard(q.keys.claimed)).toBe(5); // 1 handed out, 4 buffered
    await q.pause();
    expect(await client.exists(q.keys.paused)).toBe(1);
    // The buffer went back to the front, attempts restored: the other handle counts 4 ready.
    expect(await other.getSize()).toBe(4);
    expect(await client.zcard(q.keys.claimed)).toBe(1);
    expect(await q.pop()).toBeNull();
    expect(await other.popBatch(10)).toEqual([]);
    // The ack of the job claimed before the pause goes through the ack-pop script and is kept.
    expect(await q.ack(first as NonNullable<typeof first>)).toBe(true);
    expect(await other.getAcquiredCount()).toBe(0);
    await other.resume();
    expect(await client.exists(q.keys.paused)).toBe(0);
    const rest = await other.popBatch(10);
    expect(rest.map((j) => [j.params.n, j.attempts])).toEqual([
      [1, 1],
      [2, 1],
      [3, 1],
      [4, 1],
    ]);
  });

  test('pause: a due delayed job is not promoted while paused; resume wakes a waiter for it', async () => {
    const clock = new ManualClock();
    const q = queue({ clock });
    await q.push({ type: q.type, params: { n: 0 }, releaseTimestamp: clock.now() + 1_000 });
    await q.pause();
    clock.advance(2_000);
    expect(await q.pop()).toBeNull();
    expect(await client.zcard(q.keys.delayed)).toBe(1);
    const waiter = queue({ type: q.type, clock });
    const woke = waiter.waitForJobs({ timeout: 60_000 });
    await new Promise((r) => setTimeout(r, 100));
    await q.resume();
    expect(await woke).toBe(true);
    expect((await waiter.pop())?.params).toEqual({ n: 0 });
  });

  test('prefetch stops at a job with a dedup key: it stays ready and keeps refusing its duplicate', async () => {
    const q = queue({ prefetch: 8 });
    const dedup = { type: q.type, params: { d: 1 }, removeDuplicates: true };
    await q.push([{ type: q.type, params: { n: 0 } }, dedup, { type: q.type, params: { n: 2 } }]);
    expect((await q.pop())?.params).toEqual({ n: 0 });
    expect(await client.llen(q.keys.ready)).toBe(2);
    expect(await q.push(dedup)).toEqual({ inserted: 0, duplicates: 1 });
    expect((await q.pop())?.params).toEqual({ d: 1 });
    expect((await q.pop())?.params).toEqual({ n: 2 });
    expect(await q.pop()).toBeNull();
  });

  test('prefetch: a buffered job older than half of claimTTL is given back, then claimed afresh', async () => {
    const clock = new ManualClock();
    const q = queue({ clock, claimTTL: 10, prefetch: 4 });
    await q.push(Array.from({ length: 3 }, (_, n) => ({ type: q.type, params: { n } })));
    expect((await q.pop())?.params).toEqual({ n: 0 });
    clock.advance(6_000);
    const next = await q.pop();
    expect(next?.params).toEqual({ n: 1 });
    expect(next?.attempts).toBe(1);
    expect(next?.claimedAt).toBe(clock.now());
    expect(await q.ack(next as NonNullable<typeof next>)).toBe(true);
  });

  test('a host client is never closed by the queue; a queue that opened its own client closes it', async () => {
    const host = new Redis(url, { lazyConnect: true });
    const shared = queue({ client: host });
    await shared.push({ type: shared.type, params: {} });
    await shared.close();
    expect(host.status).toBe('ready');
    expect(await host.ping()).toBe('PONG');
    await host.quit();

    const owning = new RedisJobQueue({ type: 'owning', domain: 'integration', url, prefix });
    await owning.push({ type: owning.type, params: {} });
    expect(owning.client.status).toBe('ready');
    await owning.close();
    expect(owning.client.status).toBe('end');
  });

  test('config: a url connection is opened lazily and closed by the group; a client connection is not', async () => {
    const registry = createRegistry();
    const host = new Redis(url, { lazyConnect: true });
    const config = await resolveConfig(
      {
        connections: {
          cache: { class: 'redis', url, prefix },
          hosted: { class: 'redis', client: host, prefix },
        },
        jobTypeConf: {
          default: { class: 'redis', connection: 'cache' },
          viaHost: { class: 'redis', connection: 'hosted', compressAbove: 10 },
        },
      },
      { registry },
    );
    const farm = new JobQueueFarm(config);
    const group = farm.group('cfg');
    await group.push([
      { type: 'a', params: { n: 1 } },
      { type: 'viaHost', params: { n: 2, pad: 'x'.repeat(100) } },
    ]);
    expect([...farm.connections.opened].sort()).toEqual(['cache', 'hosted']);
    expect(await group.getQueueSizes()).toEqual({ a: 1, viaHost: 1 });
    const job = await group.pop('viaHost');
    expect(job?.params.n).toBe(2);
    expect(await client.hget(queueKeys(prefix, 'cfg', 'viaHost').data, job?.id as string)).toMatch(/\|z\|/);
    const cache = farm.connections.connection('cache').handle as RedisConnection;
    expect(cache.owned).toBe(true);
    await farm.close();
    expect(host.status).toBe('ready');
    expect(cache.client.status).toBe('end');
    await host.quit();
  });

  test('a wrong password fails with SWITCHYARD_CONNECTION_LOST naming the credentials, never the password', async () => {
    const port = await freePort();
    const server: ChildProcess = spawn(
      'redis-server',
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--requirepass',
        'right-pw',
        '--save',
        '',
        '--appendonly',
        'no',
      ],
      { stdio: 'ignore' },
    );
    try {
      await waitForServer(port, 'right-pw');
      const q = new RedisJobQueue({
        type: 't',
        url: `redis://:hunter2-secret@127.0.0.1:${port}`,
        connectTimeout: 5,
      });
      const start = Date.now();
      const err = await rejection(() => q.push({ type: 't', params: {} }));
      expect(err.code).toBe(ErrorCode.CONNECTION_LOST);
      expect(err.message).toMatch(/credentials/);
      expect(messages(err)).not.toContain('hunter2-secret');
      expect(err.message).toContain(`127.0.0.1:${port}`);
      expect(Date.now() - start).toBeLessThan(5_000);
      await q.close();
    } finally {
      server.kill('SIGTERM');
    }
  });

  test('timestamps come from the queue clock, never from Redis', async () => {
    const clock = new ManualClock(1_000_000);
    const q = queue({ clock, claimTTL: 60 });
    await q.push({ type: q.type, params: {} });
    clock.advance(5);
    const job = await q.pop();
    expect(job?.enqueuedAt).toBe(1_000_000);
    expect(job?.claimedAt).toBe(1_000_005);
    expect(await client.zscore(q.keys.claimed, job?.id as string)).toBe('1000005');
  });

  test('the backend module builds queues from settings and rejects url beside a connection', () => {
    const ctx = {
      queue: { type: 'x', domain: 'd', clock: new ManualClock(), metrics: new CountingMetrics() },
      connection: null,
      connectionName: null,
    };
    const q = redisBackend.createQueue({ ...ctx, settings: { client, prefix } });
    expect(q.storeKey).toContain(prefix);
    expect(() => redisBackend.createQueue({ ...ctx, settings: {} })).toThrow(
      expect.objectContaining({ code: ErrorCode.CONFIG_INVALID }),
    );
    const connection = redisBackend.openConnection?.({ client, prefix });
    expect(connection).toBeDefined();
    if (!connection) return;
    expect(() =>
      redisBackend.createQueue({ ...ctx, connection, connectionName: 'c', settings: { url } }),
    ).toThrow(expect.objectContaining({ code: ErrorCode.CONFIG_INVALID }));
  });
});
