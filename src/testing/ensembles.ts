// Seeded random tree ensembles for tests and benchmarks of the explanations: trees grown on a random feature matrix, so
// that thresholds are data values, missing values go both ways and covers are the weights of the rows reaching a node.
import type { Rng } from '../math/random.js';
import type { FeatureMatrix } from '../ml/treeshap.js';
import type { Ensemble, Tree } from '../ml/tree.js';

/** A rows x features matrix: odd features continuous (normal), even ones small integers (ties at thresholds). */
export function randomMatrix(rng: Rng, rows: number, features: number, missing: number): FeatureMatrix {
  const columns = Array.from({ length: features }, (_, f) =>
    Float64Array.from({ length: rows }, () => {
      if (rng.uniform() < missing) return Number.NaN;
      return f % 2 === 1 ? rng.normal(0, 1) : Math.floor(rng.uniformIn(0, 5));
    }),
  );
  return { names: columns.map((_, f) => `f${f}`), columns, rows };
}

export interface RandomEnsembleOptions {
  readonly trees: number;
  readonly depth: number;
  /** Chance that a node above the maximum depth stops as a leaf (irregular shapes). */
  readonly stop?: number;
  /** Each tree splits on this many features drawn from the matrix's (few: features reused along a path). */
  readonly featuresPerTree?: number;
  /** Standard deviation of leaf values. */
  readonly leafScale?: number;
}

/**
 * An ensemble of trees grown at random on `data`: each split on a random feature at the larger of two distinct values
 * of the node's rows, missing values sent left or right at random; cover is the sum of the rows' weights (0.05 to 0.25,
 * like the hessians of a logistic loss).
 */
export function randomEnsemble(rng: Rng, data: FeatureMatrix, options: RandomEnsembleOptions): Ensemble {
  const weights = Float64Array.from({ length: data.rows }, () => rng.uniformIn(0.05, 0.25));
  const all = Array.from({ length: data.rows }, (_, i) => i);
  const trees = Array.from({ length: options.trees }, () => {
    const pool = Array.from({ length: data.columns.length }, (_, f) => f);
    for (let i = pool.length - 1; i > 0; i--) {
      const j = Math.floor(rng.uniform() * (i + 1));
      [pool[i], pool[j]] = [pool[j] as number, pool[i] as number];
    }
    return growTree(rng, data, weights, all, pool.slice(0, options.featuresPerTree ?? pool.length), options);
  });
  return {
    objective: 'logistic',
    baseMargin: rng.normal(0, 0.5),
    featureNames: data.names,
    trees,
  };
}

function growTree(rng: Rng, data: FeatureMatrix, weights: Float64Array, rows: number[], pool: number[], options: RandomEnsembleOptions): Tree {
  const feature: number[] = [];
  const threshold: number[] = [];
  const missingLeft: number[] = [];
  const left: number[] = [];
  const right: number[] = [];
  const value: number[] = [];
  const cover: number[] = [];
  const grow = (at: number[], depth: number): number => {
    const i = feature.length;
    feature.push(-1);
    threshold.push(0);
    missingLeft.push(0);
    left.push(-1);
    right.push(-1);
    value.push(0);
    cover.push(at.reduce((s, r) => s + (weights[r] as number), 0));
    // A feature and two distinct values of it among the node's rows (a few tries), the split at the larger.
    let split: { f: number; t: number } | undefined;
    const grows = depth < options.depth && rng.uniform() >= (options.stop ?? 0);
    for (let attempt = 0; grows && attempt < 16 && split === undefined && at.length >= 2; attempt++) {
      const f = pool[Math.floor(rng.uniform() * pool.length)] as number;
      const column = data.columns[f] as Float64Array;
      const a = column[at[Math.floor(rng.uniform() * at.length)] as number] as number;
      const b = column[at[Math.floor(rng.uniform() * at.length)] as number] as number;
      if (a !== b && !Number.isNaN(a) && !Number.isNaN(b)) split = { f, t: Math.max(a, b) };
    }
    if (split === undefined) {
      value[i] = rng.normal(0, options.leafScale ?? 0.3);
      return i;
    }
    const { f, t } = split;
    const column = data.columns[f] as Float64Array;
    const ml = rng.uniform() < 0.5;
    const goesLeft = (r: number): boolean => (Number.isNaN(column[r] as number) ? ml : (column[r] as number) < t);
    feature[i] = f;
    threshold[i] = t;
    missingLeft[i] = ml ? 1 : 0;
    left[i] = grow(at.filter(goesLeft), depth + 1);
    right[i] = grow(at.filter((r) => !goesLeft(r)), depth + 1);
    return i;
  };
  grow(rows, 0);
  return {
    feature: Int32Array.from(feature),
    threshold: Float64Array.from(threshold),
    missingLeft: Uint8Array.from(missingLeft),
    left: Int32Array.from(left),
    right: Int32Array.from(right),
    value: Float64Array.from(value),
    cover: Float64Array.from(cover),
  };
}

/** Row r of a matrix as the `x(feature)` of tree.ts. */
export function rowOf(matrix: FeatureMatrix, r: number): (feature: number) => number {
  return (f) => matrix.columns[f]?.[r] ?? Number.NaN;
}
