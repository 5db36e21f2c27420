// The predictions and registry entries of BG/NBD and MBG/NBD, which differ only in when a customer can drop out.
//
// With s = 0 (BG/NBD, Fader, Hardie & Lee 2005) a customer flips the dropout coin after each repeat purchase; with
// s = 1 (MBG/NBD, Batislam, Denizel & Filiztekin 2007, Wagner & Hoppe 2008 erratum) also right after the first one.
//   P(alive at T | x, t_x, T) = 1 / (1 + δ · a/(b+x−1+s) · ((α+T)/(α+t_x))^{r+x}), δ = 0 for BG/NBD's x = 0, else 1
//     (FHL 2008 note 021; Batislam et al. 2007, appendix A, eq. 5);
//   an alive customer has p ~ Beta(a, b+x+s) and λ ~ Gamma(r+x, α+T), which gives the expected purchases
//     E[Y(t) | x, t_x, T] = P(alive) · (a+b+x−1+s)/(a−1) · [1 − ((α+T)/(α+T+t))^{r+x} 2F1(r+x, b+x+s; a+b+x−1+s; z)],
//     z = t/(α+T+t) (FHL 2005 eq. 10; Wagner & Hoppe 2008), evaluated without the a = 1 singularity
//     (betaGeoAliveExpectation);
//   a new customer's purchases in (0, t]: P(X(t) = n) (FHL 2005 eq. 8 and its MBG analogue) and E[X(t)] (FHL 2005
//     eq. 7; Wagner & Hoppe 2008), in probNPurchases and unconditionalExpectedPurchases below.
// Each per-customer quantity is computed by one kernel, once per row, per distinct x or per distinct (x, T) pair; the
// separate methods and scoreCustomers call the same kernels, so the arithmetic exists once.
import { KairosError } from '../errors.js';
import { betaln, expm1, log1p, logistic } from '../math/special.js';
import {
  betaGeoAliveExpectation,
  betaGeoAliveExpectationMany,
  logNbdPmf,
  nbdUpperTail,
  simulateBetaGeo,
} from './beta-geometric.js';
import { checkParams, checkScoreOptions, checkThreshold } from './params.js';
import { transactionModel, type TransactionLogLik, type TransactionPredictions } from './transaction-fit.js';
import {
  cachedLogShift,
  logShiftTable,
  pairIndex,
  perXTable,
  validateHorizon,
  validateTransactionSummary,
  type PairIndex,
} from './transaction-summary.js';
import type { CustomerScores, ScoreOptions, TransactionModel, TransactionSummary } from './types.js';

type BetaGeoParams = Readonly<{ r: number; alpha: number; a: number; b: number }>;

const PARAM_NAMES = ['r', 'alpha', 'a', 'b'] as const;

/** An alive customer's median wait from T to the next purchase: (α+T)(2^{1/(r+x)} − 1), given the factor of x. */
function medianWait(alpha: number, T: number, factor: number): number {
  return (alpha + T) * factor;
}

/**
 * The decisive moment measured from `from` (T, or t_x for the time since the last purchase), given F_x:
 * max(0, (α+t_x)·F_x − α − from); Infinity when F_x is.
 */
function decisiveMoment(alpha: number, tx: number, from: number, F: number): number {
  const d = (alpha + tx) * F - alpha - from;
  return d > 0 ? d : 0;
}

