// CLV end to end on simulated purchase logs (10k, 100k, 1M customers): wall time per stage and peak RSS vs the reference.
//
//   npx tsx bench/clv.ts [--sizes 10000,100000,1000000] [--runs 3] [--seed 1] [--memory-limit 300MB] [--threads 2]
//                        [--profile] [--check-orders] [--load-table] [--tsx]
//
// Each run is a fresh child process (bench/clv/pipeline.ts) preceded by a fresh one timing DuckDB's
// `SELECT count(*) FROM read_csv(file)` on the same file: the same-session yardstick of the machine's speed.
// Logs are generated once into bench/out/clv/ (git-ignored). Results: bench/out/clv/results.json.
// --profile: one more run of the largest size under V8's CPU profiler, plus DuckDB's operator profile of the summary.
// --load-table: load the CSV into a table in the read stage instead of letting the summary read the file.
// --tsx: run the children under tsx (TypeScript on the fly) instead of the compiled JS (tsc -p tsconfig.bench.json
//        into bench/out/build, done first). Compiled is the default: it is how `kairos` runs, and tsx's loader adds
//        about 37 MB of RSS and some start-up to every child.
// --check-orders: checks the log's order ids (one per customer-day) give the same summary as one order per line.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, totalmem } from 'node:os';
import { resolve } from 'node:path';
import { DEFAULT_PURCHASE_LOG, DEFAULT_PURCHASE_PARAMS } from '../src/demo/params.js';
import { purchaseLog as sharedPurchaseLog } from './purchase-log.js';
import { tuneAllocator } from '../src/store/allocator.js';
import { summarizeCpuProfile, summarizeSqlProfile } from './clv/cpu-profile.js';
import { STAGES, type PipelineRequest, type PipelineResult, type ReferenceResult, type Stage } from './clv/pipeline.js';

const OUT = resolve('bench/out/clv');
const purchaseLog = (customers: number, seed: number): { csv: string; purchases: number } => sharedPurchaseLog(OUT, customers, seed);
const PIPELINE = resolve(import.meta.dirname, 'clv/pipeline.ts');

/** lifetimes 0.11.3 on the same kind of logs and machine (2 cores), from ../shared/peers/README.md. */
const REFERENCE: Record<number, { transactions: number; seconds: Record<Stage, number> & { total: number }; rssMb: number }> = {
  10_000: { transactions: 40_146, seconds: { read: 0.02, summary: 0.05, fitBgNbd: 0.17, fitGammaGamma: 0.06, score: 0.11, write: 0.05, total: 0.46 }, rssMb: 120 },
  100_000: { transactions: 401_295, seconds: { read: 0.18, summary: 0.32, fitBgNbd: 1.17, fitGammaGamma: 0.34, score: 1.0, write: 0.48, total: 3.5 }, rssMb: 181 },
  1_000_000: { transactions: 4_028_331, seconds: { read: 1.88, summary: 3.93, fitBgNbd: 9.69, fitGammaGamma: 7.93, score: 9.72, write: 4.73, total: 37.9 }, rssMb: 813 },
};

/** The issue's goals at 1M customers: 10x faster end to end, half the peak memory. */
const GOALS = { customers: 1_000_000, speedup: 10, memoryShare: 0.5 };

interface Options {
  sizes: number[];
  runs: number;
  seed: number;
  memoryLimit?: string;
  threads?: number;
  /** --load-table: load the CSV into a table in the read stage instead of letting the summary read the file. */
  loadTable: boolean;
  profile: boolean;
  checkOrders: boolean;
  tsx: boolean;
}

