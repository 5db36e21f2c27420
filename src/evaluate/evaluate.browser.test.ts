// The evaluate report of a real backtest (fixture shop) in headless chromium, offline: every chart drawn, grades shown, no errors.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG } from '../config.js';
import { fixtureStore } from '../testing/orders-fixture.js';
import { evaluateStore } from './evaluate.js';
import { renderReportHtml } from './report/html.js';
import { launchChromium, openOffline } from '../testing/browser.js';

/** Debian's chromium (CI installs it via .ci/run), never a browser downloaded by playwright. */
const executablePath = process.env.KAIROS_CHROMIUM ?? '/usr/bin/chromium';

describe('kairos evaluate report in chromium', () => {
  it('opens offline with every chart of the backtest visible and the grades in the summary', async () => {
    if (!existsSync(executablePath)) {
      throw new Error(`chromium not found at ${executablePath}: install it with \`apt-get install -y chromium\` (CI installs it), or set KAIROS_CHROMIUM`);
    }
    const dir = mkdtempSync(join(tmpdir(), 'kairos-evaluate-html-'));
    let browser: Browser | undefined;
    try {
      const store = await fixtureStore(dir, join(dir, 'k.duckdb'));
      const { report } = await (async () => {
        try {
          return await evaluateStore(store, { config: DEFAULT_CONFIG, calibrationEnd: '2023-08-31', holdout: '16w', dataset: 'fixture' });
        } finally {
          store.close();
        }
      })();
      const file = join(dir, 'report.html');
      writeFileSync(file, renderReportHtml(report));

      browser = await launchChromium(executablePath);
      const { page, problems, blocked } = await openOffline(browser, file);

      const expected = report.scores.flatMap((s) => s.charts.map((c) => c.kind));
      expect(expected).toEqual(expect.arrayContaining(['tracking', 'conditional-expectation', 'decile-lift', 'roc', 'reliability', 'decisive-moment']));
      const figures = page.locator('figure.chart');
      expect(await figures.count()).toBe(expected.length);
      for (let i = 0; i < expected.length; i++) {
        const figure = figures.nth(i);
        expect(await figure.getAttribute('class')).toContain(`chart-${expected[i]}`);
        const svg = figure.locator('svg');
        await svg.scrollIntoViewIfNeeded();
        expect(await svg.isVisible(), `chart ${i} (${expected[i]}) visible`).toBe(true);
        const box = await svg.boundingBox();
        expect(box?.width ?? 0).toBeGreaterThan(200);
        expect(box?.height ?? 0).toBeGreaterThan(100);
        expect(await svg.locator('path, text, rect').count(), `chart ${i} draws something`).toBeGreaterThan(10);
      }

      const rows = page.locator('table.summary tbody tr');
      expect(await rows.count()).toBe(report.scores.length);
      expect(await rows.locator('.grade').allInnerTexts()).toEqual(report.scores.map((s) => s.grade.grade));
      const body = await page.locator('body').innerText();
      expect(body).toContain('wins on this holdout');
      expect(body).not.toContain('NaN');

      expect(blocked, 'network requests (all must be file:)').toEqual([]);
      expect(problems).toEqual([]);
    } finally {
      await browser?.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
