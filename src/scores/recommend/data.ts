// The recommendations' data: customers and products as dense indexes, weighted interactions before a cut, purchases in a window, and what may be recommended.
import type { RecommendSettings } from '../../config.js';
import { KairosError } from '../../errors.js';
import { buildInteractions, type Csr, type InteractionMatrix } from '../../ml/recommend/index.js';
import type { Store } from '../../store/db.js';

/** A country with fewer customers (with an interaction) is no popularity segment: its own top products would be noise. */
export const SEGMENT_MIN_CUSTOMERS = 50;

/** Temp tables of the indexes (dropped by `dropRecommendData`). */
export const USERS_TABLE = '__rec_users';
export const ITEMS_TABLE = '__rec_items';

/** Where the interactions are read from: order lines and events relations (as-of views), and the instant they stop. */
export interface InteractionSource {
  readonly orders: string;
  readonly events: string;
  /** The customers relation (as-of view): their country makes the popularity segments. */
  readonly customers: string;
  /** 'YYYY-MM-DD HH:MM:SS': only rows strictly before it; the indexes are made from them. */
  readonly cut: string;
  /** Further customers to index (e.g. the holdout's buyers in a backtest): a relation with customer_id; none by default. */
  readonly extraUsers?: string;
}

/** What the store says about the products, for the notes. */
export interface CatalogueFacts {
  /** Products of the catalogue (ingested as products, not stubs made from order lines or events). */
  readonly catalogue: number;
  /** Recommendable products without a category (shown as 'uncategorised'). */
  readonly uncategorised: number;
  /** Products with interactions before the cut that are not in the catalogue (kept as signal, never recommended), and their order lines. */
  readonly unknownProducts: number;
  readonly unknownLines: number;
  /** Products bought or looked at before the cut that may be recommended (the denominator of catalogue coverage). */
  readonly recommendable: number;
  /** Products that may be recommended again to their buyers. */
  readonly repurchasable: number;
}

/** Customers and products by index, and the masks of what may be recommended. */
export interface RecommendIndex {
  readonly customerIds: readonly string[];
  readonly productIds: readonly string[];
  readonly names: readonly string[];
  readonly categories: readonly string[];
  /** 1: may be recommended (in the catalogue when there is one, not flagged recommendable: false). */
  readonly recommendable: Uint8Array;
  /** 1: may be recommended to a customer who bought it (consumable category or attribute). */
  readonly repurchasable: Uint8Array;
  /**
   * With popularitySegments 'country', each customer's popularity segment (their country, when it has at least
   * SEGMENT_MIN_CUSTOMERS customers), -1 for none; null otherwise, or with fewer than two segments.
   */
  readonly segments: Int32Array | null;
  /** Segment names by number. */
  readonly segmentNames: readonly string[];
  readonly facts: CatalogueFacts;
}

/** Interactions before one instant, on an index's customers and products. */
export interface Interactions {
  /** Weighted interactions: purchases (returns subtract), views and adds to cart; non-positive totals dropped. */
  readonly matrix: InteractionMatrix;
  /** Net units bought (> 0 only): what "already bought" means for the exclusions. */
  readonly bought: Csr;
  /** Order lines and events counted. */
  readonly lines: number;
}

/** The event types with a weight, as two JSON lists to bind (types, weights). */
function weightLists(s: RecommendSettings): [string, string] {
  const entries = Object.entries(s.eventWeights).filter(([, w]) => w > 0);
  return [JSON.stringify(entries.map(([t]) => t)), JSON.stringify(entries.map(([, w]) => w))];
}

/** Whether the relations hold any order line or weighted event with a product before the cut (CDNOW has none: nothing to do). */
export async function hasProductInteractions(store: Store, src: InteractionSource, s: RecommendSettings): Promise<boolean> {
  const [types] = weightLists(s);
  const n = await store.value(
    `SELECT (SELECT count(*) FROM (SELECT 1 FROM ${src.orders} WHERE product_id IS NOT NULL AND ordered_at < $1::TIMESTAMP LIMIT 1))
          + (SELECT count(*) FROM (SELECT 1 FROM ${src.events} WHERE product_id IS NOT NULL AND occurred_at < $1::TIMESTAMP
               AND type IN (SELECT unnest(from_json($2, '["VARCHAR"]'))) LIMIT 1))`,
    [src.cut, types],
  );
  return Number(n) > 0;
}

