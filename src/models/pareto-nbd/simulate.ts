// Pareto/NBD simulator: seeded calibration summaries drawn from the model's story (Schmittlein et al. 1987).
import { createRng } from '../../math/random.js';
import { simulationAges } from '../beta-geometric.js';
import type { ParetoNbdParams, SimulateOptions, TransactionSummary } from '../types.js';

/**
 * Each customer draws λ ~ Gamma(r, α) and μ ~ Gamma(s, β), lives for an Exponential(μ) time τ and buys as a Poisson
 * process with rate λ while alive; observed over (0, T]. Returns x, t_x and T per customer. The registry entry checks the
 * parameters (transaction-fit.ts).
 */
export function simulate(params: ParetoNbdParams, options: SimulateOptions): TransactionSummary {
  const T = simulationAges(options);
  const rng = createRng(options.seed);
  const n = T.length;
  const x = new Float64Array(n);
  const tx = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const lambda = rng.gamma(params.r, params.alpha);
    const mu = rng.gamma(params.s, params.beta);
    const end = Math.min(mu > 0 ? rng.exponential(mu) : Infinity, T[i] as number);
    if (!(lambda > 0)) continue;
    let t = 0;
    let count = 0;
    let last = 0;
    for (;;) {
      t += rng.exponential(lambda);
      if (t > end) break;
      count++;
      last = t;
    }
    x[i] = count;
    tx[i] = last;
  }
  return { x, tx, T };
}
