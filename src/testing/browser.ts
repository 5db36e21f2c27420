// Opening a local HTML file in Debian's headless Chromium with every network request blocked (for report tests).
import { pathToFileURL } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';

/** The flags the brief prescribes for headless Chromium on this machine. */
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'];

export interface OfflinePage {
  readonly page: Page;
  /** Console and page errors seen so far. */
  readonly problems: string[];
  /** URLs the page tried to reach (all refused: only file: is allowed). */
  readonly blocked: string[];
}

/** Launches Chromium at `executablePath`; close it in `finally`. */
export function launchChromium(executablePath: string): Promise<Browser> {
  return chromium.launch({ executablePath, args: CHROMIUM_ARGS });
}

/** Opens `file` in a new page of `browser`, recording errors and refusing every request but file: ones. */
export async function openOffline(browser: Browser, file: string): Promise<OfflinePage> {
  const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
  const problems: string[] = [];
  const blocked: string[] = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error') problems.push(`console error: ${msg.text()}`);
  });
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  await page.route('**', (route) => {
    const url = route.request().url();
    if (url.startsWith('file:')) return route.continue();
    blocked.push(url);
    return route.abort();
  });
  await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
  return { page, problems, blocked };
}
