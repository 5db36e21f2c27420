// The MBG/NBD model (Batislam, Denizel & Filiztekin 2007; Wagner & Hoppe 2008 erratum): fit, predictions, simulator.
import { betaGeoModel } from '../beta-geometric-predict.js';
import type { MbgNbdParams } from '../types.js';
import { mbgNbdLogLik } from './likelihood.js';

export const PARAM_NAMES = ['r', 'alpha', 'a', 'b'] as const;

/**
 * MBG/NBD as a registry entry. As in BG/NBD, each customer buys at rate λ ~ Gamma(r, α) and drops out with probability
 * p ~ Beta(a, b) after each purchase, but also at time 0, right after the first purchase. From the likelihood to the
 * predictions:
 * - likelihood: Batislam et al. appendix A, with its gradient and exact Hessian (likelihood.ts,
 *   beta-geometric-likelihood.ts);
 * - fit, start values (those of BG/NBD), simulator: beta-geometric-predict.ts (betaGeoModel) and transaction-fit.ts;
 * - predictions: the beta-geometric formulas with s = 1 (beta-geometric-predict.ts): P(alive) (appendix A, eq. 5),
 *   below 1 even for x = 0; E[Y(t) | x, t_x, T] and E[X(t)] as corrected by Wagner & Hoppe; P(X(t) = n); conversion,
 *   wait and decisive moment.
 */
export const mbgNbd = betaGeoModel<MbgNbdParams>({ name: 'mbg-nbd', s: 1, paramNames: PARAM_NAMES, logLik: mbgNbdLogLik });
