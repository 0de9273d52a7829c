/**
 * The exit codes of the `switchyard` CLI (documented in docs/cli.md; they are API).
 *
 * @packageDocumentation
 */
import { ErrorCode, isSwitchyardError } from '../core/errors.js';

/** Every exit code the CLI uses. */
export const ExitCode = Object.freeze({
  /** Success. */
  OK: 0,
  /** The command ran, but some jobs ended failed, abandoned or timed out. */
  JOB_FAILURES: 1,
  /** Bad usage or input: unknown command or flag, a bad value, invalid job JSON, an unknown job type. */
  USAGE: 2,
  /** The config file is missing or invalid. */
  CONFIG: 3,
  /** A store could not be reached or failed (connection lost, backend unavailable or erroring). */
  BACKEND: 4,
  /** The `--handlers` module is missing, fails to load, or exports no handler registry. */
  HANDLERS: 5,
  /** The queue is read-only. */
  READ_ONLY: 6,
  /** An unexpected internal error (a bug: run with --verbose and report it). */
  INTERNAL: 70,
});

/** An exit code of the CLI. */
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** An error the CLI reports as one line and turns into an exit code. */
export class CliError extends Error {
  readonly exitCode: ExitCode;

  constructor(exitCode: ExitCode, message: string, options: { readonly cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CliError';
    this.exitCode = exitCode;
  }
}

/** The exit code for any error thrown by a command. */
export function exitCodeFor(err: unknown): ExitCode {
  if (err instanceof CliError) return err.exitCode;
  if (isSwitchyardError(err)) {
    switch (err.code) {
      case ErrorCode.CONFIG_INVALID:
        return ExitCode.CONFIG;
      case ErrorCode.CONNECTION_LOST:
      case ErrorCode.BACKEND_UNAVAILABLE:
      case ErrorCode.BACKEND_ERROR:
        return ExitCode.BACKEND;
      case ErrorCode.READ_ONLY:
        return ExitCode.READ_ONLY;
      case ErrorCode.INVALID_JOB:
      case ErrorCode.UNKNOWN_JOB_TYPE:
      case ErrorCode.NOT_SUPPORTED:
        return ExitCode.USAGE;
      default:
        return ExitCode.INTERNAL;
    }
  }
  return ExitCode.INTERNAL;
}
