// Gamma-Gamma spend predictions (Fader & Hardie 2013, note 025, eq. 5).
import { KairosError } from '../../errors.js';
import { checkParams } from '../params.js';
import { validateSpend } from '../transaction-summary.js';
import type { GammaGammaParams, SpendData } from '../types.js';

export const PARAM_NAMES = ['p', 'q', 'gamma'] as const;

/**
 * E[Z | p, q, γ, m_x, x] = (γ + x m_x) p / (p x + q − 1) (note 025 eq. 5): a weighted average of the population mean
 * pγ/(q−1) (weight (q−1)/(px+q−1)) and the customer's own mean m_x (weight px/(px+q−1)). Customers with x = 0 get the
 * population mean. Requires p x + q > 1 (for x = 0: q > 1), otherwise the mean spend is infinite: VALIDATION.
 */
export function conditionalExpectedSpend(params: GammaGammaParams, data: SpendData): Float64Array {
  checkParams('gamma-gamma', PARAM_NAMES, params);
  const n = validateSpend(data);
  const { p, q, gamma } = params;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const x = data.x[i] as number;
    const denom = p * x + q - 1;
    if (!(denom > 0)) {
      throw new KairosError('VALIDATION', `gamma-gamma: expected spend is infinite for x = ${x} because p·x + q <= 1 (p ${p}, q ${q})`, {
        hint: 'the fit found q <= 1 (a very heavy-tailed spend distribution); refit with a penalty or check outliers',
      });
    }
    out[i] = x === 0 ? (p * gamma) / (q - 1) : ((gamma + x * (data.m[i] as number)) * p) / denom;
  }
  return out;
}

/** Population mean spend per transaction E[Z] = pγ/(q−1) (infinite for q <= 1: VALIDATION). */
export function populationMeanSpend(params: GammaGammaParams): number {
  checkParams('gamma-gamma', PARAM_NAMES, params);
  if (!(params.q > 1)) {
    throw new KairosError('VALIDATION', `gamma-gamma: population mean spend is infinite for q <= 1 (q ${params.q})`);
  }
  return (params.p * params.gamma) / (params.q - 1);
}
