/**
 * A small web dashboard over a {@link JobQueueGroup} or {@link JobQueueFarm}: counts per domain
 * and type, job listings by state, and token-guarded actions (repush abandoned jobs, delete a
 * queue). Server-rendered HTML, every interpolated value escaped, a strict CSP.
 *
 * @packageDocumentation
 */
import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { JobQueueFarm } from '../core/farm.js';
import type { JobState, ListedJob } from '../core/job.js';
import { getStateCounts } from '../core/job-queue.js';
import type { JobQueueGroup } from '../core/job-queue-group.js';

/** The four job states, in display order. */
const STATES: readonly JobState[] = ['ready', 'claimed', 'delayed', 'abandoned'];
const MAX_BODY = 16 * 1024;

/** Options of {@link createDashboardHandler}: exactly one of `group` or `farm`. */
export interface DashboardOptions {
  readonly group?: JobQueueGroup;
  readonly farm?: JobQueueFarm;
  /** Domains to show with `farm` (default the config's `domains`, else its default domain). */
  readonly domains?: readonly string[];
  /** Token every action must carry (header `x-switchyard-token` or form field `token`); without one, actions are refused. */
  readonly token?: string;
  /** Refuse every action (403). */
  readonly readonly?: boolean;
  /** Seconds between auto-refreshes of a page (default 5; 0 disables). */
  readonly refreshSeconds?: number;
  /** Jobs listed per queue page (default 100). */
  readonly listLimit?: number;
  /** An executor in this process (e.g. the `Executor` of `switchyard/executor`): its rules are listed. */
  readonly executor?: DashboardExecutorView;
}

/**
 * What the dashboard reads of an executor: the `Executor` class satisfies it; `lag` (messages
 * behind per rule) is shown when provided.
 */
export interface DashboardExecutorView {
  topics(): Record<string, string[]>;
  inFlight(): Record<string, number>;
  lag?(): Promise<Record<string, number>>;
}

/** Counts of one queue. */
export type StateCounts = Record<JobState, number>;

