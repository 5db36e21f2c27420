// Pareto/NBD per-customer predictions (Schmittlein, Morrison & Colombo 1987; Fader & Hardie 2005 note 009, 2006 note 012).
import { KairosError } from '../../errors.js';
import { hyp2f1 } from '../../math/hyp2f1.js';
import { brentRoot } from '../../math/root.js';
import { betaln, exprel, expm1, gammaln, log1p } from '../../math/special.js';
import { logNbdPmf } from '../beta-geometric.js';
import { checkParams, checkScoreOptions, checkThreshold } from '../params.js';
import { pairIndex, validateHorizon, validateTransactionSummary, type PairIndex } from '../transaction-summary.js';
import type { CustomerScores, ParetoNbdParams, ScoreOptions, TransactionSummary } from '../types.js';
import { logTailIntegral } from './tail-integral.js';

export const PARAM_NAMES = ['r', 'alpha', 's', 'beta'] as const;
const MODEL = 'pareto-nbd';

/**
 * P(alive at T | x, t_x, T) = (α+T)^{−(r+x)}(β+T)^{−s} / [ (α+T)^{−(r+x)}(β+T)^{−s} + s (G(t_x) − G(T)) ]
 * (note 009 eqs. 36–37 written with G of likelihood.ts); lnG1 = ln G(t_x) may be passed when already known.
 */
function aliveAt(p: ParetoNbdParams, x: number, tx: number, T: number, lnG1?: number): number {
  if (tx === T) return 1;
  const rx = p.r + x;
  const E0 = -rx * Math.log(p.alpha + T) - p.s * Math.log(p.beta + T);
  const g1 = lnG1 ?? logTailIntegral(rx, p.s + 1, p.alpha, p.beta, tx);
  const g2 = logTailIntegral(rx, p.s + 1, p.alpha, p.beta, T);
  // 1/P = 1 + s (G1 − G2) / e^{E0}
  const odds = Math.exp(Math.log(p.s) + g1 - E0) * -expm1(g2 - g1);
  return 1 / (1 + odds);
}

/**
 * P(alive) of every row, the arithmetic of aliveAt with its pieces computed once where rows share them: G(t_x) once
 * per distinct (x, t_x), ln(α+T), ln(β+T) and G(T) once per distinct (x, T) (`pairs`, pairIndex(data)), each on first
 * use. Equal to aliveAt row by row, to the last bit.
 */
function aliveAll(p: ParetoNbdParams, data: TransactionSummary, pairs: PairIndex): Float64Array {
  const n = data.x.length;
  const out = new Float64Array(n);
  const last = pairIndex(data, 'tx');
  const lnG1 = new Float64Array(last.x.length).fill(NaN);
  const E0 = new Float64Array(pairs.x.length).fill(NaN);
  const lnG2 = new Float64Array(pairs.x.length).fill(NaN);
  const lnS = Math.log(p.s);
  for (let i = 0; i < n; i++) {
    const tx = data.tx[i] as number;
    if (tx === data.T[i]) {
      out[i] = 1;
      continue;
    }
    const j = last.index[i] as number;
    let g1 = lnG1[j] as number;
    if (g1 !== g1) {
      g1 = logTailIntegral(p.r + (last.x[j] as number), p.s + 1, p.alpha, p.beta, tx);
      lnG1[j] = g1;
    }
    const k = pairs.index[i] as number;
    let e0 = E0[k] as number;
    let g2 = lnG2[k] as number;
    if (e0 !== e0) {
      const rx = p.r + (pairs.x[k] as number);
      const T = pairs.T[k] as number;
      e0 = -rx * Math.log(p.alpha + T) - p.s * Math.log(p.beta + T);
      g2 = logTailIntegral(rx, p.s + 1, p.alpha, p.beta, T);
      E0[k] = e0;
      lnG2[k] = g2;
    }
    const odds = Math.exp(lnS + g1 - e0) * -expm1(g2 - g1);
    out[i] = 1 / (1 + odds);
  }
  return out;
}

/** alive[i] · perPair[pair of row i]. */
function timesAlive(alive: Float64Array, perPair: Float64Array, pairs: PairIndex): Float64Array {
  const out = new Float64Array(alive.length);
  for (let i = 0; i < alive.length; i++) out[i] = (alive[i] as number) * (perPair[pairs.index[i] as number] as number);
  return out;
}

