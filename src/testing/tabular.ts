// Synthetic tabular data for the boosted-tree tests: customer-like features (counts, recencies, money, codes, noise),
// some missing, a known nonlinear log-odds with interactions, and labels drawn from it under a seed.
import { createRng } from '../math/random.js';
import type { FeatureMatrix } from '../ml/matrix.js';

export interface Tabular {
  readonly matrix: FeatureMatrix;
  /** The true log-odds of each row. */
  readonly logit: Float64Array;
  /** Bernoulli(sigmoid(logit)) draws: a classification target. */
  readonly labels: Float64Array;
  /** logit + N(0, 0.5): a regression target. */
  readonly target: Float64Array;
}

export const TABULAR_FEATURES = ['score', 'trend', 'orders', 'recency', 'spend', 'region', 'member', 'noise1', 'noise2', 'noise3', 'noise4', 'noise5'];

/** Customer-like data of `rows` rows (Float32 columns, so Python sees the same numbers), reproducible from `seed`. */
export function syntheticTabular(rows: number, seed: number): Tabular {
  const rng = createRng(seed);
  const columns = TABULAR_FEATURES.map(() => new Float32Array(rows));
  const col = (j: number): Float32Array => columns[j] as Float32Array;
  const logit = new Float64Array(rows);
  const labels = new Float64Array(rows);
  const target = new Float64Array(rows);
  const regionEffect = [0.4, -0.3, 0, 0.8, -0.6, 0.2, 0, -0.1];
  const maybe = (share: number, v: number): number => (rng.uniform() < share ? NaN : v);
  for (let r = 0; r < rows; r++) {
    const score = rng.normal(0, 1);
    const trend = rng.uniformIn(-2, 2);
    const orders = rng.poisson(3);
    const recency = Math.floor(rng.exponential(1 / 60));
    const spend = Math.round(rng.lognormal(3, 1) * 100) / 100;
    const region = Math.floor(rng.uniform() * 8);
    const member = rng.uniform() < 0.3 ? 1 : 0;
    const values = [maybe(0.05, score), maybe(0.05, trend), orders, maybe(0.1, recency), maybe(0.05, spend), region, member];
    for (let j = 0; j < 5; j++) values.push(maybe(j === 4 ? 0.2 : 0, rng.normal(0, 1)));
    values.forEach((v, j) => (col(j)[r] = v));
    const seen = (j: number, fallback: number): number => {
      const v = col(j)[r] as number;
      return Number.isNaN(v) ? fallback : v;
    };
    const z =
      0.8 * seen(0, 0) +
      Math.sin(2 * seen(1, 0)) +
      (orders > 4 ? 0.6 : 0) -
      0.015 * seen(3, 0) +
      (Number.isNaN(col(3)[r] as number) ? 1 : 0) +
      0.5 * Math.log1p(seen(4, 20)) -
      1.2 +
      (regionEffect[region] as number) +
      0.7 * member * seen(0, 0);
    logit[r] = z;
    labels[r] = rng.uniform() < 1 / (1 + Math.exp(-z)) ? 1 : 0;
    target[r] = z + rng.normal(0, 0.5);
  }
  return { matrix: { names: TABULAR_FEATURES, columns, rows }, logit, labels, target };
}

/** Rows [from, to) of a matrix and its row arrays. */
export function sliceRows(matrix: FeatureMatrix, from: number, to: number): FeatureMatrix {
  return { names: matrix.names, columns: matrix.columns.map((c) => c.subarray(from, to)), rows: to - from };
}
