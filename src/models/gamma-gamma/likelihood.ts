// Gamma-Gamma spend log-likelihood from sufficient statistics, with its analytic gradient (Fader & Hardie 2013, note 025, eq. 1a).
import { KairosError } from '../../errors.js';
import { digamma, gammaln, trigamma } from '../../math/special.js';
import { validateSpend } from '../transaction-summary.js';
import type { SpendData } from '../types.js';

/**
 * Spend data reduced for the likelihood: per distinct x the weight W_x and Σ w ln m; per customer only x·m and w
 * (customers with x = 0 or zero weight are dropped: they carry no spend information).
 */
export interface PreparedSpend {
  readonly xs: Float64Array;
  readonly xWeight: Float64Array;
  readonly xSumLnM: Float64Array;
  /** Per customer: x_i, x_i·m_i, w_i. */
  readonly x: Float64Array;
  readonly xm: Float64Array;
  readonly w: Float64Array;
  readonly totalWeight: number;
  readonly meanM: number;
}

/** Validates spend data and builds the sufficient statistics; INSUFFICIENT_DATA / VALIDATION as documented on fit. */
export function prepareSpend(data: SpendData): PreparedSpend {
  const n = validateSpend(data);
  let m = 0;
  let positive = 0;
  for (let i = 0; i < n; i++) {
    const w = data.weights === undefined ? 1 : (data.weights[i] as number);
    if ((data.x[i] as number) > 0 && w > 0) {
      m++;
      if ((data.m[i] as number) > 0) positive++;
    }
  }
  if (positive === 0 && m > 0) {
    throw new KairosError('INSUFFICIENT_DATA', 'gamma-gamma: every repeat customer has zero spend', {
      hint: 'check the amount column; Gamma-Gamma models positive spend',
    });
  }
  const x = new Float64Array(m);
  const xm = new Float64Array(m);
  const w = new Float64Array(m);
  // Per distinct x (x is a validated integer, so a table indexed by x replaces a Map in this per-customer loop).
  let maxX = 0;
  for (let i = 0; i < n; i++) maxX = Math.max(maxX, data.x[i] as number);
  const byX = new Float64Array(maxX + 1);
  const lnByX = new Float64Array(maxX + 1);
  let k = 0;
  let totalWeight = 0;
  let sumWM = 0;
  for (let i = 0; i < n; i++) {
    const xi = data.x[i] as number;
    const wi = data.weights === undefined ? 1 : (data.weights[i] as number);
    if (!(xi > 0 && wi > 0)) continue;
    const mi = data.m[i] as number;
    if (!(mi > 0)) {
      throw new KairosError('VALIDATION', `SpendData row ${i}: mean spend m must be > 0 for a repeat customer (got ${mi})`, {
        hint: 'drop zero-value customers (e.g. free orders) before fitting Gamma-Gamma',
      });
    }
    byX[xi] = (byX[xi] as number) + wi;
    lnByX[xi] = (lnByX[xi] as number) + wi * Math.log(mi);
    x[k] = xi;
    xm[k] = xi * mi;
    w[k] = wi;
    totalWeight += wi;
    sumWM += wi * mi;
    k++;
  }
  const xsList: number[] = [];
  const wList: number[] = [];
  const lnList: number[] = [];
  for (let v = 1; v <= maxX; v++) {
    if ((byX[v] as number) > 0) {
      xsList.push(v);
      wList.push(byX[v] as number);
      lnList.push(lnByX[v] as number);
    }
  }
  if (totalWeight < 3) {
    throw new KairosError('INSUFFICIENT_DATA', `gamma-gamma: needs at least 3 repeat customers with spend, got ${totalWeight}`, {
      hint: 'fit on a longer history or a larger customer base',
    });
  }
  return {
    xs: Float64Array.from(xsList),
    xWeight: Float64Array.from(wList),
    xSumLnM: Float64Array.from(lnList),
    x,
    xm,
    w,
    totalWeight,
    meanM: sumWM / totalWeight,
  };
}

/**
 * Every k-th customer (k = ceil(n/target)) with the same weights, as a warm-start problem for large data; null when the
 * data is already small. The per-x sums are recomputed from the kept customers (ln m = ln(x·m) − ln x).
 */
export function subsampleSpend(prep: PreparedSpend, target: number): PreparedSpend | null {
  const n = prep.x.length;
  if (n <= 2 * target) return null;
  const step = Math.ceil(n / target);
  const m = Math.ceil(n / step);
  const x = new Float64Array(m);
  const xm = new Float64Array(m);
  const w = new Float64Array(m);
  const index = new Map<number, number>();
  const xsList: number[] = [];
  const wList: number[] = [];
  const lnList: number[] = [];
  let totalWeight = 0;
  let sumWM = 0;
  for (let k = 0, i = 0; i < n; i += step, k++) {
    const xi = prep.x[i] as number;
    const wi = prep.w[i] as number;
    x[k] = xi;
    xm[k] = prep.xm[i] as number;
    w[k] = wi;
    let j = index.get(xi);
    if (j === undefined) {
      j = xsList.length;
      index.set(xi, j);
      xsList.push(xi);
      wList.push(0);
      lnList.push(0);
    }
    wList[j] = (wList[j] as number) + wi;
    lnList[j] = (lnList[j] as number) + wi * (Math.log(prep.xm[i] as number) - Math.log(xi));
    totalWeight += wi;
    sumWM += (wi * (prep.xm[i] as number)) / xi;
  }
  return {
    xs: Float64Array.from(xsList),
    xWeight: Float64Array.from(wList),
    xSumLnM: Float64Array.from(lnList),
    x,
    xm,
    w,
    totalWeight,
    meanM: sumWM / totalWeight,
  };
}

