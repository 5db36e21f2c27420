// Per-customer reasons for a tree ensemble's margin: exact path-dependent TreeSHAP (bias + contributions = margin).
//
// Lundberg, Erion, Lee 2018, "Consistent Individualized Feature Attribution for Tree Ensembles" (arXiv:1802.03888):
// for a set S of known features, a tree's value is E[f(x) | x_S], where a split on a feature of S follows x and any
// other split averages its children weighted by `cover` (child cover / node cover). The contributions are the exact
// Shapley values of that game, on the margin scale. Two exact ways of computing them live here:
//   - Algorithm 2 of the paper (`algorithm2Recurse`): O(L·D²) per tree and row, with a preallocated path stack;
//   - leaf tables after Yang 2021, "Fast TreeSHAP: Accelerating SHAP Value Computation for Trees" (arXiv:2109.09847),
//     Fast TreeSHAP v2: along a leaf's path a feature either agrees with the row at every split (o = 1) or not (o = 0),
//     so each leaf's Shapley values depend on the row only through that bit mask and can be tabled per mask ahead of
//     time. Ours also folds the last `fold` levels of each tree into the tables: each highest subtree of height <=
//     fold (a block) has one table, indexed by the mask above it and the row's directions at its splits, so that a row
//     costs one table row per block instead of one per leaf. Trees whose tables would be too large use Algorithm 2.
// The kernels are self-contained functions (no imports, no closures) so that their source can run in worker threads.
import { Worker } from 'node:worker_threads';
import { KairosError } from '../errors.js';
import { columnsFor, type FeatureMatrix } from './matrix.js';
import type { Ensemble, Tree } from './tree.js';

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

// ---------------------------------------------------------------------------------------------------------------
// The plan: an ensemble laid out for the kernels, as flat typed arrays (cloneable into a worker).

/** An ensemble prepared for explanation. Table trees and Algorithm 2 trees are numbered separately (`treeRef`). */
interface ShapPlan {
  readonly features: number;
  readonly rowBatch: number;
  /** Per tree: its index among table trees (>= 0), or -(index + 1) among `pathTrees`. */
  readonly treeRef: Int32Array;
  /** Per table tree: its top nodes (height > fold) and its blocks (subtrees of height <= fold under them). */
  readonly topStart: Int32Array;
  readonly topCount: Int32Array;
  readonly blockStart: Int32Array;
  readonly blockCount: Int32Array;
  /** Top nodes in preorder. `topBit` is 1 << the position of the node's feature among the distinct features of the
   * path from the root to it; `topNew` 1 where the feature first appears; children are slots: top nodes first, then
   * the tree's blocks. */
  readonly topFeature: Int32Array;
  readonly topThreshold: Float64Array;
  readonly topMissingLeft: Uint8Array;
  readonly topBit: Int32Array;
  readonly topNew: Uint8Array;
  readonly topLeft: Int32Array;
  readonly topRight: Int32Array;
  /** Per block: its internal nodes (`nodeStart`, `nodeCount`), its table (`tableStart`, `width` entries a row, one per
   * feature of `outFeature[outStart ..]`). The table row of mask U and directions d is (U << nodeCount | d). */
  readonly nodeStart: Int32Array;
  readonly nodeCount: Int32Array;
  readonly tableStart: Int32Array;
  readonly width: Int32Array;
  readonly outStart: Int32Array;
  /** The blocks' internal nodes, in preorder within their block (bit i of d: x went left at node i). */
  readonly nodeFeature: Int32Array;
  readonly nodeThreshold: Float64Array;
  readonly nodeMissingLeft: Uint8Array;
  readonly outFeature: Int32Array;
  readonly table: Float64Array;
  /** The most slots (top nodes + blocks) of a table tree: the kernel keeps that many masks for each row of a batch. */
  readonly maxSlots: number;
  /** Trees explained by Algorithm 2, and the deepest of them. */
  readonly pathTrees: readonly Tree[];
  readonly pathDepth: number;
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
  if (plan === undefined) byKey.set(key, (plan = buildPlan(model, method === 'tables' ? fold : -1)));
  return plan;
}

interface TreeTables {
  readonly top: { feature: number; threshold: number; missingLeft: number; bit: number; isNew: number; left: number; right: number }[];
  readonly blocks: { nodes: { feature: number; threshold: number; missingLeft: number }[]; out: number[]; table: Float64Array }[];
}

