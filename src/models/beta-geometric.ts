// Kernels shared by BG/NBD and MBG/NBD: the alive-customer expectation series, NBD probabilities, the simulator core.
import { KairosError } from '../errors.js';
import { hyp2f1 } from '../math/hyp2f1.js';
import { createRng, type Rng } from '../math/random.js';
import { exprel, gammaln, log1p } from '../math/special.js';
import type { TransactionSummary } from './types.js';

const EPS = 2.220446049250313e-16;
const MAX_TERMS = 2_000_000;

/**
 * E[Y(t) | alive] when the posterior of an alive customer is p ~ Beta(A, B), λ ~ Gamma(R, S) and, from now on,
 * the customer buys at rate λ and drops out with probability p after each purchase:
 *
 *   E = (A+B−1)/(A−1) · [1 − (S/(S+t))^R · 2F1(R, B; A+B−1; z)],   z = t/(S+t)
 *
 * (FHL 2005 eq. 7 with (A,B,R,S) = (a,b,r,α); eq. 10 with (a, b+x, r+x, α+T)). The 2F1 is rewritten by Euler's
 * transformation 2F1(R,B;C;z) = (1−z)^{C−R−B} 2F1(C−R, A−1; C; z), C = A+B−1, and the factor (A−1) of the
 * second parameter is divided out analytically, giving a form with no singularity at A = 1 or at C = 0:
 *
 *   E = C·L·exprel(−(A−1)L) − (S/(S+t))^{A−1}·Ψ,   L = ln(1 + t/S),
 *   Ψ = Σ_{n≥1} (C−R)_n (A)_{n−1} / ((C+1)_{n−1} n!) · z^n.
 *
 * Ψ's terms decay like n^{A−R−2} z^n, so heavy buyers (large R) need few terms. For z > 0.9 and A away from 1 the
 * transformed 2F1 is evaluated with the 1 − z formula instead (see math/hyp2f1.ts).
 */
export function betaGeoAliveExpectation(A: number, B: number, R: number, S: number, t: number): number {
  if (t === 0) return 0;
  const z = t / (S + t);
  const C = A + B - 1;
  const L = log1p(t / S);
  const first = C * L * exprel(-(A - 1) * L);
  const decay = Math.exp(-(A - 1) * L); // (S/(S+t))^{A−1}
  if (z > 0.9 && Math.abs(A - 1) > 1e-3 && C > 0) {
    // E = C/(A−1) · [1 − (1−z)^{A−1} 2F1(C−R, A−1; C; z)]
    return (C / (A - 1)) * (1 - decay * hyp2f1(C - R, A - 1, C, z));
  }
  const psi = psiSeries(A, C, R, z, Math.abs(first));
  return first - decay * psi;
}

/** Ψ of betaGeoAliveExpectation, summed until the tail is below ε·max(|Ψ|, scale). */
function psiSeries(A: number, C: number, R: number, z: number, scale: number): number {
  let u = (C - R) * z;
  let sum = u;
  for (let n = 1; n < MAX_TERMS; n++) {
    const ratio = (((C - R + n) * (A + n - 1)) / ((C + n) * (n + 1))) * z;
    u *= ratio;
    sum += u;
    const absU = Math.abs(u);
    const ref = EPS * Math.max(Math.abs(sum), scale);
    if (absU <= ref) {
      const next = Math.abs((((C - R + n + 1) * (A + n)) / ((C + n + 1) * (n + 2))) * z);
      const bound = Math.max(next, z);
      if (bound < 1 && (absU * bound) / (1 - bound) <= ref) return sum;
    }
  }
  throw new KairosError('CONVERGENCE', `expected-purchases series did not converge (A=${A}, C=${C}, R=${R}, z=${z})`, {
    hint: 'the horizon is extremely long relative to alpha + T',
  });
}

/**
 * betaGeoAliveExpectation for several horizons at once: the coefficients of Ψ do not depend on z, so they are
 * computed once and each horizon only accumulates its own powers z_k^n. Writes E(t_k) into out[k].
 */
export function betaGeoAliveExpectationMany(
  A: number,
  B: number,
  R: number,
  S: number,
  horizons: Float64Array,
  out: Float64Array,
  scratch: Float64Array,
): void {
  const h = horizons.length;
  const C = A + B - 1;
  let zMax = 0;
  for (let k = 0; k < h; k++) zMax = Math.max(zMax, (horizons[k] as number) / (S + (horizons[k] as number)));
  if (zMax > 0.9) {
    for (let k = 0; k < h; k++) out[k] = betaGeoAliveExpectation(A, B, R, S, horizons[k] as number);
    return;
  }
  // scratch layout: [0,h) z_k, [h,2h) z_k^n, [2h,3h) Ψ_k
  let scale = 0;
  for (let k = 0; k < h; k++) {
    const t = horizons[k] as number;
    const z = t / (S + t);
    scratch[k] = z;
    scratch[h + k] = z;
    scratch[2 * h + k] = (C - R) * z;
    const L = log1p(t / S);
    out[k] = C * L * exprel(-(A - 1) * L);
    scale = Math.max(scale, Math.abs(out[k] as number));
  }
  let coef = C - R;
  for (let n = 1; ; n++) {
    if (n >= MAX_TERMS) throw new KairosError('CONVERGENCE', 'expected-purchases series did not converge');
    coef *= ((C - R + n) * (A + n - 1)) / ((C + n) * (n + 1));
    let maxTerm = 0;
    let maxSum = 0;
    for (let k = 0; k < h; k++) {
      const zp = (scratch[h + k] as number) * (scratch[k] as number);
      scratch[h + k] = zp;
      const term = coef * zp;
      scratch[2 * h + k] = (scratch[2 * h + k] as number) + term;
      maxTerm = Math.max(maxTerm, Math.abs(term));
      maxSum = Math.max(maxSum, Math.abs(scratch[2 * h + k] as number));
    }
    const ref = EPS * Math.max(maxSum, scale);
    if (maxTerm <= ref) {
      const next = Math.abs((((C - R + n + 1) * (A + n)) / ((C + n + 1) * (n + 2))) * zMax);
      const bound = Math.max(next, zMax);
      if (bound < 1 && (maxTerm * bound) / (1 - bound) <= ref) break;
    }
  }
  for (let k = 0; k < h; k++) {
    const t = horizons[k] as number;
    if (t === 0) {
      out[k] = 0;
      continue;
    }
    const L = log1p(t / S);
    out[k] = (out[k] as number) - Math.exp(-(A - 1) * L) * (scratch[2 * h + k] as number);
  }
}

