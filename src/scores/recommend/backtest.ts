// The recommendations' backtest: the recommender the scorer would choose, fitted on the calibration, graded on the holdout's buyers against popularity and buy-again.
import { formatNumber, formatPercent } from '../../backtest/format.js';
import { gradedSection, row } from '../../backtest/sections.js';
import { HOLDOUT_VIEW } from '../../backtest/split.js';
import type { RankingMetrics } from '../../ml/recommend/metrics.js';
import type { RecommenderName } from '../../ml/recommend/index.js';
import { formatCount } from '../../util/format.js';
import type { BacktestContext, BacktestResult } from '../types.js';
import { chooseRecommender, gradeRecommenders, GRADED_K, type GradedRecommender, type RecommenderChoice } from './choose.js';
import { createIndex, dropRecommendData, hasProductInteractions, readInteractions, readRelevant } from './data.js';

/** The recommendation backtest's numbers, unrounded. */
export interface RecommendBacktestDetails {
  /** The scorer's choice on the calibration (its own inner holdout). */
  readonly choice: RecommenderChoice | null;
  /** Every recommender fitted on the calibration and graded on the holdout, baselines included. */
  readonly graded: readonly GradedRecommender[];
  /** Customers graded: those who bought a product in the holdout that their exclusions allow. */
  readonly buyers: number;
}

const BASELINES: readonly RecommenderName[] = ['popularity', 'buy-again'];

/** "NDCG@10 0.081, precision 0.020, recall 0.071, hit rate 15.2%, coverage 31%, novelty 7.4". */
function figures(m: RankingMetrics): string {
  return (
    `NDCG@${m.k} ${formatNumber(m.ndcg)}, precision ${formatNumber(m.precision)}, recall ${formatNumber(m.recall)}, ` +
    `hit rate ${formatPercent(m.hitRate)}, coverage ${formatPercent(m.coverage)}, novelty ${formatNumber(m.novelty)}`
  );
}

/**
 * Chooses the recommender as the scorer would at the cut (its inner holdout inside the calibration), fits it and the
 * baselines on every interaction before the cut, recommends the top 10 to every customer, and grades the lists of the
 * customers who bought in the holdout (products their exclusions allow) on NDCG@10 (headline), precision, recall, hit
 * rate, catalogue coverage and novelty, against the better of popularity and buy-again on NDCG@10.
 */
export async function backtestRecommend(ctx: BacktestContext): Promise<BacktestResult> {
  const { store, split } = ctx;
  const s = ctx.config.recommend;
  const src = {
    orders: 'asof_orders',
    events: 'asof_events',
    customers: 'asof_customers',
    cut: split.cut,
    extraUsers: `(SELECT DISTINCT customer_id FROM ${HOLDOUT_VIEW} WHERE product_id IS NOT NULL AND quantity > 0)`,
  };
  const none = (why: string): BacktestResult => ({ sections: [], summary: [`recommend: ${why}: not backtested`], details: { choice: null, graded: [], buyers: 0 } });
  if (!s.enabled) return none('disabled (recommend.enabled)');
  if (!(await hasProductInteractions(store, src, s))) return none(`no order line or product event with a product id before ${split.cut.slice(0, 10)}`);
  try {
    ctx.progress('recommend: indexing the calibration');
    const index = await createIndex(store, src, s);
    ctx.progress('recommend: choosing the recommender on the calibration');
    const choice = await chooseRecommender(store, src, index, s);
    const train = await readInteractions(store, src, index, split.cut, s);
    const relevant = await readRelevant(store, HOLDOUT_VIEW, index, split.cut, split.holdoutEnd, train.bought);
    if (relevant.indptr[relevant.rows] === 0) return none('no customer bought a product in the holdout that could have been recommended');
    const names = [...new Set<RecommenderName>([...s.candidates, ...BASELINES])];
    ctx.progress(`recommend: grading ${names.join(', ')} on the holdout`);
    const graded = await gradeRecommenders(names, train.matrix, train.bought, relevant, index, s);
    const of = (name: RecommenderName): RankingMetrics => (graded.find((g) => g.name === name) as GradedRecommender).metrics;
    const model = of(choice.chosen);
    const baselineName = of('popularity').ndcg >= of('buy-again').ndcg ? 'popularity' : 'buy-again';
    const base = of(baselineName);
    const buyers = model.users;
    const section = gradedSection({
      name: `Recommendations (top ${GRADED_K} products)`,
      kind: 'ranking',
      description:
        `Each customer's top ${GRADED_K} at the cut from ${choice.chosen} (chosen as the scorer chooses, on the last ${s.holdoutDays} days of the calibration), ` +
        `against the products the ${formatCount(buyers)} customers who bought in the holdout went on to buy (leaving out what they had bought before, unless consumable), ` +
        `compared with the better baseline on NDCG@${GRADED_K}, ${baselineName} (popularity: the most bought products; buy-again: the customer's own products).`,
      model: choice.chosen,
      parameters: [],
      metrics: [
        row(`NDCG@${GRADED_K}`, model.ndcg, base.ndcg, baselineName, 'higher'),
        row(`Precision@${GRADED_K}`, model.precision, base.precision, baselineName, 'higher'),
        row(`Recall@${GRADED_K}`, model.recall, base.recall, baselineName, 'higher'),
        row(`Hit rate@${GRADED_K}`, model.hitRate, base.hitRate, baselineName, 'higher'),
        row('Catalogue coverage', model.coverage, base.coverage, baselineName, 'higher'),
        row('Novelty (mean -log2 popularity)', model.novelty, base.novelty, baselineName, 'higher'),
      ],
      charts: [
        {
          kind: 'ranking-metrics',
          title: `Top ${GRADED_K} of every recommender on the ${formatCount(buyers)} holdout buyers`,
          metrics: [`NDCG@${GRADED_K}`, `Precision@${GRADED_K}`, `Recall@${GRADED_K}`, `Hit rate@${GRADED_K}`],
          series: graded.map((g) => ({ name: g.name, values: [g.metrics.ndcg, g.metrics.precision, g.metrics.recall, g.metrics.hitRate], chosen: g.name === choice.chosen })),
        },
      ],
    });
    const summary = [
      `recommend: ${choice.chosen} (chosen on the calibration's last ${s.holdoutDays} days) on ${formatCount(buyers)} holdout buyers, ${figures(model)}`,
      ...graded.filter((g) => g.name !== choice.chosen).map((g) => `recommend:   ${g.name}: ${figures(g.metrics)}`),
    ];
    return { sections: [section], summary, details: { choice, graded, buyers } satisfies RecommendBacktestDetails };
  } finally {
    await dropRecommendData(store);
  }
}
