// Uplift models with the boosted trees, cross-fitted: two models (treated and control) and the transformed outcome.
import { KairosError } from '../errors.js';
import { createRng } from '../math/random.js';
import { predictGbdt, trainGbdt, type GbdtOptions } from '../ml/gbdt.js';
import type { Matrix } from '../scores/learned/train.js';
import type { UpliftSample } from './uplift.js';

/**
 * 'two-model': P(y | x, treated) - P(y | x, control), one boosted model per arm (the "two-model" or T-learner
 * approach; Radcliffe 2007 calls it the difference of two response models). 'transformed-outcome': one regression
 * on z = y (T/p - (1 - T)/(1 - p)), whose expectation given x is the uplift when the treatment is randomised with
 * probability p (Athey & Imbens 2015, "Machine learning methods for estimating heterogeneous causal effects", eq. 2.3;
 * Jaskowski & Jaroszewicz 2012, "Uplift modeling for clinical trial data", for 0/1 outcomes).
 */
export type UpliftMethod = 'two-model' | 'transformed-outcome';

export const UPLIFT_METHODS: readonly UpliftMethod[] = ['two-model', 'transformed-outcome'];

/** Settings of the cross-fitting; the trees' own settings come from the caller (`boostingOptions`). */
export interface UpliftModelOptions {
  /** Folds: each customer's uplift comes from trees fitted on other folds (default 5). */
  readonly folds?: number;
  /** Seed of the fold draw (the trees keep their own `seed`). */
  readonly seed?: number;
  /**
   * Boosting settings. Two-model: per-arm response models with this objective (logistic for 0/1, tweedie for spend).
   * Transformed outcome: the objective is replaced by squared error (z is negative for control responders).
   */
  readonly boosting: Partial<GbdtOptions>;
}

/** What the cross-fitting did, for the report. */
export interface CrossFitDiagnostics {
  readonly folds: number;
  /** Treated share p used by the transformed outcome (per fold, on its training rows). */
  readonly propensity: number[];
  /** Trees kept per fitted model, fold by fold (two models per fold for 'two-model'). */
  readonly trees: number[];
}

/** The out-of-fold uplift of every customer and how it was fitted. */
export interface CrossFitUplift {
  readonly method: UpliftMethod;
  readonly uplift: Float64Array;
  readonly diagnostics: CrossFitDiagnostics;
}

/** Fold of each row: a seeded shuffle dealt round-robin, so folds differ in size by at most one. */
export function assignFolds(n: number, folds: number, seed: number): Uint8Array {
  if (!Number.isInteger(folds) || folds < 3 || folds > 255) throw new KairosError('VALIDATION', `folds must be an integer from 3 to 255 (got ${folds})`);
  const rng = createRng(seed);
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rng.uniform() * (i + 1));
    [order[i], order[j]] = [order[j] as number, order[i] as number];
  }
  const fold = new Uint8Array(n);
  order.forEach((row, k) => (fold[row] = k % folds));
  return fold;
}

function pick(matrix: Matrix, rows: readonly number[]): Matrix {
  return { names: matrix.names, rows: rows.length, columns: matrix.columns.map((c) => Float64Array.from(rows, (i) => c[i] as number)) };
}

/**
 * Every customer's uplift predicted by boosted trees that never saw them: rows dealt into `folds` folds (seeded); for
 * fold k the trees train on the folds other than k and k + 1, stop early on fold k + 1, and predict fold k (as the
 * Hillstrom conversion check does). Throws when an arm of a training set is empty or, for a 0/1 outcome, all alike.
 */
export async function crossFittedUplift(method: UpliftMethod, matrix: Matrix, sample: UpliftSample, options: UpliftModelOptions): Promise<CrossFitUplift> {
  const n = matrix.rows;
  if (sample.treated.length !== n || sample.outcome.length !== n) {
    throw new KairosError('VALIDATION', `crossFittedUplift: ${n} rows in the matrix but ${sample.treated.length} treatment flags and ${sample.outcome.length} outcomes`);
  }
  const k = options.folds ?? 5;
  const fold = assignFolds(n, k, options.seed ?? 42);
  const { treated: t, outcome: y } = sample;
  const uplift = new Float64Array(n);
  const propensity: number[] = [];
  const trees: number[] = [];
  for (let f = 0; f < k; f++) {
    const test: number[] = [];
    const train: number[] = [];
    const valid: number[] = [];
    for (let i = 0; i < n; i++) {
      if (fold[i] === f) test.push(i);
      else if (fold[i] === (f + 1) % k) valid.push(i);
      else train.push(i);
    }
    const testMatrix = pick(matrix, test);
    if (method === 'two-model') {
      const arm = async (a: 0 | 1): Promise<Float64Array> => {
        const tr = train.filter((i) => t[i] === a);
        const va = valid.filter((i) => t[i] === a);
        if (tr.length < 2 || va.length === 0) throw new KairosError('INSUFFICIENT_DATA', `two-model uplift: fold ${f} has ${tr.length} training and ${va.length} validation rows in the ${a ? 'treated' : 'control'} arm`);
        const fit = await trainGbdt(pick(matrix, tr), Float64Array.from(tr, (i) => y[i] as number), options.boosting, {
          matrix: pick(matrix, va),
          labels: Float64Array.from(va, (i) => y[i] as number),
        });
        trees.push(fit.model.trees.length);
        return predictGbdt(fit.model, testMatrix);
      };
      const treatedResponse = await arm(1);
      const controlResponse = await arm(0);
      test.forEach((i, j) => (uplift[i] = (treatedResponse[j] as number) - (controlResponse[j] as number)));
    } else {
      const p = train.reduce((s, i) => s + (t[i] as number), 0) / train.length;
      if (!(p > 0 && p < 1)) throw new KairosError('INSUFFICIENT_DATA', `transformed-outcome uplift: fold ${f}'s training rows are all in one arm`);
      propensity.push(p);
      const z = (i: number): number => (y[i] as number) * (t[i] === 1 ? 1 / p : -1 / (1 - p));
      const fit = await trainGbdt(pick(matrix, train), Float64Array.from(train, z), { ...options.boosting, objective: 'squared' }, {
        matrix: pick(matrix, valid),
        labels: Float64Array.from(valid, z),
      });
      trees.push(fit.model.trees.length);
      const predicted = predictGbdt(fit.model, testMatrix);
      test.forEach((i, j) => (uplift[i] = predicted[j] as number));
    }
  }
  return { method, uplift, diagnostics: { folds: k, propensity, trees } };
}
