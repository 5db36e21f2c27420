// Promotion appetence as of an instant: each customer's purchases on promotion, coupons and campaign responses, shrunk towards the population (beta-binomial) and combined into a 0-100 score.
import type { PromotionSettings } from '../../config.js';
import { PROMOTION_EVENT_TYPES } from '../../ingest/contract.js';
import { fitBetaBinomial, type BetaBinomialFit, type BetaBinomialParams } from '../../models/beta-binomial.js';
import type { Store } from '../../store/db.js';

/** promo_label values, most promotion-minded first (rule: `labelSql`). */
export const PROMO_LABELS = ['promotion-driven', 'promotion-sensitive', 'indifferent', 'full-price'] as const;

/** Event types that carry promotions (the data contract's PROMOTION_EVENT_TYPES): a coupon redeemed, a promotional campaign received. */
export const [COUPON_TYPE, CAMPAIGN_TYPE] = PROMOTION_EVENT_TYPES;

/** What would enable the score on a store without promotion data: said in the note. */
export const ENABLING_COLUMNS =
  'orders.discount (money off each order line; the complete-journey preset sums retail_disc, coupon_disc and coupon_match_disc into it), ' +
  `events of type ${COUPON_TYPE} and ${CAMPAIGN_TYPE} (with campaign_id), or promotional e-mails named by promotion.emailCampaigns`;

/** The three priors, each fitted on the customers it concerns. */
export interface AppetencePriors {
  /** Share of purchase days with a discounted line: (promo days, purchase days). */
  readonly days: BetaBinomialFit | null;
  /** Value share of the lines bought on discount: (lines × share, lines). */
  readonly spend: BetaBinomialFit | null;
  /** Promotional campaigns responded to (a coupon redeemed or a click) of those received. */
  readonly response: BetaBinomialFit | null;
}

/** What the appetence table was computed from, for notes and tests. */
export interface AppetenceFacts {
  /** Sale lines before the as-of, and those with a discount. */
  readonly saleLines: number;
  readonly discountedLines: number;
  /** Customers with a purchase day (the scored ones, when there are discounts). */
  readonly buyers: number;
  /** coupon_redemption and campaign_received events (and promotional e-mails) before the as-of. */
  readonly promoEvents: number;
  /** Redemptions for a campaign the customer is not known to have received (or with no campaign id): kept. */
  readonly redemptionsUnknownCampaign: number;
  /** Redemptions by customers known only from events (no customers-file row, no order): kept, as prospects. */
  readonly redemptionsUnknownCustomer: number;
  readonly priors: AppetencePriors;
  /** The typical customer's combined share (both prior means averaged): the odds ratio's reference. */
  readonly typicalShare: number | null;
  /** The population response rate (prior mean), the tilt's reference. */
  readonly typicalResponse: number | null;
}

const FACTS = '__promotion_facts';

/** Features of the next-purchase model, per buyer at a cut (`features` table): the figures above and the shrunk shares. */
export const NEXT_PURCHASE_FEATURES = [
  'purchase_days', 'promo_days', 'share_days_raw', 'spend_share', 'share_days_shrunk', 'share_spend_shrunk', 'lines', 'discount_depth',
  'recency_days', 'tenure_days', 'last_day_promo', 'recent_days', 'recent_promo_days', 'coupon_redemptions', 'received', 'responded', 'response_rate_shrunk',
] as const;

export interface AppetenceOptions {
  /** Also write this table: customer_id and NEXT_PURCHASE_FEATURES, one row per buyer, in id order. */
  readonly features?: string;
  /**
   * The next-purchase model's probabilities (a table of customer_id, p): they replace the mean of the shrunk shares as
   * the score's base, without the response tilt (the trees saw the responses); `typical` is the buyers' mean p.
   */
  readonly next?: { readonly table: string; readonly typical: number };
}

/** Mean of a Beta prior. */
function priorMean(p: BetaBinomialParams): number {
  return p.alpha / (p.alpha + p.beta);
}

/** Reads a numeric column that the query is known to return. */
function column(numbers: Record<string, Float64Array>, name: string): Float64Array {
  return numbers[name] ?? new Float64Array(0);
}

/**
 * SQL of promo_label from the odds ratio to the typical customer. Rule: 'promotion-driven' from `driven`,
 * 'promotion-sensitive' from `sensitive`, 'full-price' below `fullPrice`, else 'indifferent'.
 */
