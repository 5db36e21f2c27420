// Per-customer purchase summary (x, t_x, T, mean repeat spend) from the as-of orders: the input of the CLV models.
import type { SpendData, TransactionSummary } from '../models/index.js';
import { purchaseDaysSql } from './purchases.js';
import { KairosError } from '../errors.js';
import { quoteIdentifier, type ListColumn, type Store } from '../store/db.js';

/**
 * The summary the "buy till you die" models take, in days, one row per customer with a purchase:
 * purchases (features/purchases.ts) are aggregated per customer-day; x = purchase days - 1 (repeat purchases); t_x = days from the first to the last purchase day;
 * T = days from the first purchase day to the last observed day (the day before `asOf`, or asOf's own day when it
 * has a time of day); m = mean net amount of the repeat purchase days (0 when x = 0), as in Fader, Hardie & Lee 2005.
 */
export interface PurchaseSummary {
  readonly customerIds: readonly string[];
  readonly transactions: TransactionSummary;
  readonly spend: SpendData;
  /** Day of the last purchase, in days since 1970-01-01. */
  readonly lastDay: Float64Array;
  /** Last observed day, ISO date. */
  readonly observationEnd: string;
}

/**
 * SQL of the summary over an orders relation (a table or view with customer_id, order_id, ordered_at, quantity,
 * amount). Parameter $1: the last observed day. Sorted by customer_id unless `ordered` is false.
 */
export function summarySql(ordersRelation: string, options: { ordered?: boolean } = {}): string {
  return `WITH days AS (${purchaseDaysSql(ordersRelation)}), per AS (
      SELECT customer_id, count(*) - 1 AS x, min(day) AS first_day, max(day) AS last_day,
        CASE WHEN count(*) > 1 THEN (sum(amount) - arg_min(amount, day)) / (count(*) - 1) ELSE 0 END AS m
      FROM days GROUP BY customer_id
    )
    SELECT customer_id, x::DOUBLE AS x, date_diff('day', first_day, last_day)::DOUBLE AS tx,
      date_diff('day', first_day, $1::DATE)::DOUBLE AS "T", m::DOUBLE AS m,
      date_diff('day', DATE '1970-01-01', last_day)::DOUBLE AS last_day
    FROM per${options.ordered === false ? '' : ' ORDER BY customer_id'}`;
}

/** The last observed day of an as-of instant ('YYYY-MM-DD HH:MM:SS'): midnight belongs to the day before. */
export function observationEnd(asOf: string): string {
  const t = new Date(`${asOf.replace(' ', 'T')}Z`).getTime() - 1;
  return new Date(t).toISOString().slice(0, 10);
}

/** Reads the summary of `asof_orders` (or another orders relation) for every customer with a purchase. */
export async function purchaseSummary(store: Store, asOf: string, ordersRelation = 'asof_orders'): Promise<PurchaseSummary> {
  const end = observationEnd(asOf);
  const { numbers, texts } = await store.readColumns(summarySql(ordersRelation), [end]);
  const empty = new Float64Array(0);
  const x = numbers['x'] ?? empty;
  return {
    customerIds: texts['customer_id'] ?? [],
    transactions: { x, tx: numbers['tx'] ?? empty, T: numbers['T'] ?? empty },
    spend: { x, m: numbers['m'] ?? empty },
    lastDay: numbers['last_day'] ?? empty,
    observationEnd: end,
  };
}

/** The summary's numbers, without the customer ids: those stay in the summary table, row for row. */
export interface SummaryTable {
  /** Temp table with one row per customer (customer_id first); its scan order is the order of the arrays below. */
  readonly table: string;
  readonly rows: number;
  readonly transactions: TransactionSummary;
  readonly spend: SpendData;
  /** Day of the last purchase, in days since 1970-01-01. */
  readonly lastDay: Float64Array;
  /** Last observed day, ISO date. */
  readonly observationEnd: string;
}

/**
 * The summary for scoring at scale. The customer ids never enter JS: results computed from the arrays are joined
 * back to the table by position (POSITIONAL JOIN, which follows the table's scan order). Two ways, same numbers:
 *
 * - Purchase logs without returns or cancellations (no line with a quantity <= 0, a negative or a missing amount, or
 *   no customer): one pass over the lines groups them per customer with the lists of their days and amounts, which
 *   DaySummaries reduces to purchase days in JS. DuckDB's GROUP BY customer, day would hash every customer-day:
 *   at 4M lines (1M customers) that took 1.9 s with a 450-550 MB peak, the lists about 1.2 s and 380-410 MB
 *   (docs/benchmarks.md). DuckDB cannot spill list aggregates: with `partitions` > 1 each pass takes a share of the
 *   customers (by hash of the id), for less memory and one more read of the orders per pass.
 * - Otherwise, the summary SQL with the refused-order filter (summarySql).
 */
