// The recommend scorer end to end on a small demo retailer: stored top-10 lists with no excluded product, reasons, the view, CLI, export, evaluate, bad input.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportScores } from '../../cli/commands/query.js';
import { run } from '../../cli/main.js';
import { DEFAULT_CONFIG, type KairosConfig } from '../../config.js';
import { writeRetailerFiles } from '../../demo/generate.js';
import { EXIT_CODES } from '../../errors.js';
import { evaluateStore } from '../../evaluate/evaluate.js';
import { createAsOfViews } from '../../features/as-of.js';
import { ingest } from '../../ingest/ingest.js';
import { Store } from '../../store/db.js';
import { ScoreRegistry } from '../registry.js';
import { runScores } from '../run.js';
import type { RecommendBacktestDetails } from './backtest.js';
import { createIndex, dropRecommendData } from './data.js';
import { recommendScorer } from './index.js';

const AS_OF = '2025-01-01';
const dir = mkdtempSync(join(tmpdir(), 'kairos-recommend-'));
const db = join(dir, 'demo.duckdb');
let store: Store;
let config: KairosConfig;
/** A popular product flagged recommendable: false, and the consumable top category (of the demo's most bought products). */
let flagged: string;
let consumable: string;

const io = () => {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { out: (l: string) => void out.push(l), err: (l: string) => void err.push(l), isTty: false } };
};