/**
 * Indexes the customers with an interaction before the cut (and `extraUsers`) and the products of those interactions,
 * each by id order (dense_rank), in two temp tables; reads the products' names, categories and masks. A product nobody
 * bought or looked at before the cut is not indexed: no recommender has anything to say about it (the Complete
 * Journey's catalogue has 92,000 products, its sample's lines 20,000 of them).
 */
export async function createIndex(store: Store, src: InteractionSource, s: RecommendSettings): Promise<RecommendIndex> {
  const [types] = weightLists(s);
  const lines = `SELECT customer_id, product_id FROM ${src.orders} WHERE product_id IS NOT NULL AND ordered_at < $1::TIMESTAMP
    UNION ALL SELECT customer_id, product_id FROM ${src.events} WHERE product_id IS NOT NULL AND occurred_at < $1::TIMESTAMP
      AND type IN (SELECT unnest(from_json($2, '["VARCHAR"]')))`;
  await store.run(
    `CREATE OR REPLACE TEMP TABLE ${USERS_TABLE} AS
     WITH ids AS (SELECT DISTINCT customer_id FROM (${lines})${src.extraUsers ? ` UNION SELECT customer_id FROM ${src.extraUsers}` : ''})
     SELECT customer_id, (dense_rank() OVER (ORDER BY customer_id) - 1)::INTEGER AS u FROM ids`,
    [src.cut, types],
  );
  // The catalogue: products ingested as products. Ingest makes stub rows for products first seen in orders or events
  // (source 'orders' or 'events'); those are not in the catalogue, and a stub made by an order after the cut is not seen.
  const catalogue = Number(await store.value(`SELECT count(*) FROM products WHERE source = 'products'`));
  await store.run(
    `CREATE OR REPLACE TEMP TABLE ${ITEMS_TABLE} AS
     WITH ids AS (SELECT DISTINCT product_id FROM (${lines})),
     p AS (SELECT i.product_id, coalesce(p.source = 'products', false) AS known, coalesce(p.name, i.product_id) AS name, p.category,
             lower(coalesce(json_extract_string(p.attributes, '$.recommendable'), 'true')) NOT IN ('false', '0', 'no') AS flagged_ok,
             lower(coalesce(json_extract_string(p.attributes, '$.consumable'), 'false')) IN ('true', '1', 'yes') AS consumable
           FROM ids i LEFT JOIN products p USING (product_id))
     SELECT (dense_rank() OVER (ORDER BY product_id) - 1)::INTEGER AS j, product_id, name, coalesce(category, 'uncategorised') AS category, known,
       (known OR $3 = 0) AND flagged_ok AS recommendable,
       consumable OR EXISTS (SELECT 1 FROM unnest(from_json($4, '["VARCHAR"]')) AS c(name) WHERE p.category = c.name OR starts_with(p.category, c.name || ' > ')) AS repurchasable
     FROM p`,
    [src.cut, types, catalogue, JSON.stringify(s.consumableCategories)],
  );
  const users = await store.readColumns(
    `WITH c AS (SELECT customer_id, any_value(country) AS country FROM ${src.customers} WHERE country IS NOT NULL GROUP BY 1),
     sized AS (SELECT u.u, c.country, count(*) OVER (PARTITION BY c.country) AS n FROM ${USERS_TABLE} u LEFT JOIN c USING (customer_id)),
     named AS (SELECT u, CASE WHEN country IS NOT NULL AND n >= $1 THEN country END AS segment FROM sized)
     SELECT u.customer_id, coalesce(dense_rank() OVER (ORDER BY n.segment) - 1, -1)::DOUBLE AS segment, coalesce(n.segment, '') AS segment_name
     FROM ${USERS_TABLE} u JOIN named n USING (u) ORDER BY u.u`,
    [SEGMENT_MIN_CUSTOMERS],
  );
  const items = await store.readColumns(
    `SELECT product_id, name, category, recommendable::DOUBLE AS recommendable, repurchasable::DOUBLE AS repurchasable FROM ${ITEMS_TABLE} ORDER BY j`,
  );
  const facts = await store.one<{ uncategorised: number; unknown_products: number; recommendable: number; repurchasable: number }>(
    `SELECT count(*) FILTER (WHERE recommendable AND category = 'uncategorised')::INTEGER AS uncategorised, count(*) FILTER (WHERE NOT known)::INTEGER AS unknown_products,
       count(*) FILTER (WHERE recommendable)::INTEGER AS recommendable, count(*) FILTER (WHERE recommendable AND repurchasable)::INTEGER AS repurchasable
     FROM ${ITEMS_TABLE}`,
  );
  const unknownLines =
    catalogue === 0
      ? 0
      : Number(
          await store.value(
            `SELECT count(*) FROM ${src.orders} o WHERE o.product_id IS NOT NULL AND o.ordered_at < $1::TIMESTAMP
               AND o.product_id NOT IN (SELECT product_id FROM products WHERE source = 'products')`,
            [src.cut],
          ),
        );
  const mask = (name: string): Uint8Array => Uint8Array.from(items.numbers[name] ?? [], (v) => (v > 0 ? 1 : 0));
  // dense_rank numbers the NULL segment too (last): customers without one get -1.
  const names = users.texts['segment_name'] ?? [];
  const rawSegments = users.numbers['segment'] ?? new Float64Array(0);
  const segments = Int32Array.from(rawSegments, (v, i) => (names[i] === '' ? -1 : v));
  const segmentNames: string[] = [];
  segments.forEach((v, i) => {
    if (v >= 0) segmentNames[v] = names[i] as string;
  });
  return {
    customerIds: users.texts['customer_id'] ?? [],
    productIds: items.texts['product_id'] ?? [],
    names: items.texts['name'] ?? [],
    categories: items.texts['category'] ?? [],
    recommendable: mask('recommendable'),
    repurchasable: mask('repurchasable'),
    segments: s.popularitySegments === 'country' && segmentNames.length >= 2 ? segments : null,
    segmentNames: s.popularitySegments === 'country' && segmentNames.length >= 2 ? segmentNames : [],
    facts: {
      catalogue,
      uncategorised: facts?.uncategorised ?? 0,
      unknownProducts: catalogue === 0 ? 0 : (facts?.unknown_products ?? 0),
      unknownLines,
      recommendable: facts?.recommendable ?? 0,
      repurchasable: facts?.repurchasable ?? 0,
    },
  };
}