export async function writePurchaseSummary(
  store: Store,
  asOf: string,
  table: string,
  ordersRelation = 'asof_orders',
  options: { partitions?: number; onRetry?: (message: string) => void } = {},
): Promise<SummaryTable> {
  // Under a DuckDB memory limit the list aggregate may not fit in one pass: the summary is then made again in four
  // times as many passes (up to 64), each holding a quarter of the customers of the last try, and the run says so.
  let partitions = Math.max(1, Math.trunc(options.partitions ?? 1));
  for (;;) {
    try {
      return await summaryInPasses(store, asOf, table, ordersRelation, partitions);
    } catch (err) {
      if (!(err instanceof KairosError && err.code === 'STORE' && err.message.startsWith(NOT_ENOUGH_MEMORY)) || partitions >= 64) throw err;
      const next = Math.min(64, partitions * 4);
      options.onRetry?.(`purchase summary: not enough memory in ${partitions} pass(es), again in ${next}`);
      partitions = next;
    }
  }
}

const NOT_ENOUGH_MEMORY = 'not enough memory for the purchase summary';

async function summaryInPasses(store: Store, asOf: string, table: string, ordersRelation: string, partitions: number): Promise<SummaryTable> {
  const end = observationEnd(asOf);
  const endDay = Date.parse(`${end}T00:00:00Z`) / DAY_MS;
  const t = quoteIdentifier(table);
  const lists = quoteIdentifier(`${table}_lists`);
  // Row k of the arrays is row k of the ids table: each partition's lists are read in scan order and their ids
  // appended in that same order.
  if ((await store.value<boolean>("SELECT current_setting('preserve_insertion_order')")) !== true) {
    throw new KairosError('INTERNAL', 'preserve_insertion_order is off: the summary could not be joined back by position');
  }
  let summaries: DaySummaries | null = null;
  for (let p = 0; p < partitions; p++) {
    const where = partitions === 1 ? '' : `WHERE coalesce(hash(customer_id) % ${partitions}, 0) = ${p}`;
    try {
      await store.run(
        `CREATE OR REPLACE TEMP TABLE ${lists} AS SELECT customer_id,
           list((ordered_at::DATE - DATE '1970-01-01')::INTEGER) AS days, list(amount::DOUBLE) AS amounts,
           bool_or(quantity <= 0 OR amount < 0 OR quantity IS NULL OR amount IS NULL OR customer_id IS NULL) AS suspect
         FROM ${ordersRelation} ${where} GROUP BY customer_id`,
      );
    } catch (err) {
      // DuckDB cannot spill list aggregates to disk: too many order lines for the memory fails here, and fewer
      // customers per pass is the remedy.
      if (err instanceof KairosError && /out of memory/i.test(err.message)) {
        await store.run(`DROP TABLE IF EXISTS ${lists}`);
        throw new KairosError('STORE', `${NOT_ENOUGH_MEMORY} in ${partitions} pass(es): ${err.message}`, {
          cause: err,
          hint: `set scores.summaryPartitions in kairos.config.json to ${Math.min(64, partitions * 4)} (each pass then holds a share of the customers)`,
        });
      }
      throw err;
    }
    const check = await store.one<{ rows: number; suspect: boolean | null }>(`SELECT count(*) AS rows, bool_or(suspect) AS suspect FROM ${lists}`);
    if (check?.suspect) {
      await store.run(`DROP TABLE ${lists}`);
      return sqlSummary(store, end, table, ordersRelation);
    }
    const rows = Number(check?.rows ?? 0);
    // The ids first: this gives DuckDB's allocator time to return the aggregation's memory before the lists are read.
    await store.run(p === 0 ? `CREATE OR REPLACE TEMP TABLE ${t} AS SELECT customer_id FROM ${lists}` : `INSERT INTO ${t} SELECT customer_id FROM ${lists}`);
    // The first partition sizes the arrays for all (partitions are even in expectation; they grow if need be).
    summaries ??= new DaySummaries(Math.ceil(rows * partitions * (partitions === 1 ? 1 : 1.02)), endDay);
    const into = summaries;
    await store.forEachChunk(`SELECT days, amounts FROM ${lists}`, [], (chunk, count) =>
      into.add(chunk.intLists('days'), chunk.doubleLists('amounts'), count),
    );
    await store.run(`DROP TABLE ${lists}`);
  }
  const s = (summaries as DaySummaries).finish();
  const rows = s.x.length;
  return { table, rows, transactions: { x: s.x, tx: s.tx, T: s.T }, spend: { x: s.x, m: s.m }, lastDay: s.lastDay, observationEnd: end };
}

/** The summary by summarySql (with the refused-order filter), its numbers also in the table. */
async function sqlSummary(store: Store, end: string, table: string, ordersRelation: string): Promise<SummaryTable> {
  const t = quoteIdentifier(table);
  await store.run(`CREATE OR REPLACE TEMP TABLE ${t} AS ${summarySql(ordersRelation, { ordered: false })}`, [end]);
  const rows = Number(await store.value(`SELECT count(*) FROM ${t}`));
  const c = await store.readNumberColumns(`SELECT x, tx, "T", m, last_day FROM ${t}`, [], rows);
  const x = c['x'] as Float64Array;
  return {
    table,
    rows,
    transactions: { x, tx: c['tx'] as Float64Array, T: c['T'] as Float64Array },
    spend: { x, m: c['m'] as Float64Array },
    lastDay: c['last_day'] as Float64Array,
    observationEnd: end,
  };
}

