// Lifecycle stages on the fixture shop plus customers written for each rule: every stage where its rule says, in the rules' order.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG, validateConfig } from '../../config.js';
import { ingest } from '../../ingest/ingest.js';
import { Store } from '../../store/db.js';
import { fixtureStore } from '../../testing/orders-fixture.js';
import { explainCustomer } from '../explain.js';
import { DEFAULT_REGISTRY } from '../registry.js';
import { runScores } from '../run.js';
import { LIFECYCLE_STAGES, stageRules } from './index.js';
import { transitions } from '../../history/transitions.js';

const AS_OF = '2024-01-01';
/** Customers written for the rules (the as-of is 2024-01-01; lapsed after 365 days, new within 90, active within 180). */
const EXTRA = [
  // New: first purchase 30 days before.
  'X1,NEW1,2023-12-02T10:00:00Z,50,completed',
  // Lapsed: last purchase 400 days before.
  'X2,LAPSED1,2022-11-01T10:00:00Z,50,completed',
  'X3,LAPSED1,2022-11-20T10:00:00Z,50,completed',
  // Reactivated: bought 20 days before, after a gap of 420 days.
  'X4,BACK1,2022-10-01T10:00:00Z,50,completed',
  'X5,BACK1,2022-10-20T10:00:00Z,50,completed',
  'X6,BACK1,2023-12-12T10:00:00Z,50,completed',
];

