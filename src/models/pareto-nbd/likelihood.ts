// Pareto/NBD log-likelihood and its analytic gradient on a grouped transaction summary (Fader & Hardie 2005, note 009, eq. 18).
import { digamma, gammaln } from '../../math/special.js';
import type { PreparedTransactionSummary } from '../transaction-summary.js';
import { logTailIntegralGrad } from './tail-integral.js';

/**
 * Σ_i w_i ln L(r, α, s, β | x_i, t_x,i, T_i). Integrating the individual likelihood
 * λ^x e^{−(λ+μ)T} + ∫_{t_x}^T λ^x e^{−λτ} μ e^{−μτ} dτ over λ ~ Gamma(r, α) and μ ~ Gamma(s, β) gives
 *
 *   L = Γ(r+x) α^r β^s / Γ(r) · [ (α+T)^{−(r+x)} (β+T)^{−s} + s (G(t_x) − G(T)) ],
 *   G(u) = ∫_u^∞ (α+τ)^{−(r+x)} (β+τ)^{−(s+1)} dτ            (see tail-integral.ts)
 *
 * which is note 009 eq. (18) with A_0 = (r+s+x)(G(t_x) − G(T)). In log space, with E0 = −(r+x) ln(α+T) − s ln(β+T),
 * g1 = ln G(t_x), g2 = ln G(T) and M = max(E0, ln s + g1):
 *
 *   ln L = ln Γ(r+x) − ln Γ(r) + r ln α + s ln β + M + ln(e^{E0−M} + s e^{g1−M} (1 − e^{g2−g1})).
 *
 * The gradient differentiates each piece (∂G through the 2F1 series). params = [r, α, s, β].
 */
export function paretoNbdLogLik(prep: PreparedTransactionSummary, params: Float64Array, grad: Float64Array | null): number {
  const r = params[0] as number;
  const alpha = params[1] as number;
  const s = params[2] as number;
  const beta = params[3] as number;
  const { xs, xWeight } = prep;
  const lnS = Math.log(s);
  const lnAlpha = Math.log(alpha);
  const lnBeta = Math.log(beta);
  const lnGr = gammaln(r);
  const psiR = digamma(r);

  let ll = 0;
  let gr = 0;
  let galpha = 0;
  let gs = 0;
  let gbeta = 0;
  for (let k = 0; k < xs.values.length; k++) {
    const x = xs.values[k] as number;
    const w = xWeight[k] as number;
    ll += w * (gammaln(r + x) - lnGr + r * lnAlpha + s * lnBeta);
    if (grad !== null) gr += w * (digamma(r + x) - psiR + lnAlpha);
  }
  if (grad !== null) {
    galpha += (prep.totalWeight * r) / alpha;
    gs += prep.totalWeight * lnBeta;
    gbeta += (prep.totalWeight * s) / beta;
  }

  const g1 = new Float64Array(5);
  const g2 = new Float64Array(5);
  const scratch = new Float64Array(5);
  const g1Zero = new Float64Array(5); // G at t_x = 0 for x = 0 (shared by all x = 0 rows)
  let haveZero = false;
  const { n, x, tx, T, w } = prep;
  // Σ over rows with Neumaier compensation (see beta-geometric-likelihood.ts).
  let rowSum = 0;
  let rowComp = 0;
  for (let i = 0; i < n; i++) {
    const wi = w[i] as number;
    const xi = x[i] as number;
    const txi = tx[i] as number;
    const Ti = T[i] as number;
    const rx = r + xi;
    const lnAT = Math.log(alpha + Ti);
    const lnBT = Math.log(beta + Ti);
    const E0 = -rx * lnAT - s * lnBT;
    let G1: Float64Array;
    if (xi === 0) {
      if (!haveZero) {
        logTailIntegralGrad(r, s + 1, alpha, beta, 0, g1Zero, scratch);
        haveZero = true;
      }
      G1 = g1Zero;
    } else {
      logTailIntegralGrad(rx, s + 1, alpha, beta, txi, g1, scratch);
      G1 = g1;
    }
    const G2 = txi === Ti ? G1 : g2;
    if (txi !== Ti) logTailIntegralGrad(rx, s + 1, alpha, beta, Ti, g2, scratch);
    const lg1 = G1[0] as number;
    const lg2 = G2[0] as number;
    const M = Math.max(E0, lnS + lg1);
    const e0 = Math.exp(E0 - M);
    const e1 = Math.exp(lnS + lg1 - M);
    const ratio = Math.exp(lg2 - lg1); // G(T)/G(t_x) ≤ 1
    const e2 = e1 * ratio;
    const e12 = e1 * -Math.expm1(lg2 - lg1);
    const bracket = e0 + e12;
    const v = wi * (M + Math.log(bracket));
    const sum = rowSum + v;
    rowComp += Math.abs(rowSum) >= Math.abs(v) ? rowSum - sum + v : v - sum + rowSum;
    rowSum = sum;
    if (grad !== null) {
      const inv = wi / bracket;
      gr += inv * (-e0 * lnAT + e1 * (G1[1] as number) - e2 * (G2[1] as number));
      galpha += inv * ((-e0 * rx) / (alpha + Ti) + e1 * (G1[3] as number) - e2 * (G2[3] as number));
      gs += inv * (-e0 * lnBT + e12 / s + e1 * (G1[2] as number) - e2 * (G2[2] as number));
      gbeta += inv * ((-e0 * s) / (beta + Ti) + e1 * (G1[4] as number) - e2 * (G2[4] as number));
    }
  }
  ll += rowSum + rowComp;
  if (grad !== null) {
    grad[0] = gr;
    grad[1] = galpha;
    grad[2] = gs;
    grad[3] = gbeta;
  }
  return ll;
}