function buildPlan(model: Ensemble, fold: number): ShapPlan {
  const tables: TreeTables[] = [];
  const pathTrees: Tree[] = [];
  const treeRef: number[] = [];
  let pathDepth = 0;
  for (const tree of model.trees) {
    const t = fold >= 0 ? tableTree(tree, fold) : undefined;
    if (t !== undefined) {
      treeRef.push(tables.length);
      tables.push(t);
    } else {
      treeRef.push(-(pathTrees.length + 1));
      pathTrees.push(tree);
      pathDepth = Math.max(pathDepth, heights(tree)[0] ?? 0);
    }
  }
  const top = tables.flatMap((t) => t.top);
  const blocks = tables.flatMap((t) => t.blocks);
  const cumulative = (counts: number[]): Int32Array => {
    let s = 0;
    return Int32Array.from(counts, (c) => ((s += c), s - c));
  };
  const nodeCounts = blocks.map((b) => b.nodes.length);
  const widths = blocks.map((b) => b.out.length);
  const tableSizes = blocks.map((b) => b.table.length);
  const table = new Float64Array(tableSizes.reduce((a, b) => a + b, 0));
  const tableStart = cumulative(tableSizes);
  blocks.forEach((b, i) => table.set(b.table, tableStart[i]));
  const nodes = blocks.flatMap((b) => b.nodes);
  return {
    features: model.featureNames.length,
    rowBatch: SHAP_DEFAULTS.rowBatch,
    treeRef: Int32Array.from(treeRef),
    topStart: cumulative(tables.map((t) => t.top.length)),
    topCount: Int32Array.from(tables, (t) => t.top.length),
    blockStart: cumulative(tables.map((t) => t.blocks.length)),
    blockCount: Int32Array.from(tables, (t) => t.blocks.length),
    topFeature: Int32Array.from(top, (n) => n.feature),
    topThreshold: Float64Array.from(top, (n) => n.threshold),
    topMissingLeft: Uint8Array.from(top, (n) => n.missingLeft),
    topBit: Int32Array.from(top, (n) => n.bit),
    topNew: Uint8Array.from(top, (n) => n.isNew),
    topLeft: Int32Array.from(top, (n) => n.left),
    topRight: Int32Array.from(top, (n) => n.right),
    nodeStart: cumulative(nodeCounts),
    nodeCount: Int32Array.from(nodeCounts),
    tableStart,
    width: Int32Array.from(widths),
    outStart: cumulative(widths),
    nodeFeature: Int32Array.from(nodes, (n) => n.feature),
    nodeThreshold: Float64Array.from(nodes, (n) => n.threshold),
    nodeMissingLeft: Uint8Array.from(nodes, (n) => n.missingLeft),
    outFeature: Int32Array.from(blocks.flatMap((b) => b.out)),
    table,
    maxSlots: Math.max(1, ...tables.map((t) => t.top.length + t.blocks.length)),
    pathTrees,
    pathDepth,
  };
}

/** Height of every node (0 at leaves). */
function heights(tree: Tree): Int32Array {
  const h = new Int32Array(tree.left.length);
  const visit = (i: number): number => {
    const l = tree.left[i] ?? -1;
    h[i] = l < 0 ? 0 : 1 + Math.max(visit(l), visit(tree.right[i] ?? 0));
    return h[i] as number;
  };
  visit(0);
  return h;
}

/** cover(child) / cover(node): the share of the node's expectation that goes down to the child (0 under cover 0). */
function coverRatio(tree: Tree, node: number, child: number): number {
  const c = tree.cover[node] ?? 0;
  return c > 0 ? (tree.cover[child] ?? 0) / c : 0;
}

/** A leaf as the tables see it: its value, the distinct features of its path (first appearance first) and their
 * zero fractions z (the product of cover ratios at their splits), and its steps inside its block. */
interface TableLeaf {
  readonly value: number;
  readonly path: readonly number[];
  readonly zero: readonly number[];
  readonly steps: readonly { node: number; left: boolean; position: number }[];
}

