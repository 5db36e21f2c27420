// Product recommendations per customer: item-knn, implicit ALS or popularity (chosen on an inner holdout), top k with reasons, for activation.
import type { Csr, RecommenderName } from '../../ml/recommend/index.js';
import { formatNumber } from '../../backtest/format.js';
import { formatCount } from '../../util/format.js';
import type { Scorer, ScoreContext, ScorerResult } from '../types.js';
import { backtestRecommend } from './backtest.js';
import { chooseRecommender, exclusionsOf, fitRecommender, GRADED_K, MIN_CHOICE_BUYERS, recommendEveryone, type RecommenderChoice } from './choose.js';
import { createIndex, hasProductInteractions, ITEMS_TABLE, readInteractions, rowHas, USERS_TABLE, type RecommendIndex } from './data.js';

const NAME = 'recommend';
const VERSION = '1.0.0';
const RESULT = '__score_recommend';
const ROWS = '__recommend_rows';
const MODELS = '__recommend_models';
const ITEMS = '__recommend_items';

/** The reasons, in words (item-knn names the customer's product behind each). */
export const REASONS = { popular: 'popular now', als: 'customers like you bought it' } as const;

/** The result of a run without product interactions: every customer, no model. */
async function emptyResult(ctx: ScoreContext, note: string): Promise<ScorerResult> {
  await ctx.store.run(`CREATE OR REPLACE TEMP TABLE ${RESULT} AS SELECT customer_id, NULL::VARCHAR AS recommender_model FROM asof_customers`);
  await ctx.store.run(
    `CREATE OR REPLACE TEMP TABLE ${ITEMS} AS SELECT NULL::VARCHAR AS customer_id, NULL::INTEGER AS rank, NULL::VARCHAR AS key, NULL::DOUBLE AS value, NULL::VARCHAR AS reason WHERE false`,
  );
  return { table: RESULT, items: { recommendations: ITEMS }, models: [], notes: [note] };
}

/** "item-knn NDCG@10 0.081, als 0.074, popularity 0.052 (buy-again 0.010)". */
function choiceFigures(choice: RecommenderChoice): string {
  if (choice.graded === null) return '';
  const shown = choice.graded.filter((g) => g.name !== 'buy-again').map((g) => `${g.name} ${formatNumber(g.metrics.ndcg, 3)}`);
  const again = choice.graded.find((g) => g.name === 'buy-again');
  return `NDCG@${GRADED_K} ${shown.join(', ')}${again ? ` (buy-again ${formatNumber(again.metrics.ndcg, 3)})` : ''} on ${formatCount(choice.graded[0]?.metrics.users ?? 0)} buyers`;
}

/** The note on the choice: which won, by how much over the next best, and every figure. */
function choiceNote(choice: RecommenderChoice, s: ScoreContext['config']['recommend']): string {
  if (choice.graded === null) {
    return s.candidates.length === 1
      ? `recommend: ${choice.chosen}, the only candidate (recommend.candidates)`
      : `recommend: ${formatCount(choice.buyers)} customer(s) bought in the ${s.holdoutDays} days before the as-of, fewer than the ${MIN_CHOICE_BUYERS} needed to compare the candidates: ${choice.chosen} used`;
  }
  const others = choice.graded.filter((g) => g.name !== 'buy-again' && g.name !== choice.chosen);
  const won = choice.graded.find((g) => g.name === choice.chosen)?.metrics.ndcg ?? 0;
  const next = others.reduce((a, g) => Math.max(a, g.metrics.ndcg), 0);
  const margin = others.length === 0 ? '' : next > 0 ? ` by ${Math.round((won / next - 1) * 100)}% over the next best` : ' (the others scored 0)';
  return `recommend: ${choice.chosen} chosen on the last ${s.holdoutDays} days before the as-of${margin}: ${choiceFigures(choice)}`;
}

