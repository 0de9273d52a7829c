/**
 * Job dependencies on SQL (`pushFlow`, migration 6). A flow is inserted in one transaction: its
 * jobs (a waiting one with `state = 3`) and one `${prefix}job_deps` row per link. A job is ready
 * once no link row names it as the dependent. Settling a dependency deletes its link rows in one
 * transaction that first locks the dependents' rows in id order (`FOR UPDATE`; SQLite has one
 * writer), so two dependencies of one job settling at once serialize and the second one sees the
 * first one's deletion: a join is released exactly once, never left waiting.
 *
 * Where links settle: right after an ack (a second transaction; the ack statement returns the
 * "has dependents" flag, so a queue without flows pays nothing), inside a cancel's transaction,
 * after a release that abandons, and in maintenance, which also sweeps the links a crash between
 * an ack and its settle left behind (a dependency row that no longer exists was acked: cancel and
 * abandon settle atomically or leave the row) and the links of dependencies maintenance itself
 * abandoned.
 *
 * @packageDocumentation
 */
import type { FlowNode } from '../../core/flow.js';
import type { StrategyContext } from './dialects/dialect.js';
import { groupKeysOf, registerGroups } from './groups.js';
import type { KnexLike, KnexRawLike } from './knex-like.js';
import * as Q from './queries.js';

/** Link rows per INSERT, and ids per `IN (…)`. */
const CHUNK = 500;

type Id = string | number;

/** `fn` in a transaction, READ COMMITTED on MySQL (as its claim and ack): locks, then fresh reads. */
function flowTransaction<R>(
  cx: StrategyContext,
  knex: KnexLike,
  fn: (trx: KnexRawLike) => Promise<R>,
): Promise<R> {
  return cx.dialect.name === 'mysql'
    ? knex.transaction(fn, { isolationLevel: 'read committed' })
    : knex.transaction(fn);
}

/** The `flags` of a flow job's row. */
export function flowFlags(base: number, node: FlowNode, hasDependents: boolean): number {
  let flags = base;
  if (hasDependents) flags |= Q.Flags.HAS_DEPENDENTS;
  if (node.onDependencyFailure === 'ignore') flags |= Q.Flags.IGNORE_FAILED_DEPENDENCY;
  return flags;
}

/**
 * Inserts the flow's rows (`rows[i]` for `nodes[i]`, in dependency order) and links in one
 * transaction; returns the ids.
 */
export function insertFlow(
  cx: StrategyContext,
  nodes: readonly FlowNode[],
  rows: readonly Q.InsertRow[],
): Promise<string[]> {
  const { dialect: d, t, q } = cx;
  return cx.run('pushFlow', (knex) =>
    flowTransaction(cx, knex, async (trx) => {
      const groups = groupKeysOf(rows);
      if (groups.length > 0) await registerGroups(cx, trx, groups);
      const ids: Id[] = [];
      for (const row of rows) {
        const insert = Q.insertJobs(d, t, [row]);
        if (d.returning) {
          const [r] = await cx.rows(trx, { sql: `${insert.sql} RETURNING id`, bindings: insert.bindings });
          ids.push(r?.id as Id);
        } else {
          await trx.raw(insert.sql, insert.bindings);
          const [r] = await cx.rows(trx, { sql: 'SELECT LAST_INSERT_ID() AS id', bindings: [] });
          ids.push(r?.id as Id);
        }
      }
      const waiting = ids.filter((_, i) => (nodes[i]?.after.length ?? 0) > 0);
      for (let i = 0; i < waiting.length; i += CHUNK) {
        const part = waiting.slice(i, i + CHUNK);
        await trx.raw(
          `UPDATE ${t.jobs} SET state = ${Q.State.WAITING} WHERE id IN (${Q.placeholders(part.length)})`,
          part,
        );
      }
      const links: Id[][] = [];
      nodes.forEach((node, i) => {
        for (const dep of node.after) links.push([ids[dep] as Id, ids[i] as Id]);
      });
      for (let i = 0; i < links.length; i += CHUNK) {
        const part = links.slice(i, i + CHUNK);
        await trx.raw(
          `INSERT INTO ${t.deps} (domain, type, dependency_id, dependent_id) VALUES ${part.map(() => '(?, ?, ?, ?)').join(', ')}`,
          part.flatMap(([dependency, dependent]) => [q.domain, q.type, dependency as Id, dependent as Id]),
        );
      }
      return ids.map(String);
    }),
  );
}

/**
 * Settles the links of `done` (jobs that left for good: acked when `ok`, else abandoned or
 * cancelled) inside `trx`; returns how many waiting jobs became queued (ready, or delayed when
 * their release time is ahead).
 */
