// One timed CLV run in a fresh process: purchase-log CSV -> summary -> BG/NBD -> Gamma-Gamma -> scores -> Parquet, through Kairos's own scorer.
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { DEFAULT_CONFIG, type KairosConfig } from '../../src/config.js';
import { summarySql } from '../../src/features/summary.js';
import { clvScorer } from '../../src/scores/clv/index.js';
import { Store, quoteLiteral, type SqlValue } from '../../src/store/db.js';

/** What the parent asks of one child process. */
export interface PipelineRequest {
  readonly mode: 'pipeline' | 'reference';
  readonly csv: string;
  readonly out: string;
  /** Scoring instant: data strictly before it ('YYYY-MM-DD HH:MM:SS'). */
  readonly asOf: string;
  readonly memoryLimit?: string;
  readonly threads?: number;
  /** DuckDB spill directory (a ':memory:' store would otherwise spill to ./.tmp). */
  readonly tempDir: string;
  /** Write DuckDB's operator profile of the summary query to this file (after the timed run). */
  readonly sqlProfile?: string;
  /** Load the CSV into a table in the read stage, or (default) let the summary query read the file. */
  readonly materialize?: boolean;
}

/** Stages in pipeline order, as in the reference's table. */
export const STAGES = ['read', 'summary', 'fitBgNbd', 'fitGammaGamma', 'score', 'write'] as const;
export type Stage = (typeof STAGES)[number];

export interface PipelineResult {
  readonly mode: 'pipeline';
  /** Seconds per stage; `open` (DuckDB instance and schema) is reported apart, like the reference's import time. */
  readonly seconds: Record<Stage, number> & { open: number; total: number };
  /** Monotonic clock (µs, the clock of V8's CPU profiles) at the start of the read and at the end of each stage. */
  readonly clockUs: { start: number } & Record<Stage, number>;
  /** Process CPU time (user + system, all threads: node's and DuckDB's) per stage: less sensitive to a busy machine. */
  readonly cpuSeconds: Record<Stage, number> & { total: number };
  /** process.resourceUsage().maxRSS right after the write, and before anything ran (node + tsx + DuckDB loaded). */
  readonly peakRssMb: number;
  readonly baselineRssMb: number;
  /** RSS, peak RSS so far and V8 heap after each stage (the stage where the peak grows is where memory goes). */
  readonly memory: Record<Stage, { rssMb: number; peakRssMb: number; heapMb: number; arrayBuffersMb: number }>;
  /** Every Store call of the run, in order, with its time and the peak RSS at its end. */
  readonly statements: { stage: Stage; call: string; seconds: number; peakRssMb: number; sql: string }[];
  readonly customers: number;
  readonly fits: { model: string; params: Record<string, number>; standardErrors: Record<string, number>; message: string }[];
  readonly notes: readonly string[];
  /** Checks on the written file (not timed). */
  readonly output: { rows: number; meanPAlive: number; meanExpected90: number; meanClv12m: number; nullDecisive: number };
  readonly duckdb: string;
  readonly settings: { memoryLimit: string; threads: string };
}

export interface ReferenceResult {
  readonly mode: 'reference';
  /** `SELECT count(*) FROM read_csv(file)` in a fresh DuckDB (default settings): the same-session speed yardstick. */
  readonly countSeconds: number;
  readonly rows: number;
}

const mb = (bytes: number): number => Math.round(bytes / 2 ** 20);
/** Peak resident set so far, MB (maxRSS is in KiB). */
const peakRss = (): number => Math.round(process.resourceUsage().maxRSS / 1024);

/**
 * The orders relation the summary SQL expects, from the CSV (the "read" stage, as the reference's pandas.read_csv):
 * each line is one purchase of quantity 1. By default the view reads the CSV itself, and DuckDB parses the file inside
 * the summary query, streaming (the summary reads its input once). With `materialize` the three columns of the file
 * are first loaded into an in-memory table, as the product reads its store: about 0.7 s and 115 MB more at 1M.
 */
export function ordersViewSql(csv: string, asOf: string, materialize = false): string[] {
  // The file's layout is known (demo/purchase-log.ts writes it), so DuckDB's sniffer is off: it costs ~0.15 s per scan.
  // Dates are ISO: DuckDB's own date parser is faster than a dateformat pattern. A 2 MB read buffer instead of the
  // default 32 MB: as fast here, and about 85 MB less resident memory with two threads.
  const source = `read_csv(${quoteLiteral(csv)}, auto_detect = false, header = true, delim = ',', quote = '"', buffer_size = 2097152,
    columns = {'customer_id': 'VARCHAR', 'date': 'DATE', 'amount': 'DOUBLE'})`;
  // The log has no order ids; a customer's purchases of one day are taken as one order. The summary aggregates per
  // customer-day anyway, so it is the same as with one order per line (checked by bench/clv.ts --check-orders).
  const lines = materialize ? 'bench_lines' : source;
  return [
    ...(materialize ? [`CREATE OR REPLACE TEMP TABLE bench_lines AS SELECT * FROM ${source}`] : []),
    `CREATE OR REPLACE TEMP VIEW asof_orders AS
       SELECT customer_id, date AS order_id, date::TIMESTAMP AS ordered_at, 1 AS quantity, amount FROM ${lines}
       WHERE date < TIMESTAMP ${quoteLiteral(asOf)}`,
  ];
}

