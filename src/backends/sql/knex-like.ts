/**
 * Structural knex types (STYLE 10, pg-boss's `KnexTransactionLike`): the sql backend only ever
 * calls `raw()`, `transaction()` and `destroy()`, so it never imports knex's types and a host's
 * own knex instance (any 2.x / 3.x) fits without a cast.
 *
 * @packageDocumentation
 */

/** A value bound to a `?` placeholder (an array: a PostgreSQL array parameter, NULL elements allowed). */
export type Binding = string | number | null | readonly (string | number | null)[];

/** What can run a raw statement: a knex instance or a knex transaction. */
export interface KnexRawLike {
  /** Runs `sql` with `?` placeholders; resolves to the driver's raw result. */
  raw(sql: string, bindings: readonly Binding[]): PromiseLike<unknown>;
  /** knex's client object; read for `dialect` / `driverName` / `config.client` only. */
  readonly client: unknown;
}

/** A knex transaction (what `knex.transaction(fn)` hands `fn`). */
export interface KnexTransactionLike extends KnexRawLike {}

/** A knex instance, as a host app passes it (setting `knex`) or as the backend creates one. */
export interface KnexLike extends KnexRawLike {
  /**
   * Runs `fn` in a transaction: commits when it resolves, rolls back when it rejects. `config`
   * sets its isolation level (knex ≥ 2.4: `SET TRANSACTION ISOLATION LEVEL …` before it begins).
   */
  transaction<T>(
    fn: (trx: KnexTransactionLike) => Promise<T>,
    config?: { readonly isolationLevel?: 'read committed' },
  ): Promise<T>;
  /** Closes the pool. Called only on instances the backend created. */
  destroy(): Promise<void>;
}

/** True when `value` looks like a knex instance or transaction (has `raw()`). */
export function isKnexRawLike(value: unknown): value is KnexRawLike {
  return (
    (typeof value === 'object' || typeof value === 'function') &&
    value !== null &&
    typeof (value as { raw?: unknown }).raw === 'function'
  );
}

/** True when `value` looks like a knex instance (has `raw()`, `transaction()` and `destroy()`). */
export function isKnexLike(value: unknown): value is KnexLike {
  return (
    isKnexRawLike(value) &&
    typeof (value as { transaction?: unknown }).transaction === 'function' &&
    typeof (value as { destroy?: unknown }).destroy === 'function'
  );
}

/** The SQL dialects the backend speaks. */
export type DialectName = 'sqlite' | 'postgres' | 'mysql';

/**
 * The dialect of a knex instance or transaction, from its client's `driverName` (or, for a
 * client without one, `config.client`), or null for a driver the backend does not support.
 *
 * @remarks Only the drivers the conformance suite runs on: better-sqlite3, pg and mysql2. knex's
 * node-sqlite3 client (`sqlite3`) is refused: its raw statements report no changed-row count,
 * which fenced ack / release / extend depend on.
 */
export function dialectOf(knex: KnexRawLike): DialectName | null {
  const client = knex.client as { driverName?: unknown; config?: { client?: unknown } } | null | undefined;
  const name = typeof client?.driverName === 'string' ? client.driverName : client?.config?.client;
  return typeof name === 'string' ? (DIALECT_BY_DRIVER[name] ?? null) : null;
}

/** The knex drivers the backend supports, by knex driver name. */
export const SUPPORTED_DRIVERS: readonly string[] = Object.freeze(['better-sqlite3', 'pg', 'mysql2']);

const DIALECT_BY_DRIVER: Readonly<Record<string, DialectName>> = Object.freeze(
  Object.assign(Object.create(null) as Record<string, DialectName>, {
    'better-sqlite3': 'sqlite',
    pg: 'postgres',
    mysql2: 'mysql',
  }),
);