/** The notes on the catalogue's oddities: uncategorised products, order lines of unknown products. */
function catalogueNotes(index: RecommendIndex): string[] {
  const f = index.facts;
  const notes: string[] = [];
  if (f.uncategorised > 0) notes.push(`recommend: ${formatCount(f.uncategorised)} product(s) without a category, shown as 'uncategorised'`);
  if (f.unknownLines > 0) {
    notes.push(
      `recommend: ${formatCount(f.unknownLines)} order line(s) of ${formatCount(f.unknownProducts)} product(s) not in the product catalogue: kept as interactions, never recommended`,
    );
  }
  if (f.catalogue === 0) notes.push('recommend: no product catalogue (kairos ingest products): every product of the orders and events may be recommended');
  return notes;
}

export const recommendScorer: Scorer = {
  name: NAME,
  version: VERSION,
  description: 'Top products per customer (item-knn, implicit ALS or popularity, chosen on an inner holdout), with a reason each, for activation.',
  columns: [
    {
      name: 'recommender_model',
      type: 'text',
      unit: 'none',
      description: "the recommender of the customer's list: item-knn, als or popularity (popularity also for customers without a history to go on)",
    },
  ],
  items: [
    {
      name: 'recommendations',
      kind: 'product',
      shape: 'ranked',
      unit: 'score',
      description: 'recommended products, best first, with a reason each (what the customer bought already is left out unless consumable)',
      keep: 10,
      view: { name: 'customer_recommendations', key: 'product_id', value: 'score' },
    },
  ],

  async run(ctx: ScoreContext): Promise<ScorerResult> {
    const s = ctx.config.recommend;
    const { store } = ctx;
    if (!s.enabled) return emptyResult(ctx, 'recommend: disabled (recommend.enabled): no recommendations');
    const src = { orders: 'asof_orders', events: 'asof_events', customers: 'asof_customers', cut: ctx.asOf };
    if (!(await hasProductInteractions(store, src, s))) {
      return emptyResult(ctx, 'recommend: no order line or product event with a product id before the as-of: no recommendations (ingest products and orders with product_id)');
    }
    ctx.progress('recommend: indexing customers and products');
    const index = await createIndex(store, src, s);
    ctx.progress(`recommend: choosing among ${s.candidates.join(', ')} on the last ${s.holdoutDays} days`);
    const choice = await chooseRecommender(store, src, index, s);
    ctx.progress(`recommend: fitting ${choice.chosen} and recommending`);
    const all = await readInteractions(store, src, index, ctx.asOf, s);
    const fit = await fitRecommender(choice.chosen, all.matrix, s, index.segments);
    const table = await recommendEveryone(fit, all.matrix, s.k, exclusionsOf(index, all.bought));
    const rows = listRows(index, choice.chosen, table, all.bought, s.k);
    store.exposeColumns(ROWS, [
      { name: 'customer_id', type: 'VARCHAR', values: rows.customer },
      { name: 'rank', type: 'INTEGER', values: rows.rank },
      { name: 'key', type: 'VARCHAR', values: rows.key },
      { name: 'value', type: 'DOUBLE', values: rows.value },
      { name: 'reason', type: 'VARCHAR', values: rows.reason },
    ]);
    store.exposeColumns(MODELS, [
      { name: 'customer_id', type: 'VARCHAR', values: index.customerIds },
      { name: 'recommender_model', type: 'VARCHAR', values: rows.model },
    ]);
    // Only the customers of the as-of date: order lines may name customers the customers table does not have.
    await store.run(`CREATE OR REPLACE TEMP TABLE ${ITEMS} AS SELECT * FROM ${ROWS}() WHERE customer_id IN (SELECT customer_id FROM asof_customers)`);
    await store.run(
      `CREATE OR REPLACE TEMP TABLE ${RESULT} AS SELECT c.customer_id, m.recommender_model FROM asof_customers c LEFT JOIN ${MODELS}() m USING (customer_id)`,
    );
    const listed = Number(await store.value(`SELECT count(DISTINCT customer_id) FROM ${ITEMS}`));
    const notes = [
      choiceNote(choice, s),
      `recommend: ${formatCount(listed)} customers with a list (${formatCount(all.lines)} order lines and product events; ${formatCount(index.facts.recommendable)} products bought or viewed may be recommended` +
        `${index.facts.repurchasable > 0 ? `, ${formatCount(index.facts.repurchasable)} of them consumable` : ''}); customers without a purchase or product event get none`,
      ...catalogueNotes(index),
    ];
    // The fit's record for `kairos models`: what was chosen on which figures, its sizes, settings and diagnostics (not
    // the factors or neighbour tables themselves: at a million customers they are gigabytes, not a JSON document).
    const record = {
      model: `recommender-${choice.chosen}`,
      fit: {
        chosen: choice.chosen,
        innerCut: choice.innerCut,
        innerBuyers: choice.buyers,
        graded: choice.graded?.map((g) => ({ name: g.name, ndcg: g.metrics.ndcg, recall: g.metrics.recall, hitRate: g.metrics.hitRate, coverage: g.metrics.coverage })) ?? null,
        customers: all.matrix.users,
        products: all.matrix.items,
        interactions: all.matrix.nnz,
        settings: { k: s.k, halfLifeDays: s.halfLifeDays, eventWeights: s.eventWeights, consumableCategories: s.consumableCategories, als: s.als, itemKnn: s.itemKnn },
        diagnostics: fit.diagnostics,
      },
    };
    return { table: RESULT, items: { recommendations: ITEMS }, temporaries: [ROWS, MODELS, USERS_TABLE, ITEMS_TABLE], models: [record], notes };
  },

  explain(row, ctx) {
    const model = row['recommender_model'];
    const items = ctx.items['recommendations'] ?? [];
    if (model === null || model === undefined || items.length === 0) {
      return ['no recommendations: no product bought or viewed before the as-of date, or none left once what was bought is left out'];
    }
    const top = items.slice(0, 3).map((r) => `${r.key}${r.reason ? ` (${r.reason})` : ''}`);
    return [`${items.length} product(s) recommended by ${String(model)}, first ${top.join(', ')}`];
  },

  backtest: backtestRecommend,
};

