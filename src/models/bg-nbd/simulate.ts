// BG/NBD simulator: seeded calibration summaries drawn from the model's own story (FHL 2005, section 3).
import { simulateBetaGeo } from '../beta-geometric.js';
import { checkParams } from '../params.js';
import type { BgNbdParams, SimulateOptions, TransactionSummary } from '../types.js';
import { PARAM_NAMES } from './predict.js';

/**
 * Each customer draws λ ~ Gamma(r, α) and p ~ Beta(a, b), buys as a Poisson process with rate λ and drops out with
 * probability p after each purchase; observed over (0, T]. Returns x, t_x and T per customer.
 */
export function simulate(params: BgNbdParams, options: SimulateOptions): TransactionSummary {
  checkParams('bg-nbd', PARAM_NAMES, params);
  return simulateBetaGeo(params, options, false);
}
