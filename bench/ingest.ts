// Ingest benchmark: wall time and peak RSS of a full `ingest()` (fresh store) on UCI Online Retail and on a synthetic
// 10M-line orders file, and the same through the CLI; each run in a fresh child process, against a DuckDB reference.
//
//   npx tsx bench/ingest.ts [--runs 3] [--cases retail,orders,cli] [--lines 10000000] [--memory-limit 1.5GB] [--src DIR]
//
// Cases: retail (541,909 rows, --preset online-retail), orders (synthetic, made once by make-orders.ts under
// bench/out/), cli (`node bin/kairos.js --db ... ingest orders FILE` on the synthetic file; needs `npm run build`),
// reingest (the synthetic file ingested twice into one store: the second run, all duplicates, is timed).
// Each run is paired with a reference run just before it, in its own child: DuckDB's
// `SELECT count(*) FROM read_csv(FILE)` on the same file. The ratio ingest / reference is the figure that carries
// across machines and across the load of a shared machine. --memory-limit opens the store of the ingest() cases with
// Store.open(path, { memoryLimit }) (DuckDB's memory_limit; the CLI uses DuckDB's default, 80% of RAM).
// --src DIR runs the ingest() cases with the store and ingest modules of another source tree, e.g. an older commit's
// (`git archive COMMIT src | tar -x -C bench/out/before`, then --src bench/out/before/src), for before/after figures.
// A run whose counts or reject lines are wrong is reported and makes the exit code 1.
// Results go to stdout and bench/out/ingest-results[-LIMIT].json.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { IngestOptions, IngestReport } from '../src/ingest/ingest.js';
import { quoteLiteral, type Store, type StoreOptions } from '../src/store/db.js';
import { child, machine, median, option, referenceSeconds, sec } from './machine.js';
import { ordersFile } from './make-orders.js';

const OUT = resolve('bench/out');
const RETAIL = resolve('../shared/data/online_retail/online_retail.csv.gz');
const RETAIL_ROWS = 541_909;
/** The synthetic file has quantity "abc" on every BAD_EVERY-th order line: its rejects must name exactly those lines. */
const BAD_EVERY = 1_000_000;

interface IngestRun {
  /** Store.open on a fresh file + ingest() + close(), seconds. */
  readonly seconds: number;
  readonly openSeconds: number;
  readonly ingestSeconds: number;
  readonly closeSeconds: number;
  readonly cpuSeconds: number;
  /** process.resourceUsage().maxRSS: Node and DuckDB's native memory. */
  readonly maxRssMb: number;
  readonly totals: IngestReport['totals'];
  readonly rejectLines: readonly number[];
}

interface CaseResult {
  readonly name: string;
  readonly command: string;
  readonly file: string;
  readonly fileMb: number;
  readonly runs: readonly (IngestRun & { referenceSeconds: number; ratio: number })[];
  readonly medianSeconds: number;
  readonly medianReferenceSeconds: number;
  readonly medianRatio: number;
  readonly medianRssMb: number;
  readonly maxRssMb: number;
  /** Wrong counts or reject lines, per run (empty when every check passed). */
  readonly problems: readonly string[];
}

// ---- child processes: one measurement each -------------------------------------------------------------------------

interface Modules {
  readonly open: (path: string, options: StoreOptions) => Promise<Store>;
  readonly ingest: (store: Store, options: IngestOptions) => Promise<IngestReport>;
}

/** Store.open and ingest from `src` (this tree's src/ by default). */
async function modules(src: string): Promise<Modules> {
  const db = (await import(pathToFileURL(resolve(src, 'store/db.ts')).href)) as { Store: { open: Modules['open'] } };
  const ing = (await import(pathToFileURL(resolve(src, 'ingest/ingest.ts')).href)) as { ingest: Modules['ingest'] };
  return { open: (path, options) => db.Store.open(path, options), ingest: ing.ingest };
}

async function childIngest(file: string, preset: string | undefined, db: string, twice: boolean, memoryLimit: string | undefined, src: string): Promise<IngestRun> {
  const { open, ingest } = await modules(src);
  const storeOptions = memoryLimit ? { memoryLimit } : {};
  for (const f of [db, `${db}.wal`]) rmSync(f, { force: true });
  const rejectsDir = resolve(OUT, 'rejects');
  const options = { entity: 'orders' as const, files: [file], rejectsDir, ...(preset ? { preset } : {}) };
  if (twice) {
    // The first ingest fills the store; only the second (every row a duplicate) is measured.
    const store = await open(db, storeOptions);
    await ingest(store, options);
    store.close();
  }
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const store = await open(db, storeOptions);
  const t1 = performance.now();
  const report = await ingest(store, options);
  const t2 = performance.now();
  const rejectLines = (await store.all<{ line: number }>('SELECT line FROM rejects WHERE batch_id = ? ORDER BY line LIMIT 100', [report.files[0]?.batchId ?? 0])).map((r) => r.line);
  const t3 = performance.now();
  store.close();
  const t4 = performance.now();
  const cpu = process.cpuUsage(cpu0);
  return {
    seconds: (t4 - t0 - (t3 - t2)) / 1000,
    openSeconds: (t1 - t0) / 1000,
    ingestSeconds: (t2 - t1) / 1000,
    closeSeconds: (t4 - t3) / 1000,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    maxRssMb: process.resourceUsage().maxRSS / 1024,
    totals: report.totals,
    rejectLines,
  };
}

