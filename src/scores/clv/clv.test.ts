// The clv scorer end to end: raw CDNOW CSV -> store -> summary -> fit -> per-customer scores, against the reference implementation.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG, type KairosConfig } from '../../config.js';
import { ingest } from '../../ingest/ingest.js';
import { Store } from '../../store/db.js';
import { sharedData, sharedPeers } from '../../testing/shared-data.js';
import { runScores } from '../run.js';
import { clvScorer } from './index.js';

let store: Store;
let reference: Map<string, Record<string, number>>;

beforeAll(async () => {
  store = await Store.open(join(mkdtempSync(join(tmpdir(), 'kairos-clv-')), 'k.duckdb'));
  await ingest(store, { entity: 'orders', files: [sharedData('cdnow', 'cdnow_sample.csv')], preset: 'cdnow' });
  const [header, ...lines] = readFileSync(sharedPeers('lifetimes_cdnow_sample_predictions.csv'), 'utf8').trim().split('\n');
  const names = (header ?? '').split(',');
  reference = new Map(
    lines.map((l) => {
      const v = l.split(',');
      return [v[0] ?? '', Object.fromEntries(names.map((n, i) => [n, Number(v[i])]))];
    }),
  );
});
afterAll(() => store.close());

/** The clv scorer and the RFM summary it reads: the runs that test clv alone leave the other scorers out. */
const CLV_AND_RFM = ['rfm', 'clv'];

/** A purchase model, without the learned models (their own tests are in src/scores/learned): these runs test clv. */
function withModel(model: KairosConfig['scores']['model']): KairosConfig {
  return { ...DEFAULT_CONFIG, scores: { ...DEFAULT_CONFIG.scores, model }, learned: { ...DEFAULT_CONFIG.learned, enabled: false } };
}

/** Largest relative difference between our p_alive and the reference column, over all customers. */
async function maxRelDiff(column: string): Promise<{ n: number; max: number }> {
  const rows = await store.all<{ customer_id: string; p_alive: number }>('SELECT customer_id, p_alive FROM customer_scores WHERE p_alive IS NOT NULL');
  let max = 0;
  for (const r of rows) {
    const ref = reference.get(r.customer_id)?.[column];
    if (ref === undefined) throw new Error(`customer ${r.customer_id} missing from the reference`);
    max = Math.max(max, Math.abs(r.p_alive - ref) / Math.abs(ref));
  }
  return { n: rows.length, max };
}

