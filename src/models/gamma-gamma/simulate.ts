// Gamma-Gamma simulator: seeded spend per transaction for customers with given purchase counts.
import { KairosError } from '../../errors.js';
import { createRng } from '../../math/random.js';
import { checkParams } from '../params.js';
import type { GammaGammaParams, SpendData } from '../types.js';
import { PARAM_NAMES } from './predict.js';

export interface SpendSimulateOptions {
  /** Number of transactions per customer whose spend is drawn (for the model: the repeat purchases x). */
  x: Float64Array;
  seed: number;
}

export interface SimulatedSpend {
  /** Per customer: x and the mean m of its simulated amounts (m = 0 when x = 0). */
  readonly data: SpendData;
  /** All simulated amounts, customer after customer. */
  readonly amounts: Float64Array;
  /** Customer i's amounts are amounts[offsets[i] .. offsets[i+1]). */
  readonly offsets: Uint32Array;
}

/** Each customer draws ν ~ Gamma(q, γ); each of its x transactions has value z ~ Gamma(p, ν) (shape, rate). */
export function simulate(params: GammaGammaParams, options: SpendSimulateOptions): SimulatedSpend {
  checkParams('gamma-gamma', PARAM_NAMES, params);
  const { x } = options;
  const rng = createRng(options.seed);
  const n = x.length;
  const offsets = new Uint32Array(n + 1);
  for (let i = 0; i < n; i++) {
    const xi = x[i] as number;
    if (!Number.isInteger(xi) || xi < 0) throw new KairosError('VALIDATION', `simulate: x[${i}] must be a non-negative integer (got ${xi})`);
    offsets[i + 1] = (offsets[i] as number) + xi;
  }
  const amounts = new Float64Array(offsets[n] as number);
  const m = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const nu = rng.gamma(params.q, params.gamma);
    let sum = 0;
    for (let j = offsets[i] as number; j < (offsets[i + 1] as number); j++) {
      const z = rng.gamma(params.p, nu);
      amounts[j] = z;
      sum += z;
    }
    const xi = x[i] as number;
    m[i] = xi > 0 ? sum / xi : 0;
  }
  return { data: { x: Float64Array.from(x), m }, amounts, offsets };
}