/** `node bin/kairos.js --db DB --json ingest orders FILE`, timed from outside by GNU time (wall seconds, max RSS). */
function cliIngest(file: string, db: string): IngestRun {
  for (const f of [db, `${db}.wal`]) rmSync(f, { force: true });
  const args = ['-f', 'TIME %e %M %U %S', process.execPath, 'bin/kairos.js', '--db', db, '--json', 'ingest', 'orders', file, '--rejects-dir', resolve(OUT, 'rejects')];
  const r = spawnSync('/usr/bin/time', args, { encoding: 'utf8', maxBuffer: 64 * 2 ** 20 });
  const timeLine = r.stderr.split('\n').find((l) => l.startsWith('TIME '));
  if (r.status !== 0 || !timeLine) throw new Error(`kairos ingest failed (${r.status}):\n${r.stderr}\n${r.stdout.slice(0, 2000)}`);
  const [, wall, rssKb, user, system] = timeLine.split(' ').map(Number) as [number, number, number, number, number];
  const report = JSON.parse(r.stdout) as IngestReport;
  return {
    seconds: wall,
    openSeconds: Number.NaN,
    ingestSeconds: Number.NaN,
    closeSeconds: Number.NaN,
    cpuSeconds: user + system,
    maxRssMb: rssKb / 1024,
    totals: report.totals,
    rejectLines: [],
  };
}

// ---- the parent: cases, runs, checks, summary ----------------------------------------------------------------------

function checkTotals(t: IngestReport['totals'], expectedRead: number): string[] {
  const problems: string[] = [];
  if (t.read !== expectedRead) problems.push(`read ${t.read}, expected ${expectedRead}`);
  if (t.read !== t.loaded + t.rejected + t.duplicates) problems.push(`counts do not reconcile: ${JSON.stringify(t)}`);
  return problems;
}

async function runCase(
  name: string,
  command: string,
  file: string,
  runs: number,
  measure: () => IngestRun,
  check: (r: IngestRun) => string[],
): Promise<CaseResult> {
  const results: (IngestRun & { referenceSeconds: number; ratio: number })[] = [];
  const problems: string[] = [];
  for (let i = 0; i < runs; i++) {
    const reference = child<{ seconds: number }>('bench/ingest.ts', ['--child', 'reference', file]).seconds;
    const run = measure();
    for (const p of check(run)) problems.push(`run ${i + 1}: ${p}`);
    results.push({ ...run, referenceSeconds: reference, ratio: run.seconds / reference });
    console.log(
      `  ${name} run ${i + 1}: ${sec(run.seconds)} s (reference ${sec(reference)} s, ratio ${(run.seconds / reference).toFixed(1)}), ` +
        `peak RSS ${run.maxRssMb.toFixed(0)} MB, cpu ${sec(run.cpuSeconds)} s, ${JSON.stringify(run.totals)}`,
    );
  }
  for (const p of problems) console.log(`  ${name} WRONG ${p}`);
  return {
    name,
    command,
    file,
    fileMb: statSync(file).size / 2 ** 20,
    runs: results,
    medianSeconds: median(results.map((r) => r.seconds)),
    medianReferenceSeconds: median(results.map((r) => r.referenceSeconds)),
    medianRatio: median(results.map((r) => r.ratio)),
    medianRssMb: median(results.map((r) => r.maxRssMb)),
    maxRssMb: Math.max(...results.map((r) => r.maxRssMb)),
    problems,
  };
}

