import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, test } from 'vitest';
import type { JobQueueGroup } from '../../src/core/job-queue-group.js';
import {
  createDashboardHandler,
  type DashboardExecutorView,
  type DashboardOptions,
  escapeHtml,
} from '../../src/dashboard/index.js';
import type { Executor } from '../../src/executor/index.js';
import { memoryGroup } from '../runner/helpers.js';

/** The real executor can be handed to the dashboard as it is (compile-time check). */
type ExecutorFits = Executor extends DashboardExecutorView ? true : never;
const executorFits: ExecutorFits = true;
void executorFits;

const XSS = '<script>window.__xss=1</script>"><img src=x onerror=alert(1)>';
let server: Server | null = null;
let group: JobQueueGroup | null = null;

afterEach(async () => {
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  server = null;
  await group?.close();
  group = null;
});

async function serve(opts: Omit<DashboardOptions, 'group'> = {}): Promise<string> {
  group = memoryGroup({ maxTries: 1 });
  server = createServer(createDashboardHandler({ group, refreshSeconds: 0, ...opts }));
  await new Promise<void>((r) => server?.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
}

async function abandonOne(g: JobQueueGroup): Promise<void> {
  await g.push({ type: 'mail', params: { to: 'x' } });
  const job = await g.pop('mail');
  if (!job) throw new Error('no job popped');
  await g.release(job);
}

function post(
  base: string,
  form: Record<string, string>,
  headers: Record<string, string> = {},
): Promise<Response> {
  return fetch(`${base}action`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json', ...headers },
    body: new URLSearchParams(form).toString(),
  });
}

describe('dashboard handler (memory)', () => {
  test('escapeHtml escapes every markup character', () => {
    expect(escapeHtml(`<a href="x" '\`>&`)).toBe('&#60;a href=&#34;x&#34; &#39;&#96;&#62;&#38;');
  });

  test('the overview shows counts per type, and they change after a push; CSP is strict', async () => {
    const base = await serve();
    await group?.push({ type: 'mail', params: {} });
    let res = await fetch(base);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-security-policy')).toContain("script-src 'self'");
    let html = await res.text();
    expect(html).toMatch(
      /data-type="mail"><td>default<\/td><td><a [^>]+>mail<\/a><\/td><td class="ready">1<\/td>/,
    );
    await group?.push({ type: 'mail', params: {} });
    html = await (await fetch(base)).text();
    expect(html).toContain('<td class="ready">2</td>');
    res = await fetch(`${base}nope`);
    expect(res.status).toBe(404);
  });

  test('job params are escaped on the queue page', async () => {
    const base = await serve({ token: 't0k' });
    await group?.push({ type: 'mail', params: { body: XSS } });
    const html = await (await fetch(`${base}queue?domain=default&type=mail&state=ready`)).text();
    expect(html).not.toContain('<script>window');
    expect(html).not.toContain('<img');
    expect(html).toContain('&#60;script&#62;window.__xss=1&#60;/script&#62;');
    expect(html).toContain('&#60;img src=x onerror=alert(1)&#62;');
    const bad = await (await fetch(`${base}queue?domain=default&type=${encodeURIComponent(XSS)}`)).text();
    expect(bad).not.toContain('<script>window');
  });

  test('actions need the token: 401 without or with a wrong one, then repush-abandoned works', async () => {
    const base = await serve({ token: 's3cret' });
    if (!group) throw new Error('no group');
    await abandonOne(group);
    expect(await group.get('mail').getAbandonedCount()).toBe(1);
    const form = { domain: 'default', type: 'mail', action: 'repush-abandoned' };
    expect((await post(base, form)).status).toBe(401);
    expect((await post(base, { ...form, token: 'wrong!' })).status).toBe(401);
    expect(await group.get('mail').getAbandonedCount()).toBe(1);
    const ok = await post(base, form, { 'x-switchyard-token': 's3cret' });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({
      action: 'repush-abandoned',
      type: 'mail',
      domain: 'default',
      count: 1,
    });
    expect(await group.get('mail').getAbandonedCount()).toBe(0);
    expect(await group.get('mail').getSize()).toBe(1);
    const del = await post(base, { domain: 'default', type: 'mail', action: 'delete', token: 's3cret' });
    expect(del.status).toBe(200);
    expect(await group.get('mail').getSize()).toBe(0);
  });

  test('one job is cancelled from its row (token required); the redirect returns to its tab', async () => {
    const base = await serve({ token: 's3cret' });
    if (!group) throw new Error('no group');
    await group.push([
      { type: 'mail', params: { n: 0 } },
      { type: 'mail', params: { n: 1 } },
    ]);
    const html = await (await fetch(`${base}queue?domain=default&type=mail&state=ready`)).text();
    const ids = [...html.matchAll(/name="id" value="([^"]+)"/g)].map((m) => m[1] as string);
    expect(ids).toHaveLength(2);
    expect(html).toContain('>Cancel</button>');
    const form = { domain: 'default', type: 'mail', action: 'cancel', id: ids[0] as string, state: 'ready' };
    expect((await post(base, form)).status).toBe(401);
    expect(await group.get('mail').getSize()).toBe(2);
    const ok = await post(base, { ...form, token: 's3cret' });
    expect(await ok.json()).toEqual({ action: 'cancel', type: 'mail', domain: 'default', count: 1 });
    expect(await group.get('mail').getSize()).toBe(1);
    const again = await post(base, { ...form, token: 's3cret' });
    expect(await again.json()).toMatchObject({ count: 0 });
    const redirect = await post(
      base,
      { ...form, id: ids[1] as string, token: 's3cret' },
      { accept: 'text/html' },
    );
    expect(redirect.status).toBe(303);
    expect(redirect.headers.get('location')).toBe('queue?domain=default&type=mail&state=ready');
    expect(await group.get('mail').getSize()).toBe(0);
    expect((await post(base, { ...form, id: '', token: 's3cret' })).status).toBe(400);
  });

  test('read-only mode and a missing token refuse every action with 403; GET never acts', async () => {
    for (const opts of [{ readonly: true, token: 'abc' }, {}]) {
      const base = await serve(opts);
      if (!group) throw new Error('no group');
      await abandonOne(group);
      const res = await post(base, {
        domain: 'default',
        type: 'mail',
        action: 'repush-abandoned',
        token: 'abc',
      });
      expect(res.status).toBe(403);
      expect(
        (await fetch(`${base}action?domain=default&type=mail&action=repush-abandoned&token=abc`)).status,
      ).toBe(405);
      expect(await group.get('mail').getAbandonedCount()).toBe(1);
      await new Promise<void>((r) => server?.close(() => r()));
      server = null;
      await group.close();
      group = null;
    }
  });

  test('executor rules are listed with topics, in-flight and lag, escaped', async () => {
    const base = await serve({
      executor: {
        topics: () => ({ '<b>rule</b>': ['mediawiki.job.mail'] }),
        inFlight: () => ({ '<b>rule</b>': 3 }),
        lag: async () => ({ '<b>rule</b>': 42 }),
      },
    });
    const html = await (await fetch(base)).text();
    expect(html).toContain(
      '<tr data-rule="&#60;b&#62;rule&#60;/b&#62;"><td>&#60;b&#62;rule&#60;/b&#62;</td><td>mediawiki.job.mail</td><td class="in-flight">3</td><td class="lag">42</td></tr>',
    );
  });
});
