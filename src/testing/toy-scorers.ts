// Test-only scorers and data that exercise the registry's paths no shipped scorer uses yet: item outputs (ranked and map), a dependency read in run.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ingest } from '../ingest/ingest.js';
import type { Scorer } from '../scores/types.js';
import { Store } from '../store/db.js';
import { fixtureOrderLines, rng } from './orders-fixture.js';

/**
 * A toy item scorer: each customer's most bought products (ranked, with the reason "bought N times"), computed in JS
 * and handed to DuckDB through exposeColumns (text columns included), and each customer's share of purchases per
 * category (a map). It reads the rfm scorer's results in `run` (frequency), so it declares the dependency.
 */
export const toyItemScorer: Scorer = {
  name: 'toy_items',
  version: '0.0.1',
  description: 'test only: most bought products and category shares',
  dependsOn: ['rfm'],
  columns: [
    { name: 'toy_distinct_products', type: 'integer', unit: 'count', description: 'distinct products bought' },
    { name: 'toy_orders_per_product', type: 'number', unit: 'count', description: 'rfm frequency / distinct products' },
  ],
  items: [
    { name: 'toy_top_products', kind: 'product', shape: 'ranked', unit: 'count', description: 'most bought products', columns: 2, keep: 4 },
    { name: 'toy_category_share', kind: 'category', shape: 'map', unit: 'probability', description: 'share of purchases per category' },
  ],

  async run(ctx) {
    const counts = await ctx.store.all<{ customer_id: string; product_id: string; n: number }>(
      `SELECT customer_id, product_id, count(*)::INTEGER AS n FROM asof_orders WHERE product_id IS NOT NULL AND amount > 0
       GROUP BY ALL ORDER BY customer_id, n DESC, product_id`,
    );
    const customer: string[] = [];
    const key: string[] = [];
    const rank: number[] = [];
    const value: number[] = [];
    const reason: (string | null)[] = [];
    let previous = '';
    let r = 0;
    for (const c of counts) {
      r = c.customer_id === previous ? r + 1 : 1;
      previous = c.customer_id;
      customer.push(c.customer_id);
      key.push(c.product_id);
      rank.push(r);
      value.push(c.n);
      reason.push(c.n === 1 ? null : `bought ${c.n} times`);
    }
    ctx.store.exposeColumns('__toy_products', [
      { name: 'customer_id', type: 'VARCHAR', values: customer },
      { name: 'rank', type: 'INTEGER', values: rank },
      { name: 'key', type: 'VARCHAR', values: key },
      { name: 'value', type: 'DOUBLE', values: value },
      { name: 'reason', type: 'VARCHAR', values: reason },
    ]);
    await ctx.store.run(
      `CREATE OR REPLACE TEMP VIEW __toy_shares AS
       WITH c AS (SELECT o.customer_id, coalesce(p.category, 'none') AS key, count(*) AS n
                  FROM asof_orders o LEFT JOIN products p USING (product_id) WHERE o.amount > 0 GROUP BY ALL)
       SELECT customer_id, row_number() OVER (PARTITION BY customer_id ORDER BY n DESC, key) AS rank, key,
         n / sum(n) OVER (PARTITION BY customer_id) AS value, NULL AS reason FROM c`,
    );
    await ctx.store.run(
      `CREATE OR REPLACE TEMP TABLE __toy_scores AS
       SELECT r.customer_id, count(DISTINCT o.product_id)::INTEGER AS toy_distinct_products,
         CASE WHEN count(DISTINCT o.product_id) > 0 THEN any_value(r.frequency) / count(DISTINCT o.product_id) END AS toy_orders_per_product
       FROM ${ctx.resultsOf('rfm')} r LEFT JOIN asof_orders o ON o.customer_id = r.customer_id AND o.amount > 0 GROUP BY r.customer_id`,
    );
    return {
      table: '__toy_scores',
      items: { toy_top_products: '__toy_products', toy_category_share: '__toy_shares' },
      temporaries: ['__toy_products'],
      models: [],
      notes: [`toy_items: ${counts.length} (customer, product) pairs`],
    };
  },

  explain(row, ctx) {
    const top = ctx.items['toy_top_products'] ?? [];
    const shares = ctx.items['toy_category_share'] ?? [];
    if (Number(row['toy_distinct_products'] ?? 0) === 0) return [`no product bought yet (${row['frequency']} order(s))`];
    return [
      `${row['toy_distinct_products']} distinct product(s) over ${row['frequency']} order(s); most bought ${top.map((t) => t.key).join(', ')}`,
      `categories: ${shares.map((s) => `${s.key} ${Math.round((s.value ?? 0) * 100)}%`).join(', ')}`,
    ];
  },
};

