// Per-customer reasons for a tree ensemble's margin: exact path-dependent TreeSHAP (bias + contributions = margin).
//
// Lundberg, Erion, Lee 2018, "Consistent Individualized Feature Attribution for Tree Ensembles" (arXiv:1802.03888):
// for a set S of known features, a tree's value is E[f(x) | x_S], where a split on a feature of S follows x and any
// other split averages its children weighted by `cover` (child cover / node cover). The contributions are the exact
// Shapley values of that game, on the margin scale. Two exact ways of computing them:
//   - Algorithm 2 of the paper: O(L·D²) per tree and row, with a preallocated path stack (treeshap-kernel.ts);
//   - Fast TreeSHAP v2 (Yang 2021, arXiv:2109.09847): each leaf's Shapley values tabled ahead of time per pattern of
//     agreement between the row and the leaf's path, here with the last `fold` levels of each tree folded into the
//     tables, so that a row costs one table row per subtree of height <= fold (treeshap-plan.ts). The default.
// This file: the API, its edges, and the worker threads, which run the kernels' own source.
import { Worker } from 'node:worker_threads';
import { KairosError } from '../errors.js';
import { columnsFor, type FeatureMatrix } from './matrix.js';
import type { Ensemble, Tree } from './tree.js';
import { explainRows, KERNEL_SOURCE, newScratch } from './treeshap-kernel.js';
import { buildPlan, type ShapPlan } from './treeshap-plan.js';

/** Rows of features by column (NaN = missing): the learner's matrix (matrix.ts). */
export type { FeatureMatrix } from './matrix.js';

/** A margin split into its parts: bias + the row's contributions = the margin, for every row. */
export interface Explanation {
  /** The expected margin (`expectedMargin`), the same for every row. */
  readonly bias: number;
  /** rows x features, row-major, in the order of the model's `featureNames`. */
  readonly contributions: Float64Array;
}

/** How contributions are computed; both ways are exact. */
export interface ShapOptions {
  /** 'tables' (Fast TreeSHAP v2 leaf tables, folded; the default) or 'algorithm2' (Lundberg et al. 2018, Algorithm 2). */
  readonly method?: 'tables' | 'algorithm2';
  /** Levels folded into the tables above the leaves (0 = plain Fast TreeSHAP v2). */
  readonly fold?: number;
}

/** Defaults of the explanations, in one place. */
export const SHAP_DEFAULTS = {
  method: 'tables',
  /** Measured best on 200 trees of depth 6 (docs/benchmarks.md, "Explanations: TreeSHAP"). */
  fold: 2,
  /** Most table entries (float64) for one tree; a tree needing more uses Algorithm 2. */
  tableBudget: 2 ** 19,
  /** Rows explained together, tree after tree, node after node (200 trees of depth 6: 1024 to 8192 alike, 256 ~15% and
   * 64 ~40% slower). */
  rowBatch: 1024,
  /** Rows gathered from the matrix (and sent to a worker) at a time. */
  chunkRows: 8192,
  workers: 2,
} as const;

/**
 * The bias term of TreeSHAP: baseMargin plus each tree's expected value with no feature known, each split averaging
 * its children weighted by cover (child cover / node cover, as Algorithm 2 of Lundberg et al. 2018 and XGBoost's
 * node mean values). A node of cover 0 gives 0.
 */
export function expectedMargin(model: Ensemble): number {
  let m = model.baseMargin;
  for (const tree of model.trees) m += meanValue(tree, 0);
  return m;
}

function meanValue(tree: Tree, i: number): number {
  const l = tree.left[i] ?? -1;
  if (l < 0) return tree.value[i] ?? 0;
  const r = tree.right[i] ?? -1;
  const c = tree.cover[i] ?? 0;
  return c > 0 ? ((tree.cover[l] ?? 0) * meanValue(tree, l) + (tree.cover[r] ?? 0) * meanValue(tree, r)) / c : 0;
}

/**
 * Exact path-dependent TreeSHAP (Lundberg, Erion, Lee 2018) of `rows` of `matrix` (all rows by default): for each row,
 * bias + sum of its contributions = marginOf(model, row). Missing values (NaN) follow `missingLeft`, as `leafOf`.
 */
export function treeShap(model: Ensemble, matrix: FeatureMatrix, rows?: ArrayLike<number>, options: ShapOptions = {}): Explanation {
  const plan = planFor(model, options);
  const selected = selectRows(matrix, rows);
  const columns = matchColumns(model, matrix);
  const F = plan.features;
  const contributions = new Float64Array(selected.length * F);
  const scratch = newScratch(plan);
  const step = SHAP_DEFAULTS.chunkRows;
  for (let start = 0; start < selected.length; start += step) {
    const n = Math.min(step, selected.length - start);
    const x = gatherRows(columns, selected, start, n);
    explainRows(plan, x, n, contributions.subarray(start * F, (start + n) * F), scratch);
  }
  return { bias: expectedMargin(model), contributions };
}

