// The dashboard's pages on a large store, timed as a browser gets them from `kairos serve`: each page's first load and
// then the median of several loads, over HTTP on 127.0.0.1; with --browser, also in headless chromium (navigation to
// the load event). The server computes the latest run's aggregates once as it starts (before the first page here: the
// sign-in waits for it); the time each took is printed from dashboard_cache.
//
//   npx tsx bench/dashboard.ts [--customers 1000000] [--loads 5] [--browser] [--db STORE.duckdb]
//
// Without --db, builds (once, kept as bench/out/dashboard-N.duckdb) a store the user's way: the simulated purchase log
// of bench/purchase-log.ts ingested with `kairos ingest orders --preset cdnow`, then `kairos score --as-of 2025-01-01` and
// `kairos score` (two runs: evolution, drift, migration and live accuracy have something to compare). With --db, a copy
// of the store is timed (the store itself is left as it was). A saved segment, an API key and the fixture evaluation
// report are added to the copy. Results: stdout and bench/out/dashboard-results.json.
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { run } from '../src/cli/main.js';
import { DEFAULT_CONFIG } from '../src/config.js';
import { dashboardPlugin } from '../src/dashboard/plugin.js';
import { saveEvaluation } from '../src/evaluate/stored.js';
import { saveSegment } from '../src/segments/segments.js';
import { buildServer } from '../src/server/app.js';
import { createKey } from '../src/server/keys.js';
import { Store } from '../src/store/db.js';
import { fixtureReport } from '../src/testing/report-fixture.js';
import { machine, median, option } from './machine.js';
import { purchaseLog } from './purchase-log.js';

const OUT = resolve('bench/out');
const customers = Number(option('--customers', '1000000'));
const loads = Number(option('--loads', '5'));
const browserToo = process.argv.includes('--browser');
const given = option('--db', '');

async function kairos(argv: string[]): Promise<void> {
  const code = await run(argv, { out: () => {}, err: (s) => console.error(s), isTty: false });
  if (code !== 0) throw new Error(`kairos ${argv.join(' ')} exited ${code}`);
}