function labelSql(ratio: string, driven: string, sensitive: string, fullPrice: string): string {
  return `CASE WHEN ${ratio} IS NULL THEN NULL WHEN ${ratio} >= ${driven} THEN 'promotion-driven' WHEN ${ratio} >= ${sensitive} THEN 'promotion-sensitive'
    WHEN ${ratio} < ${fullPrice} THEN 'full-price' ELSE 'indifferent' END`;
}

/**
 * Creates `table` (customer_id and the promotion scorer's columns, one row per as-of customer) from the views
 * `asof_orders`, `asof_events` and `asof_customers`: the scorer and its backtest share it. Per customer: purchase days
 * and those with a discounted line; sale lines, their value before discount and the part bought on discount; coupon
 * redemptions; promotional campaigns received and responded to. The population Beta priors are fitted by
 * `fitBetaBinomial`, each share is its posterior mean, and the score is 100 × the odds-tilted mean of the two shrunk
 * shares (docs/scores.md, "Promotion appetence"). Without a discounted line there is no score (empty, not 0).
 */
export async function createAppetenceTable(
  store: Store,
  table: string,
  settings: PromotionSettings,
  cut: string,
  options: AppetenceOptions = {},
): Promise<AppetenceFacts> {
  // $2: the cut. The views hold the data before the run's as-of; an inner cut (the next-purchase model's) is earlier.
  await store.run(
    `CREATE OR REPLACE TEMP TABLE ${FACTS} AS
     WITH sale AS (
       SELECT customer_id, ordered_at::DATE AS day, amount + discount AS gross, discount
       FROM asof_orders WHERE quantity > 0 AND status = 'completed' AND amount >= 0 AND ordered_at < $2::TIMESTAMP),
     per_day AS (SELECT customer_id, day, max(discount) > 0 AS promo FROM sale GROUP BY customer_id, day),
     days AS (
       SELECT customer_id, count(*) AS purchase_days, count(*) FILTER (WHERE promo) AS promo_days,
         min(day) AS first_day, max(day) AS last_day, arg_max(promo, day)::INTEGER AS last_day_promo,
         count(*) FILTER (WHERE day >= $2::DATE - 90) AS recent_days, count(*) FILTER (WHERE promo AND day >= $2::DATE - 90) AS recent_promo_days
       FROM per_day GROUP BY customer_id),
     spend AS (
       SELECT customer_id, count(*) AS lines, sum(gross) AS gross, coalesce(sum(gross) FILTER (WHERE discount > 0), 0) AS promo_gross,
         sum(discount) AS discount_total, count(*) FILTER (WHERE discount > 0) AS discounted_lines
       FROM sale GROUP BY customer_id),
     ev AS (
       SELECT customer_id, type, campaign_id FROM asof_events e
       WHERE occurred_at < $2::TIMESTAMP AND (type IN ('${COUPON_TYPE}', '${CAMPAIGN_TYPE}')
          OR (type IN ('email_sent', 'email_click') AND campaign_id IS NOT NULL
              AND EXISTS (SELECT 1 FROM unnest(from_json($1, '["VARCHAR"]')) AS u(pattern) WHERE e.campaign_id LIKE u.pattern)))),
     received AS (SELECT DISTINCT customer_id, campaign_id FROM ev WHERE type IN ('${CAMPAIGN_TYPE}', 'email_sent') AND campaign_id IS NOT NULL),
     acted AS (SELECT DISTINCT customer_id, campaign_id FROM ev WHERE type IN ('${COUPON_TYPE}', 'email_click') AND campaign_id IS NOT NULL),
     responses AS (
       SELECT r.customer_id, count(*) AS received, count(a.campaign_id) AS responded
       FROM received r LEFT JOIN acted a USING (customer_id, campaign_id) GROUP BY r.customer_id),
     coupons AS (
       SELECT e.customer_id, count(*) AS redemptions,
         count(*) FILTER (WHERE r.campaign_id IS NULL) AS unknown_campaign
       FROM ev e LEFT JOIN received r ON r.customer_id = e.customer_id AND r.campaign_id = e.campaign_id
       WHERE e.type = '${COUPON_TYPE}' GROUP BY e.customer_id)
     SELECT c.customer_id, c.source = 'events' AND d.customer_id IS NULL AS events_only,
       coalesce(d.purchase_days, 0)::INTEGER AS purchase_days, coalesce(d.promo_days, 0)::INTEGER AS promo_days,
       coalesce(s.lines, 0)::INTEGER AS lines, coalesce(s.discounted_lines, 0)::INTEGER AS discounted_lines,
       CASE WHEN s.gross > 0 THEN least(1, greatest(0, s.promo_gross / s.gross)) ELSE 0 END AS spend_share,
       coalesce(s.discount_total, 0) AS discount_total,
       coalesce(cp.redemptions, 0)::INTEGER AS coupon_redemptions, coalesce(cp.unknown_campaign, 0)::INTEGER AS unknown_campaign,
       coalesce(rs.received, 0)::INTEGER AS received, coalesce(rs.responded, 0)::INTEGER AS responded,
       ($2::DATE - d.last_day)::INTEGER AS recency_days, ($2::DATE - d.first_day)::INTEGER AS tenure_days, d.last_day_promo,
       d.recent_days::INTEGER AS recent_days, d.recent_promo_days::INTEGER AS recent_promo_days,
       CASE WHEN s.gross > 0 THEN s.discount_total / s.gross END AS discount_depth
     FROM (SELECT * FROM asof_customers WHERE created_at IS NULL OR created_at < $2::TIMESTAMP) c LEFT JOIN days d USING (customer_id) LEFT JOIN spend s USING (customer_id)
       LEFT JOIN coupons cp USING (customer_id) LEFT JOIN responses rs USING (customer_id)`,
    [JSON.stringify(settings.emailCampaigns), cut],
  );
  const totals = await store.one<{ lines: number; discounted: number; buyers: number; events: number; unknown_campaign: number; unknown_customer: number }>(
    `SELECT coalesce(sum(lines), 0)::BIGINT AS lines, coalesce(sum(discounted_lines), 0)::BIGINT AS discounted,
       count(*) FILTER (WHERE purchase_days > 0)::BIGINT AS buyers, coalesce(sum(received + coupon_redemptions), 0)::BIGINT AS events,
       coalesce(sum(unknown_campaign), 0)::BIGINT AS unknown_campaign,
       coalesce(sum(coupon_redemptions) FILTER (WHERE events_only), 0)::BIGINT AS unknown_customer
     FROM ${FACTS}`,
  );
  const discountedLines = Number(totals?.discounted ?? 0);
  const buyers = Number(totals?.buyers ?? 0);

  const { numbers } = await store.readColumns(
    `SELECT purchase_days::DOUBLE AS n, promo_days::DOUBLE AS k, lines::DOUBLE AS lines, (purchase_days * spend_share)::DOUBLE AS spend_k
     FROM ${FACTS} WHERE purchase_days > 0 AND lines > 0`,
  );
  const hasShares = discountedLines > 0 && buyers > 0;
  const days = hasShares ? fitBetaBinomial({ k: column(numbers, 'k'), n: column(numbers, 'n') }) : null;
  const spend = hasShares ? fitBetaBinomial({ k: clampTo(column(numbers, 'spend_k'), column(numbers, 'n')), n: column(numbers, 'n') }) : null;
  const r = await store.readColumns(`SELECT responded::DOUBLE AS k, received::DOUBLE AS n FROM ${FACTS} WHERE received > 0`);
  const response = column(r.numbers, 'n').length > 0 ? fitBetaBinomial({ k: column(r.numbers, 'k'), n: column(r.numbers, 'n') }) : null;
  const typicalShare = days && spend ? (priorMean(days.params) + priorMean(spend.params)) / 2 : null;
  const typicalResponse = response ? priorMean(response.params) : null;
  // The odds ratio's reference: the typical customer's base, the trees' mean probability when they give the base.
  const reference = typicalShare === null ? null : options.next ? Math.min(0.999, Math.max(0.001, options.next.typical)) : typicalShare;

  // Posterior means and the score in SQL, with the fitted priors bound: $1-$2 days, $3-$4 spend, $5-$6 response.
  const none = Number.NaN;
  const [ad, bd] = days ? [days.params.alpha, days.params.beta] : [none, none];
  const [as, bs] = spend ? [spend.params.alpha, spend.params.beta] : [none, none];
  const [ar, br] = response ? [response.params.alpha, response.params.beta] : [none, none];
  const bind = (x: number): number | null => (Number.isFinite(x) ? x : null);
  await store.run(
    `CREATE OR REPLACE TEMP TABLE ${table} AS
     WITH shrunk AS (
       SELECT *,
         CASE WHEN $1::DOUBLE IS NOT NULL AND purchase_days > 0 THEN ($1 + promo_days) / ($1 + $2 + purchase_days) END AS share_days,
         CASE WHEN $3::DOUBLE IS NOT NULL AND purchase_days > 0 THEN ($3 + purchase_days * spend_share) / ($3 + $4 + purchase_days) END AS share_spend,
         CASE WHEN $5::DOUBLE IS NOT NULL AND received > 0 THEN ($5 + responded) / ($5 + $6 + received) END AS response_rate,
         ${options.next ? `least(0.999, greatest(0.001, np.p))` : 'NULL::DOUBLE'} AS p_next
       FROM ${FACTS} ${options.next ? `LEFT JOIN ${options.next.table} np USING (customer_id)` : ''}),
     odds AS (
       SELECT *, CASE WHEN share_days IS NOT NULL AND p_next IS NOT NULL THEN p_next ELSE (share_days + share_spend) / 2 END AS base,
         CASE WHEN p_next IS NOT NULL OR response_rate IS NULL OR $7::DOUBLE IS NULL THEN 1 ELSE pow(response_rate / $7, $8) END AS tilt
       FROM shrunk),
     scored AS (
       SELECT *, base / (1 - base) * tilt AS o FROM odds)
     SELECT customer_id,
       round(100 * o / (1 + o), 1) AS promo_appetence,
       ${labelSql('o / $9', '$10', '$11', '$12')} AS promo_label,
       round(o / $9, 3) AS promo_odds_ratio,
       share_days AS promo_share_days_shrunk, share_spend AS promo_share_spend_shrunk,
       CASE WHEN purchase_days > 0 THEN promo_days::DOUBLE / purchase_days END AS promo_share_days_raw,
       CASE WHEN lines > 0 THEN spend_share END AS promo_share_spend_raw,
       CASE WHEN $1::DOUBLE IS NOT NULL AND purchase_days > 0 THEN promo_days END AS promo_days,
       CASE WHEN purchase_days > 0 THEN purchase_days END AS promo_purchase_days,
       CASE WHEN purchase_days > 0 THEN round(discount_total, 2) END AS discount_received,
       coupon_redemptions, received AS promo_campaigns_received, responded AS promo_campaigns_responded,
       response_rate AS promo_response_rate_shrunk,
       CASE WHEN share_days IS NOT NULL THEN coalesce(p_next, share_days) END AS promo_next_purchase_probability
     FROM scored`,
    [
      bind(ad), bind(bd), bind(as), bind(bs), bind(ar), bind(br),
      typicalResponse, settings.responseWeight,
      reference === null ? null : reference / (1 - reference),
      settings.drivenFrom, settings.sensitiveFrom, settings.fullPriceBelow,
    ],
  );
  if (options.features) {
    await store.run(
      `CREATE OR REPLACE TEMP TABLE ${options.features} AS
       SELECT f.customer_id, f.purchase_days::DOUBLE AS purchase_days, f.promo_days::DOUBLE AS promo_days,
         (f.promo_days / f.purchase_days)::DOUBLE AS share_days_raw, f.spend_share::DOUBLE AS spend_share,
         t.promo_share_days_shrunk AS share_days_shrunk, t.promo_share_spend_shrunk AS share_spend_shrunk, f.lines::DOUBLE AS lines,
         f.discount_depth::DOUBLE AS discount_depth, f.recency_days::DOUBLE AS recency_days, f.tenure_days::DOUBLE AS tenure_days,
         f.last_day_promo::DOUBLE AS last_day_promo, f.recent_days::DOUBLE AS recent_days, f.recent_promo_days::DOUBLE AS recent_promo_days,
         f.coupon_redemptions::DOUBLE AS coupon_redemptions, f.received::DOUBLE AS received, f.responded::DOUBLE AS responded,
         t.promo_response_rate_shrunk AS response_rate_shrunk
       FROM ${FACTS} f JOIN ${table} t USING (customer_id) WHERE f.purchase_days > 0 ORDER BY f.customer_id`,
    );
  }
  await store.run(`DROP TABLE IF EXISTS ${FACTS}`);
  return {
    saleLines: Number(totals?.lines ?? 0),
    discountedLines,
    buyers,
    promoEvents: Number(totals?.events ?? 0),
    redemptionsUnknownCampaign: Number(totals?.unknown_campaign ?? 0),
    redemptionsUnknownCustomer: Number(totals?.unknown_customer ?? 0),
    priors: { days, spend, response },
    typicalShare,
    typicalResponse,
  };
}

/** k clamped into [0, n] (a share times the trials can exceed n by rounding). */
function clampTo(k: Float64Array, n: Float64Array): Float64Array {
  return Float64Array.from(k, (v, i) => Math.min(n[i] as number, Math.max(0, v)));
}
