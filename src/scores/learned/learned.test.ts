// The learned scorer end to end on a small demo retailer: snapshots, no leakage past the as-of, the head-to-head and the reasons.
import { appendFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG, type KairosConfig } from '../../config.js';
import { writeRetailerFiles } from '../../demo/generate.js';
import { createAsOfViews } from '../../features/as-of.js';
import { addLabels, readSnapshot, SNAPSHOT_FEATURES, writeEventDays, writePurchaseDays, writeSnapshot } from '../../features/snapshots.js';
import { ingest } from '../../ingest/ingest.js';
import { ensembleFromJson } from '../../ml/tree-json.js';
import { Store } from '../../store/db.js';
import { runScores } from '../run.js';
import { cutsFrom, designTasks } from './design.js';
import { learnedScorer, parseReasons } from './index.js';
import { reasonsInWords } from './reasons.js';

const AS_OF = '2025-01-01';
/** The learned scorer and what it reads: the other scorers (recommendations, engagement, ...) add time and nothing here. */
const LEARNED_AND_DEPENDENCIES = ['rfm', 'clv', 'learned'];
const dir = mkdtempSync(join(tmpdir(), 'kairos-learned-'));
let store: Store;
let files: ReturnType<typeof writeRetailerFiles>;

async function demoStore(name: string): Promise<Store> {
  const s = await Store.open(join(dir, name));
  for (const entity of ['products', 'customers', 'orders', 'events'] as const) await ingest(s, { entity, files: [files.paths[entity]] });
  return s;
}

beforeAll(async () => {
  files = writeRetailerFiles(join(dir, 'files'), { customers: 1000, seed: 11 });
  store = await demoStore('a.duckdb');
}, 120_000);
afterAll(() => store.close());

describe('snapshot design', () => {
  it('ends every label window by the as-of and the inner windows by the latest cut', () => {
    const s = { ...DEFAULT_CONFIG.learned, snapshots: 4, stepDays: 30, churnDays: 90 };
    const d = designTasks('2025-01-01 00:00:00', '2023-01-01 00:00:00', s);
    const ms = (t: string): number => Date.parse(`${t.replace(' ', 'T')}Z`);
    for (const t of [d.churn, d.conversion, d.value]) {
      expect(t.cuts.length).toBeGreaterThan(0);
      expect(t.innerCuts.length).toBeGreaterThan(0);
      for (const c of t.cuts) expect(ms(c) + t.days * 86_400_000).toBeLessThanOrEqual(ms('2025-01-01 00:00:00'));
      for (const c of t.innerCuts) expect(ms(c) + t.days * 86_400_000).toBeLessThanOrEqual(ms(t.cuts[0] as string));
    }
    expect(d.churn.cuts).toEqual(['2024-10-03 00:00:00', '2024-09-03 00:00:00', '2024-08-04 00:00:00', '2024-07-05 00:00:00']);
    expect(d.conversion).toMatchObject({ days: 30, cuts: d.churn.cuts, innerCuts: d.churn.innerCuts });
    // Two years of data: a 365-day window leaves no room for an inner fit (its cuts start 730 days back), 180 does.
    expect(d.value.days).toBe(180);
  });

  it('stops where fewer than 60 days of data lie before a cut', () => {
    expect(cutsFrom('2023-04-01 00:00:00', '2023-01-01 00:00:00', 30, 5)).toEqual(['2023-04-01 00:00:00', '2023-03-02 00:00:00']);
  });
});