/**
 * The interactions strictly before `before` (at most the index's cut), on the index: an order line weighs
 * sign(q) log2(1 + |q|) for its quantity q (1 for one unit, 2 for three; returns and cancellations are negative), times
 * 2^(-age / half-life); an event of a weighted type its weight times the same decay, ages counted back from `before`;
 * summed per customer and product, non-positive totals dropped. The logarithm keeps products sold by the unit of
 * measure (the Complete Journey's gasoline: thousands per line) from drowning the rest.
 */
export async function readInteractions(store: Store, src: InteractionSource, index: RecommendIndex, before: string, s: RecommendSettings): Promise<Interactions> {
  const [types, weights] = weightLists(s);
  const decay = (at: string): string => `pow(2.0, -(epoch($1::TIMESTAMP) - epoch(${at})) / 86400.0 / $2)`;
  const cols = await store.readNumberColumns(
    `WITH w AS (SELECT unnest(from_json($3, '["VARCHAR"]')) AS type, unnest(from_json($4, '["DOUBLE"]')) AS weight),
     l AS (SELECT customer_id, product_id, sign(quantity) * log2(1 + abs(quantity)) * ${decay('ordered_at')} AS w, quantity AS q, 1 AS n FROM ${src.orders}
             WHERE product_id IS NOT NULL AND ordered_at < $1::TIMESTAMP
           UNION ALL
           SELECT e.customer_id, e.product_id, w.weight * ${decay('e.occurred_at')}, 0.0, 1 FROM ${src.events} e JOIN w USING (type)
             WHERE e.product_id IS NOT NULL AND e.occurred_at < $1::TIMESTAMP)
     SELECT u.u::DOUBLE AS u, i.j::DOUBLE AS j, sum(l.w)::DOUBLE AS w, sum(l.q)::DOUBLE AS q, sum(l.n)::DOUBLE AS n
     FROM l JOIN ${USERS_TABLE} u USING (customer_id) JOIN ${ITEMS_TABLE} i USING (product_id)
     GROUP BY u.u, i.j ORDER BY u.u, i.j`,
    [before, s.halfLifeDays, types, weights],
  );
  const u = Int32Array.from(cols['u'] ?? []);
  const j = Int32Array.from(cols['j'] ?? []);
  const users = index.customerIds.length;
  const items = index.productIds.length;
  const matrix = buildInteractions(users, items, { user: u, item: j, weight: cols['w'] ?? new Float64Array(0) });
  const bought = buildInteractions(users, items, { user: u, item: j, weight: cols['q'] ?? new Float64Array(0) }).byUser;
  let lines = 0;
  for (const n of cols['n'] ?? []) lines += n;
  return { matrix, bought, lines };
}

