// Fitting for scoring and backtests, in one place: the purchase model (with a penalised retry) and the spend model (with a fallback).
import { KairosError } from '../../errors.js';
import { gammaGamma, getTransactionModel, type FitResult, type GammaGammaParams, type ModelParams, type TransactionModelName, type TransactionSummary } from '../../models/index.js';

/** L2 penalty of the retry when an unpenalised fit fails (the models' own hint: 1e-4 to 1e-3). */
export const RETRY_PENALTY = 1e-3;

export interface TransactionFit {
  readonly fit: FitResult<ModelParams>;
  /** 0 for a plain maximum-likelihood fit, RETRY_PENALTY when the retry was needed. */
  readonly penalty: number;
  /** Why the penalty was needed, for the run's notes; null when it was not. */
  readonly note: string | null;
}

/**
 * Maximum-likelihood fit of a purchase model. When it fails to converge (typically a boundary optimum, e.g. no
 * visible dropout: a -> 0, b -> infinity), it is fitted once more with a small L2 penalty on the log-parameters, and
 * the note says so. Too little data (INSUFFICIENT_DATA) is not retried. Throws the error of the last attempt.
 */
export function fitTransaction(name: TransactionModelName, transactions: TransactionSummary): TransactionFit {
  const model = getTransactionModel(name as string);
  try {
    return { fit: model.fit(transactions), penalty: 0, note: null };
  } catch (err) {
    if (!(err instanceof KairosError) || err.code !== 'CONVERGENCE') throw err;
    const fit = model.fit(transactions, { penalty: RETRY_PENALTY });
    return {
      fit,
      penalty: RETRY_PENALTY,
      note: `${name} has no interior maximum-likelihood optimum on this data (${err.message.split(':')[0]}); fitted with an L2 penalty of ${RETRY_PENALTY} on the log-parameters`,
    };
  }
}

/** Gamma-Gamma's E[Z | x, m] per customer, a negative mean repeat spend (returns) counted as 0: what a run and a rescoring give. */
export function expectedSpend(params: GammaGammaParams, x: Float64Array, m: Float64Array): Float64Array {
  const mPos = new Float64Array(m.length);
  for (let i = 0; i < m.length; i++) {
    const v = m[i] as number;
    mPos[i] = v > 0 ? v : 0;
  }
  return gammaGamma.conditionalExpectedSpend(params, { x, m: mPos });
}

export interface SpendFit {
  /** Expected spend per purchase for every customer. */
  readonly spend: Float64Array;
  readonly fit: FitResult<GammaGammaParams> | null;
  /** Set when the fallback was used. */
  readonly note: string | null;
}

/**
 * Gamma-Gamma on the repeat buyers with a positive mean spend, then E[Z | x, m] for everyone (the population mean for
 * x = 0). When it cannot be fitted (e.g. no repeat buyer with a positive spend), everyone gets the mean repeat order
 * value (0 when there is none), and the note says so.
 */
export function fitSpend(x: Float64Array, m: Float64Array): SpendFit {
  // Typed-array loops: no index list, no per-element callbacks.
  let k = 0;
  for (let i = 0; i < x.length; i++) if ((x[i] as number) > 0 && (m[i] as number) > 0) k++;
  const rx = new Float64Array(k);
  const rm = new Float64Array(k);
  k = 0;
  for (let i = 0; i < x.length; i++) {
    const xi = x[i] as number;
    const mi = m[i] as number;
    if (xi > 0 && mi > 0) {
      rx[k] = xi;
      rm[k++] = mi;
    }
  }
  try {
    const fit = gammaGamma.fit({ x: rx, m: rm });
    return { spend: expectedSpend(fit.params, x, m), fit, note: null };
  } catch (err) {
    const mean = rm.length ? rm.reduce((a, b) => a + b, 0) / rm.length : 0;
    return {
      spend: new Float64Array(x.length).fill(mean),
      fit: null,
      note: `Gamma-Gamma spend model not fitted (${(err as Error).message}); expected order value = mean repeat order value ${mean.toFixed(2)} for everyone`,
    };
  }
}
