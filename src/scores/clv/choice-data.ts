// The model choice's data in one pass over the sample's order lines: calibration summary before the cut, purchase days after it.
import { observationEnd } from '../../features/summary.js';
import { refusedOrdersSql } from '../../features/purchases.js';
import { KairosError } from '../../errors.js';
import { quoteLiteral, type ListColumn, type Store } from '../../store/db.js';
import type { TransactionSummary } from '../../models/index.js';

/** What the candidates are fitted on and compared with, one row per customer with a purchase before the cut. */
export interface HoldoutData {
  /** x, t_x, T (days) of the purchase days before the cut, as purchaseSummary gives them for the orders before it. */
  readonly transactions: TransactionSummary;
  /** Purchase days on or after the cut's day, before the as-of date. */
  readonly holdout: Float64Array;
  /** The calibration's last observed day (observationEnd of the cut), ISO date. */
  readonly observationEnd: string;
}

/** Above this many customers the lines are not gathered into lists (which DuckDB cannot spill) but grouped in SQL. */
export const LIST_CUSTOMERS_LIMIT = 1_000_000;

const DAY_MS = 86_400_000;

/**
 * The calibration summary and the holdout counts of the customers of `ordersRelation` (the sample's lines before the
 * as-of date), split at `cut`, with the numbers of purchaseSummary(cut) on the lines before the cut and of the
 * purchase days (features/purchases.ts) on or after the cut's day. Each side's refused orders are judged on its own
 * lines (the calibration sees nothing after the cut). Rows come in customer id order: the same arrays at every run
 * on the same data.
 *
 * Purchase logs without returns or cancellations (no line with a quantity <= 0, a negative or a missing amount) and
 * at most `LIST_CUSTOMERS_LIMIT` customers (`customers`, the caller's estimate) take one pass that gathers each
 * customer's lines into a list, reduced in JS; other data takes the SQL grouping by customer and day.
 */
export async function holdoutData(store: Store, ordersRelation: string, cut: string, customers: number): Promise<HoldoutData> {
  const end = observationEnd(cut);
  const cutDay = Date.parse(`${cut.slice(0, 10)}T00:00:00Z`) / DAY_MS;
  const endDay = Date.parse(`${end}T00:00:00Z`) / DAY_MS;
  const rows = customers <= LIST_CUSTOMERS_LIMIT ? await fromLists(store, ordersRelation, cut, cutDay, endDay, customers) : null;
  const c = rows ?? (await fromSql(store, ordersRelation, cut, end));
  return { transactions: { x: c.x, tx: c.tx, T: c.T }, holdout: c.holdout, observationEnd: end };
}

interface Columns {
  readonly x: Float64Array;
  readonly tx: Float64Array;
  readonly T: Float64Array;
  readonly holdout: Float64Array;
}

/**
 * One pass: per customer, the list of its lines, each encoded as 4·day + 2·(1 when the line could belong to a refused
 * order: a quantity <= 0, a negative or missing amount) + (0 before the cut, 1 at or after it). Null when some line
 * could belong to a refused order (then fromSql).
 */
async function fromLists(store: Store, ordersRelation: string, cut: string, cutDay: number, endDay: number, customers: number): Promise<Columns | null> {
  const rows = new HoldoutRows(endDay, cutDay, customers);
  await store.forEachChunk(
    `SELECT list(4 * (ordered_at::DATE - DATE '1970-01-01')::INTEGER
         + 2 * (quantity <= 0 OR amount < 0 OR quantity IS NULL OR amount IS NULL OR customer_id IS NULL)::INTEGER
         + (ordered_at >= TIMESTAMP ${quoteLiteral(cut)})::INTEGER) AS lines
     FROM ${ordersRelation} GROUP BY customer_id ORDER BY customer_id`,
    [],
    (chunk, count) => rows.add(chunk.intLists('lines'), count),
  );
  return rows.suspect ? null : rows.finish();
}

/**
 * Per-customer reduction of the encoded lines (see fromLists): distinct days with a line before the cut give x, t_x and
 * T; distinct days on or after the cut's day (any line, whichever side of the cut's instant) the holdout count.
 * Customers with no line before the cut are left out. Stops reducing at the first suspect line (`suspect`).
 */
class HoldoutRows {
  suspect = false;
  private x: Float64Array;
  private tx: Float64Array;
  private T: Float64Array;
  private holdout: Float64Array;
  private rows = 0;
  private scratch = new Int32Array(64);

  /** `capacity`: the customers expected (the arrays grow if more come). */
  constructor(
    private readonly endDay: number,
    private readonly cutDay: number,
    capacity: number,
  ) {
    const n = Math.max(1024, Math.ceil(capacity * 1.05));
    this.x = new Float64Array(n);
    this.tx = new Float64Array(n);
    this.T = new Float64Array(n);
    this.holdout = new Float64Array(n);
  }