/** Escapes text for HTML element content and double-quoted attributes. */
export function escapeHtml(value: string): string {
  return value.replace(/[&<>"'`]/g, (c) => `&#${c.charCodeAt(0)};`);
}

const SCRIPT = `setTimeout(function(){location.reload()},Number(document.body.dataset.refresh)*1000);`;
const STYLE =
  'body{font-family:sans-serif;margin:1.5em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3em .6em;text-align:right}td:first-child,th:first-child,td:last-child,th:last-child{text-align:left}pre{margin:0;white-space:pre-wrap}';

interface Sample {
  readonly at: number;
  readonly counts: StateCounts;
}

/** Builds a request listener serving the dashboard. */
export function createDashboardHandler(options: DashboardOptions): RequestListener {
  if ((options.group === undefined) === (options.farm === undefined)) {
    throw new TypeError('createDashboardHandler: pass exactly one of `group` or `farm`');
  }
  if (options.token !== undefined && options.token.length === 0) {
    throw new TypeError('createDashboardHandler: `token` must not be empty');
  }
  const refresh = options.refreshSeconds ?? 5;
  const limit = options.listLimit ?? 100;
  const samples = new Map<string, Sample>();

  const domains = (): string[] => {
    if (options.group) return [options.group.domain];
    const farm = options.farm as JobQueueFarm;
    const list = options.domains ?? farm.config.domains;
    return list.length > 0 ? [...list] : [farm.config.defaultDomain];
  };
  const groupOf = (domain: string): JobQueueGroup => {
    if (options.group) {
      if (domain !== options.group.domain) throw new HttpError(404, `unknown domain "${domain}"`);
      return options.group;
    }
    if (!domains().includes(domain)) throw new HttpError(404, `unknown domain "${domain}"`);
    return (options.farm as JobQueueFarm).group(domain);
  };
  const queueOf = (group: JobQueueGroup, type: string) => {
    if (!group.getQueueTypes().includes(type)) throw new HttpError(404, `unknown job type "${type}"`);
    return group.get(type);
  };

  const page = (res: ServerResponse, title: string, body: string, status = 200): void => {
    const html = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title><style>${STYLE}</style></head><body data-refresh="${refresh}"><h1>${escapeHtml(title)}</h1>${body}${refresh > 0 ? '<script src="dashboard.js"></script>' : ''}</body></html>`;
    send(res, status, 'text/html; charset=utf-8', html);
  };

  const overview = async (res: ServerResponse): Promise<void> => {
    const rows: string[] = [];
    const now = Date.now();
    for (const domain of domains()) {
      const group = groupOf(domain);
      for (const type of group.getQueueTypes()) {
        const queue = group.get(type);
        if (!queue.supports.pop || queue.supports.sizes === 'none') continue;
        const counts = await getStateCounts(queue);
        const key = `${domain}\u0000${type}`;
        const prev = samples.get(key);
        samples.set(key, { at: now, counts });
        const rate =
          prev && now > prev.at ? ((counts.ready - prev.counts.ready) * 1000) / (now - prev.at) : null;
        const link = `queue?domain=${encodeURIComponent(domain)}&amp;type=${encodeURIComponent(type)}`;
        rows.push(
          `<tr data-domain="${escapeHtml(domain)}" data-type="${escapeHtml(type)}"><td>${escapeHtml(domain)}</td><td><a href="${link}">${escapeHtml(type)}</a></td>${STATES.map((s) => `<td class="${s}">${counts[s]}</td>`).join('')}<td class="rate">${rate === null ? '–' : `${rate.toFixed(2)}/s`}</td></tr>`,
        );
      }
    }
    page(
      res,
      'switchyard',
      `${await executorSection(options.executor)}<table><thead><tr><th>domain</th><th>type</th>${STATES.map((s) => `<th>${s}</th>`).join('')}<th>ready Δ</th></tr></thead><tbody>${rows.join('')}</tbody></table>`,
    );
  };

  const queuePage = async (res: ServerResponse, url: URL): Promise<void> => {
    const domain = url.searchParams.get('domain') ?? domains()[0] ?? '';
    const type = url.searchParams.get('type') ?? '';
    const state = (url.searchParams.get('state') ?? 'ready') as JobState;
    if (!STATES.includes(state)) throw new HttpError(400, `state must be one of ${STATES.join(', ')}`);
    const queue = queueOf(groupOf(domain), type);
    const jobs: ListedJob[] = [];
    if (queue.supports.listing) {
      for await (const job of queue.list(state)) {
        if (jobs.length >= limit) break;
        jobs.push(job);
      }
    }
    const q = `domain=${encodeURIComponent(domain)}&amp;type=${encodeURIComponent(type)}`;
    const tabs = STATES.map((s) =>
      s === state ? `<b>${s}</b>` : `<a href="queue?${q}&amp;state=${s}">${s}</a>`,
    ).join(' | ');
    const canAct = options.readonly !== true && options.token !== undefined;
    const form = (action: string, label: string, extra = ''): string =>
      `<form method="post" action="action"><input type="hidden" name="domain" value="${escapeHtml(domain)}"><input type="hidden" name="type" value="${escapeHtml(type)}"><input type="hidden" name="action" value="${action}">${extra}<input type="password" name="token" placeholder="token" required><button type="submit">${label}</button></form>`;
    // One job: cancel it (a running one is stopped at its runner's next claim check).
    const perJob = canAct && queue.supports.cancel;
    const jobForm = (j: ListedJob): string =>
      `<td>${form('cancel', state === 'abandoned' ? 'Delete' : 'Cancel', `<input type="hidden" name="id" value="${escapeHtml(j.id)}"><input type="hidden" name="state" value="${state}">`)}</td>`;
    const rows = jobs
      .map(
        (j) =>
          `<tr><td>${escapeHtml(j.id)}</td><td>${j.attempts}</td><td>${escapeHtml(new Date(j.enqueuedAt).toISOString())}</td><td><pre>${escapeHtml(JSON.stringify(j.params, null, 1))}</pre></td>${perJob ? jobForm(j) : ''}</tr>`,
      )
      .join('');
    const actions = canAct
      ? form('repush-abandoned', 'Retry abandoned jobs') + form('delete', 'Delete every job of this queue')
      : '<p>read-only</p>';
    page(
      res,
      `${domain} / ${type}`,
      `<p><a href="./">overview</a></p><p>${tabs}</p>${queue.supports.listing ? '' : '<p>this backend cannot list jobs</p>'}<table><thead><tr><th>id</th><th>attempts</th><th>enqueued</th><th>params</th>${perJob ? '<th></th>' : ''}</tr></thead><tbody>${rows}</tbody></table>${actions}`,
    );
  };

  const action = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (options.readonly === true) throw new HttpError(403, 'the dashboard is read-only');
    if (options.token === undefined) throw new HttpError(403, 'actions need a configured token');
    const form = new URLSearchParams(await readBody(req));
    const header = req.headers['x-switchyard-token'];
    const given = typeof header === 'string' ? header : (form.get('token') ?? '');
    if (!sameToken(given, options.token)) throw new HttpError(401, 'missing or wrong token');
    const group = groupOf(form.get('domain') ?? '');
    const type = form.get('type') ?? '';
    const queue = queueOf(group, type);
    const what = form.get('action');
    let done: number;
    if (what === 'repush-abandoned') done = await queue.repushAbandoned();
    else if (what === 'delete') {
      done = Object.values(await getStateCounts(queue)).reduce((a, b) => a + b, 0);
      await queue.delete();
    } else if (what === 'cancel') {
      const id = form.get('id') ?? '';
      if (id === '') throw new HttpError(400, 'cancel needs the job id');
      if (!queue.supports.cancel)
        throw new HttpError(400, `the ${queue.backendName} backend cannot cancel jobs`);
      done = (await queue.cancel(id)) === null ? 0 : 1;
    } else throw new HttpError(400, 'action must be repush-abandoned, delete or cancel');
    if ((req.headers.accept ?? '').includes('application/json')) {
      send(
        res,
        200,
        'application/json',
        JSON.stringify({ action: what, type, domain: group.domain, count: done }),
      );
      return;
    }
    res.statusCode = 303;
    res.setHeader(
      'location',
      `queue?domain=${encodeURIComponent(group.domain)}&type=${encodeURIComponent(type)}${backTo(form.get('state'))}`,
    );
    res.end();
  };

  return (req, res) => {
    res.setHeader(
      'content-security-policy',
      "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
    );
    res.setHeader('x-content-type-options', 'nosniff');
    res.setHeader('referrer-policy', 'no-referrer');
    const url = new URL(req.url ?? '/', 'http://dashboard.invalid');
    const path = url.pathname.replace(/^.*\//, '');
    const run = async (): Promise<void> => {
      if (path === 'action') {
        if (req.method !== 'POST') throw new HttpError(405, 'actions are POST only');
        return action(req, res);
      }
      if (req.method !== 'GET' && req.method !== 'HEAD') throw new HttpError(405, 'method not allowed');
      if (path === '' || path === 'index.html') return overview(res);
      if (path === 'queue') return queuePage(res, url);
      if (path === 'dashboard.js') return send(res, 200, 'text/javascript; charset=utf-8', SCRIPT);
      throw new HttpError(404, 'not found');
    };
    run().catch((error: unknown) => {
      const status = error instanceof HttpError ? error.status : 500;
      const message = error instanceof HttpError ? error.message : 'internal error';
      if (!res.headersSent) page(res, `${status}`, `<p>${escapeHtml(message)}</p>`, status);
      else res.end();
    });
  };
}

async function executorSection(executor: DashboardExecutorView | undefined): Promise<string> {
  if (executor === undefined) return '';
  const topics = executor.topics();
  const inFlight = executor.inFlight();
  const lag = executor.lag ? await executor.lag() : null;
  const rows = Object.entries(topics)
    .map(
      ([rule, list]) =>
        `<tr data-rule="${escapeHtml(rule)}"><td>${escapeHtml(rule)}</td><td>${escapeHtml(list.join(', '))}</td><td class="in-flight">${inFlight[rule] ?? 0}</td><td class="lag">${lag === null ? '–' : String(lag[rule] ?? '–')}</td></tr>`,
    )
    .join('');
  return `<h2>executor rules</h2><table><thead><tr><th>rule</th><th>topics</th><th>in flight</th><th>lag</th></tr></thead><tbody>${rows}</tbody></table><h2>queues</h2>`;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function send(res: ServerResponse, status: number, type: string, body: string): void {
  res.statusCode = status;
  res.setHeader('content-type', type);
  res.setHeader('cache-control', 'no-store');
  res.end(body);
}

function sameToken(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let size = 0;
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY) {
        reject(new HttpError(413, 'request body too large'));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** `&state=…` for a redirect back to the tab an action came from (only a known state). */
function backTo(state: string | null): string {
  return state !== null && (STATES as readonly string[]).includes(state) ? `&state=${state}` : '';
}
