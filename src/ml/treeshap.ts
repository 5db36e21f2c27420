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
  const selected = selectRows(matrix, rows);
  const columns = matchColumns(model, matrix);
  const F = plan.features;
  const contributions = new Float64Array(selected.length * F);
  const step = SHAP_DEFAULTS.chunkRows;
  const chunks = Math.ceil(selected.length / step);
  if (chunks === 0) return { bias: expectedMargin(model), contributions };
  const count = Math.max(1, Math.min(options.workers ?? SHAP_DEFAULTS.workers, chunks));
  const workers = Array.from({ length: count }, () => new Worker(WORKER_SOURCE, { eval: true, workerData: plan }));
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
              worker.postMessage({ start, n, x }, [x.buffer as ArrayBuffer]);
            };
            worker.on('message', (m: { start: number; out: Float64Array }) => {
              contributions.set(m.out, m.start * F);
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
  return { bias: expectedMargin(model), contributions };
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

/** A worker: the kernels' own source, explaining the chunks it is sent with the plan it was started with. */
const WORKER_SOURCE = `'use strict';
const { parentPort, workerData: plan } = require('node:worker_threads');
${KERNEL_SOURCE}
const scratch = newScratch(plan);
parentPort.on('message', (m) => {
  const out = new Float64Array(m.n * plan.features);
  explainRows(plan, m.x, m.n, out, scratch);
  parentPort.postMessage({ start: m.start, out }, [out.buffer]);
});
`;