describe('snapshots', () => {
  it('computes the features and labels of a customer by hand', async () => {
    const s = await Store.open(':memory:');
    const csv = join(dir, 'tiny.csv');
    appendFileSync(
      csv,
      'order_id,customer_id,ordered_at,amount\n' +
        ['o1,A,2024-01-10,10', 'o2,A,2024-03-10,30', 'o3,A,2024-05-09,20', 'o4,A,2024-06-15,50', 'o5,A,2024-07-20,5', 'o6,B,2024-05-01,7'].join('\n') +
        '\n',
    );
    await ingest(s, { entity: 'orders', files: [csv] });
    await createAsOfViews(s, '2024-08-01 00:00:00');
    await writeEventDays(s, 'days', 'asof_events');
    await writePurchaseDays(s, 'purchase_days', 'asof_orders');
    await writeSnapshot(s, 'snap', { cut: '2024-06-01 00:00:00', orders: 'asof_orders', purchaseDays: 'purchase_days', eventDays: 'days', customers: 'asof_customers', prospects: false });
    await addLabels(s, 'snap', '2024-06-01 00:00:00', 'asof_orders', [
      { column: 'label_bought_30d', days: 30, kind: 'bought' },
      { column: 'label_spend_60d', days: 60, kind: 'spend' },
    ]);
    const a = await s.one<Record<string, number>>("SELECT * FROM snap WHERE customer_id = 'A'");
    // Purchases before the cut: 2024-01-10, 03-10 (60 days later), 05-09 (60 days later); the cut is 2024-06-01.
    expect(a).toMatchObject({
      x: 2, t_x: 120, age: 143, m: 25, recency_days: 23, tenure_days: 143, purchase_days: 3, purchases_30d: 1, purchases_90d: 2,
      spend_total: 60, spend_90d: 50, mean_gap_days: 60, last_gap_days: 60, gap_trend: 1,
      label_bought_30d: 1, label_spend_60d: 55,
    });
    expect(a?.['overdue_ratio']).toBeCloseTo(23 / 60, 12);
    expect(Object.keys(a ?? {})).toEqual(expect.arrayContaining(SNAPSHOT_FEATURES.map((f) => f.name)));
    await expect(addLabels(s, 'snap', '2024-06-01 00:00:00', 'asof_orders', [{ column: 'recency_days', days: 30, kind: 'bought' }])).rejects.toThrow(/name of a snapshot column/);
    s.close();
  });

  it('reads in several passes over shares of the customers the same rows as the stored snapshot', async () => {
    await createAsOfViews(store, '2024-10-01 00:00:00');
    await writeEventDays(store, 'parts_days', 'asof_events');
    await writePurchaseDays(store, 'parts_purchase_days', 'asof_orders');
    const options = { cut: '2024-09-01 00:00:00', orders: 'asof_orders', purchaseDays: 'parts_purchase_days', eventDays: 'parts_days', customers: 'asof_customers', prospects: true, engagement: DEFAULT_CONFIG.engagement };
    const rows = await writeSnapshot(store, 'parts_whole', options);
    const whole = await store.readColumns('SELECT * FROM parts_whole');
    const ids = whole.texts['customer_id'] as string[];
    expect(ids.length).toBe(rows);
    for (const parts of [1, 3]) {
      const read = await readSnapshot(store, options, parts);
      expect(read.rows).toBe(rows);
      const at = new Map(read.ids.map((id, i) => [id, i]));
      expect(at.size).toBe(rows);
      for (const [name, column] of Object.entries(whole.numbers)) {
        const mine = read.numbers[name] as Float64Array;
        ids.forEach((id, i) => expect(Object.is(mine[at.get(id) as number], column[i]), `${name} of ${id} in ${parts} pass(es)`).toBe(true));
      }
    }
    expect(rows).toBeGreaterThan(100);
    for (const t of ['parts_whole', 'parts_days', 'parts_purchase_days']) await store.run(`DROP TABLE ${t}`);
  });
});