/**
 * `treeShap` over worker threads: chunks of rows explained in parallel by the same kernels, so the result is identical
 * to `treeShap`'s, bit for bit, whatever the number of workers.
 */
export async function treeShapParallel(
  model: Ensemble,
  matrix: FeatureMatrix,
  rows?: ArrayLike<number>,
  options: ShapOptions & { readonly workers?: number } = {},
): Promise<Explanation> {
  const plan = planFor(model, options);
  const F = plan.features;
  const selected = selectRows(matrix, rows);
  const contributions = new Float64Array(selected.length * F);
  await inWorkers(model, plan, matrix, selected, { kind: 'all' }, options.workers, (m) => {
    contributions.set(m.out as Float64Array, m.start * F);
  });
  return { bias: expectedMargin(model), contributions };
}

/** Each row's margin and its top reasons: what a score stores, without the rows x features contributions. */
export interface TopExplanation {
  readonly bias: number;
  /** Reasons per row. */
  readonly k: number;
  /** The margin of each row (the learner's own prediction, bit for bit: `predictGbdtMargin`). */
  readonly margins: Float64Array;
  /** rows x k feature indices in the model's feature order, largest |contribution| first; -1 where fewer reasons. */
  readonly features: Int32Array;
  /** rows x k contributions (margin scale) of those features; NaN where fewer reasons. */
  readonly contributions: Float64Array;
}

/**
 * The margin and the `k` largest contributions (ranked as `topReasons` 'magnitude' ranks them) of each of `rows`,
 * over worker threads: each worker explains a chunk, walks the trees for its margins and keeps the top k, so that
 * the full contributions never leave it. The same numbers as `treeShap` + `topReasons` + `predictGbdtMargin`.
 */
export async function treeShapTop(
  model: Ensemble,
  matrix: FeatureMatrix,
  rows?: ArrayLike<number>,
  options: ShapOptions & { readonly workers?: number; readonly k?: number } = {},
): Promise<TopExplanation> {
  const k = options.k ?? 3;
  if (!Number.isInteger(k) || k < 1) throw new KairosError('USAGE', `k must be a positive integer (got ${k})`);
  const plan = planFor(model, options);
  const selected = selectRows(matrix, rows);
  const margins = new Float64Array(selected.length);
  const features = new Int32Array(selected.length * k).fill(-1);
  const contributions = new Float64Array(selected.length * k).fill(Number.NaN);
  await inWorkers(model, plan, matrix, selected, { kind: 'top', k }, options.workers, (m) => {
    margins.set(m.margin as Float64Array, m.start);
    features.set(m.feature as Int32Array, m.start * k);
    contributions.set(m.value as Float64Array, m.start * k);
  });
  return { bias: expectedMargin(model), k, margins, features, contributions };
}

/** A chunk's answer from a worker. */
interface ChunkReply {
  readonly start: number;
  readonly [name: string]: unknown;
}

/** Sends the selected rows, in chunks, to worker threads running the kernels; `onReply` takes each chunk's answer. */
async function inWorkers(
  model: Ensemble,
  plan: ShapPlan,
  matrix: FeatureMatrix,
  selected: Int32Array,
  request: { readonly kind: 'all' } | { readonly kind: 'top'; readonly k: number },
  workerCount: number | undefined,
  onReply: (m: ChunkReply) => void,
): Promise<void> {
  const columns = matchColumns(model, matrix);
  const step = SHAP_DEFAULTS.chunkRows;
  const chunks = Math.ceil(selected.length / step);
  if (chunks === 0) return;
  const count = Math.max(1, Math.min(workerCount ?? SHAP_DEFAULTS.workers, chunks));
  const workerData = { plan, trees: request.kind === 'top' ? model.trees : [], baseMargin: model.baseMargin };
  const workers = Array.from({ length: count }, () => new Worker(WORKER_SOURCE, { eval: true, workerData }));
  try {
    let next = 0;
    await Promise.all(
      workers.map(
        (worker) =>
          new Promise<void>((resolve, reject) => {
            let pending = 0;
            const send = (): void => {
              if (next >= chunks) {
                if (pending === 0) resolve();
                return;
              }
              const start = next++ * step;
              const n = Math.min(step, selected.length - start);
              const x = gatherRows(columns, selected, start, n);
              pending++;
              worker.postMessage({ ...request, start, n, x }, [x.buffer as ArrayBuffer]);
            };
            worker.on('message', (m: ChunkReply) => {
              onReply(m);
              pending--;
              send();
            });
            worker.on('error', reject);
            worker.on('exit', (code) => reject(new KairosError('INTERNAL', `a TreeSHAP worker stopped early (exit code ${code})`)));
            // Two chunks in flight: the worker starts the second while this thread copies the first's result.
            send();
            send();
          }),
      ),
    );
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

/** One reason of a prediction: a feature and its signed contribution on the margin scale. */
export interface Reason {
  readonly feature: string;
  readonly index: number;
  readonly contribution: number;
}

/**
 * The k features of one row's contributions (`contributions.subarray(r * F, (r + 1) * F)`) that moved its margin
 * most: by |contribution| ('magnitude'), or the largest positive ('up') or negative ('down') ones. Zero contributions
 * are no reason. Ties go to the lower feature index.
 */
export function topReasons(
  contributions: ArrayLike<number>,
  features: readonly string[],
  k = 3,
  by: 'magnitude' | 'up' | 'down' = 'magnitude',
): Reason[] {
  const key = (c: number): number => (by === 'magnitude' ? Math.abs(c) : by === 'up' ? c : -c);
  const candidates: number[] = [];
  for (let j = 0; j < contributions.length; j++) if (key(contributions[j] ?? 0) > 0) candidates.push(j);
  candidates.sort((a, b) => key(contributions[b] ?? 0) - key(contributions[a] ?? 0) || a - b);
  return candidates.slice(0, k).map((j) => ({ feature: features[j] ?? String(j), index: j, contribution: contributions[j] ?? 0 }));
}

// ---------------------------------------------------------------------------------------------------------------
// Edges: the matrix's columns in the model's order, the rows asked for.

/** The matrix's columns in the model's feature order (matrix.ts, shared with the learner). */
function matchColumns(model: Ensemble, matrix: FeatureMatrix): (Float64Array | Float32Array)[] {
  return columnsFor(matrix, model.featureNames, 'feature matrix');
}

function selectRows(matrix: FeatureMatrix, rows: ArrayLike<number> | undefined): Int32Array {
  if (rows === undefined) return Int32Array.from({ length: matrix.rows }, (_, i) => i);
  const selected = Int32Array.from(rows);
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i] ?? -1;
    if (!Number.isInteger(r) || r < 0 || r >= matrix.rows) {
      throw new KairosError('VALIDATION', `row ${r} (position ${i}) is not a row of the feature matrix (0 to ${matrix.rows - 1})`);
    }
  }
  return selected;
}

