// The Pareto/NBD model (Schmittlein, Morrison & Colombo 1987; Fader & Hardie 2005 note 009): fit, predictions, simulator.
import { parseParams as parseModelParams } from '../params.js';
import { fitTransactionModel, transactionLogLikelihood, type TransactionModelSpec } from '../transaction-fit.js';
import type { FitOptions, FitResult, ParetoNbdParams, TransactionModel, TransactionSummary } from '../types.js';
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

export * from './predict.js';
export { simulate };

/** What fitTransactionModel needs of this model: its likelihood and starting values. */
const SPEC: TransactionModelSpec = {
  model: 'pareto-nbd',
  paramNames: PARAM_NAMES,
  logLik: paretoNbdLogLik,
  exactHessian: false,
  initial: ({ sumT, sumX, totalWeight }) => Float64Array.of(1, sumT / sumX, 1, sumT / totalWeight),
};

/**
 * Maximum-likelihood fit of (r, α, s, β) by note 009 eq. (18), in log-parameter space with the analytic gradient.
 * Default start: r = 1, α = Σw·T / Σw·x, s = 1, β = mean T.
 */
export function fit(data: TransactionSummary, options: FitOptions<ParetoNbdParams> = {}): FitResult<ParetoNbdParams> {
  return fitTransactionModel<ParetoNbdParams>(SPEC, data, options);
}

/** Total log-likelihood Σ w ln L (note 009 eq. 18) of the data under params. */
export function logLikelihood(params: ParetoNbdParams, data: TransactionSummary): number {
  return transactionLogLikelihood(SPEC, params, data);
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
