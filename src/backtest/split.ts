// The backtest's time split, shared by every score: calibration = data before the cut (asof_orders), holdout = [cut, cut + H).
import { observationEnd, purchaseSummary, summarySql, type PurchaseSummary } from '../features/summary.js';
import { KairosError } from '../errors.js';
import { createAsOfViews, defaultAsOf, parseAsOf } from '../features/as-of.js';
import { purchasesSql } from '../features/purchases.js';
import { quoteLiteral, type Store } from '../store/db.js';

const DAY_MS = 86_400_000;

/** Holdout length when neither the holdout nor the cut is given: 180 days before the end of the data. */
export const DEFAULT_HOLDOUT_DAYS = 180;

/** Name of the temporary view holding the holdout's order lines (the calibration's are in `asof_orders`). */
export const HOLDOUT_VIEW = 'holdout_orders';

/** Where the data is cut, in the store's UTC instants ('YYYY-MM-DD HH:MM:SS') and ISO days. */
export interface EvaluationSplit {
  /** First instant of the holdout: models see only order lines strictly before it. */
  readonly cut: string;
  /** First instant after the holdout (exclusive end). */
  readonly holdoutEnd: string;
  /** Holdout length in days (the models' time unit). */
  readonly holdoutDays: number;
  /** First day with an order before the cut. */
  readonly calibrationStart: string;
  /** Last observed day of the calibration (the day before the cut). */
  readonly calibrationEnd: string;
  /** First and last day of the holdout. */
  readonly holdoutStart: string;
  readonly holdoutLast: string;
  /** Midnight after the last order in the store. */
  readonly dataEnd: string;
}

/** How the user gave the split: `--calibration-end` (last calibration day) or `--as-of` (the cut), and `--holdout`. */
export interface SplitOptions {
  /** Last day of the calibration window, inclusive (YYYY-MM-DD): the cut is the midnight after it. */
  readonly calibrationEnd?: string;
  /** The cut itself: data strictly before it is calibration (as `kairos score --as-of`). */
  readonly asOf?: string;
  /** Holdout length: "180d", "39w" or a number of days. Default: the rest of the data (or 180 days if no cut is given). */
  readonly holdout?: string | number;
}

/** Parses a holdout length: "180d", "39w", "26 w" or a bare number of days. */
export function parseHoldout(text: string | number): number {
  if (typeof text === 'number') {
    if (Number.isInteger(text) && text > 0) return text;
    throw new KairosError('USAGE', `holdout ${text} must be a positive whole number of days`);
  }
  const m = /^\s*(\d+)\s*([dw]?)\s*$/i.exec(text);
  const n = m ? Number(m[1]) : Number.NaN;
  if (!m || !(n > 0)) {
    throw new KairosError('USAGE', `--holdout "${text}" is not a length (expected Nd or Nw, e.g. 180d or 39w)`);
  }
  return (m[2] ?? '').toLowerCase() === 'w' ? 7 * n : n;
}

function instant(text: string): number {
  return Date.parse(`${text.replace(' ', 'T')}Z`);
}

function formatInstant(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19).replace('T', ' ');
}

/** Epoch day (days since 1970-01-01) of an ISO date. */
export function epochDay(isoDate: string): number {
  return Math.round(Date.parse(`${isoDate.slice(0, 10)}T00:00:00Z`) / DAY_MS);
}

/** ISO date of an epoch day. */
export function isoOfEpochDay(day: number): string {
  return new Date(day * DAY_MS).toISOString().slice(0, 10);
}

/**
 * Resolves the cut and holdout against the store: `--calibration-end D` cuts at the midnight after D, `--as-of T` at T;
 * without either, the cut is the holdout length before the end of the data. Without `--holdout`, the holdout runs
 * to the end of the data. A holdout past the last order, a cut with no order before it or none after it are usage
 * errors that say what to change.
 */
