// L2-regularised logistic regression by Newton's method: a few features (a grid's 0/1 criteria), exact and deterministic.
//
// Minimises the penalised negative log-likelihood (Hastie, Tibshirani & Friedman, The Elements of Statistical Learning,
// 2nd ed., eq. 4.20 and 4.31, with weights):
//   f(β0, β) = −Σ wᵢ [yᵢ ηᵢ − log(1 + e^ηᵢ)] + (λ/2) Σⱼ βⱼ²,   ηᵢ = β0 + xᵢ·β   (the intercept is not penalised)
// Newton step (eq. 4.26, IRLS): H δ = ∇f, H = Xᵀ diag(wᵢ pᵢ (1 − pᵢ)) X + λ I (0 for the intercept), halved while f rises.
import { KairosError } from '../errors.js';
import { checkMatrix, type FeatureMatrix } from './matrix.js';

/** Hyper-parameters: the penalty and when to stop. */
export interface LogisticOptions {
  /** λ, the L2 penalty on the coefficients (not on the intercept), on the scale of the summed log-likelihood. */
  readonly l2: number;
  readonly maxIterations: number;
  /** Stop when the largest |gradient| is below this times (1 + the summed weights). */
  readonly tolerance: number;
}

export const LOGISTIC_DEFAULTS: Readonly<LogisticOptions> = { l2: 1, maxIterations: 100, tolerance: 1e-10 };

export interface LogisticFit {
  readonly intercept: number;
  /** One per feature, in the matrix's order: the change in log-odds when the feature rises by 1. */
  readonly coefficients: Float64Array;
  readonly featureNames: readonly string[];
  readonly diagnostics: {
    /** Log-likelihood at the optimum (without the penalty). */
    readonly logLik: number;
    readonly iterations: number;
    readonly converged: boolean;
    readonly gradNorm: number;
    readonly message: string;
  };
}

/** log(1 + e^x) without overflow. */
function log1pExp(x: number): number {
  return x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x));
}

/** Solves A x = b for a symmetric positive-definite A (row-major, d × d) by Cholesky; null when A is not positive definite. */
function solveSpd(a: Float64Array, b: Float64Array, d: number): Float64Array | null {
  const l = new Float64Array(d * d);
  for (let i = 0; i < d; i++) {
    for (let j = 0; j <= i; j++) {
      let s = a[i * d + j] as number;
      for (let k = 0; k < j; k++) s -= (l[i * d + k] as number) * (l[j * d + k] as number);
      if (i === j) {
        if (!(s > 0)) return null;
        l[i * d + i] = Math.sqrt(s);
      } else l[i * d + j] = s / (l[j * d + j] as number);
    }
  }
  const z = new Float64Array(d);
  for (let i = 0; i < d; i++) {
    let s = b[i] as number;
    for (let k = 0; k < i; k++) s -= (l[i * d + k] as number) * (z[k] as number);
    z[i] = s / (l[i * d + i] as number);
  }
  const x = new Float64Array(d);
  for (let i = d - 1; i >= 0; i--) {
    let s = z[i] as number;
    for (let k = i + 1; k < d; k++) s -= (l[k * d + i] as number) * (x[k] as number);
    x[i] = s / (l[i * d + i] as number);
  }
  return x;
}

/**
 * Fits the logistic regression of 0/1 `labels` on `matrix` (no missing values), optionally weighted. Throws a
 * VALIDATION error for malformed input (labels not 0/1, NaN features, negative weights) and INSUFFICIENT_DATA when the
 * labels have a single class (the intercept would run off to infinity).
 */
