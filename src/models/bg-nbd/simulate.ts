// BG/NBD simulator: seeded calibration summaries drawn from the model's own story (FHL 2005, section 3).
import { createRng } from '../../math/random.js';
import { simulateBetaGeoCustomer, simulationAges } from '../beta-geometric.js';
import { checkParams } from '../params.js';
import type { BgNbdParams, RfmData, SimulateOptions } from '../types.js';
import { PARAM_NAMES } from './predict.js';

/**
 * Each customer draws λ ~ Gamma(r, α) and p ~ Beta(a, b), buys as a Poisson process with rate λ and drops out with
 * probability p after each purchase; observed over (0, T]. Returns x, t_x and T per customer.
 */
export function simulate(params: BgNbdParams, options: SimulateOptions): RfmData {
  checkParams('bg-nbd', PARAM_NAMES, params);
  const T = simulationAges(options);
  const rng = createRng(options.seed);
  const n = T.length;
  const x = new Float64Array(n);
  const tx = new Float64Array(n);
  const one = { x: 0, tx: 0 };
  for (let i = 0; i < n; i++) {
    const lambda = rng.gamma(params.r, params.alpha);
    const p = rng.beta(params.a, params.b);
    simulateBetaGeoCustomer(rng, lambda, p, T[i] as number, false, one);
    x[i] = one.x;
    tx[i] = one.tx;
  }
  return { x, tx, T };
}
