/**
 * Where the SQL driver's own messages go. knex prints pool notices itself (`Connection Error:
 * Connection ended unexpectedly` when PostgreSQL restarts or ends a session, deprecation notes)
 * with `console.log`, on stdout, uncoloured only off a terminal: a raw line in the middle of a
 * command's output (and of its `--json`). Every knex instance the backend creates hands those
 * messages to this sink instead, scrubbed of the connection's secrets. The CLI points it at its
 * logger; a host can point it at its own with {@link setSqlDriverLogger}.
 *
 * @packageDocumentation
 */

/** The slice of a logger the driver messages need (a runner logger fits). */
export interface SqlDriverLogger {
  debug(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

/** The default sink: one `switchyard sql:` line on stderr per warning or error; debug dropped. */
export const stderrDriverLogger: SqlDriverLogger = Object.freeze({
  debug: () => {},
  warn: (m: string) => {
    process.stderr.write(`switchyard sql: warn: ${m}\n`);
  },
  error: (m: string) => {
    process.stderr.write(`switchyard sql: error: ${m}\n`);
  },
});

let current: SqlDriverLogger = stderrDriverLogger;

/**
 * Routes the SQL driver's messages (knex's pool warnings) to `logger` for every knex instance the
 * backend creates from now on and those already created; `null` restores the stderr default.
 * Returns the previous logger.
 */
export function setSqlDriverLogger(logger: SqlDriverLogger | null): SqlDriverLogger {
  const previous = current;
  current = logger ?? stderrDriverLogger;
  return previous;
}

function text(message: unknown): string {
  if (typeof message === 'string') return message;
  if (message instanceof Error) return message.message;
  try {
    return JSON.stringify(message) ?? String(message);
  } catch {
    return String(message);
  }
}

/**
 * knex's `log` config option routed to the current sink, with `secrets` masked as `***`. Each
 * message is one line (a multi-line one is joined).
 */
export function knexLogOption(secrets: readonly string[]): Record<string, (message: unknown) => void> {
  const clean = (message: unknown): string => {
    let t = text(message)
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '')
      .join(' ');
    for (const s of secrets) if (s.length >= 4) t = t.split(s).join('***');
    return t;
  };
  return {
    debug: (m) => current.debug(clean(m), { source: 'knex' }),
    warn: (m) => current.warn(clean(m), { source: 'knex' }),
    error: (m) => current.error(clean(m), { source: 'knex' }),
    deprecate: (m) => current.warn(clean(m), { source: 'knex' }),
  };
}
