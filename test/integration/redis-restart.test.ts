/**
 * Restart test (issue 4): a Redis server of this test's own (a spare port, AOF with
 * `appendfsync always`) is killed and restarted in the middle of a worker loop. Every push that
 * was acknowledged before the kill survives; the client reconnects; while the server is down a
 * call either waits for the reconnection (up to connectTimeout) or fails with
 * `SWITCHYARD_CONNECTION_LOST`, never anything else, and the loop carries on: every job is
 * processed (at least once: a claim whose reply was lost comes back after claimTTL).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, expect, test } from 'vitest';
import { RedisJobQueue } from '../../src/backends/redis/index.js';
import { ManualClock } from '../../src/core/clock.js';
import { ErrorCode, isSwitchyardError } from '../../src/core/errors.js';
import { describeIfService, services } from '../helpers/env.js';
import { freePort } from '../helpers/net.js';

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

// The switch is the shared Redis's variable: this suite needs redis-server on the PATH, which
// every machine with the Redis service has.
describeIfService(services.redis, 'redis backend: server restart', () => {
  const dir = mkdtempSync(join(tmpdir(), 'swy-restart-'));
  let server: ChildProcess | null = null;

  afterAll(() => {
    server?.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  test('acknowledged pushes survive a restart (AOF); the client reconnects; the worker loop carries on', async () => {
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
    const clock = new ManualClock(Date.now());
    const q = new RedisJobQueue({
      type: 'work',
      domain: 'restart',
      url: `redis://127.0.0.1:${port}`,
      connectTimeout: 1,
      claimTTL: 60,
      clock,
      maintenanceInterval: null,
    });
    const total = 200;
    expect(await q.push(Array.from({ length: total }, (_, n) => ({ type: 'work', params: { n } })))).toEqual({
      inserted: total,
      duplicates: 0,
    });

    let reconnects = 0;
    q.client.on('ready', () => reconnects++);
    const done = new Set<number>();
    let outages = 0;
    let restarted = false;
    const retry = async <R>(fn: () => Promise<R>): Promise<R> => {
      for (;;) {
        try {
          return await fn();
        } catch (error) {
          if (!isSwitchyardError(error, ErrorCode.CONNECTION_LOST)) throw error;
          outages++;
          await sleep(50);
        }
      }
    };
    const restart = (async () => {
      while (done.size < 50) await sleep(5);
      server?.kill('SIGKILL');
      await sleep(300);
      await start();
      restarted = true;
    })();
    // The worker loop: pop, "work", ack; a lost connection is retried, never fatal.
    for (let idle = 0; done.size < total && idle < 200; ) {
      const job = await retry(() => q.pop());
      if (!job) {
        idle++;
        if (restarted) {
          // A claim whose reply was lost in the crash: it comes back after claimTTL.
          clock.advance(61_000);
          await retry(() => q.runMaintenance());
        }
        await sleep(10);
        continue;
      }
      await sleep(1);
      await retry(() => q.ack(job));
      done.add(job.params.n as number);
    }
    await restart;
    expect(restarted).toBe(true);
    expect(done.size).toBe(total);
    expect(reconnects, 'the client reconnected to the restarted server').toBeGreaterThanOrEqual(1);
    // Calls that hit the outage waited for the reconnection or failed with CONNECTION_LOST
    // (`retry` rethrows anything else); `outages` counts the latter, for the log.
    console.info(`restart test: ${outages} call(s) failed with CONNECTION_LOST and were retried`);
    expect(await q.getSize()).toBe(0);
    await q.close();
  }, 60_000);
});