function parseArgs(argv: readonly string[]): Options {
  const value = (name: string): string | undefined => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const sizes = (value('--sizes') ?? '10000,100000,1000000').split(',').map(Number);
  const runs = Number(value('--runs') ?? 3);
  const seed = Number(value('--seed') ?? 1);
  const threads = value('--threads');
  if (!sizes.every((n) => Number.isSafeInteger(n) && n > 0)) throw new Error(`--sizes must be positive integers, got ${value('--sizes')}`);
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs must be a positive integer, got ${value('--runs')}`);
  const memoryLimit = value('--memory-limit');
  return {
    sizes,
    runs,
    seed,
    ...(memoryLimit === undefined ? {} : { memoryLimit }),
    ...(threads === undefined ? {} : { threads: Number(threads) }),
    profile: argv.includes('--profile'),
    loadTable: argv.includes('--load-table'),
    checkOrders: argv.includes('--check-orders'),
    tsx: argv.includes('--tsx'),
  };
}

/** The compiled pipeline (tsc -p tsconfig.bench.json). */
const COMPILED = resolve('bench/out/build/bench/clv/pipeline.js');
let useTsx = false;

/** Compiles src and the pipeline into bench/out/build, so that the children run plain JS as `kairos` does. */
function compile(): void {
  const tsc = resolve('node_modules/typescript/bin/tsc');
  const r = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.bench.json'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`tsc -p tsconfig.bench.json failed:\n${r.stdout}${r.stderr}`);
}

/**
 * Runs the pipeline in a fresh node (compiled JS, or bench/clv/pipeline.ts with this process's tsx loader when --tsx)
 * and parses its JSON line.
 */
function child<T>(req: PipelineRequest, nodeFlags: readonly string[] = []): T {
  const args = useTsx ? [...process.execArgv, PIPELINE] : [COMPILED];
  const r = spawnSync(process.execPath, [...nodeFlags, ...args, JSON.stringify(req)], {
    // As bin/kairos.js runs the product: DuckDB's allocator options set before it loads.
    env: tuneAllocator({ ...process.env }),
    encoding: 'utf8',
    maxBuffer: 64 * 2 ** 20,
  });
  if (r.status !== 0) throw new Error(`child failed (${r.status ?? r.signal}):\n${r.stderr}`);
  const line = r.stdout.trim().split('\n').at(-1) ?? '';
  return JSON.parse(line) as T;
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};
const f2 = (s: number): string => s.toFixed(2);
const int = (n: number): string => n.toLocaleString('en');

interface SizeResult {
  customers: number;
  purchases: number;
  runs: { pipeline: PipelineResult; reference: ReferenceResult }[];
  median: Record<Stage | 'total' | 'open', number> & { rssMb: number; countSeconds: number; cpuSeconds: number };
}

function request(opts: Options, customers: number, csv: string, mode: PipelineRequest['mode']): PipelineRequest {
  const asOf = `${new Date(Date.parse(`${DEFAULT_PURCHASE_LOG.start}T00:00:00Z`) + DEFAULT_PURCHASE_LOG.horizonDays * 86_400_000).toISOString().slice(0, 10)} 00:00:00`;
  return {
    mode,
    csv,
    out: resolve(OUT, `scores-${customers}.parquet`),
    asOf,
    tempDir: resolve(OUT, 'duckdb-tmp'),
    ...(opts.memoryLimit === undefined ? {} : { memoryLimit: opts.memoryLimit }),
    ...(opts.threads === undefined ? {} : { threads: opts.threads }),
    materialize: opts.loadTable,
  };
}

function runSize(opts: Options, customers: number): SizeResult {
  const { csv, purchases } = purchaseLog(customers, opts.seed);
  const runs: SizeResult['runs'] = [];
  for (let i = 0; i < opts.runs; i++) {
    const reference = child<ReferenceResult>(request(opts, customers, csv, 'reference'));
    const req = request(opts, customers, csv, 'pipeline');
    const pipeline = child<PipelineResult>(req);
    const s = pipeline.seconds;
    console.log(
      `${int(customers).padStart(9)} run ${i + 1}: ${STAGES.map((k) => `${k} ${f2(s[k])}`).join(', ')}, total ${f2(s.total)} s ` +
        `(open ${f2(s.open)}; CPU ${f2(pipeline.cpuSeconds.total)} s), peak RSS ${pipeline.peakRssMb} MB; count(*) read_csv ${f2(reference.countSeconds)} s`,
    );
    runs.push({ pipeline, reference });
  }
  const pick = (f: (r: SizeResult['runs'][number]) => number): number => median(runs.map(f));
  const m = Object.fromEntries([...STAGES, 'total', 'open'].map((k) => [k, pick((r) => r.pipeline.seconds[k as Stage])])) as SizeResult['median'];
  m.rssMb = pick((r) => r.pipeline.peakRssMb);
  m.countSeconds = pick((r) => r.reference.countSeconds);
  m.cpuSeconds = pick((r) => r.pipeline.cpuSeconds.total);
  return { customers, purchases, runs, median: m };
}

/** The per-stage table in the reference's shape, Kairos's medians with the reference's figures beside. */
function markdownTable(results: readonly SizeResult[]): string {
  const head = '| customers | transactions | read | summary | fit BG/NBD | fit Gamma-Gamma | score | write | total | peak RSS | count(*) read_csv | total / count(*) |';
  const lines = [head, `|${'---|'.repeat(12)}`];
  for (const r of results) {
    const ref = REFERENCE[r.customers];
    const cell = (k: Stage | 'total'): string => `${f2(r.median[k])} s${ref ? ` (${f2(ref.seconds[k])})` : ''}`;
    lines.push(
      `| ${int(r.customers)} | ${int(r.purchases)}${ref ? ` (${int(ref.transactions)})` : ''} | ${STAGES.map((k) => cell(k)).join(' | ')} | ${cell('total')} | ` +
        `${r.median.rssMb} MB${ref ? ` (${ref.rssMb})` : ''} | ${f2(r.median.countSeconds)} s | ${(r.median.total / r.median.countSeconds).toFixed(1)} |`,
    );
  }
  return lines.join('\n');
}

function allRunsTable(results: readonly SizeResult[]): string {
  const lines = [
    '| customers | run | open | read | summary | fit BG/NBD | fit Gamma-Gamma | score | write | total | CPU (all threads) | peak RSS | count(*) read_csv |',
    `|${'---|'.repeat(13)}`,
  ];
  for (const r of results) {
    r.runs.forEach(({ pipeline: p, reference }, i) => {
      const s = p.seconds;
      lines.push(
        `| ${int(r.customers)} | ${i + 1} | ${f2(s.open)} | ${STAGES.map((k) => f2(s[k])).join(' | ')} | ${f2(s.total)} | ${f2(p.cpuSeconds.total)} | ` +
          `${p.peakRssMb} MB | ${f2(reference.countSeconds)} |`,
      );
    });
  }
  return lines.join('\n');
}

function paramsTable(r: SizeResult): string {
  const p = r.runs[0]?.pipeline;
  if (!p) return '';
  const truth = DEFAULT_PURCHASE_PARAMS as unknown as Record<string, number>;
  const lines = ['| model | parameter | true | fitted | SE | z |', '|---|---|---|---|---|---|'];
  for (const fit of p.fits) {
    for (const [k, v] of Object.entries(fit.params)) {
      const t = truth[k] as number;
      const se = fit.standardErrors[k] ?? Number.NaN;
      lines.push(`| ${fit.model} | ${k} | ${t} | ${v.toFixed(4)} | ${se.toPrecision(2)} | ${((v - t) / se).toFixed(1)} |`);
    }
  }
  return lines.join('\n');
}

function goals(r: SizeResult): string {
  const ref = REFERENCE[r.customers];
  if (!ref) return '';
  const speedup = ref.seconds.total / r.median.total;
  const memory = r.median.rssMb / ref.rssMb;
  const goal = r.customers === GOALS.customers;
  const time = `${f2(r.median.total)} s vs ${ref.seconds.total} s: ${speedup.toFixed(1)}x` +
    (goal ? ` (goal ${GOALS.speedup}x: ${speedup >= GOALS.speedup ? 'met' : 'NOT met'})` : '');
  const mem = `${r.median.rssMb} MB vs ${ref.rssMb} MB: ${(memory * 100).toFixed(0)}%` +
    (goal ? ` (goal <= ${GOALS.memoryShare * 100}%: ${memory <= GOALS.memoryShare ? 'met' : 'NOT met'})` : '');
  return `${time}; peak RSS ${mem}`;
}

/** One extra run of the largest size with V8's CPU profiler and DuckDB's operator profile of the summary query. */
function profileRun(opts: Options, customers: number): unknown {
  const { csv } = purchaseLog(customers, opts.seed);
  const dir = resolve(OUT, 'profile');
  mkdirSync(dir, { recursive: true });
  const name = `clv-${customers}.cpuprofile`;
  const sqlProfile = resolve(dir, `summary-${customers}.json`);
  const run = child<PipelineResult>({ ...request(opts, customers, csv, 'pipeline'), sqlProfile }, [
    '--cpu-prof',
    `--cpu-prof-dir=${dir}`,
    `--cpu-prof-name=${name}`,
  ]);
  const periods = STAGES.map((k, i) => ({ name: k, startUs: i === 0 ? run.clockUs.start : run.clockUs[STAGES[i - 1] as Stage], endUs: run.clockUs[k] }));
  const cpu = summarizeCpuProfile(resolve(dir, name), 25, periods);
  const sql = summarizeSqlProfile(sqlProfile);
  console.log(`\nprofile of one ${int(customers)} run (${f2(run.seconds.total)} s under the profiler)`);
  console.log('stages:', STAGES.map((k) => `${k} ${f2(run.seconds[k])}`).join(', '));
  console.log('Store calls (> 50 ms):');
  for (const s of run.statements.filter((x) => x.seconds > 0.05)) {
    console.log(`  ${s.stage.padEnd(14)} ${f2(s.seconds).padStart(6)} s  peak RSS ${String(s.peakRssMb).padStart(4)} MB  ${s.call} ${s.sql}`);
  }
  console.log(`memory after each stage (baseline before opening DuckDB ${run.baselineRssMb} MB):`);
  for (const k of STAGES) console.log(`  ${k.padEnd(14)} rss ${run.memory[k].rssMb} MB, peak ${run.memory[k].peakRssMb} MB, V8 heap ${run.memory[k].heapMb} MB`);
  console.log(`main thread, self time (ms of ${cpu.totalMs.toFixed(0)}; (idle) = waiting for DuckDB's threads):`);
  for (const l of cpu.self) console.log(`  ${l.ms.toFixed(0).padStart(6)}  ${l.name}`);
  console.log('main thread, inclusive time of project and DuckDB-client functions (ms):');
  for (const l of cpu.inclusive) console.log(`  ${l.ms.toFixed(0).padStart(6)}  ${l.name}`);
  console.log('main thread, self time per stage (ms; top functions):');
  for (const q of cpu.byPeriod) {
    console.log(`  ${q.name} (${q.ms.toFixed(0)} ms): ${q.self.map((l) => `${l.name} ${l.ms.toFixed(0)}`).join(', ')}`);
  }
  console.log(`DuckDB summary query: ${f2(sql.latency)} s wall, ${f2(sql.cpu)} s CPU; operators (s summed over threads, rows):`);
  for (const o of sql.operators.slice(0, 8)) console.log(`  ${f2(o.seconds).padStart(6)}  ${o.name} ${int(o.rows)}`);
  return { run, cpu, sql };
}

/** What the runs ran on and against which code: the tree changes while others work in the checkout. */
function environment(): Record<string, unknown> {
  const git = (...args: string[]): string => {
    try {
      return execFileSync('git', args, { encoding: 'utf8' }).trim();
    } catch {
      return '';
    }
  };
  return {
    nproc: availableParallelism(),
    cpu: cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    nodeApi: (JSON.parse(readFileSync('node_modules/@duckdb/node-api/package.json', 'utf8')) as { version: string }).version,
    load1: loadavg()[0],
    commit: git('rev-parse', '--short', 'HEAD'),
    modifiedSrc: git('status', '--short', '--', 'src').split('\n').filter(Boolean),
  };
}

/** Checks that taking a customer's purchases of a day as one order gives the same summary as one order per line. */
function checkOrders(opts: Options, customers: number): void {
  const { csv } = purchaseLog(customers, opts.seed);
  const { asOf } = request(opts, customers, csv, 'pipeline');
  const r = spawnSync(process.execPath, [...process.execArgv, resolve(import.meta.dirname, 'clv/check-orders.ts'), csv, asOf], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  console.log(r.stdout.trim());
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === resolve(import.meta.dirname, 'clv.ts')) {
  const opts = parseArgs(process.argv.slice(2));
  mkdirSync(OUT, { recursive: true });
  useTsx = opts.tsx;
  if (!useTsx) compile();
  const before = environment();
  if (opts.checkOrders) checkOrders(opts, Math.min(...opts.sizes));
  const results = opts.sizes.map((n) => runSize(opts, n));
  const first = results[0]?.runs[0]?.pipeline;
  const after = environment();
  console.log(
    `\n${before['nproc']} cores (${before['cpu']}), ${before['memoryGiB']} GiB; node ${process.version}, DuckDB ${first?.duckdb} ` +
      `(@duckdb/node-api ${before['nodeApi']}), ${useTsx ? 'under tsx' : 'compiled JS'}, memory_limit ${first?.settings.memoryLimit}, threads ${first?.settings.threads}; ` +
      `load average ${Number(before['load1']).toFixed(1)} at start, ${Number(after['load1']).toFixed(1)} at end; ` +
      `commit ${before['commit']}, modified src files: ${(before['modifiedSrc'] as string[]).length}`,
  );
  console.log('\nAll runs (s):\n' + allRunsTable(results));
  console.log(`\nMedians of ${opts.runs} run(s), reference (lifetimes 0.11.3) in parentheses:\n` + markdownTable(results));
  const largest = results.at(-1) as SizeResult;
  console.log(`\nFitted vs true parameters at ${int(largest.customers)} customers:\n` + paramsTable(largest));
  for (const r of results) if (REFERENCE[r.customers]) console.log(`${int(r.customers)}: ${goals(r)}`);
  const profile = opts.profile ? profileRun(opts, largest.customers) : undefined;
  const file = resolve(OUT, 'results.json');
  writeFileSync(file, JSON.stringify({ options: opts, environment: { before, after }, results, profile }, null, 1));
  console.log(`\nresults: ${file}`);
}