/** P(alive at T | x, t_x, T); see aliveAt. Equals 1 when t_x = T (a purchase just now). */
export function pAlive(params: ParetoNbdParams, data: TransactionSummary): Float64Array {
  checkParams(MODEL, PARAM_NAMES, params);
  validateTransactionSummary(data);
  return aliveAll(params, data, pairIndex(data));
}

/**
 * E[Y(t) | alive] for an alive customer: λ ~ Gamma(r+x, α+T), μ ~ Gamma(s, β+T), so
 * E = (r+x)(β+T)/((α+T)(s−1)) · [1 − ((β+T)/(β+T+t))^{s−1}], written with exprel so s = 1 is not singular.
 */
function aliveExpectation(p: ParetoNbdParams, x: number, T: number, t: number): number {
  const L = log1p(t / (p.beta + T));
  return ((p.r + x) / (p.alpha + T)) * (p.beta + T) * L * exprel(-(p.s - 1) * L);
}

/** Σ_k c_k E[Y(t_k) | alive, x, T] once per distinct (x, T) pair. */
function pairExpectations(p: ParetoNbdParams, pairs: PairIndex, horizons: readonly number[], coefficients: readonly number[]): Float64Array {
  const out = new Float64Array(pairs.x.length);
  for (let k = 0; k < out.length; k++) {
    const x = pairs.x[k] as number;
    const T = pairs.T[k] as number;
    let sum = 0;
    for (let h = 0; h < horizons.length; h++) sum += (coefficients[h] as number) * aliveExpectation(p, x, T, horizons[h] as number);
    out[k] = sum;
  }
  return out;
}

/** E[Y(t) | x, t_x, T] = P(alive) · (r+x)(β+T)/((α+T)(s−1)) · [1 − ((β+T)/(β+T+t))^{s−1}] (note 009 eq. 41). */
export function expectedPurchases(params: ParetoNbdParams, data: TransactionSummary, t: number): Float64Array {
  checkParams(MODEL, PARAM_NAMES, params);
  validateHorizon(t);
  return expectedPurchasesMany(params, data, [t])[0] as Float64Array;
}

/** expectedPurchases at several horizons (one array per horizon); P(alive) is computed once per customer. */
export function expectedPurchasesMany(params: ParetoNbdParams, data: TransactionSummary, horizons: readonly number[]): Float64Array[] {
  checkParams(MODEL, PARAM_NAMES, params);
  for (const t of horizons) validateHorizon(t, 'horizon');
  validateTransactionSummary(data);
  const pairs = pairIndex(data);
  const alive = aliveAll(params, data, pairs);
  return horizons.map((t) => timesAlive(alive, pairExpectations(params, pairs, [t], [1]), pairs));
}

/** Σ_k c_k E[Y(t_k) | x, t_x, T] = P(alive) · Σ_k c_k E[Y(t_k) | alive, x, T], one output array. */
export function expectedPurchasesCombination(
  params: ParetoNbdParams,
  data: TransactionSummary,
  horizons: readonly number[],
  coefficients: readonly number[],
): Float64Array {
  checkParams(MODEL, PARAM_NAMES, params);
  for (const t of horizons) validateHorizon(t, 'horizon');
  if (coefficients.length !== horizons.length) {
    throw new KairosError('VALIDATION', `coefficients (${coefficients.length}) and horizons (${horizons.length}) differ in length`);
  }
  validateTransactionSummary(data);
  const pairs = pairIndex(data);
  const perPair = pairExpectations(params, pairs, horizons, coefficients);
  const alive = aliveAll(params, data, pairs);
  const out = new Float64Array(alive.length);
  for (let i = 0; i < out.length; i++) {
    const sum = perPair[pairs.index[i] as number] as number;
    out[i] = sum === 0 ? 0 : (alive[i] as number) * sum;
  }
  return out;
}

/**
 * ln ∫_0^∞ u^{m−1} (A+u)^{−p} (B+u)^{−q} du = ln[A^{m−p} B^{−q} B(m, p+q−m) 2F1(q, m; p+q; 1 − A/B)] (DLMF 15.6.?:
 * Euler's integral after u = A v), with the roles of (A, p) and (B, q) swapped when A > B so that the 2F1 argument
 * lies in [0, 1).
 */
function logMellinIntegral(m: number, p: number, q: number, A: number, B: number): number {
  const lnBeta = betaln(m, p + q - m);
  if (A <= B) return (m - p) * Math.log(A) - q * Math.log(B) + lnBeta + Math.log(hyp2f1(q, m, p + q, 1 - A / B));
  return (m - q) * Math.log(B) - p * Math.log(A) + lnBeta + Math.log(hyp2f1(p, m, p + q, 1 - B / A));
}

