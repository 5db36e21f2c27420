// The promotion scorer's backtest: does appetence at the cut rank who buys mostly on promotion, and who redeems a coupon, in the holdout better than the raw (unshrunk) promotion share?
import { formatNumber, formatPercent } from '../../backtest/format.js';
import { liftAtFraction, prAuc, rocAuc, rocCurve, type NumArray } from '../../backtest/metrics.js';
import { gradedSection, row, thinRoc } from '../../backtest/sections.js';
import type { ChartSpec, ScoreSection } from '../../backtest/types.js';
import { quoteLiteral } from '../../store/db.js';
import type { BacktestContext, BacktestResult } from '../types.js';
import { COUPON_TYPE } from './appetence.js';
import { computeAppetence, nextPurchaseNote, type NextPurchaseChoice } from './next-purchase.js';

const TABLE = '__promotion_backtest';

/** Share of the holdout value (before discount) bought on discounted lines above which a buyer is "mostly on promotion". */
export const MOSTLY_DISCOUNTED = 0.5;

/** One graded outcome: the population, the share with the outcome, the score's and the baseline's ROC AUC and lift at 10%. */
export interface PromotionOutcome {
  readonly customers: number;
  readonly positiveShare: number;
  readonly auc: number | null;
  readonly aucRaw: number | null;
  readonly lift10: number | null;
  readonly lift10Raw: number | null;
  /** The shrunk shares without the response tilt: what the shrinkage alone is worth. */
  readonly aucShrunkOnly: number | null;
}

/** The promotion backtest's numbers, unrounded. */
export interface PromotionBacktestDetails {
  /** Discounted sale lines before the cut; 0 means no section. */
  readonly discountedLines: number;
  /** Holdout buyers (with a purchase before the cut): holdout value mostly (> 50%) discounted. */
  readonly mostlyDiscounted: PromotionOutcome | null;
  /** Customers with a purchase before the cut: a coupon redeemed in the holdout (null without coupon events in it). */
  readonly redeemsCoupon: PromotionOutcome | null;
  /** Whether the next-purchase trees gave the score's base at the cut, as the scorer decides it. */
  readonly nextPurchase: NextPurchaseChoice | null;
}

const BASELINE = 'raw promotion share (unshrunk)';

/** The metrics of one outcome, and its section. */
function grade(name: string, description: string, y: NumArray, score: NumArray, raw: NumArray, shrunk: NumArray): { section: ScoreSection; outcome: PromotionOutcome } {
  const curve = rocCurve(y, score);
  const charts: ChartSpec[] = curve ? [{ kind: 'roc', title: 'ROC curve', points: thinRoc(curve), auc: rocAuc(y, score) }] : [];
  const section = gradedSection({
    name,
    kind: 'probability',
    description,
    model: 'promotion appetence',
    parameters: [],
    metrics: [
      row('ROC AUC', rocAuc(y, score), rocAuc(y, raw), BASELINE, 'higher'),
      row('PR AUC (average precision)', prAuc(y, score), prAuc(y, raw), BASELINE, 'higher'),
      row('Lift at 10%', liftAtFraction(y, score, 0.1), liftAtFraction(y, raw, 0.1), BASELINE, 'higher'),
    ],
    charts,
  });
  const n = y.length;
  let positives = 0;
  for (let i = 0; i < n; i++) positives += y[i] as number;
  return {
    section,
    outcome: {
      customers: n,
      positiveShare: n > 0 ? positives / n : 0,
      auc: section.metrics[0]?.model ?? null,
      aucRaw: section.metrics[0]?.baseline ?? null,
      lift10: section.metrics[2]?.model ?? null,
      lift10Raw: section.metrics[2]?.baseline ?? null,
      aucShrunkOnly: rocAuc(y, shrunk),
    },
  };
}

/** Reads a column the query returns. */
function col(numbers: Record<string, Float64Array>, name: string): Float64Array {
  return numbers[name] ?? new Float64Array(0);
}

/**
 * Scores appetence at the cut from the calibration (the split's as-of views) and grades it on two outcomes of the
 * holdout, against the raw share (the mean of the unshrunk shares of days and of spend on promotion): (a) among the
 * customers with a purchase before the cut who buy in the holdout, whether more than half of their holdout value
 * (before discount) is discounted; (b) among the customers with a purchase before the cut, whether they redeem a coupon
 * in the holdout (only when the holdout has coupon_redemption events). ROC AUC (headline), PR AUC, lift at 10%.
 */
