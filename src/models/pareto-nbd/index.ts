// The Pareto/NBD model (Schmittlein, Morrison & Colombo 1987; Fader & Hardie 2005 note 009): fit, predictions, simulator.
import { transactionModel } from '../transaction-fit.js';
import type { ParetoNbdParams } from '../types.js';
import { paretoNbdLogLik } from './likelihood.js';
import * as predictions from './predict.js';
import { simulate } from './simulate.js';

export { PARAM_NAMES } from './predict.js';

/**
 * Pareto/NBD as a registry entry. Each customer buys at rate λ ~ Gamma(r, α) while alive and lives for an
 * Exponential(μ) time, μ ~ Gamma(s, β) (simulate.ts).
 * - fit: maximum likelihood by note 009 eq. (18) (likelihood.ts), in log-parameter space with the analytic gradient
 *   (the Hessian by central differences of it), from r = 1, α = Σw·T / Σw·x, s = 1, β = mean T;
 * - predictions (predict.ts): P(alive) (note 009 eqs. 36–37), E[Y(t) | x, t_x, T] (eq. 41), E[X(t)] (eq. 27),
 *   P(X(t) = n) (note 012), conversion, wait and decisive moment.
 */
export const paretoNbd = transactionModel<ParetoNbdParams>({
  name: 'pareto-nbd',
  paramNames: predictions.PARAM_NAMES,
  logLik: paretoNbdLogLik,
  exactHessian: false,
  initial: ({ sumT, sumX, totalWeight }) => Float64Array.of(1, sumT / sumX, 1, sumT / totalWeight),
  predictions,
  simulate,
});
