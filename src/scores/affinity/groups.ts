// Product groups of the affinity scorer: each product's group (a level of its category path, or an attribute), the scored groups, nearest names.
import type { AffinitySettings } from '../../config.js';
import { quoteIdentifier, type SqlValue, type Store } from '../../store/db.js';

/** The group of a product with no category (or no value of the attribute), and of order lines whose product is unknown. */
export const UNCATEGORISED = 'uncategorised';

/** How products are grouped: the settings that decide it (kept with the fit, so that audiences group as the run did). */
export type Grouping = Pick<AffinitySettings, 'by' | 'level'>;

/** In words: 'category level 1', 'attribute brand'. */
export function groupingLabel(g: Grouping): string {
  return g.by === 'category' ? `category level ${g.level}` : `attribute ${g.by.slice('attribute:'.length)}`;
}

/**
 * SQL of a product's group over the `products` columns (category, attributes), with its bound value: the category
 * path's first `level` parts ('Home > Kitchen > Pans' at level 1: 'Home'; parts trimmed, empty parts dropped), or the
 * attribute's text; UNCATEGORISED when missing or empty.
 */
function groupExpression(g: Grouping): { sql: string; params: SqlValue[] } {
  if (g.by === 'category') {
    return {
      sql: `coalesce(nullif(array_to_string(list_slice(list_filter(list_transform(string_split(coalesce(category, ''), '>'), x -> trim(x)), x -> x <> ''), 1, $1::INTEGER), ' > '), ''), '${UNCATEGORISED}')`,
      params: [g.level],
    };
  }
  const key = g.by.slice('attribute:'.length);
  return { sql: `coalesce(nullif(trim(json_extract_string(attributes, $1::VARCHAR)), ''), '${UNCATEGORISED}')`, params: [`$.${JSON.stringify(key)}`] };
}

/** Writes `table` (product_id, grp): every product's group. Returns how many products fell in UNCATEGORISED. */
export async function writeProductGroups(store: Store, table: string, g: Grouping): Promise<{ products: number; uncategorised: number }> {
  const { sql, params } = groupExpression(g);
  await store.run(`CREATE OR REPLACE TEMP TABLE ${quoteIdentifier(table)} AS SELECT product_id, ${sql} AS grp FROM products`, params);
  const row = await store.one<{ products: number; uncategorised: number }>(
    `SELECT count(*)::INTEGER AS products, (count(*) FILTER (WHERE grp = $1))::INTEGER AS uncategorised FROM ${quoteIdentifier(table)}`,
    [UNCATEGORISED],
  );
  return { products: row?.products ?? 0, uncategorised: row?.uncategorised ?? 0 };
}

/** A group with its distinct buyers before the as-of. */
export interface GroupBuyers {
  readonly group: string;
  readonly buyers: number;
}

/**
 * The `max` groups with most distinct buyers in `orders` (lines with a product and a positive amount; lines whose
 * product is not in `groups` count as UNCATEGORISED), most first, ties by name.
 */
export async function topGroups(store: Store, orders: string, groups: string, max: number): Promise<GroupBuyers[]> {
  const rows = await store.all<{ grp: string; buyers: number }>(
    `SELECT coalesce(g.grp, $1) AS grp, count(DISTINCT o.customer_id)::INTEGER AS buyers
     FROM ${orders} o LEFT JOIN ${quoteIdentifier(groups)} g ON g.product_id = o.product_id
     WHERE o.product_id IS NOT NULL AND o.amount > 0
     GROUP BY 1 ORDER BY buyers DESC, grp LIMIT $2::INTEGER`,
    [UNCATEGORISED, max],
  );
  return rows.map((r) => ({ group: r.grp, buyers: r.buyers }));
}

/** Levenshtein distance, case-insensitive. */
function editDistance(a: string, b: string): number {
  const s = a.toLowerCase();
  const t = b.toLowerCase();
  let previous = Array.from({ length: t.length + 1 }, (_, j) => j);
  for (let i = 1; i <= s.length; i++) {
    const current = [i];
    for (let j = 1; j <= t.length; j++) {
      current[j] = Math.min((previous[j] as number) + 1, (current[j - 1] as number) + 1, (previous[j - 1] as number) + (s[i - 1] === t[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[t.length] as number;
}

/** The names nearest to `name`: those containing it (or contained in it) first, then by edit distance; at most `k`. */
export function nearestNames(name: string, names: readonly string[], k = 5): string[] {
  const n = name.toLowerCase();
  const score = (x: string): number => {
    const l = x.toLowerCase();
    return l.includes(n) || n.includes(l) ? -1000 + Math.abs(l.length - n.length) : editDistance(n, l);
  };
  return [...names].sort((a, b) => score(a) - score(b) || a.localeCompare(b)).slice(0, k);
}
