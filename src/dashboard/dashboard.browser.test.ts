// The dashboard in Debian's headless chromium, served by the real server on 127.0.0.1 (nothing else reachable): sign-in,
// pages with their charts, no console error, a phone width without sideways scrolling, and the segment builder by keyboard
// only (tab to the filter, type, see the live count, save, export). A screenshot is saved when a step fails.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Browser, Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG } from '../config.js';
import { runScores } from '../scores/run.js';
import { compileSegmentFilter, countFilter } from '../segments/segments.js';
import { buildServer } from '../server/app.js';
import { createKey } from '../server/keys.js';
import { launchChromium } from '../testing/browser.js';
import { withDemoStore } from '../testing/demo-store.js';
import { dashboardPlugin } from './plugin.js';

// What page.evaluate runs in the page: the DOM's globals, typed here (the project compiles without the DOM library).
interface PageElement {
  matches(selector: string): boolean;
  readonly innerText: string;
}
declare const document: { readonly activeElement: PageElement | null; readonly documentElement: { readonly scrollWidth: number; readonly clientWidth: number } };
declare function getComputedStyle(element: PageElement): { readonly outlineStyle: string };

/** Debian's chromium (CI installs it), never a browser downloaded by playwright. */
const executablePath = process.env.KAIROS_CHROMIUM ?? '/usr/bin/chromium';
/** Where failure screenshots go (kept); default a temp folder named in the failure. */
const SHOTS = process.env.KAIROS_DASHBOARD_SCREENSHOTS ?? mkdtempSync(join(tmpdir(), 'kairos-dashboard-shots-'));
const FILTER = "frequency >= 2 and rfm_segment in ('Champions', 'Loyal')";

/** Presses Tab until the focused element matches `selector` (at most `max` presses); returns the presses. */
async function tabTo(page: Page, selector: string, max = 40): Promise<number> {
  for (let i = 1; i <= max; i++) {
    await page.keyboard.press('Tab');
    if (await page.evaluate((s) => document.activeElement?.matches(s) ?? false, selector)) return i;
  }
  throw new Error(`${selector} not reached in ${max} presses of Tab`);
}

/** Runs a step; on failure saves a screenshot of the page and names it in the error. */
async function step<T>(page: Page, name: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    const file = join(SHOTS, `${name.replace(/\W+/g, '-')}.png`);
    await page.screenshot({ path: file, fullPage: true }).catch(() => {});
    (err as Error).message = `${(err as Error).message}\n(screenshot: ${file})`;
    throw err;
  }
}

