// Maximum-likelihood fitting and the total log-likelihood of the three transaction models, in one place: each model
// brings its likelihood and its starting values, the data preparation and the warm start are the same for all.
import { WARM_START_ROWS, fitByMaximumLikelihood } from './mle.js';
import { checkParams } from './params.js';
import { checkEnoughRfm, prepareRfm, subsampleRfm, type PreparedRfm } from './rfm.js';
import type { FitOptions, FitResult, RfmData, TransactionModelName } from './types.js';

type RfmParams = Readonly<Record<string, number>>;

/** ℓ of prepared data at natural-scale params, with its gradient (and Hessian when `hess` is given and supported). */
export type RfmLogLik = (prep: PreparedRfm, params: Float64Array, grad: Float64Array | null, hess?: Float64Array) => number;

export interface RfmModelSpec {
  readonly model: TransactionModelName;
  readonly paramNames: readonly string[];
  readonly logLik: RfmLogLik;
  /** Whether logLik computes the exact Hessian (then the fit takes Newton steps with it, mle.ts). */
  readonly exactHessian: boolean;
  /** Starting values, from the weighted sums Σw·T and Σw·x of the prepared data (and its total weight). */
  readonly initial: (sums: { sumT: number; sumX: number; totalWeight: number }) => Float64Array;
}

/** Groups identical rows, checks there is enough data, fits (with a subsample warm start on large data). */
export function fitRfmModel<P extends RfmParams>(spec: RfmModelSpec, data: RfmData, options: FitOptions<P>): FitResult<P> {
  const prep = prepareRfm(data);
  checkEnoughRfm(prep, spec.model);
  const sub = subsampleRfm(prep, WARM_START_ROWS);
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
export function rfmLogLikelihood(spec: RfmModelSpec, params: RfmParams, data: RfmData): number {
  checkParams(spec.model, spec.paramNames, params);
  const prep = prepareRfm(data);
  return spec.logLik(prep, Float64Array.from(spec.paramNames, (name) => params[name] as number), null);
}
