// Boosted trees benchmark: src/ml/gbdt.ts against XGBoost 1.7 `hist` (Debian's python3-xgboost, nthread 2) on the same
// churn-like matrix, same hyper-parameters: training time, peak RSS and test AUC of each, medians of interleaved runs.
//
//   npx tsx bench/gbdt.ts [--runs 3] [--rows 1000000] [--test 250000] [--rounds 200] [--threads 2] [--prepare]
//
// The matrix (rows + test rows, 40 features: counts, recencies, money, a few categorical codes, ratios, noise; ~5%
// missing; a churn label drawn from a known nonlinear log-odds) is made once under seed 42 and written as float32
// little-endian rows to bench/out/gbdt-ROWS+TEST.f32 (labels .f64 beside it). Each run is a fresh process that reads
// that file: ours (a tsx child: read, then trainGbdt timed from its call to its return, binning included) and XGBoost
// (/usr/bin/python3 src/ml/__fixtures__/xgboost_reference.py: DMatrix construction, its binning, plus xgb.train);
// each reports its CPU time over the same span (all threads), its peak RSS (maxRSS) and its margins of the test
// rows, whose AUC the parent computes with the same function for both. Runs alternate which learner goes first.
// Results: stdout and bench/out/gbdt.json. --prepare only makes the file (about a minute at 1,250,000 rows).
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { rocAuc } from '../src/backtest/metrics.js';
import { createRng } from '../src/math/random.js';
import { trainGbdt, predictGbdtMargin } from '../src/ml/gbdt.js';
import type { FeatureMatrix } from '../src/ml/matrix.js';
import { runXgboost } from '../src/testing/xgboost.js';
import { child, machine, median, option, sec } from './machine.js';

const OUT = resolve('bench/out');
const SEED = 42;

/** The shared hyper-parameters, in our names and XGBoost's. */
function hyper(rounds: number, threads: number): { ours: Record<string, number>; xgb: Record<string, unknown> } {
  return {
    ours: { learningRate: 0.1, maxDepth: 6, lambda: 1, minChildWeight: 1, gamma: 0, maxBins: 256, rounds, earlyStoppingRounds: 0, threads },
    xgb: { tree_method: 'hist', objective: 'binary:logistic', eta: 0.1, max_depth: 6, lambda: 1, min_child_weight: 1, gamma: 0, max_bin: 256, nthread: threads, seed: 0 },
  };
}

const NAMES = [
  ...['orders_30d', 'orders_90d', 'orders_365d', 'orders_total', 'sessions_7d', 'sessions_30d', 'tickets_90d', 'returns_365d', 'emails_opened_30d', 'referrals'],
  ...['days_since_order', 'days_since_login', 'tenure_days', 'days_since_ticket', 'days_to_renewal'],
  ...['spend_30d', 'spend_90d', 'spend_365d', 'avg_order_value', 'discounts_365d', 'balance'],
  ...['region', 'channel', 'plan', 'device', 'payment_method', 'age_band'],
  ...['newsletter', 'app_installed', 'complained'],
  ...['return_rate', 'discount_share', 'spend_trend'],
  ...['noise_1', 'noise_2', 'noise_3', 'noise_4', 'noise_5', 'noise_6', 'noise_7'],
];