async function openStore(req: PipelineRequest): Promise<Store> {
  mkdirSync(req.tempDir, { recursive: true });
  const store = await Store.open(':memory:', req.memoryLimit ? { memoryLimit: req.memoryLimit } : {});
  await store.run(`SET temp_directory = ${quoteLiteral(req.tempDir)}`);
  if (req.threads !== undefined) await store.run(`SET threads = ${Math.trunc(req.threads)}`);
  return store;
}

/** Runs the pipeline once and returns its timings; the scores land in `req.out` (Parquet). */
export async function runPipeline(req: PipelineRequest): Promise<PipelineResult> {
  const baselineRssMb = peakRss();
  const t0 = performance.now();
  const store = await openStore(req);
  const opened = performance.now();
  const statements: PipelineResult['statements'] = [];
  let stage: Stage = 'read';
  const ends: Partial<Record<Stage, number>> = {};
  const cpuEnds: Partial<Record<Stage, number>> = {};
  const cpuNow = (): number => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1e6;
  };
  const cpuOpened = cpuNow();
  const clockNow = (): number => Number(process.hrtime.bigint() / 1000n);
  const clockUs: Record<string, number> = { start: clockNow() };
  const memory: Partial<PipelineResult['memory']> = {};
  const end = (s: Stage): void => {
    if (s !== stage) throw new Error(`stage ${s} ended while in ${stage}: did the CLV scorer's progress messages change?`);
    ends[s] = performance.now();
    cpuEnds[s] = cpuNow();
    clockUs[s] = clockNow();
    const m = process.memoryUsage();
    memory[s] = { rssMb: mb(m.rss), peakRssMb: peakRss(), heapMb: mb(m.heapUsed), arrayBuffersMb: mb(m.arrayBuffers) };
    const next = STAGES[STAGES.indexOf(s) + 1];
    if (next !== undefined) stage = next;
  };
  // Time every Store call on this instance (the scorer's SQL and column transfers), without changing what they do.
  // The scorer hands its computed columns to DuckDB with exposeColumns: scoring ends there, writing begins.
  const expose = store.exposeColumns.bind(store);
  store.exposeColumns = (...args: Parameters<Store['exposeColumns']>): void => {
    end('score');
    expose(...args);
  };
  for (const call of ['run', 'readColumns', 'readNumberColumns', 'writeColumns'] as const) {
    const original = store[call].bind(store) as (...args: unknown[]) => Promise<unknown>;
    (store as unknown as Record<string, unknown>)[call] = async (...args: unknown[]): Promise<unknown> => {
      const started = performance.now();
      try {
        return await original(...args);
      } finally {
        // Only the timed run: not the checks after it.
        if (ends.write === undefined) {
          const sql = typeof args[0] === 'string' ? args[0].replace(/\s+/g, ' ').trim().slice(0, 90) : '';
          statements.push({ stage, call, seconds: (performance.now() - started) / 1000, peakRssMb: peakRss(), sql });
        }
      }
    };
  }

  for (const sql of ordersViewSql(req.csv, req.asOf, req.materialize ?? false)) await store.run(sql);
  end('read');
  // BG/NBD as in the reference; the default 'auto' would also fit Pareto/NBD and MBG/NBD on a holdout to choose one.
  const config: KairosConfig = { ...DEFAULT_CONFIG, scores: { ...DEFAULT_CONFIG.scores, model: 'bg-nbd' } };
  const progress = (message: string): void => {
    if (message.startsWith('clv: fitting bg-nbd')) end('summary');
    else if (message === 'clv: fitting Gamma-Gamma spend') end('fitBgNbd');
    else if (message === 'clv: scoring customers') end('fitGammaGamma');
  };
  // The clv scorer's own computation does not read its dependency (rfm is read by its explanations only).
  const resultsOf = (name: string): string => {
    throw new Error(`the bench does not run ${name}`);
  };
  const result = await clvScorer.run({ store, runId: 1, asOf: req.asOf, config, progress, resultsOf, dataFingerprint: '' });
  rmSync(req.out, { force: true });
  // DICTIONARY_SIZE_LIMIT 1 (bytes): plain encoding. The scores are nearly all distinct doubles, so DuckDB's attempt
  // at dictionary pages costs ~0.25 s at 1M rows and saves nothing.
  await store.run(`COPY ${result.table} TO ${quoteLiteral(req.out)} (FORMAT parquet, DICTIONARY_SIZE_LIMIT 1)`);
  end('write');
  const peakRssMb = peakRss();

  const fits = result.models.map((m) => {
    const fit = m.fit as { params: Record<string, number>; diagnostics: { standardErrors: Record<string, number>; message: string } };
    return { model: m.model, params: fit.params, standardErrors: fit.diagnostics.standardErrors, message: fit.diagnostics.message };
  });
  if (!fits.some((f) => f.model === 'bg-nbd') || !fits.some((f) => f.model === 'gamma-gamma')) {
    throw new Error(`a model was not fitted: ${result.notes.join('; ')}`);
  }
  const check = await store.one<Record<string, number>>(
    `SELECT count(*) AS rows, avg(p_alive) AS pa, avg(expected_purchases_90d) AS e90, avg(clv_12m) AS clv,
       count(*) FILTER (WHERE churn_decisive_date IS NULL) AS nd FROM read_parquet(${quoteLiteral(req.out)})`,
  );
  const settings = await store.one<{ m: string; t: string }>(
    "SELECT current_setting('memory_limit') AS m, current_setting('threads')::VARCHAR AS t",
  );
  const duckdb = await store.value<string>('SELECT version()');
  if (req.sqlProfile) await profileSummary(store, req.asOf, req.sqlProfile);
  store.close();

  const at = (s: Stage): number => ends[s] as number;
  const seconds = {
    open: (opened - t0) / 1000,
    read: (at('read') - opened) / 1000,
    summary: (at('summary') - at('read')) / 1000,
    fitBgNbd: (at('fitBgNbd') - at('summary')) / 1000,
    fitGammaGamma: (at('fitGammaGamma') - at('fitBgNbd')) / 1000,
    score: (at('score') - at('fitGammaGamma')) / 1000,
    write: (at('write') - at('score')) / 1000,
    total: (at('write') - opened) / 1000,
  };
  const cpuSeconds = Object.fromEntries(
    STAGES.map((s, i) => [s, (cpuEnds[s] as number) - (i === 0 ? cpuOpened : (cpuEnds[STAGES[i - 1] as Stage] as number))]),
  ) as Record<Stage, number>;
  return {
    mode: 'pipeline',
    seconds,
    cpuSeconds: { ...cpuSeconds, total: (cpuEnds.write as number) - cpuOpened },
    clockUs: clockUs as PipelineResult['clockUs'],
    peakRssMb,
    baselineRssMb,
    memory: memory as PipelineResult['memory'],
    statements,
    customers: Number(check?.['rows']),
    fits,
    notes: result.notes,
    output: {
      rows: Number(check?.['rows']),
      meanPAlive: Number(check?.['pa']),
      meanExpected90: Number(check?.['e90']),
      meanClv12m: Number(check?.['clv']),
      nullDecisive: Number(check?.['nd']),
    },
    duckdb,
    settings: { memoryLimit: settings?.m ?? '', threads: settings?.t ?? '' },
  };
}

