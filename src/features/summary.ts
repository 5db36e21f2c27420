// Per-customer purchase summary (x, t_x, T, mean repeat spend) from the as-of orders, in SQL: the input of the CLV models.
import type { RfmData, SpendData } from '../models/index.js';
import { purchaseDaysSql } from './purchases.js';
import type { Store } from '../store/db.js';

/**
 * The summary the "buy till you die" models take, in days, one row per customer with a purchase:
 * purchases (features/purchases.ts) are aggregated per customer-day; x = purchase days - 1 (repeat purchases); t_x = days from the first to the last purchase day;
 * T = days from the first purchase day to the last observed day (the day before `asOf`, or asOf's own day when it
 * has a time of day); m = mean net amount of the repeat purchase days (0 when x = 0), as in Fader, Hardie & Lee 2005.
 */
export interface PurchaseSummary {
  readonly customerIds: readonly string[];
  readonly rfm: RfmData;
  readonly spend: SpendData;
  /** Day of the last purchase, in days since 1970-01-01. */
  readonly lastDay: Float64Array;
  /** Last observed day, ISO date. */
  readonly observationEnd: string;
}

/** SQL of the summary over an orders relation (a table or view with customer_id, order_id, ordered_at, amount). */
export function summarySql(ordersRelation: string): string {
  return `WITH days AS (${purchaseDaysSql(ordersRelation)}), per AS (
      SELECT customer_id, count(*) - 1 AS x, min(day) AS first_day, max(day) AS last_day,
        CASE WHEN count(*) > 1 THEN (sum(amount) - arg_min(amount, day)) / (count(*) - 1) ELSE 0 END AS m
      FROM days GROUP BY customer_id
    )
    SELECT customer_id, x::DOUBLE AS x, date_diff('day', first_day, last_day)::DOUBLE AS tx,
      date_diff('day', first_day, $1::DATE)::DOUBLE AS "T", m::DOUBLE AS m,
      date_diff('day', DATE '1970-01-01', last_day)::DOUBLE AS last_day
    FROM per ORDER BY customer_id`;
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
    rfm: { x, tx: numbers['tx'] ?? empty, T: numbers['T'] ?? empty },
    spend: { x, m: numbers['m'] ?? empty },
    lastDay: numbers['last_day'] ?? empty,
    observationEnd: end,
  };
}
