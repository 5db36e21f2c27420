// The affinity scorer on a small demo retailer: probabilities, groups per level, no leakage, the latent favourite category, uncategorised products, stores without products.
import { appendFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG, validateConfig, type KairosConfig } from '../../config.js';
import { CATEGORY_TREE } from '../../demo/catalog.js';
import { writeRetailerFiles } from '../../demo/generate.js';
import { ingest } from '../../ingest/ingest.js';
import { Store } from '../../store/db.js';
import { run as cli } from '../../cli/main.js';
import { DEFAULT_REGISTRY } from '../registry.js';
import { explainCustomer } from '../explain.js';
import { runScores } from '../run.js';
import { audienceCsv, buildAudience } from './audience.js';
import { backtestAffinity, type AffinityBacktestDetails } from './backtest.js';
import { createSplitViews, resolveSplit, withRollback } from '../../backtest/split.js';
import { nearestNames, topGroups, writeProductGroups } from './groups.js';
import { PAIR_FEATURE_NAMES, readPairs, writePairs } from './pairs.js';
import { writeRecommendedGroups } from './recommended.js';

const AS_OF = '2025-01-01';
/** Affinity is off by default: on here (recommendations on: the pairs' g_rec). */
const config: KairosConfig = { ...DEFAULT_CONFIG, affinity: { ...DEFAULT_CONFIG.affinity, enabled: true } };
const dir = mkdtempSync(join(tmpdir(), 'kairos-affinity-'));
let store: Store;
let files: ReturnType<typeof writeRetailerFiles>;
let run: Awaited<ReturnType<typeof runScores>>;

async function demoStore(name: string): Promise<Store> {
  const s = await Store.open(join(dir, name));
  for (const entity of ['products', 'customers', 'orders', 'events'] as const) await ingest(s, { entity, files: [files.paths[entity]], rejectsDir: dir });
  return s;
}

/** Items of the published run, sorted. */
function items(s: Store): Promise<{ customer_id: string; rank: number; key: string; value: number; reason: string }[]> {
  return s.all('SELECT customer_id, rank, key, value, reason FROM items_category_affinity WHERE run_id = (SELECT max(run_id) FROM items_category_affinity) ORDER BY customer_id, rank');
}

beforeAll(async () => {
  files = writeRetailerFiles(join(dir, 'files'), { customers: 500, seed: 11 });
  store = await demoStore('a.duckdb');
  run = await runScores(store, { config, asOf: AS_OF, scorers: ['affinity'] });
}, 120_000);
afterAll(() => store.close());

