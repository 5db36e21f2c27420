// 95% confidence intervals for a proportion and for differences (Wilson, Newcombe's hybrid score, Welch), and Student's t quantile.
//
// Hand-written: each is a few lines from its paper; the t quantile inverts the t distribution function, computed by
// Gauss-Legendre quadrature of the density (no incomplete beta function among the project's dependencies).
import { gaussLegendre } from './gauss-legendre.js';
import { brentRoot } from './root.js';
import { gammaln } from './special.js';

/** The 97.5% quantile of the standard normal distribution: the z of a two-sided 95% interval. */
export const Z_95 = 1.959963984540054;

/** A point estimate with the bounds of its two-sided 95% interval. */
export interface Interval {
  readonly estimate: number;
  readonly lower: number;
  readonly upper: number;
}

/**
 * Wilson's score interval for a proportion of `successes` in `n` trials (Wilson 1927, "Probable inference, the law of
 * succession, and statistical inference", JASA 22: 209-212; Newcombe 1998a, method 3):
 * (p + z²/2n ± z √(p(1-p)/n + z²/4n²)) / (1 + z²/n). `null` when n = 0. Successes may be fractional (pro-rata shares).
 */
export function wilsonInterval(successes: number, n: number, z = Z_95): Interval | null {
  if (!(n > 0)) return null;
  const p = successes / n;
  const z2 = z * z;
  const centre = (p + z2 / (2 * n)) / (1 + z2 / n);
  const half = (z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n))) / (1 + z2 / n);
  // At p = 0 or 1 the bound is exactly 0 or 1; rounding would leave it a hair inside.
  return { estimate: p, lower: successes <= 0 ? 0 : Math.max(0, centre - half), upper: successes >= n ? 1 : Math.min(1, centre + half) };
}

/**
 * Newcombe's hybrid score interval for the difference p1 - p2 of two independent proportions (Newcombe 1998,
 * "Interval estimation for the difference between independent proportions: comparison of eleven methods",
 * Statistics in Medicine 17: 873-890, method 10): with (l_i, u_i) the Wilson interval of p_i,
 * L = d - √((p1 - l1)² + (u2 - p2)²), U = d + √((u1 - p1)² + (p2 - l2)²). Chosen over Wald because it keeps its
 * coverage at rates near 0 (Hillstrom's conversion is 0.6%) and never leaves [-1, 1]. `null` when an arm is empty.
 */
export function newcombeInterval(successes1: number, n1: number, successes2: number, n2: number, z = Z_95): Interval | null {
  const a = wilsonInterval(successes1, n1, z);
  const b = wilsonInterval(successes2, n2, z);
  if (a === null || b === null) return null;
  const d = a.estimate - b.estimate;
  return {
    estimate: d,
    lower: d - Math.hypot(a.estimate - a.lower, b.upper - b.estimate),
    upper: d + Math.hypot(a.upper - a.estimate, b.estimate - b.lower),
  };
}

/** Count, mean and unbiased variance of a sample (the inputs of a Welch interval). */
export interface SampleMoments {
  readonly n: number;
  readonly mean: number;
  readonly variance: number;
}

/**
 * Welch's interval for the difference of two means, mean1 - mean2, without assuming equal variances (Welch 1947,
 * "The generalization of Student's problem when several different population variances are involved", Biometrika
 * 34: 28-35): d ± t_{0.975, ν} √(s1²/n1 + s2²/n2), ν by Welch-Satterthwaite. `null` when an arm has fewer than 2 rows;
 * when both variances are 0 the interval is the point d.
 */
export function welchInterval(a: SampleMoments, b: SampleMoments): (Interval & { readonly df: number }) | null {
  if (a.n < 2 || b.n < 2) return null;
  const va = a.variance / a.n;
  const vb = b.variance / b.n;
  const d = a.mean - b.mean;
  const se2 = va + vb;
  if (!(se2 > 0)) return { estimate: d, lower: d, upper: d, df: a.n + b.n - 2 };
  const df = (se2 * se2) / ((va * va) / (a.n - 1) + (vb * vb) / (b.n - 1));
  const half = studentTQuantile(0.975, df) * Math.sqrt(se2);
  return { estimate: d, lower: d - half, upper: d + half, df };
}

/** Beyond this many degrees of freedom the t quantile is the normal one to better than 1e-7 relative. */
const T_AS_NORMAL_DF = 1e8;

/** P(0 < T < t) for T ~ Student t with ν degrees of freedom: the density integrated by 20-point Gauss-Legendre on unit steps. */
function tCentralMass(t: number, nu: number): number {
  const logC = gammaln((nu + 1) / 2) - gammaln(nu / 2) - 0.5 * Math.log(nu * Math.PI);
  const { nodes, weights } = gaussLegendre(20);
  const steps = Math.max(1, Math.ceil(t));
  const h = t / steps;
  let sum = 0;
  for (let s = 0; s < steps; s++) {
    const mid = (s + 0.5) * h;
    for (let i = 0; i < nodes.length; i++) {
      const x = mid + (h / 2) * (nodes[i] as number);
      sum += (weights[i] as number) * Math.exp(logC - ((nu + 1) / 2) * Math.log1p((x * x) / nu));
    }
  }
  return (sum * h) / 2;
}

/**
 * The p quantile of Student's t distribution with ν > 0 (not necessarily whole) degrees of freedom, for 0.5 ≤ p < 1:
 * the root of P(0 < T < t) = p - 1/2 (Brent), the mass from the density by quadrature.
 */
export function studentTQuantile(p: number, nu: number): number {
  if (!(p >= 0.5 && p < 1)) throw new RangeError(`studentTQuantile: p must be in [0.5, 1) (got ${p})`);
  if (!(nu > 0)) throw new RangeError(`studentTQuantile: degrees of freedom must be > 0 (got ${nu})`);
  if (p === 0.5) return 0;
  if (nu > T_AS_NORMAL_DF) {
    if (p === 0.975) return Z_95;
    nu = T_AS_NORMAL_DF;
  }
  let hi = 4;
  while (tCentralMass(hi, nu) < p - 0.5) hi *= 2;
  return brentRoot((t) => tCentralMass(t, nu) - (p - 0.5), 0, hi, { xTolerance: 1e-12 });
}