/**
 * Unconditional P(X(t) = n) (Fader & Hardie 2006, note 012). Given λ, μ:
 *   P = e^{−μt} Poisson(n; λt) + μλ^n/(λ+μ)^{n+1} [1 − e^{−(λ+μ)t} Σ_{i=0}^n ((λ+μ)t)^i / i!];
 * mixing over λ ~ Gamma(r, α), μ ~ Gamma(s, β) with (λ+μ)^{−m} = ∫ u^{m−1} e^{−(λ+μ)u} du / Γ(m) gives
 *   P = NBD(n; r, α, t)(β/(β+t))^s + C [ I(n+1; α, β)/n! − Σ_{i=0}^n t^i/i! · I(n+1−i; α+t, β+t)/(n−i)! ],
 *   C = Γ(r+n)/Γ(r) α^r s β^s,  I(m; A, B) = ∫_0^∞ u^{m−1} (A+u)^{−(r+n)} (B+u)^{−(s+1)} du  (logMellinIntegral).
 */
export function probNPurchases(params: ParetoNbdParams, n: number, t: number): number {
  checkParams(MODEL, PARAM_NAMES, params);
  validateHorizon(t);
  if (!Number.isInteger(n) || n < 0) throw new KairosError('VALIDATION', `n must be a non-negative integer (got ${n})`);
  if (t === 0) return n === 0 ? 1 : 0;
  const { r, alpha, s, beta } = params;
  const p = r + n;
  const q = s + 1;
  const lnC = gammaln(r + n) - gammaln(r) + r * Math.log(alpha) + Math.log(s) + s * Math.log(beta);
  const first = Math.exp(logNbdPmf(n, r, alpha, t) - s * log1p(t / beta));
  const b1 = Math.exp(lnC - gammaln(n + 1) + logMellinIntegral(n + 1, p, q, alpha, beta));
  let sum = 0;
  const lnT = Math.log(t);
  for (let i = 0; i <= n; i++) {
    sum += Math.exp(lnC + i * lnT - gammaln(i + 1) - gammaln(n + 1 - i) + logMellinIntegral(n + 1 - i, p, q, alpha + t, beta + t));
  }
  return Math.min(1, Math.max(0, first + b1 - sum));
}

/** Unconditional E[X(t)] = rβ/(α(s−1)) · [1 − (β/(β+t))^{s−1}] (note 009 eq. 27), written with exprel. */
export function unconditionalExpectedPurchases(params: ParetoNbdParams, t: number): number {
  checkParams(MODEL, PARAM_NAMES, params);
  validateHorizon(t);
  const L = log1p(t / params.beta);
  return (params.r / params.alpha) * params.beta * L * exprel(-(params.s - 1) * L);
}

/**
 * P(at least one purchase in (T, T+t] | history). An alive customer has λ ~ Gamma(r+x, α+T), μ ~ Gamma(s, β+T)
 * and buys before dropping out within t with probability E[λ/(λ+μ)(1 − e^{−(λ+μ)t})] = ∫_0^t E[λe^{−λu}] E[e^{−μu}] du
 *   = (r+x)(α+T)^{r+x}(β+T)^s [G'(0) − G'(t)],  G'(u) = ∫_u^∞ (α+T+v)^{−(r+x+1)} (β+T+v)^{−s} dv (tail-integral.ts),
 * times P(alive).
 */
export function conversionProbability(params: ParetoNbdParams, data: TransactionSummary, t: number): Float64Array {
  checkParams(MODEL, PARAM_NAMES, params);
  validateHorizon(t);
  const n = validateTransactionSummary(data);
  if (t === 0) return new Float64Array(n);
  const pairs = pairIndex(data);
  const buy = new Float64Array(pairs.x.length);
  for (let k = 0; k < buy.length; k++) buy[k] = aliveBuyProbability(params, pairs.x[k] as number, pairs.T[k] as number, t);
  return timesAlive(aliveAll(params, data, pairs), buy, pairs);
}