/** One customer's 40 features (NaN = missing) and churn log-odds. */
function customer(rng: ReturnType<typeof createRng>, x: Float32Array): number {
  const activity = rng.gamma(2, 1); // latent engagement
  const missing = (share: number, v: number): number => (rng.uniform() < share ? NaN : v);
  const o30 = rng.poisson(0.3 * activity);
  const o90 = o30 + rng.poisson(0.6 * activity);
  const o365 = o90 + rng.poisson(2 * activity);
  const tenure = Math.floor(rng.uniformIn(30, 2000));
  const values = [
    o30, o90, o365, o365 + rng.poisson(tenure / 365),
    missing(0.05, rng.poisson(2 * activity)), missing(0.05, rng.poisson(8 * activity)), rng.poisson(0.2), rng.poisson(0.3 * activity),
    missing(0.1, rng.poisson(3)), rng.poisson(0.05),
    missing(0.05, Math.floor(rng.exponential(activity / 60))), missing(0.08, Math.floor(rng.exponential(activity / 20))), tenure,
    missing(0.3, Math.floor(rng.uniformIn(0, 365))), Math.floor(rng.uniformIn(0, 365)),
    0, 0, 0, missing(0.05, Math.round(rng.lognormal(3.5, 0.6) * 100) / 100), missing(0.05, Math.round(rng.lognormal(2, 1) * 100) / 100), Math.round(rng.normal(0, 50) * 100) / 100,
    Math.floor(rng.uniform() * 12), Math.floor(rng.uniform() * 5), Math.floor(rng.uniform() * 4), missing(0.05, Math.floor(rng.uniform() * 3)), Math.floor(rng.uniform() * 6), missing(0.05, Math.floor(rng.uniform() * 7)),
    rng.uniform() < 0.4 ? 1 : 0, rng.uniform() < 0.5 ? 1 : 0, rng.uniform() < 0.05 ? 1 : 0,
    0, missing(0.05, rng.uniform() * 0.5), missing(0.05, rng.normal(0, 1)),
  ];
  const aov = values[18] as number;
  values[15] = Number.isNaN(aov) ? NaN : Math.round(o30 * aov * 100) / 100;
  values[16] = Number.isNaN(aov) ? NaN : Math.round(o90 * aov * 100) / 100;
  values[17] = Number.isNaN(aov) ? NaN : Math.round(o365 * aov * 100) / 100;
  values[30] = o365 > 0 ? missing(0.05, (values[7] as number) / o365) : NaN;
  while (values.length < NAMES.length) values.push(missing(0.05, rng.normal(0, 1)));
  values.forEach((v, j) => (x[j] = v));
  const seen = (j: number, fallback: number): number => (Number.isNaN(x[j] as number) ? fallback : (x[j] as number));
  const regionEffect = [0.3, -0.2, 0, 0.5, -0.4, 0.1, 0, -0.1, 0.2, 0.4, -0.3, 0];
  return (
    -1.9 -
    0.8 * Math.log1p(o90) +
    0.6 * Math.log1p(seen(10, 400) / 30) +
    0.4 * Math.log1p(seen(11, 60) / 7) -
    0.3 * Math.log1p(tenure / 365) +
    0.5 * (values[6] as number) +
    (x[28] === 1 ? 1.2 : 0) +
    (regionEffect[x[21] as number] as number) +
    (x[23] === 0 ? 0.4 : 0) * (o30 === 0 ? 1.5 : 0.5) -
    0.3 * (x[27] as number) +
    (Number.isNaN(x[11] as number) ? 0.5 : 0) +
    0.8 * Math.tanh(seen(32, 0)) * (x[22] === 2 ? 1 : 0.2) +
    (Math.abs(seen(20, 0)) > 80 ? 0.6 : 0)
  );
}

/** The matrix file and its labels, made once. */
function dataset(rows: number, test: number): { features: string; labels: string } {
  mkdirSync(OUT, { recursive: true });
  const stem = resolve(OUT, `gbdt-${rows}+${test}-seed${SEED}`);
  const features = `${stem}.f32`;
  const labels = `${stem}.labels.f64`;
  if (existsSync(features) && existsSync(labels)) return { features, labels };
  const n = rows + test;
  const p = NAMES.length;
  const x = new Float32Array(n * p);
  const y = new Float64Array(n);
  const rng = createRng(SEED);
  for (let r = 0; r < n; r++) {
    const z = customer(rng, x.subarray(r * p, (r + 1) * p));
    y[r] = rng.uniform() < 1 / (1 + Math.exp(-z)) ? 1 : 0;
  }
  writeFileSync(features, new Uint8Array(x.buffer));
  writeFileSync(labels, new Uint8Array(y.buffer));
  return { features, labels };
}

/** Rows [from, to) of a float32 row file as a column-major matrix, read 65,536 rows at a time (no copy of the whole file). */
function readColumns(path: string, from: number, to: number): FeatureMatrix {
  const p = NAMES.length;
  const columns = NAMES.map(() => new Float32Array(to - from));
  const chunk = 65_536;
  const buffer = new Float32Array(chunk * p);
  const bytes = new Uint8Array(buffer.buffer);
  const fd = openSync(path, 'r');
  try {
    for (let r0 = from; r0 < to; r0 += chunk) {
      const count = Math.min(chunk, to - r0);
      readSync(fd, bytes, 0, count * p * 4, r0 * p * 4);
      for (let i = 0; i < count; i++) for (let j = 0; j < p; j++) (columns[j] as Float32Array)[r0 - from + i] = buffer[i * p + j] as number;
    }
  } finally {
    closeSync(fd);
  }
  return { names: NAMES, columns, rows: to - from };
}

function readLabels(path: string): Float64Array {
  const bytes = readFileSync(path);
  return new Float64Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
}

interface Run {
  readonly seconds: number;
  /** CPU seconds of the process over the same span, every thread. */
  readonly cpuSeconds: number;
  readonly maxRssMb: number;
  readonly auc: number;
}