/** A tree's top nodes and block tables, or undefined when they would exceed the table budget. */
function tableTree(tree: Tree, fold: number): TreeTables | undefined {
  const h = heights(tree);
  const topNodes: { id: number; bit: number; isNew: number }[] = [];
  const blockRoots: { id: number; path: number[]; zero: number[] }[] = [];
  const descend = (i: number, path: number[], zero: number[], into: (child: number, path: number[], zero: number[], p: number) => void): void => {
    const f = tree.feature[i] ?? 0;
    const found = path.indexOf(f);
    const p = found < 0 ? path.length : found;
    const childPath = found < 0 ? [...path, f] : path;
    for (const child of [tree.left[i] ?? 0, tree.right[i] ?? 0]) {
      const childZero = [...zero];
      childZero[p] = (found < 0 ? 1 : (zero[p] ?? 1)) * coverRatio(tree, i, child);
      into(child, childPath, childZero, p);
    }
  };
  const walkTop = (i: number, path: number[], zero: number[]): void => {
    if ((h[i] ?? 0) <= fold) {
      blockRoots.push({ id: i, path, zero });
      return;
    }
    const found = path.indexOf(tree.feature[i] ?? 0);
    topNodes.push({ id: i, bit: 1 << (found < 0 ? path.length : found), isNew: found < 0 ? 1 : 0 });
    descend(i, path, zero, (child, p, z) => walkTop(child, p, z));
  };
  walkTop(0, [], []);

  const slot = new Map<number, number>();
  topNodes.forEach((n, k) => slot.set(n.id, k));
  blockRoots.forEach((b, k) => slot.set(b.id, topNodes.length + k));
  const top = topNodes.map((n) => ({
    feature: tree.feature[n.id] ?? 0,
    threshold: tree.threshold[n.id] ?? 0,
    missingLeft: tree.missingLeft[n.id] ?? 0,
    bit: n.bit,
    isNew: n.isNew,
    left: slot.get(tree.left[n.id] ?? 0) ?? 0,
    right: slot.get(tree.right[n.id] ?? 0) ?? 0,
  }));

  // Every block's leaves and outputs first, so that a tree over the budget is known before any table is computed.
  const shapes = blockRoots.map((root) => {
    const nodes: number[] = [];
    const leaves: TableLeaf[] = [];
    const walkBlock = (i: number, path: number[], zero: number[], steps: TableLeaf['steps']): void => {
      if ((tree.left[i] ?? -1) < 0) {
        leaves.push({ value: tree.value[i] ?? 0, path, zero, steps });
        return;
      }
      const node = nodes.push(i) - 1;
      descend(i, path, zero, (child, p, z, position) =>
        walkBlock(child, p, z, [...steps, { node, left: child === tree.left[i], position }]),
      );
    };
    walkBlock(root.id, root.path, root.zero, []);
    const out = [...new Set([...root.path, ...nodes.map((i) => tree.feature[i] ?? 0)])];
    return { kTop: root.path.length, nodes, leaves, out };
  });
  const size = shapes.reduce(
    (s, b) => s + 2 ** (b.kTop + b.nodes.length) * b.out.length + b.leaves.reduce((t, l) => t + 2 ** l.path.length * l.path.length, 0),
    0,
  );
  if (size > SHAP_DEFAULTS.tableBudget) return undefined;
  const blocks = shapes.map((b) => ({
    nodes: b.nodes.map((i) => ({ feature: tree.feature[i] ?? 0, threshold: tree.threshold[i] ?? 0, missingLeft: tree.missingLeft[i] ?? 0 })),
    out: b.out,
    table: blockTable(b.kTop, b.nodes.length, b.out, b.leaves),
  }));
  return { top, blocks };
}

/**
 * The table of one block: for each mask U of its top path (bit p: the row agrees with every split above on the path's
 * p-th feature) and each vector d of directions at its internal nodes, the sum over its leaves of their Shapley values.
 */
function blockTable(kTop: number, nb: number, out: readonly number[], leaves: readonly TableLeaf[]): Float64Array {
  const width = out.length;
  const table = new Float64Array(2 ** (kTop + nb) * width);
  const coef = new Float64Array(Math.max(1, ...leaves.map((l) => l.path.length)) + 1);
  for (const leaf of leaves) {
    const k = leaf.path.length;
    const slots = Int32Array.from(leaf.path, (f) => out.indexOf(f));
    const weights = shapleyWeights(k);
    const phi = new Float64Array(2 ** k * k);
    const done = new Uint8Array(2 ** k);
    // The features of the leaf's path below the block's root start agreeing; directions d that leave the leaf's path
    // clear the bits of the features split on where they leave it.
    const below = ((1 << k) - 1) & ~((1 << kTop) - 1);
    const clear = Int32Array.from({ length: 2 ** nb }, (_, d) =>
      leaf.steps.reduce((c, step) => ((((d >> step.node) & 1) === 1) !== step.left ? c | (1 << step.position) : c), 0),
    );
    for (let U = 0; U < 2 ** kTop; U++) {
      for (let d = 0; d < 2 ** nb; d++) {
        const o = (U | below) & ~clear[d]!;
        if (done[o] === 0) {
          leafShapley(leaf.zero, o, leaf.value, weights, coef, phi.subarray(o * k, (o + 1) * k));
          done[o] = 1;
        }
        const row = ((U << nb) | d) * width;
        for (let p = 0; p < k; p++) table[row + slots[p]!]! += phi[o * k + p]!;
      }
    }
  }
  return table;
}

