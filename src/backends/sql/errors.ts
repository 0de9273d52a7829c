/**
 * Driver errors of pg, mysql2 and better-sqlite3, classified: connection failures become
 * `SWITCHYARD_CONNECTION_LOST`, a database that does not exist `SWITCHYARD_CONFIG_INVALID`,
 * everything else `SWITCHYARD_BACKEND_ERROR` (original as `cause`), with every known secret
 * scrubbed from the message and the message's length bounded.
 *
 * @packageDocumentation
 */
import { ErrorCode, SwitchyardError } from '../../core/errors.js';

/** Node / driver codes that mean the database could not be reached or the connection dropped. */
const CONNECTION_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  // mysql2
  'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_SEQUENCE_TIMEOUT',
  'ER_CON_COUNT_ERROR',
  'ER_SERVER_SHUTDOWN',
  // PostgreSQL SQLSTATE class 08 (connection exception) and 57P0x (operator intervention)
  '08000',
  '08001',
  '08003',
  '08004',
  '08006',
  '57P01',
  '57P02',
  '57P03',
  // better-sqlite3
  'SQLITE_CANTOPEN',
]);

/** Messages (without a code) that mean the same. */
const CONNECTION_MESSAGES: readonly RegExp[] = [
  /Connection terminated/i,
  /Timeout acquiring a connection/i,
  /Client has encountered a connection error/i,
  /connection is closed/i,
  /Can't add new command when connection is in closed state/i,
];

function codeOf(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

function errnoOf(err: unknown): number | undefined {
  const errno = (err as { errno?: unknown } | null)?.errno;
  return typeof errno === 'number' ? errno : undefined;
}

/** True when `err` says the database is unreachable or the connection dropped. */
export function isConnectionError(err: unknown): boolean {
  const code = codeOf(err);
  if (code !== undefined && CONNECTION_CODES.has(code)) return true;
  const message = err instanceof Error ? err.message : '';
  return CONNECTION_MESSAGES.some((re) => re.test(message));
}

/** True when `err` is a unique-index violation (PG 23505, MySQL 1062, SQLite UNIQUE). */
export function isUniqueViolation(err: unknown): boolean {
  const code = codeOf(err);
  return (
    code === '23505' ||
    code === 'ER_DUP_ENTRY' ||
    errnoOf(err) === 1062 ||
    code === 'SQLITE_CONSTRAINT_UNIQUE' ||
    code === 'SQLITE_CONSTRAINT_PRIMARYKEY'
  );
}

/** True when `err` is a deadlock or serialization failure worth one more try. */
export function isRetryableConflict(err: unknown): boolean {
  const code = codeOf(err);
  return code === '40P01' || code === '40001' || code === 'ER_LOCK_DEADLOCK' || errnoOf(err) === 1213;
}

/** True when `err` says a table does not exist (the schema is not migrated). */
export function isMissingTable(err: unknown): boolean {
  const code = codeOf(err);
  if (code === '42P01' || code === 'ER_NO_SUCH_TABLE' || errnoOf(err) === 1146) return true;
  return err instanceof Error && /no such table/i.test(err.message);
}

/** Replaces every secret (of 4+ characters) in `text` with `***`. */
export function scrub(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) {
    if (secret.length < 4) continue;
    out = out.split(secret).join('***');
    const encoded = encodeURIComponent(secret);
    if (encoded !== secret) out = out.split(encoded).join('***');
  }
  return out;
}

/** True when `err` says the connection's database does not exist (or, for SQLite, cannot be created). */
export function isMissingDatabase(err: unknown): boolean {
  const code = codeOf(err);
  if (code === '3D000' || code === 'ER_BAD_DB_ERROR' || errnoOf(err) === 1049) return true;
  const message = err instanceof Error ? err.message : '';
  return /directory does not exist|unable to open database file/i.test(message);
}

/** The longest driver message kept whole: knex prefixes the statement, which can be megabytes. */
const MAX_DETAIL = 600;

/**
 * The driver's own words, bounded: mysql2's `sqlMessage` when there is one (knex puts the whole
 * statement, bound values included, in front of `message`), else the message, its middle cut when
 * it is longer than {@link MAX_DETAIL} characters (a 20 MB INSERT never lands in a log).
 */
function detailOf(err: unknown): string {
  const sqlMessage = (err as { sqlMessage?: unknown } | null)?.sqlMessage;
  const text = typeof sqlMessage === 'string' ? sqlMessage : err instanceof Error ? err.message : String(err);
  if (text.length <= MAX_DETAIL) return text;
  const half = MAX_DETAIL / 2;
  return `${text.slice(0, half)} … [${text.length - MAX_DETAIL} characters cut] … ${text.slice(-half)}`;
}

/**
 * Wraps a driver error as `SWITCHYARD_CONNECTION_LOST` (unreachable / dropped),
 * `SWITCHYARD_CONFIG_INVALID` (the connection names a database that does not exist) or
 * `SWITCHYARD_BACKEND_ERROR`, scrubbing `secrets` (connection passwords) from the message and
 * bounding its length. Switchyard errors pass through unchanged.
 */
export function wrapSqlError(err: unknown, what: string, secrets: readonly string[]): SwitchyardError {
  if (err instanceof SwitchyardError) return err;
  const detail = scrub(detailOf(err), secrets);
  const cause = detail === (err instanceof Error ? err.message : String(err)) ? err : safeCause(err, detail);
  if (isMissingDatabase(err)) {
    const message = `names a database that does not exist (${detail}): create it, or fix the connection`;
    return new SwitchyardError(ErrorCode.CONFIG_INVALID, `${what} failed: the connection ${message}`, {
      issues: [{ path: 'connection', message }],
      cause,
    });
  }
  const code = isConnectionError(err) ? ErrorCode.CONNECTION_LOST : ErrorCode.BACKEND_ERROR;
  return new SwitchyardError(code, `${what} failed: ${detail}`, { cause });
}

/** A stand-in cause with the scrubbed / bounded text and the driver's code (the original may hold a secret). */
function safeCause(err: unknown, detail: string): Error {
  return Object.assign(new Error(detail), { code: codeOf(err), errno: errnoOf(err) });
}

/** Tries of a statement that hit a deadlock or serialization failure (or, for a rekey, a unique violation). */
export const MAX_TRIES = 6;

/**
 * Before retrying a deadlocked statement, wait a random 0–(this × attempt) ms, so the
 * transactions that deadlocked do not collide again at once. Without it, MariaDB's 8-process
 * drain (coalesced acks of up to 1,000 claims) occasionally lost four immediate retries in a row.
 */
const RETRY_JITTER_MS = 5;

/**
 * Runs `fn`, retrying deadlocks / serialization failures (unless `retry` is false: a failed
 * statement inside a host's transaction aborted it), and wraps a driver error ({@link wrapSqlError}
 * with the message prefix `what()`).
 */
export async function retryingConflicts<R>(
  fn: () => Promise<R>,
  what: () => string,
  secrets: readonly string[],
  retry: boolean,
): Promise<R> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (retry && attempt < MAX_TRIES && isRetryableConflict(err)) {
        await new Promise((resolve) => setTimeout(resolve, Math.random() * RETRY_JITTER_MS * attempt));
        continue;
      }
      throw wrapSqlError(err, what(), secrets);
    }
  }
}
