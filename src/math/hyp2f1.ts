// The Gauss hypergeometric function 2F1(a, b; c; z) for real z < 1, kept accurate by Pfaff, Euler and 1−z transformations.
//
// Hand-written because no maintained Node package evaluates a real-argument 2F1 with convergence checks
// (stdlib has no hyp2f1; the npm "hypergeometric" packages are unmaintained and sum the raw series, which
// is slow near z = 1 and wrong for z < −1). Formulas cite the NIST DLMF, chapter 15.
import { KairosError } from '../errors.js';
import { digamma, gammaSign, gammaln, log1p } from './special.js';

const EPS = 2.220446049250313e-16;
/** Hard cap on series terms; beyond it the series is declared non-convergent (never silently truncated). */
const MAX_TERMS = 2_000_000;
/** Above this z (after the Pfaff map) the 1 − z transformation (DLMF 15.8.4) replaces the power series. */
const ONE_MINUS_Z_THRESHOLD = 0.9;
/**
 * c − a − b within this of an integer (but not equal) makes DLMF 15.8.4 lose ~ε/gap to cancelling poles; there the
 * value is interpolated (quadratic in c) through the exact integer case and 15.8.4 at c ± INTEGER_GAP.
 */
const INTEGER_GAP = 1e-5;

function isNonPositiveInteger(v: number): boolean {
  return v <= 0 && Number.isInteger(v);
}

function notConverged(a: number, b: number, c: number, z: number, terms: number): KairosError {
  return new KairosError('CONVERGENCE', `2F1(${a}, ${b}; ${c}; ${z}) series did not converge in ${terms} terms`, {
    details: { a, b, c, z },
    hint: 'the argument is too close to 1 for these parameters; use a shorter horizon or check the fitted parameters',
  });
}

/**
 * The Gauss series Σ_n (a)_n (b)_n / ((c)_n n!) z^n (DLMF 15.2.1) for |z| < 1 or a terminating a, b.
 * Stops when the last term and a geometric bound on the tail are both below machine precision of the sum.
 */
export function hyp2f1Series(a: number, b: number, c: number, z: number): number {
  if (z === 0) return 1;
  let term = 1;
  let sum = 1;
  for (let n = 0; n < MAX_TERMS; n++) {
    const an = a + n;
    const bn = b + n;
    if (an === 0 || bn === 0) return sum; // terminating polynomial
    term *= ((an * bn) / ((c + n) * (n + 1))) * z;
    sum += term;
    const absTerm = Math.abs(term);
    if (absTerm <= EPS * Math.abs(sum)) {
      const next = Math.abs(((an + 1) * (bn + 1)) / ((c + n + 1) * (n + 2)) * z);
      const bound = Math.max(next, Math.abs(z));
      if (bound < 1 && (absTerm * bound) / (1 - bound) <= EPS * Math.abs(sum)) return sum;
    }
    if (!Number.isFinite(sum)) break;
  }
  throw notConverged(a, b, c, z, MAX_TERMS);
}

/** Γ(num...) / Γ(den...) as sign · e^{log}; a pole in the denominator gives 0. */
function gammaRatio(num: readonly number[], den: readonly number[]): number {
  let sign = 1;
  let log = 0;
  for (const v of den) {
    const s = gammaSign(v);
    if (s === 0) return 0;
    sign *= s;
    log -= gammaln(v);
  }
  for (const v of num) {
    sign *= gammaSign(v);
    log += gammaln(v);
  }
  return sign * Math.exp(log);
}

/**
 * The 1 − z connection formula (DLMF 15.8.4, A&S 15.3.6) for 0 < z < 1 and c − a − b not an integer:
 * 2F1(a,b;c;z) = Γ(c)Γ(c−a−b)/(Γ(c−a)Γ(c−b)) 2F1(a,b;a+b−c+1;1−z)
 *              + (1−z)^{c−a−b} Γ(c)Γ(a+b−c)/(Γ(a)Γ(b)) 2F1(c−a,c−b;c−a−b+1;1−z).
 */
function oneMinusZ(a: number, b: number, c: number, z: number): number {
  const d = c - a - b;
  const w = 1 - z;
  const g1 = gammaRatio([c, d], [c - a, c - b]);
  const g2 = gammaRatio([c, -d], [a, b]);
  const t1 = g1 === 0 ? 0 : g1 * hyp2f1Series(a, b, 1 - d, w);
  const t2 = g2 === 0 ? 0 : g2 * Math.exp(d * Math.log(w)) * hyp2f1Series(c - a, c - b, 1 + d, w);
  return t1 + t2;
}