/** P(an alive customer buys in (T, T+t]) = min(1, (r+x)(α+T)^{r+x}(β+T)^s [G'(0) − G'(t)]); see conversionProbability. */
function aliveBuyProbability(p: ParetoNbdParams, x: number, T: number, t: number): number {
  const { r, alpha, s, beta } = p;
  const A = alpha + T;
  const B = beta + T;
  const lt0 = logTailIntegral(r + x + 1, s, A, B, 0);
  const lt1 = logTailIntegral(r + x + 1, s, A, B, t);
  const buy = (r + x) * Math.exp((r + x) * Math.log(A) + s * Math.log(B) + lt0) * -expm1(lt1 - lt0);
  return Math.min(1, buy);
}

/**
 * Median wait from T to the next purchase given the customer is alive and stays alive: the purchase process alone,
 * λ ~ Gamma(r+x, α+T), so the wait is Lomax(r+x, α+T) with median (α+T)(2^{1/(r+x)} − 1).
 */
export function expectedWaitToNextPurchase(params: ParetoNbdParams, data: TransactionSummary): Float64Array {
  checkParams(MODEL, PARAM_NAMES, params);
  const n = validateTransactionSummary(data);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    out[i] = (params.alpha + (data.T[i] as number)) * expm1(Math.LN2 / (params.r + (data.x[i] as number)));
  }
  return out;
}

/**
 * Decisive moment: the d ≥ 0 at which P(alive | x, t_x, T+d) (no purchase in (T, T+d]) falls to the threshold.
 * P(alive) has no closed-form inverse here, so the root is bracketed by doubling d from max(α, β) + T and refined by
 * Brent's method; P(alive) decreases in d and tends to 0, so a root exists whenever P(alive at T) ≥ threshold.
 */
export function decisiveTime(params: ParetoNbdParams, data: TransactionSummary, threshold = 0.5): Float64Array {
  checkParams(MODEL, PARAM_NAMES, params);
  checkThreshold(threshold);
  const n = validateTransactionSummary(data);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = decisiveAt(params, data.x[i] as number, data.tx[i] as number, data.T[i] as number, threshold);
  return out;
}

/** The decisive time of one customer (see decisiveTime). */
function decisiveAt(params: ParetoNbdParams, x: number, tx: number, T: number, threshold: number): number {
  const lnG1 = logTailIntegral(params.r + x, params.s + 1, params.alpha, params.beta, tx);
  const f = (d: number): number => aliveAt(params, x, tx, T + d, lnG1) - threshold;
  if (f(0) <= 0) return 0;
  let lo = 0;
  let hi = Math.max(params.alpha, params.beta) + T;
  let k = 0;
  while (f(hi) > 0 && k < 200) {
    lo = hi;
    hi *= 2;
    k++;
  }
  return k === 200 ? Infinity : brentRoot(f, lo, hi, { xTolerance: 1e-10 * hi });
}

/**
 * Every score of the CLV scorer in one call (see CustomerScores): validates once and evaluates P(alive) once per
 * customer for the expectations and the conversion probability; the same per-customer expressions as the separate
 * methods, so the outputs equal theirs.
 */
export function scoreCustomers(params: ParetoNbdParams, data: TransactionSummary, options: ScoreOptions): CustomerScores {
  checkParams(MODEL, PARAM_NAMES, params);
  checkScoreOptions(options);
  const n = validateTransactionSummary(data);
  const pa = new Float64Array(n);
  const expected = new Float64Array(n);
  const conversion = new Float64Array(n);
  const discounted = new Float64Array(n);
  const wait = new Float64Array(n);
  const decisive = new Float64Array(n);
  const { clvHorizons, clvCoefficients, expectedHorizon, conversionHorizon, decisiveThreshold } = options;
  for (let i = 0; i < n; i++) {
    const x = data.x[i] as number;
    const tx = data.tx[i] as number;
    const T = data.T[i] as number;
    const alive = aliveAt(params, x, tx, T);
    pa[i] = alive;
    expected[i] = alive * aliveExpectation(params, x, T, expectedHorizon);
    if (conversionHorizon !== 0) conversion[i] = alive * aliveBuyProbability(params, x, T, conversionHorizon);
    let sum = 0;
    for (let k = 0; k < clvHorizons.length; k++) sum += (clvCoefficients[k] as number) * aliveExpectation(params, x, T, clvHorizons[k] as number);
    discounted[i] = sum === 0 ? 0 : alive * sum;
    wait[i] = (params.alpha + T) * expm1(Math.LN2 / (params.r + x));
    decisive[i] = decisiveAt(params, x, tx, tx, decisiveThreshold);
  }
  return { pAlive: pa, expectedPurchases: expected, conversion, discountedPurchases: discounted, medianWait: wait, decisiveSinceLast: decisive };
}
