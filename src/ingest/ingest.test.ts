// Ingest: the data contract at the edge — bad input gets a clear answer, nothing is lost, re-ingest changes nothing.
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KairosError } from '../errors.js';
import { Store } from '../store/db.js';
import { quotedOrders, refusal, storeSnapshot } from '../testing/ingest-checks.js';
import { rng } from '../testing/orders-fixture.js';
import { ingest, type FileReport } from './ingest.js';

let dir: string;
let store: Store;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kairos-ingest-'));
  store = await Store.open(join(dir, 'k.duckdb'));
});
afterEach(() => store.close());

function file(name: string, content: string | Buffer): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

const ORDERS = [
  'order_id,customer_id,ordered_at,product_id,quantity,unit_price,discount,status',
  'A1,c1,2024-01-05T10:00:00Z,p1,2,10.00,0,completed',
  'A1,c1,2024-01-05T10:00:00Z,p2,1,5.50,0.50,',
  'A2,c2,2024-02-01 09:30:00,p1,1,10,,',
  'A3,c1,2024-03-01,p3,-1,8,0,',
].join('\n');

function reconciles(r: FileReport): void {
  expect(r.read).toBe(r.loaded + r.rejected + r.duplicates);
}

async function count(table: string): Promise<number> {
  return Number(await store.value(`SELECT count(*) FROM ${table}`));
}