export async function backtestPromotion(ctx: BacktestContext): Promise<BacktestResult> {
  const { store, split } = ctx;
  ctx.progress('promotion: appetence at the cut');
  const { facts, choice } = await computeAppetence(store, TABLE, ctx.config.promotion, split.cut, ctx.progress);
  try {
    if (facts.discountedLines === 0 || facts.typicalShare === null) {
      return {
        sections: [],
        summary: [`promotion: no discounted order line before ${split.cut.slice(0, 10)}: not backtested`],
        details: { discountedLines: facts.discountedLines, mostlyDiscounted: null, redeemsCoupon: null, nextPurchase: null } satisfies PromotionBacktestDetails,
      };
    }
    const holdoutEnd = quoteLiteral(split.holdoutEnd);
    const cut = quoteLiteral(split.cut);
    // Population: scored customers (a purchase before the cut), in id order.
    const { numbers } = await store.readColumns(
      `WITH h AS (
         SELECT customer_id, sum(amount + discount) AS gross, coalesce(sum(amount + discount) FILTER (WHERE discount > 0), 0) AS promo_gross
         FROM holdout_orders WHERE quantity > 0 AND status = 'completed' AND amount >= 0 GROUP BY customer_id),
       c AS (
         SELECT customer_id, count(*) AS n FROM events
         WHERE type = '${COUPON_TYPE}' AND occurred_at >= TIMESTAMP ${cut} AND occurred_at < TIMESTAMP ${holdoutEnd} GROUP BY customer_id)
       SELECT t.promo_appetence::DOUBLE AS score,
         ((t.promo_share_days_raw + t.promo_share_spend_raw) / 2)::DOUBLE AS raw,
         ((t.promo_share_days_shrunk + t.promo_share_spend_shrunk) / 2)::DOUBLE AS shrunk,
         (h.gross IS NOT NULL AND h.gross > 0)::DOUBLE AS bought,
         (h.gross > 0 AND h.promo_gross / h.gross > ${MOSTLY_DISCOUNTED})::DOUBLE AS mostly,
         (c.n IS NOT NULL)::DOUBLE AS coupon
       FROM ${TABLE} t LEFT JOIN h USING (customer_id) LEFT JOIN c USING (customer_id)
       WHERE t.promo_appetence IS NOT NULL ORDER BY t.customer_id`,
    );
    const [score, raw, shrunk, bought, mostly, coupon] = ['score', 'raw', 'shrunk', 'bought', 'mostly', 'coupon'].map((k) => col(numbers, k)) as [
      Float64Array, Float64Array, Float64Array, Float64Array, Float64Array, Float64Array,
    ];
    const sections: ScoreSection[] = [];
    const summary: string[] = [];
    const keep = (xs: Float64Array): Float64Array => Float64Array.from(xs.filter((_, i) => bought[i] === 1));
    const holdout = `${formatNumber(split.holdoutDays, 0)}-day holdout`;
    const a = grade(
      'Promotion appetence vs holdout spend mostly discounted',
      `Promotion appetence at the cut (0-100) against whether more than ${formatPercent(MOSTLY_DISCOUNTED)} of the value a customer bought in the ${holdout} was discounted, ` +
        `among the customers who bought before the cut and in the holdout. Baseline: the ${BASELINE}, the mean of the plain shares of purchase days and of spend on promotion.`,
      keep(mostly), keep(score), keep(raw), keep(shrunk),
    );
    const share = a.outcome.positiveShare;
    sections.push({ ...a.section, description: `${a.section.description} ${formatPercent(share)} of the ${formatNumber(a.outcome.customers, 0)} holdout buyers were.` });
    const f = (x: number | null): string => formatNumber(x, 3);
    summary.push(`promotion: ROC AUC ${f(a.outcome.auc)} for holdout spend mostly discounted, ${BASELINE} ${f(a.outcome.aucRaw)}; lift at 10% ${f(a.outcome.lift10)} vs ${f(a.outcome.lift10Raw)}`);
    let redeems: PromotionOutcome | null = null;
    if (coupon.some((v) => v === 1)) {
      const b = grade(
        'Promotion appetence vs redeeming a coupon in the holdout',
        `Promotion appetence at the cut against whether the customer redeemed a coupon (a ${COUPON_TYPE} event) in the ${holdout}, among the customers with a purchase before the cut. Baseline: the ${BASELINE}.`,
        coupon, score, raw, shrunk,
      );
      redeems = b.outcome;
      sections.push({ ...b.section, description: `${b.section.description} ${formatPercent(b.outcome.positiveShare)} of the ${formatNumber(b.outcome.customers, 0)} customers did.` });
      summary.push(`promotion: ROC AUC ${f(b.outcome.auc)} for redeeming a coupon in the holdout, ${BASELINE} ${f(b.outcome.aucRaw)}; lift at 10% ${f(b.outcome.lift10)} vs ${f(b.outcome.lift10Raw)}`);
    }
    summary.push(nextPurchaseNote(choice));
    const details: PromotionBacktestDetails = { discountedLines: facts.discountedLines, mostlyDiscounted: a.outcome, redeemsCoupon: redeems, nextPurchase: choice };
    return { sections, summary, details };
  } finally {
    await store.run(`DROP TABLE IF EXISTS ${TABLE}`);
  }
}
