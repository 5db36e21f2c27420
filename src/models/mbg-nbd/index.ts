// The MBG/NBD model (Batislam, Denizel & Filiztekin 2007): fit, predictions, simulator.
import { parseParams as parseModelParams } from '../params.js';
import { fitTransactionModel, transactionLogLikelihood, type TransactionModelSpec } from '../transaction-fit.js';
import type { FitOptions, FitResult, MbgNbdParams, TransactionModel, TransactionSummary } from '../types.js';
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

export * from './predict.js';
export { simulate };

/** What fitTransactionModel needs of this model: its likelihood (with the exact Hessian) and starting values. */
const SPEC: TransactionModelSpec = {
  model: 'mbg-nbd',
  paramNames: PARAM_NAMES,
  logLik: mbgNbdLogLik,
  exactHessian: true,
  initial: ({ sumT, sumX }) => Float64Array.of(1, sumT / sumX, 1, 1),
};

/**
 * Maximum-likelihood fit of (r, α, a, b) by the likelihood of Batislam et al. (2007, appendix A), in log-parameter
 * space with the analytic gradient.
 * Default start: r = 1, α = Σw·T / Σw·x (so that r/α matches the mean purchase rate), a = b = 1.
 */
export function fit(data: TransactionSummary, options: FitOptions<MbgNbdParams> = {}): FitResult<MbgNbdParams> {
  return fitTransactionModel<MbgNbdParams>(SPEC, data, options);
}

/** Total log-likelihood Σ w ln L (Batislam et al. 2007, appendix A) of the data under params. */
export function logLikelihood(params: MbgNbdParams, data: TransactionSummary): number {
  return transactionLogLikelihood(SPEC, params, data);
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
