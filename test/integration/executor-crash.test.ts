/**
 * kill -9 of an executor process mid-batch, then a restart (issue 7): every job runs at least
 * once, and the messages replayed from the last committed offset that had already finished are
 * deduplicated by event id instead of running again.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { Kafka, logLevel } from 'kafkajs';
import { expect, test } from 'vitest';
import { EventBusJobQueue } from '../../src/backends/eventbus/index.js';
import { describeIfService, services } from '../helpers/env.js';

process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1';

const SECRET = 'crash-secret-0123456789abcdef';
const REDIS = process.env.SWITCHYARD_REDIS_URL || 'redis://127.0.0.1:6379';
const run = `${process.pid}${Date.now().toString(36)}`;
const child = fileURLToPath(new URL('./fixtures/executor-child.ts', import.meta.url));
const repo = fileURLToPath(new URL('../../', import.meta.url));

function startChild(env: Record<string, string>): Promise<ChildProcess> {
  const proc = spawn(process.execPath, ['--import', 'tsx', child], {
    cwd: repo,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('executor child did not get ready')), 30_000);
    proc.stdout?.on('data', (d: Buffer) => {
      if (d.toString().includes('ready')) {
        clearTimeout(timer);
        resolve(proc);
      }
    });
    proc.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`executor child exited early (${code})`));
    });
  });
}

describeIfService(services.kafka, 'executor crash (kill -9) and restart', (brokers) => {
  test('every job runs at least once; finished-but-uncommitted replays are deduplicated by id', async () => {
    const kafka = new Kafka({
      clientId: `swytest-crash-${run}`,
      brokers: brokers.split(','),
      logLevel: logLevel.NOTHING,
    });
    const admin = kafka.admin();
    await admin.connect();
    const redis = new Redis(REDIS);
    const type = `crash_${run}`;
    const topic = `mediawiki.job.${type}`;
    const prefix = `swytest:crash:${run}:`;
    const env = {
      CHILD_BROKERS: brokers,
      CHILD_SECRET: SECRET,
      CHILD_SERVICE: `svc_${run}`,
      CHILD_REDIS: REDIS,
      CHILD_PREFIX: prefix,
      CHILD_TOPIC: topic,
      CHILD_TYPE: type,
    };
    const list = `${prefix}runs`;
    const N = 2000;
    let proc: ChildProcess | null = null;
    try {
      await admin.createTopics({ topics: [{ topic, numPartitions: 2 }], waitForLeaders: true });
      const q = new EventBusJobQueue({ type, domain: 'w', secret: SECRET, brokers });
      for (let k = 0; k < N; k += 500) {
        await q.push(Array.from({ length: 500 }, (_, j) => ({ type, params: { i: k + j } })));
      }
      await q.close();
      proc = await startChild(env);
      // Let it run part of the backlog, then kill -9 mid-batch.
      const until = Date.now() + 30_000;
      while ((await redis.llen(list)) < N / 4 && Date.now() < until)
        await new Promise((r) => setTimeout(r, 20));
      proc.kill('SIGKILL');
      await new Promise((r) => proc?.once('exit', r));
      const beforeKill = await redis.lrange(list, 0, -1);
      expect(beforeKill.length).toBeGreaterThan(0);
      expect(beforeKill.length).toBeLessThan(N);
      const [committed] = await admin.fetchOffsets({ groupId: `svc_${run}-r`, topics: [topic] });
      const committedTotal = (committed?.partitions ?? []).reduce(
        (n, p) => n + Math.max(0, Number(p.offset)),
        0,
      );
      // Commits lag (3 s interval): finished messages beyond the commit will be replayed.
      expect(committedTotal).toBeLessThan(beforeKill.length);

      proc = await startChild(env);
      const deadline = Date.now() + 60_000;
      let runs: string[] = [];
      while (Date.now() < deadline) {
        runs = await redis.lrange(list, 0, -1);
        if (new Set(runs).size >= N) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      await new Promise((r) => setTimeout(r, 500));
      runs = await redis.lrange(list, 0, -1);
      const counts = new Map<string, number>();
      for (const r of runs) counts.set(r, (counts.get(r) ?? 0) + 1);
      // At least once:
      for (let i = 0; i < N; i++) expect(counts.get(String(i)) ?? 0, `job ${i}`).toBeGreaterThanOrEqual(1);
      // Replays deduplicated: only jobs in flight at the kill (≤ concurrency 8 of them) may run twice.
      const twice = [...counts.values()].filter((c) => c > 1).length;
      expect(twice).toBeLessThanOrEqual(8);
      // ... while many finished-but-uncommitted messages were replayed and skipped by id.
      const replayed = beforeKill.length - committedTotal;
      expect(replayed).toBeGreaterThan(twice);
    } finally {
      if (proc && proc.exitCode === null) {
        proc.kill('SIGTERM');
        await new Promise((r) => setTimeout(r, 2500));
        if (proc.exitCode === null) proc.kill('SIGKILL');
      }
      await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
      await admin.disconnect();
      const keys = await redis.keys(`${prefix}*`);
      if (keys.length > 0) await redis.del(...keys);
      redis.disconnect();
    }
  }, 120_000);
});
