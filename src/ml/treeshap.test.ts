// Tests of the TreeSHAP explanations: brute-force Shapley values of the path-dependent game, local accuracy, XGBoost.
import { describe, expect, it } from 'vitest';
import { createRng } from '../math/random.js';
import { randomEnsemble, randomMatrix, rowOf } from '../testing/ensembles.js';
import { expectClose, type Tolerance } from '../testing/expect-close.js';
import { hasXgboost, trainXgboostReference } from '../testing/xgboost.js';
import { marginOf, type Ensemble, type Tree } from './tree.js';
import { predictGbdtMargin } from './gbdt.js';
import { expectedMargin, topReasons, treeShap, treeShapParallel, treeShapTop, type FeatureMatrix, type ShapOptions } from './treeshap.js';

/** A node of a hand-built tree. */
type Node = { value: number; cover: number } | { f: number; t: number; missingLeft: boolean; cover: number; l: Node; r: Node };

function tree(root: Node): Tree {
  const nodes: Node[] = [];
  const index = new Map<Node, number>();
  const visit = (n: Node): void => {
    index.set(n, nodes.push(n) - 1);
    if ('f' in n) {
      visit(n.l);
      visit(n.r);
    }
  };
  visit(root);
  const at = <T>(get: (n: Node) => T): T[] => nodes.map(get);
  return {
    feature: Int32Array.from(at((n) => ('f' in n ? n.f : -1))),
    threshold: Float64Array.from(at((n) => ('f' in n ? n.t : 0))),
    missingLeft: Uint8Array.from(at((n) => ('f' in n && n.missingLeft ? 1 : 0))),
    left: Int32Array.from(at((n) => ('f' in n ? (index.get(n.l) ?? -1) : -1))),
    right: Int32Array.from(at((n) => ('f' in n ? (index.get(n.r) ?? -1) : -1))),
    value: Float64Array.from(at((n) => ('f' in n ? 0 : n.value))),
    cover: Float64Array.from(at((n) => n.cover)),
  };
}

const leaf = (value: number, cover: number): Node => ({ value, cover });
const split = (f: number, t: number, missingLeft: boolean, cover: number, l: Node, r: Node): Node => ({ f, t, missingLeft, cover, l, r });

function ensemble(features: number, trees: Tree[], baseMargin = 0.2): Ensemble {
  return { objective: 'logistic', baseMargin, featureNames: Array.from({ length: features }, (_, f) => `f${f}`), trees };
}

function matrixOf(rows: number[][]): FeatureMatrix {
  const F = rows[0]?.length ?? 0;
  return { names: Array.from({ length: F }, (_, f) => `f${f}`), columns: Array.from({ length: F }, (_, f) => Float64Array.from(rows, (r) => r[f] ?? Number.NaN)), rows: rows.length };
}

/**
 * E[f(x) | x_S] of the path-dependent game (Lundberg et al. 2018, section 4): a split on a feature of S follows x, any
 * other averages its children weighted by cover (child cover / node cover; 0 under a node of cover 0).
 */
function conditional(t: Tree, x: (f: number) => number, known: (f: number) => boolean, i = 0): number {
  const l = t.left[i] ?? -1;
  if (l < 0) return t.value[i] ?? 0;
  const r = t.right[i] ?? -1;
  const f = t.feature[i] ?? 0;
  if (known(f)) {
    const v = x(f);
    return conditional(t, x, known, (Number.isNaN(v) ? t.missingLeft[i] === 1 : v < (t.threshold[i] ?? 0)) ? l : r);
  }
  const c = t.cover[i] ?? 0;
  if (c === 0) return 0;
  return ((t.cover[l] ?? 0) / c) * conditional(t, x, known, l) + ((t.cover[r] ?? 0) / c) * conditional(t, x, known, r);
}

/** Shapley values by enumeration of every subset of the n features: φ_i = Σ_S |S|!(n-|S|-1)!/n! (v(S ∪ i) - v(S)). */
function bruteForceShap(model: Ensemble, x: (f: number) => number): { bias: number; phi: number[] } {
  const n = model.featureNames.length;
  const v = Array.from({ length: 2 ** n }, (_, S) => model.trees.reduce((s, t) => s + conditional(t, x, (f) => ((S >> f) & 1) === 1), model.baseMargin));
  const factorial = (m: number): number => (m <= 1 ? 1 : m * factorial(m - 1));
  const phi = Array.from({ length: n }, (_, i) => {
    let sum = 0;
    for (let S = 0; S < 2 ** n; S++) {
      if ((S >> i) & 1) continue;
      let size = 0;
      for (let j = 0; j < n; j++) size += (S >> j) & 1;
      sum += ((factorial(size) * factorial(n - size - 1)) / factorial(n)) * ((v[S | (1 << i)] as number) - (v[S] as number));
    }
    return sum;
  });
  return { bias: v[0] as number, phi };
}

