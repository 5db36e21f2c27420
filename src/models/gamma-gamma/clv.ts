// Customer lifetime value: discounted monthly expected purchases times expected spend (the lifetimes convention).
import { KairosError } from '../../errors.js';
import type { ModelParams, TransactionModel, TransactionSummary } from '../types.js';

/** Defaults of the CLV horizon and discounting. monthLength has no default: it depends on the model's time unit. */
export const CLV_DEFAULTS = Object.freeze({ months: 12, monthlyDiscount: 0.01 });

export interface ClvOptions {
  /** Number of months H; default 12. */
  months?: number;
  /** Discount rate per month d; default 0.01. */
  monthlyDiscount?: number;
  /** Length of a month in the transaction model's time unit: 30 for days, 30/7 for weeks. */
  monthLength: number;
}

/**
 * CLV_i = Σ_{k=1..H} (E[Y_i(k·L)] − E[Y_i((k−1)·L)]) · spend_i / (1+d)^k, with E[Y_i(t)] the transaction model's
 * conditional expected purchases in (T, T+t], L the month length and spend_i the expected spend per purchase
 * (usually Gamma-Gamma's conditionalExpectedSpend). This is lifetimes' customer_lifetime_value: purchases expected
 * in month k are discounted by k whole months.
 */
export function clv<P extends ModelParams>(
  model: TransactionModel<P>,
  params: P,
  data: TransactionSummary,
  spend: Float64Array,
  options: ClvOptions,
): Float64Array {
  const { horizons, coefficients } = clvSchedule(options);
  checkSpend(spend, data.x.length);
  const out = model.expectedPurchasesCombination(params, data, horizons, coefficients);
  for (let i = 0; i < out.length; i++) out[i] = (out[i] as number) * (spend[i] as number);
  return out;
}

/**
 * The horizons t_k = k·L and coefficients c_k of CLV_i = spend_i · Σ_k c_k E[Y_i(t_k)], validated: what clv() asks
 * the model for, and what a combined scoring call (TransactionModel.scoreCustomers) takes as clvHorizons and
 * clvCoefficients. Summation by parts: Σ_k (E_k − E_{k−1}) f_k = Σ_k E_k (f_k − f_{k+1}) with f_k = (1+d)^{−k},
 * f_{H+1} = 0, so the model evaluates one linear combination of its expectations (P(alive) once per customer).
 */
export function clvSchedule(options: ClvOptions): { horizons: number[]; coefficients: number[] } {
  const months = options.months ?? CLV_DEFAULTS.months;
  const d = options.monthlyDiscount ?? CLV_DEFAULTS.monthlyDiscount;
  const L = options.monthLength;
  if (!Number.isInteger(months) || months < 1) throw new KairosError('VALIDATION', `clv: months must be a positive integer (got ${months})`);
  if (!(d > -1) || !Number.isFinite(d)) throw new KairosError('VALIDATION', `clv: monthlyDiscount must be finite and > -1 (got ${d})`);
  if (!(L > 0) || !Number.isFinite(L)) throw new KairosError('VALIDATION', `clv: monthLength must be finite and > 0 (got ${L})`);
  const horizons = Array.from({ length: months }, (_, k) => (k + 1) * L);
  const coefficients = horizons.map((_, k) => Math.pow(1 + d, -(k + 1)) - (k + 1 < months ? Math.pow(1 + d, -(k + 2)) : 0));
  return { horizons, coefficients };
}

/** Spend per purchase, one finite value per customer. */
export function checkSpend(spend: Float64Array, rows: number): void {
  if (spend.length !== rows) throw new KairosError('VALIDATION', `clv: spend has ${spend.length} rows but the transaction summary has ${rows}`);
  for (let i = 0; i < spend.length; i++) {
    const v = spend[i] as number;
    if (!Number.isFinite(v)) throw new KairosError('VALIDATION', `clv: spend row ${i} is not finite (${v})`);
  }
}
