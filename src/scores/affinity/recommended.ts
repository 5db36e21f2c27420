// The recommender's scores aggregated to product groups: the affinity pairs' feature g_rec, made at each cut from the interactions before it.
import type { RecommendSettings } from '../../config.js';
import { quoteIdentifier, type Store } from '../../store/db.js';
import { exclusionsOf, fitRecommender, recommendEveryone } from '../recommend/choose.js';
import { createIndex, dropRecommendData, hasProductInteractions, ITEMS_TABLE, readInteractions } from '../recommend/data.js';

/** Products per customer whose scores are summed per group. */
export const REC_TOP = 20;

/** What the aggregation reads: as-of relations, the cut, the product groups and the scored groups, the recommendation settings. */
export interface RecommendedGroupsOptions {
  readonly cut: string;
  readonly orders: string;
  readonly events: string;
  readonly customers: string;
  readonly productGroups: string;
  readonly scored: string;
  readonly settings: RecommendSettings;
}

/**
 * Writes `table` (customer_id, grp, g_rec): item-knn (the recommend scorer's item-item neighbourhood, with its
 * interaction weights, exclusions and support floor) fitted on the interactions strictly before the cut, each
 * customer's top REC_TOP products, and per scored group the share of the customer's recommendation score that falls
 * in the group. Item-knn rather than the recommender the scorer chooses: it is refitted at every training cut, so it
 * must be cheap, and it is deterministic (ALS's fits are not the same across thread counts to the last bit). Products
 * padded from popularity (a customer whose items have no neighbour) carry no personal signal and are left out; a
 * customer with no recommendation has no row (g_rec 0 in the pairs). With recommendations off or no product
 * interaction before the cut, the table is empty. Returns the rows written.
 */
export async function writeRecommendedGroups(store: Store, table: string, o: RecommendedGroupsOptions): Promise<number> {
  const t = quoteIdentifier(table);
  await store.run(`CREATE OR REPLACE TEMP TABLE ${t} (customer_id VARCHAR, grp VARCHAR, g_rec DOUBLE)`);
  const src = { orders: o.orders, events: o.events, customers: o.customers, cut: o.cut };
  if (!o.settings.enabled || !(await hasProductInteractions(store, src, o.settings))) return 0;
  try {
    const index = await createIndex(store, src, o.settings);
    const inter = await readInteractions(store, src, index, o.cut, o.settings);
    if (inter.matrix.nnz === 0) return 0;
    // The scored group of each indexed product (-1: in no scored group).
    const { numbers, texts } = await store.readColumns(
      `SELECT i.j::DOUBLE AS j, g.grp FROM ${ITEMS_TABLE} i JOIN ${quoteIdentifier(o.productGroups)} g USING (product_id) JOIN ${quoteIdentifier(o.scored)} s USING (grp)`,
    );
    const names = [...new Set(texts['grp'] ?? [])].sort();
    const groupOf = new Map(names.map((g, n) => [g, n]));
    const itemGroup = new Int32Array(inter.matrix.items).fill(-1);
    const js = numbers['j'] as Float64Array;
    (texts['grp'] ?? []).forEach((g, r) => (itemGroup[js[r] as number] = groupOf.get(g) as number));
    const fit = await fitRecommender('item-knn', inter.matrix, o.settings);
    const recs = await recommendEveryone(fit, inter.matrix, REC_TOP, exclusionsOf(index, inter.bought));
    const ids: string[] = [];
    const grps: string[] = [];
    const shares: number[] = [];
    const mass = new Float64Array(names.length);
    for (let u = 0; u < recs.users; u++) {
      mass.fill(0);
      let total = 0;
      for (let r = u * recs.k, e = r + recs.k; r < e; r++) {
        const j = recs.items[r] as number;
        if (j < 0 || (recs.because?.[r] ?? -1) < 0) continue;
        const s = recs.scores[r] as number;
        if (!(s > 0)) continue;
        total += s;
        const g = itemGroup[j] as number;
        if (g >= 0) mass[g] = (mass[g] as number) + s;
      }
      if (total <= 0) continue;
      for (let g = 0; g < names.length; g++) {
        if ((mass[g] as number) <= 0) continue;
        ids.push(index.customerIds[u] as string);
        grps.push(names[g] as string);
        shares.push((mass[g] as number) / total);
      }
    }
    const view = `${table}_rows`;
    store.exposeColumns(view, [
      { name: 'customer_id', type: 'VARCHAR', values: ids },
      { name: 'grp', type: 'VARCHAR', values: grps },
      { name: 'g_rec', type: 'DOUBLE', values: Float64Array.from(shares) },
    ]);
    try {
      await store.run(`INSERT INTO ${t} SELECT * FROM ${view}()`);
    } finally {
      store.releaseColumns(view);
    }
    return ids.length;
  } finally {
    await dropRecommendData(store);
  }
}
