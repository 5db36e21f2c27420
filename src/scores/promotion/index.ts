// Promotion appetence: who buys on promotion (shrunk towards the population by an empirical-Bayes beta-binomial prior), who answers promotional campaigns, who buys at full price.
import { formatCount, formatMoney, formatNumber, formatProbability } from '../../util/format.js';
import type { Store } from '../../store/db.js';
import type { Scorer, ScoreContext, ScorerResult } from '../types.js';
import { ENABLING_COLUMNS, PROMO_LABELS, type AppetenceFacts } from './appetence.js';
import { backtestPromotion } from './backtest.js';
import { computeAppetence, nextPurchaseNote } from './next-purchase.js';

const NAME = 'promotion';
const VERSION = '1.0.0';
const RESULT = '__score_promotion';
/** The model_fits record of the run's priors. */
export const PROMOTION_MODEL = 'promotion-priors';

/** "Beta(1.23, 4.56), mean 21.2%, by maximum likelihood". */
function describePrior(fit: AppetenceFacts['priors']['days']): string {
  if (fit === null) return 'not fitted';
  const { alpha, beta } = fit.params;
  const how = fit.diagnostics.method === 'mle' ? 'maximum likelihood' : `moments (${fit.diagnostics.message})`;
  return `Beta(${formatNumber(alpha)}, ${formatNumber(beta)}), mean ${formatProbability(alpha / (alpha + beta))}, worth ${formatNumber(alpha + beta)} trials, by ${how}`;
}

/** The run's notes: what the score rests on, the priors, the labels, and the redemptions kept though unmatched. */
async function runNotes(store: Store, facts: AppetenceFacts): Promise<string[]> {
  const notes: string[] = [];
  if (facts.discountedLines === 0) {
    notes.push(
      facts.saleLines === 0
        ? 'promotion: no order line before the as-of date: no promotion appetence'
        : `promotion: none of the ${formatCount(facts.saleLines)} order lines before the as-of date has a discount: no promotion appetence score (empty, not 0). ` +
            `These would enable it: ${ENABLING_COLUMNS}`,
    );
  } else {
    const counts = await store.all<{ label: string; n: number }>(
      `SELECT promo_label AS label, count(*)::BIGINT AS n FROM ${RESULT} WHERE promo_label IS NOT NULL GROUP BY 1`,
    );
    const by = new Map(counts.map((c) => [c.label, Number(c.n)]));
    notes.push(
      `promotion: ${formatCount(facts.discountedLines)} of ${formatCount(facts.saleLines)} sale lines discounted; ${formatCount(facts.buyers)} buyers scored: ` +
        PROMO_LABELS.map((l) => `${formatCount(by.get(l) ?? 0)} ${l}`).join(', '),
      `promotion: prior of the share of purchase days on promotion ${describePrior(facts.priors.days)}; of the share of spend ${describePrior(facts.priors.spend)}`,
    );
  }
  if (facts.priors.response !== null) {
    notes.push(`promotion: prior of the response rate to promotional campaigns ${describePrior(facts.priors.response)}`);
  } else if (facts.discountedLines > 0) {
    notes.push(`promotion: no promotional campaign received before the as-of date: the score rests on the purchases alone (events ${'campaign_received'} or promotion.emailCampaigns add the responses)`);
  }
  if (facts.redemptionsUnknownCampaign > 0) {
    notes.push(
      `promotion: ${formatCount(facts.redemptionsUnknownCampaign)} coupon redemptions are for a campaign the customer is not known to have received (or name no campaign): kept, counted as redemptions, not as responses`,
    );
  }
  if (facts.redemptionsUnknownCustomer > 0) {
    notes.push(
      `promotion: ${formatCount(facts.redemptionsUnknownCustomer)} coupon redemptions are by customers known only from events (no customers-file row, no order): kept; they have no appetence score until they buy`,
    );
  }
  return notes;
}

