// Accuracy of the promotion appetence against the demo's latent truth (truth.csv `promo_sensitivity`).
import { spearman } from '../backtest/metrics.js';
import { withRollback } from '../backtest/split.js';
import type { KairosConfig } from '../config.js';
import { KairosError } from '../errors.js';
import { createAsOfViews, parseAsOf } from '../features/as-of.js';
import { computeAppetence, type NextPurchaseChoice } from '../scores/promotion/next-purchase.js';
import { quoteLiteral, type Store } from '../store/db.js';

/** Purchase days from which a customer counts as having a history (the second comparison). */
export const HISTORY_DAYS = 5;

/** How the promotion scorer's appetence, computed as of the demo's data end, compares with the latent sensitivity. */
export interface PromotionTruthComparison {
  readonly asOf: string;
  /** Customers with an appetence score (a purchase before the as-of) found in the truth file. */
  readonly customers: number;
  /** Spearman of promo_appetence with promo_sensitivity. */
  readonly spearman: number | null;
  /** Spearman of the raw (unshrunk) promotion share, the mean of the plain shares of days and of spend. */
  readonly spearmanRaw: number | null;
  /** The same two among the customers with at least HISTORY_DAYS purchase days. */
  readonly withHistory: number;
  readonly spearmanHistory: number | null;
  readonly spearmanRawHistory: number | null;
  /** Whether the next-purchase trees gave the score's base (src/scores/promotion/next-purchase.ts). */
  readonly nextPurchase: NextPurchaseChoice;
}

/**
 * Computes the promotion scorer's table as of `asOf` (the as-of views: the numbers `kairos score --as-of` stores) and
 * compares it with truth.csv. Runs in a rolled-back transaction: the store is unchanged.
 */
export async function comparePromotionWithTruth(store: Store, truthCsv: string, options: { config: KairosConfig; asOf: string }): Promise<PromotionTruthComparison> {
  const asOf = parseAsOf(options.asOf);
  return withRollback(store, async () => {
    await createAsOfViews(store, asOf);
    const { choice } = await computeAppetence(store, '__truth_promotion', options.config.promotion, asOf);
    await store.run(`CREATE OR REPLACE TEMP TABLE __truth_promo AS SELECT * FROM read_csv(${quoteLiteral(truthCsv)}, header = true, all_varchar = true)`);
    const { numbers } = await store.readColumns(
      `SELECT a.promo_appetence::DOUBLE AS score, ((a.promo_share_days_raw + a.promo_share_spend_raw) / 2)::DOUBLE AS raw,
         a.promo_purchase_days::DOUBLE AS days, TRY_CAST(t.promo_sensitivity AS DOUBLE) AS truth
       FROM __truth_promotion a JOIN __truth_promo t USING (customer_id)
       WHERE a.promo_appetence IS NOT NULL ORDER BY a.customer_id`,
    );
    const [score, raw, days, truth] = ['score', 'raw', 'days', 'truth'].map((k) => numbers[k] ?? new Float64Array(0)) as [Float64Array, Float64Array, Float64Array, Float64Array];
    if (score.length === 0) throw new KairosError('VALIDATION', `${truthCsv}: no scored customer of the store is in the truth file (or the store has no discount data)`);
    if (truth.some((v) => !Number.isFinite(v))) throw new KairosError('VALIDATION', `${truthCsv}: column promo_sensitivity is missing or not a number`);
    const keep = (xs: Float64Array): Float64Array => Float64Array.from(xs.filter((_, i) => (days[i] as number) >= HISTORY_DAYS));
    return {
      asOf,
      customers: score.length,
      spearman: spearman(truth, score),
      spearmanRaw: spearman(truth, raw),
      withHistory: keep(days).length,
      spearmanHistory: spearman(keep(truth), keep(score)),
      spearmanRawHistory: spearman(keep(truth), keep(raw)),
      nextPurchase: choice,
    };
  });
}
