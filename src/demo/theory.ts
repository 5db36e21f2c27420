// Closed-form expectations of the demo's purchase process, used for truth.csv and to check the simulators.
import type { PurchaseParams } from './params.js';

/**
 * Expected purchases in (0, t] of a customer alive at 0 with known lambda and p, under BG/NBD
 * (Fader, Hardie & Lee 2005, eq. 7 conditioned on lambda and p): (1 - exp(-lambda p t)) / p.
 *
 * Derivation: purchases arrive as a Poisson process with N(t) ~ Poisson(lambda t); the k-th one happens
 * only if the customer survived the k-1 before it, so E[X(t)] = E[sum_{k=1..N(t)} (1-p)^(k-1)]
 * = E[1 - (1-p)^N(t)] / p, and the Poisson generating function E[s^N] = exp(lambda t (s - 1)) at s = 1 - p
 * gives the result. With a time-varying rate lambda m(s), replace lambda t by the integrated intensity
 * `lambdaT` = lambda * integral_0^t m(s) ds: this function takes that integral directly.
 */
export function expectedPurchasesAlive(lambdaT: number, p: number): number {
  return p > 0 ? -Math.expm1(-p * lambdaT) / p : lambdaT;
}

/**
 * P(alive at T | lambda, p, x repeat purchases, last at t_x) under BG/NBD with known lambda and p
 * (Fader, Hardie & Lee 2005, from eq. 3): 1 when x = 0, else
 * (1-p) e^{-L} / ((1-p) e^{-L} + p), where L = integrated purchase intensity over (t_x, T].
 */
export function pAliveGivenHistory(p: number, x: number, intensitySinceLast: number): number {
  if (x === 0) return 1;
  const alive = (1 - p) * Math.exp(-intensitySinceLast);
  return alive / (alive + p);
}

/** Gauss hypergeometric 2F1(a, b; c; z) by its power series, for 0 <= z < 1 (converges geometrically in z). */
export function hyp2f1(a: number, b: number, c: number, z: number): number {
  let term = 1;
  let sum = 1;
  for (let n = 0; n < 100_000; n++) {
    term *= ((a + n) * (b + n)) / ((c + n) * (n + 1)) * z;
    sum += term;
    if (Math.abs(term) < 1e-15 * Math.abs(sum)) return sum;
  }
  return sum;
}

/**
 * Population mean number of repeat purchases in (0, t] for a customer whose first purchase is at 0
 * (Fader, Hardie & Lee 2005, eq. 9):
 * E[X(t)] = (a + b - 1) / (a - 1) * [1 - (alpha / (alpha + t))^r * 2F1(r, b; a + b - 1; t / (alpha + t))].
 */
export function bgnbdExpectedRepeatPurchases(params: Pick<PurchaseParams, 'r' | 'alpha' | 'a' | 'b'>, t: number): number {
  const { r, alpha, a, b } = params;
  const z = t / (alpha + t);
  return ((a + b - 1) / (a - 1)) * (1 - Math.pow(alpha / (alpha + t), r) * hyp2f1(r, b, a + b - 1, z));
}

/** Population mean order value under Gamma-Gamma (Fader, Hardie & Lee 2005b): E[p / nu] = p * gamma / (q - 1), q > 1. */
export function gammaGammaMeanOrderValue(params: Pick<PurchaseParams, 'p' | 'q' | 'gamma'>): number {
  return (params.p * params.gamma) / (params.q - 1);
}