  add(lines: ListColumn<Int32Array>, count: number): void {
    if (this.suspect) return;
    this.reserve(this.rows + count);
    const v = lines.values;
    const { x, tx, T, holdout, endDay, cutDay } = this;
    let k = this.rows;
    for (let i = 0; i < count; i++) {
      const n = lines.lengths[i] as number;
      const from = lines.offsets[i] as number;
      if (this.scratch.length < n) this.scratch = new Int32Array(2 * n);
      const a = this.scratch;
      // Sorted (insertion sort: most customers have a few lines), the lines of a day are adjacent, those before the
      // cut first.
      for (let j = 0; j < n; j++) {
        const code = v[from + j] as number;
        if ((code & 2) !== 0) {
          this.suspect = true;
          return;
        }
        let m = j - 1;
        while (m >= 0 && (a[m] as number) > code) {
          a[m + 1] = a[m] as number;
          m--;
        }
        a[m + 1] = code;
      }
      let first = 0;
      let last = 0;
      let calDays = 0;
      let laterDays = 0;
      let prevCal = Number.NaN;
      let prevLater = Number.NaN;
      for (let j = 0; j < n; j++) {
        const code = a[j] as number;
        const day = code >> 2;
        if ((code & 1) === 0 && day !== prevCal) {
          if (calDays === 0) first = day;
          last = day;
          calDays++;
          prevCal = day;
        }
        if (day >= cutDay && day !== prevLater) {
          laterDays++;
          prevLater = day;
        }
      }
      if (calDays === 0) continue;
      x[k] = calDays - 1;
      tx[k] = last - first;
      T[k] = endDay - first;
      holdout[k] = laterDays;
      k++;
    }
    this.rows = k;
  }

  private reserve(rows: number): void {
    if (rows <= this.x.length) return;
    const capacity = Math.max(rows, 2 * this.x.length);
    const grow = (a: Float64Array): Float64Array => {
      const b = new Float64Array(capacity);
      b.set(a.subarray(0, this.rows));
      return b;
    };
    this.x = grow(this.x);
    this.tx = grow(this.tx);
    this.T = grow(this.T);
    this.holdout = grow(this.holdout);
  }

  finish(): Columns {
    const n = this.rows;
    return { x: this.x.slice(0, n), tx: this.tx.slice(0, n), T: this.T.slice(0, n), holdout: this.holdout.slice(0, n) };
  }
}

/**
 * The same numbers in SQL, for any data: each line is a calibration purchase line when it is before the cut and its
 * order is not refused on the lines before the cut, a holdout purchase line when its order is not refused on all the
 * lines; then per customer and day, and per customer.
 */
async function fromSql(store: Store, ordersRelation: string, cut: string, end: string): Promise<Columns> {
  const c = `TIMESTAMP ${quoteLiteral(cut)}`;
  const before = `(SELECT * FROM ${ordersRelation} WHERE ordered_at < ${c})`;
  const columns = await store.readNumberColumns(
    `WITH cal_refused AS (${refusedOrdersSql(before)}), refused AS (${refusedOrdersSql(ordersRelation)}),
       days AS (
         SELECT o.customer_id, o.ordered_at::DATE AS day, bool_or(o.ordered_at < ${c} AND cr.order_id IS NULL) AS cal,
           bool_or(r.order_id IS NULL) AS bought
         FROM ${ordersRelation} o
           LEFT JOIN cal_refused cr ON o.customer_id = cr.customer_id AND o.order_id = cr.order_id
           LEFT JOIN refused r ON o.customer_id = r.customer_id AND o.order_id = r.order_id
         GROUP BY o.customer_id, o.ordered_at::DATE
       )
     SELECT (count(*) FILTER (cal) - 1)::DOUBLE AS x, date_diff('day', min(day) FILTER (cal), max(day) FILTER (cal))::DOUBLE AS tx,
       date_diff('day', min(day) FILTER (cal), $1::DATE)::DOUBLE AS "T",
       count(*) FILTER (bought AND day >= ${c}::DATE)::DOUBLE AS holdout
     FROM days GROUP BY customer_id HAVING bool_or(cal) ORDER BY customer_id`,
    [end],
  );
  const x = columns['x'];
  const tx = columns['tx'];
  const T = columns['T'];
  const holdout = columns['holdout'];
  if (!x || !tx || !T || !holdout) throw new KairosError('INTERNAL', 'model choice: the holdout query returned no columns');
  return { x, tx, T, holdout };
}