/**
 * Shapley values of one leaf's game v(S) = value · Π_{j in S} o_j · Π_{j not in S} z_j over the k distinct features
 * of its path (o_j: bit j of `o`): φ_j = value · (o_j - z_j) · Σ_s s!(k-s-1)!/k! · [y^s] Π_{i≠j} (z_i + o_i y), the
 * quantity Algorithm 2 accumulates at a leaf (Lundberg et al. 2018), here per mask as in Fast TreeSHAP v2. When o_j = 0
 * the product over i ≠ j is the whole product over z_j, so φ_j = -value · Σ_s w_s [y^s] Π_i (z_i + o_i y) for every
 * such j, with no division.
 */
function leafShapley(zero: readonly number[], o: number, value: number, weights: Float64Array, coef: Float64Array, phi: Float64Array): void {
  const k = zero.length;
  const all = (1 << k) - 1;
  const off = (o & all) === all ? 0 : -value * weightedProduct(zero, o, -1, weights, coef);
  for (let j = 0; j < k; j++) phi[j] = ((o >> j) & 1) === 0 ? off : value * (1 - zero[j]!) * weightedProduct(zero, o, j, weights, coef);
}

/** Σ_s w_s [y^s] Π_{i ≠ without} (z_i + o_i y), the product's coefficients built in `coef`. */
function weightedProduct(zero: readonly number[], o: number, without: number, weights: Float64Array, coef: Float64Array): number {
  const k = zero.length;
  coef.fill(0);
  coef[0] = 1;
  let degree = 0;
  for (let i = 0; i < k; i++) {
    if (i === without) continue;
    const z = zero[i]!;
    const one = (o >> i) & 1;
    for (let s = degree + 1; s >= 1; s--) coef[s] = coef[s]! * z + coef[s - 1]! * one;
    coef[0] = coef[0]! * z;
    degree++;
  }
  let sum = 0;
  for (let s = 0; s < k; s++) sum += coef[s]! * weights[s]!;
  return sum;
}

/** w_s = s!(k-s-1)!/k! = 1 / (k · C(k-1, s)), s = 0 .. k-1: the Shapley weight of a coalition of s of k players. */
function shapleyWeights(k: number): Float64Array {
  const w = new Float64Array(k);
  let binomial = 1;
  for (let s = 0; s < k; s++) {
    w[s] = 1 / (k * binomial);
    binomial = (binomial * (k - 1 - s)) / (s + 1);
  }
  return w;
}

// ---------------------------------------------------------------------------------------------------------------
// Kernels. Self-contained (their source runs in workers as is): typed arrays only, indices within the plan's bounds.

interface Scratch {
  readonly mask: Int32Array;
  readonly directions: Int32Array;
  readonly feature: Int32Array;
  readonly zero: Float64Array;
  readonly one: Float64Array;
  readonly weight: Float64Array;
}

function newScratch(plan: ShapPlan): Scratch {
  const pathSize = ((plan.pathDepth + 2) * (plan.pathDepth + 3)) / 2;
  return {
    mask: new Int32Array(plan.maxSlots * plan.rowBatch),
    directions: new Int32Array(plan.rowBatch),
    feature: new Int32Array(pathSize),
    zero: new Float64Array(pathSize),
    one: new Float64Array(pathSize),
    weight: new Float64Array(pathSize),
  };
}

/**
 * Adds the contributions of n rows (x by column: x[f * n + r]) into out (row-major, n x plan.features). Rows go in
 * batches of plan.rowBatch; for each batch, tree after tree, node after node, each loop runs over the batch's rows, so
 * that a node's split and a block's table are read once per batch and the rows' values come in order.
 */
