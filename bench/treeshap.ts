// TreeSHAP benchmark: rows explained per second by exact TreeSHAP (src/ml/treeshap.ts) on a synthetic ensemble of the
// size `kairos score` will explain: Algorithm 2, the leaf tables at each fold, and the tables over 2 worker threads.
//
//   npx tsx bench/treeshap.ts [--trees 200] [--depth 6] [--features 40] [--rows 20000] [--parallel-rows 200000]
//                             [--algorithm2-rows 1000] [--runs 3]
//
// The ensemble: `--trees` trees grown at random (src/testing/ensembles.ts, seed 42) to `--depth` on 20,000 rows of
// `--features` features (half continuous, half small integers, 5% missing), every split at a data value, covers the
// summed weights (0.05-0.25, like logistic hessians) of the rows reaching a node. The rows explained are another draw of
// the same distribution. Each figure is the median of `--runs` runs in this process, after a warm-up of up to 2,000
// rows; the first call for a model builds its tables (timed apart as "plan", with the growth of Node's array buffers).
// The machine is shared: before each case a reference loop (the sum of a 65,536-element Float64Array, 300 times) gives
// this moment's nanoseconds per element, and each run reports its process CPU time (all threads); before the workers'
// case, the wall time of two busy-loop workers against one's says how many cores were free (2 when they take the same
// time, 1 when two take twice as long). Results go to stdout and bench/out/treeshap-results.json.
import { mkdirSync, writeFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { cpus, loadavg } from 'node:os';
import { resolve } from 'node:path';
import { createRng } from '../src/math/random.js';
import type { Ensemble } from '../src/ml/tree.js';
import { treeShap, treeShapParallel, type FeatureMatrix, type ShapOptions } from '../src/ml/treeshap.js';
import { randomEnsemble, randomMatrix } from '../src/testing/ensembles.js';
import { median, option } from './machine.js';

const OUT = resolve('bench/out');
const trees = Number(option('--trees', '200'));
const depth = Number(option('--depth', '6'));
const features = Number(option('--features', '40'));
const rows = Number(option('--rows', '20000'));
const parallelRows = Number(option('--parallel-rows', '200000'));
const algorithm2Rows = Number(option('--algorithm2-rows', '1000'));
const runs = Number(option('--runs', '3'));
mkdirSync(OUT, { recursive: true });

const rng = createRng(42);
const train = randomMatrix(rng, 20_000, features, 0.05);
const model = randomEnsemble(rng, train, { trees, depth });
const leaves = model.trees.reduce((s, t) => s + t.left.filter((l) => l < 0).length, 0);
const explained = randomMatrix(rng, Math.max(rows, parallelRows), features, 0.05);
console.log(
  `${trees} trees of depth <= ${depth} (${(leaves / trees).toFixed(1)} leaves a tree), ${features} features; ` +
    `${cpus().length} cores, load ${loadavg()[0]?.toFixed(2)} at start`,
);

/** Nanoseconds per element of a plain Float64Array sum, now: how fast this shared machine runs a simple loop. */
function referenceNs(): number {
  const a = Float64Array.from({ length: 65_536 }, (_, i) => i % 7);
  let sum = 0;
  const started = performance.now();
  for (let r = 0; r < 300; r++) for (let i = 0; i < a.length; i++) sum += a[i] as number;
  const ns = ((performance.now() - started) * 1e6) / (300 * a.length);
  return sum > 0 ? ns : Number.NaN;
}

/** Cores free now: 2 x (wall of one busy worker) / (wall of two at once), medians of 3. */
async function freeCores(): Promise<number> {
  const code = `const { parentPort } = require('node:worker_threads'); let s = 0; for (let i = 0; i < 2e8; i++) s += i % 7; parentPort.postMessage(s);`;
  const wall = async (n: number): Promise<number> => {
    const started = performance.now();
    const busy = (): Promise<void> =>
      new Promise((done) => {
        const worker = new Worker(code, { eval: true });
        worker.once('message', () => void worker.terminate().then(() => done()));
      });
    await Promise.all(Array.from({ length: n }, busy));
    return performance.now() - started;
  };
  const one: number[] = [];
  const two: number[] = [];
  for (let r = 0; r < 3; r++) {
    one.push(await wall(1));
    two.push(await wall(2));
  }
  return (2 * median(one)) / median(two);
}

interface Case {
  readonly name: string;
  readonly rows: number;
  readonly workers: number;
  readonly run: (model: Ensemble, matrix: FeatureMatrix, rows: number[]) => Promise<unknown>;
}

const sync = (options: ShapOptions) => async (m: Ensemble, x: FeatureMatrix, r: number[]) => treeShap(m, x, r, options);
const cases: Case[] = [
  { name: 'Algorithm 2', rows: algorithm2Rows, workers: 1, run: sync({ method: 'algorithm2' }) },
  ...[0, 1, 2, 3].map((fold) => ({ name: `tables, fold ${fold}`, rows, workers: 1, run: sync({ fold }) })),
  { name: 'tables, fold 2, 2 workers', rows: parallelRows, workers: 2, run: (m, x, r) => treeShapParallel(m, x, r, { workers: 2 }) },
];

const results = [];
for (const c of cases) {
  const selected = Array.from({ length: c.rows }, (_, i) => i);
  referenceNs();
  const reference = referenceNs();
  const cores = c.workers > 1 ? await freeCores() : undefined;
  // A fresh copy of the model, so that the first call builds its plan (cached per model object).
  const fresh: Ensemble = { ...model };
  let started = performance.now();
  await c.run(fresh, explained, [0]);
  const planSeconds = (performance.now() - started) / 1000;
  await c.run(fresh, explained, selected.slice(0, Math.min(c.rows, 2000)));
  const seconds: number[] = [];
  const cpu: number[] = [];
  const loads: number[] = [];
  for (let r = 0; r < runs; r++) {
    loads.push(loadavg()[0] ?? 0);
    const cpu0 = process.cpuUsage();
    started = performance.now();
    await c.run(fresh, explained, selected);
    seconds.push((performance.now() - started) / 1000);
    const used = process.cpuUsage(cpu0);
    cpu.push((used.user + used.system) / 1e6);
  }
  const rowsPerSecond = c.rows / median(seconds);
  const rowsPerCpuSecond = c.rows / median(cpu);
  const row = { name: c.name, rows: c.rows, planSeconds, seconds, cpuSeconds: cpu, loads, referenceNs: reference, freeCores: cores, rowsPerSecond, rowsPerCpuSecond, secondsFor1M: 1e6 / rowsPerSecond };
  results.push(row);
  console.log(
    `${c.name.padEnd(26)} ${c.rows} rows: ${seconds.map((s) => s.toFixed(2)).join(', ')} s (CPU ${cpu.map((s) => s.toFixed(1)).join(', ')}); ` +
      `median ${Math.round(rowsPerSecond).toLocaleString('en-US')} rows/s (${Math.round(rowsPerCpuSecond).toLocaleString('en-US')} per CPU s), ` +
      `${row.secondsFor1M.toFixed(1)} s per 1M; plan ${planSeconds.toFixed(2)} s; ` +
      `load ${Math.min(...loads).toFixed(1)}-${Math.max(...loads).toFixed(1)}; reference ${reference.toFixed(2)} ns/element` +
      (cores === undefined ? '' : `; free cores ${cores.toFixed(2)}`),
  );
}
writeFileSync(resolve(OUT, 'treeshap-results.json'), JSON.stringify({ trees, depth, features, leaves, results }, null, 2));
