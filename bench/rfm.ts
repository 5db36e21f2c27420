// RFM benchmark: wall time and peak RSS of a scoring run (runScores with scorers ['rfm']) on a store of 1,000,000
// customers, each run in a fresh child process on a fresh copy of the same ingested store, against a DuckDB reference.
//
//   npx tsx bench/rfm.ts [--runs 3] [--lines 3500000] [--customers 1000000]
//
// The orders file (every customer orders at least once; ~1.4 orders and ~3.5 lines per customer) is made once by
// make-orders.ts and ingested once into bench/out/rfm-base-*.duckdb; each run scores a copy of that store, so every run
// starts from the same file (a run appends to score_history). The reference, in its own child just before each run, is
// a per-order then per-customer aggregation over the same store's orders, the shape of RFM's own first step.
import { copyFileSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { DEFAULT_CONFIG } from '../src/config.js';
import { ingest } from '../src/ingest/ingest.js';
import { runScores } from '../src/scores/run.js';
import { Store } from '../src/store/db.js';
import { child, machine, median, option, referenceSeconds, sec } from './machine.js';
import { ordersFile } from './make-orders.js';

const OUT = resolve('bench/out');

const REFERENCE_SQL = `SELECT count(*), sum(net) FROM (
  SELECT customer_id, sum(net) AS net FROM (SELECT customer_id, order_id, sum(amount) AS net FROM orders GROUP BY ALL) GROUP BY ALL)`;

interface ScoreRun {
  /** runScores alone, seconds. */
  readonly seconds: number;
  readonly openSeconds: number;
  readonly closeSeconds: number;
  readonly cpuSeconds: number;
  readonly maxRssMb: number;
  readonly customers: number;
  readonly buyers: number;
  readonly segments: number;
}

async function childScore(db: string): Promise<ScoreRun> {
  const t0 = performance.now();
  const store = await Store.open(db);
  const t1 = performance.now();
  const cpu0 = process.cpuUsage();
  const summary = await runScores(store, { config: DEFAULT_CONFIG, scorers: ['rfm'] });
  const cpu = process.cpuUsage(cpu0);
  const t2 = performance.now();
  const check = await store.one<{ buyers: number; segments: number }>(
    'SELECT count(*) FILTER (WHERE frequency > 0) AS buyers, count(DISTINCT rfm_segment) AS segments FROM scores_rfm',
  );
  const t3 = performance.now();
  store.close();
  const t4 = performance.now();
  return {
    seconds: (t2 - t1) / 1000,
    openSeconds: (t1 - t0) / 1000,
    closeSeconds: (t4 - t3) / 1000,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    maxRssMb: process.resourceUsage().maxRSS / 1024,
    customers: summary.customers,
    buyers: Number(check?.buyers ?? 0),
    segments: Number(check?.segments ?? 0),
  };
}

async function childIngest(file: string, db: string): Promise<{ seconds: number; maxRssMb: number; customers: number; orders: number }> {
  for (const f of [db, `${db}.wal`]) rmSync(f, { force: true });
  const started = performance.now();
  const store = await Store.open(db);
  await ingest(store, { entity: 'orders', files: [file], rejectsDir: resolve(OUT, 'rejects') });
  const customers = Number(await store.value('SELECT count(*) FROM customers'));
  const orders = Number(await store.value('SELECT count(*) FROM orders'));
  store.close();
  return { seconds: (performance.now() - started) / 1000, maxRssMb: process.resourceUsage().maxRSS / 1024, customers, orders };
}

async function main(): Promise<void> {
  const runs = Number(option('--runs', '3'));
  const lines = Number(option('--lines', '3500000'));
  const customers = Number(option('--customers', '1000000'));
  mkdirSync(OUT, { recursive: true });
  const info = await machine();
  console.log(`machine: ${JSON.stringify(info)}`);
  const file = await ordersFile(OUT, lines, { customers, everyCustomer: true });
  const base = resolve(OUT, `rfm-base-${lines}-c${customers}.duckdb`);
  const copy = resolve(OUT, 'rfm-run.duckdb');
  if (!existsSync(base)) {
    const r = child<{ seconds: number; maxRssMb: number; customers: number; orders: number }>('bench/rfm.ts', ['--child', 'ingest', file, base]);
    console.log(`ingested ${file} once: ${sec(r.seconds)} s, peak RSS ${r.maxRssMb.toFixed(0)} MB, ${r.customers} customers, ${r.orders} order lines`);
  }
  const results: (ScoreRun & { referenceSeconds: number; ratio: number })[] = [];
  for (let i = 0; i < runs; i++) {
    const reference = child<{ seconds: number }>('bench/rfm.ts', ['--child', 'reference', base]).seconds;
    for (const f of [copy, `${copy}.wal`]) rmSync(f, { force: true });
    copyFileSync(base, copy);
    const run = child<ScoreRun>('bench/rfm.ts', ['--child', 'score', copy]);
    if (run.customers !== customers) throw new Error(`scored ${run.customers} customers, expected ${customers}`);
    results.push({ ...run, referenceSeconds: reference, ratio: run.seconds / reference });
    console.log(
      `  run ${i + 1}: runScores ${sec(run.seconds)} s (reference ${sec(reference)} s, ratio ${(run.seconds / reference).toFixed(1)}), ` +
        `open ${sec(run.openSeconds)} s, close ${sec(run.closeSeconds)} s, peak RSS ${run.maxRssMb.toFixed(0)} MB, cpu ${sec(run.cpuSeconds)} s, ` +
        `${run.customers} customers (${run.buyers} buyers, ${run.segments} segments)`,
    );
  }
  rmSync(copy, { force: true });
  const summary = {
    medianSeconds: median(results.map((r) => r.seconds)),
    medianReferenceSeconds: median(results.map((r) => r.referenceSeconds)),
    medianRatio: median(results.map((r) => r.ratio)),
    medianRssMb: median(results.map((r) => r.maxRssMb)),
    maxRssMb: Math.max(...results.map((r) => r.maxRssMb)),
  };
  console.log(
    `\nrfm on ${customers} customers: median ${sec(summary.medianSeconds)} s (per run ${results.map((r) => sec(r.seconds)).join(', ')}), ` +
      `reference ${sec(summary.medianReferenceSeconds)} s, ratio ${summary.medianRatio.toFixed(1)}, peak RSS median ${summary.medianRssMb.toFixed(0)} MB (max ${summary.maxRssMb.toFixed(0)})`,
  );
  const loadAtEnd = loadavg()[0] ?? 0;
  console.log(`load average: ${info.loadAtStart.toFixed(1)} at start, ${loadAtEnd.toFixed(1)} at end (nproc ${info.nproc})`);
  writeFileSync(resolve(OUT, 'rfm-results.json'), JSON.stringify({ machine: info, loadAtEnd, date: new Date().toISOString(), file, lines, customers, results, summary }, null, 2));
}

async function childMain(mode: string, rest: readonly string[]): Promise<void> {
  const [a = '', b = ''] = rest;
  if (mode === 'score') console.log(JSON.stringify(await childScore(a)));
  else if (mode === 'ingest') console.log(JSON.stringify(await childIngest(a, b)));
  else if (mode === 'reference') console.log(JSON.stringify({ seconds: await referenceSeconds(REFERENCE_SQL, a) }));
  else throw new Error(`unknown child mode ${mode}`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const i = process.argv.indexOf('--child');
  await (i >= 0 ? childMain(process.argv[i + 1] ?? '', process.argv.slice(i + 2)) : main());
}
