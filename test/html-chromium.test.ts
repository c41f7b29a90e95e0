/**
 * The HTML report in a real browser: headless Chromium renders the fixture
 * report with hostile names; we check what a reader sees and that nothing
 * from the wire became markup.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { renderHtml } from '../src/report/html.js';
import type { Report } from '../src/report/schema.js';

const CHROMIUM = '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) console.warn(`html-chromium.test.ts skipped: ${CHROMIUM} is not installed (CI installs it)`);

const report = JSON.parse(readFileSync(new URL('./fixtures/reports/fail.json', import.meta.url), 'utf8')) as Report;
const dir = mkdtempSync(join(tmpdir(), 'spokecap-html-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.skipIf(!hasChromium && !process.env.CI)('HTML report in Chromium', () => {
  it('shows the verdict, findings and charts, runs no script and loads nothing', async () => {
    const file = join(dir, 'report.html');
    writeFileSync(file, renderHtml(report));
    // A persistent context is how Playwright takes a --user-data-dir: a fresh temp profile.
    const context = await chromium.launchPersistentContext(join(dir, 'profile'), {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1200, height: 900 },
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
    try {
      const page = await context.newPage();
      const problems: string[] = [];
      page.on('console', (m) => {
        if (m.type() === 'error' || m.type() === 'warning') problems.push(m.text());
      });
      page.on('pageerror', (e) => problems.push(e.message));
      page.on('dialog', (d) => {
        problems.push(`dialog: ${d.message()}`);
        void d.dismiss();
      });
      const requests: string[] = [];
      page.on('request', (r) => requests.push(r.url()));
      await page.goto(pathToFileURL(file).href);

      await expect(page.locator('#verdict').innerText()).resolves.toBe('FAIL — Spoke calls will not work on this network: 3 errors, 6 warnings');
      expect(await page.locator('#verdict').isVisible()).toBe(true);
      const refused = page.locator('.finding.error', { hasText: 'TCP to eventgw.twilio.com:443 is refused' });
      expect(await refused.isVisible()).toBe(true);
      expect(await refused.locator('code.copy').first().innerText()).toBe('allow outbound TCP 443 to eventgw.twilio.com');
      // The hostile SNI is shown as text, escapes and all.
      expect(await page.locator('.finding.error').first().innerText()).toContain('evil\\x1b[31m<script>alert(1)</script>\\x07.spokephone.com');

      expect(await page.locator('svg.chart').count()).toBe(3 * report.calls.length);
      const paths = await page.locator('svg.chart path.series').evaluateAll((els) => els.map((el) => (el.getAttribute('d') ?? '').length));
      expect(paths.length).toBeGreaterThanOrEqual(3 * report.calls.length);
      expect(paths.filter((n) => n > 20).length).toBeGreaterThan(0);
      const box = await page.locator('svg.chart').first().boundingBox();
      expect(box!.width).toBeGreaterThan(100);

      // Nothing from the fixture's names became an element, and the CSS applied (the CSP hash matches).
      expect(await page.locator('script, img, iframe, object, embed').count()).toBe(0);
      expect(await page.evaluate(() => document.querySelectorAll('[onerror], [onload], [onclick]').length)).toBe(0);
      expect(await page.locator('header.banner').evaluate((el) => getComputedStyle(el).backgroundColor)).toBe('rgb(179, 38, 30)');

      expect(problems).toEqual([]);
      expect(requests.filter((u) => !u.startsWith('file:'))).toEqual([]);

      const shot = join(dir, 'report.png');
      await page.screenshot({ path: shot, fullPage: true });
      expect(statSync(shot).size).toBeGreaterThan(10_000);
      // Set SPOKECAP_KEEP_SCREENSHOT=<file.png> to look at the rendering.
      if (process.env.SPOKECAP_KEEP_SCREENSHOT) writeFileSync(process.env.SPOKECAP_KEEP_SCREENSHOT, readFileSync(shot));
    } finally {
      await context.close();
    }
  });
});
