// Incremental ingest benchmark (issue #9, items 2 and 6): a day's file of 10,000 order lines into a store that holds the
// 10M-line synthetic file, and the 10M file again into that store (every line already stored), each through the CLI.
//
//   npm run build && npx tsx bench/ingest-daily.ts [--runs 3] [--cases daily,empty,reingest] [--kairos DIR]
//
// The store of the 10M file (bench/out/orders-10000000-c200000-bad1000000.csv, made by make-orders.ts) is ingested
// once into bench/out/daily-base-10000000.duckdb and copied for each run (the copy is not timed). Cases:
//   daily     `kairos ingest orders DAYFILE` into a copy of the 10M store;
//   empty     the same day file into an empty store: the cost of the file alone, the figure `daily` should stay near;
//   reingest  `kairos ingest orders` of the whole 10M file into a copy of the 10M store (every valid line a duplicate).
// Each run is `node DIR/bin/kairos.js --db COPY --json ingest orders FILE` under GNU time (wall seconds, max RSS), in
// its own process, paired with a reference just before it: DuckDB's `SELECT count(*) FROM read_csv(FILE)` in a
// child. --kairos DIR runs another build (e.g. an older commit's: see docs/benchmarks.md) for before/after figures.
// Every run is checked: read = loaded + rejected + duplicates, the expected figures of its case, the line numbers in
// its rejects file; a wrong run is reported and makes the exit code 1. Results go to stdout and
// bench/out/ingest-daily-results.json (-other-build.json with --kairos).
import { spawnSync } from 'node:child_process';
import { copyFileSync, createReadStream, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import type { IngestReport } from '../src/ingest/ingest.js';
import { quoteLiteral } from '../src/store/db.js';
import { child, machine, median, option, referenceSeconds, sec } from './machine.js';
import { ordersFile } from './make-orders.js';

const OUT = resolve('bench/out');
const LINES = 10_000_000;
/** As in bench/ingest.ts: every BAD_EVERY-th line of the 10M file has quantity "abc" and is rejected. */
const BAD_EVERY = 1_000_000;
const DAY_LINES = 10_000;
/** Lines of the day file copied from the 10M file (already stored: duplicates), one every DAY_LINES / STORED_COPIES. */
const STORED_COPIES = 10;
/** The line of the day file (1 = header) whose quantity is "abc": its only reject. */
const DAY_BAD_LINE = 5_002;

/**
 * Writes a day's orders file of `lines` lines: new orders (ids after the 10M file's) dated 2025-01-01, 80% for
 * customers of the 10M file and 20% for new ones, 1% of lines for new products; `stored` lines of the 10M file
 * (already in the store) spread through it, and quantity "abc" on line DAY_BAD_LINE. Deterministic.
 */
function makeDayCsv(path: string, lines: number, stored: readonly string[]): void {
  let seed = 7;
  const rand = (): number => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) / 4294967296;
  };
  const out: string[] = ['order_id,customer_id,ordered_at,product_id,quantity,unit_price,discount,status'];
  const every = Math.floor(lines / Math.max(1, stored.length));
  let order = 9_000_000;
  let newCustomer = 200_000;
  while (out.length <= lines) {
    order++;
    const customer = rand() < 0.8 ? `C${Math.floor(rand() * 200_000)}` : `C${newCustomer++}`;
    const when = new Date(Date.UTC(2025, 0, 1) + Math.floor(rand() * 86_400_000)).toISOString().slice(0, 19) + 'Z';
    const n = 1 + Math.floor(rand() * 4);
    for (let k = 0; k < n && out.length <= lines; k++) {
      const i = out.length; // the data line this one becomes (1-based)
      if (i % every === 0 && i / every <= stored.length) {
        out.push(stored[i / every - 1] as string);
        continue;
      }
      const product = rand() < 0.01 ? `P${5000 + Math.floor(rand() * 20)}` : `P${Math.floor(rand() * 5000)}`;
      const qty = rand() < 0.02 ? -1 : 1 + Math.floor(rand() * 3);
      const price = (1 + rand() * 99).toFixed(2);
      const discount = rand() < 0.1 ? '1.00' : '0';
      out.push(`O${order},${customer},${when},${product},${i + 1 === DAY_BAD_LINE ? 'abc' : qty},${price},${discount},${qty < 0 ? 'returned' : 'completed'}`);
    }
  }
  writeFileSync(`${path}.part`, `${out.join('\n')}\n`);
  renameSync(`${path}.part`, path);
}

