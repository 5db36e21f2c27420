// The plan of a TreeSHAP explanation: a tree ensemble laid out as flat typed arrays for the kernels (treeshap-kernel.ts),
// cloneable into a worker. Each tree becomes either Fast TreeSHAP v2 tables (Yang 2021, "Fast TreeSHAP: Accelerating
// SHAP Value Computation for Trees", arXiv:2109.09847) with its last `fold` levels folded in, or stays a tree for
// Algorithm 2 of Lundberg, Erion, Lee 2018 when its tables would be too large.
//
// Along a leaf's path, the row either agrees with every split on a feature (o = 1) or not (o = 0); the leaf's Shapley
// values depend on the row only through that bit mask, so they are computed ahead for every mask (`leafShapley`). A
// block is a highest subtree of height <= fold; its table holds, for each mask U of the distinct features above it and
// each vector d of the row's directions at its splits, the sum of its leaves' Shapley values: a row then costs one
// table row per block. The top nodes, above the blocks, carry the masks down (bit p: the p-th distinct feature of the
// path so far; a split keeps its bit on the side the row goes and clears it on the other).
import type { Ensemble, Tree } from './tree.js';

/** An ensemble prepared for explanation. Table trees and Algorithm 2 trees are numbered separately (`treeRef`). */
export interface ShapPlan {
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

interface TreeTables {
  readonly top: { feature: number; threshold: number; missingLeft: number; bit: number; isNew: number; left: number; right: number }[];
  readonly blocks: { nodes: { feature: number; threshold: number; missingLeft: number }[]; out: number[]; table: Float64Array }[];
}

/**
 * The plan of a model: each tree as Fast TreeSHAP v2 tables with its last `fold` levels folded in (Yang 2021), or, when
 * `fold` < 0 or its tables would exceed `tableBudget` float64 entries, as itself for Algorithm 2 (Lundberg et al. 2018).
 */
export function buildPlan(model: Ensemble, fold: number, limits: { readonly tableBudget: number; readonly rowBatch: number }): ShapPlan {
  const tables: TreeTables[] = [];
  const pathTrees: Tree[] = [];
  const treeRef: number[] = [];
  let pathDepth = 0;
  for (const tree of model.trees) {
    const t = fold >= 0 ? tableTree(tree, fold, limits.tableBudget) : undefined;
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
    rowBatch: limits.rowBatch,
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
function tableTree(tree: Tree, fold: number, tableBudget: number): TreeTables | undefined {
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
  if (size > tableBudget) return undefined;
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
