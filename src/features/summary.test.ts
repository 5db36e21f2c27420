import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { quoteLiteral, Store, type ListColumn } from '../store/db.js';
import { DaySummaries, purchaseSummary, writePurchaseSummary } from './summary.js';

const AS_OF = '2024-03-01 00:00:00';

/** Order lines: customer, order, time, quantity, amount. */
type Line = [string, string, string, number, number];

const CLEAN: Line[] = [
  ['a', 'o1', '2024-01-01 10:00:00', 1, 10],
  ['a', 'o2', '2024-01-01 18:00:00', 2, 5], // same day as o1: one purchase day of 15
  ['a', 'o3', '2024-01-20 09:00:00', 1, 30],
  ['a', 'o4', '2024-02-10 09:00:00', 1, 50],
  ['b', 'o5', '2024-02-01 12:00:00', 1, 7],
  ['c', 'o6', '2024-01-05 12:00:00', 1, 0], // a free item is a purchase
  ['c', 'o7', '2024-01-15 12:00:00', 3, 12],
  ['c', 'o7', '2024-01-15 12:00:00', 1, 8],
];

/** The same plus refused orders: a return-only order, a cancellation netting below zero, a later day's return. */
const WITH_RETURNS: Line[] = [
  ...CLEAN,
  ['a', 'r1', '2024-02-20 09:00:00', -1, -50], // return only: not a purchase
  ['b', 'o8', '2024-02-05 12:00:00', 1, 20],
  ['b', 'o8', '2024-02-05 12:00:00', -1, -30], // net -10: refused, so b keeps one purchase day
  ['c', 'o9', '2024-01-15 15:00:00', 1, 4], // same day as o7, kept
];

async function load(store: Store, lines: Line[]): Promise<void> {
  await store.run('CREATE OR REPLACE TEMP TABLE lines (customer_id VARCHAR, order_id VARCHAR, ordered_at TIMESTAMP, quantity DOUBLE, amount DOUBLE)');
  for (const l of lines) await store.run('INSERT INTO lines VALUES (?, ?, ?::TIMESTAMP, ?, ?)', l);
}

describe('writePurchaseSummary', () => {
  let store: Store;
  beforeEach(async () => {
    store = await Store.open(':memory:');
  });
  afterEach(() => store.close());

  for (const [name, lines] of [['clean lines (aggregated in JS)', CLEAN], ['lines with refused orders (the SQL with its filter)', WITH_RETURNS]] as const) {
    it(`equals purchaseSummary customer by customer, its arrays in the table's scan order: ${name}`, async () => {
      await load(store, [...lines]);
      const lean = await writePurchaseSummary(store, AS_OF, 'summary_t', 'lines');
      const sorted = await purchaseSummary(store, AS_OF, 'lines');
      // Row k of the arrays is the table's row k: its id, in scan order.
      const ids = (await store.readColumns('SELECT customer_id FROM summary_t')).texts['customer_id'] as string[];
      expect(lean.rows).toBe(sorted.customerIds.length);
      expect([...ids].sort()).toEqual(sorted.customerIds);
      expect(lean.observationEnd).toBe('2024-02-29');
      sorted.customerIds.forEach((id, k) => {
        const i = ids.indexOf(id);
        expect([lean.transactions.x[i], lean.transactions.tx[i], lean.transactions.T[i], lean.lastDay[i]]).toEqual([sorted.transactions.x[k], sorted.transactions.tx[k], sorted.transactions.T[k], sorted.lastDay[k]]);
        // Sums in another order: equal up to rounding.
        expect(lean.spend.m[i]).toBeCloseTo(sorted.spend.m[k] as number, 12);
      });
    });
  }

  it('gives the same numbers per customer when made in several partitions (passes over a share of the customers each)', async () => {
    // 40 customers, so that each of 3 partitions holds some.
    const many: Line[] = [];
    for (let c = 0; c < 40; c++) {
      for (let j = 0; j <= c % 4; j++) many.push([`c${c}`, `o${c}-${j}`, `2024-01-${String(1 + ((c + 3 * j) % 28)).padStart(2, '0')} 10:00:00`, 1, c + j]);
    }
    await load(store, many);
    const one = await writePurchaseSummary(store, AS_OF, 'summary_t', 'lines');
    const three = await writePurchaseSummary(store, AS_OF, 'summary_u', 'lines', { partitions: 3 });
    const ids = async (t: string): Promise<string[]> => (await store.readColumns(`SELECT customer_id FROM ${t}`)).texts['customer_id'] as string[];
    const a = await ids('summary_t');
    const b = await ids('summary_u');
    expect(three.rows).toBe(40);
    expect([...b].sort()).toEqual([...a].sort());
    for (const [i, id] of a.entries()) {
      const j = b.indexOf(id);
      expect([three.transactions.x[j], three.transactions.tx[j], three.transactions.T[j], three.spend.m[j], three.lastDay[j]]).toEqual([one.transactions.x[i], one.transactions.tx[i], one.transactions.T[i], one.spend.m[i], one.lastDay[i]]);
    }
  });

  it('gives the same arrays inside a transaction (where DuckDB offsets the rowids of new rows)', async () => {
    await load(store, CLEAN);
    const outside = await writePurchaseSummary(store, AS_OF, 'summary_t', 'lines');
    const inside = await store.transaction(() => writePurchaseSummary(store, AS_OF, 'summary_u', 'lines'));
    const ids = async (t: string): Promise<string[]> => (await store.readColumns(`SELECT customer_id FROM ${t}`)).texts['customer_id'] as string[];
    const a = await ids('summary_t');
    const b = await ids('summary_u');
    for (const id of a) {
      const i = a.indexOf(id);
      const j = b.indexOf(id);
      expect([inside.transactions.x[j], inside.transactions.tx[j], inside.transactions.T[j], inside.spend.m[j]]).toEqual([outside.transactions.x[i], outside.transactions.tx[i], outside.transactions.T[i], outside.spend.m[i]]);
    }
  });

  it('makes the summary again in more passes when the lists do not fit in memory (DuckDB cannot spill them), and says so', async () => {
    const small = await Store.open(':memory:', { memoryLimit: '16MB' });
    try {
      await small.run(`SET temp_directory = ${quoteLiteral(join(tmpdir(), `kairos-oom-${process.pid}`))}`);
      await small.run(
        `CREATE TEMP TABLE lines AS SELECT 'c' || (i % 100000) AS customer_id, 'o' || i AS order_id,
           TIMESTAMP '2024-01-01' + INTERVAL (i % 300) DAY AS ordered_at, 1.0 AS quantity, (i % 50)::DOUBLE AS amount FROM range(400000) r(i)`,
      );
      const retries: string[] = [];
      const s = await writePurchaseSummary(small, '2025-01-01 00:00:00', 'st', 'lines', { onRetry: (m) => retries.push(m) });
      expect(retries[0]).toBe('purchase summary: not enough memory in 1 pass(es), again in 4');
      expect(s.rows).toBe(100_000);
      // Customer k has lines i = k + 100,000 j (j = 0..3) on days i % 300: k, k + 100, k + 200 and k again: x = 2.
      expect(s.transactions.x.every((x) => x === 2)).toBe(true);
      expect(await small.value('SELECT count(DISTINCT customer_id) FROM st')).toBe(100_000);
    } finally {
      small.close();
    }
  });

  it('computes the model inputs by hand on the lines with refused orders', async () => {
    await load(store, WITH_RETURNS);
    const s = await writePurchaseSummary(store, AS_OF, 'summary_t', 'lines');
    const ids = (await store.readColumns('SELECT customer_id FROM summary_t')).texts['customer_id'] as string[];
    const byId = ids
      .map((customer_id, i) => ({ customer_id, x: s.transactions.x[i], tx: s.transactions.tx[i], T: s.transactions.T[i], m: s.spend.m[i] }))
      .sort((a, b) => a.customer_id.localeCompare(b.customer_id));
    expect(byId).toEqual([
      // days 01-01 (15), 01-20 (30), 02-10 (50); the return r1 is not a purchase day
      { customer_id: 'a', x: 2, tx: 40, T: 59, m: 40 },
      // 02-01 only: o8 nets -10 and is refused
      { customer_id: 'b', x: 0, tx: 0, T: 28, m: 0 },
      // 01-05 (0), 01-15 (12 + 8 + 4 = 24)
      { customer_id: 'c', x: 1, tx: 10, T: 55, m: 24 },
    ]);
    expect(s.rows).toBe(3);
  });
});

