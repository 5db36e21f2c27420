// The affinity scorer's rows: one per (customer, group) at a cut, with the features of the pair and, for training, whether the customer bought in the group after the cut.
import { quoteIdentifier, type Store } from '../../store/db.js';
import { UNCATEGORISED } from './groups.js';

/** The features of a (customer, group) pair, in matrix order, with what each one is. */
export const PAIR_FEATURES = [
  { name: 'g_days', description: 'days with a purchase in the group' },
  { name: 'g_spend', description: 'net spend in the group' },
  { name: 'g_lines', description: 'order lines in the group' },
  { name: 'g_recency', description: 'days since the last purchase in the group (missing: never)' },
  { name: 'g_share', description: "share of the customer's spend in the group" },
  { name: 'g_views_90d', description: 'product views in the group, last 90 days' },
  { name: 'g_carts_90d', description: 'adds to cart in the group, last 90 days' },
  { name: 'c_days', description: 'days with a purchase, any group' },
  { name: 'c_recency', description: 'days since the last purchase (missing: never)' },
  { name: 'c_spend', description: 'net spend, any group' },
  { name: 'c_tenure', description: 'days since the first purchase (missing: never)' },
  { name: 'popularity', description: 'share of the customers who bought in the last 90 days who bought in the group' },
  { name: 'co_lift', description: "mean over the customer's groups of their co-purchase lift with the group (customers before the cut)" },
  { name: 'g_rec', description: "share of the customer's top 20 recommendations (item-knn before the cut) in the group, by score" },
] as const;

export const PAIR_FEATURE_NAMES: readonly string[] = PAIR_FEATURES.map((f) => f.name);

/** What one pair table is made of. */
export interface PairOptions {
  /** Data strictly before it is described ('YYYY-MM-DD HH:MM:SS'). */
  readonly cut: string;
  /** Order lines and events (as-of views of a run or a backtest). */
  readonly orders: string;
  readonly events: string;
  /** The product groups table (writeProductGroups) and a table (grp) of the groups scored. */
  readonly productGroups: string;
  readonly scored: string;
  /** A table (customer_id, grp, g_rec) of writeRecommendedGroups at the same cut; none: g_rec is 0. */
  readonly recommended?: string;
  /** Customers kept per thousand, by a hash of the id (1000: everyone). */
  readonly perMille: number;
  /** Only the customers of one share of `parts` (by a hash of the id): scoring in passes. */
  readonly pass?: { readonly part: number; readonly parts: number };
  /** With a label: the orders read after the cut and the window's days. */
  readonly label?: { readonly orders: string; readonly days: number };
}

/**
 * Writes `table`: every customer with a purchase or a product event before the cut (in the sample) x every scored
 * group, ordered by customer and group, with PAIR_FEATURES, the customer's top group by spend (`c_top`), a bucket
 * (0-999, by a hash of the id, for validation splits) and, when asked, `label` (1: bought in the group within
 * `label.days` days from the cut). Returns the rows written.
 */
