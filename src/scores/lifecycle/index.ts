// Lifecycle stages: prospect, new, active, loyal, at risk, lapsed, reactivated, by documented rules over RFM and the purchase model's churn figures.
import type { LifecycleSettings } from '../../config.js';
import { formatProbability } from '../../util/format.js';
import type { Scorer, ScoreContext, ScorerResult } from '../types.js';

/** The stages, in the order the rules are tried (the first that holds is the customer's stage). */
export const LIFECYCLE_STAGES = ['prospect', 'lapsed', 'new', 'reactivated', 'at risk', 'loyal', 'active'] as const;
export type LifecycleStage = (typeof LIFECYCLE_STAGES)[number];

/** Each rule in words, with the settings' numbers: docs/scores.md and `kairos show` say the same. */
export function stageRules(s: LifecycleSettings): Record<LifecycleStage, string> {
  return {
    prospect: 'no purchase before the as-of date',
    lapsed: `no purchase for more than ${s.lapsedDays} days`,
    new: `first purchase within the last ${s.newDays} days`,
    reactivated: `bought within the last ${s.activeDays} days after a gap of at least ${s.lapsedDays} days`,
    'at risk': `the churn decisive date has passed, or the purchase model's churn risk is at least ${formatProbability(s.atRiskChurnRisk)}`,
    loyal: `at least ${s.loyalPurchases} purchases, the first at least ${s.loyalTenureDays} days ago`,
    active: `bought within the last ${s.lapsedDays} days, none of the above`,
  };
}

const RESULT = '__score_lifecycle';

export const lifecycleScorer: Scorer = {
  name: 'lifecycle',
  version: '1.0.0',
  description: 'Lifecycle stage of every customer and prospect (prospect, new, active, loyal, at risk, lapsed, reactivated) by documented rules (lifecycle settings).',
  dependsOn: ['rfm', 'clv'],
  columns: [
    { name: 'lifecycle_stage', type: 'text', unit: 'none', description: `the first of ${LIFECYCLE_STAGES.join(', ')} whose rule holds (docs/scores.md, "Lifecycle stages")` },
    { name: 'previous_purchase_date', type: 'date', unit: 'none', description: 'the purchase day before the last one (how long the gap before the last purchase was)' },
  ],

  async run(ctx: ScoreContext): Promise<ScorerResult> {
    const s = ctx.config.lifecycle;
    // The day before the last purchase day: from the order lines that sold something (a purchase day as RFM counts
    // them is a day with such a line), the latest two days per customer.
    await ctx.store.run(
      `CREATE OR REPLACE TEMP TABLE ${RESULT} AS
       WITH days AS (SELECT DISTINCT customer_id, ordered_at::DATE AS d FROM asof_orders WHERE amount > 0),
       last2 AS (SELECT customer_id, max(d) AS last_day, list(d ORDER BY d DESC)[2] AS previous_day FROM days GROUP BY 1),
       base AS (
         SELECT r.customer_id, r.frequency, r.first_order_date, r.last_order_date, r.recency_days, l.previous_day,
           c.churn_decisive_date, c.churn_risk_purchase_model AS churn_risk,
           date_diff('day', r.first_order_date, $1::TIMESTAMP::DATE) AS tenure_days,
           date_diff('day', l.previous_day, r.last_order_date) AS gap_days
         FROM ${ctx.resultsOf('rfm')} r LEFT JOIN ${ctx.resultsOf('clv')} c USING (customer_id) LEFT JOIN last2 l USING (customer_id))
       SELECT customer_id,
         CASE
           WHEN coalesce(frequency, 0) = 0 OR last_order_date IS NULL THEN 'prospect'
           WHEN recency_days > $2 THEN 'lapsed'
           WHEN tenure_days <= $3 THEN 'new'
           WHEN recency_days <= $4 AND gap_days >= $2 THEN 'reactivated'
           WHEN churn_decisive_date < $1::TIMESTAMP::DATE OR churn_risk >= $5 THEN 'at risk'
           WHEN frequency >= $6 AND tenure_days >= $7 THEN 'loyal'
           ELSE 'active'
         END AS lifecycle_stage,
         previous_day AS previous_purchase_date
       FROM base`,
      [ctx.asOf, s.lapsedDays, s.newDays, s.activeDays, s.atRiskChurnRisk, s.loyalPurchases, s.loyalTenureDays],
    );
    const counts = await ctx.store.all<{ stage: string; n: number }>(`SELECT lifecycle_stage AS stage, count(*)::INTEGER AS n FROM ${RESULT} GROUP BY 1 ORDER BY 2 DESC`);
    return {
      table: RESULT,
      models: [],
      notes: [`lifecycle: ${counts.map((c) => `${c.stage} ${c.n.toLocaleString('en')}`).join(', ')}`],
    };
  },

  explain(row) {
    const stage = row['lifecycle_stage'] as LifecycleStage | null | undefined;
    if (!stage) return ['no lifecycle stage: the customer was not scored by RFM in this run'];
    const facts: string[] = [];
    if (row['recency_days'] !== null && row['recency_days'] !== undefined) facts.push(`last purchase ${String(row['recency_days'])} days before the as-of date`);
    if (row['frequency'] !== null && row['frequency'] !== undefined && Number(row['frequency']) > 0) facts.push(`${String(row['frequency'])} purchase(s) since ${String(row['first_order_date'])}`);
    if (row['previous_purchase_date']) facts.push(`the one before on ${String(row['previous_purchase_date'])}`);
    if (row['churn_decisive_date']) facts.push(`churn decisive date ${String(row['churn_decisive_date'])}`);
    if (row['churn_risk_purchase_model'] !== null && row['churn_risk_purchase_model'] !== undefined) facts.push(`churn risk ${formatProbability(Number(row['churn_risk_purchase_model']))}`);
    return [`stage ${stage}${facts.length ? ` (${facts.join('; ')})` : ''}`];
  },
};
