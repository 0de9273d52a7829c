/**
 * The settle's lock, shown by a fixed interleaving (PostgreSQL and MariaDB). A join `j` waits on
 * `a` and `b`; `a` and `b` are acked through two queues on two knex pools. A pass-through wrapper
 * around each knex holds that queue's settle transaction at two points: right after it deleted
 * its dependency's links (before the "no link left → queued" UPDATE), and before its commit.
 * The schedule (each step runs until the transaction holds, waits on a row lock, or is done):
 * A to its first hold; B to its first hold; A to its second hold; B to the end; then A commits.
 * Without the dependents' `FOR UPDATE`, A's and B's UPDATEs both run while the other's deletion is
 * uncommitted, each sees the other's link, and `j` is left waiting for good (the test fails with
 * the waiting count 1). With it, B waits on `j`'s row from its lock statement until A commits, then
 * sees A's deletion and queues `j`. The two holds are needed: with only the first, A's UPDATE
 * misses B's deletion but B's runs after A's commit and releases `j`, which is also why a random
 * race (sql-flows.test.ts, 40 joins) rarely if ever hits the gap.
 *
 * Not on SQLite: it has one writer, so B cannot get between A's statements. Tried: with A held
 * after its DELETE, B's ack statement (its first write) waits on the write lock inside
 * better-sqlite3's synchronous busy handler, which blocks the event loop that would let A go, and
 * fails after the 5 s busy timeout with SQLITE_BUSY ("database is locked"). The settle takes no
 * row lock there either (SQLite has no `FOR UPDATE`).
 */
import { randomUUID } from 'node:crypto';
import { afterAll, expect, test } from 'vitest';
import {
  type Binding,
  createKnex,
  dropSchema,
  type KnexLike,
  type KnexRawLike,
  type KnexTransactionLike,
  SqlJobQueue,
} from '../../src/backends/sql/index.js';
import { tablesFor } from '../../src/backends/sql/queries.js';
import type { FlowJobSpecification } from '../../src/core/flow.js';
import type { Job } from '../../src/core/job.js';
import { describeIfService, services } from '../helpers/env.js';

type ServerClient = 'pg' | 'mysql2';

const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const fn of cleanups.reverse()) await fn();
});

function rowsOf(result: unknown): Record<string, unknown>[] {
  if (Array.isArray(result))
    return (Array.isArray(result[0]) ? result[0] : result) as Record<string, unknown>[];
  return ((result as { rows?: Record<string, unknown>[] }).rows ?? []) as Record<string, unknown>[];
}

async function scalar(db: KnexRawLike, sql: string, bindings: readonly Binding[] = []): Promise<unknown> {
  const row = rowsOf(await db.raw(sql, bindings))[0];
  return row === undefined ? undefined : Object.values(row)[0];
}

const step = (name: string, after: string[] = []): FlowJobSpecification => ({
  type: 'flow',
  params: { step: name },
  name,
  after,
});

const HOLDS = ['after delete', 'before commit'] as const;
type Hold = (typeof HOLDS)[number];

/**
 * A knex that runs every statement unchanged, except that once armed, the next settle
 * transaction (the one that reads `SELECT dependent_id FROM <deps>`) holds after its
 * `DELETE FROM <deps> WHERE dependency_id …` (before its next statement) and again before its
 * commit, each until {@link Gate.release}. From arm() on, each settle notes its server connection.
 */
interface Gate {
  readonly knex: KnexLike;
  arm(): void;
  release(hold: Hold): void;
  /** Where the held settle is stopped now, if it is. */
  readonly at: Hold | null;
  /** The latest settle's server connection (PostgreSQL backend pid, MariaDB connection id). */
  readonly connection: number | null;
  /** Settle transactions started since arm() (more than one: a conflict was retried). */
  readonly settles: number;
}

function gate(real: KnexLike, client: ServerClient, deps: string): Gate {
  let armed = false;
  let watching = false;
  let at: Hold | null = null;
  let settles = 0;
  let connection: number | null = null;
  const opens = new Map<Hold, () => void>();
  const released = new Map<Hold, Promise<void>>();
  for (const hold of HOLDS) released.set(hold, new Promise<void>((resolve) => opens.set(hold, resolve)));
  const holdAt = async (hold: Hold): Promise<void> => {
    at = hold;
    await released.get(hold);
    at = null;
  };
  const idQuery = client === 'pg' ? 'SELECT pg_backend_pid() AS id' : 'SELECT CONNECTION_ID() AS id';
  const wrap = (trx: KnexTransactionLike, mine: { held: boolean }): KnexTransactionLike => ({
    client: trx.client,
    raw: async (sql: string, bindings: readonly Binding[]) => {
      if (watching && sql.startsWith(`SELECT dependent_id FROM ${deps} `)) {
        settles++;
        connection = Number(await scalar(trx, idQuery));
      }
      const result = await trx.raw(sql, bindings);
      if (armed && sql.startsWith(`DELETE FROM ${deps} WHERE dependency_id IN`)) {
        armed = false; // one held settle: a retried one runs through
        mine.held = true;
        await holdAt('after delete');
      }
      return result;
    },
  });
  const knex: KnexLike = {
    client: real.client,
    raw: (sql, bindings) => real.raw(sql, bindings),
    transaction: (fn, config) =>
      real.transaction(async (trx) => {
        const mine = { held: false };
        const result = await fn(wrap(trx, mine));
        if (mine.held) await holdAt('before commit');
        return result;
      }, config),
    destroy: () => real.destroy(),
  };
  return {
    knex,
    arm: () => {
      armed = true;
      watching = true;
    },
    release: (hold) => opens.get(hold)?.(),
    get at() {
      return at;
    },
    get connection() {
      return connection;
    },
    get settles() {
      return settles;
    },
  };
}

