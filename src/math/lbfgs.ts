// L-BFGS minimiser (Nocedal & Wright 2006, Algorithm 7.5 with the two-loop recursion 7.4) over a strong-Wolfe line search.
//
// Hand-written: no maintained Node package offers L-BFGS with a strong-Wolfe line search and convergence
// diagnostics (see line-search.ts). The models have 3–4 parameters, so dense arrays are fine.
import { strongWolfeLineSearch } from './line-search.js';

/** f(x) and its gradient, written into grad. */
export type Objective = (x: Float64Array, grad: Float64Array) => number;

export interface LbfgsOptions {
  /** Converged when ‖∇f‖_∞ ≤ gradientTolerance; default 1e-8. */
  gradientTolerance?: number;
  /** Iteration cap; default 500. */
  maxIterations?: number;
  /** Number of stored (s, y) pairs; default 10. */
  memory?: number;
  /** Absolute rounding-noise allowance on f for the line search (see LineSearchOptions.fNoise); default 0. */
  fNoise?: number;
  /** Largest first step, measured as ‖α d‖_∞; default 1 (one e-fold for log-parameters). */
  maxFirstStep?: number;
}

export interface LbfgsResult {
  x: Float64Array;
  f: number;
  gradient: Float64Array;
  iterations: number;
  evaluations: number;
  converged: boolean;
  gradNorm: number;
  message: string;
}

function infNorm(v: Float64Array): number {
  let m = 0;
  for (let i = 0; i < v.length; i++) {
    const a = Math.abs(v[i] as number);
    if (a > m || Number.isNaN(a)) m = a;
  }
  return m;
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] as number) * (b[i] as number);
  return s;
}

/**
 * Minimises f from x0. Stops when ‖∇f‖_∞ ≤ gradientTolerance (converged), at maxIterations, or when the line
 * search can make no further progress (converged only if the gradient test holds). Never throws for a
 * non-finite f inside the line search (that step is just shortened); throws RangeError if f(x0) is not finite.
 */
export function minimizeLbfgs(objective: Objective, x0: Float64Array, options: LbfgsOptions = {}): LbfgsResult {
  const n = x0.length;
  const gtol = options.gradientTolerance ?? 1e-8;
  const maxIterations = options.maxIterations ?? 500;
  const m = options.memory ?? 10;
  const fNoise = options.fNoise ?? 0;
  const maxFirstStep = options.maxFirstStep ?? 1;

  const x = Float64Array.from(x0);
  const g = new Float64Array(n);
  let f = objective(x, g);
  let evaluations = 1;
  if (!Number.isFinite(f) || !Number.isFinite(infNorm(g))) {
    throw new RangeError(`objective is not finite at the starting point (f = ${f})`);
  }

  const sList: Float64Array[] = [];
  const yList: Float64Array[] = [];
  const rhoList: number[] = [];
  const alphaBuf = new Float64Array(m);
  const dir = new Float64Array(n);
  const xTrial = new Float64Array(n);
  const gTrial = new Float64Array(n);

  let iterations = 0;
  let gradNorm = infNorm(g);
  let message = 'maximum iterations reached';
  let restarted = false;

  while (iterations < maxIterations) {
    if (gradNorm <= gtol) {
      message = 'gradient norm below tolerance';
      break;
    }
    // Two-loop recursion: dir = −H_k ∇f, with H_k^0 = γ I, γ = s'y / y'y (N&W eq. 7.20).
    for (let i = 0; i < n; i++) dir[i] = -(g[i] as number);
    const k = sList.length;
    for (let j = k - 1; j >= 0; j--) {
      const a = (rhoList[j] as number) * dot(sList[j] as Float64Array, dir);
      alphaBuf[j] = a;
      const y = yList[j] as Float64Array;
      for (let i = 0; i < n; i++) dir[i] = (dir[i] as number) - a * (y[i] as number);
    }
    if (k > 0) {
      const s = sList[k - 1] as Float64Array;
      const y = yList[k - 1] as Float64Array;
      const gamma = dot(s, y) / dot(y, y);
      for (let i = 0; i < n; i++) dir[i] = (dir[i] as number) * gamma;
    }
    for (let j = 0; j < k; j++) {
      const y = yList[j] as Float64Array;
      const beta = (rhoList[j] as number) * dot(y, dir);
      const s = sList[j] as Float64Array;
      const coef = (alphaBuf[j] as number) - beta;
      for (let i = 0; i < n; i++) dir[i] = (dir[i] as number) + coef * (s[i] as number);
    }
    let d0 = dot(g, dir);
    if (!(d0 < 0)) {
      // Not a descent direction (curvature information went stale): fall back to steepest descent.
      sList.length = 0;
      yList.length = 0;
      rhoList.length = 0;
      for (let i = 0; i < n; i++) dir[i] = -(g[i] as number);
      d0 = dot(g, dir);
    }
    const alphaInit = sList.length === 0 ? Math.min(1, maxFirstStep / infNorm(dir)) : 1;

    // Evaluated points are cached so the accepted one need not be recomputed.
    const cache = new Map<number, { f: number; g: Float64Array }>();
    const phi = (alpha: number): { f: number; d: number } => {
      for (let i = 0; i < n; i++) xTrial[i] = (x[i] as number) + alpha * (dir[i] as number);
      const ft = objective(xTrial, gTrial);
      evaluations++;
      cache.set(alpha, { f: ft, g: Float64Array.from(gTrial) });
      return { f: ft, d: Number.isFinite(ft) ? dot(gTrial, dir) : NaN };
    };
    const ls = strongWolfeLineSearch(phi, f, d0, alphaInit, { fNoise });
    const accepted = cache.get(ls.alpha);
    if (!ls.ok || accepted === undefined || !Number.isFinite(accepted.f)) {
      if (!restarted && sList.length > 0) {
        // One retry along steepest descent with fresh curvature memory before giving up.
        sList.length = 0;
        yList.length = 0;
        rhoList.length = 0;
        restarted = true;
        continue;
      }
      message = `line search failed (${ls.message})`;
      break;
    }
    restarted = false;
    const s = new Float64Array(n);
    const y = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      s[i] = ls.alpha * (dir[i] as number);
      y[i] = (accepted.g[i] as number) - (g[i] as number);
      x[i] = (x[i] as number) + (s[i] as number);
      g[i] = accepted.g[i] as number;
    }
    const fPrev = f;
    f = accepted.f;
    iterations++;
    gradNorm = infNorm(g);
    const sy = dot(s, y);
    if (sy > 1e-12 * Math.sqrt(dot(s, s) * dot(y, y))) {
      if (sList.length === m) {
        sList.shift();
        yList.shift();
        rhoList.shift();
      }
      sList.push(s);
      yList.push(y);
      rhoList.push(1 / sy);
    }
    if (infNorm(s) <= 1e-15 * Math.max(1, infNorm(x)) && Math.abs(f - fPrev) <= fNoise) {
      message = gradNorm <= gtol ? 'gradient norm below tolerance' : 'step below floating-point resolution';
      break;
    }
  }
  return { x, f, gradient: g, iterations, evaluations, converged: gradNorm <= gtol, gradNorm, message };
}
