// Independent numerical checks for model tests: adaptive quadrature, finite-difference gradients and Hessians.
import { expect } from 'vitest';
import { expectClose } from './expect-close.js';

/** ∫_a^b f by adaptive Simpson (Lyness 1969) to absolute tolerance tol; used to check closed forms independently. */
export function integrate(f: (u: number) => number, a: number, b: number, tol = 1e-13): number {
  const simpson = (lo: number, flo: number, hi: number, fhi: number): [number, number, number] => {
    const mid = 0.5 * (lo + hi);
    const fmid = f(mid);
    return [mid, fmid, ((hi - lo) / 6) * (flo + 4 * fmid + fhi)];
  };
  const recurse = (lo: number, flo: number, hi: number, fhi: number, mid: number, fmid: number, whole: number, eps: number, depth: number): number => {
    const [lm, flm, left] = simpson(lo, flo, mid, fmid);
    const [rm, frm, right] = simpson(mid, fmid, hi, fhi);
    const delta = left + right - whole;
    if (depth <= 0 || Math.abs(delta) <= 15 * eps) return left + right + delta / 15;
    return (
      recurse(lo, flo, mid, fmid, lm, flm, left, eps / 2, depth - 1) + recurse(mid, fmid, hi, fhi, rm, frm, right, eps / 2, depth - 1)
    );
  };
  const fa = f(a);
  const fb = f(b);
  const [m, fm, whole] = simpson(a, fa, b, fb);
  return recurse(a, fa, b, fb, m, fm, whole, tol, 60);
}

/** Central-difference gradient of f at x with relative step h (natural-scale parameters). */
export function finiteDifferenceGradient(f: (x: Float64Array) => number, x: Float64Array, h = 1e-6): Float64Array {
  const g = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const step = h * Math.max(1e-3, Math.abs(x[i] as number));
    const up = Float64Array.from(x);
    const down = Float64Array.from(x);
    up[i] = (x[i] as number) + step;
    down[i] = (x[i] as number) - step;
    g[i] = (f(up) - f(down)) / (2 * step);
  }
  return g;
}

/** Largest relative difference |a − e| / |e| over two arrays (for reporting achieved tolerances). */
export function maxRelativeDifference(actual: Float64Array, expected: Float64Array): number {
  let m = 0;
  for (let i = 0; i < expected.length; i++) {
    m = Math.max(m, Math.abs((actual[i] as number) - (expected[i] as number)) / Math.abs(expected[i] as number));
  }
  return m;
}

/**
 * A log-likelihood ℓ(params, gradient out | null, Hessian out?) with an analytic Hessian: checks, at each point, that
 * asking for the Hessian changes neither ℓ nor ∇ℓ (bit for bit) and that the Hessian equals central differences of
 * the analytic gradient (rtol 1e-6, atol 1e-4), naming the entry that differs.
 */
export function expectHessianMatchesGradient(
  logLik: (p: Float64Array, grad: Float64Array | null, hess?: Float64Array) => number,
  names: readonly string[],
  points: readonly Float64Array[],
): void {
  const k = names.length;
  for (const p of points) {
    const g = new Float64Array(k);
    const h = new Float64Array(k * k);
    const g0 = new Float64Array(k);
    expect(logLik(p, g, h)).toBe(logLik(p, g0));
    g.forEach((v, i) => expect(v).toBe(g0[i]));
    for (let j = 0; j < k; j++) {
      const fd = finiteDifferenceGradient((q) => {
        const gq = new Float64Array(k);
        logLik(q, gq);
        return gq[j] as number;
      }, p);
      fd.forEach((v, i) => expectClose(h[j * k + i] as number, v, { rtol: 1e-6, atol: 1e-4 }, `d²/d${names[j]}d${names[i]}`));
    }
  }
}
