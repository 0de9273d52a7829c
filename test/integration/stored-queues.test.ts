/**
 * `JobQueue.listStoredQueues()` (issue 14 point 6, what `show-jobs` uses to find types pushed but
 * not declared): every (domain, type) holding a job in any state, across domains, on the
 * backends that can enumerate their store (sql on SQLite and PostgreSQL, memory). A backend
 * that cannot answers null. Unique prefixes / stores: other suites share the servers.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { MemoryJobQueue, MemoryStore } from '../../src/backends/memory/index.js';
import { dropSchema, SqlDatabase, SqlJobQueue } from '../../src/backends/sql/index.js';
import type { JobQueue } from '../../src/core/job-queue.js';
import { describeIfService, services } from '../helpers/env.js';

type Make = (domain: string, type: string) => JobQueue;

/** Jobs in every state across two domains; then the listing, then a drained queue drops out. */
async function storedQueuesTest(make: Make): Promise<void> {
  const a = make('d1', 'ready');
  const b = make('d1', 'claimed');
  const c = make('d2', 'delayed');
  const d = make('d2', 'gone');
  const probe = make('d1', 'never-pushed');
  try {
    expect(await probe.listStoredQueues()).toEqual([]);
    await a.push({ type: 'ready', params: {} });
    await b.push({ type: 'claimed', params: {} });
    expect(await b.pop()).not.toBeNull();
    await c.push({ type: 'delayed', params: {}, releaseTimestamp: Date.now() + 3_600_000 });
    await d.push({ type: 'gone', params: {} });
    const job = await d.pop();
    expect(job).not.toBeNull();
    if (job) await d.ack(job);
    const listed = await probe.listStoredQueues();
    expect(listed).not.toBeNull();
    const key = (q: { domain: string; type: string }): string => `${q.domain}/${q.type}`;
    expect((listed ?? []).map(key).sort()).toEqual(['d1/claimed', 'd1/ready', 'd2/delayed']);
  } finally {
    for (const q of [a, b, c, d, probe]) await q.close();
  }
}

describe('listStoredQueues', () => {
  test('memory: every (domain, type) with a job in the store', async () => {
    const store = new MemoryStore();
    await storedQueuesTest((domain, type) => new MemoryJobQueue({ domain, type, store }));
  });

  test('sql on SQLite: every (domain, type) with a job in the tables', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'switchyard-stored-'));
    const database = SqlDatabase.open({ filename: join(dir, 'jobs.sqlite') });
    try {
      await storedQueuesTest((domain, type) => new SqlJobQueue({ domain, type, database }));
    } finally {
      await database.close();
    }
  });
});

describeIfService(services.postgres, 'listStoredQueues on PostgreSQL', (url) => {
  test('sql on PostgreSQL: every (domain, type) with a job under the prefix', async () => {
    const prefix = `sys_${randomUUID().replaceAll('-', '').slice(0, 8)}_`;
    const database = SqlDatabase.open({ connection: url, prefix, pool: { min: 0, max: 2 } });
    try {
      await storedQueuesTest((domain, type) => new SqlJobQueue({ domain, type, database, prefix }));
    } finally {
      await dropSchema(await database.knex(), { prefix });
      await database.close();
    }
  });
});

describeIfService(services.mysql, 'listStoredQueues on MySQL/MariaDB', (url) => {
  test('sql on MySQL/MariaDB: every (domain, type) with a job under the prefix', async () => {
    const prefix = `sys_${randomUUID().replaceAll('-', '').slice(0, 8)}_`;
    const database = SqlDatabase.open({ connection: url, prefix, pool: { min: 0, max: 2 } });
    try {
      await storedQueuesTest((domain, type) => new SqlJobQueue({ domain, type, database, prefix }));
    } finally {
      await dropSchema(await database.knex(), { prefix });
      await database.close();
    }
  });
});