const DAY_MS = 86_400_000;

/**
 * Per-customer purchase-day summaries from each customer's order lines (their days and amounts, in any order): the
 * numbers summarySql gives on lines without refused orders (x = purchase days - 1, tx, T, m = mean net amount of
 * the repeat days, last day), up to the order of floating-point sums. Customers come in row order, chunk by chunk.
 */
export class DaySummaries {
  x: Float64Array;
  tx: Float64Array;
  T: Float64Array;
  m: Float64Array;
  lastDay: Float64Array;
  private row = 0;
  private scratch = new Int32Array(64);

  /** Room for `capacity` customers (it grows if more come); `endDay` the last observed day, in days since 1970-01-01. */
  constructor(
    capacity: number,
    private readonly endDay: number,
  ) {
    this.x = new Float64Array(capacity);
    this.tx = new Float64Array(capacity);
    this.T = new Float64Array(capacity);
    this.m = new Float64Array(capacity);
    this.lastDay = new Float64Array(capacity);
  }

  private reserve(rows: number): void {
    if (rows <= this.x.length) return;
    const capacity = Math.max(rows, Math.ceil(this.x.length * 1.25));
    const grow = (a: Float64Array): Float64Array => {
      const b = new Float64Array(capacity);
      b.set(a.subarray(0, this.row));
      return b;
    };
    this.x = grow(this.x);
    this.tx = grow(this.tx);
    this.T = grow(this.T);
    this.m = grow(this.m);
    this.lastDay = grow(this.lastDay);
  }

  /** The next `count` customers: customer i's lines are days/amounts items [offsets[i], offsets[i] + lengths[i]). */
  add(days: ListColumn<Int32Array>, amounts: ListColumn<Float64Array>, count: number): void {
    this.reserve(this.row + count);
    const dv = days.values;
    const av = amounts.values;
    for (let i = 0; i < count; i++) {
      const n = days.lengths[i] as number;
      const d0 = days.offsets[i] as number;
      const a0 = amounts.offsets[i] as number;
      if (n === 0 || amounts.lengths[i] !== n) throw new KairosError('INTERNAL', `customer ${this.row + i}: ${n} days and ${amounts.lengths[i]} amounts`);
      // One pass: first and last day, total, and the amount of the first day (restarted whenever an earlier day shows).
      let first = dv[d0] as number;
      let last = first;
      let total = av[a0] as number;
      let firstAmount = total;
      for (let j = 1; j < n; j++) {
        const d = dv[d0 + j] as number;
        const a = av[a0 + j] as number;
        total += a;
        if (d < first) {
          first = d;
          firstAmount = a;
        } else if (d === first) {
          firstAmount += a;
        }
        if (d > last) last = d;
      }
      const distinct = n === 1 ? 1 : n === 2 ? (dv[d0] === dv[d0 + 1] ? 1 : 2) : this.distinctDays(dv, d0, n);
      const k = this.row + i;
      this.x[k] = distinct - 1;
      this.tx[k] = last - first;
      this.T[k] = this.endDay - first;
      this.m[k] = distinct > 1 ? (total - firstAmount) / (distinct - 1) : 0;
      this.lastDay[k] = last;
    }
    this.row += count;
  }

  /** The summaries of the customers added, in order (views of the arrays, trimmed to them). */
  finish(): { x: Float64Array; tx: Float64Array; T: Float64Array; m: Float64Array; lastDay: Float64Array } {
    const n = this.row;
    const trim = (a: Float64Array): Float64Array => (a.length === n ? a : a.subarray(0, n));
    return { x: trim(this.x), tx: trim(this.tx), T: trim(this.T), m: trim(this.m), lastDay: trim(this.lastDay) };
  }

  /** Number of distinct values among values[from, from + n): sorted in a scratch array (insertion sort when short). */
  private distinctDays(values: Int32Array, from: number, n: number): number {
    if (this.scratch.length < n) this.scratch = new Int32Array(2 * n);
    const a = this.scratch;
    if (n <= 32) {
      for (let i = 0; i < n; i++) {
        const v = values[from + i] as number;
        let j = i - 1;
        while (j >= 0 && (a[j] as number) > v) {
          a[j + 1] = a[j] as number;
          j--;
        }
        a[j + 1] = v;
      }
    } else {
      a.set(values.subarray(from, from + n));
      a.subarray(0, n).sort();
    }
    let distinct = 1;
    for (let j = 1; j < n; j++) if (a[j] !== a[j - 1]) distinct++;
    return distinct;
  }
}
