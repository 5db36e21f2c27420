// The Pareto/NBD model (Schmittlein, Morrison & Colombo 1987; Fader & Hardie 2005 note 009): fit, predictions, simulator.
import { WARM_START_ROWS, fitByMaximumLikelihood } from '../mle.js';
import { checkParams, parseParams as parseModelParams } from '../params.js';
import { checkEnoughRfm, prepareRfm, subsampleRfm } from '../rfm.js';
import type { FitOptions, FitResult, ParetoNbdParams, RfmData, TransactionModel } from '../types.js';
import { paretoNbdLogLik } from './likelihood.js';
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
 * Maximum-likelihood fit of (r, α, s, β) by note 009 eq. (18), in log-parameter space with the analytic gradient.
 * Default start: r = 1, α = Σw·T / Σw·x, s = 1, β = mean T.
 */
export function fit(data: RfmData, options: FitOptions<ParetoNbdParams> = {}): FitResult<ParetoNbdParams> {
  const prep = prepareRfm(data);
  checkEnoughRfm(prep, 'pareto-nbd');
  const sub = subsampleRfm(prep, WARM_START_ROWS);
  let sumT = 0;
  let sumX = 0;
  for (let i = 0; i < prep.n; i++) {
    sumT += (prep.w[i] as number) * (prep.T[i] as number);
    sumX += (prep.w[i] as number) * (prep.x[i] as number);
  }
  return fitByMaximumLikelihood<ParetoNbdParams>(
    {
      model: 'pareto-nbd',
      paramNames: PARAM_NAMES,
      logLik: (p, g) => paretoNbdLogLik(prep, p, g),
      totalWeight: prep.totalWeight,
      warmStart: sub === null ? undefined : { logLik: (p, g) => paretoNbdLogLik(sub, p, g), totalWeight: sub.totalWeight },
      initial: Float64Array.of(1, sumT / sumX, 1, sumT / prep.totalWeight),
    },
    options,
  );
}

/** Total log-likelihood Σ w ln L (note 009 eq. 18) of the data under params. */
export function logLikelihood(params: ParetoNbdParams, data: RfmData): number {
  checkParams('pareto-nbd', PARAM_NAMES, params);
  const prep = prepareRfm(data);
  return paretoNbdLogLik(prep, Float64Array.of(params.r, params.alpha, params.s, params.beta), null);
}

/** Checks an unknown value is a Pareto/NBD parameter record. */
export function parseParams(value: unknown): ParetoNbdParams {
  return parseModelParams<ParetoNbdParams>('pareto-nbd', PARAM_NAMES, value);
}

/** Pareto/NBD as a registry entry. */
export const paretoNbd: TransactionModel<ParetoNbdParams> = {
  name: 'pareto-nbd',
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
