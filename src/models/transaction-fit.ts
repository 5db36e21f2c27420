// A transaction model's registry entry from its likelihood, predictions and simulator: fitting (data preparation,
// warm start), the total log-likelihood, parameter checks and parsing are the same for all three models.
import { WARM_START_ROWS, fitByMaximumLikelihood } from './mle.js';
import { checkParams, parseParams } from './params.js';
import {
  checkEnoughToFit,
  prepareTransactionSummary,
  subsampleTransactionSummary,
  type PreparedTransactionSummary,
} from './transaction-summary.js';
import type {
  FitOptions,
  FitResult,
  ModelParams,
  SimulateOptions,
  TransactionModel,
  TransactionModelName,
  TransactionSummary,
} from './types.js';

/** ℓ of prepared data at natural-scale params, with its gradient (and Hessian when `hess` is given and supported). */
export type TransactionLogLik = (
  prep: PreparedTransactionSummary,
  params: Float64Array,
  grad: Float64Array | null,
  hess?: Float64Array,
) => number;

/** The predictions a model brings to its registry entry: every per-customer and unconditional one of TransactionModel. */
export type TransactionPredictions<P extends ModelParams> = Pick<
  TransactionModel<P>,
  | 'pAlive'
  | 'expectedPurchases'
  | 'expectedPurchasesMany'
  | 'expectedPurchasesCombination'
  | 'probNPurchases'
  | 'unconditionalExpectedPurchases'
  | 'conversionProbability'
  | 'expectedWaitToNextPurchase'
  | 'decisiveTime'
  | 'scoreCustomers'
>;

/** What a transaction model declares: its name and parameters, likelihood, starting values, predictions, simulator. */
export interface TransactionModelSpec<P extends ModelParams> {
  readonly name: TransactionModelName;
  /** Parameter names in the paper's order, which is also the order of the likelihood's parameter vector. */
  readonly paramNames: readonly string[];
  readonly logLik: TransactionLogLik;
  /** Whether logLik computes the exact Hessian (then the fit takes Newton steps with it, mle.ts). */
  readonly exactHessian: boolean;
  /** Starting values, from the weighted sums Σw·T and Σw·x of the prepared data (and its total weight). */
  readonly initial: (sums: { sumT: number; sumX: number; totalWeight: number }) => Float64Array;
  readonly predictions: TransactionPredictions<P>;
  /** Seeded calibration summaries drawn from the model's story (the parameters are checked before the call). */
  readonly simulate: (params: P, options: SimulateOptions) => TransactionSummary;
}

/**
 * The registry entry of a transaction model: its predictions as given, and a maximum-likelihood fit, the total
 * log-likelihood, a checked simulator and a parameter parser built from the spec.
 */
export function transactionModel<P extends ModelParams>(spec: TransactionModelSpec<P>): TransactionModel<P> {
  const { name, paramNames, predictions } = spec;
  return {
    name,
    paramNames,
    fit: (data, options = {}) => fitTransactionModel<P>(spec, data, options),
    logLikelihood: (params, data) => transactionLogLikelihood(spec, params, data),
    pAlive: predictions.pAlive,
    expectedPurchases: predictions.expectedPurchases,
    expectedPurchasesMany: predictions.expectedPurchasesMany,
    expectedPurchasesCombination: predictions.expectedPurchasesCombination,
    probNPurchases: predictions.probNPurchases,
    unconditionalExpectedPurchases: predictions.unconditionalExpectedPurchases,
    conversionProbability: predictions.conversionProbability,
    expectedWaitToNextPurchase: predictions.expectedWaitToNextPurchase,
    decisiveTime: predictions.decisiveTime,
    scoreCustomers: predictions.scoreCustomers,
    simulate: (params, options) => {
      checkParams(name, paramNames, params);
      return spec.simulate(params, options);
    },
    parseParams: (value) => parseParams<P>(name, paramNames, value),
  };
}

/** Groups identical rows, checks there is enough data, fits (with a subsample warm start on large data). */
function fitTransactionModel<P extends ModelParams>(
  spec: TransactionModelSpec<P>,
  data: TransactionSummary,
  options: FitOptions<P>,
): FitResult<P> {
  const prep = prepareTransactionSummary(data);
  checkEnoughToFit(prep, spec.name);
  const sub = subsampleTransactionSummary(prep, WARM_START_ROWS);
  let sumT = 0;
  let sumX = 0;
  for (let i = 0; i < prep.n; i++) {
    sumT += (prep.w[i] as number) * (prep.T[i] as number);
    sumX += (prep.w[i] as number) * (prep.x[i] as number);
  }
  const { logLik } = spec;
  return fitByMaximumLikelihood<P>(
    {
      model: spec.name,
      paramNames: spec.paramNames,
      logLik: (p, g) => logLik(prep, p, g),
      logLikHessian: spec.exactHessian ? (p, g, h) => logLik(prep, p, g, h) : undefined,
      totalWeight: prep.totalWeight,
      warmStart: sub === null ? undefined : { logLik: (p, g) => logLik(sub, p, g), totalWeight: sub.totalWeight },
      initial: spec.initial({ sumT, sumX, totalWeight: prep.totalWeight }),
    },
    options,
  );
}

/** Total log-likelihood Σ w ln L of the data under params. */
function transactionLogLikelihood<P extends ModelParams>(spec: TransactionModelSpec<P>, params: P, data: TransactionSummary): number {
  checkParams(spec.name, spec.paramNames, params);
  const prep = prepareTransactionSummary(data);
  return spec.logLik(prep, Float64Array.from(spec.paramNames, (name) => params[name] as number), null);
}