function explainRows(plan: ShapPlan, x: Float64Array, n: number, out: Float64Array, s: Scratch): void {
  const F = plan.features;
  const T = plan.treeRef.length;
  const R = plan.rowBatch;
  const { topStart, topCount, blockStart, blockCount, topFeature, topThreshold, topMissingLeft, topBit, topNew, topLeft, topRight } = plan;
  const { nodeStart, nodeCount, tableStart, width, outStart, nodeFeature, nodeThreshold, nodeMissingLeft, outFeature, table } = plan;
  const mask = s.mask;
  const dir = s.directions;
  for (let r0 = 0; r0 < n; r0 += R) {
    const nr = Math.min(n, r0 + R) - r0;
    for (let t = 0; t < T; t++) {
      const ref = plan.treeRef[t]!;
      if (ref < 0) {
        const tree = plan.pathTrees[-ref - 1]!;
        for (let r = r0; r < r0 + nr; r++) algorithm2Recurse(tree, x, r, n, out, r * F, s, 0, 0, 0, 1, 1, -1);
        continue;
      }
      const t0 = topStart[ref]!;
      const t1 = t0 + topCount[ref]!;
      const b0 = blockStart[ref]!;
      const b1 = b0 + blockCount[ref]!;
      // Masks by slot: slot q of the batch's row i at mask[q * R + i]; the root's (slot 0) start empty.
      mask.fill(0, 0, nr);
      for (let i = t0; i < t1; i++) {
        const xo = topFeature[i]! * n + r0;
        const threshold = topThreshold[i]!;
        const missingLeft = topMissingLeft[i] === 1;
        const b = topBit[i]!;
        const isNew = topNew[i] === 1;
        const from = (i - t0) * R;
        const toLeft = topLeft[i]! * R;
        const toRight = topRight[i]! * R;
        for (let r = 0; r < nr; r++) {
          const m = mask[from + r]!;
          const v = x[xo + r]!;
          const hot = isNew ? m | b : m;
          const cold = m & ~b;
          if (v !== v ? missingLeft : v < threshold) {
            mask[toLeft + r] = hot;
            mask[toRight + r] = cold;
          } else {
            mask[toLeft + r] = cold;
            mask[toRight + r] = hot;
          }
        }
      }
      const firstBlockSlot = t1 - t0 - b0;
      for (let k = b0; k < b1; k++) {
        const nb = nodeCount[k]!;
        const j0 = nodeStart[k]!;
        dir.fill(0, 0, nr);
        for (let j = 0; j < nb; j++) {
          const xo = nodeFeature[j0 + j]! * n + r0;
          const threshold = nodeThreshold[j0 + j]!;
          const missingLeft = nodeMissingLeft[j0 + j] === 1;
          const bit = 1 << j;
          for (let r = 0; r < nr; r++) {
            const v = x[xo + r]!;
            if (v !== v ? missingLeft : v < threshold) dir[r]! |= bit;
          }
        }
        const w = width[k]!;
        const e0 = tableStart[k]!;
        const o = outStart[k]!;
        const from = (firstBlockSlot + k) * R;
        for (let r = 0; r < nr; r++) {
          const e = e0 + ((mask[from + r]! << nb) | dir[r]!) * w;
          const oo = (r0 + r) * F;
          for (let q = 0; q < w; q++) out[oo + outFeature[o + q]!]! += table[e + q]!;
        }
      }
    }
  }
}

/**
 * Algorithm 2 of Lundberg, Erion, Lee 2018 (RECURSE with EXTEND inlined) at node j of one tree, for row `row` of x (by
 * column, n rows): the path of distinct features so far is the parentLen elements at s[parentBase..]; this call copies
 * it to its own segment right after, extends it with (pZero, pOne, pFeature) and, at a leaf, adds each element's share
 * of the leaf value to out[oo + feature]. A branch whose zero and one fractions are both 0 adds nothing: skipped.
 */
