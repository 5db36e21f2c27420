// RFM on a hand-computed fixture, and the scoring run's guarantees: no leakage past as-of, history appended, atomic.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG } from '../../config.js';
import { ingest } from '../../ingest/ingest.js';
import { Store } from '../../store/db.js';
import { runScores } from '../run.js';

/*
 * Hand-computed fixture, as of 2024-07-01 (buyers n = 5, score = 1 + floor(5 (rank - 1) / 5) = rank, ties share the lowest rank):
 *   c1: 3 orders 06-25, 05-01, 03-01 (100 + 50 + 30)  -> recency 6,   F 3, M 180  -> R4 F4 M3, FM 4 -> Champions
 *   c2: 1 order 06-01 (500)                           -> recency 30,  F 1, M 500  -> R3 F1 M4, FM 3 -> Need attention
 *   c3: 2 orders 01-10, 02-10 (20 + 20)               -> recency 142, F 2, M 40   -> R2 F3 M1, FM 2 -> Hibernating
 *   c4: order 06-30 (80) and a return (-30)           -> recency 1,   F 1, M 50   -> R5 F1 M2, FM 2 -> Potential loyalists
 *   c5: 4 orders 2023-07..10 (4 x 1000)               -> recency 274, F 4, M 4000 -> R1 F5 M5, FM 5 -> Can't lose them
 *   c6: no order -> Prospect;  c7: created after as-of -> not scored.
 */
const ORDERS = `order_id,customer_id,ordered_at,product_id,quantity,unit_price
o1,c1,2024-06-25T10:00:00Z,p1,1,100
o2,c1,2024-05-01T10:00:00Z,p1,1,50
o3,c1,2024-03-01T10:00:00Z,p1,1,30
o4,c2,2024-06-01T10:00:00Z,p2,1,500
o5,c3,2024-01-10T10:00:00Z,p1,1,20
o6,c3,2024-02-10T10:00:00Z,p1,1,20
o7,c4,2024-06-30T10:00:00Z,p1,1,80
o7R,c4,2024-06-30T18:00:00Z,p1,-1,30
o8,c5,2023-07-01T10:00:00Z,p3,1,1000
o9,c5,2023-08-01T10:00:00Z,p3,1,1000
o10,c5,2023-09-01T10:00:00Z,p3,1,1000
o11,c5,2023-10-01T10:00:00Z,p3,1,1000
`;
const CUSTOMERS = `customer_id,created_at
c6,2024-01-01
c7,2024-07-05
`;
const LATER = `order_id,customer_id,ordered_at,product_id,quantity,unit_price
o12,c1,2024-07-02T10:00:00Z,p1,100,1000
o13,c7,2024-07-05T10:00:00Z,p1,1,10
`;

let dir: string;
let store: Store;
beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kairos-rfm-'));
  store = await Store.open(join(dir, 'k.duckdb'));
  writeFileSync(join(dir, 'orders.csv'), ORDERS);
  writeFileSync(join(dir, 'customers.csv'), CUSTOMERS);
  writeFileSync(join(dir, 'later.csv'), LATER);
  await ingest(store, { entity: 'orders', files: [join(dir, 'orders.csv')] });
  await ingest(store, { entity: 'customers', files: [join(dir, 'customers.csv')] });
});
afterEach(() => store.close());

/** Ingests more order lines (CSV rows without the header) and scores RFM as of 2024-07-01. */
async function addOrdersAndScore(name: string, rows: string): Promise<void> {
  writeFileSync(join(dir, name), `order_id,customer_id,ordered_at,product_id,quantity,unit_price\n${rows}`);
  await ingest(store, { entity: 'orders', files: [join(dir, name)] });
  await runScores(store, { config: DEFAULT_CONFIG, asOf: '2024-07-01', scorers: ['rfm'] });
}

const SELECT = `SELECT customer_id, recency_days, frequency, monetary, r_score, f_score, m_score, rfm_cell, rfm_segment
  FROM customer_scores WHERE run_id IS NOT NULL ORDER BY customer_id`;

const EXPECTED = [
  { customer_id: 'c1', recency_days: 6, frequency: 3, monetary: 180, r_score: 4, f_score: 4, m_score: 3, rfm_cell: '443', rfm_segment: 'Champions' },
  { customer_id: 'c2', recency_days: 30, frequency: 1, monetary: 500, r_score: 3, f_score: 1, m_score: 4, rfm_cell: '314', rfm_segment: 'Need attention' },
  { customer_id: 'c3', recency_days: 142, frequency: 2, monetary: 40, r_score: 2, f_score: 3, m_score: 1, rfm_cell: '231', rfm_segment: 'Hibernating' },
  { customer_id: 'c4', recency_days: 1, frequency: 1, monetary: 50, r_score: 5, f_score: 1, m_score: 2, rfm_cell: '512', rfm_segment: 'Potential loyalists' },
  { customer_id: 'c5', recency_days: 274, frequency: 4, monetary: 4000, r_score: 1, f_score: 5, m_score: 5, rfm_cell: '155', rfm_segment: "Can't lose them" },
  { customer_id: 'c6', recency_days: null, frequency: 0, monetary: 0, r_score: null, f_score: null, m_score: null, rfm_cell: null, rfm_segment: 'Prospect' },
];

