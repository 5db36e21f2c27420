// The engagement scorer's backtest: does the engagement score at the cut rank who buys in the holdout better than RFM recency?
import { BASELINE_NAMES, recencyScore } from '../../backtest/baselines.js';
import { formatNumber, formatPercent } from '../../backtest/format.js';
import { liftAtFraction, prAuc, rocAuc, rocCurve } from '../../backtest/metrics.js';
import { gradedSection, row, thinRoc } from '../../backtest/sections.js';
import { loadEvaluationData, POPULATION_TABLE } from '../../backtest/split.js';
import type { ChartSpec } from '../../backtest/types.js';
import { KairosError } from '../../errors.js';
import type { BacktestContext, BacktestResult } from '../types.js';
import { createActivityTable } from './activity.js';

const TABLE = '__engagement_backtest';

/** The engagement backtest's numbers, unrounded. */
export interface EngagementBacktestDetails {
  /** Events before the cut; 0 means no section (nothing to grade). */
  readonly events: number;
  /** Customers with a purchase before the cut (the report's population), and the share who bought in the holdout. */
  readonly customers: number;
  readonly boughtShare: number;
  readonly auc: number | null;
  readonly aucRecency: number | null;
}

/**
 * Scores engagement at the cut from the calibration's events (the as-of views of the split) and grades it as a ranking
 * of who buys in the holdout, among the customers with a purchase before the cut: ROC AUC (headline), PR AUC and
 * lift at 10%, against RFM recency. Engagement is not a probability: no Brier score or reliability chart. Without an
 * event before the cut there is nothing to grade: no section, a summary line says so.
 */
export async function backtestEngagement(ctx: BacktestContext): Promise<BacktestResult> {
  const { store, split } = ctx;
  ctx.progress('engagement: weighing the calibration events');
  const facts = await createActivityTable(store, TABLE, split.cut, ctx.config.engagement);
  try {
    if (facts.events === 0) {
      return {
        sections: [],
        summary: [`engagement: no event before ${split.cut.slice(0, 10)}: not backtested`],
        details: { events: 0, customers: 0, boughtShare: 0, auc: null, aucRecency: null } satisfies EngagementBacktestDetails,
      };
    }
    const data = await loadEvaluationData(store, split);
    const n = data.summary.customerIds.length;
    const { numbers } = await store.readColumns(
      `SELECT p.idx, coalesce(t.engagement_score, 0)::DOUBLE AS score FROM ${POPULATION_TABLE} p LEFT JOIN ${TABLE} t USING (customer_id) ORDER BY p.idx`,
    );
    const score = numbers['score'];
    if (!score || score.length !== n) throw new KairosError('INTERNAL', 'engagement backtest: scores do not align with the calibration population');
    const bought = Float64Array.from(data.outcomes.purchases, (v) => (v > 0 ? 1 : 0));
    const recency = recencyScore(data.summary.transactions.tx, data.summary.transactions.T);
    const share = bought.reduce((a, b) => a + b, 0) / n;
    const curve = rocCurve(bought, score);
    const charts: ChartSpec[] = curve ? [{ kind: 'roc', title: 'ROC curve', points: thinRoc(curve), auc: rocAuc(bought, score) }] : [];
    const r = BASELINE_NAMES.recency;
    const section = gradedSection({
      name: 'Engagement score vs buying in the holdout',
      kind: 'probability',
      description:
        `The engagement score at the cut (0-100, from the events before it), against whether the customer bought in the ${formatNumber(split.holdoutDays)}-day holdout ` +
        `(${formatPercent(share)} of the ${formatNumber(n)} customers with a purchase before the cut did). A score, not a probability: graded on how it ranks ` +
        `customers (ROC AUC), against '${r}' (the more recent the last purchase, the higher).`,
      model: 'engagement',
      parameters: [],
      metrics: [
        row('ROC AUC', rocAuc(bought, score), rocAuc(bought, recency), r, 'higher'),
        row('PR AUC (average precision)', prAuc(bought, score), prAuc(bought, recency), r, 'higher'),
        row('Lift at 10%', liftAtFraction(bought, score, 0.1), liftAtFraction(bought, recency, 0.1), r, 'higher'),
      ],
      charts,
    });
    const details: EngagementBacktestDetails = {
      events: facts.events,
      customers: n,
      boughtShare: share,
      auc: section.metrics[0]?.model ?? null,
      aucRecency: section.metrics[0]?.baseline ?? null,
    };
    const [m, b] = [details.auc, details.aucRecency].map((x) => (x === null ? 'n/a' : formatNumber(x, 3)));
    return { sections: [section], summary: [`engagement: ROC AUC ${m} for buying in the holdout, ${r} ${b}`], details };
  } finally {
    await store.run(`DROP TABLE IF EXISTS ${TABLE}`);
  }
}