/** `count` valid lines of `file`, spread through it (never one of its rejected lines). */
async function storedLines(file: string, count: number): Promise<string[]> {
  const wanted = new Set(Array.from({ length: count }, (_, k) => 2 + Math.floor(((k + 0.5) * LINES) / count)));
  const found: string[] = [];
  let line = 0;
  for await (const text of createInterface({ input: createReadStream(file) })) {
    line++;
    if (wanted.has(line) && !text.includes(',abc,')) found.push(text);
    if (found.length === count) break;
  }
  return found;
}

interface CliRun {
  readonly seconds: number;
  readonly maxRssMb: number;
  readonly cpuSeconds: number;
  readonly totals: IngestReport['totals'];
  /** Line numbers in the rejects file the command wrote. */
  readonly rejectLines: readonly number[];
}

/** `node DIR/bin/kairos.js --db DB --json ingest orders FILE` under GNU time: wall seconds, max RSS, the report. */
function cliIngest(kairos: string, db: string, file: string): CliRun {
  const args = ['-f', 'TIME %e %M %U %S', process.execPath, resolve(kairos, 'bin/kairos.js'), '--db', db, '--json', 'ingest', 'orders', file, '--rejects-dir', resolve(OUT, 'rejects')];
  const r = spawnSync('/usr/bin/time', args, { encoding: 'utf8', maxBuffer: 64 * 2 ** 20 });
  const timeLine = r.stderr.split('\n').find((l) => l.startsWith('TIME '));
  if (r.status !== 0 || !timeLine) throw new Error(`kairos ingest failed (${r.status}):\n${r.stderr}\n${r.stdout.slice(0, 2000)}`);
  const [, wall, rssKb, user, system] = timeLine.split(' ').map(Number) as [number, number, number, number, number];
  const report = JSON.parse(r.stdout) as IngestReport;
  const rejectsFile = report.files[0]?.rejectsFile;
  // file,line,reason,raw: the file (a path without commas here) then the line.
  const rejectLines = rejectsFile ? readFileSync(rejectsFile, 'utf8').trim().split('\n').slice(1).map((l) => Number(l.split(',')[1])) : [];
  return { seconds: wall, maxRssMb: rssKb / 1024, cpuSeconds: user + system, totals: report.totals, rejectLines };
}

/** The store holding the 10M file, made once (by this tree's CLI) and reused. */
function baseStore(file: string): string {
  const db = resolve(OUT, `daily-base-${LINES}.duckdb`);
  if (existsSync(db)) return db;
  const part = `${db}.part.duckdb`;
  for (const f of [part, `${part}.wal`]) rmSync(f, { force: true });
  const r = cliIngest('.', part, file);
  console.log(`base store: ${sec(r.seconds)} s, ${r.maxRssMb.toFixed(0)} MB, ${JSON.stringify(r.totals)}`);
  renameSync(part, db);
  return db;
}

interface Case {
  readonly name: string;
  readonly file: string;
  /** The store copied before each run, or null for an empty store. */
  readonly from: string | null;
  readonly expected: IngestReport['totals'];
  readonly rejectLines: readonly number[];
}

