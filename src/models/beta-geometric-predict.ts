// Per-customer predictions shared by BG/NBD and MBG/NBD: the two differ only in when a customer can drop out.
//
// With s = 0 (BG/NBD, Fader, Hardie & Lee 2005) a customer flips the dropout coin after each repeat purchase; with
// s = 1 (MBG/NBD, Batislam, Denizel & Filiztekin 2007, Wagner & Hoppe 2008 erratum) also right after the first one.
//   P(alive at T | x, t_x, T) = 1 / (1 + δ · a/(b+x−1+s) · ((α+T)/(α+t_x))^{r+x}), δ = 0 for BG/NBD's x = 0, else 1
//     (FHL 2008 note 021; Batislam et al. 2007, appendix A, eq. 5);
//   an alive customer has p ~ Beta(a, b+x+s) and λ ~ Gamma(r+x, α+T), which gives the expected purchases
//     E[Y(t) | x, t_x, T] = P(alive) · (a+b+x−1+s)/(a−1) · [1 − ((α+T)/(α+T+t))^{r+x} 2F1(r+x, b+x+s; a+b+x−1+s; t/(α+T+t))]
//     (FHL 2005 eq. 10; Wagner & Hoppe 2008), evaluated without the a = 1 singularity (betaGeoAliveExpectation).
// The unconditional quantities (probNPurchases, unconditionalExpectedPurchases) stay with each model.
import { KairosError } from '../errors.js';
import { expm1, log1p, logistic } from '../math/special.js';
import { betaGeoAliveExpectationMany, betaGeoScores } from './beta-geometric.js';
import { checkParams, checkScoreOptions, checkThreshold } from './params.js';
import { cachedLogShift, logShiftTable, pairIndex, perXTable, validateHorizon, validateTransactionSummary } from './transaction-summary.js';
import type { CustomerScores, ScoreOptions, TransactionSummary } from './types.js';

type BetaGeoParams = Readonly<{ r: number; alpha: number; a: number; b: number }>;

const PARAM_NAMES = ['r', 'alpha', 'a', 'b'] as const;

