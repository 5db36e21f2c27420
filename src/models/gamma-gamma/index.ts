// The Gamma-Gamma spend model (Fader, Hardie & Lee 2005 "RFM and CLV"; Fader & Hardie 2013 note 025) and CLV.
import { WARM_START_ROWS, fitByMaximumLikelihood } from '../mle.js';
import { checkParams, parseParams as parseModelParams } from '../params.js';
import type { FitOptions, FitResult, GammaGammaParams, SpendData } from '../types.js';
import { checkSpend, clv, clvSchedule, CLV_DEFAULTS, type ClvOptions } from './clv.js';
import { gammaGammaLogLik, prepareSpend, subsampleSpend } from './likelihood.js';
import { PARAM_NAMES, conditionalExpectedSpend, populationMeanSpend } from './predict.js';
import { simulate, type SimulatedSpend, type SpendSimulateOptions } from './simulate.js';

export { CLV_DEFAULTS, PARAM_NAMES, checkSpend, clv, clvSchedule, conditionalExpectedSpend, populationMeanSpend, simulate };
export type { ClvOptions, SimulatedSpend, SpendSimulateOptions };

/**
 * Maximum-likelihood fit of (p, q, γ) by note 025 eq. (1a) on customers with x > 0 (others are ignored), from
 * sufficient statistics. Default start: p = 1, q = 2, γ = mean spend (so that pγ/(q−1) is the mean spend).
 * INSUFFICIENT_DATA with fewer than 3 repeat customers or all-zero spend; VALIDATION for m <= 0 with x > 0.
 */
export function fit(data: SpendData, options: FitOptions<GammaGammaParams> = {}): FitResult<GammaGammaParams> {
  const prep = prepareSpend(data);
  const sub = subsampleSpend(prep, WARM_START_ROWS);
  return fitByMaximumLikelihood<GammaGammaParams>(
    {
      model: 'gamma-gamma',
      paramNames: PARAM_NAMES,
      logLik: (p, g) => gammaGammaLogLik(prep, p, g),
      logLikHessian: (p, g, h) => gammaGammaLogLik(prep, p, g, h),
      totalWeight: prep.totalWeight,
      warmStart: sub === null ? undefined : { logLik: (p, g) => gammaGammaLogLik(sub, p, g), totalWeight: sub.totalWeight },
      initial: Float64Array.of(1, 2, prep.meanM),
    },
    options,
  );
}

/** Total log-likelihood Σ w ln f(m | p, q, γ, x) over customers with x > 0 (note 025 eq. 1a). */
export function logLikelihood(params: GammaGammaParams, data: SpendData): number {
  checkParams('gamma-gamma', PARAM_NAMES, params);
  return gammaGammaLogLik(prepareSpend(data), Float64Array.of(params.p, params.q, params.gamma), null);
}

/** Checks an unknown value is a Gamma-Gamma parameter record. */
export function parseParams(value: unknown): GammaGammaParams {
  return parseModelParams<GammaGammaParams>('gamma-gamma', PARAM_NAMES, value);
}