/** Child: read the file, train ours on the first `rows` rows, write the test margins; print seconds and peak RSS. */
async function childOurs(features: string, labelsPath: string, rows: number, test: number, rounds: number, threads: number, marginsPath: string): Promise<void> {
  const labels = readLabels(labelsPath);
  const train = readColumns(features, 0, rows);
  const cpu = process.cpuUsage();
  const fit = await trainGbdt(train, labels.subarray(0, rows), { ...hyper(rounds, threads).ours, objective: 'logistic' });
  const used = process.cpuUsage(cpu);
  const margins = predictGbdtMargin(fit.model, readColumns(features, rows, rows + test));
  writeFileSync(marginsPath, new Uint8Array(margins.buffer));
  console.log(JSON.stringify({ seconds: fit.diagnostics.seconds, cpuSeconds: (used.user + used.system) / 1e6, maxRssMb: process.resourceUsage().maxRSS / 1024, threads: fit.diagnostics.threads }));
}

async function main(): Promise<void> {
  const runs = Number(option('--runs', '3'));
  const rows = Number(option('--rows', '1000000'));
  const test = Number(option('--test', '250000'));
  const rounds = Number(option('--rounds', '200'));
  const threads = Number(option('--threads', '2'));
  const { features, labels } = dataset(rows, test);
  if (process.argv.includes('--prepare')) return console.log(`made ${features}`);
  const m = await machine();
  const y = readLabels(labels);
  const testLabels = y.subarray(rows);
  const mean = y.subarray(0, rows).reduce((a, b) => a + b, 0) / rows;
  const marginsPath = resolve(OUT, 'gbdt-ours-margins.f64');
  console.log(`${rows} training rows, ${test} test rows, ${NAMES.length} features, churn rate ${(mean * 100).toFixed(1)}%, ${rounds} rounds, ${threads} threads; nproc ${m.nproc}, load ${m.loadAtStart.toFixed(2)}`);
  const ours: (Run & { load: number })[] = [];
  const xgb: (Run & { load: number })[] = [];
  let version = '';
  for (let k = 0; k < runs; k++) {
    const order = k % 2 === 0 ? ['ours', 'xgboost'] : ['xgboost', 'ours'];
    for (const who of order) {
      const load = loadavg()[0] ?? 0;
      if (who === 'ours') {
        const r = child<{ seconds: number; cpuSeconds: number; maxRssMb: number }>('bench/gbdt.ts', ['--child', features, labels, String(rows), String(test), String(rounds), String(threads), marginsPath]);
        const auc = rocAuc(testLabels, readLabels(marginsPath)) as number;
        ours.push({ seconds: r.seconds, cpuSeconds: r.cpuSeconds, maxRssMb: r.maxRssMb, auc, load });
      } else {
        const r = runXgboost(features, y, NAMES.length, rows, { ...hyper(rounds, threads).xgb, base_score: mean }, rounds);
        version = r.version;
        xgb.push({ seconds: r.seconds, cpuSeconds: r.cpuSeconds, maxRssMb: r.peakMb, auc: rocAuc(testLabels, r.margins) as number, load });
      }
      const last = (who === 'ours' ? ours : xgb).at(-1) as Run & { load: number };
      console.log(`run ${k + 1} ${who.padEnd(7)} ${sec(last.seconds)} s  CPU ${sec(last.cpuSeconds)} s  peak ${last.maxRssMb.toFixed(0)} MB  AUC ${last.auc.toFixed(4)}  (load ${load.toFixed(2)})`);
    }
  }
  const summary = (list: readonly (Run & { load: number })[]): Run => ({
    seconds: median(list.map((r) => r.seconds)),
    cpuSeconds: median(list.map((r) => r.cpuSeconds)),
    maxRssMb: Math.max(...list.map((r) => r.maxRssMb)),
    auc: median(list.map((r) => r.auc)),
  });
  const result = { machine: m, rows, test, features: NAMES.length, rounds, threads, xgboost: version, ours: { runs: ours, ...summary(ours) }, xgb: { runs: xgb, ...summary(xgb) } };
  writeFileSync(resolve(OUT, 'gbdt.json'), `${JSON.stringify(result, null, 2)}\n`);
  const a = result.ours;
  const b = result.xgb;
  console.log(
    `median: ours ${sec(a.seconds)} s, XGBoost ${version} ${sec(b.seconds)} s (ours/XGBoost ${(a.seconds / b.seconds).toFixed(2)}x); ` +
      `CPU ${sec(a.cpuSeconds)} vs ${sec(b.cpuSeconds)} s; ` +
      `peak RSS ${a.maxRssMb.toFixed(0)} vs ${b.maxRssMb.toFixed(0)} MB; AUC ${a.auc.toFixed(4)} vs ${b.auc.toFixed(4)}`,
  );
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const i = process.argv.indexOf('--child');
  if (i >= 0) {
    const [features, labels, rows, test, rounds, threads, margins] = process.argv.slice(i + 1);
    await childOurs(features as string, labels as string, Number(rows), Number(test), Number(rounds), Number(threads), margins as string);
  } else await main();
}