/**
 * What each customer bought in [from, to) (net units > 0) from `orders`, on the index, leaving out what their
 * exclusions would never show them: a product bought before `from` (in `boughtBefore`) that is not repurchasable, and
 * a product that may not be recommended. These are the relevant items the recommendations are graded on.
 */
export async function readRelevant(store: Store, orders: string, index: RecommendIndex, from: string, to: string, boughtBefore: Csr): Promise<Csr> {
  const cols = await store.readNumberColumns(
    `SELECT u.u::DOUBLE AS u, i.j::DOUBLE AS j, sum(o.quantity)::DOUBLE AS q
     FROM ${orders} o JOIN ${USERS_TABLE} u USING (customer_id) JOIN ${ITEMS_TABLE} i USING (product_id)
     WHERE o.ordered_at >= $1::TIMESTAMP AND o.ordered_at < $2::TIMESTAMP
     GROUP BY u.u, i.j HAVING sum(o.quantity) > 0 ORDER BY u.u, i.j`,
    [from, to],
  );
  const us = cols['u'] ?? new Float64Array(0);
  const js = cols['j'] ?? new Float64Array(0);
  const keep: number[] = [];
  for (let t = 0; t < us.length; t++) {
    const u = us[t] as number;
    const j = js[t] as number;
    if (index.recommendable[j] !== 1) continue;
    if (index.repurchasable[j] !== 1 && rowHas(boughtBefore, u, j)) continue;
    keep.push(t);
  }
  const m = buildInteractions(index.customerIds.length, index.productIds.length, {
    user: Int32Array.from(keep, (t) => us[t] as number),
    item: Int32Array.from(keep, (t) => js[t] as number),
    weight: new Float32Array(keep.length).fill(1),
  });
  return m.byUser;
}

/** Whether row r of a CSR matrix holds column c (binary search: columns ascend within a row). */
export function rowHas(m: Csr, r: number, c: number): boolean {
  if (r >= m.rows) return false;
  let lo = m.indptr[r] as number;
  let hi = (m.indptr[r + 1] as number) - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const v = m.indices[mid] as number;
    if (v === c) return true;
    if (v < c) lo = mid + 1;
    else hi = mid - 1;
  }
  return false;
}

/** A timestamp `days` before `at` ('YYYY-MM-DD HH:MM:SS'). */
export function daysBefore(at: string, days: number): string {
  const ms = Date.parse(`${at.replace(' ', 'T')}Z`);
  if (Number.isNaN(ms)) throw new KairosError('INTERNAL', `not a timestamp: ${at}`);
  return new Date(ms - days * 86_400_000).toISOString().slice(0, 19).replace('T', ' ');
}

/** Drops the index tables. */
export async function dropRecommendData(store: Store): Promise<void> {
  await store.run(`DROP TABLE IF EXISTS ${USERS_TABLE}`);
  await store.run(`DROP TABLE IF EXISTS ${ITEMS_TABLE}`);
}