describe('dashboard in chromium', () => {
  it('signs in, draws every page offline, fits a phone, and builds, saves and exports a segment by keyboard only', async () => {
    if (!existsSync(executablePath)) {
      throw new Error(`chromium not found at ${executablePath}: install it with \`apt-get install -y chromium\` (CI installs it), or set KAIROS_CHROMIUM`);
    }
    await withDemoStore({ customers: 300, seed: 5 }, async (store) => {
      await runScores(store, { config: DEFAULT_CONFIG, asOf: '2025-01-01', scorers: ['rfm', 'clv'] });
      await runScores(store, { config: DEFAULT_CONFIG, asOf: '2025-07-01', scorers: ['rfm', 'clv'] });
      const { key } = await createKey(store, 'write');
      const want = await countFilter(store, await compileSegmentFilter(store, FILTER));
      expect(want).toBeGreaterThan(0);
      let app: FastifyInstance | undefined;
      let browser: Browser | undefined;
      const downloads = mkdtempSync(join(tmpdir(), 'kairos-dashboard-dl-'));
      try {
        app = await buildServer(store, { version: 'test', plugins: [dashboardPlugin] });
        const base = await app.listen({ host: '127.0.0.1', port: 0 });
        browser = await launchChromium(executablePath);
        const context = await browser.newContext({ viewport: { width: 1100, height: 900 }, acceptDownloads: true });
        const page = await context.newPage();
        const problems: string[] = [];
        const blocked: string[] = [];
        page.on('console', (m) => {
          if (m.type() === 'error') problems.push(`console: ${m.text()}`);
        });
        page.on('pageerror', (e) => problems.push(`page: ${e.message}`));
        await page.route('**', (route) => {
          const url = route.request().url();
          if (url.startsWith(base)) return route.continue();
          blocked.push(url);
          return route.abort();
        });

        await step(page, 'sign-in', async () => {
          await page.goto(`${base}/dashboard`);
          expect(page.url()).toBe(`${base}/dashboard/login?next=%2Fdashboard`);
          await tabTo(page, '#key');
          await page.keyboard.type(key);
          await page.keyboard.press('Enter');
          await page.waitForURL(`${base}/dashboard`);
          expect(await page.locator('h1').innerText()).toBe('Overview');
        });

        await step(page, 'pages', async () => {
          for (const path of ['/dashboard', '/dashboard/evolution?accuracy_run=1', '/dashboard/customers', '/dashboard/segments', '/dashboard/evaluations']) {
            await page.goto(`${base}${path}`);
            const svgs = page.locator('figure.chart svg');
            for (let i = 0; i < (await svgs.count()); i++) {
              const box = await svgs.nth(i).boundingBox();
              expect(box?.width ?? 0, `${path} chart ${i} width`).toBeGreaterThan(200);
              expect(await svgs.nth(i).getAttribute('aria-label'), `${path} chart ${i} named`).toBeTruthy();
            }
            if (path === '/dashboard') expect(await svgs.count()).toBeGreaterThanOrEqual(2);
            if (path.startsWith('/dashboard/evolution')) expect(await page.locator('section[aria-labelledby=accuracy]').innerText()).toMatch(/expected_purchases_90d[\s\S]*predicted on average/);
            expect(await page.locator('body').innerText()).not.toMatch(/NaN|undefined/);
          }
        });

        await step(page, 'phone', async () => {
          await page.setViewportSize({ width: 390, height: 844 });
          for (const path of ['/dashboard', '/dashboard/evolution', '/dashboard/segments']) {
            await page.goto(`${base}${path}`);
            const [scroll, width] = await page.evaluate(() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]);
            expect(scroll, `${path} scrolls sideways on a phone`).toBeLessThanOrEqual((width ?? 0) + 1);
          }
          await page.setViewportSize({ width: 1100, height: 900 });
        });

        await step(page, 'keyboard-builder', async () => {
          await page.goto(`${base}/dashboard/segments`);
          await tabTo(page, '#filter');
          // Focus is visible: the outline the stylesheet gives :focus-visible.
          expect(await page.evaluate(() => getComputedStyle(document.activeElement as PageElement).outlineStyle)).toBe('solid');
          await page.keyboard.type(FILTER);
          await expect.poll(() => page.locator('#live-count').innerText(), { timeout: 10_000 }).toBe(`${want.toLocaleString('en-US')} customers match now`);
          await tabTo(page, '#segment-name');
          await page.keyboard.type('keyboard keepers');
          await tabTo(page, 'button[type=submit]:not([disabled])');
          expect(await page.evaluate(() => (document.activeElement as PageElement).innerText)).toBe('Save segment');
          await page.keyboard.press('Enter');
          await page.waitForURL(`${base}/dashboard/segments/keyboard%20keepers`);
          expect(await page.locator('main').innerText()).toContain(`${want.toLocaleString('en-US')} customers match now`);
          await tabTo(page, 'form[action$="/export"] button[type=submit]', 120);
          const [download] = await Promise.all([page.waitForEvent('download'), page.keyboard.press('Enter')]);
          expect(download.suggestedFilename()).toBe('segment_keyboard_keepers_crm.csv');
          const file = join(downloads, 'segment.csv');
          await download.saveAs(file);
          const lines = readFileSync(file, 'utf8').trim().split('\n');
          expect(lines[0]?.startsWith('customer_id,')).toBe(true);
          expect(lines.length - 1).toBe(want);
        });

        expect(blocked, 'requests to anything but the server').toEqual([]);
        expect(problems).toEqual([]);
      } finally {
        await browser?.close();
        await app?.close();
        rmSync(downloads, { recursive: true, force: true });
      }
    });
    if (process.env.KAIROS_DASHBOARD_SCREENSHOTS === undefined) rmSync(SHOTS, { recursive: true, force: true });
  });
});
