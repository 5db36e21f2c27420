// Line search satisfying the strong Wolfe conditions (Nocedal & Wright 2006, Algorithms 3.5 and 3.6).
//
// Hand-written (with lbfgs.ts) because no maintained Node package offers L-BFGS with a strong-Wolfe line search
// and diagnostics: ml-* packages ship Levenberg-Marquardt / Nelder-Mead only, "optimization-js" is unmaintained.

/** φ(α) = f(x + α d) and φ'(α) = ∇f(x + α d)·d, evaluated together; the caller keeps the point and gradient. */
export type LineFunction = (alpha: number) => { f: number; d: number };

export interface LineSearchOptions {
  /** Sufficient-decrease constant c1 (Armijo); default 1e-4. */
  c1?: number;
  /** Curvature constant c2 (strong Wolfe |φ'(α)| ≤ c2 |φ'(0)|); default 0.9, the usual choice for quasi-Newton. */
  c2?: number;
  /** Evaluations allowed; default 30. */
  maxEvaluations?: number;
  /** Largest step tried; default 1e10. */
  alphaMax?: number;
  /**
   * Absolute slack on sufficient decrease, for objectives that are sums of many terms: near the optimum the
   * decrease c1 α φ'(0) falls below the rounding noise of f, and only the (exact) curvature test can still
   * decide. Default 0.
   */
  fNoise?: number;
}

export interface LineSearchResult {
  ok: boolean;
  alpha: number;
  f: number;
  d: number;
  evaluations: number;
  message: string;
}

/** Minimiser of the cubic interpolating (a, fa, da) and (b, fb, db) (N&W eq. 3.59), or NaN if none. */
function cubicMinimizer(a: number, fa: number, da: number, b: number, fb: number, db: number): number {
  const d1 = da + db - (3 * (fa - fb)) / (a - b);
  const disc = d1 * d1 - da * db;
  if (disc < 0) return NaN;
  const d2 = Math.sign(b - a) * Math.sqrt(disc);
  return b - (b - a) * ((db + d2 - d1) / (db - da + 2 * d2));
}

/**
 * Finds α > 0 with φ(α) ≤ φ(0) + c1 α φ'(0) and |φ'(α)| ≤ c2 |φ'(0)| (strong Wolfe), by bracketing (Alg. 3.5)
 * then zooming with safeguarded cubic interpolation (Alg. 3.6). Non-finite φ(α) counts as "too far".
 * Requires φ'(0) < 0.
 */
export function strongWolfeLineSearch(
  phi: LineFunction,
  f0: number,
  d0: number,
  alphaInit: number,
  options: LineSearchOptions = {},
): LineSearchResult {
  const c1 = options.c1 ?? 1e-4;
  const c2 = options.c2 ?? 0.9;
  const maxEval = options.maxEvaluations ?? 30;
  const alphaMax = options.alphaMax ?? 1e10;
  const noise = options.fNoise ?? 0;
  let evaluations = 0;
  const armijo = (alpha: number, f: number): boolean => f <= f0 + c1 * alpha * d0 + noise;

  // zoom(lo, hi): lo satisfies sufficient decrease and has the lowest f so far; the minimiser lies between.
  const zoom = (
    lo: number,
    fLo: number,
    dLo: number,
    hi: number,
    fHi: number,
    dHi: number,
  ): LineSearchResult => {
    while (evaluations < maxEval) {
      const width = hi - lo;
      let alpha = Number.isFinite(fHi) && Number.isFinite(dHi) ? cubicMinimizer(lo, fLo, dLo, hi, fHi, dHi) : NaN;
      const lower = Math.min(lo, hi);
      const upper = Math.max(lo, hi);
      const margin = 0.1 * Math.abs(width);
      if (!Number.isFinite(alpha) || alpha < lower + margin || alpha > upper - margin) alpha = lo + 0.5 * width;
      if (Math.abs(width) <= 1e-16 * Math.max(1, Math.abs(lo))) break;
      const { f, d } = phi(alpha);
      evaluations++;
      if (!Number.isFinite(f) || !armijo(alpha, f) || f >= fLo + noise) {
        hi = alpha;
        fHi = f;
        dHi = d;
      } else {
        if (Math.abs(d) <= -c2 * d0) return { ok: true, alpha, f, d, evaluations, message: 'strong Wolfe conditions met' };
        if (d * (hi - lo) >= 0) {
          hi = lo;
          fHi = fLo;
          dHi = dLo;
        }
        lo = alpha;
        fLo = f;
        dLo = d;
      }
    }
    // Out of evaluations: report the best point found if it at least decreases f.
    const ok = lo > 0 && fLo < f0;
    return { ok, alpha: lo, f: fLo, d: dLo, evaluations, message: ok ? 'zoom stopped early with a decrease' : 'zoom failed' };
  };

  let alphaPrev = 0;
  let fPrev = f0;
  let dPrev = d0;
  let alpha = Math.min(alphaInit, alphaMax);
  while (evaluations < maxEval) {
    const { f, d } = phi(alpha);
    evaluations++;
    if (!Number.isFinite(f) || !armijo(alpha, f) || (evaluations > 1 && f >= fPrev + noise)) {
      return zoom(alphaPrev, fPrev, dPrev, alpha, f, d);
    }
    if (Math.abs(d) <= -c2 * d0) return { ok: true, alpha, f, d, evaluations, message: 'strong Wolfe conditions met' };
    if (d >= 0) return zoom(alpha, f, d, alphaPrev, fPrev, dPrev);
    if (alpha >= alphaMax) return { ok: true, alpha, f, d, evaluations, message: 'reached the largest step' };
    alphaPrev = alpha;
    fPrev = f;
    dPrev = d;
    alpha = Math.min(4 * alpha, alphaMax);
  }
  return { ok: alphaPrev > 0, alpha: alphaPrev, f: fPrev, d: dPrev, evaluations, message: 'bracketing ran out of evaluations' };
}
