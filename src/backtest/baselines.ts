// The naive rules every model must beat, each computed from the calibration window only (documented in docs/accuracy.md).
import { purchasesSql } from '../features/purchases.js';
import { purchaseSummary } from '../features/summary.js';
import { quoteLiteral, type Store } from '../store/db.js';
import { createPopulationTable, type EvaluationData } from './split.js';

const DAY_MS = 86_400_000;

/** Baseline names as printed in the report, in one place. */
export const BASELINE_NAMES = {
  sameRate: 'same rate as calibration',
  pastSpend: 'past spend rate',
  recency: 'RFM recency',
  recencyQuintile: 'repeat rate of the recency quintile',
  overdue: 'overdue rule (2 × own purchase gap)',
} as const;

/**
 * "Same rate as the calibration period": x / T × H, the customer's repeat purchase days per day of age, carried over
 * the H-day holdout. 0 when T = 0 (first purchase on the last calibration day) or x = 0.
 */
export function sameRatePurchases(x: Float64Array, T: Float64Array, holdoutDays: number): Float64Array {
  return Float64Array.from(x, (xi, i) => {
    const t = T[i] as number;
    return t > 0 ? (xi / t) * holdoutDays : 0;
  });
}

/**
 * "Past spend rate": net calibration spend per observed day, (spend / (T + 1)) × H, floored at 0. T + 1 counts the
 * first purchase day itself, so one-time buyers are ranked by what they spent.
 */
export function pastSpendValue(calibrationSpend: Float64Array, T: Float64Array, holdoutDays: number): Float64Array {
  return Float64Array.from(calibrationSpend, (s, i) => Math.max(0, (s / ((T[i] as number) + 1)) * holdoutDays));
}

/** RFM recency as a score (higher = bought more recently): minus the days from the last purchase to the calibration end. */
export function recencyScore(tx: Float64Array, T: Float64Array): Float64Array {
  return Float64Array.from(T, (t, i) => -(t - (tx[i] as number)));
}

/**
 * Recency quintile of each customer, 1 (longest ago) to 5 (most recent), by the RFM rule (docs/scores.md): customers
 * ranked worst first, ties sharing the first rank of their group, score 1 + floor(5 (rank − 1) / n).
 */
export function recencyQuintiles(recencyDays: Float64Array): Int8Array {
  const n = recencyDays.length;
  const sorted = Float64Array.from(recencyDays).sort((a, b) => b - a); // worst (largest recency) first
  const out = new Int8Array(n);
  for (let i = 0; i < n; i++) {
    // rank = 1 + number of customers strictly worse (larger recency): binary search in the descending order
    const r = recencyDays[i] as number;
    let lo = 0;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((sorted[mid] as number) > r) lo = mid + 1;
      else hi = mid;
    }
    out[i] = 1 + Math.floor((5 * lo) / n);
  }
  return out;
}

/** The recency-quintile probability baseline and how it was estimated. */
export interface RecencyQuintileBaseline {
  /** Per customer of the population: the probability of buying in the target window. */
  readonly probability: Float64Array;
  /** Probability per quintile 1..5 (index 0 = quintile 1). */
  readonly rates: readonly number[];
  /** The inner backtest's window in days and its cut. */
  readonly innerDays: number;
  readonly innerCut: string;
}

/**
 * Probability baseline: the repeat rate of the customer's recency quintile, estimated inside the calibration window.
 * An inner cut W days before the cut (W = the target window, at most half the calibration span) splits the calibration;
 * per recency quintile at the inner cut, the share of customers who bought in those W days is the rate; for a target
 * window of H days it becomes 1 − (1 − rate)^(H / W) (a constant hazard). Customers get the rate of their recency
 * quintile at the cut. Reads `asof_orders` only. `null` when the calibration is too short (W < 1 day) or has no
 * customer before the inner cut.
 */
export async function recencyQuintileBaseline(
  store: Store,
  data: EvaluationData,
  windowDays: number,
): Promise<RecencyQuintileBaseline | null> {
  const { split, summary } = data;
  const cutMs = Date.parse(`${split.cut.replace(' ', 'T')}Z`);
  const spanDays = (cutMs - Date.parse(`${split.calibrationStart}T00:00:00Z`)) / DAY_MS;
  const inner = Math.min(windowDays, Math.floor(spanDays / 2));
  if (!(inner >= 1)) return null;
  const innerCut = new Date(cutMs - inner * DAY_MS).toISOString().slice(0, 19).replace('T', ' ');
  await store.run(`CREATE OR REPLACE TEMP VIEW __inner_orders AS SELECT * FROM asof_orders WHERE ordered_at < TIMESTAMP ${quoteLiteral(innerCut)}`);
  const before = await purchaseSummary(store, innerCut, '__inner_orders');
  if (before.customerIds.length === 0) return null;
  await createPopulationTable(store, '__inner_population', '__inner_orders', before);
  const bought = await store.readColumns(
    `WITH inner_holdout AS (SELECT * FROM asof_orders WHERE ordered_at >= TIMESTAMP ${quoteLiteral(innerCut)}),
       buyers AS (SELECT DISTINCT customer_id FROM (${purchasesSql('inner_holdout')}))
     SELECT p.idx, (buyers.customer_id IS NOT NULL)::DOUBLE AS bought
     FROM __inner_population p LEFT JOIN buyers USING (customer_id) ORDER BY p.idx`,
  );
  const boughtInner = bought.numbers['bought'] ?? new Float64Array(0);
  const innerRecency = Float64Array.from(before.transactions.T, (t, i) => t - (before.transactions.tx[i] as number));
  const innerQ = recencyQuintiles(innerRecency);
  const count = [0, 0, 0, 0, 0];
  const hits = [0, 0, 0, 0, 0];
  innerQ.forEach((q, i) => {
    count[q - 1] = (count[q - 1] as number) + 1;
    hits[q - 1] = (hits[q - 1] as number) + (boughtInner[i] as number);
  });
  const overall = hits.reduce((a, b) => a + b, 0) / before.customerIds.length;
  const rates = count.map((c, q) => {
    const rate = c > 0 ? (hits[q] as number) / c : overall; // an empty quintile (ties) takes the overall rate
    return 1 - Math.pow(1 - rate, windowDays / inner);
  });
  const recency = Float64Array.from(summary.transactions.T, (t, i) => t - (summary.transactions.tx[i] as number));
  const q = recencyQuintiles(recency);
  return {
    probability: Float64Array.from(q, (v) => rates[v - 1] as number),
    rates,
    innerDays: inner,
    innerCut,
  };
}

/**
 * The overdue rule's decisive day (epoch day): the last purchase day + 2 × the customer's mean gap between purchase
 * days (t_x / x); one-time buyers get twice the median of that gap over repeat buyers. NaN when nobody repeated.
 */
export function overdueDecisiveDay(x: Float64Array, tx: Float64Array, lastDay: Float64Array): Float64Array {
  const gaps: number[] = [];
  for (let i = 0; i < x.length; i++) if ((x[i] as number) > 0) gaps.push((tx[i] as number) / (x[i] as number));
  gaps.sort((a, b) => a - b);
  const mid = gaps.length >> 1;
  const median = gaps.length === 0 ? Number.NaN : gaps.length % 2 ? (gaps[mid] as number) : ((gaps[mid - 1] as number) + (gaps[mid] as number)) / 2;
  return Float64Array.from(x, (xi, i) => {
    const gap = xi > 0 ? (tx[i] as number) / xi : median;
    return (lastDay[i] as number) + Math.ceil(2 * gap);
  });
}
