// Numerical Hessian by central differences of an analytic gradient, and its inversion for standard errors.
//
// Hand-written: ~40 lines, and no maintained Node package does finite-difference Hessians from a gradient.

/** Writes ∇f(x) into out. */
export type Gradient = (x: Float64Array, out: Float64Array) => void;

/**
 * H_ij ≈ [∂_i f(x + h_j e_j) − ∂_i f(x − h_j e_j)] / (2 h_j), symmetrised as (H + Hᵀ)/2. Row-major n×n.
 * The default step h_j = 2e-5 · max(1, |x_j|) balances truncation error O(h²) against rounding error ε_g/h for
 * a gradient accurate to about 1e-14 (the optimum is near ε^{1/3}).
 */
export function numericalHessian(gradient: Gradient, x: Float64Array, relativeStep = 2e-5): Float64Array {
  const n = x.length;
  const h = new Float64Array(n * n);
  const xp = Float64Array.from(x);
  const gPlus = new Float64Array(n);
  const gMinus = new Float64Array(n);
  for (let j = 0; j < n; j++) {
    const xj = x[j] as number;
    const step = relativeStep * Math.max(1, Math.abs(xj));
    xp[j] = xj + step;
    gradient(xp, gPlus);
    xp[j] = xj - step;
    gradient(xp, gMinus);
    xp[j] = xj;
    const width = 2 * step;
    for (let i = 0; i < n; i++) h[i * n + j] = ((gPlus[i] as number) - (gMinus[i] as number)) / width;
  }
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const v = 0.5 * ((h[i * n + j] as number) + (h[j * n + i] as number));
      h[i * n + j] = v;
      h[j * n + i] = v;
    }
  }
  return h;
}

/** Cholesky factor L (row-major, lower) of a symmetric matrix, or null if it is not positive definite. */
export function cholesky(a: Float64Array, n: number): Float64Array | null {
  const l = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = a[i * n + j] as number;
      for (let k = 0; k < j; k++) s -= (l[i * n + k] as number) * (l[j * n + k] as number);
      if (i === j) {
        if (!(s > 0) || !Number.isFinite(s)) return null;
        l[i * n + i] = Math.sqrt(s);
      } else {
        l[i * n + j] = s / (l[j * n + j] as number);
      }
    }
  }
  return l;
}

/** Inverse of a symmetric positive-definite matrix via its Cholesky factor, or null if it is not positive definite. */
export function invertSpd(a: Float64Array, n: number): Float64Array | null {
  const l = cholesky(a, n);
  if (l === null) return null;
  const inv = new Float64Array(n * n);
  const col = new Float64Array(n);
  for (let c = 0; c < n; c++) {
    // Solve L y = e_c, then Lᵀ x = y.
    for (let i = 0; i < n; i++) {
      let s = i === c ? 1 : 0;
      for (let k = 0; k < i; k++) s -= (l[i * n + k] as number) * (col[k] as number);
      col[i] = s / (l[i * n + i] as number);
    }
    for (let i = n - 1; i >= 0; i--) {
      let s = col[i] as number;
      for (let k = i + 1; k < n; k++) s -= (l[k * n + i] as number) * (inv[k * n + c] as number);
      inv[i * n + c] = s / (l[i * n + i] as number);
    }
  }
  return inv;
}

/** Solves A x = b for symmetric positive-definite A (Cholesky), or returns null if A is not positive definite. */
export function solveSpd(a: Float64Array, b: Float64Array): Float64Array | null {
  const n = b.length;
  const l = cholesky(a, n);
  if (l === null) return null;
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = b[i] as number;
    for (let k = 0; k < i; k++) s -= (l[i * n + k] as number) * (y[k] as number);
    y[i] = s / (l[i * n + i] as number);
  }
  const x = new Float64Array(n);
  for (let i = n - 1; i >= 0; i--) {
    let s = y[i] as number;
    for (let k = i + 1; k < n; k++) s -= (l[k * n + i] as number) * (x[k] as number);
    x[i] = s / (l[i * n + i] as number);
  }
  return x;
}

/**
 * Standard errors of θ from the Hessian of a negative log-likelihood at its minimum: sqrt(diag(H⁻¹)).
 * Returns null when H is not positive definite (a saddle, or a parameter that is not identified).
 */
export function standardErrorsFromHessian(hessian: Float64Array, n: number): Float64Array | null {
  const inv = invertSpd(hessian, n);
  if (inv === null) return null;
  const se = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const v = inv[i * n + i] as number;
    if (!(v > 0) || !Number.isFinite(v)) return null;
    se[i] = Math.sqrt(v);
  }
  return se;
}