export const promotionScorer: Scorer = {
  name: NAME,
  version: VERSION,
  description: 'Promotion appetence (0-100, label) from the share of purchase days and of spend on promotion, shrunk towards the population (empirical-Bayes beta-binomial), tilted by responses to promotional campaigns.',
  columns: [
    {
      name: 'promo_appetence',
      type: 'number',
      unit: 'score',
      description: 'promotion appetence 0-100: the shrunk shares of purchase days and of spend on promotion, their odds tilted by the shrunk response rate to promotional campaigns (empty without discount data)',
    },
    { name: 'promo_label', type: 'text', unit: 'none', description: `${PROMO_LABELS.join(', ')}: from the odds ratio to the typical customer` },
    { name: 'promo_odds_ratio', type: 'number', unit: 'none', description: "odds of the score over the typical customer's (1 = typical)" },
    { name: 'promo_share_days_shrunk', type: 'number', unit: 'probability', description: 'share of purchase days with a discounted line, posterior mean under the population Beta prior' },
    { name: 'promo_share_spend_shrunk', type: 'number', unit: 'probability', description: 'share of the value bought (before discount) on discounted lines, posterior mean under the population Beta prior' },
    { name: 'promo_share_days_raw', type: 'number', unit: 'probability', description: 'promo_days / promo_purchase_days, not shrunk (the backtest baseline)' },
    { name: 'promo_share_spend_raw', type: 'number', unit: 'probability', description: 'share of the value bought on discounted lines, not shrunk' },
    { name: 'promo_days', type: 'integer', unit: 'count', description: 'purchase days with at least one discounted line' },
    { name: 'promo_purchase_days', type: 'integer', unit: 'count', description: 'purchase days (days with a sale line) the shares are counted on' },
    { name: 'discount_received', type: 'number', unit: 'currency', description: 'money off all sale lines before the as-of date' },
    { name: 'coupon_redemptions', type: 'integer', unit: 'count', description: 'coupon_redemption events before the as-of date' },
    { name: 'promo_campaigns_received', type: 'integer', unit: 'count', description: 'promotional campaigns received (campaign_received events, promotional e-mails)' },
    { name: 'promo_campaigns_responded', type: 'integer', unit: 'count', description: 'of those, campaigns with a coupon redeemed or a click' },
    { name: 'promo_response_rate_shrunk', type: 'number', unit: 'probability', description: 'campaigns responded / received, posterior mean under the population Beta prior' },
    {
      name: 'promo_next_purchase_probability',
      type: 'number',
      unit: 'probability',
      description: "P(the next purchase day is on promotion): the boosted trees' when the run's note says they are used, else the shrunk share of purchase days",
    },
  ],

  async run(ctx: ScoreContext): Promise<ScorerResult> {
    ctx.progress('promotion: counting purchases on promotion and fitting the priors');
    const { facts, choice } = await computeAppetence(ctx.store, RESULT, ctx.config.promotion, ctx.asOf, ctx.progress);
    const notes = await runNotes(ctx.store, facts);
    if (facts.discountedLines > 0) notes.push(nextPurchaseNote(choice));
    const models =
      facts.discountedLines > 0 || facts.priors.response !== null
        ? [{ model: PROMOTION_MODEL, fit: { ...facts.priors, typicalShare: facts.typicalShare, typicalResponse: facts.typicalResponse, nextPurchase: choice } }]
        : [];
    return { table: RESULT, models, notes };
  },

  explain(row, { currency }) {
    const score = row['promo_appetence'];
    const coupons = Number(row['coupon_redemptions'] ?? 0);
    const received = Number(row['promo_campaigns_received'] ?? 0);
    const responded = Number(row['promo_campaigns_responded'] ?? 0);
    const rate = row['promo_response_rate_shrunk'];
    const campaigns =
      received > 0
        ? `answered ${formatCount(responded)} of ${formatCount(received)} promotional campaign(s) received (${formatProbability(Number(rate))} once shrunk towards the population)`
        : 'no promotional campaign received';
    const couponText = `${formatCount(coupons)} coupon(s) redeemed`;
    if (score === null || score === undefined) {
      const days = row['promo_purchase_days'];
      return [
        days === null || days === undefined
          ? 'no promotion appetence: no purchase before the as-of date'
          : 'no promotion appetence: the store has no discount data before the as-of date (orders.discount empty)',
        `${couponText}; ${campaigns}`,
      ];
    }
    const k = Number(row['promo_days'] ?? 0);
    const n = Number(row['promo_purchase_days'] ?? 0);
    const ratio = Number(row['promo_odds_ratio']);
    const rawSpend = Number(row['promo_share_spend_raw'] ?? 0);
    return [
      `promotion appetence ${formatNumber(Number(score))}/100, ${row['promo_label']}: ${formatNumber(ratio)} times the odds of the typical customer`,
      `bought on promotion on ${formatCount(k)} of ${formatCount(n)} purchase day(s) (${formatProbability(k / Math.max(1, n))}), ${formatProbability(Number(row['promo_share_days_shrunk']))} once shrunk towards the population; ` +
        `${formatProbability(rawSpend)} of the value bought was discounted (${formatProbability(Number(row['promo_share_spend_shrunk']))} shrunk), ${formatMoney(Number(row['discount_received'] ?? 0), currency)} off in all`,
      `${couponText}; ${campaigns}`,
    ];
  },

  backtest: backtestPromotion,
};
