// The model choice's data: the calibration summary and holdout counts of one pass equal their definitions, on both paths.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createAsOfViews } from '../../features/as-of.js';
import { purchaseDaysSql } from '../../features/purchases.js';
import { purchaseSummary } from '../../features/summary.js';
import { quoteLiteral, type Store } from '../../store/db.js';
import { fixtureStore } from '../../testing/orders-fixture.js';
import { holdoutData, LIST_CUSTOMERS_LIMIT, type HoldoutData } from './choice-data.js';

/**
 * Lines of customer Z around a cut on 2023-09-01: order ZA bought before it and returned after it for more (refused on
 * all the lines, a purchase on those before the cut), order ZB on the cut's day before noon, ZC the same day after
 * noon, ZD later.
 */
const STRADDLING = [
  'ZA,Z,2023-05-01T10:00:00Z,40.00,completed',
  'ZA,Z,2023-09-20T10:00:00Z,-50.00,returned',
  'ZB,Z,2023-09-01T09:00:00Z,25.00,completed',
  'ZC,Z,2023-09-01T15:00:00Z,30.00,completed',
  'ZD,Z,2023-10-05T15:00:00Z,30.00,completed',
];

let dir: string;
let store: Store;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kairos-choice-data-'));
  store = await fixtureStore(dir, join(dir, 'k.duckdb'), {}, STRADDLING);
  await createAsOfViews(store, '2024-01-01 00:00:00');
  // The same orders without returns: every line a purchase line, no order refused.
  await store.run('CREATE TEMP VIEW clean_orders AS SELECT * FROM asof_orders WHERE quantity > 0 AND amount >= 0');
});
afterEach(() => {
  vi.restoreAllMocks();
});
afterAll(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

/**
 * The definitions, customer by customer in id order: purchaseSummary of the lines before the cut (its customers), and
 * the purchase days (features/purchases.ts) of all the lines that fall on or after the cut's day.
 */
async function definition(relation: string, cut: string): Promise<HoldoutData> {
  await store.run(`CREATE OR REPLACE TEMP VIEW __before_cut AS SELECT * FROM ${relation} WHERE ordered_at < TIMESTAMP ${quoteLiteral(cut)}`);
  const cal = await purchaseSummary(store, cut, '__before_cut');
  const later = await store.all<{ customer_id: string; n: number }>(
    `SELECT customer_id, count(*)::DOUBLE AS n FROM (${purchaseDaysSql(relation)}) WHERE day >= TIMESTAMP ${quoteLiteral(cut)}::DATE GROUP BY customer_id`,
  );
  const byId = new Map(later.map((r) => [r.customer_id, r.n]));
  return {
    transactions: cal.transactions,
    holdout: Float64Array.from(cal.customerIds, (id) => byId.get(id) ?? 0),
    observationEnd: cal.observationEnd,
  };
}

function expectSame(actual: HoldoutData, expected: HoldoutData): void {
  expect(actual.observationEnd).toBe(expected.observationEnd);
  expect(Array.from(actual.transactions.x)).toEqual(Array.from(expected.transactions.x));
  expect(Array.from(actual.transactions.tx)).toEqual(Array.from(expected.transactions.tx));
  expect(Array.from(actual.transactions.T)).toEqual(Array.from(expected.transactions.T));
  expect(Array.from(actual.holdout)).toEqual(Array.from(expected.holdout));
}

describe('holdoutData', () => {
  it.each(['2023-09-01 00:00:00', '2023-09-01 12:00:00'])(
    'gives the purchase summary before the cut and the purchase days after it on orders with returns (SQL), cut %s',
    async (cut) => {
      const sql = vi.spyOn(store, 'readNumberColumns');
      const data = await holdoutData(store, 'asof_orders', cut, 400);
      // A line of a refused order was seen in the list pass, so the SQL made the numbers.
      expect(sql).toHaveBeenCalledTimes(1);
      expectSame(data, await definition('asof_orders', cut));
      expect(data.transactions.x.length).toBeGreaterThan(300);
      // Customer Z (last in id order): ZA before the cut is a purchase (its return comes after the cut), ZB too when
      // the cut is at noon; from the cut's day on, the days of ZB and ZC (one day) and of ZD.
      const z = data.transactions.x.length - 1;
      expect([data.transactions.x[z], data.holdout[z]]).toEqual([cut.endsWith('12:00:00') ? 1 : 0, 2]);
    },
  );

  it.each(['2023-09-01 00:00:00', '2023-09-01 12:00:00'])(
    'gives the same numbers in one list pass as in SQL on orders without returns, cut %s',
    async (cut) => {
      const sql = vi.spyOn(store, 'readNumberColumns');
      const lists = await holdoutData(store, 'clean_orders', cut, 400);
      expect(sql).not.toHaveBeenCalled();
      expectSame(lists, await definition('clean_orders', cut));
      const grouped = await holdoutData(store, 'clean_orders', cut, LIST_CUSTOMERS_LIMIT + 1);
      expect(sql).toHaveBeenCalledTimes(1);
      expectSame(grouped, lists);
    },
  );
});
