// The Fader-Hardie tracking chart: cumulative repeat purchases week by week, actual vs the model's cohort-based expectation.
import type { ModelParams, TransactionModel } from '../models/index.js';
import { isoOfEpochDay } from './split.js';

/** Weekly periods laid out so that the holdout starts on a period boundary. */
export interface TrackingLayout {
  /** Epoch day of the first period's first day. */
  readonly startDay: number;
  readonly periodDays: number;
  /** Exclusive end (epoch day) of each period; the last one is clipped to the holdout end. */
  readonly ends: readonly number[];
  /** ISO date of each period's first day. */
  readonly labels: readonly string[];
  /** Index of the first holdout period. */
  readonly holdoutStartIndex: number;
}

/**
 * Periods of `periodDays` from the first purchase day to the holdout end, aligned backwards from the cut so that the
 * calibration ends exactly at a period boundary (`cutDay` and `endDay` are exclusive epoch days).
 */
export function trackingLayout(firstDay: number, cutDay: number, endDay: number, periodDays = 7): TrackingLayout {
  const before = Math.max(1, Math.ceil((cutDay - firstDay) / periodDays));
  const after = Math.max(0, Math.ceil((endDay - cutDay) / periodDays));
  const startDay = cutDay - before * periodDays;
  const ends: number[] = [];
  const labels: string[] = [];
  for (let j = 0; j < before + after; j++) {
    labels.push(isoOfEpochDay(startDay + j * periodDays));
    ends.push(Math.min(startDay + (j + 1) * periodDays, j < before ? cutDay : endDay));
  }
  return { startDay, periodDays, ends, labels, holdoutStartIndex: before };
}

/**
 * Expected cumulative repeat purchases of the whole population at the end of each period (Fader, Hardie & Lee 2005,
 * fig. 2): Σ_i E[X(t_e − b_i)] with b_i customer i's first purchase day, t_e the period's last day, and E[X(t)] the
 * model's unconditional expectation for a customer acquired at 0 (FHL 2005 eq. 9 for BG/NBD). Customers are
 * grouped by first purchase day, so the cost is (distinct days × periods) evaluations.
 */
export function predictedCumulative<P extends ModelParams>(
  model: TransactionModel<P>,
  params: P,
  firstDays: Float64Array,
  ends: readonly number[],
): number[] {
  const cohorts = new Map<number, number>();
  for (const b of firstDays) cohorts.set(b, (cohorts.get(b) ?? 0) + 1);
  return ends.map((end) => {
    let total = 0;
    for (const [birth, count] of cohorts) {
      const t = end - 1 - birth; // the period's last observed day, as T is counted in the summary
      if (t > 0) total += count * model.unconditionalExpectedPurchases(params, t);
    }
    return total;
  });
}

/** Running sum of per-period counts. */
export function cumulative(perPeriod: ArrayLike<number>): number[] {
  const out: number[] = [];
  let s = 0;
  for (let i = 0; i < perPeriod.length; i++) {
    s += perPeriod[i] as number;
    out.push(s);
  }
  return out;
}