/**
 * The 1 − z formula when c − a − b = m is an integer (Abramowitz & Stegun 15.3.10 for m = 0, 15.3.11 for m ≥ 1; a
 * negative m is first turned positive by Euler's transformation). With w = 1 − z:
 *   m = 0: Γ(a+b)/(Γ(a)Γ(b)) Σ_n (a)_n(b)_n/(n!)² [2ψ(n+1) − ψ(a+n) − ψ(b+n) − ln w] w^n
 *   m ≥ 1: Γ(m)Γ(a+b+m)/(Γ(a+m)Γ(b+m)) Σ_{n<m} (a)_n(b)_n/(n!(1−m)_n) w^n
 *          − (−w)^m Γ(a+b+m)/(Γ(a)Γ(b)) Σ_n (a+m)_n(b+m)_n/(n!(n+m)!) w^n [ln w − ψ(n+1) − ψ(n+m+1) + ψ(a+n+m) + ψ(b+n+m)]
 * The digamma values advance by ψ(x+1) = ψ(x) + 1/x.
 */
function oneMinusZInteger(a: number, b: number, c: number, z: number, m: number): number {
  const w = 1 - z;
  if (m < 0) return Math.exp(m * Math.log(w)) * oneMinusZInteger(c - a, c - b, c, z, -m);
  const lnW = Math.log(w);
  // Finite sum (m ≥ 1).
  let finite = 0;
  if (m > 0) {
    const coef = gammaRatio([m, c], [a + m, b + m]);
    if (coef !== 0) {
      let term = 1;
      let sum = 1;
      for (let n = 0; n < m - 1; n++) {
        term *= (((a + n) * (b + n)) / ((n + 1) * (1 - m + n))) * w;
        sum += term;
      }
      finite = coef * sum;
    }
  }
  // Logarithmic series.
  const coef = gammaRatio([c], [a, b]);
  if (coef === 0) return finite;
  let psi1 = digamma(1); // ψ(n+1)
  let psiM = digamma(m + 1); // ψ(n+m+1)
  let psiA = digamma(a + m); // ψ(a+n+m)
  let psiB = digamma(b + m); // ψ(b+n+m)
  let factM = 1; // m!
  for (let j = 2; j <= m; j++) factM *= j;
  let term = 1 / factM; // (a+m)_n (b+m)_n / (n! (n+m)!) w^n
  let sum = 0;
  for (let n = 0; n < MAX_TERMS; n++) {
    const bracket = m === 0 ? 2 * psi1 - psiA - psiB - lnW : lnW - psi1 - psiM + psiA + psiB;
    const add = term * bracket;
    sum += add;
    if (n > 2 && Math.abs(add) <= EPS * Math.abs(sum) && Math.abs(term) <= EPS * Math.abs(sum)) {
      return m === 0 ? coef * sum : finite - Math.pow(-w, m) * coef * sum;
    }
    term *= (((a + m + n) * (b + m + n)) / ((n + 1) * (n + m + 1))) * w;
    psi1 += 1 / (n + 1);
    psiM += 1 / (n + m + 1);
    psiA += 1 / (a + m + n);
    psiB += 1 / (b + m + n);
  }
  throw notConverged(a, b, c, z, MAX_TERMS);
}

/** 0 < z < 1: the shortest of direct series, Euler transform (DLMF 15.8.1) or the 1 − z formulas. */
function hyp2f1UnitInterval(a: number, b: number, c: number, z: number): number {
  const d = c - a - b;
  // Euler: 2F1(a,b;c;z) = (1−z)^{c−a−b} 2F1(c−a, c−b; c; z). Its terms decay like n^{c−a−b−1} z^n instead of
  // n^{a+b−c−1} z^n, so it is the shorter series when c − a − b < 0, and exact when c−a or c−b is a non-positive integer.
  const eulerTerminates = isNonPositiveInteger(c - a) || isNonPositiveInteger(c - b);
  if (z <= ONE_MINUS_Z_THRESHOLD || eulerTerminates) {
    if (eulerTerminates || d < 0) return Math.exp(d * log1p(-z)) * hyp2f1Series(c - a, c - b, c, z);
    return hyp2f1Series(a, b, c, z);
  }
  const k = Math.round(d);
  const gap = d - k;
  if (gap === 0) return oneMinusZInteger(a, b, c, z, k);
  if (Math.abs(gap) >= INTEGER_GAP) return oneMinusZ(a, b, c, z);
  // Near-integer: 2F1 is analytic in c, so interpolate quadratically through c0 − h, c0 (exact) and c0 + h.
  const h = INTEGER_GAP;
  const c0 = c - gap;
  const f0 = oneMinusZInteger(a, b, c0, z, k);
  const fm = oneMinusZ(a, b, c0 - h, z);
  const fp = oneMinusZ(a, b, c0 + h, z);
  const u = gap / h;
  return f0 + (u * (fp - fm)) / 2 + (u * u * (fp - 2 * f0 + fm)) / 2;
}

