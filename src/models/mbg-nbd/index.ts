// The MBG/NBD model (Batislam, Denizel & Filiztekin 2007): fit, predictions, simulator.
import { WARM_START_ROWS, fitByMaximumLikelihood } from '../mle.js';
import { parseParams as parseModelParams } from '../params.js';
import { checkEnoughRfm, prepareRfm, subsampleRfm } from '../rfm.js';
import type { MbgNbdParams, FitOptions, FitResult, RfmData, TransactionModel } from '../types.js';
import { mbgNbdLogLik } from './likelihood.js';
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
 * Maximum-likelihood fit of (r, α, a, b) by the likelihood of Batislam et al. (2007, appendix A), in log-parameter
 * space with the analytic gradient.
 * Default start: r = 1, α = Σw·T / Σw·x (so that r/α matches the mean purchase rate), a = b = 1.
 */
export function fit(data: RfmData, options: FitOptions<MbgNbdParams> = {}): FitResult<MbgNbdParams> {
  const prep = prepareRfm(data);
  checkEnoughRfm(prep, 'mbg-nbd');
  const sub = subsampleRfm(prep, WARM_START_ROWS);
  let sumT = 0;
  let sumX = 0;
  for (let i = 0; i < prep.n; i++) {
    sumT += (prep.w[i] as number) * (prep.T[i] as number);
    sumX += (prep.w[i] as number) * (prep.x[i] as number);
  }
  return fitByMaximumLikelihood<MbgNbdParams>(
    {
      model: 'mbg-nbd',
      paramNames: PARAM_NAMES,
      logLik: (p, g) => mbgNbdLogLik(prep, p, g),
      logLikHessian: (p, g, h) => mbgNbdLogLik(prep, p, g, h),
      totalWeight: prep.totalWeight,
      warmStart: sub === null ? undefined : { logLik: (p, g) => mbgNbdLogLik(sub, p, g), totalWeight: sub.totalWeight },
      initial: Float64Array.of(1, sumT / sumX, 1, 1),
    },
    options,
  );
}

/** Total log-likelihood Σ w ln L (Batislam et al. 2007, appendix A) of the data under params. */
export function logLikelihood(params: MbgNbdParams, data: RfmData): number {
  checkParams('mbg-nbd', PARAM_NAMES, params);
  const prep = prepareRfm(data);
  return mbgNbdLogLik(prep, Float64Array.of(params.r, params.alpha, params.a, params.b), null);
}

/** Checks an unknown value is an MBG/NBD parameter record. */
export function parseParams(value: unknown): MbgNbdParams {
  return parseModelParams<MbgNbdParams>('mbg-nbd', PARAM_NAMES, value);
}

/** MBG/NBD as a registry entry. */
export const mbgNbd: TransactionModel<MbgNbdParams> = {
  name: 'mbg-nbd',
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