beforeAll(async () => {
  // Seed 11: 1,000 customers, about two years of orders and events.
  const files = writeRetailerFiles(join(dir, 'files'), { customers: 1000, seed: 11 });
  store = await Store.open(db);
  for (const entity of ['products', 'customers', 'orders', 'events'] as const) await ingest(store, { entity, files: [files.paths[entity]] });
  flagged = await store.value<string>(`SELECT product_id FROM orders WHERE product_id IS NOT NULL AND ordered_at < ? GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1`, [AS_OF]);
  await store.run(`UPDATE products SET attributes = '{"recommendable": false}' WHERE product_id = ?`, [flagged]);
  // A top category (the demo's are 'Top > Sub'): consumableCategories name a category path or any level above it.
  consumable = await store.value<string>(
    `SELECT split_part(p.category, ' > ', 1) FROM orders o JOIN products p USING (product_id) WHERE o.ordered_at < ? GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1`,
    [AS_OF],
  );
  config = { ...DEFAULT_CONFIG, recommend: { ...DEFAULT_CONFIG.recommend, consumableCategories: [consumable] } };
}, 120_000);
afterAll(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('the recommend scorer on a demo store (1,000 customers, seed 11)', () => {
  let notes: readonly string[] = [];

  beforeAll(async () => {
    notes = (await runScores(store, { config, asOf: AS_OF, scorers: ['recommend'] })).notes;
  }, 60_000);

  it('says which recommender won on the inner holdout, by how much, with every figure and buy-again', () => {
    expect(notes[0]).toMatch(
      /^recommend: (item-knn|als|popularity) chosen on the last 30 days before the as-of by -?\d+% over the next best: NDCG@10 item-knn [\d.]+, als [\d.]+, popularity [\d.]+ \(buy-again [\d.]+\) on [\d,]+ buyers$/,
    );
  });

  it('stores up to 10 products per customer, never one the customer bought (unless consumable) nor one flagged not recommendable', async () => {
    const counts = await store.one<{ customers: number; most: number; fewest: number }>(
      `SELECT count(*)::INTEGER AS customers, max(n)::INTEGER AS most, min(n)::INTEGER AS fewest FROM (SELECT customer_id, count(*) AS n FROM customer_recommendations GROUP BY 1)`,
    );
    expect(counts?.customers).toBeGreaterThan(900);
    expect(counts?.most).toBe(10);
    expect(counts?.fewest).toBeGreaterThan(0);
    const bad = await store.one<{ flagged: number; bought: number; consumable_again: number; no_reason: number }>(
      `WITH bought AS (SELECT customer_id, product_id FROM orders WHERE product_id IS NOT NULL AND ordered_at < ? GROUP BY ALL HAVING sum(quantity) > 0)
       SELECT count(*) FILTER (WHERE r.product_id = ?)::INTEGER AS flagged,
         count(*) FILTER (WHERE b.customer_id IS NOT NULL AND NOT starts_with(p.category, ? || ' > '))::INTEGER AS bought,
         count(*) FILTER (WHERE b.customer_id IS NOT NULL AND starts_with(p.category, ? || ' > '))::INTEGER AS consumable_again,
         count(*) FILTER (WHERE r.reason IS NULL OR r.reason = '')::INTEGER AS no_reason
       FROM customer_recommendations r JOIN products p USING (product_id) LEFT JOIN bought b USING (customer_id, product_id)`,
      [AS_OF, flagged, consumable, consumable],
    );
    expect(bad).toMatchObject({ flagged: 0, bought: 0, no_reason: 0 });
    // Consumables come back to their buyers.
    expect(bad?.consumable_again).toBeGreaterThan(0);
  });

  it('records the fit in model_fits: the recommender chosen, on which figures, its sizes and diagnostics', async () => {
    const rows = await store.all<{ model: string; fit: string }>(`SELECT model, fit::VARCHAR AS fit FROM model_fits WHERE model LIKE 'recommender-%' AND run_id = (SELECT max(run_id) FROM model_fits)`);
    expect(rows).toHaveLength(1);
    const fit = JSON.parse(rows[0]?.fit ?? '{}') as { chosen: string; interactions: number; customers: number; graded: { name: string; ndcg: number }[]; diagnostics: unknown };
    expect(rows[0]?.model).toBe(`recommender-${fit.chosen}`);
    expect(fit.customers).toBeGreaterThan(900);
    expect(fit.interactions).toBeGreaterThan(fit.customers);
    expect(fit.graded.map((g) => g.name).sort()).toEqual(['als', 'buy-again', 'item-knn', 'popularity']);
    const best = Math.max(...fit.graded.filter((g) => g.name !== 'buy-again').map((g) => g.ndcg));
    expect(fit.graded.find((g) => g.name === fit.chosen)?.ndcg).toBe(best);
    expect(fit.diagnostics).toBeTypeOf('object');
  });

  it('gives reasons in words and the model of each list; the view, customer_scores and the items table agree', async () => {
    const reasons = await store.all<{ reason: string }>(`SELECT DISTINCT regexp_replace(reason, '^because you (bought|looked at) .*', 'because you \\1 X') AS reason FROM customer_recommendations ORDER BY 1`);
    for (const { reason } of reasons) expect(reason).toMatch(/^(because you (bought|looked at) X|popular now|customers like you bought it)$/);
    const models = await store.all<{ m: string }>(`SELECT DISTINCT recommender_model AS m FROM customer_scores WHERE recommender_model IS NOT NULL`);
    for (const { m } of models) expect(['item-knn', 'als', 'popularity']).toContain(m);
    const id = await store.value<string>('SELECT min(customer_id) FROM customer_recommendations');
    const view = await store.all<{ product_id: string; score: number }>('SELECT product_id, score FROM customer_recommendations WHERE customer_id = ? ORDER BY rank', [id]);
    const row = await store.one<{ recommendations: string[]; recommendations_1: string }>('SELECT recommendations, recommendations_1 FROM customer_scores WHERE customer_id = ?', [id]);
    expect(row?.recommendations).toEqual(view.map((v) => v.product_id));
    expect(row?.recommendations_1).toBe(view[0]?.product_id);
    expect(await store.value('SELECT count(*) FROM customer_recommendations')).toBe(await store.value('SELECT count(*) FROM items_recommendations'));
  });

  it('changes no recommendation when absurd orders at or after the as-of are added (no leakage)', async () => {
    const before = await store.all('SELECT * EXCLUDE (run_id) FROM customer_recommendations ORDER BY customer_id, rank');
    await store.run(
      `INSERT INTO orders (order_id, customer_id, ordered_at, product_id, quantity, unit_price, discount, amount, status)
       SELECT 'LATE' || customer_id, customer_id, TIMESTAMP '2025-01-01' + INTERVAL 3 DAY, ?, 500, 1, 0, 500, 'completed' FROM customers LIMIT 300`,
      [flagged],
    );
    try {
      await runScores(store, { config, asOf: AS_OF, scorers: ['recommend'] });
      expect(await store.all('SELECT * EXCLUDE (run_id) FROM customer_recommendations ORDER BY customer_id, rank')).toEqual(before);
    } finally {
      await store.run(`DELETE FROM orders WHERE order_id LIKE 'LATE%'`);
    }
  }, 60_000);

  it('kairos recommend prints names, categories and reasons; --json the rows; an unknown customer is NOT_FOUND; show explains', async () => {
    const id = await store.value<string>('SELECT min(customer_id) FROM customer_recommendations');
    const top = await store.one<{ name: string; category: string; reason: string }>(
      'SELECT p.name, p.category, r.reason FROM customer_recommendations r JOIN products p USING (product_id) WHERE customer_id = ? AND rank = 1',
      [id],
    );
    store.close();
    try {
      const text = io();
      expect(await run(['--db', db, 'recommend', id], text.io), text.err.join('\n')).toBe(0);
      const printed = text.out.join('\n');
      expect(printed).toMatch(new RegExp(`^customer ${id}: \\d+ products recommended by (item-knn|als|popularity) as of ${AS_OF} \\(run \\d+\\)`));
      for (const word of [top?.name, top?.category, top?.reason]) expect(printed).toContain(word);
      const json = io();
      expect(await run(['--db', db, '--json', 'recommend', id], json.io)).toBe(0);
      const parsed = JSON.parse(json.out.join('\n')) as { products: { rank: number; name: string }[] };
      expect(parsed.products[0]).toMatchObject({ rank: 1, name: top?.name });
      const unknown = io();
      expect(await run(['--db', db, 'recommend', 'NOBODY'], unknown.io)).toBe(EXIT_CODES.NOT_FOUND);
      expect(unknown.err.join('\n')).toMatch(/customer "NOBODY" not found/);
      const show = io();
      expect(await run(['--db', db, 'show', id], show.io)).toBe(0);
      expect(show.out.join('\n')).toMatch(/recommend:\n {2}- \d+ product\(s\) recommended by/);
    } finally {
      store = await Store.open(db);
    }
  });

  it('kairos export --recommendations writes the long and the wide table', async () => {
    store.close();
    try {
      const long = join(dir, 'long.csv');
      const l = await exportScores(db, { format: 'csv', out: long, recommendations: 'long' });
      expect(l.columns).toEqual(['customer_id', 'rank', 'product_id', 'product_name', 'category', 'score', 'reason']);
      expect(readFileSync(long, 'utf8').trim().split('\n').length - 1).toBe(l.rows);
      const wide = join(dir, 'wide.csv');
      const w = await exportScores(db, { format: 'csv', out: wide, recommendations: 'wide' });
      expect(w.columns.slice(0, 5)).toEqual(['customer_id', 'recommender_model', 'product_1', 'product_name_1', 'reason_1']);
      expect(w.columns).toContain('product_10');
      expect(w.rows).toBeLessThan(l.rows);
      const cli = io();
      expect(await run(['--db', db, 'export', '--recommendations', '--shape', 'wide', '--out', wide], cli.io)).toBe(0);
      expect(cli.out.join('\n')).toMatch(/^wrote [\d,]+ customers x 32 columns/);
      expect(await run(['--db', db, 'export', '--recommendations', '--shape', 'tall', '--out', wide], io().io)).toBe(EXIT_CODES.USAGE);
    } finally {
      store = await Store.open(db);
    }
  });
});

describe('popularity segments', () => {
  it("with popularitySegments 'country', customers of countries with 50 customers or more get their country's segment", async () => {
    await createAsOfViews(store, `${AS_OF} 00:00:00`);
    const src = { orders: 'asof_orders', events: 'asof_events', customers: 'asof_customers', cut: `${AS_OF} 00:00:00` };
    try {
      expect((await createIndex(store, src, config.recommend)).segments).toBeNull();
      const index = await createIndex(store, src, { ...config.recommend, popularitySegments: 'country' });
      expect(index.segmentNames.length).toBeGreaterThanOrEqual(2);
      const countries = new Map((await store.all<{ customer_id: string; country: string }>('SELECT customer_id, country FROM customers')).map((r) => [r.customer_id, r.country]));
      const segments = index.segments as Int32Array;
      index.customerIds.forEach((id, u) => {
        const seg = segments[u] as number;
        if (seg >= 0) expect(index.segmentNames[seg]).toBe(countries.get(id));
      });
    } finally {
      await dropRecommendData(store);
    }
  });
});

describe('kairos evaluate: recommendations graded on the holdout (demo store)', () => {
  it('grades the chosen recommender against popularity and buy-again on the holdout buyers, with every figure', async () => {
    const result = await evaluateStore(store, { config, registry: new ScoreRegistry([recommendScorer]), asOf: '2024-10-01', holdout: 90 });
    const section = result.report.scores.find((s) => s.kind === 'ranking');
    expect(section?.metrics.map((m) => m.metric)).toEqual([
      'NDCG@10',
      'Precision@10',
      'Recall@10',
      'Hit rate@10',
      'Catalogue coverage',
      'Novelty (mean -log2 popularity)',
    ]);
    expect(['popularity', 'buy-again']).toContain(section?.metrics[0]?.baselineName);
    const details = result.scorers['recommend']?.details as RecommendBacktestDetails;
    expect(details.graded.map((g) => g.name)).toEqual(['item-knn', 'als', 'popularity', 'buy-again']);
    expect(details.buyers).toBeGreaterThan(50);
    for (const g of details.graded) {
      expect(g.metrics.ndcg).toBeGreaterThanOrEqual(0);
      expect(g.metrics.ndcg).toBeLessThanOrEqual(1);
    }
    // The demo's customers have category tastes: the chosen model beats the better baseline.
    expect(section?.grade.grade, JSON.stringify(section?.metrics[0])).toMatch(/^[AB]$/);
    expect(result.scorers['recommend']?.summary[0]).toMatch(/^recommend: (item-knn|als|popularity) \(chosen on the calibration's last 30 days\) on [\d,]+ holdout buyers, NDCG@10 /);
  }, 60_000);
});

describe('bad input', () => {
  const csv = (name: string, text: string): string => {
    const file = join(dir, name);
    writeFileSync(file, text);
    return file;
  };

  it('a catalogue of one product, a customer with only returns, a product without a category, an unknown product: no crash, counted', async () => {
    const s = await Store.open(join(dir, 'bad.duckdb'));
    try {
      await ingest(s, { entity: 'products', files: [csv('bad-products.csv', 'product_id,name,category,price\nONLY,The only product,,10\n')] });
      await ingest(s, {
        entity: 'orders',
        files: [
          csv(
            'bad-orders.csv',
            'order_id,customer_id,ordered_at,product_id,quantity,amount\n' +
              'O1,A,2024-01-05T10:00:00Z,ONLY,1,10\nO2,B,2024-02-05T10:00:00Z,ONLY,1,10\nO3,B,2024-03-05T10:00:00Z,GHOST,2,8\n' +
              'R1,RET,2024-03-01T10:00:00Z,ONLY,-1,-10\nO4,C,2024-03-10T10:00:00Z,GHOST,1,4\n',
          ),
        ],
      });
      const summary = await runScores(s, { config: DEFAULT_CONFIG, asOf: '2024-06-01', scorers: ['recommend'] });
      const notes = summary.notes.join('\n');
      expect(notes).toMatch(/^recommend: 0 customer\(s\) bought in the 30 days before the as-of, fewer than the 50 needed to compare the candidates: item-knn used$/m);
      expect(notes).toMatch(/1 product\(s\) without a category, shown as 'uncategorised'/);
      expect(notes).toMatch(/2 order line\(s\) of 1 product\(s\) not in the product catalogue: kept as interactions, never recommended/);
      const rows = await s.all<{ customer_id: string; product_id: string }>('SELECT customer_id, product_id FROM customer_recommendations ORDER BY customer_id');
      // A and B bought the only product; C (who bought an unknown product) and RET (only a return) get it.
      expect(rows).toEqual([
        { customer_id: 'C', product_id: 'ONLY' },
        { customer_id: 'RET', product_id: 'ONLY' },
      ]);
    } finally {
      s.close();
    }
  }, 30_000);

  it('orders without product ids (as CDNOW): empty lists and a note, at once', async () => {
    const s = await Store.open(join(dir, 'cdnow-like.duckdb'));
    try {
      await ingest(s, { entity: 'orders', files: [csv('plain-orders.csv', 'order_id,customer_id,ordered_at,amount\nO1,A,2024-01-05T10:00:00Z,10\nO2,B,2024-02-05T10:00:00Z,12\n')] });
      const summary = await runScores(s, { config: DEFAULT_CONFIG, asOf: '2024-06-01', scorers: ['recommend'] });
      expect(summary.notes).toContainEqual(expect.stringMatching(/^recommend: no order line or product event with a product id before the as-of: no recommendations/));
      expect(await s.value('SELECT count(*) FROM customer_recommendations')).toBe(0);
      expect(await s.value('SELECT count(*) FROM customer_scores WHERE recommender_model IS NULL')).toBe(2);
    } finally {
      s.close();
    }
    const text = io();
    expect(await run(['--db', join(dir, 'cdnow-like.duckdb'), 'recommend', 'A'], text.io)).toBe(0);
    expect(text.out.join('\n')).toMatch(/^customer A: no recommendations as of 2024-06-01/);
  }, 30_000);
});