export async function resolveSplit(store: Store, options: SplitOptions): Promise<EvaluationSplit> {
  if (options.calibrationEnd !== undefined && options.asOf !== undefined) {
    throw new KairosError('USAGE', 'give either --calibration-end (the last calibration day) or --as-of (the cut), not both');
  }
  const dataEnd = await defaultAsOf(store);
  const dataEndMs = instant(dataEnd);
  let cutMs: number;
  if (options.calibrationEnd !== undefined) {
    if (!/^\d{4}-\d{2}-\d{2}$/.test(options.calibrationEnd.trim())) {
      throw new KairosError('USAGE', `--calibration-end "${options.calibrationEnd}" is not an ISO date (expected YYYY-MM-DD, the last day of the calibration window)`);
    }
    cutMs = instant(parseAsOf(options.calibrationEnd)) + DAY_MS;
  } else if (options.asOf !== undefined) {
    cutMs = instant(parseAsOf(options.asOf));
  } else {
    const days = parseHoldout(options.holdout ?? DEFAULT_HOLDOUT_DAYS);
    cutMs = dataEndMs - days * DAY_MS;
  }
  const restDays = (dataEndMs - cutMs) / DAY_MS;
  if (!(restDays > 0)) {
    throw new KairosError('USAGE', `the cut ${formatInstant(cutMs)} is after the last day of data (${observationEnd(dataEnd)}): nothing is left to test on`, {
      hint: 'choose an earlier --calibration-end',
    });
  }
  const holdoutDays = options.holdout === undefined ? restDays : parseHoldout(options.holdout);
  const endMs = cutMs + holdoutDays * DAY_MS;
  if (endMs > dataEndMs) {
    throw new KairosError(
      'USAGE',
      `the ${holdoutDays}-day holdout from ${formatInstant(cutMs).slice(0, 10)} runs to ${observationEnd(formatInstant(endMs))}, past the last day of data (${observationEnd(dataEnd)})`,
      { hint: `use --holdout ${Math.floor(restDays)}d or less, or an earlier --calibration-end` },
    );
  }
  const cut = formatInstant(cutMs);
  const first = await store.value<string | null>(
    `SELECT strftime(min(ordered_at), '%Y-%m-%d') FROM orders WHERE ordered_at < $1::TIMESTAMP`,
    [cut],
  );
  if (!first) {
    throw new KairosError('INSUFFICIENT_DATA', `no order before the cut ${cut.slice(0, 10)}: nothing to fit the models on`, {
      hint: 'choose a later --calibration-end',
    });
  }
  const holdoutEnd = formatInstant(endMs);
  return {
    cut,
    holdoutEnd,
    holdoutDays,
    calibrationStart: first,
    calibrationEnd: observationEnd(cut),
    holdoutStart: cut.slice(0, 10),
    holdoutLast: observationEnd(holdoutEnd),
    dataEnd,
  };
}

/**
 * Creates the views of a split: `asof_orders` / `asof_events` / `asof_customers` (the calibration, exactly what
 * `kairos score --as-of CUT` reads) and `holdout_orders` (order lines in [cut, holdout end)). Models are fitted on
 * the as-of views only; the holdout view is read only to score the predictions.
 */
export async function createSplitViews(store: Store, split: EvaluationSplit): Promise<void> {
  await createAsOfViews(store, split.cut);
  await store.run(
    `CREATE OR REPLACE TEMP VIEW ${HOLDOUT_VIEW} AS SELECT * FROM orders
     WHERE ordered_at >= TIMESTAMP ${quoteLiteral(split.cut)} AND ordered_at < TIMESTAMP ${quoteLiteral(split.holdoutEnd)}`,
  );
}

/**
 * Runs `fn` in a transaction that is always rolled back: whatever the evaluation creates (views, temporary tables)
 * disappears and the store is left exactly as it was, also on error.
 */
export async function withRollback<T>(store: Store, fn: () => Promise<T>): Promise<T> {
  await store.run('BEGIN TRANSACTION');
  try {
    return await fn();
  } finally {
    try {
      await store.run('ROLLBACK');
    } catch {
      // DuckDB may have aborted the transaction already; the store is unchanged either way
    }
  }
}

/** What each calibration customer did in the holdout (aligned with the calibration summary's rows). */
export interface HoldoutOutcomes {
  /** Purchase days in the holdout (customer-days with a purchase as defined in features/purchases.ts, as for the summary). */
  readonly purchases: Float64Array;
  /** Purchase days in the first `earlyDays` of the holdout. */
  readonly earlyPurchases: Float64Array;
  readonly earlyDays: number;
  /** Epoch day of the first holdout purchase day; NaN when none. */
  readonly firstPurchaseDay: Float64Array;
  /** Net spend in the holdout: the sum of all its order lines (returns subtract). */
  readonly value: Float64Array;
  /** Net spend in the calibration window (from `asof_orders`), for the baselines. */
  readonly calibrationSpend: Float64Array;
}

/** The calibration population with its summary and holdout outcomes. */
export interface EvaluationData {
  readonly split: EvaluationSplit;
  /**
   * Calibration summary (x, t_x, T in days, mean repeat spend) of every customer with a purchase before the cut,
   * from `asof_orders` only. Customers first seen in the holdout are not in it.
   */
  readonly summary: PurchaseSummary;
  /** Epoch day of each customer's first purchase day (the birth of the tracking chart's cohorts). */
  readonly firstDay: Float64Array;
  readonly outcomes: HoldoutOutcomes;
}

/** Temporary table with the population, its row order and first purchase day (joins keep the summary's order). */
export const POPULATION_TABLE = '__eval_population';

/**
 * Creates a temporary table (idx, customer_id, first_day) of the customers of `summary`, in its row order, with SQL
 * only (the store may be open read-only), and checks that the rows align with the summary.
 */
