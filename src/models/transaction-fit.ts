// Maximum-likelihood fitting and the total log-likelihood of the three transaction models, in one place: each model
// brings its likelihood and its starting values, the data preparation and the warm start are the same for all.
import { WARM_START_ROWS, fitByMaximumLikelihood } from './mle.js';
import { checkParams } from './params.js';
import {
  checkEnoughToFit,
  prepareTransactionSummary,
  subsampleTransactionSummary,
  type PreparedTransactionSummary,
} from './transaction-summary.js';
import type { FitOptions, FitResult, ModelParams, TransactionModelName, TransactionSummary } from './types.js';

/** ℓ of prepared data at natural-scale params, with its gradient (and Hessian when `hess` is given and supported). */
export type TransactionLogLik = (prep: PreparedTransactionSummary, params: Float64Array, grad: Float64Array | null, hess?: Float64Array) => number;

export interface TransactionModelSpec {
  readonly model: TransactionModelName;
  readonly paramNames: readonly string[];
  readonly logLik: TransactionLogLik;
  /** Whether logLik computes the exact Hessian (then the fit takes Newton steps with it, mle.ts). */
  readonly exactHessian: boolean;
  /** Starting values, from the weighted sums Σw·T and Σw·x of the prepared data (and its total weight). */
  readonly initial: (sums: { sumT: number; sumX: number; totalWeight: number }) => Float64Array;
}

/** Groups identical rows, checks there is enough data, fits (with a subsample warm start on large data). */
export function fitTransactionModel<P extends ModelParams>(spec: TransactionModelSpec, data: TransactionSummary, options: FitOptions<P>): FitResult<P> {
  const prep = prepareTransactionSummary(data);
  checkEnoughToFit(prep, spec.model);
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
      model: spec.model,
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
export function transactionLogLikelihood(spec: TransactionModelSpec, params: ModelParams, data: TransactionSummary): number {
  checkParams(spec.model, spec.paramNames, params);
  const prep = prepareTransactionSummary(data);
  return spec.logLik(prep, Float64Array.from(spec.paramNames, (name) => params[name] as number), null);
}
