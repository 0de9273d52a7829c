/**
 * What differs between SQLite, PostgreSQL and MySQL / MariaDB, in one small interface (knex's
 * "one base client, a subclass per dialect overriding only what differs", STYLE): the SQL
 * spellings and result shapes, and the strategies of the statements that cannot be one shared
 * statement (claim, ack, expiry, taking abandoned jobs). The RETURNING strategies of PostgreSQL
 * and SQLite are shared (`returning.ts`); MySQL's locking-transaction ones are in `mysql.ts`.
 * Everything else is shared SQL in `../queries.ts`.
 *
 * @packageDocumentation
 */
import type { MaintenanceResult } from '../../../core/job-queue.js';
import type { KnexLike, KnexRawLike } from '../knex-like.js';
import type { ClaimArgs, DialectSql, Query, QueueKey, Tables } from '../queries.js';

/** One result row, as the driver returns it. */
export type Row = Readonly<Record<string, unknown>>;

/** A claim as an ack names it: the row's id (as the driver binds it) and its claim token. */
export interface HeldRef {
  readonly id: string | number;
  readonly token: string;
}

/** What a dialect's strategies use of one queue: its tables, its settings and its statement runner. */
export interface StrategyContext {
  readonly dialect: Dialect;
  readonly t: Tables;
  readonly q: QueueKey;
  /** Seconds (always > 0 when maintenance expires claims). */
  readonly claimTTL: number;
  readonly maxTries: number;
  /** Seconds. */
  readonly abandonedTTL: number;
  /**
   * Runs `fn` on the queue's knex (schema ensured), retrying deadlocks and serialization failures
   * and wrapping driver errors; `what` names the operation in the error.
   */
  run<R>(what: string, fn: (knex: KnexLike) => Promise<R>): Promise<R>;
  /** Gives unheld dedup slots to heirs (see `queries.ts#rekeyHeirs`). */
  rekey(db: KnexRawLike): Promise<void>;
  rows(db: KnexRawLike, q: Query): Promise<Row[]>;
  affected(db: KnexRawLike, q: Query): Promise<number>;
}

/**
 * One dialect: its SQL spellings (what the builders need, {@link DialectSql}), its result shapes,
 * and its claim / ack / expiry strategies.
 */
export interface Dialect extends DialectSql {
  /**
   * True when the pool is one connection (SQLite): a host's transaction holds it, so the schema is
   * checked through that transaction.
   */
  readonly oneConnection: boolean;
  /**
   * True when a push of several statements is one transaction even when not atomic (PostgreSQL:
   * one commit, not one per statement).
   */
  readonly batchInOneTransaction: boolean;
  /** The rows of a raw result. */
  rows(result: unknown): Row[];
  /** The rows matched by an UPDATE / DELETE / INSERT. */
  affected(result: unknown): number;
  /** A job id (already checked to be 1–19 digits) as the driver binds it, or null when it cannot be a row's. */
  bindId(id: string): string | number | null;
  /**
   * Claims up to `args.limit` ready jobs (deleting them when `remove`: claimTTL 0) and returns
   * their rows with `attempts` counting this claim, in any order. Runs inside `cx.run`.
   */
  claim(cx: StrategyContext, knex: KnexLike, args: ClaimArgs, remove: boolean): Promise<Row[]>;
  /** Deletes the claims `refs` still hold and returns their rows (`id`, `claim_token`). Runs inside `cx.run`. */
  ackHeld(cx: StrategyContext, knex: KnexLike, refs: readonly HeldRef[]): Promise<Row[]>;
  /**
   * One maintenance pass at `now`: expired claims recycled or abandoned (when `cx.claimTTL > 0`),
   * old abandoned jobs and root records pruned. Calls `cx.run` itself (one or more times).
   */
  runMaintenance(cx: StrategyContext, now: number): Promise<Omit<MaintenanceResult, 'released'>>;
  /** Takes (deletes and returns) up to `limit` abandoned jobs of the queue, inside the transaction `trx`. */
  takeAbandoned(cx: StrategyContext, trx: KnexRawLike, limit: number): Promise<Row[]>;
}

/** {@link Dialect.bindId} where ids are bound as numbers (SQLite, MySQL): a safe integer, else null. */
export function numericId(id: string): number | null {
  const n = Number(id);
  return Number.isSafeInteger(n) ? n : null;
}