/** True while the server connection `id` waits for a row lock. */
async function waitingOnLock(observer: KnexLike, client: ServerClient, id: number): Promise<boolean> {
  if (client === 'pg')
    return (
      (await scalar(observer, 'SELECT wait_event_type FROM pg_stat_activity WHERE pid = ?', [id])) === 'Lock'
    );
  const state = await scalar(
    observer,
    'SELECT trx_state FROM information_schema.INNODB_TRX WHERE trx_mysql_thread_id = ?',
    [id],
  );
  return state === 'LOCK WAIT';
}

/** Polls until one of `states` holds; returns its name (throws after 10 s). */
async function first(
  what: string,
  states: Record<string, () => Promise<boolean> | boolean>,
): Promise<string> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    for (const [name, holds] of Object.entries(states)) if (await holds()) return name;
    if (Date.now() > deadline)
      throw new Error(`${what}: none of ${Object.keys(states).join(', ')} within 10 s`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

function interleaveTests(label: string, client: ServerClient, url: string): void {
  const knexConfig = { client, connection: url, pool: { min: 0, max: 4 } };

  test(`${label}: two settles of one join, each held between deleting its links and the release check, release it once`, async () => {
    const prefix = `syi_${randomUUID().replaceAll('-', '').slice(0, 8)}_`;
    const t = tablesFor(prefix);
    const realOne = await createKnex(client, knexConfig);
    const realTwo = await createKnex(client, knexConfig);
    cleanups.push(async () => {
      await dropSchema(realOne, { prefix });
      await realOne.destroy();
      await realTwo.destroy();
    });
    const one = gate(realOne, client, t.deps);
    const two = gate(realTwo, client, t.deps);
    const qa = new SqlJobQueue({
      type: 'flow',
      knex: one.knex,
      prefix,
      claimTTL: 60,
      maintenanceInterval: null,
    });
    const qb = new SqlJobQueue({
      type: 'flow',
      knex: two.knex,
      prefix,
      claimTTL: 60,
      maintenanceInterval: null,
    });
    cleanups.push(async () => {
      await qa.close();
      await qb.close();
    });
    await qa.pushFlow([step('a'), step('b'), step('j', ['a', 'b'])]);
    const roots = await qa.popBatch(2);
    const a = roots.find((job) => job.params.step === 'a') as Job;
    const b = roots.find((job) => job.params.step === 'b') as Job;
    expect([a, b].every((job) => job !== undefined)).toBe(true);

    const schedule: string[] = [];
    const settled = (p: Promise<boolean>): (() => boolean) => {
      let done = false;
      void p.then(
        () => {
          done = true;
        },
        () => {
          done = true;
        },
      );
      return () => done;
    };
    const lockWait = (g: Gate) => () => g.connection !== null && waitingOnLock(realOne, client, g.connection);

    // A deletes its link, B deletes its link, A checks for links left, B checks and commits, A
    // commits: without a lock each check runs while the other's deletion is uncommitted.
    let ackA: Promise<boolean> | null = null;
    let ackB: Promise<boolean> | null = null;
    try {
      one.arm();
      ackA = qa.ack(a);
      const aDone = settled(ackA);
      schedule.push(
        `A: ${await first('settle A', { 'held after delete': () => one.at === 'after delete', done: aDone })}`,
      );
      // The wrapper holds A (else the schedule below would not be the one described).
      expect(schedule[0]).toBe('A: held after delete');
      two.arm();
      ackB = qb.ack(b);
      const bDone = settled(ackB);
      schedule.push(
        `B: ${await first('settle B', { 'held after delete': () => two.at === 'after delete', 'waits on a lock': lockWait(two), done: bDone })}`,
      );
      one.release('after delete');
      schedule.push(
        `A let go: ${await first('settle A', { 'held before commit': () => one.at === 'before commit', 'waits on a lock': lockWait(one), done: aDone })}`,
      );
      two.release('after delete');
      two.release('before commit');
      schedule.push(
        `B let go: ${await first('settle B', { done: bDone, 'waits on a lock': lockWait(two) })}`,
      );
    } finally {
      for (const g of [one, two]) for (const hold of HOLDS) g.release(hold);
    }
    expect(await ackA).toBe(true);
    expect(await ackB).toBe(true);
    schedule.push(`settle transactions: A ${one.settles}, B ${two.settles}`);
    const trace = schedule.join('; ');

    expect(Number(await scalar(realOne, `SELECT COUNT(*) AS n FROM ${t.deps}`)), trace).toBe(0);
    expect(await qa.getWaitingCount(), trace).toBe(0);
    const j = await qa.pop();
    expect(j?.params.step, trace).toBe('j');
    expect(await qa.pop(), trace).toBeNull();
    await qa.ack(j as Job);
  });
}

describeIfService(services.postgres, 'sql flow settle interleaving on PostgreSQL', (url) =>
  interleaveTests('postgres', 'pg', url),
);
describeIfService(services.mysql, 'sql flow settle interleaving on MySQL/MariaDB', (url) =>
  interleaveTests('mysql', 'mysql2', url),
);
