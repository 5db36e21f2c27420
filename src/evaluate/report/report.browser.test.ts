// The HTML report in a real browser (Debian's chromium, offline): charts visible, grades readable, no console errors.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { fixtureReport } from '../../testing/report-fixture.js';
import { renderReportHtml } from './html.js';
import { launchChromium, openOffline } from '../../testing/browser.js';

/** The browser to drive: Debian's package, never one downloaded by playwright. */
const executablePath = process.env.KAIROS_CHROMIUM ?? '/usr/bin/chromium';

describe('HTML report in chromium', () => {
  it('opens offline from file:// with every chart visible and the summary grades shown', async () => {
    if (!existsSync(executablePath)) {
      throw new Error(
        `chromium not found at ${executablePath}: install it with \`apt-get install -y chromium\` (CI installs it), or set KAIROS_CHROMIUM to a Chromium binary`,
      );
    }
    const dir = mkdtempSync(join(tmpdir(), 'kairos-report-'));
    const file = join(dir, 'report.html');
    writeFileSync(file, renderReportHtml(fixtureReport));
    const screenshot = process.env.KAIROS_REPORT_SCREENSHOT ?? join(dir, 'report.png');

    let browser: Browser | undefined;
    try {
      browser = await launchChromium(executablePath);
      const { page, problems, blocked } = await openOffline(browser, file);

      const charts = fixtureReport.scores.reduce((n, s) => n + s.charts.length, 0);
      const svgs = page.locator('figure.chart > svg');
      expect(await svgs.count()).toBe(charts);
      expect(await page.locator('svg').count()).toBe(charts);
      for (let i = 0; i < charts; i++) {
        const svg = svgs.nth(i);
        await svg.scrollIntoViewIfNeeded();
        expect(await svg.isVisible(), `chart ${i} visible`).toBe(true);
        const box = await svg.boundingBox();
        expect(box, `chart ${i} has a box`).not.toBeNull();
        expect(box?.width ?? 0).toBeGreaterThan(200);
        expect(box?.height ?? 0).toBeGreaterThan(100);
        expect(await svg.locator('path, text, rect').count(), `chart ${i} draws something`).toBeGreaterThan(10);
      }

      const rows = page.locator('table.summary tbody tr');
      expect(await rows.count()).toBe(fixtureReport.scores.length);
      const grades = await rows.locator('.grade').allInnerTexts();
      expect(grades).toEqual(fixtureReport.scores.map((s) => s.grade.grade));
      const verdicts = await rows.locator('td:last-child').allInnerTexts();
      expect(verdicts).toEqual(['beats baseline', 'beats baseline', 'does not beat baseline', 'beats baseline', 'beats baseline']);

      await page.screenshot({ path: screenshot, fullPage: true });
      console.log(`report screenshot: ${screenshot}`);

      expect(blocked, 'network requests (all must be file:)').toEqual([]);
      expect(problems).toEqual([]);
    } finally {
      await browser?.close();
      if (process.env.KAIROS_REPORT_SCREENSHOT === undefined) rmSync(dir, { recursive: true, force: true });
    }
  });
});
