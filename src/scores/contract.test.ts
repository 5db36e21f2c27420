// The scorer contract suite: every registered scorer (and a toy item scorer) checked for declared shape, no leakage, explanations alone and item order.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG } from '../config.js';
import { ingest } from '../ingest/ingest.js';
import { quoteIdentifier, type Store } from '../store/db.js';
import { toyItemScorer, toyStore } from '../testing/toy-scorers.js';
import { explainCustomer } from './explain.js';
import { customScorers } from './custom/index.js';
import { DEFAULT_REGISTRY, itemColumns, ScoreRegistry, SCORERS } from './registry.js';
import { itemsTable, resultsTable } from './results.js';
import { runScores } from './run.js';
import { ITEM_DEFAULTS, SQL_TYPES, type Scorer } from './types.js';

/**
 * Every shipped scorer, plus a toy item scorer so that the item path is held to the same contract, and a custom score
 * of kairos.config.json (src/scores/custom) reading scores of two scorers and a customer column.
 */
const CUSTOM = customScorers(
  [{ name: 'toy_grid', scale: { min: 0, max: 10 }, criteria: [{ when: 'frequency >= 2', points: 6 }, { when: "engagement_score > 0 or country = 'FR'", points: 4, label: 'engaged or French' }], objective: { event: 'purchase', withinDays: 90 } }],
  DEFAULT_REGISTRY,
  () => REGISTRY,
);
const REGISTRY: ScoreRegistry = new ScoreRegistry([...SCORERS, toyItemScorer, ...CUSTOM]);
const AS_OF = '2023-10-01';
/**
 * One purchase model, not the default choice among three: the contract is about shape, not which model wins (clv.test.ts).
 * Category affinity, off by default, on: its rows are held to the contract too.
 */
const config = { ...DEFAULT_CONFIG, scores: { ...DEFAULT_CONFIG.scores, model: 'bg-nbd' as const }, affinity: { ...DEFAULT_CONFIG.affinity, enabled: true } };

let dir: string;
/** Every scorer run together; the same data plus rows dated at or after as-of; each scorer run alone, in turn. */
let store: Store;
let late: Store;
let alone: Store;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kairos-scorer-contract-'));
  store = await toyStore(join(dir, 'data'), join(dir, 'k.duckdb'));
  await runScores(store, { config, asOf: AS_OF, registry: REGISTRY });
  late = await toyStore(join(dir, 'late-data'), join(dir, 'late.duckdb'));
  writeFileSync(join(dir, 'late-orders.csv'), 'order_id,customer_id,ordered_at,amount,product_id\nLATE1,K0001,2023-10-01T00:00:00Z,999,P1\nLATE2,K0002,2024-01-05T10:00:00Z,5000,P2\nLATE3,NEW1,2024-02-01T00:00:00Z,10,P3\n');
  writeFileSync(join(dir, 'late-events.csv'), 'customer_id,occurred_at,type,product_id\nK0001,2023-12-01T00:00:00Z,product_view,P4\n');
  await ingest(late, { entity: 'orders', files: [join(dir, 'late-orders.csv')], rejectsDir: dir });
  await ingest(late, { entity: 'events', files: [join(dir, 'late-events.csv')], rejectsDir: dir });
  await runScores(late, { config, asOf: AS_OF, registry: REGISTRY });
  alone = await toyStore(join(dir, 'alone-data'), join(dir, 'alone.duckdb'));
});
afterAll(() => {
  for (const s of [store, late, alone]) s?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A scorer's stored rows, ordered, as plain values: for bit-for-bit comparisons. */
async function snapshot(s: Store, scorer: Scorer): Promise<unknown[]> {
  const out: unknown[] = [await s.all(`SELECT * FROM ${quoteIdentifier(resultsTable(scorer.name))} ORDER BY customer_id`)];
  for (const o of scorer.items ?? []) out.push(await s.all(`SELECT * FROM ${quoteIdentifier(itemsTable(o.name))} ORDER BY customer_id, rank`));
  return out;
}

/**
 * Equal, numbers within 1e-9 relative: DuckDB adds DOUBLE amounts in an order that depends on how the rows lie in
 * the table (a later ingest moves them), which changes sums, hence fitted parameters, in the last bits (~1e-13 seen).
 * Leakage moves values by far more. Everything else must be identical.
 */
function sameValues(a: unknown, b: unknown, path = ''): string | null {
  if (typeof a === 'number' && typeof b === 'number') {
    return Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a), Math.abs(b)) ? null : `${path}: ${a} vs ${b}`;
  }
  if (Array.isArray(a) && Array.isArray(b)) {
    if (a.length !== b.length) return `${path}: ${a.length} vs ${b.length} items`;
    for (let i = 0; i < a.length; i++) {
      const d = sameValues(a[i], b[i], `${path}[${i}]`);
      if (d) return d;
    }
    return null;
  }
  if (a && b && typeof a === 'object' && typeof b === 'object') {
    const keys = Object.keys(a);
    if (keys.join() !== Object.keys(b).join()) return `${path}: keys ${keys.join()} vs ${Object.keys(b).join()}`;
    for (const k of keys) {
      const d = sameValues((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], `${path}.${k}`);
      if (d) return d;
    }
    return null;
  }
  return a === b ? null : `${path}: ${String(a)} vs ${String(b)}`;
}

