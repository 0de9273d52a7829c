/**
 * HTTP execution of a job event, as ChangeProp does it for WMF's job queue: the event is POSTed
 * as JSON with `x-request-id` and `x-triggered-by`, redirects are never followed, and the status
 * maps to an outcome through the rule's `ignore` and `retryOn` lists. A retried status with an
 * `X-Readonly` header (the wiki's database was read-only) is a retry that is not counted.
 *
 * @packageDocumentation
 */
import type { JobEvent } from '../events/job-event.js';
import { describe } from './events.js';
import type { RunOutcome } from './outcome.js';

/** True for the statuses a list names. */
export type StatusMatcher = (status: number) => boolean;

/**
 * A matcher of a status list as ChangeProp writes one: numbers (`412`), and patterns where `x`
 * is any digit (`'5xx'`, `'50x'`). The list is validated by the config section.
 */
export function statusMatcher(list: ReadonlyArray<number | string>): StatusMatcher {
  const exact = new Set<number>();
  const patterns: RegExp[] = [];
  for (const item of list) {
    const text = String(item);
    if (/^\d{3}$/.test(text)) exact.add(Number(text));
    else patterns.push(new RegExp(`^${text.replace(/x/g, '\\d')}$`));
  }
  return (status) => exact.has(status) || patterns.some((p) => p.test(String(status)));
}

/** A status list entry: `412`, `'412'`, `'5xx'`, `'50x'`. */
export const STATUS_ENTRY = /^[1-5][0-9x]{2}$/;

/** One rule's HTTP settings. */
export interface HttpTarget {
  readonly endpoint: string;
  readonly timeoutMs: number;
  /** Extra request headers; values may hold `{{message.a.b}}` (a field of the event). */
  readonly headers: Readonly<Record<string, string>>;
  readonly retryOn: StatusMatcher;
  readonly ignore: StatusMatcher;
}

/** `{{message.meta.domain}}` → the event's field (empty when absent or not a scalar). */
export function expandHeader(template: string, event: JobEvent): string {
  return template.replace(/\{\{\s*message((?:\.[A-Za-z0-9_$-]+)+)\s*\}\}/g, (_, path: string) => {
    let v: unknown = event;
    for (const key of path.slice(1).split('.')) {
      v = typeof v === 'object' && v !== null ? (v as Record<string, unknown>)[key] : undefined;
    }
    return typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? String(v) : '';
  });
}

/** The outcome of a response (see the module comment). */
export function outcomeOfResponse(
  target: Pick<HttpTarget, 'retryOn' | 'ignore'>,
  status: number,
  body: string,
  headers: Headers,
): RunOutcome {
  const text = `HTTP ${status} ${body.slice(0, 200)}`.trimEnd();
  if (target.ignore(status)) return { kind: 'ignored' };
  if (status >= 200 && status < 300) return { kind: 'ok' };
  if (status >= 300 && status < 400) {
    const location = headers.get('location');
    return {
      kind: 'error',
      status,
      reason: `HTTP ${status}: redirects are not followed${location === null ? '' : ` (Location: ${location})`}`,
    };
  }
  if (target.retryOn(status)) {
    const ro = headers.get('x-readonly');
    const readonly = ro !== null && ro !== '' && ro.toLowerCase() !== 'false' && ro !== '0';
    return readonly
      ? { kind: 'retry', counted: false, readonly: true, status, reason: `${text} (read-only)` }
      : { kind: 'retry', counted: true, status, reason: text };
  }
  return { kind: 'error', status, reason: text };
}

/** POSTs `event` to the rule's endpoint. `signal` aborting (shutdown) gives `aborted`. */
export async function dispatchHttp(
  target: HttpTarget,
  event: JobEvent,
  run: { readonly attempt: number; readonly triggeredBy: string; readonly signal: AbortSignal },
): Promise<RunOutcome> {
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'x-triggered-by': run.triggeredBy,
    'x-switchyard-attempt': String(run.attempt),
  };
  if (event.meta.request_id !== undefined) headers['x-request-id'] = event.meta.request_id;
  for (const [name, value] of Object.entries(target.headers)) {
    headers[name.toLowerCase()] = expandHeader(value, event);
  }
  const signal = AbortSignal.any([run.signal, AbortSignal.timeout(target.timeoutMs)]);
  try {
    const res = await fetch(target.endpoint, {
      method: 'POST',
      headers,
      body: JSON.stringify(event),
      redirect: 'manual',
      signal,
    });
    const body = await res.text();
    const outcome = outcomeOfResponse(target, res.status, body, res.headers);
    if (outcome.kind === 'retry' || outcome.kind === 'error') {
      return {
        ...outcome,
        http: { status: res.status, headers: Object.fromEntries(res.headers), body: body.slice(0, 2000) },
      };
    }
    return outcome;
  } catch (err) {
    if (run.signal.aborted) return { kind: 'aborted' };
    return { kind: 'retry', counted: true, reason: `HTTP request failed: ${describe(err)}` };
  }
}