/** Re-runs the summary query with DuckDB's JSON profiler on (after the timed run) and saves the profile. */
async function profileSummary(store: Store, asOf: string, file: string): Promise<void> {
  rmSync(file, { force: true });
  await store.run("PRAGMA enable_profiling = 'json'");
  await store.run(`PRAGMA profiling_output = ${quoteLiteral(file)}`);
  const end = new Date(`${asOf.replace(' ', 'T')}Z`).getTime() - 1;
  await store.readColumns(summarySql('asof_orders'), [new Date(end).toISOString().slice(0, 10)] as SqlValue[]);
  await store.run('PRAGMA disable_profiling');
}

/** The yardstick: DuckDB's own CSV scan of the same file, in a fresh instance with default settings. */
export async function runReference(req: PipelineRequest): Promise<ReferenceResult> {
  const store = await openStore({ ...req, threads: undefined, memoryLimit: undefined });
  const started = performance.now();
  const rows = await store.value<number>(`SELECT count(*) FROM read_csv(${quoteLiteral(req.csv)})`);
  const countSeconds = (performance.now() - started) / 1000;
  store.close();
  return { mode: 'reference', countSeconds, rows: Number(rows) };
}

// Child entry: `node <tsx flags> bench/clv/pipeline.ts '<PipelineRequest JSON>'` prints one JSON line.
// (pipeline.ts under tsx, or pipeline.js compiled into bench/out/build by tsconfig.bench.json.)
const entry = process.argv[1] === undefined ? '' : resolve(process.argv[1]);
if (entry === resolve(import.meta.dirname, 'pipeline.ts') || entry === resolve(import.meta.dirname, 'pipeline.js')) {
  const req = JSON.parse(process.argv[2] ?? '{}') as PipelineRequest;
  if (!existsSync(req.csv)) throw new Error(`no CSV at ${req.csv}`);
  const out = req.mode === 'reference' ? await runReference(req) : await runPipeline(req);
  process.stdout.write(`${JSON.stringify(out)}\n`);
}