export async function settleLinks(
  cx: StrategyContext,
  trx: KnexRawLike,
  done: readonly Id[],
  ok: boolean,
  now: number,
): Promise<number> {
  const { t } = cx;
  const lock = cx.dialect.name === 'sqlite' ? '' : ' FOR UPDATE';
  let frontier = [...done];
  let succeeded = ok;
  let queued = 0;
  while (frontier.length > 0) {
    const dependents = new Set<Id>();
    for (let i = 0; i < frontier.length; i += CHUNK) {
      const part = frontier.slice(i, i + CHUNK);
      const rows = await cx.rows(trx, {
        sql: `SELECT dependent_id FROM ${t.deps} WHERE dependency_id IN (${Q.placeholders(part.length)})`,
        bindings: part,
      });
      for (const r of rows) dependents.add(r.dependent_id as Id);
    }
    if (dependents.size === 0) return queued;
    const waiting = [...dependents];
    // Lock order: the dependents by id, before their links change.
    await cx.rows(trx, {
      sql: `SELECT id FROM ${t.jobs} WHERE id IN (${Q.placeholders(waiting.length)}) ORDER BY id${lock}`,
      bindings: waiting,
    });
    for (let i = 0; i < frontier.length; i += CHUNK) {
      const part = frontier.slice(i, i + CHUNK);
      await trx.raw(`DELETE FROM ${t.deps} WHERE dependency_id IN (${Q.placeholders(part.length)})`, part);
    }
    let abandoned: Id[] = [];
    if (!succeeded) {
      const rows = await cx.rows(trx, {
        sql: `SELECT id FROM ${t.jobs} WHERE id IN (${Q.placeholders(waiting.length)}) AND state = ${Q.State.WAITING} AND (flags & ${Q.Flags.IGNORE_FAILED_DEPENDENCY}) = 0`,
        bindings: waiting,
      });
      abandoned = rows.map((r) => r.id as Id);
      if (abandoned.length > 0) {
        const set = Q.placeholders(abandoned.length);
        // claimed_at: when it was abandoned (the abandoned-job TTL counts from there).
        await trx.raw(
          `UPDATE ${t.jobs} SET state = ${Q.State.ABANDONED}, claimed_at = ? WHERE id IN (${set}) AND state = ${Q.State.WAITING}`,
          [now, ...abandoned],
        );
        // Their links from other dependencies go too: they no longer wait.
        await trx.raw(`DELETE FROM ${t.deps} WHERE dependent_id IN (${set})`, abandoned);
      }
    }
    queued += await cx.affected(trx, {
      sql: `UPDATE ${t.jobs} SET state = ${Q.QUEUED_STATE_OF_ROW} WHERE id IN (${Q.placeholders(waiting.length)}) AND state = ${Q.State.WAITING} AND NOT EXISTS (SELECT 1 FROM ${t.deps} l WHERE l.dependent_id = ${t.jobs}.id)`,
      bindings: waiting,
    });
    frontier = abandoned;
    succeeded = false;
  }
  return queued;
}

/** {@link settleLinks} in a transaction of its own. */
export function settleNow(
  cx: StrategyContext,
  done: readonly Id[],
  ok: boolean,
  now: number,
): Promise<number> {
  if (done.length === 0) return Promise.resolve(0);
  return cx.run('settle dependencies', (knex) =>
    flowTransaction(cx, knex, (trx) => settleLinks(cx, trx, done, ok, now)),
  );
}

/**
 * Maintenance's sweep: settles the links of the queue's abandoned dependencies (as failures) and
 * of dependencies that no longer exist (acked, their settle lost to a crash: successes). Returns
 * how many jobs became queued.
 */
export async function sweepLinks(cx: StrategyContext, now: number): Promise<number> {
  const { t, q } = cx;
  let queued = 0;
  const sweeps: Array<[string, boolean]> = [
    [
      `JOIN ${t.jobs} j ON j.id = l.dependency_id WHERE l.domain = ? AND l.type = ? AND j.state = ${Q.State.ABANDONED}`,
      false,
    ],
    [
      `WHERE l.domain = ? AND l.type = ? AND NOT EXISTS (SELECT 1 FROM ${t.jobs} j WHERE j.id = l.dependency_id)`,
      true,
    ],
  ];
  for (const [where, ok] of sweeps) {
    for (;;) {
      const rows = await cx.run('sweep dependencies', (knex) =>
        cx.rows(knex, {
          sql: `SELECT DISTINCT l.dependency_id AS id FROM ${t.deps} l ${where} LIMIT ${CHUNK}`,
          bindings: [q.domain, q.type],
        }),
      );
      if (rows.length === 0) break;
      queued += await settleNow(
        cx,
        rows.map((r) => r.id as Id),
        ok,
        now,
      );
      if (rows.length < CHUNK) break;
    }
  }
  return queued;
}