describe('ingest orders', () => {
  it('loads valid lines, nets returns and creates customers and products from orders', async () => {
    const report = await ingest(store, { entity: 'orders', files: [file('orders.csv', ORDERS)] });
    const r = report.files[0]!;
    expect(r).toMatchObject({ read: 4, loaded: 4, rejected: 0, duplicates: 0, customersCreated: 2, productsCreated: 3 });
    const lines = await store.all('SELECT order_id, product_id, quantity, amount, status, ordered_at FROM orders ORDER BY order_id, product_id');
    expect(lines).toEqual([
      { order_id: 'A1', product_id: 'p1', quantity: 2, amount: 20, status: 'completed', ordered_at: '2024-01-05T10:00:00Z' },
      { order_id: 'A1', product_id: 'p2', quantity: 1, amount: 5, status: 'completed', ordered_at: '2024-01-05T10:00:00Z' },
      { order_id: 'A2', product_id: 'p1', quantity: 1, amount: 10, status: 'completed', ordered_at: '2024-02-01T09:30:00Z' },
      { order_id: 'A3', product_id: 'p3', quantity: -1, amount: -8, status: 'returned', ordered_at: '2024-03-01T00:00:00Z' },
    ]);
    const c1 = await store.one('SELECT created_at, source FROM customers WHERE customer_id = ?', ['c1']);
    expect(c1).toEqual({ created_at: '2024-01-05T10:00:00Z', source: 'orders' });
  });

  it('re-ingesting the same file changes nothing: every row is a duplicate', async () => {
    const path = file('orders.csv', ORDERS);
    await ingest(store, { entity: 'orders', files: [path] });
    const again = (await ingest(store, { entity: 'orders', files: [path] })).files[0]!;
    expect(again).toMatchObject({ read: 4, loaded: 0, rejected: 0, duplicates: 4 });
    expect(await count('orders')).toBe(4);
    expect(await count('customers')).toBe(2);
  });

  it('counts exact duplicate lines inside a file as duplicates', async () => {
    const lines = ORDERS.split('\n');
    const r = (await ingest(store, { entity: 'orders', files: [file('d.csv', [...lines, lines[1], lines[1]].join('\n'))] })).files[0]!;
    expect(r).toMatchObject({ read: 6, loaded: 4, duplicates: 2 });
    reconciles(r);
  });

  it('rejects bad rows with file, line and reason, into the rejects table and a rejects file', async () => {
    const bad = [
      'order_id,customer_id,ordered_at,product_id,quantity,unit_price',
      'B1,c1,2024-01-01,p1,1,10', // line 2: fine
      'B2,,2024-01-01,p1,1,10', // line 3: empty customer
      'B3,c2,not-a-date,p1,1,10', // line 4
      'B4,c2,2024-01-02,p1,abc,10', // line 5
      'B5,c2,2024-01-02,p1,0,10', // line 6
      'B6,c2,2024-01-02,p1,1,-3', // line 7: negative price
      'B7,c2,2999-01-02,p1,1,3', // line 8: future
      'B8,c3,2024-01-02,p1,1,2,99', // line 9: too many columns
      'B9,c3,2024-01-03,p1,1,2', // line 10: fine
    ].join('\n');
    const path = file('bad.csv', bad);
    const r = (await ingest(store, { entity: 'orders', files: [path] })).files[0]!;
    expect(r).toMatchObject({ read: 9, loaded: 2, rejected: 7, duplicates: 0 });
    const rejects = await store.all<{ line: number; reason: string }>('SELECT line, reason FROM rejects ORDER BY line');
    expect(rejects).toEqual([
      { line: 3, reason: 'customer_id is empty' },
      { line: 4, reason: 'ordered_at "not-a-date" is not a date (expected ISO 8601; set --date-format, or dateFormat in the ingest settings of kairos.config.json)' },
      { line: 5, reason: 'quantity "abc" is not a number' },
      { line: 6, reason: 'quantity is 0' },
      { line: 7, reason: 'unit_price -3.0 is below 0' },
      { line: 8, reason: 'ordered_at "2999-01-02" is in the future' },
      { line: 9, reason: expect.stringMatching(/^too many columns/) as unknown as string },
    ]);
    // The reasons grouped with their values blanked, the standard's number kept.
    expect(r.rejectReasons).toContainEqual({ reason: 'ordered_at "…" is not a date (expected ISO 8601; set --date-format, or dateFormat in the ingest settings of kairos.config.json)', count: 1 });
    expect(r.rejectReasons).toContainEqual({ reason: 'unit_price N is below N', count: 1 });
    expect(r.rejectsFile).not.toBeNull();
    const text = readFileSync(r.rejectsFile!, 'utf8');
    expect(text.split('\n')[0]).toBe('file,line,reason,raw');
    expect(text).toContain('quantity is 0');
    expect(text.trim().split('\n')).toHaveLength(8);
  });

  it('names rejects files after their store: two stores in one folder keep their own', async () => {
    const bad = file('orders.csv', 'order_id,customer_id,ordered_at,unit_price\nA1,,2024-01-01,5\n');
    const other = await Store.open(join(dir, 'other.duckdb'));
    try {
      const mine = (await ingest(store, { entity: 'orders', files: [bad] })).files[0]!;
      const theirs = (await ingest(other, { entity: 'orders', files: [bad] })).files[0]!;
      expect(mine.rejectsFile).toBe(join(dir, 'kairos-rejects', 'k-batch-1-orders.csv.rejects.csv'));
      expect(theirs.rejectsFile).toBe(join(dir, 'kairos-rejects', 'other-batch-1-orders.csv.rejects.csv'));
      expect(readFileSync(mine.rejectsFile!, 'utf8')).toContain('customer_id is empty');
      expect(readFileSync(theirs.rejectsFile!, 'utf8')).toContain('customer_id is empty');
    } finally {
      other.close();
    }
  });

  it('accepts a return line that mirrors its sale with a negative discount, rejects a negative discount on a sale', async () => {
    const text = [
      'order_id,customer_id,ordered_at,product_id,quantity,unit_price,discount,status',
      'S1,c1,2024-01-01,p1,2,10,4,completed', // 20 - 4 = 16
      'S1-R,c1,2024-01-09,p1,-2,10,-4,returned', // mirrored: -(20 - 4) = -16
      'S2,c1,2024-01-02,p1,1,10,-1,completed', // line 4: negative discount on a sale
    ].join('\n');
    const r = (await ingest(store, { entity: 'orders', files: [file('m.csv', text)] })).files[0]!;
    expect(r).toMatchObject({ read: 3, loaded: 2, rejected: 1 });
    expect(await store.all('SELECT order_id, amount, discount FROM orders ORDER BY order_id')).toEqual([
      { order_id: 'S1', amount: 16, discount: 4 },
      { order_id: 'S1-R', amount: -16, discount: 4 },
    ]);
    expect(await store.all('SELECT line, reason FROM rejects')).toEqual([{ line: 4, reason: 'discount -1.0 is negative on a sale line' }]);
  });

  it('rejects a discount larger than the line value before discount, with its line; read = loaded + rejected + duplicates', async () => {
    const text = [
      'order_id,customer_id,ordered_at,product_id,quantity,unit_price,discount,status',
      'D1,c1,2024-01-01,p1,2,10,20,completed', // the whole line off: amount 0, kept
      'D2,c1,2024-01-02,p1,2,10,25,completed', // line 3: 25 off a line of 20
      'D3,c1,2024-01-03,p1,-1,10,-12,returned', // line 4: a return cannot give back more than its line either
      'D1,c1,2024-01-01,p1,2,10,20,completed', // a duplicate of line 2
    ].join('\n');
    const r = (await ingest(store, { entity: 'orders', files: [file('d.csv', text)] })).files[0]!;
    expect(r).toMatchObject({ read: 4, loaded: 1, rejected: 2, duplicates: 1 });
    expect(r.read).toBe(r.loaded + r.rejected + r.duplicates);
    expect(await store.all('SELECT order_id, amount, discount FROM orders')).toEqual([{ order_id: 'D1', amount: 0, discount: 20 }]);
    expect(await store.all('SELECT line, reason FROM rejects ORDER BY line')).toEqual([
      { line: 3, reason: 'discount 25.0 exceeds the line value 20.0' },
      { line: 4, reason: 'discount -12.0 exceeds the line value 10.0' },
    ]);
  });

  it('stops a file missing a required column, naming it and the columns found', async () => {
    const path = file('m.csv', 'order_id,client,when,price\n1,a,2024-01-01,3\n');
    const err = await ingest(store, { entity: 'orders', files: [path] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KairosError);
    expect((err as KairosError).code).toBe('VALIDATION');
    expect((err as KairosError).message).toMatch(/required columns "customer_id", "ordered_at" are missing \(columns found: order_id, client, when, price\)/);
    expect(await count('ingest_batches')).toBe(0);
  });

  it('maps columns with --map and accepts ids written as floats', async () => {
    const path = file('m.csv', 'order_id,client,when,price\n1,17850.0,2024-01-01,3\n');
    const r = (await ingest(store, { entity: 'orders', files: [path], settings: { map: { customer_id: 'client', ordered_at: 'when', unit_price: 'price' } } })).files[0]!;
    expect(r.loaded).toBe(1);
    expect(await store.value('SELECT customer_id FROM orders')).toBe('17850');
  });

  it('a failure mid-way leaves the store as it was (one transaction)', async () => {
    await ingest(store, { entity: 'orders', files: [file('first.csv', ORDERS)] });
    const before = await store.all('SELECT * FROM orders ORDER BY order_id, product_id');
    const next = file('next.csv', ORDERS.replaceAll('A', 'Z'));
    await expect(ingest(store, { entity: 'orders', files: [next], failBeforeCommit: true })).rejects.toThrow(/injected failure/);
    expect(await store.all('SELECT * FROM orders ORDER BY order_id, product_id')).toEqual(before);
    expect(await count('customers')).toBe(2);
    expect(await count('ingest_batches')).toBe(1);
    expect(await count('rejects')).toBe(0);
  });

  it('handles an empty file and a header-only file', async () => {
    const report = await ingest(store, { entity: 'orders', files: [file('e.csv', ''), file('h.csv', 'order_id,customer_id,ordered_at,unit_price\n')] });
    expect(report.files.map((f) => [f.read, f.loaded])).toEqual([
      [0, 0],
      [0, 0],
    ]);
  });

  it('reads a UTF-8 BOM, a semicolon delimiter and gzip', async () => {
    const semi = '\ufeff' + ORDERS.replaceAll(',', ';');
    const r1 = (await ingest(store, { entity: 'orders', files: [file('semi.csv', semi)] })).files[0]!;
    expect(r1.loaded).toBe(4);
    const r2 = (await ingest(store, { entity: 'orders', files: [file('o.csv.gz', gzipSync(ORDERS.replaceAll('A', 'G')))] })).files[0]!;
    expect(r2.loaded).toBe(4);
  });

  it('a wrong delimiter is a missing-column error, not silent garbage', async () => {
    const err = await ingest(store, { entity: 'orders', files: [file('semi.csv', ORDERS.replaceAll(',', ';'))], settings: { delimiter: ',' } }).catch((e: unknown) => e);
    expect((err as KairosError).message).toMatch(/columns found: order_id;customer_id;/);
  });

  it('rejects non-UTF-8 lines with a hint, and reads them with --encoding latin-1', async () => {
    const latin = Buffer.concat([
      Buffer.from('customer_id,email,country\nc1,a@x.org,France\nc2,b@x.org,'),
      Buffer.from([0x52, 0xe9, 0x75, 0x6e, 0x69, 0x6f, 0x6e]), // "Réunion" in latin-1
      Buffer.from('\nc3,c@x.org,Spain\n'),
    ]);
    const path = file('latin.csv', latin);
    const r = (await ingest(store, { entity: 'customers', files: [path] })).files[0]!;
    expect(r).toMatchObject({ read: 3, loaded: 2, rejected: 1 });
    expect(r.rejectReasons[0]?.reason).toMatch(/invalid UTF-8.*--encoding latin-1/);
    expect(await store.value('SELECT line FROM rejects')).toBe(3);
    const r2 = (await ingest(store, { entity: 'customers', files: [path], settings: { encoding: 'latin-1' } })).files[0]!;
    expect(r2).toMatchObject({ read: 3, loaded: 1, duplicates: 2 });
    expect(await store.value("SELECT country FROM customers WHERE customer_id = 'c2'")).toBe('Réunion');
  });

  it('reports the physical line of a bad row after lines the reader rejected', async () => {
    const text = ['customer_id,email', 'c1,a', 'c2,b,extra', 'c3,c,extra', '   ,d', 'c5,e'].join('\n');
    const r = (await ingest(store, { entity: 'customers', files: [file('c.csv', text)] })).files[0]!;
    expect(r).toMatchObject({ read: 5, loaded: 2, rejected: 3 });
    expect(await store.all('SELECT line, reason FROM rejects WHERE reason NOT LIKE \'too many%\'')).toEqual([{ line: 5, reason: 'customer_id is empty' }]);
  });

  it('excludes configured non-product lines with a reason, yet knows their customer', async () => {
    const text = ['order_id,customer_id,ordered_at,product_id,quantity,unit_price', 'X1,c9,2024-01-01,POST,1,3', 'X1,c1,2024-01-01,p1,1,3'].join('\n');
    const r = (await ingest(store, { entity: 'orders', files: [file('x.csv', text)], settings: { excludeProducts: ['POST'] } })).files[0]!;
    expect(r).toMatchObject({ read: 2, loaded: 1, rejected: 1 });
    expect(r.rejectReasons[0]?.reason).toMatch(/excluded by config/);
    expect(await store.value("SELECT count(*) FROM customers WHERE customer_id = 'c9'")).toBe(1);
  });
});

/** `n` order lines of seeded random orders `PREFIX1, PREFIX2, ...` (1-3 lines each) over 2024, status left blank. */
function orderLines(prefix: string, n: number, seed: number): string[] {
  const u = rng(seed);
  const lines: string[] = [];
  for (let order = 1; lines.length < n; order++) {
    const when = new Date(Date.UTC(2024, 0, 1) + Math.floor(u() * 365 * 86_400) * 1000).toISOString().replace('.000Z', 'Z');
    const customer = `c${1 + Math.floor(u() * 500)}`;
    for (let k = 1 + Math.floor(u() * 3); k > 0 && lines.length < n; k--) {
      lines.push(`${prefix}${order},${customer},${when},p${1 + Math.floor(u() * 50)},${1 + Math.floor(u() * 3)},${(1 + u() * 99).toFixed(2)},0,`);
    }
  }
  return lines;
}

const ORDERS_HEADER = 'order_id,customer_id,ordered_at,product_id,quantity,unit_price,discount,status';

/** Order id, product and price of the lines a batch stored, sorted. */
async function storedLines(batchId: number): Promise<string[]> {
  const rows = await store.all<{ l: string }>('SELECT order_id || \' \' || product_id || \' \' || unit_price AS l FROM orders WHERE batch_id = ? ORDER BY l', [batchId]);
  return rows.map((r) => r.l);
}

/** The same fields of CSV lines, sorted as storedLines sorts them. */
function linesOf(csv: readonly string[]): string[] {
  return csv.map((l) => l.split(',')).map((f) => `${f[0]} ${f[3]} ${Number(f[5])}`).sort();
}

describe('ingest orders into a store that holds lines already (incremental days)', () => {
  // sliceRows 3 and 40 force the sliced paths of the search for stored duplicates (by default: 1M rows a slice).
  it.each([undefined, 40, 3])('a second file with some lines already stored gives exactly those duplicates (sliceRows %s)', async (sliceRows) => {
    const first = orderLines('S', 120, 11);
    await ingest(store, { entity: 'orders', files: [file('first.csv', [ORDERS_HEADER, ...first].join('\n'))] });
    // Among them the earliest and the latest stored lines: the search is bounded by the stored time span, ends included.
    const byTime = [...first].sort((a, b) => (a.split(',')[2] as string).localeCompare(b.split(',')[2] as string));
    const copies = [first[3], first[40], first[41], first[77], first[119], byTime[0], byTime[119]].map((l) => l as string);
    // A stored line written with its status spelt out is still the stored line (the key compares stored values).
    const spelt = `${first[60] as string}completed`;
    const near = [
      (first[5] as string).replace(/,([0-9.]+),0,$/, (_, price: string) => `,${(Number(price) + 1).toFixed(2)},0,`), // another price
      (first[6] as string).replace(/,p([0-9]+),/, ',p999,'), // another product in the same order and time
    ];
    const fresh = orderLines('N', 60, 12);
    const lines = [...fresh.slice(0, 30), ...copies, spelt, ...near, 'B1,c1,2024-02-02T00:00:00Z,p1,abc,1,0,', ...fresh.slice(30), fresh[0] as string, copies[0] as string];
    const options = { entity: 'orders' as const, files: [file('second.csv', [ORDERS_HEADER, ...lines].join('\n'))], ...(sliceRows ? { sliceRows } : {}) };
    const r = (await ingest(store, options)).files[0]!;
    // 7 copies + the spelt-out one are stored; the second fresh[0] and the second copies[0] repeat lines of the file.
    expect(r).toMatchObject({ read: 73, loaded: 62, rejected: 1, duplicates: 10 });
    reconciles(r);
    expect(await storedLines(r.batchId)).toEqual(linesOf([...fresh, ...near]));
    expect(await count('orders')).toBe(182);
    const distinct = await store.value('SELECT count(*) FROM (SELECT DISTINCT order_id, customer_id, ordered_at, product_id, quantity, unit_price, discount, status FROM orders)');
    expect(distinct).toBe(182);
  });

  it('a store with many lines (several row groups) and a small file still finds its stored lines', async () => {
    const many = orderLines('M', 130_000, 21);
    await ingest(store, { entity: 'orders', files: [file('many.csv', [ORDERS_HEADER, ...many].join('\n'))] });
    // One stored line near each end, then 60 spread through: beyond the 50 values DuckDB filters a scan by exactly.
    const spread = Array.from({ length: 60 }, (_, k) => many[Math.floor(((k + 0.5) * many.length) / 60)] as string);
    const copies = [many[0] as string, many[129_999] as string, ...spread];
    const fresh = orderLines('N', 3, 22);
    const r = (await ingest(store, { entity: 'orders', files: [file('day.csv', [ORDERS_HEADER, ...fresh, ...copies].join('\n'))] })).files[0]!;
    expect(r).toMatchObject({ read: 65, loaded: 3, duplicates: 62 });
    expect(await storedLines(r.batchId)).toEqual(linesOf(fresh));
    const one = (await ingest(store, { entity: 'orders', files: [file('one.csv', [ORDERS_HEADER, many[65_432] as string].join('\n'))] })).files[0]!;
    expect(one).toMatchObject({ read: 1, loaded: 0, duplicates: 1 });
  });

  it('a later day\'s file (past the stored span) loads whole, less its own repeated lines', async () => {
    const first = orderLines('S', 50, 41);
    await ingest(store, { entity: 'orders', files: [file('first.csv', [ORDERS_HEADER, ...first].join('\n'))] });
    const later = orderLines('N', 20, 42).map((l) => l.replace(',2024-', ',2025-'));
    const moved = (first[7] as string).replace(',2024-', ',2025-'); // a stored line but for its date
    const r = (await ingest(store, { entity: 'orders', files: [file('later.csv', [ORDERS_HEADER, ...later, moved, later[4] as string].join('\n'))] })).files[0]!;
    expect(r).toMatchObject({ read: 22, loaded: 21, duplicates: 1 });
    expect(await storedLines(r.batchId)).toEqual(linesOf([...later, moved]));
  });

  it('finds lines of an earlier file of the same command as stored (one transaction)', async () => {
    const a = orderLines('S', 30, 31);
    const b = [...orderLines('N', 10, 32), a[2] as string, a[29] as string];
    const report = await ingest(store, { entity: 'orders', files: [file('a.csv', [ORDERS_HEADER, ...a].join('\n')), file('b.csv', [ORDERS_HEADER, ...b].join('\n'))] });
    expect(report.files[1]).toMatchObject({ read: 12, loaded: 10, duplicates: 2 });
    expect(await count('orders')).toBe(40);
  });

  it('events: stored events are duplicates, their empty product, campaign and value compared as equal', async () => {
    const events = [
      '{"customer_id":"c1","occurred_at":"2024-01-01T10:00:00Z","type":"email_open","campaign_id":"cmp1"}',
      '{"customer_id":"c1","occurred_at":"2024-01-01T10:00:00Z","type":"web_visit"}',
      '{"customer_id":"c2","occurred_at":"2024-01-03T10:00:00Z","type":"review","product_id":"p1","value":4}',
    ];
    await ingest(store, { entity: 'events', files: [file('e1.ndjson', events.join('\n'))] });
    const next = [events[1], events[2], '{"customer_id":"c2","occurred_at":"2024-01-03T10:00:00Z","type":"review","product_id":"p1","value":5}'];
    for (const sliceRows of [undefined, 1]) {
      const r = (await ingest(store, { entity: 'events', files: [file('e2.ndjson', next.join('\n'))], ...(sliceRows ? { sliceRows } : {}) })).files[0]!;
      expect(r).toMatchObject(sliceRows ? { read: 3, loaded: 0, duplicates: 3 } : { read: 3, loaded: 1, duplicates: 2 });
    }
    expect(await count('events')).toBe(4);
  });
});

describe('ingest other entities and formats', () => {
  it('upserts customers: identical rows are duplicates, changed rows update, extra columns go to attributes', async () => {
    const a = file('c.csv', 'customer_id,created_at,email,tier\nc1,2023-01-01,a@x.org,gold\nc2,2023-02-01,b@x.org,silver\n');
    await ingest(store, { entity: 'customers', files: [a] });
    const b = file('c2.csv', 'customer_id,created_at,email,tier\nc1,2023-01-01,a@x.org,gold\nc2,2023-02-01,new@x.org,silver\nc3,2023-03-01,,\n');
    const r = (await ingest(store, { entity: 'customers', files: [b] })).files[0]!;
    expect(r).toMatchObject({ read: 3, loaded: 2, updated: 1, duplicates: 1 });
    expect(await store.value("SELECT email FROM customers WHERE customer_id = 'c2'")).toBe('new@x.org');
    expect(await store.value("SELECT attributes FROM customers WHERE customer_id = 'c1'")).toEqual({ tier: 'gold' });
  });

  it('keeps one row per customer id through files, repeats within a file and stubs from orders (no key index does it)', async () => {
    await ingest(store, { entity: 'customers', files: [file('c.csv', 'customer_id,email\nc1,a@x.org\nc2,b@x.org\nc1,a2@x.org\n')] });
    await ingest(store, { entity: 'orders', files: [file('o.csv', 'order_id,customer_id,ordered_at,amount\no1,c1,2024-01-01,5\no2,c9,2024-01-02,5\no3,c9,2024-01-03,5\n')] });
    await ingest(store, { entity: 'customers', files: [file('c2.csv', 'customer_id,email\nc9,z@x.org\nc2,b@x.org\n')] });
    expect(await store.all('SELECT customer_id, count(*)::INTEGER AS n FROM customers GROUP BY ALL ORDER BY customer_id')).toEqual([
      { customer_id: 'c1', n: 1 },
      { customer_id: 'c2', n: 1 },
      { customer_id: 'c9', n: 1 },
    ]);
    expect(await store.value("SELECT email FROM customers WHERE customer_id = 'c9'")).toBe('z@x.org');
  });

  it('reads NDJSON events, keeping unknown types and rejecting broken JSON lines', async () => {
    const text = [
      '{"customer_id":"c1","occurred_at":"2024-01-01T10:00:00Z","type":"email_open","campaign_id":"cmp1"}',
      '{"customer_id":"c1","occurred_at":"2024-01-02T10:00:00Z","type":"teleport"}',
      '{not json',
      '{"customer_id":"c2","occurred_at":"2024-01-03T10:00:00+02:00","type":"review","product_id":"p1","value":4}',
    ].join('\n');
    const report = await ingest(store, { entity: 'events', files: [file('e.ndjson', text)] });
    const r = report.files[0]!;
    expect(r).toMatchObject({ read: 4, loaded: 3, rejected: 1, unknownEventTypes: { teleport: 1 } });
    expect(report.unknownEventTypes).toEqual({ teleport: 1 });
    expect(await store.all('SELECT line, reason FROM rejects ORDER BY line')).toEqual([{ line: 3, reason: 'not a JSON object' }]);
    expect(await store.value("SELECT occurred_at FROM events WHERE customer_id = 'c2'")).toBe('2024-01-03T08:00:00Z');
  });

  it('keeps events of types outside the contract in lower snake case, counts them per file and in all, rejects a type with no letter', async () => {
    const a = file(
      'a.csv',
      [
        'customer_id,occurred_at,type',
        'c1,2024-01-01T10:00:00Z,email_open',
        'c1,2024-01-02T10:00:00Z,Loyalty Signup',
        'c1,2024-01-03T10:00:00Z,loyalty-signup',
        'c2,2024-01-04T10:00:00Z,AppLaunch',
        'c2,2024-01-05T10:00:00Z, Web_Visit ',
        'c2,2024-01-06T10:00:00Z,!!!',
        'c2,2024-01-07T10:00:00Z,',
      ].join('\n'),
    );
    const b = file('b.csv', 'customer_id,occurred_at,type\nc3,2024-02-01T10:00:00Z,app_launch\nc3,2024-02-02T10:00:00Z,LOYALTY_SIGNUP\n');
    const report = await ingest(store, { entity: 'events', files: [a, b] });
    expect(report.files.map((f) => f.unknownEventTypes)).toEqual([{ loyalty_signup: 2, app_launch: 1 }, { app_launch: 1, loyalty_signup: 1 }]);
    expect(report.unknownEventTypes).toEqual({ loyalty_signup: 3, app_launch: 2 });
    expect(report.files[0]).toMatchObject({ read: 7, loaded: 5, rejected: 2 });
    expect(await store.all('SELECT line, reason FROM rejects ORDER BY line')).toEqual([
      { line: 7, reason: 'type "!!!" has no letter or digit' },
      { line: 8, reason: 'type is empty' },
    ]);
    expect(await store.all('SELECT type, count(*)::INTEGER AS n FROM events GROUP BY type ORDER BY type')).toEqual([
      { type: 'app_launch', n: 2 },
      { type: 'email_open', n: 1 },
      { type: 'loyalty_signup', n: 3 },
      { type: 'web_visit', n: 1 },
    ]);
    // Stored as normalised, so the same event written another way is a duplicate.
    const again = (await ingest(store, { entity: 'events', files: [file('c.csv', 'customer_id,occurred_at,type\nc3,2024-02-01T10:00:00Z,App Launch\n')] })).files[0]!;
    expect(again).toMatchObject({ read: 1, loaded: 0, duplicates: 1, unknownEventTypes: {} });
  });

  it('events for customers not yet known create prospect customers, dated by their first event, as orders do', async () => {
    await ingest(store, { entity: 'orders', files: [file('o.csv', 'order_id,customer_id,ordered_at,amount\no1,c1,2024-01-10,5\n')] });
    const r = (
      await ingest(store, {
        entity: 'events',
        files: [file('e.csv', 'customer_id,occurred_at,type\nc1,2024-01-01T10:00:00Z,web_visit\nc9,2024-03-02T10:00:00Z,web_visit\nc9,2024-03-01T09:00:00Z,email_open\n')],
      })
    ).files[0]!;
    expect(r.customersCreated).toBe(1);
    expect(await store.all('SELECT customer_id, created_at, source FROM customers ORDER BY customer_id')).toEqual([
      { customer_id: 'c1', created_at: '2024-01-01T10:00:00Z', source: 'orders' }, // a stub moves back to its earliest activity
      { customer_id: 'c9', created_at: '2024-03-01T09:00:00Z', source: 'events' },
    ]);
  });

  it('reads Parquet with row numbers', async () => {
    const csv = file('p.csv', 'product_id,name,category,price\np1,Mug,Home > Kitchen,9.5\np2,Bad,Home,-1\n');
    const pq = join(dir, 'p.parquet');
    await store.run(`COPY (SELECT * FROM read_csv('${csv}')) TO '${pq}' (FORMAT parquet)`);
    const r = (await ingest(store, { entity: 'products', files: [pq] })).files[0]!;
    expect(r).toMatchObject({ format: 'parquet', read: 2, loaded: 1, rejected: 1 });
    expect(await store.value('SELECT line FROM rejects')).toBe(2);
  });

  it('a file named .parquet that is not Parquet is invalid input naming the file, without kairos\'s SQL', async () => {
    const garbage = file('x.parquet', Buffer.from(Array.from({ length: 2000 }, (_, i) => (i * 37 + 11) % 256)));
    const err = await ingest(store, { entity: 'orders', files: [garbage] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KairosError);
    expect((err as KairosError).code).toBe('VALIDATION');
    expect((err as KairosError).message).toMatch(/x\.parquet: not a readable Parquet file \(No magic bytes found/);
    expect((err as KairosError).message).not.toMatch(/read_parquet|SELECT/);
    const notGzip = file('y.csv.gz', Buffer.from(Array.from({ length: 2000 }, (_, i) => (i * 53 + 7) % 256)));
    await expect(ingest(store, { entity: 'orders', files: [notGzip] })).rejects.toMatchObject({ code: 'VALIDATION', message: expect.stringContaining('y.csv.gz') });
    expect(await count('orders')).toBe(0);
  });

  it('interprets naive timestamps in the given time zone and stores UTC', async () => {
    const text = 'order_id,customer_id,ordered_at,unit_price\n1,c1,2024-07-01 12:00:00,5\n';
    await ingest(store, { entity: 'orders', files: [file('tz.csv', text)], settings: { timezone: 'Europe/Paris' } });
    expect(await store.value('SELECT ordered_at FROM orders')).toBe('2024-07-01T10:00:00Z');
  });

  it('parses non-ISO dates with --date-format', async () => {
    const text = 'order_id,customer_id,ordered_at,unit_price\n1,c1,12/31/2023 8:26,5\n';
    await ingest(store, { entity: 'orders', files: [file('f.csv', text)], settings: { dateFormat: '%m/%d/%Y %H:%M' } });
    expect(await store.value('SELECT ordered_at FROM orders')).toBe('2023-12-31T08:26:00Z');
  });
});

describe('broken input is refused whole', () => {
  const snapshot = (): Promise<unknown[]> => storeSnapshot(store);

  /** CDNOW-shaped purchases (customer_id,date,quantity,amount), from a seeded generator (mulberry32, seed in the call). */
  function cdnowLike(rows: number, seed: number): string {
    let a = seed >>> 0;
    const rand = (): number => {
      a = (a + 0x6d2b79f5) >>> 0;
      let t = Math.imul(a ^ (a >>> 15), a | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
    };
    const lines = ['customer_id,date,quantity,amount'];
    for (let i = 0; i < rows; i++) {
      const day = new Date(Date.UTC(1997, 0, 1) + Math.floor(rand() * 540) * 86_400_000).toISOString().slice(0, 10);
      lines.push(`${1 + Math.floor(rand() * 5000)},${day},${1 + Math.floor(rand() * 5)},${(rand() * 100).toFixed(2)}`);
    }
    return lines.join('\n') + '\n';
  }

  it('a truncated gzip file is refused, naming it, and nothing of the command is loaded', async () => {
    await ingest(store, { entity: 'orders', files: [file('first.csv', ORDERS)] });
    const before = await snapshot();
    const whole = gzipSync(cdnowLike(20_000, 42));
    const truncated = file('cdnow_master.csv.gz', whole.subarray(0, Math.floor(whole.length / 2)));
    // DuckDB alone reads the first half of such a file and stops without a word.
    const halfRead = Number(await store.value(`SELECT count(*) FROM read_csv('${truncated}', header = true, all_varchar = true, store_rejects = true)`));
    expect(halfRead).toBeGreaterThan(1000);
    expect(halfRead).toBeLessThan(20_000);
    const good = file('good.csv.gz', gzipSync(cdnowLike(100, 43)));
    const rejectsDir = join(dir, 'rejects');
    const err = await refusal(ingest(store, { entity: 'orders', files: [good, truncated], preset: 'cdnow', rejectsDir }));
    expect(err.message).toBe(`${truncated}: the gzip file is truncated (unexpected end of file); nothing was loaded`);
    expect(await snapshot()).toEqual(before);
    expect(existsSync(rejectsDir)).toBe(false);
    const corrupt = Buffer.from(whole);
    corrupt[corrupt.length - 6] = (corrupt[corrupt.length - 6] ?? 0) ^ 0xff; // the CRC of the data
    const badCrc = file('crc.csv.gz', corrupt);
    expect((await refusal(ingest(store, { entity: 'orders', files: [badCrc], preset: 'cdnow' }))).message).toMatch(/crc\.csv\.gz: the gzip file is corrupt/);
    expect(await snapshot()).toEqual(before);
    const r = (await ingest(store, { entity: 'orders', files: [file('whole.csv.gz', whole)], preset: 'cdnow' })).files[0]!;
    expect(r).toMatchObject({ read: 20_000, rejected: 0 });
    reconciles(r);
  });

  it('cdnow preset: rows of a customer and day are numbered in file order (rejected ones too), ids independent of other lines', async () => {
    const lines = ['7,1997-01-01,1,10.00', '8,1997-01-01,2,20.00', '7,1997-01-01,1,10.00', '7,1997-01-01,1,oops', '7,1997-01-01,3,30.00', '7,1997-01-02,1,10.00'];
    const ids = async (): Promise<string[]> => (await store.all<{ id: string }>("SELECT order_id || ' ' || round(amount, 2)::DECIMAL(9, 2) AS id FROM orders ORDER BY order_id")).map((x) => x.id);
    const expected = ['7-1997-01-01-1 10.00', '7-1997-01-01-2 10.00', '7-1997-01-01-4 30.00', '7-1997-01-02-1 10.00', '8-1997-01-01-1 20.00'];
    const csv = file('numbered.csv', ['customer_id,date,quantity,amount', ...lines].join('\n'));
    // The same rows as Parquet (text columns) and NDJSON: readers that give the row ordinal themselves.
    const parquet = join(dir, 'numbered.parquet');
    await store.run(`COPY (SELECT * FROM read_csv('${csv}', all_varchar = true)) TO '${parquet}' (FORMAT parquet)`);
    const ndjson = file(
      'numbered.ndjson',
      lines.map((l) => JSON.stringify(Object.fromEntries(l.split(',').map((v, i) => [['customer_id', 'date', 'quantity', 'amount'][i], v])))).join('\n'),
    );
    for (const [first, sliceRows] of [[csv, undefined], [csv, 2], [parquet, undefined], [ndjson, 2]] as const) {
      await store.run('DELETE FROM orders');
      const r = (await ingest(store, { entity: 'orders', files: [first], preset: 'cdnow', ...(sliceRows ? { sliceRows } : {}) })).files[0]!;
      // The two equal lines of customer 7 are two purchases; the rejected line (4th) keeps number 3.
      expect(r).toMatchObject({ read: 6, loaded: 5, rejected: 1, duplicates: 0 });
      expect(await ids()).toEqual(expected);
    }
    // The same purchases in a later file with other lines around them (another customer's before, the mended line and
    // a new day after) are recognised: only the new lines load.
    const later = file('later.csv', ['customer_id,date,quantity,amount', '9,1997-01-01,1,5.00', ...lines.map((l) => l.replace('oops', '12.50')), '7,1997-01-03,1,10.00'].join('\n'));
    const r = (await ingest(store, { entity: 'orders', files: [later], preset: 'cdnow' })).files[0]!;
    expect(r).toMatchObject({ read: 8, loaded: 3, rejected: 0, duplicates: 5 });
    reconciles(r);
    expect(await ids()).toEqual([...expected.slice(0, 2), '7-1997-01-01-3 12.50', ...expected.slice(2, 4), '7-1997-01-03-1 10.00', expected[4], '9-1997-01-01-1 5.00']);
  });

  it('a field opening a quote that never closes is a reject, "unterminated quote", the other rows load', async () => {
    // No other quote in the file: DuckDB reads it without quoting, and "SC2 would become a customer id.
    const text = ['customer_id,email,country', 'c1,a@x.org,France', '"SC2,b@x.org,Spain', 'c3,c@x.org,Italy', 'c4,"d@x.org",Peru', 'c5,e@x.org, "Chile'].join('\n');
    const path = file('quote.csv', text);
    const r = (await ingest(store, { entity: 'customers', files: [path] })).files[0]!;
    expect(r).toMatchObject({ read: 5, loaded: 3, rejected: 2, duplicates: 0 });
    reconciles(r);
    expect(await store.all('SELECT file, line, reason FROM rejects ORDER BY line')).toEqual([
      { file: path, line: 3, reason: 'unterminated quote in customer_id' },
      { file: path, line: 6, reason: 'unterminated quote in country' },
    ]);
    expect(await store.value(`SELECT count(*) FROM customers WHERE contains(customer_id, '"')`)).toBe(0);
    expect(await store.value("SELECT email FROM customers WHERE customer_id = 'c4'")).toBe('"d@x.org"');
  });

  /** A quoted CSV of `rows` order lines, with `bad` in place of line `at` (past DuckDB's 20,480-row sample when at > 20,482). */
  it('in a quoted file, an unterminated quote refuses the file, naming its line: DuckDB may lose the lines after it', async () => {
    await ingest(store, { entity: 'orders', files: [file('first.csv', ORDERS)] });
    const before = await snapshot();
    for (const bad of ['X1,"SC2,2024-01-02,4', 'X2,"x"y,2024-01-02,4']) {
      const path = file('open.csv', quotedOrders(21_000, 20_900, bad));
      const err = await refusal(ingest(store, { entity: 'orders', files: [path] }));
      expect(err.message).toMatch(new RegExp(`^${path} line 20900: unterminated quote: `));
      expect(await snapshot()).toEqual(before);
    }
  });

  it('a line over maxLineBytes refuses the file at once, naming its line (a 200 MB field, scaled down)', async () => {
    await ingest(store, { entity: 'customers', files: [file('first.csv', 'customer_id,email\nc0,z@x.org\n')] });
    const before = await snapshot();
    const settings = { maxLineBytes: 1000 };
    const long = file('long.csv', ['customer_id,email,country', 'c1,a@x.org,France', `c2,${'x'.repeat(200_000)},Spain`, 'c3,c@x.org,Italy'].join('\n'));
    const err = await refusal(ingest(store, { entity: 'customers', files: [long], settings }));
    expect(err.message).toBe(`${long} line 3: line longer than 1,000 bytes; nothing was loaded`);
    expect(err.hint).toMatch(/maxLineBytes/);
    // Past the lines DuckDB samples (checked before it reads), in a gzip file, and at the very end without a line feed.
    const many = Array.from({ length: 70_000 }, (_, i) => `c${i},a${i}@x.org,France`);
    many[68_000] = `c68000,${'y'.repeat(60_000)},Spain`;
    const late = file('late.csv.gz', gzipSync(['customer_id,email,country', ...many].join('\n')));
    expect((await refusal(ingest(store, { entity: 'customers', files: [late], settings }))).message).toBe(`${late} line 68002: line longer than 1,000 bytes; nothing was loaded`);
    const last = file('last.ndjson', `{"customer_id":"c1","occurred_at":"2024-01-01","type":"web_visit"}\n{"customer_id":"${'z'.repeat(2000)}"}`);
    expect((await refusal(ingest(store, { entity: 'events', files: [last], settings }))).message).toMatch(/last\.ndjson line 2: line longer than 1,000 bytes/);
    expect(await snapshot()).toEqual(before);
    // The same files load under a larger limit.
    const r = (await ingest(store, { entity: 'customers', files: [long], settings: { maxLineBytes: 300_000 } })).files[0]!;
    expect(r).toMatchObject({ read: 3, loaded: 3 });
  });

  it('maxLineBytes is checked, and .zst files are refused (they cannot be checked)', async () => {
    const path = file('c.csv', 'customer_id\nc1\n');
    for (const maxLineBytes of [0, 1.5, 64 * 2 ** 20]) {
      const err = await ingest(store, { entity: 'customers', files: [path], settings: { maxLineBytes } }).catch((e: unknown) => e);
      expect((err as KairosError).code).toBe('USAGE');
    }
    const zst = file('c.csv.zst', Buffer.from([0x28, 0xb5, 0x2f, 0xfd]));
    expect(((await ingest(store, { entity: 'customers', files: [zst] }).catch((e: unknown) => e)) as KairosError).code).toBe('USAGE');
  });
});