describe('clv scorer on CDNOW (39-week calibration ending 1997-09-30), from the raw CSV through the store', () => {
  // The whole chain (ingest, per-customer-day summary in days, fit, prediction) reproduces lifetimes' P(alive) for every
  // one of the 2,357 customers. Tolerances: what the fits' agreement with the reference's optimum allows (see docs/models.md).
  it.each([
    ['bg-nbd', 'bgnbd_p_alive', 1e-5],
    ['mbg-nbd', 'mbgnbd_p_alive', 1e-5],
    ['pareto-nbd', 'pnbd_p_alive', 1e-4],
  ] as const)('%s P(alive) matches lifetimes %s for every customer, rtol %s', async (model, column, rtol) => {
    await runScores(store, { config: withModel(model), asOf: '1997-10-01', scorers: CLV_AND_RFM });
    const { n, max } = await maxRelDiff(column);
    expect(n).toBe(2357);
    expect(max, `max relative difference ${max}`).toBeLessThan(rtol);
  });

  it('BG/NBD parameters in days are the published weekly ones scaled (Fader, Hardie & Lee 2005: r 0.243, alpha 4.414/week, a 0.793, b 2.426)', async () => {
    const run = await runScores(store, { config: withModel('bg-nbd'), asOf: '1997-10-01', scorers: CLV_AND_RFM });
    const fit = (await store.value("SELECT fit FROM model_fits WHERE run_id = ? AND model = 'bg-nbd'", [run.runId])) as {
      params: { r: number; alpha: number; a: number; b: number };
    };
    expect(fit.params.r).toBeCloseTo(0.243, 3);
    expect(fit.params.alpha / 7).toBeCloseTo(4.414, 3);
    expect(fit.params.a).toBeCloseTo(0.793, 3);
    expect(fit.params.b).toBeCloseTo(2.426, 3);
  });

  it('writes every clv score, finite and in range, with dates and a recorded model choice', async () => {
    const run = await runScores(store, { config: DEFAULT_CONFIG, asOf: '1997-10-01' });
    expect(run.notes.join(' ')).toMatch(/chosen by held-out fit/);
    const bad = await store.value(
      `SELECT count(*) FROM customer_scores WHERE NOT (p_alive BETWEEN 0 AND 1 AND churn_risk_purchase_model BETWEEN 0 AND 1
         AND conversion_probability_30d_purchase_model BETWEEN 0 AND 1 AND expected_purchases_90d >= 0 AND clv_12m_purchase_model >= 0
         AND expected_order_value > 0
         -- no purchase in 90 days is at least as likely as having left: 1 - P(alive) P(a purchase | alive)
         AND churn_risk_purchase_model >= 1 - p_alive - 1e-12
         AND conversion_probability_30d_purchase_model <= 1 - churn_risk_purchase_model + 1e-12)`,
    );
    expect(bad).toBe(0);
    expect(await store.value('SELECT count(*) FROM customer_scores WHERE clv_model IS NULL')).toBe(0);
    // next-order dates are after the as-of date; decisive dates exist for repeat buyers
    expect(await store.value("SELECT count(*) FROM customer_scores WHERE next_order_date <= DATE '1997-09-30'")).toBe(0);
    expect(Number(await store.value('SELECT count(*) FROM customer_scores WHERE frequency > 1 AND churn_decisive_date IS NULL'))).toBe(0);
    expect(await store.value("SELECT count(*) FROM model_fits WHERE run_id = ? AND model NOT LIKE 'boosted-%'", [run.runId])).toBe(2);
    // A store with no events still gets its learned scores, on the orders alone, and the notes say which features went unused.
    expect(run.notes.join('\n')).toMatch(/churn: \d+ feature\(s\) constant or missing for everyone in the training snapshots, not used: .*opens_90d/);
    expect(await store.value('SELECT count(*) FROM customer_scores WHERE churn_risk_boosted IS NULL')).toBe(0);
  });

  it('with more customers than scores.choiceSample, the model is chosen on a random sample of them, the same at every run', async () => {
    const config = { ...DEFAULT_CONFIG, scores: { ...DEFAULT_CONFIG.scores, choiceSample: 1000 }, learned: { ...DEFAULT_CONFIG.learned, enabled: false } };
    const first = await runScores(store, { config, asOf: '1997-10-01', scorers: CLV_AND_RFM });
    const second = await runScores(store, { config, asOf: '1997-10-01', scorers: CLV_AND_RFM });
    const reason = first.notes.find((n) => n.includes('chosen by held-out fit')) ?? '';
    const sampled = Number(/random sample of ([\d,]+) customers \(of 2,357;/.exec(reason)?.[1]?.replace(/,/g, ''));
    // Each customer is in the sample with probability 1000/2357: the size is Binomial(2357, 0.424), sd 24.
    expect(Math.abs(sampled - 1000), reason).toBeLessThan(100);
    // The second run sees the same data at the same as-of with the same settings: it reuses the first run's choice.
    expect(second.notes).toContain(`${reason} (the choice of run ${first.runId}, made on the same data at the same as-of date with the same settings, reused)`);
    // Another sample size, or another as-of date, chooses again (on the same sample of ids: the same hash).
    const other = await runScores(store, { config: { ...config, scores: { ...config.scores, choiceSample: 1500 } }, asOf: '1997-10-01', scorers: CLV_AND_RFM });
    expect(other.notes.join(' ')).not.toMatch(/reused/);
    const later = await runScores(store, { config, asOf: '1997-11-01' });
    expect(later.notes.join(' ')).not.toMatch(/reused/);
    const selection = (await store.value("SELECT fit FROM model_fits WHERE run_id = ? AND model = ?", [first.runId, first.models[0]?.model ?? ''])) as {
      selection: { model: string; holdoutMae: number }[];
    };
    expect(selection.selection.map((c) => c.model).sort()).toEqual(['bg-nbd', 'mbg-nbd', 'pareto-nbd']);
    // Every customer is still scored by the chosen model, fitted on all of them.
    expect(await store.value('SELECT count(*) FROM customer_scores WHERE p_alive IS NOT NULL')).toBe(2357);
  });

  it('a store too small to fit still scores RFM and says why the clv scores are empty', async () => {
    const tiny = await Store.open(':memory:');
    try {
      await tiny.run(`INSERT INTO orders VALUES ('o1', 'c1', TIMESTAMP '2024-01-01', NULL, 1, 10, 0, 10, 'completed', 1)`);
      await tiny.run(`INSERT INTO customers (customer_id, created_at) VALUES ('c1', TIMESTAMP '2024-01-01')`);
      const run = await runScores(tiny, { config: withModel('bg-nbd'), asOf: '2024-02-01' });
      expect(run.notes.join(' ')).toMatch(/clv scores not computed: the purchase model could not be fitted/);
      expect(await tiny.one('SELECT frequency, p_alive FROM customer_scores')).toEqual({ frequency: 1, p_alive: null });
    } finally {
      tiny.close();
    }
  });
});

describe('clv explanations', () => {
  it('show a tiny or near-certain chance as "< 0.01%" or "> 99.99%", never "0.0%" or an exponent', () => {
    const row = {
      p_alive: 1.86384e-7,
      frequency: 1,
      recency_days: 400,
      clv_model: 'bg-nbd',
      expected_purchases_90d: 0,
      churn_risk_purchase_model: 0.99999995,
      conversion_probability_30d_purchase_model: 0.0037,
      clv_12m_purchase_model: 0,
      expected_order_value: 30,
      next_order_date: null,
      churn_decisive_date: '2024-01-01',
    };
    const lines = clvScorer.explain(row, { currency: 'EUR', asOf: '2025-01-01', items: {} });
    expect(lines[0]).toBe('bought 1 time(s), last 400 days ago: < 0.01% chance still active, > 99.99% chance of no purchase in the churn window (bg-nbd model)');
    expect(lines[1]).toContain('0.37% chance of buying in the next 30 days');
  });
});