export function fitLogistic(matrix: FeatureMatrix, labels: Float64Array, options: Partial<LogisticOptions> & { readonly weights?: Float64Array } = {}): LogisticFit {
  const { weights, ...hyper } = options;
  const o: LogisticOptions = { ...LOGISTIC_DEFAULTS, ...hyper };
  if (!(o.l2 >= 0 && Number.isFinite(o.l2))) throw new KairosError('VALIDATION', `logistic: l2 must be a number >= 0 (got ${o.l2})`);
  checkMatrix(matrix, 'logistic regression matrix');
  const n = matrix.rows;
  const p = matrix.columns.length;
  const d = p + 1;
  if (labels.length !== n) throw new KairosError('VALIDATION', `logistic: ${labels.length} labels for ${n} rows`);
  if (weights !== undefined && weights.length !== n) throw new KairosError('VALIDATION', `logistic: ${weights.length} weights for ${n} rows`);
  let sumW = 0;
  let sumWY = 0;
  for (let i = 0; i < n; i++) {
    const y = labels[i] as number;
    const w = weights === undefined ? 1 : (weights[i] as number);
    if (y !== 0 && y !== 1) throw new KairosError('VALIDATION', `logistic: label ${i} is ${y}, expected 0 or 1`);
    if (!(w >= 0 && Number.isFinite(w))) throw new KairosError('VALIDATION', `logistic: weight ${i} is ${w}, expected a finite number >= 0`);
    sumW += w;
    sumWY += w * y;
  }
  for (let j = 0; j < p; j++) {
    const c = matrix.columns[j] as Float64Array | Float32Array;
    for (let i = 0; i < n; i++) if (!Number.isFinite(c[i] as number)) throw new KairosError('VALIDATION', `logistic: feature ${matrix.names[j]} row ${i} is ${c[i]}: no missing values`);
  }
  if (sumWY <= 0 || sumWY >= sumW) {
    throw new KairosError('INSUFFICIENT_DATA', `logistic: every row has the label ${sumWY <= 0 ? 0 : 1}: nothing to tell apart`);
  }
  const x = (i: number, j: number): number => (j === 0 ? 1 : ((matrix.columns[j - 1] as Float64Array)[i] as number));
  const beta = new Float64Array(d);
  beta[0] = Math.log(sumWY / (sumW - sumWY));
  const eta = new Float64Array(n);
  const objective = (b: Float64Array): { f: number; logLik: number } => {
    let logLik = 0;
    for (let i = 0; i < n; i++) {
      let e = b[0] as number;
      for (let j = 1; j < d; j++) e += (b[j] as number) * x(i, j);
      eta[i] = e;
      const w = weights === undefined ? 1 : (weights[i] as number);
      logLik += w * ((labels[i] as number) * e - log1pExp(e));
    }
    let penalty = 0;
    for (let j = 1; j < d; j++) penalty += (b[j] as number) ** 2;
    return { f: -logLik + (o.l2 / 2) * penalty, logLik };
  };
  let current = objective(beta);
  let iterations = 0;
  let gradNorm = Number.POSITIVE_INFINITY;
  let converged = false;
  let message = '';
  const tol = o.tolerance * (1 + sumW);
  while (iterations < o.maxIterations) {
    const g = new Float64Array(d);
    const h = new Float64Array(d * d);
    for (let i = 0; i < n; i++) {
      const pi = 1 / (1 + Math.exp(-(eta[i] as number)));
      const w = weights === undefined ? 1 : (weights[i] as number);
      const r = w * (pi - (labels[i] as number));
      const v = w * pi * (1 - pi);
      for (let a = 0; a < d; a++) {
        const xa = x(i, a);
        if (xa === 0) continue;
        g[a] = (g[a] as number) + r * xa;
        for (let b = 0; b <= a; b++) h[a * d + b] = (h[a * d + b] as number) + v * xa * x(i, b);
      }
    }
    for (let a = 0; a < d; a++) for (let b = 0; b < a; b++) h[b * d + a] = h[a * d + b] as number;
    for (let j = 1; j < d; j++) {
      g[j] = (g[j] as number) + o.l2 * (beta[j] as number);
      h[j * d + j] = (h[j * d + j] as number) + o.l2;
    }
    gradNorm = Math.max(...Array.from(g, Math.abs));
    if (gradNorm < tol) {
      converged = true;
      message = `converged: largest |gradient| ${gradNorm.toExponential(2)}`;
      break;
    }
    // A feature constant 0 (a criterion nobody meets) leaves a zero row without a penalty: a tiny ridge keeps H invertible.
    for (let a = 0; a < d; a++) h[a * d + a] = (h[a * d + a] as number) + 1e-12 * (1 + sumW);
    const step = solveSpd(h, g, d);
    if (step === null) {
      message = 'the Hessian is not positive definite (features that repeat one another without a penalty): set l2 > 0';
      break;
    }
    let t = 1;
    let next = current;
    const trial = new Float64Array(d);
    for (let halvings = 0; halvings < 40; halvings++) {
      for (let a = 0; a < d; a++) trial[a] = (beta[a] as number) - t * (step[a] as number);
      next = objective(trial);
      if (next.f <= current.f + 1e-12 * Math.abs(current.f)) break;
      t /= 2;
    }
    beta.set(trial);
    current = next;
    iterations++;
  }
  if (!converged && message === '') message = `stopped after ${iterations} iterations, largest |gradient| ${gradNorm.toExponential(2)}`;
  return {
    intercept: beta[0] as number,
    coefficients: beta.slice(1),
    featureNames: [...matrix.names],
    diagnostics: { logLik: current.logLik, iterations, converged, gradNorm, message },
  };
}

/** P(y = 1) of every row of `matrix` (features matched by position to the fit's). */
export function predictLogistic(fit: LogisticFit, matrix: FeatureMatrix): Float64Array {
  if (matrix.columns.length !== fit.coefficients.length) throw new KairosError('VALIDATION', `logistic: ${matrix.columns.length} features for a fit on ${fit.coefficients.length}`);
  const out = new Float64Array(matrix.rows);
  for (let i = 0; i < matrix.rows; i++) {
    let e = fit.intercept;
    for (let j = 0; j < fit.coefficients.length; j++) e += (fit.coefficients[j] as number) * ((matrix.columns[j] as Float64Array)[i] as number);
    out[i] = 1 / (1 + Math.exp(-e));
  }
  return out;
}
