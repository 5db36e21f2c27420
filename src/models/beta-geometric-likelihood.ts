// The log-likelihood shared by BG/NBD and MBG/NBD on a grouped transaction summary, with its analytic gradient and Hessian.
import { betaln, digamma, gammaln, trigamma } from '../math/special.js';
import type { PreparedTransactionSummary } from './transaction-summary.js';

/**
 * Σ_i w_i ln L(r, α, a, b | x_i, t_x,i, T_i) of the beta-geometric family, with shift s = 0 for BG/NBD (FHL 2005
 * eq. 6: dropout only after repeat purchases) and s = 1 for MBG/NBD (Batislam et al. 2007, appendix A: dropout also
 * at time 0):
 *
 *   ln L = ln Γ(r+x) − ln Γ(r) + r ln α + ln B(a, b+x+s) − ln B(a, b) − (r+x) ln(α+T) + ln(1 + δ e^D),
 *   D    = ln a − ln c + (r+x) [ln(α+T) − ln(α+t_x)],   c = b+x−1+s,   δ = 1 if s = 1 or x > 0, else 0.
 *
 * With π = δ e^D/(1+e^D) = 1 − P(alive), κ = π(1−π) = e^{−|D|}/(1+e^{−|D|})² and the derivatives of D
 *   D_r = ln(α+T) − ln(α+t_x),  D_α = (r+x)[1/(α+T) − 1/(α+t_x)],  D_a = 1/a,  D_b = −1/c,
 *   D_rα = 1/(α+T) − 1/(α+t_x),  D_αα = (r+x)[1/(α+t_x)² − 1/(α+T)²],  D_aa = −1/a²,  D_bb = 1/c²,
 * the softplus term contributes π D_i to the gradient and κ D_i D_j + π D_ij to the Hessian; the rest is
 *   ∂/∂r = ψ(r+x) − ψ(r) + ln α − ln(α+T),     ∂/∂α = r/α − (r+x)/(α+T),
 *   ∂/∂a = ψ(a+b) − ψ(a+b+x+s),                ∂/∂b = ψ(b+x+s) − ψ(a+b+x+s) − ψ(b) + ψ(a+b),
 *   ∂²/∂r² = ψ'(r+x) − ψ'(r),  ∂²/∂r∂α = 1/α − 1/(α+T),  ∂²/∂α² = −r/α² + (r+x)/(α+T)²,
 *   ∂²/∂a² = ∂²/∂a∂b = ψ'(a+b) − ψ'(a+b+x+s),  ∂²/∂b² = ψ'(b+x+s) − ψ'(a+b+x+s) − ψ'(b) + ψ'(a+b).
 * Terms depending only on x are computed once per distinct x; ln(α+T) and ln(α+t_x) once per distinct value. Per row:
 * one exponential and one log1p. params = [r, α, a, b]; grad (if given) receives ∂/∂[r, α, a, b], hess (if given,
 * with grad) the 4×4 Hessian, row-major.
 */