async function main(): Promise<void> {
  const runs = Number(option('--runs', '3'));
  const names = option('--cases', 'daily,empty,reingest').split(',');
  const kairos = resolve(option('--kairos', '.'));
  if (!existsSync(resolve(kairos, 'dist/cli/main.js'))) throw new Error(`${kairos}/dist is missing: run \`npm run build\` there first`);
  mkdirSync(OUT, { recursive: true });
  const info = await machine();
  console.log(`machine: ${JSON.stringify(info)}`);
  const big = await ordersFile(OUT, LINES, { badEvery: BAD_EVERY });
  const base = baseStore(big);
  const day = resolve(OUT, `orders-day-${DAY_LINES}.csv`);
  if (!existsSync(day)) makeDayCsv(day, DAY_LINES, await storedLines(big, STORED_COPIES));
  const bigRejects = Math.floor(LINES / BAD_EVERY);
  const dayExpected = { read: DAY_LINES, loaded: DAY_LINES - 1 - STORED_COPIES, rejected: 1, duplicates: STORED_COPIES };
  const bigRejectLines = Array.from({ length: bigRejects }, (_, k) => 1 + (k + 1) * BAD_EVERY);
  const cases: Record<string, Case> = {
    daily: { name: 'daily', file: day, from: base, expected: dayExpected, rejectLines: [DAY_BAD_LINE] },
    empty: { name: 'empty', file: day, from: null, expected: { ...dayExpected, loaded: DAY_LINES - 1, duplicates: 0 }, rejectLines: [DAY_BAD_LINE] },
    reingest: {
      name: 'reingest',
      file: big,
      from: base,
      expected: { read: LINES, loaded: 0, rejected: bigRejects, duplicates: LINES - bigRejects },
      rejectLines: bigRejectLines,
    },
  };
  const db = resolve(OUT, 'daily-run.duckdb');
  const results = [];
  let wrong = false;
  for (const name of names) {
    const c = cases[name];
    if (!c) throw new Error(`unknown case "${name}" (expected ${Object.keys(cases).join(', ')})`);
    const runsOf = [];
    for (let i = 0; i < runs; i++) {
      for (const f of [db, `${db}.wal`]) rmSync(f, { force: true });
      if (c.from) copyFileSync(c.from, db);
      const reference = child<{ seconds: number }>('bench/ingest-daily.ts', ['--child', 'reference', c.file]).seconds;
      const load = loadavg()[0] ?? 0;
      const run = cliIngest(kairos, db, c.file);
      const problems = JSON.stringify(run.totals) === JSON.stringify(c.expected) ? [] : [`counts ${JSON.stringify(run.totals)}, expected ${JSON.stringify(c.expected)}`];
      if (run.totals.read !== run.totals.loaded + run.totals.rejected + run.totals.duplicates) problems.push('counts do not reconcile');
      if (run.rejectLines.join() !== c.rejectLines.join()) problems.push(`reject lines ${run.rejectLines.join()}, expected ${c.rejectLines.join()}`);
      wrong ||= problems.length > 0;
      runsOf.push({ ...run, referenceSeconds: reference, ratio: run.seconds / reference, load, problems });
      console.log(
        `  ${name} run ${i + 1}: ${sec(run.seconds)} s (reference ${sec(reference)} s), peak RSS ${run.maxRssMb.toFixed(0)} MB, ` +
          `cpu ${sec(run.cpuSeconds)} s, load ${load.toFixed(1)}, ${JSON.stringify(run.totals)}${problems.length ? ` WRONG: ${problems.join('; ')}` : ''}`,
      );
    }
    results.push({
      name,
      file: c.file,
      runs: runsOf,
      medianSeconds: median(runsOf.map((r) => r.seconds)),
      medianReferenceSeconds: median(runsOf.map((r) => r.referenceSeconds)),
      medianRssMb: median(runsOf.map((r) => r.maxRssMb)),
      maxRssMb: Math.max(...runsOf.map((r) => r.maxRssMb)),
    });
  }
  for (const f of [db, `${db}.wal`]) rmSync(f, { force: true });
  const loadAtEnd = loadavg()[0] ?? 0;
  console.log('\ncase       median s   reference s   peak RSS MB (median / max)   per run s');
  for (const r of results) {
    console.log(
      `${r.name.padEnd(9)} ${sec(r.medianSeconds).padStart(9)}   ${sec(r.medianReferenceSeconds).padStart(11)}   ` +
        `${r.medianRssMb.toFixed(0).padStart(11)} / ${r.maxRssMb.toFixed(0).padEnd(13)}   ${r.runs.map((x) => sec(x.seconds)).join(', ')}`,
    );
  }
  console.log(`load average: ${info.loadAtStart.toFixed(1)} at start, ${loadAtEnd.toFixed(1)} at end (nproc ${info.nproc}); kairos ${kairos}`);
  const out = resolve(OUT, `ingest-daily-results${kairos === resolve('.') ? '' : '-other-build'}.json`);
  writeFileSync(out, JSON.stringify({ machine: info, kairos, loadAtEnd, date: new Date().toISOString(), results }, null, 2));
  if (wrong) process.exitCode = 1;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const i = process.argv.indexOf('--child');
  if (i >= 0) {
    const file = process.argv[i + 2] ?? '';
    console.log(JSON.stringify({ seconds: await referenceSeconds(`SELECT count(*) FROM read_csv(${quoteLiteral(file)})`) }));
  } else {
    await main();
  }
}