export async function createPopulationTable(store: Store, table: string, ordersRelation: string, summary: PurchaseSummary): Promise<void> {
  await store.run(
    `CREATE OR REPLACE TEMP TABLE ${table} AS
     SELECT (row_number() OVER (ORDER BY customer_id) - 1)::INTEGER AS idx, customer_id, (last_day - tx)::INTEGER AS first_day
     FROM (${summarySql(ordersRelation)}) s`,
    [summary.observationEnd],
  );
  const { texts } = await store.readColumns(`SELECT customer_id FROM ${table} ORDER BY idx`);
  const ids = texts['customer_id'] ?? [];
  if (ids.length !== summary.customerIds.length || ids.some((id, i) => id !== summary.customerIds[i])) {
    throw new KairosError('INTERNAL', `evaluation: the customers of ${table} do not align with the purchase summary`);
  }
}

/**
 * Reads the calibration summary from `asof_orders` and, for the same customers, the holdout outcomes from
 * `holdout_orders`. Call after `createSplitViews`.
 */
export async function loadEvaluationData(store: Store, split: EvaluationSplit, earlyDays = 30): Promise<EvaluationData> {
  const summary = await purchaseSummary(store, split.cut, 'asof_orders');
  const n = summary.customerIds.length;
  const firstDay = new Float64Array(n);
  for (let i = 0; i < n; i++) firstDay[i] = (summary.lastDay[i] as number) - (summary.transactions.tx[i] as number);
  await createPopulationTable(store, POPULATION_TABLE, 'asof_orders', summary);
  const early = Math.min(earlyDays, split.holdoutDays);
  const earlyEnd = formatInstant(instant(split.cut) + early * DAY_MS);
  const { numbers } = await store.readColumns(
    `WITH h_days AS (
        SELECT customer_id, placed_at, placed_at::DATE AS day FROM (${purchasesSql(HOLDOUT_VIEW)})
      ), h AS (
        SELECT customer_id, count(DISTINCT day) AS n, min(day) AS first_day,
          count(DISTINCT day) FILTER (WHERE placed_at < $1::TIMESTAMP) AS n_early
        FROM h_days GROUP BY customer_id
      ), hv AS (
        SELECT customer_id, sum(amount) AS value FROM ${HOLDOUT_VIEW} GROUP BY customer_id
      ), cv AS (
        SELECT customer_id, sum(amount) AS spend FROM asof_orders GROUP BY customer_id
      )
      SELECT p.idx, coalesce(h.n, 0)::DOUBLE AS n, coalesce(h.n_early, 0)::DOUBLE AS n_early,
        date_diff('day', DATE '1970-01-01', h.first_day)::DOUBLE AS first_day,
        coalesce(hv.value, 0)::DOUBLE AS value, coalesce(cv.spend, 0)::DOUBLE AS spend
      FROM ${POPULATION_TABLE} p LEFT JOIN h USING (customer_id) LEFT JOIN hv USING (customer_id) LEFT JOIN cv USING (customer_id)
      ORDER BY p.idx`,
    [earlyEnd],
  );
  const col = (name: string): Float64Array => {
    const c = numbers[name];
    if (!c || c.length !== n) throw new KairosError('INTERNAL', `evaluation: holdout column ${name} does not align with the calibration population`);
    return c;
  };
  return {
    split,
    summary,
    firstDay,
    outcomes: {
      purchases: col('n'),
      earlyPurchases: col('n_early'),
      earlyDays: early,
      firstPurchaseDay: col('first_day'),
      value: col('value'),
      calibrationSpend: col('spend'),
    },
  };
}

/** Repeat purchase days of the population per period of `periodDays` from `startDay` (epoch day), up to the holdout end. */
export async function actualRepeatPurchasesPerPeriod(
  store: Store,
  startDay: number,
  periodDays: number,
  periods: number,
): Promise<Float64Array> {
  const rows = await store.all<{ period: number; n: number }>(
    `WITH o AS (SELECT customer_id, order_id, ordered_at, amount, quantity FROM asof_orders
                UNION ALL SELECT customer_id, order_id, ordered_at, amount, quantity FROM ${HOLDOUT_VIEW}),
       days AS (SELECT DISTINCT customer_id, date_diff('day', DATE '1970-01-01', placed_at::DATE) AS day FROM (${purchasesSql('o')}))
     SELECT floor((d.day - $1) / $2)::INTEGER AS period, count(*)::INTEGER AS n
     FROM days d JOIN ${POPULATION_TABLE} p USING (customer_id)
     WHERE d.day > p.first_day AND d.day >= $1
     GROUP BY 1 ORDER BY 1`,
    [startDay, periodDays],
  );
  const out = new Float64Array(periods);
  for (const r of rows) if (r.period >= 0 && r.period < periods) out[r.period] = r.n;
  return out;
}
