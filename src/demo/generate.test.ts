// Tests of the synthetic retailer: file contract, referential integrity, determinism, and the process against its theory.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KairosError } from '../errors.js';
import { expectClose } from '../testing/expect-close.js';
import { PromoCalendar, parseIsoDay } from './calendar.js';
import { EVENT_TYPES, HEADERS, type OrderLineRow, type ProductRow, type TruthRow } from './contract.js';
import { parseCsv } from './csv.js';
import { generateRetailer, writeRetailerFiles, type DemoSink, type RetailerFiles } from './generate.js';
import { DEFAULT_RETAILER_PARAMS } from './params.js';
import { expectedPurchasesAlive, gammaGammaMeanOrderValue } from './theory.js';

const SEED = 20240305;
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;

let root: string;
let files: RetailerFiles;
const tables = new Map<string, string[][]>();
/** A file of the first data set, parsed once. */
const table = (name: keyof typeof HEADERS): string[][] => {
  let rows = tables.get(name);
  if (rows === undefined) {
    rows = parseCsv(readFileSync(join(files.dir, `${name}.csv`), 'utf8'));
    tables.set(name, rows);
  }
  return rows;
};
type Row = Record<string, string>;
const recordCache = new Map<string, Row[]>();
/** Rows of a file as records keyed by header (missing cells read as ''), built once. */
const records = (name: keyof typeof HEADERS): Row[] => {
  let rows = recordCache.get(name);
  if (rows === undefined) {
    const [header, ...body] = table(name);
    rows = body.map((row) => Object.fromEntries((header ?? []).map((h, i) => [h, row[i] ?? ''])) as Row);
    recordCache.set(name, rows);
  }
  return rows;
};
/** Field of a row ('' when absent). */
const f = (row: Row, column: string): string => row[column] ?? '';
/** Asserts that no row broke a rule; shows the first few that did. */
const expectNone = (problems: string[], rule: string): void => {
  expect(problems.slice(0, 5), `${problems.length} rows break: ${rule}`).toEqual([]);
};

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'kairos-demo-'));
  files = writeRetailerFiles(join(root, 'a'), { customers: 1500, seed: SEED });
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('writeRetailerFiles', () => {
  it('writes the contract headers exactly', () => {
    expect(table('customers')[0]).toEqual(['customer_id', 'created_at', 'email', 'country', 'acquisition_channel']);
    expect(table('products')[0]).toEqual(['product_id', 'name', 'category', 'price']);
    expect(table('orders')[0]).toEqual(['order_id', 'customer_id', 'ordered_at', 'product_id', 'quantity', 'unit_price', 'discount', 'status']);
    expect(table('events')[0]).toEqual(['customer_id', 'occurred_at', 'type', 'product_id', 'campaign_id', 'value']);
    expect(table('truth')[0]).toEqual([...HEADERS.truth]);
    expect(readFileSync(files.paths.readme, 'utf8')).toContain('r = 0.5, alpha = 60');
  });

  it('returns the row counts of the files', () => {
    for (const name of ['customers', 'products', 'orders', 'events', 'truth'] as const) {
      expect(table(name).length - 1, name).toBe(files.rows[name]);
    }
    expect(files.rows.customers).toBe(1500);
    expect(files.rows.truth).toBe(1500);
  });

  it('is byte-identical for the same seed and differs for another seed', () => {
    const again = writeRetailerFiles(join(root, 'b'), { customers: 1500, seed: SEED });
    const other = writeRetailerFiles(join(root, 'c'), { customers: 1500, seed: SEED + 1 });
    for (const name of ['customers', 'products', 'orders', 'events', 'truth', 'readme'] as const) {
      expect(readFileSync(again.paths[name]).equals(readFileSync(files.paths[name])), name).toBe(true);
    }
    expect(readFileSync(other.paths.orders).equals(readFileSync(files.paths.orders))).toBe(false);
  });

  it('quotes names with commas and quotes so they read back intact', () => {
    const names: string[] = [];
    generateRetailer({ customers: 1, seed: SEED }, { ...nullSink(), product: (r: ProductRow) => names.push(r.name) });
    const parsed = records('products').map((r) => r.name);
    expect(parsed).toEqual(names);
    expect(names.some((n) => n.includes(','))).toBe(true);
    expect(names.some((n) => n.includes('"'))).toBe(true);
    const raw = readFileSync(files.paths.products, 'utf8');
    const withComma = names.find((n) => n.includes(',') && !n.includes('"')) ?? '';
    expect(raw).toContain(`,"${withComma}",`);
  });

  it('has a realistic catalogue: 8 top categories, ~30 subcategories, 300-500 products', () => {
    const products = records('products');
    const categories = new Set(products.map((p) => f(p, 'category')));
    const tops = new Set([...categories].map((c) => c.split(' > ')[0]));
    expect(tops.size).toBe(8);
    expect(categories.size).toBeGreaterThanOrEqual(28);
    expect(products.length).toBeGreaterThanOrEqual(300);
    expect(products.length).toBeLessThanOrEqual(500);
    expectNone(products.filter((p) => !/^[^>]+ > [^>]+$/.test(f(p, 'category')) || !/^\d+\.\d{2}$/.test(f(p, 'price'))).map((p) => f(p, 'product_id')), 'category path and price');
  });

  it('references existing customers and products from every order line and event', () => {
    const customers = new Set(records('customers').map((c) => f(c, 'customer_id')));
    const products = new Set(records('products').map((p) => f(p, 'product_id')));
    expect(customers.size).toBe(1500);
    expectNone(
      records('orders').filter((o) => !customers.has(f(o, 'customer_id')) || !products.has(f(o, 'product_id'))).map((o) => f(o, 'order_id')),
      'order line references a known customer and product',
    );
    expectNone(
      records('events').filter((e) => !customers.has(f(e, 'customer_id')) || (f(e, 'product_id') !== '' && !products.has(f(e, 'product_id')))).map((e) => JSON.stringify(e)),
      'event references a known customer and product',
    );
    expect(new Set(records('truth').map((t) => f(t, 'customer_id')))).toEqual(customers);
  });

  it('keeps every timestamp within the period and after the account was created', () => {
    const start = '2023-01-01T00:00:00Z';
    const end = files.summary.dataEnd;
    expect(end).toBe('2025-07-01T00:00:00Z');
    const created = new Map(records('customers').map((c) => [f(c, 'customer_id'), f(c, 'created_at')]));
    const problems: string[] = [];
    const check = (ts: string, customer: string): void => {
      if (!TIMESTAMP.test(ts) || ts < start || ts >= end || ts < (created.get(customer) ?? '~')) problems.push(`${customer} ${ts}`);
    };
    for (const c of records('customers')) check(f(c, 'created_at'), f(c, 'customer_id'));
    for (const o of records('orders')) check(f(o, 'ordered_at'), f(o, 'customer_id'));
    for (const e of records('events')) check(f(e, 'occurred_at'), f(e, 'customer_id'));
    expectNone(problems, `timestamp in [${start}, ${end}) and not before created_at`);
  });

  it('writes money with 2 decimals, returns as later negative lines of the same order', () => {
    const orders = records('orders');
    const placed = new Map<string, string>();
    const problems: string[] = [];
    for (const o of orders) {
      if (!/^\d+\.\d{2}$/.test(f(o, 'unit_price')) || !/^-?\d+\.\d{2}$/.test(f(o, 'discount'))) problems.push(`${f(o, 'order_id')} money`);
      if (f(o, 'status') === 'completed') {
        if (!(Number(o.quantity) > 0) || !/^O\d{8}$/.test(f(o, 'order_id'))) problems.push(`${f(o, 'order_id')} completed line`);
        placed.set(`${f(o, 'order_id')}|${f(o, 'product_id')}`, f(o, 'ordered_at'));
      }
    }
    const returns = orders.filter((o) => f(o, 'status') === 'returned');
    expect(returns.length).toBeGreaterThan(0);
    expect(returns.length / orders.length).toBeLessThan(0.12);
    for (const r of returns) {
      const original = placed.get(`${f(r, 'order_id').slice(0, -2)}|${f(r, 'product_id')}`);
      if (!/^O\d{8}-R$/.test(f(r, 'order_id')) || !(Number(r.quantity) < 0) || original === undefined || !(f(r, 'ordered_at') > original)) {
        problems.push(`${f(r, 'order_id')} return`);
      }
    }
    expectNone(problems, 'money with 2 decimals; returns are later negative lines of a placed order line');
  });

  it('stops purchases at dropped_at and counts them in truth.csv', () => {
    const truth = new Map(records('truth').map((t) => [f(t, 'customer_id'), t]));
    const orders = new Map<string, Set<string>>();
    const problems: string[] = [];
    for (const o of records('orders')) {
      if (f(o, 'status') !== 'completed') continue;
      const dropped = f(truth.get(f(o, 'customer_id')) ?? {}, 'dropped_at');
      if (dropped !== '' && f(o, 'ordered_at') > dropped) problems.push(`${f(o, 'order_id')} after ${dropped}`);
      const set = orders.get(f(o, 'customer_id')) ?? new Set<string>();
      set.add(f(o, 'order_id'));
      orders.set(f(o, 'customer_id'), set);
    }
    let dropped = 0;
    for (const [id, t] of truth) {
      if (orders.get(id)?.size !== Number(t.purchases_total)) problems.push(`${id} purchases_total`);
      if (f(t, 'alive_at_end') !== (f(t, 'dropped_at') === '' ? '1' : '0')) problems.push(`${id} alive_at_end`);
      if (f(t, 'dropped_at') !== '') dropped++;
    }
    expectNone(problems, 'no purchase after dropped_at; purchases_total and alive_at_end agree with the orders');
    expect(dropped).toBeGreaterThan(0);
  });

  it('writes only known event types with their fields', () => {
    const types = new Set<string>(EVENT_TYPES);
    const seen = new Set<string>();
    const problems: string[] = [];
    for (const e of records('events')) {
      const type = f(e, 'type');
      seen.add(type);
      const bad =
        !types.has(type) ||
        (type.startsWith('email_') && f(e, 'campaign_id') === '') ||
        ((type === 'product_view' || type === 'add_to_cart' || type === 'review') && f(e, 'product_id') === '') ||
        (type === 'review' ? !/^[1-5]$/.test(f(e, 'value')) : type === 'add_to_cart' ? !(Number(e.value) > 0) : f(e, 'value') !== '');
      if (bad) problems.push(JSON.stringify(e));
    }
    expectNone(problems, 'known type; campaign on e-mail events; product on views, carts and reviews; rating 1-5');
    expect([...seen].sort()).toEqual([...EVENT_TYPES].sort());
  });

  it('rejects bad options with USAGE errors', () => {
    const bad = [
      { customers: 0, seed: 1 },
      { customers: 10, seed: -1 },
      { customers: 10, seed: 1, start: '2023-02-30' },
      { customers: 10, seed: 1, start: '2025-01-01', end: '2024-01-01' },
      { customers: 10, seed: 1, params: { r: 0 } },
    ];
    for (const options of bad) {
      let error: unknown;
      try {
        generateRetailer(options, nullSink());
      } catch (e) {
        error = e;
      }
      expect(error, JSON.stringify(options)).toBeInstanceOf(KairosError);
      expect((error as KairosError).code).toBe('USAGE');
    }
  });
});

