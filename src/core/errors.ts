/**
 * The one module that builds every switchyard error, so every backend fails the same way for the
 * same condition. Codes are API (stable, documented in the README); messages are not.
 *
 * @packageDocumentation
 */

/** Every stable error code switchyard raises. */
export const ErrorCode = {
  /** The backend (or this queue's configuration) lacks the capability the call needs. */
  NOT_SUPPORTED: 'SWITCHYARD_NOT_SUPPORTED',
  /** The queue or group is read-only; the message carries the configured reason. */
  READ_ONLY: 'SWITCHYARD_READ_ONLY',
  /** The queue, group or farm was closed. */
  QUEUE_CLOSED: 'SWITCHYARD_QUEUE_CLOSED',
  /** A job specification is malformed; the message names the job index and field path. */
  INVALID_JOB: 'SWITCHYARD_INVALID_JOB',
  /** A job type is not accepted by this queue or is not routable. */
  UNKNOWN_JOB_TYPE: 'SWITCHYARD_UNKNOWN_JOB_TYPE',
  /** A configuration (file or API object) is wrong; `issues` lists every problem with its path. */
  CONFIG_INVALID: 'SWITCHYARD_CONFIG_INVALID',
  /** The store could not be reached, or the connection dropped mid-call. */
  CONNECTION_LOST: 'SWITCHYARD_CONNECTION_LOST',
  /** Every partition or store that could take the call is unavailable. */
  BACKEND_UNAVAILABLE: 'SWITCHYARD_BACKEND_UNAVAILABLE',
  /** The store answered with an error that has no more specific code; see `cause`. */
  BACKEND_ERROR: 'SWITCHYARD_BACKEND_ERROR',
} as const;

/** A stable switchyard error code. */
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** One problem found while validating a configuration or a job. */
export interface Issue {
  /** Dotted path of the offending value, e.g. `jobTypeConf.refreshLinks.claimTTL`. */
  readonly path: string;
  /** What is wrong, in a short sentence. */
  readonly message: string;
  /** The offending value, when it is safe to show (never a secret). */
  readonly value?: unknown;
  /** The valid choices, when the value had to be one of a known set. */
  readonly choices?: readonly string[];
}

/** Options accepted by {@link SwitchyardError}. */
export interface SwitchyardErrorOptions {
  readonly cause?: unknown;
  readonly issues?: readonly Issue[];
}

/**
 * The error class for every failure switchyard reports. Check `code`, never the message.
 */
export class SwitchyardError extends Error {
  /** The stable code. */
  readonly code: ErrorCode;
  /** Every problem found, for validation errors (config, job specifications). */
  readonly issues: readonly Issue[];

  constructor(code: ErrorCode, message: string, options: SwitchyardErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'SwitchyardError';
    this.code = code;
    this.issues = Object.freeze([...(options.issues ?? [])]);
  }
}

/** True when `err` is a {@link SwitchyardError}, optionally with the given code. */
export function isSwitchyardError(err: unknown, code?: ErrorCode): err is SwitchyardError {
  return err instanceof SwitchyardError && (code === undefined || err.code === code);
}

/** `SWITCHYARD_NOT_SUPPORTED` for `what` on `where` (a backend or queue description). */
export function notSupported(what: string, where: string): SwitchyardError {
  return new SwitchyardError(ErrorCode.NOT_SUPPORTED, `${what} is not supported by ${where}`);
}

/** `SWITCHYARD_READ_ONLY` carrying the configured reason. */
export function readOnly(where: string, reason: string): SwitchyardError {
  return new SwitchyardError(ErrorCode.READ_ONLY, `${where} is read-only: ${reason}`);
}

/** `SWITCHYARD_QUEUE_CLOSED` for a call on a closed queue, group or farm. */
export function queueClosed(where: string): SwitchyardError {
  return new SwitchyardError(ErrorCode.QUEUE_CLOSED, `${where} is closed`);
}

/** Renders issues as one line each: `path: message (got value; valid: a, b)`. */
export function formatIssues(issues: readonly Issue[]): string {
  return issues
    .map((i) => {
      const extra: string[] = [];
      if ('value' in i) extra.push(`got ${describeValue(i.value)}`);
      if (i.choices && i.choices.length > 0) extra.push(`valid: ${i.choices.join(', ')}`);
      return `  - ${i.path || '(root)'}: ${i.message}${extra.length > 0 ? ` (${extra.join('; ')})` : ''}`;
    })
    .join('\n');
}

/** `SWITCHYARD_INVALID_JOB` listing every problem found in a batch of specifications. */
export function invalidJob(issues: readonly Issue[]): SwitchyardError {
  return new SwitchyardError(
    ErrorCode.INVALID_JOB,
    `invalid job specification (${issues.length} problem${issues.length === 1 ? '' : 's'}):\n${formatIssues(issues)}`,
    { issues },
  );
}

/** `SWITCHYARD_CONFIG_INVALID` listing every problem found in a configuration. */
export function configInvalid(
  issues: readonly Issue[],
  source = 'configuration',
  options: { readonly cause?: unknown } = {},
): SwitchyardError {
  return new SwitchyardError(
    ErrorCode.CONFIG_INVALID,
    `invalid ${source} (${issues.length} problem${issues.length === 1 ? '' : 's'}):\n${formatIssues(issues)}`,
    { issues, cause: options.cause },
  );
}

/**
 * Wraps a driver error so callers see a stable code; the original stays as `cause`.
 * Errors that already are {@link SwitchyardError}s pass through unchanged.
 */
export function wrapDriverError(
  err: unknown,
  what: string,
  code: ErrorCode = ErrorCode.BACKEND_ERROR,
): SwitchyardError {
  if (err instanceof SwitchyardError) return err;
  const detail = err instanceof Error ? err.message : String(err);
  return new SwitchyardError(code, `${what} failed: ${detail}`, { cause: err });
}

/** A short, log-safe rendering of a value for error messages. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (typeof value === 'function') return 'a function';
  if (typeof value === 'bigint') return `${value}n (BigInt)`;
  if (typeof value === 'symbol') return 'a symbol';
  if (value instanceof Date) return 'a Date';
  try {
    const text = JSON.stringify(value);
    if (text === undefined) return String(value);
    return text.length > 80 ? `${text.slice(0, 77)}...` : text;
  } catch {
    return Object.prototype.toString.call(value);
  }
}
