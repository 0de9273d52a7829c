/**
 * SQL job dependencies beyond the conformance group, on every dialect: a flow survives closing
 * every connection (it is rows), two dependencies of one join acked at once from two handles
 * release it exactly once (the settle locks the dependent first), a settle lost to a crash
 * between an ack and its second transaction is redone by maintenance, and no link row is left
 * once a flow settled.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { dropSchema, type SqlClient, SqlDatabase, SqlJobQueue } from '../../src/backends/sql/index.js';
import type { FlowJobSpecification } from '../../src/core/flow.js';
import type { Job } from '../../src/core/job.js';
import { describeIfService, services } from '../helpers/env.js';

const dir = mkdtempSync(join(tmpdir(), 'switchyard-sql-flows-'));
const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const fn of cleanups.reverse()) await fn();
  rmSync(dir, { recursive: true, force: true });
});

type Open = (prefix: string) => SqlDatabase;

function rowsOf(result: unknown): Record<string, unknown>[] {
  if (Array.isArray(result))
    return (Array.isArray(result[0]) ? result[0] : result) as Record<string, unknown>[];
  return ((result as { rows?: Record<string, unknown>[] }).rows ?? []) as Record<string, unknown>[];
}

const step = (name: string, after: string[] = [], extra: object = {}): FlowJobSpecification => ({
  type: 'flow',
  params: { step: name },
  name,
  after,
  ...extra,
});

function flowTests(label: string, open: Open): void {
  const fresh = (): { prefix: string; db: SqlDatabase } => {
    const prefix = `syf_${randomUUID().replaceAll('-', '').slice(0, 8)}_`;
    const db = open(prefix);
    cleanups.push(async () => {
      const cleanup = open(prefix);
      await dropSchema(await cleanup.knex(), { prefix });
      await cleanup.close();
      await db.close();
    });
    return { prefix, db };
  };
  const links = async (db: SqlDatabase, prefix: string): Promise<number> =>
    Number(rowsOf(await (await db.knex()).raw(`SELECT COUNT(*) AS n FROM ${prefix}job_deps`, []))[0]?.n);

  test(`${label}: a flow survives closing every connection`, async () => {
    const { prefix, db } = fresh();
    const a = new SqlJobQueue({ type: 'flow', database: db, claimTTL: 60 });
    await a.pushFlow([step('x'), step('y', ['x']), step('z', ['y'])]);
    const x = (await a.pop()) as Job;
    await a.close();
    await db.close();

    const again = open(prefix);
    cleanups.push(() => again.close());
    const b = new SqlJobQueue({ type: 'flow', database: again, claimTTL: 60 });
    expect(await b.getWaitingCount()).toBe(2);
    expect(await b.ack(x)).toBe(true);
    const y = (await b.pop()) as Job;
    expect(y.params.step).toBe('y');
    await b.ack(y);
    const z = (await b.pop()) as Job;
    expect(z.params.step).toBe('z');
    await b.ack(z);
    expect(await links(again, prefix)).toBe(0);
    await b.close();
  });

  test(`${label}: two dependencies of each join acked at once from two handles release it exactly once`, async () => {
    const { prefix, db } = fresh();
    const one = new SqlJobQueue({ type: 'flow', database: db, claimTTL: 60 });
    // A second database object: its own connection pool, so the two settles really overlap.
    const other = open(prefix);
    cleanups.push(() => other.close());
    const two = new SqlJobQueue({ type: 'flow', database: other, claimTTL: 60 });
    const flows = 40;
    for (let f = 0; f < flows; f++) {
      await one.pushFlow([step(`${f}.a`), step(`${f}.b`), step(`${f}.join`, [`${f}.a`, `${f}.b`])]);
    }
    const roots = await one.popBatch(2 * flows);
    expect(roots).toHaveLength(2 * flows);
    const a = roots.filter((j) => String(j.params.step).endsWith('.a'));
    const b = roots.filter((j) => String(j.params.step).endsWith('.b'));
    // Each join's two dependencies are acked at the same moment, one through each handle.
    await Promise.all(a.map((job, i) => Promise.all([one.ack(job), two.ack(b[i] as Job)])));
    const joins = await one.popBatch(2 * flows);
    expect(joins.map((j) => String(j.params.step)).sort()).toEqual(
      Array.from({ length: flows }, (_, f) => `${f}.join`).sort(),
    );
    expect(await one.getWaitingCount()).toBe(0);
    expect(await links(db, prefix)).toBe(0);
    await one.close();
    await two.close();
  });

  test(`${label}: a settle lost between an ack and its transaction is redone by maintenance`, async () => {
    const { prefix, db } = fresh();
    const q = new SqlJobQueue({ type: 'flow', database: db, claimTTL: 60, maintenanceInterval: null });
    const { ids } = await q.pushFlow([step('a'), step('b', ['a'])]);
    await q.pop();
    // What a crash right after the ack statement leaves: the dependency's row gone, its link kept.
    await (await db.knex()).raw(`DELETE FROM ${prefix}jobs WHERE id = ?`, [Number(ids.a)]);
    expect(await q.pop()).toBeNull();
    await q.runMaintenance();
    const b = (await q.pop()) as Job;
    expect(b.params.step).toBe('b');
    expect(await links(db, prefix)).toBe(0);
    await q.close();
  });
}

flowTests('sqlite', (prefix) => SqlDatabase.open({ filename: join(dir, 'flows.sqlite'), prefix }));

const server =
  (client: SqlClient, url: string): Open =>
  (prefix) =>
    SqlDatabase.open({ client, connection: url, prefix });
describeIfService(services.postgres, 'sql flows on PostgreSQL', (url) =>
  flowTests('postgres', server('pg', url)),
);
describeIfService(services.mysql, 'sql flows on MySQL/MariaDB', (url) =>
  flowTests('mysql', server('mysql2', url)),
);