function nullSink(): DemoSink {
  return { product: () => {}, customer: () => {}, orderLine: () => {}, event: () => {}, truth: () => {} };
}

describe('generateRetailer process against its theory (seed 7, 12,000 customers)', () => {
  const truth: TruthRow[] = [];
  const netByOrder = new Map<string, number>();
  let progress: [number, number][] = [];
  beforeAll(() => {
    const sink: DemoSink = {
      ...nullSink(),
      truth: (r) => truth.push(r),
      orderLine: (r: OrderLineRow) => {
        if (r.status === 'completed') netByOrder.set(r.order_id, (netByOrder.get(r.order_id) ?? 0) + r.quantity * r.unit_price - r.discount);
      },
    };
    progress = [];
    generateRetailer({ customers: 12_000, seed: 7 }, sink, (done, total) => progress.push([done, total]));
  });
  const P = DEFAULT_RETAILER_PARAMS;
  const mean = (xs: number[]): number => xs.reduce((s, x) => s + x, 0) / xs.length;

  it('reports progress up to the total', () => {
    expect(progress.at(-1)).toEqual([12_000, 12_000]);
    expect(progress.length).toBe(100);
  });

  it('draws lambda, p and nu from their mixing distributions (means r/alpha, a/(a+b), p gamma/(q-1))', () => {
    // Standard errors: sd(lambda)/sqrt(n) ~ 1.3% of the mean, sd(p) ~ 1%, sd(p/nu) ~ 0.7%.
    expectClose(mean(truth.map((t) => t.lambda_per_day)), P.r / P.alpha, { rtol: 0.05 }, 'mean lambda');
    expectClose(mean(truth.map((t) => t.dropout_p)), P.a / (P.a + P.b), { rtol: 0.04 }, 'mean p');
    expectClose(mean(truth.map((t) => t.expected_order_value)), gammaGammaMeanOrderValue(P), { rtol: 0.04 }, 'mean E[value|nu]');
  });

  it('makes as many repeat purchases as BG/NBD with the promo-modulated rate predicts', () => {
    // E[x | lambda, p, s, T] = (1 - exp(-p Lambda)) / p with Lambda = lambda (T + lift s promo days in (0, T]).
    const promos = new PromoCalendar(parseIsoDay('2023-01-01', 'start'), 913);
    const days = 912;
    const expected = truth.map((t) => {
      const a = days - t.T_days;
      return expectedPurchasesAlive(t.lambda_per_day * (t.T_days + P.promoLift * t.promo_sensitivity * promos.promoDaysBetween(a, days)), t.dropout_p);
    });
    expectClose(mean(truth.map((t) => t.repeat_purchases)), mean(expected), { rtol: 0.04 }, 'mean repeat purchases');
    const orders = mean(truth.map((t) => t.purchases_total));
    expect(orders).toBeGreaterThan(3);
    expect(orders).toBeLessThan(4.5);
  });

  it('fills baskets to the drawn order values: mean net order value near p gamma / (q - 1) = 60', () => {
    const values = [...netByOrder.values()];
    expectClose(mean(values), gammaGammaMeanOrderValue(P), { rtol: 0.05 }, 'mean net order value');
  });

  it('realises the stated expectation of purchases in the next 180 days', () => {
    // sd of purchases_next_180d ~ 1 per customer: SE ~ 0.01 on a mean ~ 0.5.
    const realised = mean(truth.map((t) => t.purchases_next_180d));
    expectClose(realised, mean(truth.map((t) => t.expected_purchases_180d)), { rtol: 0.06 }, 'future purchases vs truth');
    expectClose(realised, mean(truth.map((t) => t.expected_purchases_180d_given_history)), { rtol: 0.06 }, 'future purchases vs given-history');
    for (const t of truth) {
      expect(t.p_alive_given_history).toBeGreaterThanOrEqual(0);
      expect(t.p_alive_given_history).toBeLessThanOrEqual(1);
      if (t.alive_at_end === 0) expect(t.purchases_next_180d).toBe(0);
    }
  });

  it('gives promo-sensitive customers a larger share of orders on promo days', () => {
    const share = (rows: TruthRow[]): number => rows.reduce((s, t) => s + t.promo_orders, 0) / rows.reduce((s, t) => s + t.purchases_total, 0);
    const sensitive = share(truth.filter((t) => t.promo_sensitivity > 0.6));
    const insensitive = share(truth.filter((t) => t.promo_sensitivity < 0.2));
    expect(insensitive).toBeGreaterThan(0.05);
    expect(sensitive).toBeGreaterThan(1.6 * insensitive);
  });

  it('correlates engagement with the purchase rate', () => {
    const lambdas = truth.map((t) => t.lambda_per_day);
    const median = [...lambdas].sort((x, y) => x - y)[lambdas.length >> 1] ?? 0;
    const high = mean(truth.filter((t) => t.lambda_per_day > median).map((t) => t.engagement));
    const low = mean(truth.filter((t) => t.lambda_per_day <= median).map((t) => t.engagement));
    expect(high - low).toBeGreaterThan(0.05);
  });
});
