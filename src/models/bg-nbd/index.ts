// The BG/NBD model (Fader, Hardie & Lee 2005, "Counting your customers the easy way"): fit, predictions, simulator.
import { betaGeoModel } from '../beta-geometric-predict.js';
import type { BgNbdParams } from '../types.js';
import { bgNbdLogLik } from './likelihood.js';

export const PARAM_NAMES = ['r', 'alpha', 'a', 'b'] as const;

/**
 * BG/NBD as a registry entry. Each customer buys as a Poisson process with rate λ ~ Gamma(r, α) and drops out with
 * probability p ~ Beta(a, b) after each repeat purchase (section 3). From the likelihood to the predictions:
 * - likelihood: eq. (6), with its gradient and exact Hessian (likelihood.ts, beta-geometric-likelihood.ts);
 * - fit, start values, simulator: beta-geometric-predict.ts (betaGeoModel) and transaction-fit.ts;
 * - predictions: the beta-geometric formulas with s = 0, no dropout before the first repeat purchase
 *   (beta-geometric-predict.ts): P(alive) (FHL 2008 note 021), E[Y(t) | x, t_x, T] (eq. 10), P(X(t) = n) (eq. 8),
 *   E[X(t)] (eq. 7), conversion, wait and decisive moment.
 */
export const bgNbd = betaGeoModel<BgNbdParams>({ name: 'bg-nbd', s: 0, paramNames: PARAM_NAMES, logLik: bgNbdLogLik });