/** expectClose over many values at once: the first one out of tolerance fails, with its label and the tolerance. */
function expectAllClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: Tolerance, label: (i: number) => string): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i] as number;
    const e = expected[i] as number;
    if (!(Math.abs(a - e) <= (tol.atol ?? 0) + (tol.rtol ?? 0) * Math.abs(e))) expectClose(a, e, tol, label(i));
  }
}

/** True when two arrays hold the same bytes (a deep toEqual of 160,000 numbers takes seconds). */
function sameBits(a: Float64Array, b: Float64Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

const METHODS: readonly (ShapOptions & { name: string })[] = [
  { name: 'Algorithm 2', method: 'algorithm2' },
  ...[0, 1, 2, 3].map((fold) => ({ name: `tables, fold ${fold}`, method: 'tables' as const, fold })),
];

function expectBruteForce(model: Ensemble, matrix: FeatureMatrix, label: string): void {
  const F = model.featureNames.length;
  const expected = Array.from({ length: matrix.rows }, (_, r) => bruteForceShap(model, rowOf(matrix, r)));
  for (const options of METHODS) {
    const { bias, contributions } = treeShap(model, matrix, undefined, options);
    expectClose(bias, expected[0]?.bias ?? Number.NaN, { atol: 1e-10 }, `${label} bias`);
    expectAllClose(contributions, expected.flatMap((e) => e.phi), { atol: 1e-10 }, (i) => `${label}, ${options.name}, row ${Math.floor(i / F)}, feature ${i % F}`);
  }
}

/** Hand-built trees: features reused on a path with both missing directions, covers of 0, covers that do not add up. */
const HAND_BUILT = {
  reused: tree(
    split(0, 2, true, 20,
      split(1, 0, false, 12,
        split(0, 1, false, 7, leaf(1.5, 3), split(2, 0.5, true, 4, leaf(-0.5, 1), leaf(2, 3))),
        leaf(-1, 5)),
      split(0, 3, true, 8, split(1, 1, true, 6, leaf(0.25, 2), leaf(3, 4)), leaf(-2, 2))),
  ),
  zeroCover: tree(
    split(0, 1, false, 10,
      split(1, 1, true, 0, leaf(3, 0), leaf(-2, 0)),
      split(0, 2, true, 10, leaf(1, 4), split(1, 0, false, 6, leaf(7, 0), leaf(-1, 6)))),
  ),
  inconsistent: tree(split(1, 0, true, 9, split(0, 1, false, 5, leaf(2, 1), leaf(-3, 2)), split(1, 2, false, 3, leaf(0.5, 3), leaf(4, 2)))),
  stump: tree(leaf(0.75, 10)),
};

/** Rows on and around the hand-built thresholds, with missing values. */
const HAND_ROWS = matrixOf(
  [-1, 0, 0.5, 1, 1.5, 2, 2.5, 3, 4, Number.NaN].flatMap((a, i) => [
    [a, [-1, 0, 1, 2, Number.NaN][i % 5] as number, [0, 1, Number.NaN][i % 3] as number],
    [a, [Number.NaN, 2, -0.5, 0, 1][i % 5] as number, [Number.NaN, 0.5, 0.25][i % 3] as number],
  ]),
);

describe('exact TreeSHAP', () => {
  it('matches brute-force Shapley values of the path-dependent game on hand-built trees (Lundberg et al. 2018)', () => {
    for (const [name, t] of Object.entries(HAND_BUILT)) expectBruteForce(ensemble(3, [t]), HAND_ROWS, name);
    expectBruteForce(ensemble(3, Object.values(HAND_BUILT), -0.4), HAND_ROWS, 'all four');
  });

  it('matches brute-force Shapley values of the path-dependent game on random ensembles (Lundberg et al. 2018)', () => {
    // Seeds 1-16: depth 1 to 4 on 2 to 6 features, 3 features per tree (reused along paths); 17-28: depth 4 on 6
    // features; 29-36: depth 6 on 6 features, so that a leaf's path holds up to 6 distinct features.
    for (let seed = 1; seed <= 36; seed++) {
      const rng = createRng(seed);
      const F = seed > 16 ? 6 : 2 + (seed % 5);
      const data = randomMatrix(rng, 160, F, 0.2);
      const depth = seed > 28 ? 6 : seed > 16 ? 4 : 1 + (seed % 4);
      const model = randomEnsemble(rng, data, { trees: 1 + (seed % 3), depth, stop: 0.1, featuresPerTree: seed > 16 ? F : Math.min(F, 3) });
      const rows = Array.from({ length: 12 }, (_, i) => i);
      const probe: FeatureMatrix = { names: data.names, columns: data.columns.map((c) => Float64Array.from([...rows.map((r) => c[r] as number), Number.NaN])), rows: 13 };
      expectBruteForce(model, probe, `seed ${seed}`);
    }
  });

  it('adds up to the margin on every row (local accuracy), within 1e-9 relative', () => {
    const rng = createRng(2024);
    const data = randomMatrix(rng, 400, 20, 0.1);
    const model = randomEnsemble(rng, data, { trees: 60, depth: 6, stop: 0.05, featuresPerTree: 8 });
    for (const options of [{ method: 'algorithm2' as const }, {}]) {
      const { bias, contributions } = treeShap(model, data, undefined, options);
      const sums = Array.from({ length: data.rows }, (_, r) => contributions.subarray(r * 20, (r + 1) * 20).reduce((s, c) => s + c, bias));
      const margins = Array.from({ length: data.rows }, (_, r) => marginOf(model, rowOf(data, r)));
      expectAllClose(sums, margins, { rtol: 1e-9, atol: 1e-12 }, (r) => `row ${r} (${options.method ?? 'tables'})`);
    }
  });

  it('gives the same contributions by Algorithm 2 and by the tables', () => {
    const rng = createRng(99);
    const data = randomMatrix(rng, 300, 12, 0.15);
    const model = randomEnsemble(rng, data, { trees: 30, depth: 6, stop: 0.1, featuresPerTree: 5 });
    const a = treeShap(model, data, undefined, { method: 'algorithm2' }).contributions;
    for (const fold of [0, 2, 3]) {
      const b = treeShap(model, data, undefined, { fold }).contributions;
      expectAllClose(b, a, { atol: 1e-12 }, (i) => `fold ${fold}, row ${Math.floor(i / 12)}, feature ${i % 12}`);
    }
  });

  it('gives the bias as the cover-weighted mean leaf value, and exactly 0 to features no tree uses', () => {
    const rng = createRng(5);
    const data = randomMatrix(rng, 200, 10, 0.1);
    const model = randomEnsemble(rng, data, { trees: 12, depth: 4 });
    const used = new Set(model.trees.flatMap((t) => [...t.feature].filter((f) => f >= 0)));
    const unused = model.featureNames.map((_, f) => f).filter((f) => !used.has(f));
    const wide = { ...model, featureNames: [...model.featureNames, 'never'] };
    const matrix = { names: [...data.names, 'never'], columns: [...data.columns, data.columns[0] as Float64Array], rows: data.rows };
    const { bias, contributions } = treeShap(wide, matrix);
    for (let r = 0; r < data.rows; r++) {
      expect(contributions[r * 11 + 10]).toBe(0);
      for (const f of unused) expect(contributions[r * 11 + f]).toBe(0);
    }
    // By hand: each leaf's value times the product of cover ratios down to it (XGBoost's node mean values).
    const mean = (t: Tree, i: number, w: number): number =>
      (t.left[i] ?? -1) < 0
        ? w * (t.value[i] ?? 0)
        : mean(t, t.left[i] ?? 0, (w * (t.cover[t.left[i] ?? 0] ?? 0)) / (t.cover[i] ?? 1)) + mean(t, t.right[i] ?? 0, (w * (t.cover[t.right[i] ?? 0] ?? 0)) / (t.cover[i] ?? 1));
    expectClose(bias, model.trees.reduce((s, t) => s + mean(t, 0, 1), model.baseMargin), { rtol: 1e-12 }, 'bias');
    expect(expectedMargin(model)).toBe(bias);
  });

  it('splits the credit of a symmetric tree equally (AND of two features, uniform covers)', () => {
    // f = 1 when x0 >= 0.5 and x1 >= 0.5; four equally weighted cells: E[f] = 1/4, v({0}) = v({1}) = 1/2, v({0,1}) = 1.
    const and = tree(split(0, 0.5, false, 4, leaf(0, 2), split(1, 0.5, false, 2, leaf(0, 1), leaf(1, 1))));
    const model = ensemble(2, [and], 0);
    const { bias, contributions } = treeShap(model, matrixOf([[1, 1], [0, 1], [1, 0]]));
    expect(bias).toBe(0.25);
    expectClose(contributions[0] as number, 0.375, { atol: 1e-15 }, 'x = (1, 1), feature 0');
    expectClose(contributions[1] as number, 0.375, { atol: 1e-15 }, 'x = (1, 1), feature 1');
    // x = (0, 1): v({0}) = 0, v({1}) = 1/2; x = (1, 0): v({0}) = 1/2, v({1}) = 0: mirror images.
    expectClose(contributions[2] as number, contributions[5] as number, { atol: 1e-15 }, 'mirror, the feature at 0');
    expectClose(contributions[3] as number, contributions[4] as number, { atol: 1e-15 }, 'mirror, the feature at 1');
    expectClose(contributions[2] as number, -0.375, { atol: 1e-15 }, 'x = (0, 1), feature 0');
  });

  it('falls back to Algorithm 2 for trees too deep for the tables, exactly', () => {
    // A chain of 24 splits on 24 features: its leaf tables would need 2^24 rows.
    const F = 24;
    let node: Node = leaf(1, 1);
    for (let d = F - 1; d >= 0; d--) node = split(d, 0, d % 2 === 0, 2 ** (F - d), leaf(d / 10 - 1, 2 ** (F - d) - 2 ** (F - d - 1)), node);
    const model = ensemble(F, [tree(node), HAND_BUILT.reused]);
    const rng = createRng(3);
    const data = matrixOf(Array.from({ length: 40 }, () => Array.from({ length: F }, () => (rng.uniform() < 0.1 ? Number.NaN : rng.uniformIn(-0.2, 1)))));
    const tables = treeShap(model, data);
    const algorithm2 = treeShap(model, data, undefined, { method: 'algorithm2' });
    expectAllClose(tables.contributions, algorithm2.contributions, { atol: 1e-12 }, (i) => `row ${Math.floor(i / F)}, feature ${i % F}`);
    const sums = Array.from({ length: data.rows }, (_, r) => tables.contributions.subarray(r * F, (r + 1) * F).reduce((s, c) => s + c, tables.bias));
    expectAllClose(sums, Array.from({ length: data.rows }, (_, r) => marginOf(model, rowOf(data, r))), { rtol: 1e-9, atol: 1e-12 }, (r) => `row ${r}`);
  });

  it('is deterministic: the same bits again, for a subset of rows, in another column order, and over workers', async () => {
    const rng = createRng(11);
    const data = randomMatrix(rng, 20_000, 8, 0.1);
    const model = randomEnsemble(rng, data, { trees: 10, depth: 5 });
    const first = treeShap(model, data);
    expect(sameBits(treeShap(model, data).contributions, first.contributions)).toBe(true);
    const rows = [19_999, 3, 3, 12_345, 0];
    const subset = treeShap(model, data, rows);
    rows.forEach((r, i) => expect(sameBits(subset.contributions.subarray(i * 8, (i + 1) * 8), first.contributions.subarray(r * 8, (r + 1) * 8))).toBe(true));
    const reversed = { names: [...data.names].reverse(), columns: [...data.columns].reverse(), rows: data.rows };
    expect(sameBits(treeShap(model, reversed).contributions, first.contributions)).toBe(true);
    for (const workers of [1, 2]) {
      const parallel = await treeShapParallel(model, data, undefined, { workers });
      expect(parallel.bias).toBe(first.bias);
      expect(sameBits(parallel.contributions, first.contributions), `${workers} worker(s)`).toBe(true);
    }
    const hand = ensemble(3, Object.values(HAND_BUILT));
    const byAlgorithm2 = treeShap(hand, HAND_ROWS, undefined, { method: 'algorithm2' }).contributions;
    expect(sameBits((await treeShapParallel(hand, HAND_ROWS, undefined, { method: 'algorithm2' })).contributions, byAlgorithm2)).toBe(true);
    expect(byAlgorithm2.some((c) => c !== 0)).toBe(true);
  });

  it('says which column or row is wrong', () => {
    const model = ensemble(3, [HAND_BUILT.reused]);
    expect(() => treeShap(model, { ...HAND_ROWS, names: ['f0', 'f1', 'x'] })).toThrow(/no column "f2"/);
    expect(() => treeShap(model, HAND_ROWS, [0, HAND_ROWS.rows])).toThrow(/row 20 \(position 1\)/);
    expect(() => treeShap(model, HAND_ROWS, undefined, { fold: 9 })).toThrow(/fold/);
  });
});

describe('topReasons', () => {
  const names = ['recency', 'frequency', 'monetary', 'tenure', 'returns'];
  const row = Float64Array.from([0.5, -0.8, 0.5, 0, -0.5]);

  it('ranks by |contribution|, ties to the lower feature index, with the signed values', () => {
    expect(topReasons(row, names)).toEqual([
      { feature: 'frequency', index: 1, contribution: -0.8 },
      { feature: 'recency', index: 0, contribution: 0.5 },
      { feature: 'monetary', index: 2, contribution: 0.5 },
    ]);
  });

  it('gives, over workers, the same margins, reasons and contributions as the tree walk, treeShap and topReasons, bit for bit', async () => {
    const rng = createRng(23);
    const data = randomMatrix(rng, 12_000, 9, 0.1);
    const model = randomEnsemble(rng, data, { trees: 12, depth: 3 });
    const rows = Int32Array.from({ length: 9_000 }, (_, i) => (i * 7) % data.rows);
    const full = treeShap(model, data, rows);
    const margins = predictGbdtMargin(model, data);
    for (const workers of [1, 2]) {
      const top = await treeShapTop(model, data, rows, { workers, k: 4 });
      expect(top.bias).toBe(full.bias);
      rows.forEach((row, i) => {
        expect(Object.is(top.margins[i], margins[row]), `row ${row} margin`).toBe(true);
        const want = topReasons(full.contributions.subarray(i * 9, (i + 1) * 9), model.featureNames, 4);
        const got = Array.from({ length: 4 }, (_, j) => [top.features[i * 4 + j], top.contributions[i * 4 + j]]);
        expect(got, `row ${row}`).toEqual([...want.map((w) => [w.index, w.contribution]), ...Array.from({ length: 4 - want.length }, () => [-1, Number.NaN])]);
      });
    }
    const hand = ensemble(3, [HAND_BUILT.reused]);
    const zero = await treeShapTop(hand, HAND_ROWS, [0, 1], { k: 2 });
    expect(zero.features.length).toBe(4);
    await expect(treeShapTop(hand, HAND_ROWS, [0], { k: 0 })).rejects.toThrow(/k must be/);
  });

  it('ranks the pushes up or down only, and never gives a zero contribution', () => {
    expect(topReasons(row, names, 3, 'up').map((r) => r.feature)).toEqual(['recency', 'monetary']);
    expect(topReasons(row, names, 1, 'down').map((r) => r.feature)).toEqual(['frequency']);
    expect(topReasons(row, names, 10).map((r) => r.feature)).toEqual(['frequency', 'recency', 'monetary', 'returns']);
  });
});

describe.skipIf(!hasXgboost())('against XGBoost (skipped: /usr/bin/python3 cannot import xgboost)', () => {
  it("equals XGBoost 1.7's pred_contribs (its TreeSHAP, float32) within 1e-5", () => {
    const ref = trainXgboostReference();
    const F = ref.matrix.names.length;
    const { bias, contributions } = treeShap(ref.model, ref.matrix);
    const rows = ref.matrix.rows;
    const margins = Array.from({ length: rows }, (_, r) => marginOf(ref.model, rowOf(ref.matrix, r)));
    expectAllClose(margins, ref.margins, { atol: 1e-5 }, (r) => `row ${r} margin (our reading of the model)`);
    expectAllClose(Array.from({ length: rows }, () => bias), ref.contributions.map((c) => c[F] as number), { atol: 1e-5 }, (r) => `row ${r} bias`);
    const theirs = ref.contributions.flatMap((c) => c.slice(0, F));
    expectAllClose(contributions, theirs, { atol: 1e-5 }, (i) => `row ${Math.floor(i / F)} feature ${i % F} (xgboost ${ref.version})`);
    expect(theirs.filter((c) => c !== 0).length).toBeGreaterThan(rows);
  });
});