function algorithm2Recurse(
  tree: Tree,
  x: Float64Array,
  row: number,
  n: number,
  out: Float64Array,
  oo: number,
  s: Scratch,
  j: number,
  parentBase: number,
  parentLen: number,
  pZero: number,
  pOne: number,
  pFeature: number,
): void {
  const F = s.feature;
  const Z = s.zero;
  const O = s.one;
  const W = s.weight;
  const base = parentBase + parentLen;
  for (let i = 0; i < parentLen; i++) {
    F[base + i] = F[parentBase + i]!;
    Z[base + i] = Z[parentBase + i]!;
    O[base + i] = O[parentBase + i]!;
    W[base + i] = W[parentBase + i]!;
  }
  const u = parentLen;
  F[base + u] = pFeature;
  Z[base + u] = pZero;
  O[base + u] = pOne;
  W[base + u] = u === 0 ? 1 : 0;
  for (let i = u - 1; i >= 0; i--) {
    W[base + i + 1]! += (pOne * W[base + i]! * (i + 1)) / (u + 1);
    W[base + i] = (pZero * W[base + i]! * (u - i)) / (u + 1);
  }
  const left = tree.left[j]!;
  if (left < 0) {
    const value = tree.value[j]!;
    for (let i = 1; i <= u; i++) {
      const w = unwoundPathSum(s, base, u, i);
      out[oo + F[base + i]!]! += w * (O[base + i]! - Z[base + i]!) * value;
    }
    return;
  }
  const f = tree.feature[j]!;
  const v = x[f * n + row]!;
  const goLeft = v !== v ? tree.missingLeft[j] === 1 : v < tree.threshold[j]!;
  const hot = goLeft ? left : tree.right[j]!;
  const cold = goLeft ? tree.right[j]! : left;
  let iZero = 1;
  let iOne = 1;
  let len = u + 1;
  for (let k = 1; k <= u; k++) {
    if (F[base + k] === f) {
      iZero = Z[base + k]!;
      iOne = O[base + k]!;
      unwindPath(s, base, u, k);
      len = u;
      break;
    }
  }
  const c = tree.cover[j]!;
  const hotZero = c > 0 ? (iZero * tree.cover[hot]!) / c : 0;
  const coldZero = c > 0 ? (iZero * tree.cover[cold]!) / c : 0;
  if (hotZero !== 0 || iOne !== 0) algorithm2Recurse(tree, x, row, n, out, oo, s, hot, base, len, hotZero, iOne, f);
  if (coldZero !== 0) algorithm2Recurse(tree, x, row, n, out, oo, s, cold, base, len, coldZero, 0, f);
}

/** UNWIND of Algorithm 2: removes element i from the path s[base .. base + u] (u + 1 elements), in place. */
function unwindPath(s: Scratch, base: number, u: number, i: number): void {
  const F = s.feature;
  const Z = s.zero;
  const O = s.one;
  const W = s.weight;
  const one = O[base + i]!;
  const zero = Z[base + i]!;
  let next = W[base + u]!;
  for (let j = u - 1; j >= 0; j--) {
    if (one !== 0) {
      const w = W[base + j]!;
      W[base + j] = (next * (u + 1)) / ((j + 1) * one);
      next = w - (W[base + j]! * zero * (u - j)) / (u + 1);
    } else {
      W[base + j] = (W[base + j]! * (u + 1)) / (zero * (u - j));
    }
  }
  for (let j = i; j < u; j++) {
    F[base + j] = F[base + j + 1]!;
    Z[base + j] = Z[base + j + 1]!;
    O[base + j] = O[base + j + 1]!;
  }
}

/** sum(UNWIND(m, i).w) of Algorithm 2, without changing the path. */
function unwoundPathSum(s: Scratch, base: number, u: number, i: number): number {
  const W = s.weight;
  const one = s.one[base + i]!;
  const zero = s.zero[base + i]!;
  let next = W[base + u]!;
  let total = 0;
  for (let j = u - 1; j >= 0; j--) {
    if (one !== 0) {
      const w = (next * (u + 1)) / ((j + 1) * one);
      total += w;
      next = W[base + j]! - (w * zero * (u - j)) / (u + 1);
    } else {
      total += (W[base + j]! * (u + 1)) / (zero * (u - j));
    }
  }
  return total;
}

/** A worker: the kernels' own source, explaining the chunks it is sent with the plan it was started with. */
const WORKER_SOURCE = `'use strict';
const { parentPort, workerData: plan } = require('node:worker_threads');
${[newScratch, explainRows, algorithm2Recurse, unwindPath, unwoundPathSum].map(String).join('\n')}
const scratch = newScratch(plan);
parentPort.on('message', (m) => {
  const out = new Float64Array(m.n * plan.features);
  explainRows(plan, m.x, m.n, out, scratch);
  parentPort.postMessage({ start: m.start, out }, [out.buffer]);
});
`;