/** Products of the toy catalogue: P1..P8 in three categories. */
export const TOY_PRODUCTS = Array.from({ length: 8 }, (_, i) => ({ id: `P${i + 1}`, category: ['Home', 'Garden', 'Toys'][i % 3] as string }));

/**
 * The toy store's events (header included), deterministic: weekly e-mails to every other customer, opens and clicks,
 * visits, product views and carts, reviews rated 1-5, referrals, shares, unsubscribes, complaints and a type outside the
 * contract (app_launch), from 2023-01-01 to 2023-12-31 (some after the scorer contract's as-of), prospects included.
 */
export function toyEventLines(): string[] {
  const u = rng(20240611);
  const day = (d: number): string => new Date(Date.parse('2023-01-01T00:00:00Z') + Math.floor(d * 86_400) * 1000).toISOString().replace('.000Z', 'Z');
  const lines = ['customer_id,occurred_at,type,product_id,campaign_id,value'];
  for (let c = 1; c <= 420; c++) {
    const id = `K${String(c).padStart(4, '0')}`;
    const engagement = u();
    const product = (): string => TOY_PRODUCTS[Math.floor(u() * TOY_PRODUCTS.length)]?.id ?? 'P1';
    if (c % 2 === 0) {
      for (let w = 0; w < 52; w++) {
        const t = 7 * w + 2.375;
        lines.push(`${id},${day(t)},email_sent,,NL${w},`);
        if (u() < 0.5 * engagement) lines.push(`${id},${day(t + 0.2)},email_open,,NL${w},`);
        if (u() < 0.1 * engagement) lines.push(`${id},${day(t + 0.21)},email_click,,NL${w},`);
      }
      if (u() < 0.2) lines.push(`${id},${day(200 + 100 * u())},unsubscribe,,,`);
    }
    for (let t = 365 * u() * (1 - engagement); t < 365; t += 1 + 60 * u() * (1 - engagement)) {
      const p = product();
      lines.push(`${id},${day(t)},web_visit,,,`, `${id},${day(t + 0.01)},product_view,${p},,`);
      if (u() < 0.2) lines.push(`${id},${day(t + 0.02)},add_to_cart,${p},,`);
    }
    if (c % 5 === 0) lines.push(`${id},${day(365 * u())},review,${product()},,${1 + Math.floor(5 * u())}`);
    if (c % 11 === 0) lines.push(`${id},${day(365 * u())},referral,,,`, `${id},${day(365 * u())},social_share,${product()},,`);
    if (c % 17 === 0) lines.push(`${id},${day(365 * u())},complaint,,,`);
    if (c % 13 === 0) lines.push(`${id},${day(365 * u())},app_launch,,,`);
  }
  return lines;
}

/**
 * A store with the orders fixture (400 customers, seeded) given products from TOY_PRODUCTS, the catalogue,
 * customers with e-mails (some created late, some prospects without orders) and their events (`toyEventLines`).
 */
export async function toyStore(dir: string, db: string): Promise<Store> {
  mkdirSync(dir, { recursive: true });
  const [header, ...lines] = fixtureOrderLines();
  const orders = [`${header},product_id`, ...lines.map((l, i) => `${l},${TOY_PRODUCTS[(i * 7) % TOY_PRODUCTS.length]?.id}`)];
  writeFileSync(join(dir, 'orders.csv'), orders.join('\n') + '\n');
  writeFileSync(join(dir, 'products.csv'), ['product_id,name,category', ...TOY_PRODUCTS.map((p) => `${p.id},Product ${p.id},${p.category}`)].join('\n') + '\n');
  const customers = ['customer_id,email,created_at'];
  for (let c = 1; c <= 420; c++) customers.push(`K${String(c).padStart(4, '0')},k${c}@example.org,${c > 410 ? '2023-06-01' : '2022-12-01'}`);
  writeFileSync(join(dir, 'customers.csv'), customers.join('\n') + '\n');
  writeFileSync(join(dir, 'events.csv'), toyEventLines().join('\n') + '\n');
  const store = await Store.open(db);
  try {
    for (const entity of ['customers', 'products', 'orders', 'events'] as const) {
      await ingest(store, { entity, files: [join(dir, `${entity}.csv`)], rejectsDir: dir, now: new Date('2030-01-01T00:00:00Z') });
    }
  } catch (err) {
    store.close();
    throw err;
  }
  return store;
}
