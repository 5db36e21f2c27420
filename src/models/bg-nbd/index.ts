// The BG/NBD model (Fader, Hardie & Lee 2005, "Counting your customers the easy way"): fit, predictions, simulator.
import { parseParams as parseModelParams } from '../params.js';
import { fitTransactionModel, transactionLogLikelihood, type TransactionModelSpec } from '../transaction-fit.js';
import type { BgNbdParams, FitOptions, FitResult, TransactionModel, TransactionSummary } from '../types.js';
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

export * from './predict.js';
export { simulate };

/** What fitTransactionModel needs of this model: its likelihood (with the exact Hessian) and starting values. */
const SPEC: TransactionModelSpec = {
  model: 'bg-nbd',
  paramNames: PARAM_NAMES,
  logLik: bgNbdLogLik,
  exactHessian: true,
  initial: ({ sumT, sumX }) => Float64Array.of(1, sumT / sumX, 1, 1),
};

/**
 * Maximum-likelihood fit of (r, α, a, b) by FHL 2005 eq. (6), in log-parameter space with the analytic gradient.
 * Default start: r = 1, α = Σw·T / Σw·x (so that r/α matches the mean purchase rate), a = b = 1.
 */
export function fit(data: TransactionSummary, options: FitOptions<BgNbdParams> = {}): FitResult<BgNbdParams> {
  return fitTransactionModel<BgNbdParams>(SPEC, data, options);
}

/** Total log-likelihood Σ w ln L (FHL 2005 eq. 6) of the data under params. */
export function logLikelihood(params: BgNbdParams, data: TransactionSummary): number {
  return transactionLogLikelihood(SPEC, params, data);
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