/** The stored rows of a recommendation table: each customer's list with reasons, and the model each list came from. */
function listRows(
  index: RecommendIndex,
  chosen: RecommenderName,
  t: { users: number; k: number; items: Int32Array; scores: Float32Array; because: Int32Array | null },
  bought: Csr,
  k: number,
): { customer: string[]; rank: number[]; key: string[]; value: number[]; reason: string[]; model: (string | null)[] } {
  const out = { customer: [] as string[], rank: [] as number[], key: [] as string[], value: [] as number[], reason: [] as string[], model: [] as (string | null)[] };
  for (let u = 0; u < t.users; u++) {
    let fromModel = 0;
    let n = 0;
    for (let r = 0; r < k; r++) {
      const j = t.items[u * k + r] as number;
      if (j < 0) continue;
      const score = t.scores[u * k + r] as number;
      const because = t.because === null ? -1 : (t.because[u * k + r] as number);
      let reason: string = REASONS.popular;
      if (chosen === 'item-knn' && because >= 0) {
        reason = `because you ${rowHas(bought, u, because) ? 'bought' : 'looked at'} ${index.names[because] ?? index.productIds[because]}`;
      } else if (chosen === 'als' && score !== 0) reason = REASONS.als;
      if (reason !== REASONS.popular || chosen === 'popularity') fromModel++;
      out.customer.push(index.customerIds[u] as string);
      out.rank.push(++n);
      out.key.push(index.productIds[j] as string);
      out.value.push(score);
      out.reason.push(reason);
    }
    out.model.push(n === 0 ? null : fromModel > 0 ? chosen : 'popularity');
  }
  return out;
}