/** The store to time: the given one, or the one built (once) for `customers`. */
async function source(): Promise<string> {
  if (given) return resolve(given);
  const db = join(OUT, `dashboard-${customers}.duckdb`);
  if (existsSync(db)) return db;
  mkdirSync(OUT, { recursive: true });
  const { csv } = purchaseLog(OUT, customers, 42);
  const part = `${db}.part.duckdb`;
  rmSync(part, { force: true });
  const t0 = performance.now();
  await kairos(['--db', part, '--quiet', 'ingest', 'orders', csv, '--preset', 'cdnow', '--rejects-dir', join(OUT, 'kairos-rejects')]);
  console.log(`ingested in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  await kairos(['--db', part, '--quiet', 'score', '--as-of', '2025-01-01']);
  console.log(`first run in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  await kairos(['--db', part, '--quiet', 'score']);
  console.log(`second run in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  copyFileSync(part, db);
  rmSync(part, { force: true });
  return db;
}

const src = await source();
const dir = mkdtempSync(join(tmpdir(), 'kairos-bench-dashboard-'));
const db = join(dir, 'k.duckdb');
copyFileSync(src, db);
const store = await Store.open(db);
const info = await machine();
try {
  const runs = await store.all<{ run_id: number; as_of: string }>(`SELECT run_id, strftime(as_of, '%Y-%m-%d') AS as_of FROM score_runs WHERE status = 'completed' ORDER BY run_id`);
  const n = Number(await store.value('SELECT count(*) FROM customers'));
  const orders = Number(await store.value('SELECT count(*) FROM orders'));
  await saveSegment(store, { name: 'win-back', filter: 'clv_12m > 50 and p_alive < 0.5', replace: true });
  await saveEvaluation(store, fixtureReport);
  const { key } = await createKey(store, 'admin', 'bench');
  const customer = await store.value<string>('SELECT customer_id FROM customers ORDER BY hash(customer_id) LIMIT 1');
  const app = await buildServer(store, { version: 'bench', config: DEFAULT_CONFIG, plugins: [dashboardPlugin], rateLimit: { max: 1_000_000, timeWindowMs: 60_000 } });
  const base = await app.listen({ host: '127.0.0.1', port: 0 });
  try {
    const login = await fetch(`${base}/dashboard/login`, { method: 'POST', body: new URLSearchParams({ key }), redirect: 'manual' });
    const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0] as string;
    const pages: [string, string][] = [
      ['overview', '/dashboard'],
      ['evolution', '/dashboard/evolution'],
      [`evolution, live accuracy of run ${runs[0]?.run_id}`, `/dashboard/evolution?accuracy_run=${runs[0]?.run_id}`],
      ['customer', `/dashboard/customers/${encodeURIComponent(customer)}`],
      ['segments (builder)', '/dashboard/segments'],
      ['segment (size now: one count)', '/dashboard/segments/win-back'],
      ['live count (builder, JSON)', `/dashboard/api/count?filter=${encodeURIComponent('churn_risk > 0.6 and clv_12m > 100')}`],
      ['model quality', '/dashboard/evaluations'],
      ['evaluation report', '/dashboard/evaluations/1/report'],
    ];
    const rows: { page: string; path: string; firstMs: number; medianMs: number; bytes: number }[] = [];
    console.log(`${n.toLocaleString('en')} customers, ${orders.toLocaleString('en')} order lines, runs ${runs.map((r) => `${r.run_id} (${r.as_of})`).join(', ')}; load ${loadavg()[0]?.toFixed(1)} on ${info.nproc} cores`);
    for (const [name, path] of pages) {
      const times: number[] = [];
      let bytes = 0;
      for (let i = 0; i <= loads; i++) {
        const t0 = performance.now();
        const res = await fetch(`${base}${path}`, { headers: { cookie } });
        const body = await res.text();
        times.push(performance.now() - t0);
        if (res.status !== 200) throw new Error(`${path}: ${res.status} ${body.slice(0, 300)}`);
        bytes = body.length;
      }
      const [first, ...rest] = times as [number, ...number[]];
      rows.push({ page: name, path, firstMs: first, medianMs: median(rest), bytes });
      console.log(`${name.padEnd(40)} first ${first.toFixed(0).padStart(6)} ms   median of ${loads} ${median(rest).toFixed(0).padStart(5)} ms   ${(bytes / 1024).toFixed(0)} KiB`);
    }
    // What the server computed once at start (warm-up) or on a first view, and how long it took: kept with the aggregates.
    const computed = await store.all<{ name: string; run_id: number; seconds: number }>('SELECT name, run_id, seconds FROM dashboard_cache ORDER BY run_id, name');
    for (const c of computed) console.log(`computed once: ${c.name} of run ${c.run_id} in ${c.seconds.toFixed(2)} s`);
    let browser: { page: string; medianMs: number }[] = [];
    if (browserToo) {
      const { launchChromium } = await import('../src/testing/browser.js');
      const chromium = await launchChromium(process.env.KAIROS_CHROMIUM ?? '/usr/bin/chromium');
      try {
        const context = await chromium.newContext();
        await context.addCookies([{ name: 'kairos_session', value: cookie.split('=')[1] as string, url: base }]);
        const page = await context.newPage();
        for (const [name, path] of pages.filter(([, p]) => !p.includes('/api/'))) {
          const times: number[] = [];
          for (let i = 0; i < loads; i++) {
            const t0 = performance.now();
            await page.goto(`${base}${path}`, { waitUntil: 'load' });
            times.push(performance.now() - t0);
          }
          browser.push({ page: name, medianMs: median(times) });
          console.log(`browser: ${name.padEnd(40)} median of ${loads} ${median(times).toFixed(0).padStart(5)} ms (navigation to the load event)`);
        }
      } finally {
        await chromium.close();
      }
    } else browser = [];
    mkdirSync(OUT, { recursive: true });
    writeFileSync(join(OUT, 'dashboard-results.json'), JSON.stringify({ machine: info, customers: n, orders, runs, loads, computed, pages: rows, browser, loadAtEnd: loadavg()[0] }, null, 2));
  } finally {
    await app.close();
  }
} finally {
  store.close();
  rmSync(dir, { recursive: true, force: true });
}