/** The per-customer predictions of a beta-geometric model (s = 0: BG/NBD, s = 1: MBG/NBD), as its module exports them. */
export function betaGeoPredictions<P extends BetaGeoParams>(model: 'bg-nbd' | 'mbg-nbd', s: 0 | 1) {
  /** b + x − 1 + s, written so that it is b + x − 1 (BG) and b + x (MBG) to the last bit. */
  const shifted = (b: number, x: number): number => b + x + (s - 1);

  /**
   * P(alive) of every row: per row one exponential and two logarithms, cached per integer time value (days);
   * ln a − ln(b+x−1+s) is tabulated per x. Data must be validated.
   */
  function aliveAll(p: P, data: TransactionSummary): Float64Array {
    const n = data.x.length;
    const out = new Float64Array(n);
    const lnA = Math.log(p.a);
    const logs = logShiftTable(data.T); // ln(α + v) for integer times v (t_x ≤ T, so one table serves both)
    const cache = perXTable(data.x); // ln a − ln(b + x − 1 + s) per x, filled on first use
    for (let i = 0; i < n; i++) {
      const x = data.x[i] as number;
      if (x === 0 && s === 0) {
        // BG/NBD: no dropout before the first repeat purchase.
        out[i] = 1;
        continue;
      }
      let lnK = cache[x] as number;
      if (Number.isNaN(lnK)) {
        lnK = lnA - Math.log(shifted(p.b, x));
        cache[x] = lnK;
      }
      const lnAT = cachedLogShift(logs, p.alpha, data.T[i] as number);
      const D = lnK + (p.r + x) * (lnAT - cachedLogShift(logs, p.alpha, data.tx[i] as number));
      out[i] = logistic(-D);
    }
    return out;
  }

  /**
   * P(alive) per row and the alive-customer expectation E[Y(t_k) | alive, x, T] per distinct (x, T) pair and horizon
   * (kernel[pair·h + k]): the expectation depends on the history only through (x, T), so it is computed once per pair,
   * with the series coefficients shared across horizons.
   */
  function aliveAndKernel(params: P, data: TransactionSummary, horizons: readonly number[]): { alive: Float64Array; pairs: Uint32Array; kernel: Float64Array } {
    checkParams(model, PARAM_NAMES, params);
    for (const t of horizons) validateHorizon(t, 'horizon');
    validateTransactionSummary(data);
    const h = horizons.length;
    const { r, alpha, a, b } = params;
    const pairs = pairIndex(data);
    const np = pairs.x.length;
    const kernel = new Float64Array(np * h);
    const hz = Float64Array.from(horizons);
    const buf = new Float64Array(h);
    const scratch = new Float64Array(3 * h);
    for (let j = 0; j < np; j++) {
      const x = pairs.x[j] as number;
      const T = pairs.T[j] as number;
      betaGeoAliveExpectationMany(a, b + x + s, r + x, alpha + T, hz, buf, scratch);
      kernel.set(buf, j * h);
    }
    return { alive: aliveAll(params, data), pairs: pairs.index, kernel };
  }

  /** P(alive at T | x, t_x, T) (formula above). */
  function pAlive(params: P, data: TransactionSummary): Float64Array {
    checkParams(model, PARAM_NAMES, params);
    validateTransactionSummary(data);
    return aliveAll(params, data);
  }

  /**
   * expectedPurchases at several horizons (one array per horizon). The series coefficients are shared across
   * horizons and the alive-customer part is computed once per distinct (x, T); per customer only P(alive) is evaluated.
   */
  function expectedPurchasesMany(params: P, data: TransactionSummary, horizons: readonly number[]): Float64Array[] {
    const { alive, pairs, kernel } = aliveAndKernel(params, data, horizons);
    const h = horizons.length;
    const outs = horizons.map(() => new Float64Array(alive.length));
    for (let i = 0; i < alive.length; i++) {
      const base = (pairs[i] as number) * h;
      for (let k = 0; k < h; k++) (outs[k] as Float64Array)[i] = (alive[i] as number) * (kernel[base + k] as number);
    }
    return outs;
  }

  /** E[Y(t) | x, t_x, T]: expected repeat purchases in (T, T+t] (formula above). */
  function expectedPurchases(params: P, data: TransactionSummary, t: number): Float64Array {
    return expectedPurchasesMany(params, data, [t])[0] as Float64Array;
  }

  /** Σ_k c_k E[Y(t_k) | x, t_x, T] = P(alive) · Σ_k c_k E[Y(t_k) | alive, x, T]: the sum is formed once per (x, T). */
  function expectedPurchasesCombination(params: P, data: TransactionSummary, horizons: readonly number[], coefficients: readonly number[]): Float64Array {
    if (coefficients.length !== horizons.length) {
      throw new KairosError('VALIDATION', `coefficients (${coefficients.length}) and horizons (${horizons.length}) differ in length`);
    }
    const { alive, pairs, kernel } = aliveAndKernel(params, data, horizons);
    const h = horizons.length;
    if (h === 0) return new Float64Array(alive.length);
    const combined = new Float64Array(kernel.length / h);
    for (let j = 0; j < combined.length; j++) {
      let sum = 0;
      for (let k = 0; k < h; k++) sum += (coefficients[k] as number) * (kernel[j * h + k] as number);
      combined[j] = sum;
    }
    const out = new Float64Array(alive.length);
    for (let i = 0; i < alive.length; i++) out[i] = (alive[i] as number) * (combined[pairs[i] as number] as number);
    return out;
  }

  /**
   * P(at least one purchase in (T, T+t] | x, t_x, T) = P(alive) · [1 − ((α+T)/(α+T+t))^{r+x}]: an alive customer's
   * rate is λ | data ~ Gamma(r+x, α+T), and the first future purchase happens before any further dropout.
   */
  function conversionProbability(params: P, data: TransactionSummary, t: number): Float64Array {
    checkParams(model, PARAM_NAMES, params);
    validateHorizon(t);
    validateTransactionSummary(data);
    const out = aliveAll(params, data);
    const ratio = logShiftTable(data.T); // ln(1 + t/(α+T)) per integer T, filled on first use
    for (let i = 0; i < out.length; i++) {
      const x = data.x[i] as number;
      const T = data.T[i] as number;
      const iT = T | 0;
      let L: number;
      if (iT === T && iT < ratio.length) {
        L = ratio[iT] as number;
        if (Number.isNaN(L)) {
          L = log1p(t / (params.alpha + T));
          ratio[iT] = L;
        }
      } else {
        L = log1p(t / (params.alpha + T));
      }
      out[i] = (out[i] as number) * -expm1(-(params.r + x) * L);
    }
    return out;
  }

  /**
   * Median time from T to the next purchase given the customer is alive: λ | alive, data ~ Gamma(r+x, α+T), so the
   * wait is Lomax(shape r+x, scale α+T) with median (α+T)(2^{1/(r+x)} − 1).
   */
  function expectedWaitToNextPurchase(params: P, data: TransactionSummary): Float64Array {
    checkParams(model, PARAM_NAMES, params);
    const n = validateTransactionSummary(data);
    const out = new Float64Array(n);
    const factor = perXTable(data.x); // 2^{1/(r+x)} − 1 per x
    for (let i = 0; i < n; i++) {
      const x = data.x[i] as number;
      let f = factor[x] as number;
      if (Number.isNaN(f)) {
        f = expm1(Math.LN2 / (params.r + x));
        factor[x] = f;
      }
      out[i] = (params.alpha + (data.T[i] as number)) * f;
    }
    return out;
  }

  /**
   * Decisive moment: the d ≥ 0 with P(alive | x, t_x, T+d) = threshold. Closed form from the P(alive) formula:
   *   α + T + d = (α + t_x) · [((1−θ)/θ) · (b+x−1+s)/a]^{1/(r+x)}.
   * 0 when P(alive) is already below θ. Infinity for BG/NBD's x = 0 (always alive); always finite under MBG/NBD, where
   * even x = 0 customers become unlikely to be alive as time passes.
   */
  function decisiveTime(params: P, data: TransactionSummary, threshold = 0.5): Float64Array {
    checkParams(model, PARAM_NAMES, params);
    checkThreshold(threshold);
    const n = validateTransactionSummary(data);
    const out = new Float64Array(n);
    const logOdds = Math.log((1 - threshold) / threshold);
    for (let i = 0; i < n; i++) {
      const x = data.x[i] as number;
      if (x === 0 && s === 0) {
        out[i] = Infinity;
        continue;
      }
      const lnK = logOdds + Math.log(shifted(params.b, x)) - Math.log(params.a);
      const d = (params.alpha + (data.tx[i] as number)) * Math.exp(lnK / (params.r + x)) - params.alpha - (data.T[i] as number);
      out[i] = d > 0 ? d : 0;
    }
    return out;
  }

  /**
   * Every score of the CLV scorer in one call (see CustomerScores): validates once, computes P(alive) once per row and
   * the expectation kernel once per distinct (x, T) for all horizons; equal to the separate methods to rounding.
   */
  function scoreCustomers(params: P, data: TransactionSummary, options: ScoreOptions): CustomerScores {
    checkParams(model, PARAM_NAMES, params);
    checkScoreOptions(options);
    validateTransactionSummary(data);
    return betaGeoScores(params, data, aliveAll(params, data), options, s);
  }

  return {
    pAlive,
    expectedPurchases,
    expectedPurchasesMany,
    expectedPurchasesCombination,
    conversionProbability,
    expectedWaitToNextPurchase,
    decisiveTime,
    scoreCustomers,
  };
}
