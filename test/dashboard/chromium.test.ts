/**
 * The dashboard end to end in headless Chromium (Debian's `chromium`, driven by playwright-core)
 * over embedded SQLite: load, see counts change after a push, retry an abandoned job, no script
 * from job params runs, and a screenshot saved to test-artifacts/.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { afterAll, describe, expect, test } from 'vitest';
import { resolveConfig } from '../../src/container.js';
import { createJobQueueGroup } from '../../src/core/farm.js';
import { createDashboardHandler } from '../../src/dashboard/index.js';
import { requireServices } from '../helpers/env.js';

const CHROMIUM = process.env.SWITCHYARD_CHROMIUM ?? '/usr/bin/chromium';
const XSS = '<script>window.__xss=1</script>"><img src=x onerror="window.__xss=2">';
const dir = mkdtempSync(join(tmpdir(), 'switchyard-dashboard-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const present = existsSync(CHROMIUM);
if (!present && !requireServices) {
  process.stderr.write(
    `Chromium dashboard test skipped: ${CHROMIUM} not found (apt-get install -y chromium)\n`,
  );
}

describe.skipIf(!present && !requireServices)('dashboard in headless Chromium (SQLite)', () => {
  test('load, counts change after a push, retry an abandoned job, params never execute', async () => {
    expect(present, `${CHROMIUM} is required (SWITCHYARD_REQUIRE_SERVICES=1)`).toBe(true);
    const config = await resolveConfig({
      connections: { local: { class: 'sql', filename: join(dir, 'dash.sqlite') } },
      jobTypeConf: { default: { class: 'sql', connection: 'local', order: 'fifo', maxTries: 1 } },
    });
    const group = createJobQueueGroup(config, 'default');
    const server = createServer(createDashboardHandler({ group, token: 'e2e-token', refreshSeconds: 0 }));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    // launch() gives the browser a fresh temporary profile of its own (deleted on close).
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    try {
      const page = await browser.newPage();
      const dialogs: string[] = [];
      page.on('dialog', (d) => {
        dialogs.push(d.message());
        void d.dismiss();
      });
      await group.push({ type: 'mail', params: { body: XSS } });
      await page.goto(base);
      const ready = page.locator('tr[data-type="mail"] td.ready');
      expect(await ready.textContent()).toBe('1');

      await group.push({ type: 'mail', params: { body: 'second' } });
      await page.reload();
      expect(await ready.textContent()).toBe('2');

      const job = await group.pop('mail');
      expect(job).not.toBeNull();
      if (job) await group.release(job);
      await page.reload();
      expect(await page.locator('tr[data-type="mail"] td.abandoned').textContent()).toBe('1');

      await page.click('tr[data-type="mail"] a');
      await page.click('a:text-is("abandoned")');
      expect(await page.locator('pre').first().textContent()).toContain('<script>window.__xss=1</script>');
      expect(await page.evaluate(() => (globalThis as { __xss?: number }).__xss)).toBeUndefined();
      expect(await page.locator('img').count()).toBe(0);

      await page.locator('form:has(input[value="repush-abandoned"]) input[name="token"]').fill('e2e-token');
      await page.click('button:text-is("Retry abandoned jobs")');
      await page.waitForURL(/\/queue\?/);
      expect(await group.get('mail').getAbandonedCount()).toBe(0);
      expect(await group.get('mail').getSize()).toBe(2);

      await page.goto(base);
      expect(await ready.textContent()).toBe('2');
      expect(await page.locator('tr[data-type="mail"] td.abandoned').textContent()).toBe('0');
      mkdirSync('test-artifacts', { recursive: true });
      await page.screenshot({ path: join('test-artifacts', 'dashboard-overview.png'), fullPage: true });
      await page.click('tr[data-type="mail"] a');
      await page.screenshot({ path: join('test-artifacts', 'dashboard-queue.png'), fullPage: true });
      expect(dialogs).toEqual([]);

      // The auto-refresh script is allowed by the CSP (script-src 'self') and reloads the page.
      const refreshing = createServer(createDashboardHandler({ group, refreshSeconds: 1 }));
      await new Promise<void>((r) => refreshing.listen(0, '127.0.0.1', r));
      try {
        const errors: string[] = [];
        page.on('console', (m) => {
          if (m.type() === 'error') errors.push(m.text());
        });
        await page.goto(`http://127.0.0.1:${(refreshing.address() as AddressInfo).port}/`);
        await page.waitForEvent('load', { timeout: 10_000 });
        expect(errors).toEqual([]);
      } finally {
        await new Promise<void>((r) => refreshing.close(() => r()));
      }
    } finally {
      await browser.close();
      await new Promise<void>((r) => server.close(() => r()));
      await group.close();
    }
  }, 60_000);
});
