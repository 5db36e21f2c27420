// Beta-binomial empirical Bayes: the population Beta(α, β) of a per-customer rate fitted on (successes k, trials n), and each customer's posterior mean.
import { KairosError } from '../errors.js';
import { numericalHessian, standardErrorsFromHessian } from '../math/hessian.js';
import { minimizeLbfgs } from '../math/lbfgs.js';
import { betaln, digamma } from '../math/special.js';

/** The prior of the rates: θ_i ~ Beta(alpha, beta). */
export type BetaBinomialParams = Readonly<{ alpha: number; beta: number }>;

/** Hyper-parameters of the fit (never learned), in one place. */
export const BETA_BINOMIAL_DEFAULTS = Object.freeze({
  maxIterations: 200,
  tolerance: 1e-7,
  /**
   * α + β beyond this is "no spread between customers" (the MLE runs to infinity): the fit falls back to the method of
   * moments capped here, a prior worth this many trials.
   */
  maxPrecision: 1e4,
  /** Prior strength (α + β) when nothing identifies it (no customer with two trials or more): a weak prior. */
  weakPrecision: 2,
});

/** Customers' successes and trials; k may be fractional (a value-weighted share times the trials), 0 ≤ k ≤ n, n > 0. */
export interface BetaBinomialData {
  readonly k: ArrayLike<number>;
  readonly n: ArrayLike<number>;
}

export interface BetaBinomialFit {
  readonly params: BetaBinomialParams;
  readonly diagnostics: {
    /** 'mle': maximum likelihood; 'moments': the method of moments (fallback, `message` says why). */
    readonly method: 'mle' | 'moments';
    /** Σ_i [ln B(k_i + α, n_i − k_i + β) − ln B(α, β)] at the estimate (the binomial coefficients left out). */
    readonly logLik: number;
    readonly converged: boolean;
    readonly iterations: number;
    readonly gradNorm: number;
    /** Delta-method standard errors of α and β (null when the Hessian is not positive definite or the fit is by moments). */
    readonly standardErrors: { readonly alpha: number; readonly beta: number } | null;
    readonly nObs: number;
    /** Pooled rate Σk / Σn. */
    readonly pooledRate: number;
    readonly message: string;
  };
}

/** Groups equal (k, n) pairs: the likelihood is a sum over a few thousand distinct pairs, not over every customer. */
function grouped(data: BetaBinomialData): { k: Float64Array; n: Float64Array; w: Float64Array; total: number; sumK: number; sumN: number } {
  const len = data.k.length;
  if (data.n.length !== len) throw new KairosError('INTERNAL', `beta-binomial: ${len} successes but ${data.n.length} trial counts`);
  const index = new Map<string, number>();
  const k: number[] = [];
  const n: number[] = [];
  const w: number[] = [];
  let sumK = 0;
  let sumN = 0;
  for (let i = 0; i < len; i++) {
    const ki = data.k[i] as number;
    const ni = data.n[i] as number;
    if (!(ni > 0) || !(ki >= 0) || !(ki <= ni) || !Number.isFinite(ni)) {
      throw new KairosError('INTERNAL', `beta-binomial: row ${i} has k = ${ki}, n = ${ni} (need 0 <= k <= n, n > 0)`);
    }
    sumK += ki;
    sumN += ni;
    const key = `${ki}/${ni}`;
    const at = index.get(key);
    if (at === undefined) {
      index.set(key, k.length);
      k.push(ki);
      n.push(ni);
      w.push(1);
    } else w[at] = (w[at] as number) + 1;
  }
  return { k: Float64Array.from(k), n: Float64Array.from(n), w: Float64Array.from(w), total: len, sumK, sumN };
}

/**
 * Method-of-moments estimate (Kleinman 1973): the pooled rate p, and the intra-customer correlation ρ = 1 / (α + β + 1)
 * from the spread of the customers' rates k/n beyond what binomial noise gives, (S − p(1 − p) E[1/n]) / (p(1 − p)(1 − E[1/n])),
 * S the variance of k/n. ρ ≤ 0 (no spread beyond noise) gives the precision cap; no customer with n ≥ 2 gives the weak prior.
 */
export function betaBinomialMoments(data: BetaBinomialData): { params: BetaBinomialParams; precision: 'estimated' | 'capped' | 'weak' } {
  const g = grouped(data);
  const p = g.sumN > 0 ? g.sumK / g.sumN : 0;
  const clampedP = Math.min(1 - 1e-6, Math.max(1e-6, p));
  let mean = 0;
  let invN = 0;
  let multi = 0;
  for (let j = 0; j < g.k.length; j++) {
    const w = g.w[j] as number;
    mean += (w * (g.k[j] as number)) / (g.n[j] as number);
    invN += w / (g.n[j] as number);
    if ((g.n[j] as number) >= 2) multi += w;
  }
  mean /= g.total;
  invN /= g.total;
  let s = 0;
  for (let j = 0; j < g.k.length; j++) s += (g.w[j] as number) * ((g.k[j] as number) / (g.n[j] as number) - mean) ** 2;
  s /= g.total;
  const base = clampedP * (1 - clampedP);
  const d = BETA_BINOMIAL_DEFAULTS;
  let precision: number;
  let how: 'estimated' | 'capped' | 'weak';
  if (multi === 0) {
    precision = d.weakPrecision;
    how = 'weak';
  } else {
    const rho = (s - base * invN) / (base * (1 - invN));
    precision = rho > 0 ? Math.min(d.maxPrecision, 1 / rho - 1) : d.maxPrecision;
    how = rho > 0 && 1 / rho - 1 < d.maxPrecision ? 'estimated' : 'capped';
    if (precision <= 0) precision = d.weakPrecision; // ρ ≥ 1 cannot happen with n ≥ 1; kept finite all the same
  }
  return { params: { alpha: clampedP * precision, beta: (1 - clampedP) * precision }, precision: how };
}

