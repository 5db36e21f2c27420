// The stored recommendations as activation reads them: one customer's list with product names, and the long or wide table for a CRM.
import { KairosError } from '../../errors.js';
import type { Store } from '../../store/db.js';
import type { ScoreRegistry } from '../registry.js';
import { resultsTable, storedResults, type StoredResults } from '../results.js';
import { ITEM_DEFAULTS } from '../types.js';

/** The scorer and item output the lists come from. */
const SCORER = 'recommend';
const VIEW = 'customer_recommendations';

/** One recommended product, for people. */
export interface RecommendedProduct {
  readonly rank: number;
  readonly product_id: string;
  readonly name: string | null;
  readonly category: string;
  readonly score: number;
  readonly reason: string | null;
}

/** One customer's stored list: which recommender made it, as of when, and the products. */
export interface CustomerRecommendations {
  readonly customerId: string;
  readonly runId: number;
  /** 'YYYY-MM-DD'. */
  readonly asOf: string;
  readonly model: string | null;
  readonly products: readonly RecommendedProduct[];
}

/** The published run of the recommendations; NOT_FOUND when none was stored yet. */
export async function publishedRecommendations(store: Store, registry: ScoreRegistry): Promise<StoredResults> {
  const st = (await storedResults(store, registry)).get(SCORER);
  if (st === undefined) throw new KairosError('NOT_FOUND', 'no recommendations stored yet', { hint: 'run `kairos score` (with products and orders that carry product_id)' });
  return st;
}

/** A customer's recommendations with product names and categories, best first; NOT_FOUND for an unknown customer. */
export async function customerRecommendations(store: Store, registry: ScoreRegistry, customerId: string): Promise<CustomerRecommendations> {
  const known = await store.value('SELECT count(*) FROM customers WHERE customer_id = ?', [customerId]);
  if (Number(known) === 0) {
    throw new KairosError('NOT_FOUND', `customer "${customerId}" not found`, { hint: 'ids are case-sensitive; list some with kairos sql "SELECT customer_id FROM customers LIMIT 5"' });
  }
  const st = await publishedRecommendations(store, registry);
  const model = await store.value<string | null>(`SELECT any_value(recommender_model) FROM ${resultsTable(SCORER)} WHERE run_id = ? AND customer_id = ?`, [st.runId, customerId]);
  const products = await store.all<RecommendedProduct & Record<string, unknown>>(
    `SELECT r.rank, r.product_id, p.name, coalesce(p.category, 'uncategorised') AS category, r.score, r.reason
     FROM ${VIEW} r LEFT JOIN products p USING (product_id) WHERE r.customer_id = ? ORDER BY r.rank`,
    [customerId],
  );
  return { customerId, runId: st.runId, asOf: st.asOf.slice(0, 10), model: model ?? null, products };
}

export const RECOMMENDATION_SHAPES = ['long', 'wide'] as const;
export type RecommendationShape = (typeof RECOMMENDATION_SHAPES)[number];

/**
 * SQL of the recommendations for a CRM, from the published run: `long`, a row per customer and product (customer_id,
 * rank, product_id, product_name, category, score, reason); `wide`, a row per customer (customer_id,
 * recommender_model, then product_<r>, product_name_<r>, reason_<r> for each rank).
 */
export async function recommendationsSql(store: Store, registry: ScoreRegistry, shape: RecommendationShape): Promise<{ sql: string; order: string }> {
  if (!RECOMMENDATION_SHAPES.includes(shape)) throw new KairosError('USAGE', `invalid shape "${String(shape)}" (expected one of ${RECOMMENDATION_SHAPES.join(', ')})`);
  const st = await publishedRecommendations(store, registry);
  const long = `SELECT r.customer_id, r.rank, r.product_id, p.name AS product_name, coalesce(p.category, 'uncategorised') AS category, r.score, r.reason
    FROM ${VIEW} r LEFT JOIN products p USING (product_id)`;
  if (shape === 'long') return { sql: `(${long})`, order: 'customer_id, rank' };
  const output = registry.get(SCORER).items?.[0];
  const keep = output?.keep ?? ITEM_DEFAULTS.keep;
  const ranks = Array.from({ length: keep }, (_, i) => i + 1);
  const pivot = ranks.flatMap((r) => [
    `max(l.product_id) FILTER (WHERE l.rank = ${r}) AS product_${r}`,
    `max(l.product_name) FILTER (WHERE l.rank = ${r}) AS product_name_${r}`,
    `max(l.reason) FILTER (WHERE l.rank = ${r}) AS reason_${r}`,
  ]);
  return {
    sql: `(SELECT l.customer_id, any_value(s.recommender_model) AS recommender_model, ${pivot.join(', ')}
      FROM (${long}) l LEFT JOIN (SELECT customer_id, recommender_model FROM ${resultsTable(SCORER)} WHERE run_id = ${st.runId}) s USING (customer_id)
      GROUP BY l.customer_id)`,
    order: 'customer_id',
  };
}
