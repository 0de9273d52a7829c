/**
 * Failover of the federated backend: two Redis partitions, one of them on a redis-server this
 * test owns (a spare port, AOF with `appendfsync always`), which is killed in the middle of a
 * push of 10,000 jobs and started again. Every push either lands on a live partition or fails
 * with SWITCHYARD_BACKEND_UNAVAILABLE; once the partition is back, every stored job is poppable,
 * none lost, none duplicated.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, expect, test } from 'vitest';
import { FederatedJobQueue } from '../../src/backends/federated/index.js';
import { RedisJobQueue } from '../../src/backends/redis/index.js';
import { ErrorCode, isSwitchyardError } from '../../src/core/errors.js';
import { describeIfService, services } from '../helpers/env.js';
import { freePort } from '../helpers/net.js';
import { deleteKeysMatching } from '../helpers/redis.js';

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function waitForServer(port: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const probe = new Redis({ port, lazyConnect: true, retryStrategy: () => null });
    probe.on('error', () => {});
    try {
      await probe.connect();
      await probe.quit();
      return;
    } catch {
      probe.disconnect();
      await sleep(100);
    }
  }
  throw new Error(`redis-server on port ${port} did not start`);
}

// The switch is the shared Redis's variable: the live partition uses that server, and the test
// needs redis-server on the PATH for the partition it stops.
describeIfService(services.redis, 'federated backend: a partition fails during a push', (url) => {
  const dir = mkdtempSync(join(tmpdir(), 'swy-fed-failover-'));
  const prefix = `swytest-fedfail-${process.pid}-${Date.now().toString(36)}`;
  let server: ChildProcess | null = null;
  const queues: FederatedJobQueue[] = [];

  afterAll(async () => {
    for (const q of queues) await q.close().catch(() => {});
    const c = new Redis(url);
    await deleteKeysMatching(c, `${prefix}:*`);
    await c.quit();
    server?.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  test('10,000 jobs: each push lands or fails with BACKEND_UNAVAILABLE; after the return none is lost or duplicated', async () => {
    const port = await freePort();
    const start = async (): Promise<void> => {
      server = spawn(
        'redis-server',
        ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', ''].concat([
          '--appendonly',
          'yes',
          '--appendfsync',
          'always',
        ]),
        { stdio: 'ignore' },
      );
      await waitForServer(port);
    };
    await start();
    const open = (): FederatedJobQueue => {
      const q = new FederatedJobQueue({
        type: 'work',
        domain: 'failover',
        claimTTL: 600,
        maintenanceInterval: null,
        partitions: [
          {
            name: 'live',
            weight: 1,
            create: (o) => new RedisJobQueue({ ...o, url, prefix, connectTimeout: 1 }),
          },
          {
            name: 'flaky',
            weight: 1,
            create: (o) =>
              new RedisJobQueue({ ...o, url: `redis://127.0.0.1:${port}`, prefix, connectTimeout: 1 }),
          },
        ],
      });
      queues.push(q);
      return q;
    };
    const q = open();

    const total = 10_000;
    const batch = 50;
    const stored = new Set<number>();
    const unsure = new Set<number>();
    let unavailable = 0;
    let sawEjection = false;
    let pushes = 0;
    const outage = (async () => {
      while (pushes < 40) await sleep(2);
      // A crash, not a graceful SIGTERM: on shutdown Redis runs the commands it has read, syncs the
      // AOF and exits without sending their replies, so a push would be stored yet reported failed
      // (and retried elsewhere). After a kill that can only happen to a command killed between its
      // AOF fsync and its reply, a window of microseconds.
      server?.kill('SIGKILL');
      await new Promise((resolve) => server?.once('exit', resolve));
      await sleep(1500);
      await start();
    })();
    for (let first = 0; first < total; first += batch) {
      const ns = Array.from({ length: Math.min(batch, total - first) }, (_, i) => first + i);
      try {
        const r = await q.push(ns.map((n) => ({ type: 'work', params: { n } })));
        expect(r).toEqual({ inserted: ns.length, duplicates: 0 });
        for (const n of ns) stored.add(n);
      } catch (error) {
        if (!isSwitchyardError(error, ErrorCode.BACKEND_UNAVAILABLE)) throw error;
        unavailable++;
        for (const n of ns) unsure.add(n);
      }
      if (q.ejectedPartitions.includes('flaky')) sawEjection = true;
      pushes++;
      // Pace the pushes so the outage falls in the middle of the run.
      if (pushes % 10 === 0) await sleep(5);
    }
    await outage;
    expect(sawEjection).toBe(true);

    // The partition is back: a fresh handle (no ejections) drains both partitions.
    const drain = open();
    const seen = new Map<number, number>();
    const ids = new Set<string>();
    for (let jobs = await drain.popBatch(500); jobs.length > 0; jobs = await drain.popBatch(500)) {
      for (const job of jobs) {
        expect(ids.has(job.id)).toBe(false);
        ids.add(job.id);
        const n = job.params.n as number;
        seen.set(n, (seen.get(n) ?? 0) + 1);
      }
      await drain.ackBatch(jobs);
    }
    const duplicated = [...seen].filter(([, c]) => c > 1).map(([n]) => n);
    const lost = [...stored].filter((n) => !seen.has(n));
    const unexpected = [...seen.keys()].filter((n) => !stored.has(n) && !unsure.has(n));
    expect({ duplicated, lost, unexpected }).toEqual({ duplicated: [], lost: [], unexpected: [] });
    expect(stored.size + unavailable * batch).toBeGreaterThanOrEqual(total);
    expect(stored.size).toBeGreaterThan(total / 2);
  }, 120_000);
});
