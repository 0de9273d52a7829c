/**
 * How one run of a job ends ({@link RunOutcome}), whichever way it ran (in-process or HTTP), and
 * the outcome of an HTTP status by the default lists.
 *
 * @packageDocumentation
 */

/** The response of a failed HTTP run (for the error event's `details`). */
export interface HttpFailure {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

/** How one run ended. */
export type RunOutcome =
  | { readonly kind: 'ok' }
  /** Nothing to do (HTTP 412): success. */
  | { readonly kind: 'ignored' }
  /** Retry later; `counted` false for read-only (HTTP 5xx with `X-Readonly`, retried after 30–60 s more). */
  | {
      readonly kind: 'retry';
      readonly counted: boolean;
      readonly reason: string;
      readonly readonly?: boolean;
      readonly status?: number;
      readonly http?: HttpFailure;
    }
  /** Failed for good: no retry. */
  | { readonly kind: 'error'; readonly reason: string; readonly status?: number; readonly http?: HttpFailure }
  /** The run was cut short by shutdown: hand the message back. */
  | { readonly kind: 'aborted' };

/**
 * The outcome of an HTTP execution by status code with the default lists (promises §5, as ChangeProp):
 * 2xx ok, 412 ignored, 5xx retry (not counted with `readonly`: the `X-Readonly` header), anything
 * else (423 included) an error.
 */
export function outcomeOfStatus(status: number, body: string, readonly = false): RunOutcome {
  if (status >= 200 && status < 300) return { kind: 'ok' };
  if (status === 412) return { kind: 'ignored' };
  if (status >= 500)
    return readonly
      ? {
          kind: 'retry',
          counted: false,
          readonly: true,
          reason: `HTTP ${status} (read-only) ${body.slice(0, 200)}`,
        }
      : { kind: 'retry', counted: true, reason: `HTTP ${status} ${body.slice(0, 200)}` };
  return { kind: 'error', reason: `HTTP ${status} ${body.slice(0, 200)}` };
}