describe('affinity scorer on the demo retailer', () => {
  it('scores every active customer in every top-level category with a probability and a reason', async () => {
    const rows = await items(store);
    const tops = new Set(CATEGORY_TREE.map((c) => c.name));
    expect(rows.length).toBeGreaterThan(1000);
    for (const r of rows) {
      expect(r.value).toBeGreaterThanOrEqual(0);
      expect(r.value).toBeLessThanOrEqual(1);
      expect(tops.has(r.key), r.key).toBe(true);
      expect(r.reason).toMatch(/^(bought (once|\d+ times) in it, last \d+ days ago|never bought in it)/);
    }
    // Ranks follow the probabilities; top_category is rank 1.
    const mismatch = await store.value(
      `SELECT count(*) FROM customer_scores s JOIN items_category_affinity i ON i.customer_id = s.customer_id AND i.rank = 1 AND i.run_id = ?
       WHERE s.top_category IS DISTINCT FROM i.key OR s.category_affinity_1 IS DISTINCT FROM i.key`,
      [run.runId],
    );
    expect(mismatch).toBe(0);
    expect(await store.value('SELECT count(*) FROM items_category_affinity a JOIN items_category_affinity b ON a.customer_id = b.customer_id AND b.rank = a.rank + 1 AND a.run_id = b.run_id WHERE b.value > a.value')).toBe(0);
    expect(run.notes.join('\n')).toMatch(/affinity: inner holdout at .* ROC AUC 0\.\d+ against 0\.\d+ for 'bought in the group before'/);
    const fit = await store.value<{ settings: unknown; groups: unknown[] }>("SELECT fit FROM model_fits WHERE run_id = ? AND model = 'affinity-boosted'", [run.runId]);
    expect(fit.settings).toEqual({ by: 'category', level: 1, horizonDays: 90 });
    const { explanations } = await explainCustomer(store, rows[0]?.customer_id ?? '');
    expect(explanations['affinity']?.[0]).toMatch(/^most likely to buy next in: [^,]+ \d+(\.\d+)?% \((bought|never bought)/);
  });

  it("ranks the customer's latent favourite category first more often than chance", async () => {
    const lines = readFileSync(files.paths.truth, 'utf8').trim().split('\n');
    const header = (lines[0] ?? '').split(',');
    const id = header.indexOf('customer_id');
    const fav = header.indexOf('favourite_category');
    const favourite = new Map(lines.slice(1).map((l) => l.split(',')).map((f) => [f[id] as string, f[fav] as string]));
    const top = await store.all<{ customer_id: string; top_category: string }>('SELECT customer_id, top_category FROM customer_scores WHERE top_category IS NOT NULL');
    const hits = top.filter((r) => favourite.get(r.customer_id) === r.top_category).length;
    const share = hits / top.length;
    // The best constant guess: the most common favourite.
    const counts = new Map<string, number>();
    for (const r of top) counts.set(favourite.get(r.customer_id) ?? '', (counts.get(favourite.get(r.customer_id) ?? '') ?? 0) + 1);
    const constant = Math.max(...counts.values()) / top.length;
    console.log(`affinity: top group = latent favourite for ${(100 * share).toFixed(1)}% of ${top.length} customers (chance ${(100 / CATEGORY_TREE.length).toFixed(1)}%, most common favourite ${(100 * constant).toFixed(1)}%)`);
    expect(share).toBeGreaterThan(1.5 * constant);
  });

  it('groups by the second level of the category path, and by an attribute', async () => {
    const counted = await writeProductGroups(store, '__t_groups', { by: 'category', level: 2 });
    expect(counted.uncategorised).toBe(0);
    const bad = await store.value("SELECT count(*) FROM __t_groups g JOIN products p USING (product_id) WHERE g.grp <> trim(p.category) OR g.grp NOT LIKE '% > %'");
    expect(bad).toBe(0);
    const top = await topGroups(store, 'orders', '__t_groups', 5);
    expect(top.length).toBe(5);
    expect(top[0]?.buyers).toBeGreaterThanOrEqual(top[4]?.buyers ?? 0);
    // Scoring in passes over shares of the customers gives the same pairs as one pass.
    await store.run('CREATE OR REPLACE TEMP TABLE __t_scored AS SELECT DISTINCT grp FROM __t_groups');
    const options = { cut: '2024-10-01 00:00:00', orders: 'orders', events: 'events', productGroups: '__t_groups', scored: '__t_scored', perMille: 1000 };
    await writePairs(store, '__t_whole', options);
    const whole = await readPairs(store, '__t_whole');
    let rows = 0;
    for (let part = 0; part < 3; part++) {
      await writePairs(store, '__t_part', { ...options, pass: { part, parts: 3 } });
      const p = await readPairs(store, '__t_part');
      rows += p.rows;
      const at = new Map(whole.customers.map((c, i) => [`${c}|${whole.groups[i]}`, i]));
      for (const f of PAIR_FEATURE_NAMES) {
        const a = whole.numbers[f] as Float64Array;
        const b = p.numbers[f] as Float64Array;
        p.customers.forEach((c, i) => expect(Object.is(a[at.get(`${c}|${p.groups[i]}`) as number], b[i]) || Math.abs((a[at.get(`${c}|${p.groups[i]}`) as number] as number) - (b[i] as number)) < 1e-12, `${f} of ${c}`).toBe(true));
      }
    }
    expect(rows).toBe(whole.rows);
    for (const t of ['__t_groups', '__t_scored', '__t_whole', '__t_part']) await store.run(`DROP TABLE ${t}`);
  });

  it("aggregates each customer's top 20 item-knn recommendations to the groups as shares of their score (g_rec)", async () => {
    await writeProductGroups(store, '__t_groups', config.affinity);
    await store.run('CREATE OR REPLACE TEMP TABLE __t_scored AS SELECT DISTINCT grp FROM __t_groups');
    const o = { cut: '2024-10-01 00:00:00', orders: 'orders', events: 'events', customers: 'customers', productGroups: '__t_groups', scored: '__t_scored', settings: config.recommend };
    const rows = await writeRecommendedGroups(store, '__t_rec', o);
    expect(rows).toBeGreaterThan(500);
    const check = await store.one<{ customers: number; low: number; high: number; over: number; unknown: number; late: number }>(
      `SELECT count(DISTINCT customer_id)::INTEGER AS customers, min(g_rec) AS low, max(g_rec) AS high,
         (SELECT count(*) FROM (SELECT customer_id FROM __t_rec GROUP BY 1 HAVING sum(g_rec) > 1 + 1e-9))::INTEGER AS over,
         count(*) FILTER (WHERE grp NOT IN (SELECT grp FROM __t_scored))::INTEGER AS unknown,
         count(*) FILTER (WHERE customer_id NOT IN (SELECT customer_id FROM orders WHERE ordered_at < $1::TIMESTAMP UNION SELECT customer_id FROM events WHERE occurred_at < $1::TIMESTAMP))::INTEGER AS late
       FROM __t_rec`,
      [o.cut],
    );
    expect(check?.customers).toBeGreaterThan(200);
    expect(check?.low).toBeGreaterThan(0);
    expect(check?.high).toBeLessThanOrEqual(1);
    // Shares of one customer's recommendation score never add up to more than all of it; only customers seen before the cut.
    expect(check).toMatchObject({ over: 0, unknown: 0, late: 0 });
    // The pairs carry it; with recommendations off the table is empty and g_rec is 0.
    await writePairs(store, '__t_pairs', { cut: o.cut, orders: 'orders', events: 'events', productGroups: '__t_groups', scored: '__t_scored', recommended: '__t_rec', perMille: 1000 });
    const pairs = await readPairs(store, '__t_pairs');
    expect((pairs.numbers['g_rec'] as Float64Array).filter((v) => v > 0).length).toBe(rows);
    expect(await writeRecommendedGroups(store, '__t_rec', { ...o, settings: { ...config.recommend, enabled: false } })).toBe(0);
    for (const t of ['__t_groups', '__t_scored', '__t_rec', '__t_pairs']) await store.run(`DROP TABLE ${t}`);
  });

  it('sees nothing at or after the as-of: absurd later orders change no probability', async () => {
    const other = await demoStore('b.duckdb');
    const late = join(dir, 'late-orders.csv');
    const product = await store.value<string>('SELECT min(product_id) FROM products');
    appendFileSync(late, 'order_id,customer_id,ordered_at,amount,product_id\n' + Array.from({ length: 300 }, (_, i) => `late${i},C${String(i + 1).padStart(6, '0')},2025-0${1 + (i % 5)}-1${i % 9} 10:00:00,99999,${product}`).join('\n') + '\n');
    await ingest(other, { entity: 'orders', files: [late], rejectsDir: dir });
    await runScores(other, { config, asOf: AS_OF, scorers: ['affinity'] });
    expect(await items(other)).toEqual(await items(store));
    other.close();
  }, 60_000);
});

describe('affinity in kairos evaluate', () => {
  it('grades upsell against bought-before and cross-sell against popularity, per group and overall', async () => {
    const result = await withRollback(store, async () => {
      const split = await resolveSplit(store, { asOf: '2024-10-01', holdout: '90d' });
      await createSplitViews(store, split);
      return backtestAffinity({ store, split, config, progress: () => {} });
    });
    expect(result.sections.map((s) => s.name)).toEqual([
      expect.stringMatching(/^Category affinity \(upsell\)/),
      expect.stringMatching(/^Category affinity \(cross-sell\)/),
    ]);
    for (const s of result.sections) {
      expect(s.metrics[0]?.metric).toBe('ROC AUC');
      expect(s.grade.grade).toMatch(/^[ABC]$/);
    }
    const d = result.details as AffinityBacktestDetails;
    expect(d.groups.length).toBe(CATEGORY_TREE.length);
    expect(d.upsell.auc).toBeGreaterThan(0.6);
    expect(d.crossSell.auc).toBeGreaterThan(0.5);
    expect(result.summary?.join('\n')).toMatch(/affinity overall: upsell ROC AUC 0\.\d+ vs 0\.\d+/);
  });
});

describe('audiences', () => {
  it('upsell ranks everyone by probability; cross-sell keeps only customers who never bought in the group', async () => {
    const upsell = await buildAudience(store, { group: 'Home', mode: 'upsell', top: 100000, registry: DEFAULT_REGISTRY });
    const cross = await buildAudience(store, { group: 'Home', mode: 'cross-sell', top: 100000, registry: DEFAULT_REGISTRY });
    expect(upsell.size).toBeGreaterThan(cross.size);
    expect(cross.size).toBeGreaterThan(0);
    expect(upsell.rows.some((r) => r.bought_in_group_before)).toBe(true);
    expect(cross.rows.every((r) => !r.bought_in_group_before)).toBe(true);
    for (const a of [upsell, cross]) {
      a.rows.forEach((r, k) => {
        expect(r.rank).toBe(k + 1);
        if (k > 0) expect(r.probability).toBeLessThanOrEqual(a.rows[k - 1]?.probability ?? 1);
      });
    }
    // Nobody in the cross-sell audience bought in Home before the as-of.
    const ids = cross.rows.map((r) => r.customer_id);
    const prior = await store.value(
      `SELECT count(*) FROM orders o JOIN products p USING (product_id)
       WHERE o.ordered_at < '2025-01-01' AND o.amount > 0 AND split_part(p.category, ' > ', 1) = 'Home' AND list_contains(string_split($1, ','), o.customer_id)`,
      [ids.join(',')],
    );
    expect(prior).toBe(0);
    const top = await buildAudience(store, { group: 'Home', mode: 'upsell', top: 10, minProbability: 0.2, registry: DEFAULT_REGISTRY });
    expect(top.size).toBeLessThanOrEqual(10);
    expect(top.rows.every((r) => r.probability >= 0.2)).toBe(true);
    expect(top.expectedBuyers).toBeCloseTo(top.rows.reduce((a, r) => a + r.probability, 0), 9);
    expect(audienceCsv(top).split('\n')[0]).toBe('customer_id,email,probability,bought_in_group_before,rank');
  });

  it('gives an empty audience and says why for a group nobody bought in', async () => {
    const pets = join(dir, 'pets.csv');
    writeFileSync(pets, 'product_id,name,category,price\nPET1,Dog Bowl,Pets > Dogs,9.5\n');
    await ingest(store, { entity: 'products', files: [pets], rejectsDir: dir });
    const a = await buildAudience(store, { group: 'Pets', mode: 'upsell', registry: DEFAULT_REGISTRY });
    expect(a.size).toBe(0);
    expect(a.expectedBuyers).toBe(0);
    expect(a.notes).toEqual([expect.stringMatching(/product group "Pets" has no buyers before 2025-01-01: no affinity is learned for it, empty audience/)]);
  });

  it('names the nearest groups when the group does not exist, through the CLI with its usage exit code', async () => {
    await expect(buildAudience(store, { group: 'home', mode: 'upsell', registry: DEFAULT_REGISTRY })).rejects.toMatchObject({
      code: 'USAGE',
      message: expect.stringMatching(/no product group "home" \(category level 1\); nearest: "Home"/),
    });
    const out: string[] = [];
    const io = { out: (l: string) => void out.push(l), err: () => {}, isTty: false };
    expect(await cli(['--db', join(dir, 'a.duckdb'), '--json', 'audience', '--group', 'Fashon', '--mode', 'cross-sell'], io)).toBe(2);
    expect(out.join('\n')).toMatch(/nearest: \\"Fashion\\"/);
  });
});

describe('affinity on odd stores', () => {
  it("counts products without a category as 'uncategorised', groups by an attribute, and scores without crashing", async () => {
    const s = await Store.open(':memory:');
    const products = join(dir, 'odd-products.csv');
    writeFileSync(products, 'product_id,name,category,price,brand\nP1,a,Home > Kitchen,10,Acme\nP2,b,,5,\nP3,c,Garden,7,Acme\n');
    await ingest(s, { entity: 'products', files: [products], rejectsDir: dir });
    const counted = await writeProductGroups(s, 'g', { by: 'category', level: 1 });
    expect(counted).toEqual({ products: 3, uncategorised: 1 });
    expect(await s.all('SELECT product_id, grp FROM g ORDER BY product_id')).toEqual([
      { product_id: 'P1', grp: 'Home' },
      { product_id: 'P2', grp: 'uncategorised' },
      { product_id: 'P3', grp: 'Garden' },
    ]);
    await writeProductGroups(s, 'b', { by: 'attribute:brand', level: 1 });
    expect((await s.all<{ grp: string }>('SELECT grp FROM b ORDER BY product_id')).map((r) => r.grp)).toEqual(['Acme', 'uncategorised', 'Acme']);
    s.close();
  });

  it('returns no affinity and a note when order lines have no product (CDNOW); with affinity off, an audience says how to turn it on', async () => {
    const s = await Store.open(':memory:');
    const orders = join(dir, 'cdnow.csv');
    writeFileSync(orders, 'order_id,customer_id,ordered_at,amount\n' + Array.from({ length: 200 }, (_, i) => `o${i},c${i % 40},2024-0${1 + (i % 9)}-1${i % 9},${10 + i}`).join('\n') + '\n');
    await ingest(s, { entity: 'orders', files: [orders], rejectsDir: dir });
    const r = await runScores(s, { config, asOf: '2024-12-01', scorers: ['affinity'] });
    expect(r.notes.join('\n')).toMatch(/affinity: no order line with a product/);
    expect(await s.value('SELECT count(*) FROM items_category_affinity')).toBe(0);
    expect(await s.value('SELECT count(top_category) FROM customer_scores')).toBe(0);
    await runScores(s, { config: { ...DEFAULT_CONFIG, affinity: { ...DEFAULT_CONFIG.affinity, enabled: false } }, asOf: '2024-12-01', scorers: ['affinity'] });
    const off = await buildAudience(s, { group: 'Home', mode: 'upsell', registry: DEFAULT_REGISTRY });
    expect(off.size).toBe(0);
    expect(off.notes.join('\n')).toMatch(/category affinity was off in run 2 \(affinity.enabled false\): set "affinity": \{ "enabled": true \}/);
    s.close();
  });

  it('refuses settings a typo would make absurd', () => {
    expect(() => validateConfig({ ...config, affinity: { ...config.affinity, by: 'brand' } })).toThrow(/affinity.by must be 'category' or 'attribute:<key>'/);
    expect(() => validateConfig({ ...config, affinity: { ...config.affinity, level: 0 } })).toThrow(/affinity.level must be an integer from 1/);
    expect(() => validateConfig({ ...config, affinity: { ...config.affinity, by: 'attribute:brand' } })).not.toThrow();
  });

  it('finds the nearest group names, substrings first', () => {
    expect(nearestNames('home', ['Fashion', 'Home', 'Home > Kitchen', 'Beauty'], 2)).toEqual(['Home', 'Home > Kitchen']);
    expect(nearestNames('Fashon', ['Fashion', 'Home', 'Beauty'], 1)).toEqual(['Fashion']);
  });
});
