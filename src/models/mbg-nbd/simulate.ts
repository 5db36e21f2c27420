// MBG/NBD simulator: seeded calibration summaries drawn from the model's story (Batislam et al. 2007).
import { simulateBetaGeo } from '../beta-geometric.js';
import { checkParams } from '../params.js';
import type { MbgNbdParams, SimulateOptions, TransactionSummary } from '../types.js';
import { PARAM_NAMES } from './predict.js';

/**
 * Each customer draws λ ~ Gamma(r, α) and p ~ Beta(a, b), buys as a Poisson process with rate λ and drops out with
 * probability p at time 0 and after each purchase; observed over (0, T]. Returns x, t_x and T per customer.
 */
export function simulate(params: MbgNbdParams, options: SimulateOptions): TransactionSummary {
  checkParams('mbg-nbd', PARAM_NAMES, params);
  return simulateBetaGeo(params, options, true);
}