/** ln P(N = n) for the NBD of a Gamma(r, α) mixture of Poisson(λt): Γ(r+n)/(Γ(r) n!) (α/(α+t))^r (t/(α+t))^n. */
export function logNbdPmf(n: number, r: number, alpha: number, t: number): number {
  if (t === 0) return n === 0 ? 0 : -Infinity;
  return (
    gammaln(r + n) - gammaln(r) - gammaln(n + 1) - r * log1p(t / alpha) + (n === 0 ? 0 : n * Math.log(t / (alpha + t)))
  );
}

/**
 * P(N ≥ n) for the same NBD, without the cancellation of 1 − Σ_{j<n} P(j) when that sum is close to 1: the lower
 * sum is used while it is ≤ 1/2, otherwise the upper tail is summed directly (its terms decay geometrically).
 */
export function nbdUpperTail(n: number, r: number, alpha: number, t: number): number {
  if (n <= 0) return 1;
  if (t === 0) return 0;
  const q = t / (alpha + t);
  let p = Math.exp(-r * log1p(t / alpha)); // P(0)
  let cdf = 0;
  for (let j = 0; j < n; j++) {
    cdf += p;
    p *= ((r + j) / (j + 1)) * q;
  }
  if (cdf <= 0.5) return Math.max(0, 1 - cdf);
  // p is now P(n); sum P(n) + P(n+1) + ... (log-space start avoids underflow of the recursion for large n).
  let term = Math.exp(logNbdPmf(n, r, alpha, t));
  let tail = 0;
  for (let j = n; j < n + MAX_TERMS; j++) {
    tail += term;
    const ratio = ((r + j) / (j + 1)) * q;
    term *= ratio;
    if (term <= EPS * tail && ratio < 1 && (term * ratio) / (1 - ratio) <= EPS * tail) return Math.min(1, tail);
  }
  return Math.max(0, Math.min(1, 1 - cdf));
}

/**
 * Seeded calibration summaries of the beta-geometric family: each customer draws λ ~ Gamma(r, α) and p ~ Beta(a, b),
 * buys as a Poisson process with rate λ and drops out with probability p after each purchase (and, when
 * dropAtStart, at time 0: MBG/NBD); observed over (0, T]. Parameters must be checked by the caller.
 */
export function simulateBetaGeo(
  params: Readonly<{ r: number; alpha: number; a: number; b: number }>,
  options: { customers?: number; T: number | Float64Array; seed: number },
  dropAtStart: boolean,
): TransactionSummary {
  const T = simulationAges(options);
  const rng = createRng(options.seed);
  const n = T.length;
  const x = new Float64Array(n);
  const tx = new Float64Array(n);
  const one = { x: 0, tx: 0 };
  for (let i = 0; i < n; i++) {
    const lambda = rng.gamma(params.r, params.alpha);
    const p = rng.beta(params.a, params.b);
    simulateBetaGeoCustomer(rng, lambda, p, T[i] as number, dropAtStart, one);
    x[i] = one.x;
    tx[i] = one.tx;
  }
  return { x, tx, T };
}

/**
 * Simulates one customer of the beta-geometric family over (0, T]: purchases at rate λ; after each purchase
 * (and, when dropAtStart, also at time 0) the customer drops out with probability p. Writes x and tx into out.
 */
function simulateBetaGeoCustomer(
  rng: Rng,
  lambda: number,
  p: number,
  T: number,
  dropAtStart: boolean,
  out: { x: number; tx: number },
): void {
  out.x = 0;
  out.tx = 0;
  if (dropAtStart && rng.uniform() < p) return;
  if (!(lambda > 0)) return;
  let t = 0;
  for (;;) {
    t += rng.exponential(lambda);
    if (t > T) return;
    out.x++;
    out.tx = t;
    if (rng.uniform() < p) return;
  }
}

/** Per-customer observation lengths from SimulateOptions, validated. */
export function simulationAges(options: { customers?: number; T: number | Float64Array }): Float64Array {
  const { T } = options;
  if (typeof T === 'number') {
    const n = options.customers;
    if (n === undefined || !Number.isInteger(n) || n < 0) {
      throw new KairosError('VALIDATION', `simulate: customers must be a non-negative integer (got ${n})`);
    }
    if (!(T >= 0) || !Number.isFinite(T)) throw new KairosError('VALIDATION', `simulate: T must be finite and >= 0 (got ${T})`);
    return new Float64Array(n).fill(T);
  }
  if (options.customers !== undefined && options.customers !== T.length) {
    throw new KairosError('VALIDATION', `simulate: customers (${options.customers}) differs from T.length (${T.length})`);
  }
  for (let i = 0; i < T.length; i++) {
    const v = T[i] as number;
    if (!(v >= 0) || !Number.isFinite(v)) throw new KairosError('VALIDATION', `simulate: T[${i}] must be finite and >= 0 (got ${v})`);
  }
  return Float64Array.from(T);
}