export async function writePairs(store: Store, table: string, o: PairOptions): Promise<number> {
  const sample = o.perMille >= 1000 ? '' : `AND hash(customer_id) % 1000 < ${Math.floor(o.perMille)}`;
  // A pass describes its share of the customers; popularity and co-purchase lift come from all of them.
  const pass = o.pass && o.pass.parts > 1 ? `AND hash(customer_id) % ${Math.floor(o.pass.parts)} = ${Math.floor(o.pass.part)}` : '';
  const groups = quoteIdentifier(o.productGroups);
  const scored = quoteIdentifier(o.scored);
  const label = o.label
    ? `, lab AS (
         SELECT DISTINCT l.customer_id, coalesce(g.grp, '${UNCATEGORISED}') AS grp FROM ${o.label.orders} l LEFT JOIN ${groups} g ON g.product_id = l.product_id
         WHERE l.ordered_at >= $1::TIMESTAMP AND l.ordered_at < $1::TIMESTAMP + to_days($2::INTEGER) AND l.amount > 0 AND l.product_id IS NOT NULL)`
    : '';
  const params = o.label ? [o.cut, o.label.days] : [o.cut];
  await store.run(
    `CREATE OR REPLACE TEMP TABLE ${quoteIdentifier(table)} AS
     WITH all_lines AS (
       SELECT o.customer_id, coalesce(g.grp, '${UNCATEGORISED}') AS grp, o.ordered_at, o.amount
       FROM (SELECT * FROM ${o.orders} WHERE ordered_at < $1::TIMESTAMP AND amount > 0 AND product_id IS NOT NULL ${sample}) o
       LEFT JOIN ${groups} g ON g.product_id = o.product_id),
     lines AS (SELECT * FROM all_lines WHERE true ${pass}),
     cust AS (
       SELECT customer_id, count(DISTINCT ordered_at::DATE)::DOUBLE AS c_days, sum(amount) AS c_spend,
         date_diff('day', max(ordered_at), $1::TIMESTAMP)::DOUBLE AS c_recency, date_diff('day', min(ordered_at), $1::TIMESTAMP)::DOUBLE AS c_tenure
       FROM lines GROUP BY 1),
     cg AS (
       SELECT customer_id, grp, count(DISTINCT ordered_at::DATE)::DOUBLE AS g_days, sum(amount) AS g_spend, count(*)::DOUBLE AS g_lines,
         date_diff('day', max(ordered_at), $1::TIMESTAMP)::DOUBLE AS g_recency
       FROM lines GROUP BY ALL),
     top AS (SELECT customer_id, first(grp ORDER BY g_spend DESC, grp) AS c_top FROM cg GROUP BY 1),
     ev AS (
       SELECT e.customer_id, coalesce(g.grp, '${UNCATEGORISED}') AS grp,
         (count(*) FILTER (WHERE e.type = 'product_view' AND e.occurred_at >= $1::TIMESTAMP - INTERVAL 90 DAY))::DOUBLE AS g_views_90d,
         (count(*) FILTER (WHERE e.type = 'add_to_cart' AND e.occurred_at >= $1::TIMESTAMP - INTERVAL 90 DAY))::DOUBLE AS g_carts_90d
       FROM (SELECT * FROM ${o.events} WHERE occurred_at < $1::TIMESTAMP AND product_id IS NOT NULL AND type IN ('product_view', 'add_to_cart') ${sample} ${pass}) e
       LEFT JOIN ${groups} g ON g.product_id = e.product_id GROUP BY ALL),
     active AS (SELECT customer_id FROM cust UNION SELECT customer_id FROM ev),
     recent AS (SELECT greatest(1, count(DISTINCT customer_id))::DOUBLE AS n FROM all_lines WHERE ordered_at >= $1::TIMESTAMP - INTERVAL 90 DAY),
     pop AS (SELECT grp, count(DISTINCT customer_id) / any_value(recent.n) AS popularity FROM all_lines, recent WHERE ordered_at >= $1::TIMESTAMP - INTERVAL 90 DAY GROUP BY grp),
     all_pres AS (SELECT DISTINCT customer_id, grp FROM all_lines),
     pres AS (SELECT customer_id, grp FROM cg),
     n AS (SELECT grp, count(*)::DOUBLE AS n FROM all_pres GROUP BY 1),
     total AS (SELECT count(DISTINCT customer_id)::DOUBLE AS n FROM all_pres),
     k AS (SELECT customer_id, count(*)::DOUBLE AS k FROM pres GROUP BY 1),
     lift AS (
       SELECT a.grp AS g1, b.grp AS g2, count(*) * any_value(total.n) / (any_value(n1.n) * any_value(n2.n)) AS lift
       FROM all_pres a JOIN all_pres b ON a.customer_id = b.customer_id AND a.grp <> b.grp AND b.grp IN (SELECT grp FROM ${scored})
       JOIN n n1 ON n1.grp = a.grp JOIN n n2 ON n2.grp = b.grp, total
       GROUP BY a.grp, b.grp),
     co AS (
       SELECT p.customer_id, l.g2 AS grp, sum(l.lift) / any_value(k.k) AS co_lift
       FROM pres p JOIN lift l ON l.g1 = p.grp JOIN k ON k.customer_id = p.customer_id GROUP BY p.customer_id, l.g2)
     ${label}
     SELECT a.customer_id, s.grp,
       coalesce(cg.g_days, 0) AS g_days, coalesce(cg.g_spend, 0) AS g_spend, coalesce(cg.g_lines, 0) AS g_lines, cg.g_recency,
       CASE WHEN cust.c_spend > 0 THEN coalesce(cg.g_spend, 0) / cust.c_spend ELSE 0 END AS g_share,
       coalesce(ev.g_views_90d, 0) AS g_views_90d, coalesce(ev.g_carts_90d, 0) AS g_carts_90d,
       coalesce(cust.c_days, 0) AS c_days, cust.c_recency, coalesce(cust.c_spend, 0) AS c_spend, cust.c_tenure,
       coalesce(pop.popularity, 0) AS popularity, coalesce(co.co_lift, 0) AS co_lift, ${o.recommended ? 'coalesce(rec.g_rec, 0)' : '0::DOUBLE'} AS g_rec,
       top.c_top, ((hash(a.customer_id) // 1000) % 1000)::DOUBLE AS bucket
       ${o.label ? ', (lab.customer_id IS NOT NULL)::DOUBLE AS label' : ''}
     FROM active a CROSS JOIN ${scored} s
     LEFT JOIN cust ON cust.customer_id = a.customer_id
     LEFT JOIN cg ON cg.customer_id = a.customer_id AND cg.grp = s.grp
     LEFT JOIN ev ON ev.customer_id = a.customer_id AND ev.grp = s.grp
     LEFT JOIN pop ON pop.grp = s.grp
     LEFT JOIN co ON co.customer_id = a.customer_id AND co.grp = s.grp
     LEFT JOIN top ON top.customer_id = a.customer_id
     ${o.recommended ? `LEFT JOIN ${quoteIdentifier(o.recommended)} rec ON rec.customer_id = a.customer_id AND rec.grp = s.grp` : ''}
     ${o.label ? 'LEFT JOIN lab ON lab.customer_id = a.customer_id AND lab.grp = s.grp' : ''}
     ORDER BY a.customer_id, s.grp`,
    params,
  );
  return Number(await store.value(`SELECT count(*) FROM ${quoteIdentifier(table)}`));
}

/** A pair table read into JS, in its order: the features, the ids, and the label when written. */
export interface Pairs {
  readonly rows: number;
  readonly customers: string[];
  readonly groups: string[];
  readonly tops: string[];
  readonly numbers: Record<string, Float64Array>;
}

/** Reads a pair table (NULL -> NaN for numbers, '' for text). */
export async function readPairs(store: Store, table: string): Promise<Pairs> {
  const { numbers, texts } = await store.readColumns(`SELECT * REPLACE (coalesce(c_top, '') AS c_top) FROM ${quoteIdentifier(table)} ORDER BY customer_id, grp`);
  const customers = texts['customer_id'] ?? [];
  return { rows: customers.length, customers, groups: texts['grp'] ?? [], tops: texts['c_top'] ?? [], numbers };
}
