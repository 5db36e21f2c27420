// MBG/NBD log-likelihood and its analytic gradient on grouped RFM data (Batislam, Denizel & Filiztekin 2007, appendix A).
import { betaln, digamma, gammaln } from '../../math/special.js';
import type { PreparedRfm } from '../rfm.js';

/**
 * Σ_i w_i ln L(r, α, a, b | x_i, t_x,i, T_i). MBG/NBD lets a customer also drop out at time 0, so the dropout
 * term is present for every x (Batislam et al. 2007, appendix A; Wagner & Hoppe 2008):
 *
 *   L = B(a, b+x+1)/B(a, b) · Γ(r+x)α^r/(Γ(r)(α+T)^{r+x}) + B(a+1, b+x)/B(a, b) · Γ(r+x)α^r/(Γ(r)(α+t_x)^{r+x}),
 *   ln L = ln Γ(r+x) − ln Γ(r) + r ln α + ln B(a, b+x+1) − ln B(a, b) − (r+x) ln(α+T) + ln(1 + e^D),
 *   D = ln a − ln(b+x) + (r+x) [ln(α+T) − ln(α+t_x)],   as B(a+1, b+x)/B(a, b+x+1) = a/(b+x).
 *
 * With π = e^D/(1+e^D) = 1 − P(alive):
 *   ∂/∂r = ψ(r+x) − ψ(r) + ln α − ln(α+T) + π [ln(α+T) − ln(α+t_x)]
 *   ∂/∂α = r/α − (r+x)/(α+T) + π (r+x) [1/(α+T) − 1/(α+t_x)]
 *   ∂/∂a = ψ(a+b) − ψ(a+b+x+1) + π/a
 *   ∂/∂b = ψ(b+x+1) − ψ(a+b+x+1) − ψ(b) + ψ(a+b) − π/(b+x).
 * params = [r, α, a, b]; grad (if given) receives ∂/∂[r, α, a, b].
 */
export function mbgNbdLogLik(prep: PreparedRfm, params: Float64Array, grad: Float64Array | null): number {
  const r = params[0] as number;
  const alpha = params[1] as number;
  const a = params[2] as number;
  const b = params[3] as number;
  const { xs, xWeight, Ts, txs } = prep;

  const nx = xs.values.length;
  const lnK = new Float64Array(nx); // ln a − ln(b+x)
  const invBx = new Float64Array(nx); // 1/(b+x)
  let ll = 0;
  let gr = 0;
  let gaX = 0; // Σ over x of the digamma part of ∂/∂a
  let ga = 0; // Σ w π, divided by a at the end
  let gb = 0;
  const lnGr = gammaln(r);
  const psiR = digamma(r);
  const lnBab = betaln(a, b);
  const psiAB = digamma(a + b);
  const psiB = digamma(b);
  const lnAlpha = Math.log(alpha);
  const lnA = Math.log(a);
  for (let k = 0; k < nx; k++) {
    const x = xs.values[k] as number;
    const w = xWeight[k] as number;
    const psiABx1 = digamma(a + b + x + 1);
    ll += w * (gammaln(r + x) - lnGr + r * lnAlpha + betaln(a, b + x + 1) - lnBab);
    if (grad !== null) {
      gr += w * (digamma(r + x) - psiR + lnAlpha);
      gaX += w * (psiAB - psiABx1);
      gb += w * (digamma(b + x + 1) - psiABx1 - psiB + psiAB);
    }
    lnK[k] = lnA - Math.log(b + x);
    invBx[k] = 1 / (b + x);
  }
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

  let galpha = grad === null ? 0 : (prep.totalWeight * r) / alpha;
  const { n, x, w } = prep;
  const xIdx = xs.index;
  const TIdx = Ts.index;
  const txIdx = txs.index;
  // Σ over rows with Neumaier compensation (see bg-nbd/likelihood.ts).
  let rowSum = 0;
  let rowComp = 0;
  for (let i = 0; i < n; i++) {
    const wi = w[i] as number;
    const rx = r + (x[i] as number);
    const jT = TIdx[i] as number;
    const jtx = txIdx[i] as number;
    const k = xIdx[i] as number;
    const la = lnAT[jT] as number;
    const diff = la - (lnAtx[jtx] as number);
    const D = (lnK[k] as number) + rx * diff;
    // softplus(D) = ln(1 + e^D) and π = logistic(D) from one exponential (Math.log1p: native, hot loop).
    const e = Math.exp(-Math.abs(D));
    const v = wi * ((D > 0 ? D : 0) + Math.log1p(e) - rx * la);
    const t = rowSum + v;
    rowComp += Math.abs(rowSum) >= Math.abs(v) ? rowSum - t + v : v - t + rowSum;
    rowSum = t;
    if (grad !== null) {
      const pi = D >= 0 ? 1 / (1 + e) : e / (1 + e);
      gr += wi * (-la + pi * diff);
      galpha += wi * rx * (-(invAT[jT] as number) + pi * ((invAT[jT] as number) - (invAtx[jtx] as number)));
      ga += wi * pi;
      gb -= wi * pi * (invBx[k] as number);
    }
  }
  ll += rowSum + rowComp;
  if (grad !== null) {
    grad[0] = gr;
    grad[1] = galpha;
    grad[2] = gaX + ga / a;
    grad[3] = gb;
  }
  return ll;
}
