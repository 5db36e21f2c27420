// The floor of the user's path: what DuckDB alone needs for the least work any ingest + score must do, with no
// checks, no rejects accounting, no duplicates, no model. It bounds from below what `kairos ingest` + `kairos score`
// can reach with DuckDB as the store (issue #9, item 2), measured the way bench/user-path.ts measures the product:
// each step its own Node process, wall time and peak RSS per child.
//
//   npx tsx bench/floor.ts [--sizes 100000,1000000] [--runs 3]
//
// Steps, each a child process running plain JavaScript against @duckdb/node-api (256MB, as `kairos score`):
//   node      `node -e ""`: Node's own start.
//   open      load DuckDB, open a file store, close.
//   ingest    load DuckDB, CREATE TABLE lines AS SELECT * FROM read_csv(FILE) with the columns' types given, close.
//   score     load DuckDB, one GROUP BY customer (lines, first and last date, spend), 20 score columns by arithmetic
//             on it written into a history table (one wide row per customer), close.
// The files are bench/user-path.ts's (bench/purchase-log.ts, seed 42); they are made if missing.
// Results go to stdout and bench/out/floor-results.json.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { resolve } from 'node:path';
import { median, options, sec } from './machine.js';

const OUT = resolve('bench/out');
const sizes = (options('--sizes')[0] ?? '100000,1000000').split(',').map(Number);
const runs = Number(options('--runs')[0] ?? '3');
mkdirSync(OUT, { recursive: true });

const LOAD = `const { createRequire } = require('node:module'); const duck = require(${JSON.stringify(resolve('node_modules/@duckdb/node-api'))});`;
const OPEN = `${LOAD} const inst = await duck.DuckDBInstance.create(process.argv[1], { memory_limit: '256MB' }); const c = await inst.connect();`;
const CLOSE = `c.closeSync(); inst.closeSync();`;
const REPORT = `process.on('exit', () => { process.stderr.write('\\nrss-kb ' + process.resourceUsage().maxRSS); });`;

const steps = {
  open: `${OPEN} ${CLOSE}`,
  ingest: `${OPEN} await c.run("CREATE TABLE lines AS SELECT * FROM read_csv('" + process.argv[2] + "', header = true, columns = {'customer_id': 'VARCHAR', 'date': 'DATE', 'amount': 'DECIMAL(18,2)'})"); ${CLOSE}`,
  score: `${OPEN}
    await c.run("CREATE TEMP TABLE s AS SELECT customer_id, count(*) AS n, min(date) AS first, max(date) AS last, sum(amount)::DOUBLE AS spend FROM lines GROUP BY customer_id");
    const cols = Array.from({ length: 20 }, (_, i) => '(n * ' + (i + 1) + ' + spend / (1 + date_diff(\\'day\\', first, last)))::DOUBLE AS s' + i).join(', ');
    await c.run('CREATE TABLE history AS SELECT 1 AS run_id, customer_id, ' + cols + ' FROM s');
    ${CLOSE}`,
} as const;

const run = (name: string, code: string, args: string[]): { s: number; mb: number } => {
  const started = performance.now();
  const p = spawnSync(process.execPath, ['--input-type=commonjs', '-e', `${REPORT} (async () => { ${code} })().catch((e) => { console.error(e); process.exit(1); });`, ...args], { encoding: 'utf8' });
  const s = (performance.now() - started) / 1000;
  if (p.status !== 0) throw new Error(`${name} failed (${p.status}):\n${p.stderr}`);
  return { s, mb: Number(/rss-kb (\d+)/.exec(p.stderr)?.[1]) / 1024 };
};

const results = [];
for (const size of sizes) {
  const file = resolve(OUT, `purchases-${size}-seed42.csv`);
  if (!existsSync(file)) {
    const made = spawnSync(process.execPath, ['--import', 'tsx', 'bench/purchase-log.ts', '--customers', String(size)], { stdio: 'inherit' });
    if (made.status !== 0 || !existsSync(file)) throw new Error(`could not make ${file}`);
  }
  const db = resolve(OUT, `floor-${size}.duckdb`);
  const times: Record<string, number[]> = { node: [], open: [], ingest: [], score: [], total: [] };
  const peaks: Record<string, number[]> = { ingest: [], score: [] };
  const loads: number[] = [];
  for (let r = 0; r < runs; r++) {
    loads.push(loadavg()[0] ?? 0);
    rmSync(db, { force: true });
    rmSync(`${db}.wal`, { force: true });
    const started = performance.now();
    times['node']?.push(run('node', '', []).s);
    times['open']?.push(run('open', steps.open, [resolve(OUT, 'floor-empty.duckdb')]).s);
    rmSync(resolve(OUT, 'floor-empty.duckdb'), { force: true });
    const ingest = run('ingest', steps.ingest, [db, file]);
    const score = run('score', steps.score, [db]);
    times['ingest']?.push(ingest.s);
    times['score']?.push(score.s);
    times['total']?.push(ingest.s + score.s);
    peaks['ingest']?.push(ingest.mb);
    peaks['score']?.push(score.mb);
    void started;
  }
  rmSync(db, { force: true });
  const row = { size, loads, runs: times, medians: Object.fromEntries(Object.entries(times).map(([k, v]) => [k, Number(sec(median(v)))])), peakMB: Object.fromEntries(Object.entries(peaks).map(([k, v]) => [k, Math.round(Math.max(...v))])) };
  results.push(row);
  console.log(`${size} customers, load ${Math.min(...loads).toFixed(1)}-${Math.max(...loads).toFixed(1)}:`);
  for (const [k, v] of Object.entries(times)) console.log(`  ${k.padEnd(7)} ${v.map(sec).join(', ')}  median ${sec(median(v))} s${peaks[k] ? `  peak ${Math.round(Math.max(...(peaks[k] ?? [])))} MB` : ''}`);
}
writeFileSync(resolve(OUT, 'floor-results.json'), JSON.stringify(results, null, 2));