/**
 * 2F1(a, b; c; z) for real z < 1 (DLMF 15.2.1), c not a non-positive integer.
 * z < 0 is mapped into (0, 1) by Pfaff's transformation (DLMF 15.8.1):
 * 2F1(a,b;c;z) = (1−z)^{−a} 2F1(a, c−b; c; z/(z−1)); then see hyp2f1UnitInterval.
 * Throws KairosError('VALIDATION') outside the domain and 'CONVERGENCE' if a series does not converge.
 */
export function hyp2f1(a: number, b: number, c: number, z: number): number {
  if (!Number.isFinite(a) || !Number.isFinite(b) || !Number.isFinite(c) || !Number.isFinite(z) || z >= 1) {
    throw new KairosError('VALIDATION', `2F1(${a}, ${b}; ${c}; ${z}) needs finite parameters and z < 1`);
  }
  const terminates = isNonPositiveInteger(a) || isNonPositiveInteger(b);
  if (isNonPositiveInteger(c)) {
    throw new KairosError('VALIDATION', `2F1(${a}, ${b}; ${c}; ${z}) is undefined for c a non-positive integer`);
  }
  if (z === 0) return 1;
  if (terminates && Math.abs(z) <= 1) return hyp2f1Series(a, b, c, z);
  if (z < 0) {
    const w = z / (z - 1);
    // Prefer the Pfaff form whose series terminates; otherwise (1−z)^{−a} 2F1(a, c−b; c; w).
    if (isNonPositiveInteger(c - a) && !isNonPositiveInteger(c - b)) {
      return Math.exp(-b * log1p(-z)) * hyp2f1UnitInterval(c - a, b, c, w);
    }
    return Math.exp(-a * log1p(-z)) * hyp2f1UnitInterval(a, c - b, c, w);
  }
  return hyp2f1UnitInterval(a, b, c, z);
}

/**
 * ln 2F1(a, b; c; z) and its partial derivatives, for a, b, c > 0 and 0 ≤ z < 1, by the Gauss series
 * differentiated term by term: with t_n the n-th term, ∂ ln t_n/∂a = Σ_{k<n} 1/(a+k) (likewise b, and −Σ 1/(c+k)
 * for c) and ∂t_n/∂z = n t_n / z. All terms are positive, so there is no cancellation; the loop stops when the
 * value and the derivative series (whose terms are at most n times larger) have both converged.
 * Writes [ln F, ∂lnF/∂a, ∂lnF/∂b, ∂lnF/∂c, ∂lnF/∂z] into out (no allocation: it runs once per data group).
 */
export function logHyp2f1Grad(a: number, b: number, c: number, z: number, out: Float64Array): void {
  if (!(a > 0 && b > 0 && c > 0 && z >= 0 && z < 1)) {
    throw new KairosError('VALIDATION', `logHyp2f1Grad needs a, b, c > 0 and 0 <= z < 1 (got ${a}, ${b}, ${c}, ${z})`);
  }
  if (z === 0) {
    out[0] = 0;
    out[1] = 0;
    out[2] = 0;
    out[3] = 0;
    out[4] = (a * b) / c;
    return;
  }
  let term = 1;
  let sum = 1;
  let da = 0; // Σ_{k<n} 1/(a+k) for the current term
  let db = 0;
  let dc = 0;
  let sa = 0; // Σ t_n ∂ln t_n/∂a
  let sb = 0;
  let sc = 0;
  let sz = 0; // Σ n t_n
  for (let n = 0; n < MAX_TERMS; n++) {
    const an = a + n;
    const bn = b + n;
    const cn = c + n;
    term *= ((an * bn) / (cn * (n + 1))) * z;
    da += 1 / an;
    db += 1 / bn;
    dc += 1 / cn;
    sum += term;
    sa += term * da;
    sb += term * db;
    sc += term * dc;
    sz += term * (n + 1);
    if (term <= EPS * sum) {
      const next = (((an + 1) * (bn + 1)) / ((cn + 1) * (n + 2))) * z;
      const bound = Math.max(next, z);
      if (bound < 1) {
        const tail = (term * bound) / (1 - bound);
        // Σ_{m>n} m t_m ≤ t_n (n b/(1−b) + b/(1−b)²); the log-derivative sums grow slower than that.
        const tailN = term * ((n + 1) * bound / (1 - bound) + bound / ((1 - bound) * (1 - bound)));
        if (tail <= EPS * sum && tailN <= EPS * Math.max(sum, sz)) {
          out[0] = Math.log(sum);
          out[1] = sa / sum;
          out[2] = sb / sum;
          out[3] = -sc / sum;
          out[4] = sz / (z * sum);
          return;
        }
      }
    }
    if (!Number.isFinite(sum)) break;
  }
  throw notConverged(a, b, c, z, MAX_TERMS);
}