/**
 * Fits the population Beta(α, β) of a rate by maximum likelihood of the beta-binomial (Skellam 1948; Griffiths 1973):
 * ℓ(α, β) = Σ_i [ln B(k_i + α, n_i − k_i + β) − ln B(α, β)], with
 * ∂ℓ/∂α = Σ_i [ψ(k_i + α) − ψ(n_i + α + β) − ψ(α) + ψ(α + β)] and ∂ℓ/∂β alike with n_i − k_i, in log-parameters by
 * L-BFGS from the moments estimate. Fractional k (a share of spend times the trials) keeps the same formula, a
 * quasi-likelihood. Falls back to the moments estimate, saying why, when the MLE runs to the boundary (α + β beyond
 * BETA_BINOMIAL_DEFAULTS.maxPrecision: no spread between customers beyond chance), does not converge, or when no
 * customer has two trials (nothing identifies α + β).
 */
export function fitBetaBinomial(data: BetaBinomialData): BetaBinomialFit {
  const g = grouped(data);
  if (g.total === 0) throw new KairosError('INSUFFICIENT_DATA', 'beta-binomial: no customer to fit the prior on');
  const pooledRate = g.sumK / g.sumN;
  const moments = betaBinomialMoments(data);
  const logLikAt = (alpha: number, beta: number): number => {
    let ll = 0;
    const lb = betaln(alpha, beta);
    for (let j = 0; j < g.k.length; j++) {
      const k = g.k[j] as number;
      ll += (g.w[j] as number) * (betaln(k + alpha, (g.n[j] as number) - k + beta) - lb);
    }
    return ll;
  };
  const fallback = (message: string, iterations = 0, gradNorm = Number.NaN): BetaBinomialFit => ({
    params: moments.params,
    diagnostics: {
      method: 'moments',
      logLik: logLikAt(moments.params.alpha, moments.params.beta),
      converged: false,
      iterations,
      gradNorm: Number.isFinite(gradNorm) ? gradNorm : 0,
      standardErrors: null,
      nObs: g.total,
      pooledRate,
      message,
    },
  });
  if (moments.precision === 'weak') return fallback(`no customer with two trials or more: the prior's strength is not identified, set to ${BETA_BINOMIAL_DEFAULTS.weakPrecision} trials around the pooled rate`);
  if (g.sumK === 0 || g.sumK === g.sumN) return fallback(`every trial is a ${g.sumK === 0 ? 'failure' : 'success'}: the prior is the moments estimate`);

  // Mean negative log-likelihood in θ = (ln α, ln β) and its gradient.
  const gradient = (theta: Float64Array, out: Float64Array): number => {
    const a = Math.exp(theta[0] as number);
    const b = Math.exp(theta[1] as number);
    if (!Number.isFinite(a) || !Number.isFinite(b) || a <= 0 || b <= 0) {
      out.fill(Number.NaN);
      return Infinity;
    }
    const common = digamma(a + b) - digamma(a);
    const commonB = digamma(a + b) - digamma(b);
    const lb = betaln(a, b);
    let ll = 0;
    let ga = 0;
    let gb = 0;
    for (let j = 0; j < g.k.length; j++) {
      const w = g.w[j] as number;
      const k = g.k[j] as number;
      const n = g.n[j] as number;
      ll += w * (betaln(k + a, n - k + b) - lb);
      const tail = digamma(n + a + b);
      ga += w * (digamma(k + a) - tail + common);
      gb += w * (digamma(n - k + b) - tail + commonB);
    }
    out[0] = (-ga * a) / g.total;
    out[1] = (-gb * b) / g.total;
    return -ll / g.total;
  };
  const d = BETA_BINOMIAL_DEFAULTS;
  const x0 = Float64Array.from([Math.log(moments.params.alpha), Math.log(moments.params.beta)]);
  const result = minimizeLbfgs(gradient, x0, { maxIterations: d.maxIterations, gradientTolerance: d.tolerance });
  const alpha = Math.exp(result.x[0] as number);
  const beta = Math.exp(result.x[1] as number);
  if (!(alpha + beta <= d.maxPrecision) || !Number.isFinite(alpha) || !Number.isFinite(beta)) {
    return fallback(
      `the maximum-likelihood prior runs to the boundary (α + β = ${(alpha + beta).toPrecision(3)}: customers' rates spread no more than chance): the moments estimate, capped at ${d.maxPrecision} trials, is used`,
      result.iterations,
      result.gradNorm,
    );
  }
  if (!result.converged) return fallback(`the maximum-likelihood fit did not converge (${result.message}): the moments estimate is used`, result.iterations, result.gradNorm);
  const grad = (x: Float64Array, out: Float64Array): void => {
    gradient(x, out);
  };
  const hessian = numericalHessian(grad, result.x);
  for (let i = 0; i < hessian.length; i++) hessian[i] = (hessian[i] as number) * g.total;
  const se = standardErrorsFromHessian(hessian, 2);
  return {
    params: { alpha, beta },
    diagnostics: {
      method: 'mle',
      logLik: -result.f * g.total,
      converged: true,
      iterations: result.iterations,
      gradNorm: result.gradNorm,
      standardErrors: se === null ? null : { alpha: alpha * (se[0] as number), beta: beta * (se[1] as number) },
      nObs: g.total,
      pooledRate,
      message: 'converged',
    },
  };
}

/** Posterior mean of a customer's rate, E[θ | k, n] = (α + k) / (α + β + n): the raw share shrunk towards the population. */
export function posteriorMean(params: BetaBinomialParams, k: number, n: number): number {
  return (params.alpha + k) / (params.alpha + params.beta + n);
}