async function main(): Promise<void> {
  const runs = Number(option('--runs', '3'));
  const lines = Number(option('--lines', '10000000'));
  const cases = option('--cases', 'retail,orders,cli').split(',');
  const memoryLimit = option('--memory-limit', '');
  const src = option('--src', 'src');
  const childOptions = [memoryLimit, src];
  mkdirSync(OUT, { recursive: true });
  const info = await machine();
  console.log(`machine: ${JSON.stringify(info)}`);
  const synthetic = cases.some((c) => c !== 'retail') ? await ordersFile(OUT, lines, { badEvery: BAD_EVERY }) : '';
  const expectedRejects = Array.from({ length: Math.floor(lines / BAD_EVERY) }, (_, k) => 1 + (k + 1) * BAD_EVERY);
  const checkSynthetic = (r: IngestRun, reingest = false): string[] => {
    const problems = checkTotals(r.totals, lines);
    if (reingest ? r.totals.loaded !== 0 : r.totals.loaded !== lines - expectedRejects.length) problems.push(`loaded ${r.totals.loaded}`);
    if (r.totals.rejected !== expectedRejects.length) problems.push(`rejected ${r.totals.rejected}, expected ${expectedRejects.length}`);
    if (!reingest && r.rejectLines.length > 0 && r.rejectLines.join() !== expectedRejects.join()) {
      problems.push(`reject lines ${r.rejectLines.join()}, expected ${expectedRejects.join()}`);
    }
    return problems;
  };
  const results: CaseResult[] = [];
  for (const name of cases) {
    const db = resolve(OUT, `bench-${name}.duckdb`);
    if (name === 'retail') {
      results.push(
        await runCase(name, 'ingest() --preset online-retail', RETAIL, runs, () => child<IngestRun>('bench/ingest.ts', ['--child', 'ingest', RETAIL, db, 'online-retail', ...childOptions]), (r) => checkTotals(r.totals, RETAIL_ROWS)),
      );
    } else if (name === 'orders') {
      results.push(await runCase(name, 'ingest() orders', synthetic, runs, () => child<IngestRun>('bench/ingest.ts', ['--child', 'ingest', synthetic, db, '', ...childOptions]), (r) => checkSynthetic(r)));
    } else if (name === 'reingest') {
      results.push(
        await runCase(name, 'ingest() orders, second time into the same store', synthetic, runs, () => child<IngestRun>('bench/ingest.ts', ['--child', 'reingest', synthetic, db, '', ...childOptions]), (r) =>
          checkSynthetic(r, true),
        ),
      );
    } else if (name === 'cli') {
      if (!existsSync('dist/cli/main.js')) throw new Error('the cli case runs dist/: run `npm run build` first');
      results.push(await runCase(name, 'node bin/kairos.js --db DB --json ingest orders FILE', synthetic, runs, () => cliIngest(synthetic, db), (r) => checkSynthetic(r)));
    } else {
      throw new Error(`unknown case "${name}" (expected retail, orders, cli, reingest)`);
    }
    rmSync(db, { force: true });
    rmSync(`${db}.wal`, { force: true });
  }
  const loadAtEnd = (await import('node:os')).loadavg()[0] ?? 0;
  console.log('\ncase      median s   reference s   ratio   peak RSS MB (median / max)   per run s');
  for (const r of results) {
    console.log(
      `${r.name.padEnd(9)} ${sec(r.medianSeconds).padStart(8)}   ${sec(r.medianReferenceSeconds).padStart(11)}   ${r.medianRatio.toFixed(1).padStart(5)}   ` +
        `${r.medianRssMb.toFixed(0).padStart(11)} / ${r.maxRssMb.toFixed(0).padEnd(13)}   ${r.runs.map((x) => sec(x.seconds)).join(', ')}`,
    );
  }
  console.log(`load average: ${info.loadAtStart.toFixed(1)} at start, ${loadAtEnd.toFixed(1)} at end (nproc ${info.nproc})`);
  const out = resolve(OUT, `ingest-results${memoryLimit ? `-${memoryLimit}` : ''}${src !== 'src' ? '-other-src' : ''}.json`);
  writeFileSync(out, JSON.stringify({ machine: info, memoryLimit: memoryLimit || null, src, loadAtEnd, date: new Date().toISOString(), results }, null, 2));
  if (results.some((r) => r.problems.length > 0)) process.exitCode = 1;
}

async function childMain(mode: string, rest: readonly string[]): Promise<void> {
  const [file = '', db = '', preset = '', memoryLimit = '', src = 'src'] = rest;
  if (mode === 'reference') {
    console.log(JSON.stringify({ seconds: await referenceSeconds(`SELECT count(*) FROM read_csv(${quoteLiteral(file)})`) }));
  } else if (mode === 'ingest' || mode === 'reingest') {
    console.log(JSON.stringify(await childIngest(file, preset || undefined, db, mode === 'reingest', memoryLimit || undefined, src)));
  } else {
    throw new Error(`unknown child mode ${mode}`);
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const i = process.argv.indexOf('--child');
  await (i >= 0 ? childMain(process.argv[i + 1] ?? '', process.argv.slice(i + 2)) : main());
}