/**
 * Σ_i w_i ln f(m_i | p, q, γ, x_i), note 025 eq. (1a):
 *   ln f = ln Γ(px+q) − ln Γ(px) − ln Γ(q) + q ln γ + (px−1) ln m + px ln x − (px+q) ln(γ + x m).
 * Everything except the last term depends on the customer only through x and Σ w ln m, so it is summed per distinct
 * x; only ln(γ + x m) and 1/(γ + x m) are computed per customer. Gradient:
 *   ∂/∂p = Σ_x W_x x [ψ(px+q) − ψ(px) + ln x] + Σ w x ln m − Σ w x ln(γ + xm)
 *   ∂/∂q = Σ_x W_x [ψ(px+q) − ψ(q) + ln γ] − Σ w ln(γ + xm)
 *   ∂/∂γ = W q/γ − Σ w (px+q)/(γ + xm).
 * Hessian (hess, with grad; row-major 3×3):
 *   ∂²/∂p² = Σ_x W_x x² [ψ'(px+q) − ψ'(px)],  ∂²/∂p∂q = Σ_x W_x x ψ'(px+q),  ∂²/∂q² = Σ_x W_x [ψ'(px+q) − ψ'(q)],
 *   ∂²/∂p∂γ = −Σ w x/(γ + xm),  ∂²/∂q∂γ = W/γ − Σ w/(γ + xm),  ∂²/∂γ² = −W q/γ² + Σ w (px+q)/(γ + xm)².
 * params = [p, q, γ].
 */
export function gammaGammaLogLik(
  prep: PreparedSpend,
  params: Float64Array,
  grad: Float64Array | null,
  hess: Float64Array | null = null,
): number {
  const p = params[0] as number;
  const q = params[1] as number;
  const gamma = params[2] as number;
  const lnGamma = Math.log(gamma);
  const lnGq = gammaln(q);
  const psiQ = grad === null ? 0 : digamma(q);
  const withHess = grad !== null && hess !== null;
  const triQ = withHess ? trigamma(q) : 0;
  let ll = 0;
  let gp = 0;
  let gq = 0;
  let hpp = 0;
  let hpq = 0;
  let hqq = 0;
  for (let k = 0; k < prep.xs.length; k++) {
    const x = prep.xs[k] as number;
    const W = prep.xWeight[k] as number;
    const sLn = prep.xSumLnM[k] as number;
    const px = p * x;
    const lnX = Math.log(x);
    ll += W * (gammaln(px + q) - gammaln(px) - lnGq + q * lnGamma + px * lnX) + (px - 1) * sLn;
    if (grad !== null) {
      const psiPxq = digamma(px + q);
      gp += W * x * (psiPxq - digamma(px) + lnX) + x * sLn;
      gq += W * (psiPxq - psiQ + lnGamma);
      if (withHess) {
        const triPxq = trigamma(px + q);
        hpp += W * x * x * (triPxq - trigamma(px));
        hpq += W * x * triPxq;
        hqq += W * (triPxq - triQ);
      }
    }
  }
  const { x, xm, w } = prep;
  // Per customer: ln(γ + x m) and 1/(γ + x m). The row term (px+q)·w·ln(γ+xm) is summed with Neumaier compensation
  // (naive summation of ~1e6 terms leaves ~1e-11 relative noise, enough to stall the line search at the optimum).
  let sL = 0; // Σ w ln(γ+xm)
  let sXL = 0; // Σ w x ln(γ+xm)
  let sR = 0; // Σ w (px+q)/(γ+xm)
  let rowSum = 0; // Σ w (px+q) ln(γ+xm)
  let rowComp = 0;
  let sX = 0; // Σ w x/(γ+xm)
  let sI = 0; // Σ w/(γ+xm)
  let sR2 = 0; // Σ w (px+q)/(γ+xm)²
  for (let i = 0; i < x.length; i++) {
    const wi = w[i] as number;
    const xi = x[i] as number;
    const denom = gamma + (xm[i] as number);
    const wL = wi * Math.log(denom);
    const pxq = p * xi + q;
    sL += wL;
    sXL += xi * wL;
    const wr = (wi * pxq) / denom;
    sR += wr;
    if (withHess) {
      const wInv = wi / denom;
      sX += xi * wInv;
      sI += wInv;
      sR2 += wr / denom;
    }
    const v = pxq * wL;
    const t = rowSum + v;
    rowComp += Math.abs(rowSum) >= Math.abs(v) ? rowSum - t + v : v - t + rowSum;
    rowSum = t;
  }
  ll -= rowSum + rowComp;
  if (grad !== null) {
    grad[0] = gp - sXL;
    grad[1] = gq - sL;
    grad[2] = (prep.totalWeight * q) / gamma - sR;
  }
  if (withHess && hess !== null) {
    const Wt = prep.totalWeight;
    const hpg = -sX;
    const hqg = Wt / gamma - sI;
    const hgg = (-Wt * q) / (gamma * gamma) + sR2;
    const H = [hpp, hpq, hpg, hpq, hqq, hqg, hpg, hqg, hgg];
    for (let i = 0; i < 9; i++) hess[i] = H[i] as number;
  }
  return ll;
}