let dir: string;
let store: Store;
let stages: Map<string, string>;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kairos-lifecycle-'));
  store = await fixtureStore(dir, join(dir, 'k.duckdb'), {}, EXTRA);
  // A prospect: a customer without orders.
  const customers = join(dir, 'customers.csv');
  writeFileSync(customers, 'customer_id,email\nPROSPECT1,p@example.com\n');
  await ingest(store, { entity: 'customers', files: [customers], rejectsDir: dir });
  await runScores(store, { config: DEFAULT_CONFIG, asOf: AS_OF, scorers: ['rfm', 'clv', 'lifecycle'] });
  stages = new Map((await store.all<{ customer_id: string; lifecycle_stage: string }>('SELECT customer_id, lifecycle_stage FROM customer_scores')).map((r) => [r.customer_id, r.lifecycle_stage]));
}, 120_000);
afterAll(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('lifecycle stages', () => {
  it('gives the customers written for each rule their stage', () => {
    expect(stages.get('PROSPECT1')).toBe('prospect');
    expect(stages.get('NEW1')).toBe('new');
    expect(stages.get('LAPSED1')).toBe('lapsed');
    expect(stages.get('BACK1')).toBe('reactivated');
  });

  it('follows the rules in their order for every customer of the shop, recomputed from the stored figures', async () => {
    const s = DEFAULT_CONFIG.lifecycle;
    const rows = await store.all<{ id: string; stage: string; frequency: number; recency: number | null; first: string | null; last: string | null; previous: string | null; decisive: string | null; risk: number | null }>(
      `SELECT customer_id AS id, lifecycle_stage AS stage, frequency, recency_days AS recency, strftime(first_order_date, '%Y-%m-%d') AS first,
         strftime(last_order_date, '%Y-%m-%d') AS last, strftime(previous_purchase_date, '%Y-%m-%d') AS previous,
         strftime(churn_decisive_date, '%Y-%m-%d') AS decisive, churn_risk_purchase_model AS risk FROM customer_scores`,
    );
    const day = (d: string): number => Date.parse(`${d}T00:00:00Z`) / 86_400_000;
    const asOf = day(AS_OF);
    const seen = new Set<string>();
    for (const r of rows) {
      let want: string;
      if (!r.frequency || r.last === null) want = 'prospect';
      else if ((r.recency as number) > s.lapsedDays) want = 'lapsed';
      else if (asOf - day(r.first as string) <= s.newDays) want = 'new';
      else if ((r.recency as number) <= s.activeDays && r.previous !== null && day(r.last) - day(r.previous) >= s.lapsedDays) want = 'reactivated';
      else if ((r.decisive !== null && day(r.decisive) < asOf) || (r.risk !== null && r.risk >= s.atRiskChurnRisk)) want = 'at risk';
      else if (r.frequency >= s.loyalPurchases && asOf - day(r.first as string) >= s.loyalTenureDays) want = 'loyal';
      else want = 'active';
      expect(r.stage, r.id).toBe(want);
      seen.add(r.stage);
    }
    // The fixture shop plus the written customers reach most stages.
    expect(seen.size).toBeGreaterThanOrEqual(5);
    for (const stage of seen) expect(LIFECYCLE_STAGES).toContain(stage);
  });

  it('explains the stage with the customer\'s own figures, and states every rule with the settings', async () => {
    const e = await explainCustomer(store, 'BACK1', DEFAULT_REGISTRY);
    expect(e.explanations['lifecycle']?.[0]).toMatch(/^stage reactivated \(last purchase 20 days before the as-of date; 3 purchase\(s\) since 2022-10-01; the one before on 2022-10-20/);
    expect(stageRules(DEFAULT_CONFIG.lifecycle).reactivated).toBe('bought within the last 180 days after a gap of at least 365 days');
  });

  it('refuses thresholds that contradict each other', () => {
    expect(() => validateConfig({ ...DEFAULT_CONFIG, lifecycle: { ...DEFAULT_CONFIG.lifecycle, activeDays: 400 } })).toThrow(/activeDays \(400\) must not exceed lapsedDays \(365\)/);
    expect(() => validateConfig({ ...DEFAULT_CONFIG, lifecycle: { ...DEFAULT_CONFIG.lifecycle, atRiskChurnRisk: 0 } })).toThrow(/atRiskChurnRisk must be in \(0, 1\]/);
  });

  it('counts the transitions between two runs and names who went from one stage to another', async () => {
    const first = Number(await store.value(`SELECT max(run_id) FROM scores_lifecycle`));
    const { runId } = await runScores(store, { config: DEFAULT_CONFIG, asOf: '2024-04-01', scorers: ['rfm', 'clv', 'lifecycle'] });
    // A later run of RFM alone does not hide the stages' latest transitions.
    const rfmOnly = await runScores(store, { config: DEFAULT_CONFIG, asOf: '2024-04-01', scorers: ['rfm'] });
    expect(rfmOnly.runId).toBeGreaterThan(runId);
    const t = await transitions(store, 'lifecycle_stage');
    expect(t).toMatchObject({ runId, previousRunId: first });
    const direct = await store.all<{ f: string; t: string; n: number }>(
      `SELECT a.lifecycle_stage AS f, b.lifecycle_stage AS t, count(*)::INTEGER AS n FROM scores_lifecycle a JOIN scores_lifecycle b USING (customer_id)
       WHERE a.run_id = ? AND b.run_id = ? GROUP BY 1, 2`,
      [first, runId],
    );
    expect(new Map(t.counts.map((c) => [`${c.from}>${c.to}`, c.customers]))).toEqual(new Map(direct.map((d) => [`${d.f}>${d.t}`, d.n])));
    // The new customer of January is no longer new in April.
    const moved = await transitions(store, 'lifecycle_stage', { from: 'new', to: stagesAfter(await store.value<string>(`SELECT lifecycle_stage FROM scores_lifecycle WHERE customer_id = 'NEW1' AND run_id = ?`, [runId])) });
    expect(moved.customers).toContain('NEW1');
    await expect(transitions(store, 'lifecycle_stage', { from: 'new', to: 'sleeping' })).rejects.toThrow(/"sleeping" is not a value of lifecycle_stage/);
  });
});

/** A stage as stored (a helper that keeps the test's intent readable). */
function stagesAfter(stage: string): string {
  expect(stage).not.toBe('new');
  return stage;
}