describe('RFM scores', () => {
  it('match the hand-computed fixture (quintiles, tie rule, segments, returns netted)', async () => {
    await runScores(store, { config: DEFAULT_CONFIG, asOf: '2024-07-01', scorers: ['rfm'] });
    expect(await store.all(SELECT)).toEqual(EXPECTED);
  });

  it('use no data at or after as-of: later orders and customers change nothing (no leakage)', async () => {
    await ingest(store, { entity: 'orders', files: [join(dir, 'later.csv')] });
    const run = await runScores(store, { config: DEFAULT_CONFIG, asOf: '2024-07-01', scorers: ['rfm'] });
    expect(await store.all(SELECT)).toEqual(EXPECTED);
    expect(run.customers).toBe(6);
    // ... and a later as-of does see them.
    await runScores(store, { config: DEFAULT_CONFIG, asOf: '2024-08-01', scorers: ['rfm'] });
    const c1 = await store.one<{ frequency: number }>("SELECT frequency FROM customer_scores WHERE customer_id = 'c1'");
    expect(c1?.frequency).toBe(4);
  });

  it('records each run and appends to score_history so evolution can be followed', async () => {
    const r1 = await runScores(store, { config: DEFAULT_CONFIG, asOf: '2024-04-01' });
    const r2 = await runScores(store, { config: DEFAULT_CONFIG, asOf: '2024-07-01' });
    expect(r2.runId).toBe(r1.runId + 1);
    const runs = await store.all('SELECT run_id, as_of, status, customers FROM score_runs ORDER BY run_id');
    expect(runs).toEqual([
      { run_id: 1, as_of: '2024-04-01T00:00:00Z', status: 'completed', customers: 4 }, // c1, c3, c5, c6
      { run_id: 2, as_of: '2024-07-01T00:00:00Z', status: 'completed', customers: 6 },
    ]);
    const history = await store.all("SELECT run_id, value_num FROM score_history WHERE customer_id = 'c1' AND score = 'frequency' ORDER BY run_id");
    expect(history).toEqual([
      { run_id: 1, value_num: 1 },
      { run_id: 2, value_num: 3 },
    ]);
    expect(await store.value("SELECT value_text FROM score_history WHERE run_id = 2 AND customer_id = 'c5' AND score = 'rfm_segment'")).toBe("Can't lose them");
  });

  it('count an order of several lines once, and an order netting below zero as no purchase that still lowers monetary', async () => {
    await addOrdersAndScore(
      'mixed.csv',
      `m1,c8,2024-05-01T10:00:00Z,p1,1,40
m1,c8,2024-05-01T10:00:00Z,p2,2,5
m2,c8,2024-06-01T10:00:00Z,p1,1,10
m2,c8,2024-06-01T10:05:00Z,p2,-1,50
m3,c8,2024-06-10T10:00:00Z,p1,1,30
m3,c8,2024-06-10T10:00:00Z,p2,-1,5
m1,c9,2024-06-20T10:00:00Z,p1,1,10
m1,c9,2024-06-20T10:00:00Z,p2,1,10
m1,c9,2024-06-20T10:00:00Z,p3,1,10
m4,c9,2024-06-21T10:00:00Z,p1,1,10
`,
    );
    // m1 (2 lines, 50) and m3 (30 - 5 = 25 >= 0) are purchases; m2 (10 - 50 < 0) is not: F 2, last purchase 06-10,
    // monetary 50 - 40 + 25 = 35.
    expect(await store.one("SELECT first_order_date::VARCHAR AS f, last_order_date::VARCHAR AS l, frequency, monetary FROM customer_scores WHERE customer_id = 'c8'")).toEqual({
      f: '2024-05-01',
      l: '2024-06-10',
      frequency: 2,
      monetary: 35,
    });
    // Order ids are the customer's: c9's m1 (three lines) is another order than c8's m1.
    expect(await store.one("SELECT frequency, monetary FROM customer_scores WHERE customer_id = 'c9'")).toEqual({ frequency: 2, monetary: 40 });
  });

  it('stores monetary to the cent: 0.10 + 0.20 is 0.30, not the sum of the doubles (0.30000000000000004)', async () => {
    expect(0.1 + 0.2).not.toBe(0.3);
    await addOrdersAndScore('cents.csv', 'k1,c10,2024-06-01T10:00:00Z,p1,1,0.1\nk2,c10,2024-06-02T10:00:00Z,p1,1,0.2\n');
    expect(await store.one("SELECT frequency, monetary FROM customer_scores WHERE customer_id = 'c10'")).toEqual({ frequency: 2, monetary: 0.3 });
  });

  it('uses the configured number of bins', async () => {
    await runScores(store, { config: { ...DEFAULT_CONFIG, rfm: { bins: 3 } }, asOf: '2024-07-01' });
    // 5 buyers, 3 bins: score = 1 + floor(3 (rank - 1) / 5): ranks 1..5 -> 1, 1, 2, 2, 3
    const r = await store.all("SELECT customer_id, r_score FROM customer_scores WHERE frequency > 0 ORDER BY customer_id");
    expect(r.map((x) => x['r_score'])).toEqual([2, 2, 1, 3, 1]);
  });
});
