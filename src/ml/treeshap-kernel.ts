// The kernels of TreeSHAP: contributions of a batch of rows from a plan (treeshap-plan.ts), by the plan's tables or by
// Algorithm 2 of Lundberg, Erion, Lee 2018. Self-contained functions (typed arrays only, no imports, no closures, no
// inner functions), so that their own source runs in worker threads as is (`KERNEL_SOURCE`), from the TypeScript
// sources (vitest, tsx) as from dist. Indices stay within the plan's bounds, which the non-null assertions say.
import type { Tree } from './tree.js';
import type { ShapPlan } from './treeshap-plan.js';

export interface Scratch {
  readonly mask: Int32Array;
  readonly directions: Int32Array;
  readonly feature: Int32Array;
  readonly zero: Float64Array;
  readonly one: Float64Array;
  readonly weight: Float64Array;
}

/** Scratch arrays of the kernels for one thread: masks and directions of a batch of rows, Algorithm 2's path. */
export function newScratch(plan: ShapPlan): Scratch {
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
export function explainRows(plan: ShapPlan, x: Float64Array, n: number, out: Float64Array, s: Scratch): void {
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

/**
 * The k largest contributions by magnitude of each of n rows of `out` (row-major, n x F), into feature[(o + r) * k + j]
 * and value[(o + r) * k + j], largest first; ties to the lower feature index; a zero contribution is no reason: its
 * slots stay -1 and NaN. The same ranking as `topReasons` (treeshap.ts), without an array per row.
 */
export function topOfRows(out: Float64Array, n: number, F: number, k: number, feature: Int32Array, value: Float64Array, o: number): void {
  for (let r = 0; r < n; r++) {
    const base = (o + r) * k;
    for (let j = 0; j < k; j++) {
      feature[base + j] = -1;
      value[base + j] = Number.NaN;
    }
    let filled = 0;
    for (let f = 0; f < F; f++) {
      const c = out[r * F + f]!;
      const a = c < 0 ? -c : c;
      if (!(a > 0)) continue;
      // Insert after every kept one at least as large: a later feature of equal size ranks below.
      let at = filled;
      while (at > 0) {
        const kept = value[base + at - 1]!;
        if (a > (kept < 0 ? -kept : kept)) at--;
        else break;
      }
      if (at >= k) continue;
      for (let j = Math.min(filled, k - 1); j > at; j--) {
        feature[base + j] = feature[base + j - 1]!;
        value[base + j] = value[base + j - 1]!;
      }
      feature[base + at] = f;
      value[base + at] = c;
      if (filled < k) filled++;
    }
  }
}

/**
 * Margins of n rows (x by column: x[f * n + r]) by walking the trees, into margin[o + r]: base margin, then each
 * tree's leaf value in tree order, as the learner's own prediction (gbdt.ts, addTreeMargins), hence the same bits.
 */
export function marginRows(trees: readonly Tree[], baseMargin: number, x: Float64Array, n: number, margin: Float64Array, o: number): void {
  for (let r = 0; r < n; r++) margin[o + r] = baseMargin;
  for (let t = 0; t < trees.length; t++) {
    const { feature, threshold, missingLeft, left, right, value } = trees[t]!;
    for (let r = 0; r < n; r++) {
      let i = 0;
      let next = left[0]!;
      while (next >= 0) {
        const v = x[feature[i]! * n + r]!;
        if (v < threshold[i]!) i = next;
        else if (v === v || missingLeft[i] === 0) i = right[i]!;
        else i = next;
        next = left[i]!;
      }
      margin[o + r] = margin[o + r]! + value[i]!;
    }
  }
}

/** The source of the kernels, for a worker to evaluate: the same functions, hence the same bits. */
export const KERNEL_SOURCE = [newScratch, explainRows, algorithm2Recurse, unwindPath, unwoundPathSum, topOfRows, marginRows].map(String).join('\n');
