/**
 * Crash test (issue 4): a worker process killed with SIGKILL while it holds claims. Its jobs are
 * not lost: they stay claimed until claimTTL, then maintenance recycles them with their attempt
 * count kept, and a late ack from the dead worker's tokens could never settle them.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterAll, expect, test } from 'vitest';
import { RedisJobQueue } from '../../src/backends/redis/index.js';
import { ManualClock } from '../../src/core/clock.js';
import { describeIfService, services } from '../helpers/env.js';

const prefix = `swytest-crash-${process.pid}-${Date.now().toString(36)}`;
const repo = fileURLToPath(new URL('../../', import.meta.url));

/** The worker: claims two jobs, prints their ids and claim tokens, then "works" forever. */
function workerSource(url: string): string {
  const module = JSON.stringify(join(repo, 'src/backends/redis/index.ts'));
  return `
import { RedisJobQueue } from ${module};
const q = new RedisJobQueue({ type: 'work', domain: 'crash', url: ${JSON.stringify(url)}, prefix: ${JSON.stringify(prefix)}, claimTTL: 30 });
const jobs = await q.popBatch(2);
process.stdout.write(JSON.stringify(jobs.map((j) => ({ id: j.id, type: j.type, claimToken: j.claimToken }))) + '\\n');
setInterval(() => {}, 1000);
`;
}

/** The first line the child writes to stdout. */
function firstLine(child: ReturnType<typeof spawn>): Promise<string> {
  return new Promise((resolve, reject) => {
    let buffer = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      buffer += chunk.toString('utf8');
      const nl = buffer.indexOf('\n');
      if (nl >= 0) resolve(buffer.slice(0, nl));
    });
    child.once('exit', (code) => reject(new Error(`worker exited (${code}) before claiming: ${buffer}`)));
  });
}

describeIfService(services.redis, 'redis backend: crash', (url) => {
  const dir = mkdtempSync(join(tmpdir(), 'swy-crash-'));

  afterAll(async () => {
    rmSync(dir, { recursive: true, force: true });
    const client = new Redis(url);
    const keys = await client.keys(`${prefix}:*`);
    if (keys.length > 0) await client.del(...keys);
    await client.quit();
  });

  test('a worker killed with SIGKILL mid-job: its jobs come back after claimTTL', async () => {
    const clock = new ManualClock(Date.now());
    const q = new RedisJobQueue({
      type: 'work',
      domain: 'crash',
      url,
      prefix,
      claimTTL: 30,
      clock,
      maintenanceInterval: null,
    });
    await q.push([
      { type: 'work', params: { n: 1 } },
      { type: 'work', params: { n: 2 } },
      { type: 'work', params: { n: 3 } },
    ]);
    const file = join(dir, 'worker.mts');
    writeFileSync(file, workerSource(url));
    const child = spawn(process.execPath, ['--import', 'tsx', file], {
      cwd: repo,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const claims = JSON.parse(await firstLine(child)) as { id: string; type: string; claimToken: string }[];
    expect(claims).toHaveLength(2);
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;

    expect(await q.getAcquiredCount()).toBe(2);
    expect(await q.getSize()).toBe(1);
    clock.advance(25_000);
    expect((await q.runMaintenance()).recycled).toBe(0);
    clock.advance(10_000);
    expect((await q.runMaintenance()).recycled).toBe(2);
    const again = await q.popBatch(3);
    const recycled = again.filter((j) => claims.some((c) => c.id === j.id));
    expect(recycled).toHaveLength(2);
    for (const job of recycled) expect(job.attempts).toBe(2);
    for (const stale of claims) expect(await q.ack(stale)).toBe(false);
    expect(await q.ackBatch(again)).toEqual([true, true, true]);
    await q.close();
  }, 60_000);
});
