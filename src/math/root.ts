// Bracketed root finding (Brent's method) for monotone functions such as P(alive) as a customer ages.
//
// Hand-written: Brent's method is ~50 lines and no maintained Node package provides it with a bracket check.

export interface RootOptions {
  /** Absolute tolerance on x; default 1e-12 · max(1, |x|) is applied on top of it. */
  xTolerance?: number;
  maxIterations?: number;
}

/**
 * A root of f in [lo, hi] where f(lo) and f(hi) have opposite signs (Brent 1973, "Algorithms for Minimization
 * without Derivatives", ch. 4: inverse quadratic interpolation safeguarded by bisection). Throws RangeError if
 * the bracket does not change sign.
 */
export function brentRoot(f: (x: number) => number, lo: number, hi: number, options: RootOptions = {}): number {
  const xtol = options.xTolerance ?? 0;
  const maxIterations = options.maxIterations ?? 200;
  let a = lo;
  let b = hi;
  let fa = f(a);
  let fb = f(b);
  if (fa === 0) return a;
  if (fb === 0) return b;
  if (Math.sign(fa) === Math.sign(fb) || !Number.isFinite(fa) || !Number.isFinite(fb)) {
    throw new RangeError(`brentRoot: f(${lo}) = ${fa} and f(${hi}) = ${fb} do not bracket a root`);
  }
  let c = a;
  let fc = fa;
  let d = b - a;
  let e = d;
  for (let iter = 0; iter < maxIterations; iter++) {
    if (Math.sign(fb) === Math.sign(fc)) {
      c = a;
      fc = fa;
      d = b - a;
      e = d;
    }
    if (Math.abs(fc) < Math.abs(fb)) {
      a = b;
      b = c;
      c = a;
      fa = fb;
      fb = fc;
      fc = fa;
    }
    const tol = 2 * Number.EPSILON * Math.abs(b) + 0.5 * Math.max(xtol, 1e-12 * Math.max(1, Math.abs(b)));
    const m = 0.5 * (c - b);
    if (Math.abs(m) <= tol || fb === 0) return b;
    if (Math.abs(e) >= tol && Math.abs(fa) > Math.abs(fb)) {
      let p: number;
      let q: number;
      const s = fb / fa;
      if (a === c) {
        p = 2 * m * s;
        q = 1 - s;
      } else {
        const qa = fa / fc;
        const r = fb / fc;
        p = s * (2 * m * qa * (qa - r) - (b - a) * (r - 1));
        q = (qa - 1) * (r - 1) * (s - 1);
      }
      if (p > 0) q = -q;
      else p = -p;
      if (2 * p < Math.min(3 * m * q - Math.abs(tol * q), Math.abs(e * q))) {
        e = d;
        d = p / q;
      } else {
        d = m;
        e = m;
      }
    } else {
      d = m;
      e = m;
    }
    a = b;
    fa = fb;
    b += Math.abs(d) > tol ? d : m > 0 ? tol : -tol;
    fb = f(b);
  }
  return b;
}