/** Words a broken explanation lets through: a missing column, a failed number, an object printed as is. */
const BROKEN = /undefined|NaN|\[object|null/;

describe.each(REGISTRY.scorers.map((s) => [s.name, s] as const))('scorer %s', (_, scorer) => {
  it('declares snake_case names, a version, a description and one sentence per column', () => {
    expect(scorer.version).toMatch(/^\d+\.\d+\.\d+$/);
    expect(scorer.description.length).toBeGreaterThan(10);
    for (const c of scorer.columns) expect(c.description.length, c.name).toBeGreaterThan(5);
  });

  it('stores exactly its declared columns with their declared types, in its table and in customer_scores', async () => {
    const expected = [
      ['run_id', 'INTEGER'],
      ['customer_id', 'VARCHAR'],
      ...scorer.columns.map((c) => [c.name, SQL_TYPES[c.type]]),
      ...(scorer.items ?? []).flatMap((o) => itemColumns(o).map((c) => [c.name, SQL_TYPES[c.type]])),
    ];
    const described = await store.all<{ column_name: string; column_type: string }>(`DESCRIBE ${quoteIdentifier(resultsTable(scorer.name))}`);
    expect(described.map((d) => [d.column_name, d.column_type])).toEqual(expected);
    const view = new Map((await store.all<{ column_name: string; column_type: string }>('DESCRIBE customer_scores')).map((d) => [d.column_name, d.column_type]));
    for (const [name, type] of expected.slice(2)) expect(view.get(name as string), name).toBe(type);
  });

  it('scores only customers of the as-of date, once each, with finite numbers', async () => {
    const table = quoteIdentifier(resultsTable(scorer.name));
    const counts = await store.one<{ n: number; distinct_ids: number; outside: number }>(
      `SELECT count(*) AS n, count(DISTINCT customer_id) AS distinct_ids,
         count(*) FILTER (WHERE customer_id NOT IN (SELECT customer_id FROM customers WHERE created_at IS NULL OR created_at < ?::TIMESTAMP)) AS outside
       FROM ${table}`,
      [AS_OF],
    );
    expect(counts?.n).toBeGreaterThan(0);
    expect(counts?.distinct_ids).toBe(counts?.n);
    expect(counts?.outside).toBe(0);
    for (const c of scorer.columns.filter((c) => c.type === 'number')) {
      expect(await store.value(`SELECT count(*) FROM ${table} WHERE NOT isfinite(${quoteIdentifier(c.name)})`), c.name).toBe(0);
    }
  });

  it('changes nothing when rows dated at or after as-of are added (no leakage)', async () => {
    expect(sameValues(await snapshot(late, scorer), await snapshot(store, scorer))).toBeNull();
  });

  it('explains customers in words when it ran alone (its dependencies stored for the same as-of)', async () => {
    // Scorers come in dependency order and each runs alone here, so its dependencies ran alone before it (run here when
    // this test is run by itself).
    for (const dep of REGISTRY.resolve([...REGISTRY.closure(scorer.name)]).filter((s) => s.name !== scorer.name)) {
      const stored = Number(await alone.value('SELECT count(*) FROM scorer_results WHERE scorer = ?', [dep.name]));
      if (stored === 0) await runScores(alone, { config, asOf: AS_OF, registry: REGISTRY, scorers: [dep.name] });
    }
    await runScores(alone, { config, asOf: AS_OF, registry: REGISTRY, scorers: [scorer.name] });
    expect(await alone.value('SELECT count(*) FROM scorer_results WHERE scorer = ?', [scorer.name])).toBe(1);
    // A repeat buyer, a one-time buyer, and a prospect without orders.
    const ids = await store.all<{ customer_id: string }>(
      `(SELECT customer_id FROM scores_rfm WHERE frequency > 2 ORDER BY customer_id LIMIT 1)
       UNION ALL (SELECT customer_id FROM scores_rfm WHERE frequency = 1 ORDER BY customer_id LIMIT 1)
       UNION ALL (SELECT customer_id FROM scores_rfm WHERE frequency = 0 ORDER BY customer_id LIMIT 1)`,
    );
    expect(ids.length).toBe(3);
    for (const { customer_id } of ids) {
      const { explanations } = await explainCustomer(alone, customer_id, REGISTRY);
      const lines = explanations[scorer.name];
      expect(lines?.length, customer_id).toBeGreaterThan(0);
      for (const line of lines ?? []) expect(line, `${customer_id}: ${line}`).not.toMatch(BROKEN);
    }
  });

  it.runIf((scorer.items ?? []).length > 0)('returns item rows in rank order 1..k, one key once per customer, values not increasing', async () => {
    for (const o of scorer.items ?? []) {
      const t = quoteIdentifier(itemsTable(o.name));
      const bad = await store.one<{ gaps: number; dup_keys: number; rising: number; rows: number }>(
        `WITH r AS (SELECT customer_id, rank, key, value, lag(value) OVER (PARTITION BY customer_id ORDER BY rank) AS prev,
                      row_number() OVER (PARTITION BY customer_id ORDER BY rank) AS expected FROM ${t})
         SELECT count(*) AS rows, count(*) FILTER (WHERE rank <> expected) AS gaps, count(*) FILTER (WHERE value > prev) AS rising,
           (SELECT count(*) FROM (SELECT customer_id, key FROM ${t} GROUP BY ALL HAVING count(*) > 1)) AS dup_keys FROM r`,
      );
      expect(bad?.rows, o.name).toBeGreaterThan(0);
      expect({ gaps: bad?.gaps, dup_keys: bad?.dup_keys, rising: bad?.rising }, o.name).toEqual({ gaps: 0, dup_keys: 0, rising: 0 });
    }
  });

  it.runIf((scorer.items ?? []).length > 0)('offers the top items as columns of customer_scores: the list or map, and the top keys', async () => {
    for (const o of scorer.items ?? []) {
      const keep = o.keep ?? ITEM_DEFAULTS.keep;
      const id = await store.value<string>(`SELECT customer_id FROM ${quoteIdentifier(itemsTable(o.name))} GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1`);
      const rows = await store.all<{ key: string; value: number }>(`SELECT key, value FROM ${quoteIdentifier(itemsTable(o.name))} WHERE customer_id = ? ORDER BY rank`, [id]);
      const row = (await store.one('SELECT * FROM customer_scores WHERE customer_id = ?', [id])) as Record<string, unknown>;
      const top = rows.slice(0, keep);
      if (o.shape === 'map') expect(row[o.name]).toEqual(Object.fromEntries(top.map((r) => [r.key, r.value])));
      else expect(row[o.name]).toEqual(top.map((r) => r.key));
      for (const c of itemColumns(o).filter((c) => c.top !== undefined)) expect(row[c.name], c.name).toBe(rows[(c.top as number) - 1]?.key ?? null);
      // Every run's history holds the same top items (the list or map column of the scorer's results).
      const history = await store.value('SELECT value_json FROM score_history WHERE customer_id = ? AND score = ?', [id, o.name]);
      expect(history).toEqual(row[o.name]);
    }
  });
});