describe('DaySummaries', () => {
  /** Lists of days and amounts per customer, as DuckDB's list vectors give them: offsets and lengths into flat items. */
  function lists(customers: [number, number][][]): { days: ListColumn<Int32Array>; amounts: ListColumn<Float64Array> } {
    const offsets = new Uint32Array(customers.length);
    const lengths = new Uint32Array(customers.length);
    const d: number[] = [];
    const a: number[] = [];
    customers.forEach((lines, i) => {
      offsets[i] = d.length;
      lengths[i] = lines.length;
      for (const [day, amount] of lines) d.push(day), a.push(amount);
    });
    return { days: { offsets, lengths, values: Int32Array.from(d) }, amounts: { offsets, lengths, values: Float64Array.from(a) } };
  }

  it('reduces each customer\'s lines, in any order and across chunks, to purchase days', () => {
    const s = new DaySummaries(4, 120);
    // customer 0 buys twice on day 10 (one purchase day of 5), then on days 12 and 30; customer 1 once.
    const first = lists([
      [[30, 11], [10, 2], [12, 7], [10, 3]],
      [[20, 4]],
    ]);
    s.add(first.days, first.amounts, 2);
    // customer 2 on days 3, 3, 3 (one day) and 40; customer 3 holds 50 lines on five days (the sorted path).
    const second = lists([
      [[3, 1], [40, 9], [3, 1], [3, 1]],
      Array.from({ length: 50 }, (_, j): [number, number] => [104 - (j % 5), 1]),
    ]);
    s.add(second.days, second.amounts, 2);
    const r = s.finish();
    expect(Array.from(r.x)).toEqual([2, 0, 1, 4]);
    expect(Array.from(r.tx)).toEqual([20, 0, 37, 4]);
    expect(Array.from(r.T)).toEqual([110, 100, 117, 20]);
    expect(Array.from(r.lastDay)).toEqual([30, 20, 40, 104]);
    expect(r.m[0]).toBeCloseTo(9, 12); // (7 + 11) / 2
    expect(r.m[1]).toBe(0);
    expect(r.m[2]).toBeCloseTo(9, 12);
    expect(r.m[3]).toBeCloseTo(10, 12); // 40 lines after the first day, 4 repeat days
  });

  it('grows past its first capacity, trims to the customers added, and refuses a customer without lines', () => {
    const one = lists([[[1, 1]], [[2, 5], [4, 7]]]);
    const s = new DaySummaries(1, 10);
    s.add(one.days, one.amounts, 2);
    s.add(one.days, one.amounts, 2);
    const r = s.finish();
    expect(Array.from(r.x)).toEqual([0, 1, 0, 1]);
    expect(Array.from(r.T)).toEqual([9, 8, 9, 8]);
    expect(new DaySummaries(3, 10).finish().x.length).toBe(0);
    const empty = lists([[]]);
    expect(() => new DaySummaries(1, 10).add(empty.days, empty.amounts, 1)).toThrow(/0 days/);
  });
});