/** The predictions of a beta-geometric model (s = 0: BG/NBD, s = 1: MBG/NBD), for its registry entry. */
export function betaGeoPredictions<P extends BetaGeoParams>(model: 'bg-nbd' | 'mbg-nbd', s: 0 | 1): TransactionPredictions<P> {
  /** b + x − 1 + s, written so that it is b + x − 1 (BG) and b + x (MBG) to the last bit (also with n for x). */
  const shifted = (b: number, x: number): number => b + x + (s - 1);

  // The kernels: parameters checked and data validated by the caller.

  /**
   * P(alive) of every row: per row one exponential and two logarithms, cached per integer time value (days);
   * ln a − ln(b+x−1+s) is tabulated per x.
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
   * The alive-customer expectation E[Y(t_k) | alive, x, T] per distinct (x, T) pair and horizon, at
   * kernel[pair·h + k]: it depends on the history only through (x, T), and the series coefficients are shared
   * across horizons.
   */
  function aliveExpectations(p: P, pairs: PairIndex, horizons: readonly number[]): Float64Array {
    const h = horizons.length;
    const np = pairs.x.length;
    const kernel = new Float64Array(np * h);
    const hz = Float64Array.from(horizons);
    const buf = new Float64Array(h);
    const scratch = new Float64Array(3 * h);
    for (let j = 0; j < np; j++) {
      const x = pairs.x[j] as number;
      betaGeoAliveExpectationMany(p.a, p.b + x + s, p.r + x, p.alpha + (pairs.T[j] as number), hz, buf, scratch);
      kernel.set(buf, j * h);
    }
    return kernel;
  }

  /** Σ_k c_k · kernel[pair·h + column_k] per pair (one column with c = [1] picks a horizon out). */
  function combine(
    kernel: Float64Array,
    pairs: PairIndex,
    h: number,
    columns: readonly number[],
    coefficients: readonly number[],
  ): Float64Array {
    const out = new Float64Array(pairs.x.length);
    for (let j = 0; j < out.length; j++) {
      let sum = 0;
      for (let k = 0; k < columns.length; k++) {
        sum += (coefficients[k] as number) * (kernel[j * h + (columns[k] as number)] as number);
      }
      out[j] = sum;
    }
    return out;
  }

  /** An alive customer's P(a purchase in (T, T+t]) = 1 − ((α+T)/(α+T+t))^{r+x}, per (x, T) pair. */
  function buyWithin(p: P, pairs: PairIndex, t: number): Float64Array {
    const out = new Float64Array(pairs.x.length);
    for (let j = 0; j < out.length; j++) {
      out[j] = -expm1(-(p.r + (pairs.x[j] as number)) * log1p(t / (p.alpha + (pairs.T[j] as number))));
    }
    return out;
  }

  /** P(alive) of each row times the value of its (x, T) pair. */
  function timesAlive(alive: Float64Array, pairValues: Float64Array, pairs: PairIndex): Float64Array {
    const out = new Float64Array(alive.length);
    const pairOf = pairs.index;
    for (let i = 0; i < out.length; i++) out[i] = (alive[i] as number) * (pairValues[pairOf[i] as number] as number);
    return out;
  }

  /** 2^{1/(r+x)} − 1 for every x up to the largest: an alive customer's median wait is (α+T) times it. */
  function waitFactors(p: P, x: Float64Array): Float64Array {
    const factor = perXTable(x);
    for (let v = 0; v < factor.length; v++) factor[v] = expm1(Math.LN2 / (p.r + v));
    return factor;
  }

  /**
   * F_x = [((1−θ)/θ)(b+x−1+s)/a]^{1/(r+x)} for every x up to the largest, Infinity for BG/NBD's x = 0 (always alive):
   * P(alive | x, t_x, T+d) falls to θ where α + T + d = (α+t_x)·F_x.
   */
  function decisiveFactors(p: P, x: Float64Array, threshold: number): Float64Array {
    const factor = perXTable(x);
    const logOdds = Math.log((1 - threshold) / threshold);
    for (let v = 0; v < factor.length; v++) {
      factor[v] = v === 0 && s === 0 ? Infinity : Math.exp((logOdds + Math.log(shifted(p.b, v)) - Math.log(p.a)) / (p.r + v));
    }
    return factor;
  }

  // The methods: each validates its inputs and calls the kernels.

  /** Checks params, horizons and data; P(alive) per row, the (x, T) pairs and the expectation kernel at the horizons. */
  function checkedExpectations(params: P, data: TransactionSummary, horizons: readonly number[]) {
    checkParams(model, PARAM_NAMES, params);
    for (const t of horizons) validateHorizon(t, 'horizon');
    validateTransactionSummary(data);
    const pairs = pairIndex(data);
    return { alive: aliveAll(params, data), pairs, kernel: aliveExpectations(params, pairs, horizons) };
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
    const { alive, pairs, kernel } = checkedExpectations(params, data, horizons);
    return horizons.map((_, k) => timesAlive(alive, combine(kernel, pairs, horizons.length, [k], [1]), pairs));
  }

  /** E[Y(t) | x, t_x, T]: expected repeat purchases in (T, T+t] (formula above). */
  function expectedPurchases(params: P, data: TransactionSummary, t: number): Float64Array {
    return expectedPurchasesMany(params, data, [t])[0] as Float64Array;
  }

  /** Σ_k c_k E[Y(t_k) | x, t_x, T] = P(alive) · Σ_k c_k E[Y(t_k) | alive, x, T]: the sum is formed once per (x, T). */
  function expectedPurchasesCombination(
    params: P,
    data: TransactionSummary,
    horizons: readonly number[],
    coefficients: readonly number[],
  ): Float64Array {
    if (coefficients.length !== horizons.length) {
      throw new KairosError('VALIDATION', `coefficients (${coefficients.length}) and horizons (${horizons.length}) differ in length`);
    }
    const { alive, pairs, kernel } = checkedExpectations(params, data, horizons);
    const columns = horizons.map((_, k) => k);
    return timesAlive(alive, combine(kernel, pairs, horizons.length, columns, coefficients), pairs);
  }

  /**
   * P(at least one purchase in (T, T+t] | x, t_x, T) = P(alive) · [1 − ((α+T)/(α+T+t))^{r+x}]: an alive customer's
   * rate is λ | data ~ Gamma(r+x, α+T), and the first future purchase happens before any further dropout.
   */
  function conversionProbability(params: P, data: TransactionSummary, t: number): Float64Array {
    checkParams(model, PARAM_NAMES, params);
    validateHorizon(t);
    validateTransactionSummary(data);
    const pairs = pairIndex(data);
    return timesAlive(aliveAll(params, data), buyWithin(params, pairs, t), pairs);
  }

  /**
   * Median time from T to the next purchase given the customer is alive: λ | alive, data ~ Gamma(r+x, α+T), so the
   * wait is Lomax(shape r+x, scale α+T) with median (α+T)(2^{1/(r+x)} − 1).
   */
  function expectedWaitToNextPurchase(params: P, data: TransactionSummary): Float64Array {
    checkParams(model, PARAM_NAMES, params);
    const n = validateTransactionSummary(data);
    const factor = waitFactors(params, data.x);
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) out[i] = medianWait(params.alpha, data.T[i] as number, factor[data.x[i] as number] as number);
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
    const factor = decisiveFactors(params, data.x, threshold);
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      out[i] = decisiveMoment(params.alpha, data.tx[i] as number, data.T[i] as number, factor[data.x[i] as number] as number);
    }
    return out;
  }

  /**
   * Every score of the CLV scorer in one call (see CustomerScores), from the same kernels as the separate methods:
   * validates once, computes P(alive) and the (x, T) pairs once, the alive-customer expectation in one series pass
   * per pair for the expected horizon and the CLV horizons together, and fills the six outputs in one pass over the rows.
   */
  function scoreCustomers(params: P, data: TransactionSummary, options: ScoreOptions): CustomerScores {
    checkParams(model, PARAM_NAMES, params);
    checkScoreOptions(options);
    const n = validateTransactionSummary(data);
    const alive = aliveAll(params, data);
    const pairs = pairIndex(data);
    const horizons = [...new Set([...options.clvHorizons, options.expectedHorizon])];
    const h = horizons.length;
    const kernel = aliveExpectations(params, pairs, horizons);
    const pairExpected = combine(kernel, pairs, h, [horizons.indexOf(options.expectedHorizon)], [1]);
    const pairDiscounted = combine(kernel, pairs, h, options.clvHorizons.map((t) => horizons.indexOf(t)), options.clvCoefficients);
    const pairBuy = buyWithin(params, pairs, options.conversionHorizon);
    const wait = waitFactors(params, data.x);
    const decisive = decisiveFactors(params, data.x, options.decisiveThreshold);
    const expectedPurchases = new Float64Array(n);
    const conversion = new Float64Array(n);
    const discountedPurchases = new Float64Array(n);
    const medianWaits = new Float64Array(n);
    const decisiveSinceLast = new Float64Array(n);
    const { alpha } = params;
    const { x, tx, T } = data;
    const pairOf = pairs.index;
    for (let i = 0; i < n; i++) {
      const pa = alive[i] as number;
      const pair = pairOf[i] as number;
      const xi = x[i] as number;
      const txi = tx[i] as number;
      expectedPurchases[i] = pa * (pairExpected[pair] as number);
      conversion[i] = pa * (pairBuy[pair] as number);
      discountedPurchases[i] = pa * (pairDiscounted[pair] as number);
      medianWaits[i] = medianWait(alpha, T[i] as number, wait[xi] as number);
      decisiveSinceLast[i] = decisiveMoment(alpha, txi, txi, decisive[xi] as number);
    }
    return { pAlive: alive, expectedPurchases, conversion, discountedPurchases, medianWait: medianWaits, decisiveSinceLast };
  }

  /**
   * Unconditional P(X(t) = n) for a new customer:
   *   B(a, b+n+s)/B(a, b) · NBD(n; r, α, t) + δ · B(a+1, b+n−1+s)/B(a, b) · P(NBD(r, α, t) ≥ n),
   * δ = 0 for BG/NBD's n = 0, else 1 (FHL 2005 eq. 8 for s = 0). For s = 1, given λ and p, X(t) = n if the customer
   * survives n coins (at time 0 and after each of the first n−1 purchases) and then either drops out after the n-th
   * purchase or makes no further one: (1−p)^n [p · P(N(t) ≥ n) + (1−p) · P(N(t) = n)], N(t) ~ Poisson(λt), mixed over
   * λ and p (for n = 0 the second term is a/(a+b), dropout at time 0).
   */
  function probNPurchases(params: P, n: number, t: number): number {
    checkParams(model, PARAM_NAMES, params);
    validateHorizon(t);
    if (!Number.isInteger(n) || n < 0) throw new KairosError('VALIDATION', `n must be a non-negative integer (got ${n})`);
    const { r, alpha, a, b } = params;
    const lnBab = betaln(a, b);
    let p = Math.exp(betaln(a, b + n + s) - lnBab + logNbdPmf(n, r, alpha, t));
    if (n > 0 || s === 1) p += Math.exp(betaln(a + 1, shifted(b, n)) - lnBab) * nbdUpperTail(n, r, alpha, t);
    return Math.min(1, Math.max(0, p));
  }

  /**
   * Unconditional E[X(t)]: the customer survives time 0 with probability 1 (s = 0) or b/(a+b) (s = 1), and then has
   * p ~ Beta(a, b+s), so E[X(t)] = that probability · betaGeoAliveExpectation(a, b+s, r, α, t):
   *   s = 0: (a+b−1)/(a−1) · [1 − (α/(α+t))^r 2F1(r, b; a+b−1; t/(α+t))] (FHL 2005 eq. 7);
   *   s = 1: b/(a−1) · [1 − (α/(α+t))^r 2F1(r, b+1; a+b; t/(α+t))] (Wagner & Hoppe 2008).
   */
  function unconditionalExpectedPurchases(params: P, t: number): number {
    checkParams(model, PARAM_NAMES, params);
    validateHorizon(t);
    const { r, alpha, a, b } = params;
    const survivesStart = s === 0 ? 1 : b / (a + b);
    return survivesStart * betaGeoAliveExpectation(a, b + s, r, alpha, t);
  }

  return {
    pAlive,
    expectedPurchases,
    expectedPurchasesMany,
    expectedPurchasesCombination,
    probNPurchases,
    unconditionalExpectedPurchases,
    conversionProbability,
    expectedWaitToNextPurchase,
    decisiveTime,
    scoreCustomers,
  };
}

/**
 * The registry entry of a beta-geometric model (s = 0: BG/NBD, s = 1: MBG/NBD) from its likelihood: fitted with the
 * exact Hessian from r = 1, α = Σw·T / Σw·x (so that r/α matches the mean purchase rate), a = b = 1; the predictions
 * above; the simulator of beta-geometric.ts, with dropout at time 0 when s = 1.
 */
export function betaGeoModel<P extends BetaGeoParams>(spec: {
  readonly name: 'bg-nbd' | 'mbg-nbd';
  readonly s: 0 | 1;
  readonly paramNames: readonly string[];
  readonly logLik: TransactionLogLik;
}): TransactionModel<P> {
  const { name, s } = spec;
  return transactionModel<P>({
    name,
    paramNames: spec.paramNames,
    logLik: spec.logLik,
    exactHessian: true,
    initial: ({ sumT, sumX }) => Float64Array.of(1, sumT / sumX, 1, 1),
    predictions: betaGeoPredictions<P>(name, s),
    simulate: (params, options) => simulateBetaGeo(params, options, s === 1),
  });
}
