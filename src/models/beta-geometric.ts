// Kernels shared by BG/NBD and MBG/NBD: the alive-customer expectation series, NBD probabilities, the simulator core.
import { KairosError } from '../errors.js';
import { hyp2f1 } from '../math/hyp2f1.js';
import { createRng, type Rng } from '../math/random.js';
import { exprel, expm1, gammaln, log1p } from '../math/special.js';
import { pairIndex, perXTable } from './transaction-summary.js';
import type { CustomerScores, ScoreOptions, TransactionSummary } from './types.js';

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

/**
 * scoreCustomers of BG/NBD (s = 0) and MBG/NBD (s = 1) from P(alive) per row (data and options validated). An alive
 * customer has p ~ Beta(a, b+x+s), λ ~ Gamma(r+x, α+T), so:
 *   E[Y(t)] = P(alive) · betaGeoAliveExpectation(a, b+x+s, r+x, α+T, t), with the kernel computed once per distinct
 *             (x, T) for the union of expectedHorizon and the CLV horizons (series coefficients shared);
 *   conversion = P(alive) · [1 − ((α+T)/(α+T+t))^{r+x}], the bracket once per (x, T) pair;
 *   median wait = (α+T)(2^{1/(r+x)} − 1), decisive time since the last purchase = max(0, (α+t_x)·F_x − α − t_x) with
 *   F_x = [((1−θ)/θ)(b+x−1+s)/a]^{1/(r+x)} (Infinity for x = 0 under BG/NBD), both cached per x.
 * The same expressions as the separate methods, so outputs agree with them to rounding.
 */
export function betaGeoScores(
  p: Readonly<{ r: number; alpha: number; a: number; b: number }>,
  data: TransactionSummary,
  alive: Float64Array,
  options: ScoreOptions,
  s: 0 | 1,
): CustomerScores {
  const { r, alpha, a, b } = p;
  const n = alive.length;
  const { x, tx, T } = data;
  // Kernel per (x, T) pair at the distinct horizons; the CLV sum and the expected-horizon column per pair.
  const horizons: number[] = [];
  const column = (t: number): number => {
    let k = horizons.indexOf(t);
    if (k === -1) {
      k = horizons.length;
      horizons.push(t);
    }
    return k;
  };
  const clvColumns = options.clvHorizons.map(column);
  const expColumn = column(options.expectedHorizon);
  const h = horizons.length;
  const pairs = pairIndex(data);
  const np = pairs.x.length;
  const hz = Float64Array.from(horizons);
  const buf = new Float64Array(h);
  const scratch = new Float64Array(3 * h);
  const pairExpected = new Float64Array(np);
  const pairClv = new Float64Array(np);
  const pairConversion = new Float64Array(np);
  const tc = options.conversionHorizon;
  for (let j = 0; j < np; j++) {
    const xj = pairs.x[j] as number;
    const Tj = pairs.T[j] as number;
    pairConversion[j] = -expm1(-(r + xj) * log1p(tc / (alpha + Tj)));
    betaGeoAliveExpectationMany(a, b + xj + s, r + xj, alpha + Tj, hz, buf, scratch);
    pairExpected[j] = buf[expColumn] as number;
    let sum = 0;
    for (let k = 0; k < clvColumns.length; k++) sum += (options.clvCoefficients[k] as number) * (buf[clvColumns[k] as number] as number);
    pairClv[j] = sum;
  }
  const expected = new Float64Array(n);
  const conversion = new Float64Array(n);
  const discounted = new Float64Array(n);
  const wait = new Float64Array(n);
  const decisive = new Float64Array(n);
  const waitFactor = perXTable(x); // 2^{1/(r+x)} − 1
  const decisiveFactor = perXTable(x); // F_x
  const logOdds = Math.log((1 - options.decisiveThreshold) / options.decisiveThreshold);
  for (let i = 0; i < n; i++) {
    const xi = x[i] as number;
    const Ti = T[i] as number;
    const txi = tx[i] as number;
    const pa = alive[i] as number;
    const pair = pairs.index[i] as number;
    expected[i] = pa * (pairExpected[pair] as number);
    discounted[i] = pa * (pairClv[pair] as number);
    conversion[i] = pa * (pairConversion[pair] as number);
    const ix = xi | 0; // x is a validated integer count
    let wf = waitFactor[ix] as number;
    let df = decisiveFactor[ix] as number;
    if (wf !== wf) {
      wf = expm1(Math.LN2 / (r + xi));
      waitFactor[ix] = wf;
      df = s === 0 && xi === 0 ? Infinity : Math.exp((logOdds + Math.log(s === 0 ? b + xi - 1 : b + xi) - Math.log(a)) / (r + xi));
      decisiveFactor[ix] = df;
    }
    wait[i] = (alpha + Ti) * wf;
    if (df === Infinity) {
      decisive[i] = Infinity;
    } else {
      const d = (alpha + txi) * df - alpha - txi;
      decisive[i] = d > 0 ? d : 0;
    }
  }
  return { pAlive: alive, expectedPurchases: expected, conversion, discountedPurchases: discounted, medianWait: wait, decisiveSinceLast: decisive };
}