/** Rows selected[start .. start + n) by column: feature f of the chunk's row r at x[f * n + r]. */
function gatherRows(columns: readonly (Float64Array | Float32Array)[], selected: Int32Array, start: number, n: number): Float64Array {
  const x = new Float64Array(n * columns.length);
  const contiguous = n > 0 && selected[start + n - 1]! - selected[start]! === n - 1 && isRun(selected, start, n);
  columns.forEach((column, f) => {
    if (contiguous) x.set(column.subarray(selected[start]!, selected[start]! + n), f * n);
    else for (let r = 0; r < n; r++) x[f * n + r] = column[selected[start + r]!]!;
  });
  return x;
}

/** True when selected[start .. start + n) counts up by one. */
function isRun(selected: Int32Array, start: number, n: number): boolean {
  for (let r = 1; r < n; r++) if (selected[start + r] !== selected[start + r - 1]! + 1) return false;
  return true;
}

const plans = new WeakMap<Ensemble, Map<string, ShapPlan>>();

/** The plan of a model for these options, built once per model object. */
function planFor(model: Ensemble, options: ShapOptions): ShapPlan {
  const method = options.method ?? SHAP_DEFAULTS.method;
  const fold = options.fold ?? SHAP_DEFAULTS.fold;
  if (!Number.isInteger(fold) || fold < 0 || fold > 3) throw new KairosError('USAGE', `fold must be an integer from 0 to 3 (got ${fold})`);
  const key = `${method}:${fold}`;
  let byKey = plans.get(model);
  if (byKey === undefined) plans.set(model, (byKey = new Map()));
  let plan = byKey.get(key);
  if (plan === undefined) byKey.set(key, (plan = buildPlan(model, method === 'tables' ? fold : -1, SHAP_DEFAULTS)));
  return plan;
}

/**
 * A worker: the kernels' own source, explaining the chunks it is sent with the plan it was started with: all the
 * contributions ('all'), or each row's margin and top k contributions ('top', the contributions in a buffer reused).
 */
const WORKER_SOURCE = `'use strict';
const { parentPort, workerData } = require('node:worker_threads');
${KERNEL_SOURCE}
const { plan, trees, baseMargin } = workerData;
const scratch = newScratch(plan);
let buffer = new Float64Array(0);
parentPort.on('message', (m) => {
  if (m.kind === 'all') {
    const out = new Float64Array(m.n * plan.features);
    explainRows(plan, m.x, m.n, out, scratch);
    parentPort.postMessage({ start: m.start, out }, [out.buffer]);
    return;
  }
  const size = m.n * plan.features;
  if (buffer.length < size) buffer = new Float64Array(size);
  const out = buffer.subarray(0, size);
  out.fill(0);
  explainRows(plan, m.x, m.n, out, scratch);
  const margin = new Float64Array(m.n);
  marginRows(trees, baseMargin, m.x, m.n, margin, 0);
  const feature = new Int32Array(m.n * m.k);
  const value = new Float64Array(m.n * m.k);
  topOfRows(out, m.n, plan.features, m.k, feature, value, 0);
  parentPort.postMessage({ start: m.start, margin, feature, value }, [margin.buffer, feature.buffer, value.buffer]);
});
`;