describe('learned scorer', () => {
  let run: Awaited<ReturnType<typeof runScores>>;
  beforeAll(async () => {
    run = await runScores(store, { config: DEFAULT_CONFIG, asOf: AS_OF, scorers: LEARNED_AND_DEPENDENCIES });
  }, 180_000);

  it('scores every customer with calibrated probabilities, a value and a named winner', async () => {
    const bad = await store.value(
      `SELECT count(*) FROM customer_scores WHERE frequency > 0 AND NOT (
         churn_risk BETWEEN 0 AND 1 AND churn_risk_boosted BETWEEN 0 AND 1 AND conversion_probability_30d BETWEEN 0 AND 1
         AND clv_12m >= 0 AND clv_12m_boosted >= 0 AND churn_risk_model IS NOT NULL AND clv_12m_model IS NOT NULL)`,
    );
    expect(bad).toBe(0);
    // The winner column holds the winner's own number.
    const mismatch = await store.value(
      `SELECT count(*) FROM customer_scores WHERE churn_risk IS DISTINCT FROM
         CASE churn_risk_model WHEN 'boosted trees' THEN churn_risk_boosted ELSE churn_risk_purchase_model END`,
    );
    expect(mismatch).toBe(0);
    const notes = run.notes.join('\n');
    expect(notes).toMatch(/churn: (boosted trees|purchase model) chosen on the inner holdout/);
    expect(notes).toMatch(/value: (boosted trees|purchase model) chosen on the inner holdout/);
  });

  it('keeps three reasons per score, named by features, with the values behind them', async () => {
    const rows = await store.all<{ churn_reasons: unknown }>('SELECT churn_reasons FROM customer_scores WHERE frequency > 0 ORDER BY customer_id LIMIT 50');
    expect(rows.length).toBe(50);
    const features = new Set([...SNAPSHOT_FEATURES.map((f) => f.name), 'pm_p_alive', 'pm_expected_90d']);
    for (const r of rows) {
      const reasons = parseReasons(r.churn_reasons);
      expect(reasons.length).toBeGreaterThan(0);
      expect(reasons.length).toBeLessThanOrEqual(3);
      // A feature with its number, or a categorical attribute with its level; a finite contribution.
      for (const [name, value, c] of reasons) {
        expect(features.has(name) ? Number.isFinite(Number(value)) : /^(country|attr_[a-z0-9_]+)$/.test(name), `${name}=${value}`).toBe(true);
        expect(Number.isFinite(c)).toBe(true);
      }
    }
    const lines = learnedScorer.explain(
      (await store.one('SELECT * FROM customer_scores WHERE frequency > 0 ORDER BY customer_id LIMIT 1')) ?? {},
      { currency: 'EUR', asOf: AS_OF, items: {} },
    );
    expect(lines.join('\n')).toMatch(/churn risk .*\nwhy \(boosted trees\): .*\((raises|lowers) it\)/);
  });

  it('stores each model with its inner-holdout comparison and a readable ensemble', async () => {
    const fits = await store.all<{ model: string; fit: { model: unknown; inner: { learned: number; rule: number } } }>(
      "SELECT model, fit FROM model_fits WHERE run_id = ? AND model LIKE 'boosted-%' ORDER BY model",
      [run.runId],
    );
    expect(fits.map((f) => f.model)).toEqual(['boosted-churn', 'boosted-conversion', 'boosted-value']);
    for (const f of fits) {
      const e = ensembleFromJson(f.fit.model);
      expect(e.trees.length).toBeGreaterThan(0);
      expect(Number.isFinite(f.fit.inner.learned)).toBe(true);
    }
  });

  it('sees nothing at or after the as-of: absurd later orders and events change no model and no score', async () => {
    const other = await demoStore('b.duckdb');
    const late = join(dir, 'late-orders.csv');
    appendFileSync(late, 'order_id,customer_id,ordered_at,amount\n' + Array.from({ length: 300 }, (_, i) => `late${i},C${String(i + 1).padStart(6, '0')},2025-0${1 + (i % 5)}-1${i % 9} 10:00:00,99999`).join('\n') + '\n');
    await ingest(other, { entity: 'orders', files: [late] });
    const lateEvents = join(dir, 'late-events.csv');
    appendFileSync(lateEvents, 'customer_id,occurred_at,type\n' + Array.from({ length: 300 }, (_, i) => `C${String(i + 1).padStart(6, '0')},2025-02-0${1 + (i % 9)} 09:00:00,complaint`).join('\n') + '\n');
    await ingest(other, { entity: 'events', files: [lateEvents] });
    const again = await runScores(other, { config: DEFAULT_CONFIG, asOf: AS_OF, scorers: LEARNED_AND_DEPENDENCIES });
    const fitsOf = async (s: Store, id: number): Promise<string[]> =>
      (await s.all<{ fit: unknown }>("SELECT fit FROM model_fits WHERE run_id = ? AND model LIKE 'boosted-%' ORDER BY model", [id])).map((r) => {
        const { diagnostics, ...rest } = r.fit as { diagnostics: { seconds: number } };
        return JSON.stringify({ ...rest, diagnostics: { ...diagnostics, seconds: 0 } });
      });
    expect(await fitsOf(other, again.runId)).toEqual(await fitsOf(store, run.runId));
    const scores = (s: Store): Promise<Record<string, unknown>[]> =>
      s.all('SELECT customer_id, churn_risk, conversion_probability_30d, clv_12m, churn_reasons FROM customer_scores ORDER BY customer_id');
    const [a, b] = [await scores(other), await scores(store)];
    expect(a.length).toBe(b.length);
    // Equal but for the last bits: where the purchase model wins, its numbers may differ by 1e-15 between two stores
    // (DuckDB's parallel sums in the purchase summary), leakage or not. Ids, reasons and money are equal exactly.
    a.forEach((row, i) => {
      const twin = b[i] ?? {};
      for (const [k, v] of Object.entries(row)) {
        const w = twin[k];
        if (typeof v === 'number' && typeof w === 'number' && k !== 'clv_12m') expect(Math.abs(v - w), `${String(row['customer_id'])} ${k}`).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(v)));
        else expect(v, `${String(row['customer_id'])} ${k}`).toEqual(w);
      }
    });
    other.close();
  }, 240_000);

  it('trains on a sample of the customers when there are more than learned.sampleCustomers, and still scores everyone', async () => {
    const config: KairosConfig = { ...DEFAULT_CONFIG, learned: { ...DEFAULT_CONFIG.learned, sampleCustomers: 600, snapshots: 2 } };
    const sampled = await runScores(store, { config, asOf: AS_OF, scorers: ['learned'] });
    const notes = sampled.notes.join('\n');
    expect(notes).toMatch(/trained on a sample of about 60\.0% of the customers/);
    expect(notes).not.toMatch(/not trained/);
    const fit = await store.value<{ trainingRows: number; inner: { customers: number } }>(
      "SELECT fit FROM model_fits WHERE run_id = ? AND model = 'boosted-churn'",
      [sampled.runId],
    );
    // Two snapshots of about 600 of the 1,000 customers; the inner holdout is the latest of the whole sample.
    expect(fit.trainingRows).toBeGreaterThan(1000);
    expect(fit.inner.customers).toBeGreaterThan(500);
    expect(await store.value('SELECT count(*) FROM customer_scores WHERE frequency > 0 AND churn_risk_boosted IS NULL')).toBe(0);
  }, 120_000);

  it('gives the purchase model the columns when learning is off, and says so', async () => {
    const config: KairosConfig = { ...DEFAULT_CONFIG, learned: { ...DEFAULT_CONFIG.learned, enabled: false } };
    const off = await runScores(store, { config, asOf: AS_OF, scorers: LEARNED_AND_DEPENDENCIES });
    expect(off.notes.join(' ')).toMatch(/learned models off/);
    expect(await store.value('SELECT count(*) FROM customer_scores WHERE churn_risk IS DISTINCT FROM churn_risk_purchase_model')).toBe(0);
    expect(await store.value('SELECT count(*) FROM customer_scores WHERE churn_risk_boosted IS NOT NULL')).toBe(0);
  }, 120_000);
});

describe('reasons in words', () => {
  it('says each feature with its value and direction, largest first', () => {
    const words = reasonsInWords(parseReasons('recency_days=120:0.8|visits_30d=3:-1.2|spend_90d=45.5:0.1'), 'EUR');
    expect(words).toEqual([
      'site visits in the last 30 days: 3 (lowers it)',
      'days since the last purchase: 120 (raises it)',
      expect.stringMatching(/^net spend in the last 90 days: .*45\.50.* \(raises it\)$/),
    ]);
    expect(reasonsInWords(parseReasons('attr_acquisition_channel=paid_social:-0.4'), 'EUR')).toEqual(['acquisition channel: paid_social (lowers it)']);
    expect(parseReasons(null)).toEqual([]);
  });
});