export function betaGeoLogLik(
  prep: PreparedTransactionSummary,
  params: Float64Array,
  grad: Float64Array | null,
  hess: Float64Array | null,
  s: 0 | 1,
): number {
  const r = params[0] as number;
  const alpha = params[1] as number;
  const a = params[2] as number;
  const b = params[3] as number;
  const withGrad = grad !== null;
  const withHess = withGrad && hess !== null;
  const { xs, xWeight, Ts, txs } = prep;
  // Per distinct x.
  const nx = xs.values.length;
  const lnK = new Float64Array(nx); // ln a − ln c
  const invC = new Float64Array(nx); // 1/c
  let ll = 0;
  let gr = 0;
  let gaX = 0; // Σ over x of the digamma part of ∂/∂a
  let gb = 0;
  let hrr = 0;
  let haaX = 0; // ∂²/∂a² = ∂²/∂a∂b part from the beta functions
  let hbb = 0;
  const lnGr = gammaln(r);
  const psiR = digamma(r);
  const lnBab = betaln(a, b);
  const psiAB = digamma(a + b);
  const psiB = digamma(b);
  const triR = withHess ? trigamma(r) : 0;
  const triAB = withHess ? trigamma(a + b) : 0;
  const triB = withHess ? trigamma(b) : 0;
  const lnAlpha = Math.log(alpha);
  const lnA = Math.log(a);
  for (let k = 0; k < nx; k++) {
    const x = xs.values[k] as number;
    const w = xWeight[k] as number;
    ll += w * (gammaln(r + x) - lnGr + r * lnAlpha + betaln(a, b + x + s) - lnBab);
    if (withGrad) {
      const psiABx = digamma(a + b + x + s);
      gr += w * (digamma(r + x) - psiR + lnAlpha);
      gaX += w * (psiAB - psiABx);
      gb += w * (digamma(b + x + s) - psiABx - psiB + psiAB);
      if (withHess) {
        const triABx = trigamma(a + b + x + s);
        hrr += w * (trigamma(r + x) - triR);
        haaX += w * (triAB - triABx);
        hbb += w * (trigamma(b + x + s) - triABx - triB + triAB);
      }
    }
    if (s === 1 || x > 0) {
      const c = s === 0 ? b + x - 1 : b + x;
      lnK[k] = lnA - Math.log(c);
      invC[k] = 1 / c;
    }
  }
  // Per distinct T and t_x.
  const lnAT = new Float64Array(Ts.values.length);
  const invAT = new Float64Array(Ts.values.length);
  for (let j = 0; j < Ts.values.length; j++) {
    const v = alpha + (Ts.values[j] as number);
    lnAT[j] = Math.log(v);
    invAT[j] = 1 / v;
  }
  const lnAtx = new Float64Array(txs.values.length);
  const invAtx = new Float64Array(txs.values.length);
  for (let j = 0; j < txs.values.length; j++) {
    const v = alpha + (txs.values[j] as number);
    lnAtx[j] = Math.log(v);
    invAtx[j] = 1 / v;
  }
  const W = prep.totalWeight;
  let galpha = withGrad ? (W * r) / alpha : 0;
  let ga = 0; // Σ w π, divided by a at the end
  // Hessian sums over rows (the a, b rows of the Hessian factor through per-row sums).
  let hra = 0; // Σ w κ D_r            (∂²/∂r∂a · a)
  let hrb = 0; // Σ w κ D_r / c        (−∂²/∂r∂b)
  let hAa = 0; // Σ w κ D_α            (∂²/∂α∂a · a)
  let hAb = 0; // Σ w κ D_α / c        (−∂²/∂α∂b)
  let hrA = withHess ? W / alpha : 0;
  let hAA = withHess ? (-W * r) / (alpha * alpha) : 0;
  let sPi2 = 0; // Σ w π²              (∂²/∂a² row part = −Σ w π² / a²)
  let sKc = 0; // Σ w κ / c             (−∂²/∂a∂b · a)
  let sBb = 0; // Σ w π(2−π) / c²       (∂²/∂b² row part: κ + π = π(2−π))
  const { n, x, w } = prep;
  const xIdx = xs.index;
  const TIdx = Ts.index;
  const txIdx = txs.index;
  // Σ over rows with Neumaier compensation: naive summation of ~1e6 terms leaves ~1e-11 relative noise in the
  // mean objective, enough to stall the line search near the optimum.
  let rowSum = 0;
  let rowComp = 0;
  for (let i = 0; i < n; i++) {
    const wi = w[i] as number;
    const xi = x[i] as number;
    const jT = TIdx[i] as number;
    const la = lnAT[jT] as number;
    const rx = r + xi;
    let term = -rx * la;
    if (s === 1 || xi > 0) {
      const jtx = txIdx[i] as number;
      const k = xIdx[i] as number;
      const diff = la - (lnAtx[jtx] as number);
      const D = (lnK[k] as number) + rx * diff;
      // softplus(D) = ln(1 + e^D) and π = logistic(D) from one exponential (Math.log1p: native, hot loop).
      const e = Math.exp(-Math.abs(D));
      term += (D > 0 ? D : 0) + Math.log1p(e);
      if (withGrad) {
        const iT = invAT[jT] as number;
        const dInv = iT - (invAtx[jtx] as number);
        const pi = D >= 0 ? 1 / (1 + e) : e / (1 + e);
        const wpi = wi * pi;
        const ic = invC[k] as number;
        gr += wi * (-la + pi * diff);
        galpha += wi * rx * (-iT + pi * dInv);
        ga += wpi;
        gb -= wpi * ic;
        if (withHess) {
          const u = 1 / (1 + e);
          const wk = wi * e * u * u; // w κ
          const dA = rx * dInv;
          const wkDr = wk * diff;
          const wkDA = wk * dA;
          hrr += wkDr * diff;
          hrA += wi * -iT + wkDr * dA + wpi * dInv;
          hAA += wi * rx * iT * iT + wkDA * dA + wpi * rx * ((invAtx[jtx] as number) ** 2 - iT * iT);
          hra += wkDr;
          hrb += wkDr * ic;
          hAa += wkDA;
          hAb += wkDA * ic;
          sPi2 += wpi * pi;
          sKc += wk * ic;
          sBb += wpi * (2 - pi) * ic * ic;
        }
      }
    } else if (withGrad) {
      const iT = invAT[jT] as number;
      gr -= wi * la;
      galpha -= wi * rx * iT;
      if (withHess) {
        hrA -= wi * iT;
        hAA += wi * rx * iT * iT;
      }
    }
    const v = wi * term;
    const t = rowSum + v;
    rowComp += Math.abs(rowSum) >= Math.abs(v) ? rowSum - t + v : v - t + rowSum;
    rowSum = t;
  }
  ll += rowSum + rowComp;
  if (grad !== null) {
    grad[0] = gr;
    grad[1] = galpha;
    grad[2] = gaX + ga / a;
    grad[3] = gb;
  }
  if (withHess && hess !== null) {
    const haa = haaX - sPi2 / (a * a);
    const hab = haaX - sKc / a;
    const hbbAll = hbb + sBb;
    const H = [hrr, hrA, hra / a, -hrb, hrA, hAA, hAa / a, -hAb, hra / a, hAa / a, haa, hab, -hrb, -hAb, hab, hbbAll];
    for (let i = 0; i < 16; i++) hess[i] = H[i] as number;
  }
  return ll;
}
