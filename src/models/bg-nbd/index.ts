// The BG/NBD model (Fader, Hardie & Lee 2005, "Counting your customers the easy way"): fit, predictions, simulator.
import { WARM_START_ROWS, fitByMaximumLikelihood } from '../mle.js';
import { parseParams as parseModelParams } from '../params.js';
import { checkEnoughRfm, prepareRfm, subsampleRfm } from '../rfm.js';
import type { BgNbdParams, FitOptions, FitResult, RfmData, TransactionModel } from '../types.js';
import { bgNbdLogLik } from './likelihood.js';
import {
  PARAM_NAMES,
  conversionProbability,
  decisiveTime,
  expectedPurchases,
  expectedPurchasesCombination,
  expectedPurchasesMany,
  expectedWaitToNextPurchase,
  pAlive,
  probNPurchases,
  scoreCustomers,
  unconditionalExpectedPurchases,
} from './predict.js';
import { simulate } from './simulate.js';
import { checkParams } from '../params.js';

export {
  PARAM_NAMES,
  conversionProbability,
  decisiveTime,
  expectedPurchases,
  expectedPurchasesCombination,
  expectedPurchasesMany,
  expectedWaitToNextPurchase,
  pAlive,
  probNPurchases,
  scoreCustomers,
  simulate,
  unconditionalExpectedPurchases,
};

/**
 * Maximum-likelihood fit of (r, α, a, b) by FHL 2005 eq. (6), in log-parameter space with the analytic gradient.
 * Default start: r = 1, α = Σw·T / Σw·x (so that r/α matches the mean purchase rate), a = b = 1.
 */
export function fit(data: RfmData, options: FitOptions<BgNbdParams> = {}): FitResult<BgNbdParams> {
  const prep = prepareRfm(data);
  checkEnoughRfm(prep, 'bg-nbd');
  const sub = subsampleRfm(prep, WARM_START_ROWS);
  let sumT = 0;
  let sumX = 0;
  for (let i = 0; i < prep.n; i++) {
    sumT += (prep.w[i] as number) * (prep.T[i] as number);
    sumX += (prep.w[i] as number) * (prep.x[i] as number);
  }
  return fitByMaximumLikelihood<BgNbdParams>(
    {
      model: 'bg-nbd',
      paramNames: PARAM_NAMES,
      logLik: (p, g) => bgNbdLogLik(prep, p, g),
      logLikHessian: (p, g, h) => bgNbdLogLik(prep, p, g, h),
      totalWeight: prep.totalWeight,
      warmStart: sub === null ? undefined : { logLik: (p, g) => bgNbdLogLik(sub, p, g), totalWeight: sub.totalWeight },
      initial: Float64Array.of(1, sumT / sumX, 1, 1),
    },
    options,
  );
}

/** Total log-likelihood Σ w ln L (FHL 2005 eq. 6) of the data under params. */
export function logLikelihood(params: BgNbdParams, data: RfmData): number {
  checkParams('bg-nbd', PARAM_NAMES, params);
  const prep = prepareRfm(data);
  return bgNbdLogLik(prep, Float64Array.of(params.r, params.alpha, params.a, params.b), null);
}

/** Checks an unknown value is a BG/NBD parameter record. */
export function parseParams(value: unknown): BgNbdParams {
  return parseModelParams<BgNbdParams>('bg-nbd', PARAM_NAMES, value);
}

/** BG/NBD as a registry entry. */
export const bgNbd: TransactionModel<BgNbdParams> = {
  name: 'bg-nbd',
  paramNames: PARAM_NAMES,
  fit,
  logLikelihood,
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
  simulate,
  parseParams,
};
