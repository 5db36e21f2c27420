// What a custom score claims to predict, in words and as 0/1 labels of a window after a cut.
import type { CustomObjective } from '../../config.js';
import { purchasesSql } from '../../features/purchases.js';
import { quoteIdentifier, type SqlValue, type Store } from '../../store/db.js';

/** The objective in words: "a purchase within 90 days", "2 or more review events within 180 days". */
export function objectiveText(o: CustomObjective, days = o.withinDays): string {
  switch (o.event) {
    case 'purchase':
      return `a purchase within ${days} days`;
    case 'churn':
      return `no purchase within ${days} days (churn)`;
    case 'spend':
      return `net spend above ${String(o.threshold ?? 0)} within ${days} days`;
    default:
      return `${o.threshold ?? 1} or more ${o.event} event(s) within ${days} days`;
  }
}

/**
 * Creates `table` (customer_id, y DOUBLE 0/1) for the customers of `population` (a relation with customer_id): whether
 * each reached the objective in [cut, cut + days). Purchases are orders as src/features/purchases.ts defines them, spend
 * the net of every order line (returns subtract), events those of the objective's type.
 */
export async function createObjectiveLabels(store: Store, o: CustomObjective, cut: string, days: number, population: string, table: string): Promise<void> {
  const within = (column: string): string => `${column} >= $1::TIMESTAMP AND ${column} < $1::TIMESTAMP + to_days($2::INTEGER)`;
  const params: SqlValue[] = [cut, Math.round(days)];
  let outcome: string;
  if (o.event === 'purchase' || o.event === 'churn') {
    outcome = `SELECT DISTINCT customer_id, 1 AS hit FROM (${purchasesSql(`(SELECT * FROM orders WHERE ${within('ordered_at')})`)})`;
  } else if (o.event === 'spend') {
    outcome = `SELECT customer_id, 1 AS hit FROM orders WHERE ${within('ordered_at')} GROUP BY customer_id HAVING sum(amount) > $3::DOUBLE`;
    params.push(o.threshold ?? 0);
  } else {
    outcome = `SELECT customer_id, 1 AS hit FROM events WHERE type = $3 AND ${within('occurred_at')} GROUP BY customer_id HAVING count(*) >= $4::INTEGER`;
    params.push(o.event, o.threshold ?? 1);
  }
  const y = o.event === 'churn' ? 'CASE WHEN h.hit IS NULL THEN 1 ELSE 0 END' : 'CASE WHEN h.hit IS NULL THEN 0 ELSE 1 END';
  await store.run(
    `CREATE OR REPLACE TEMP TABLE ${quoteIdentifier(table)} AS
     SELECT p.customer_id, (${y})::DOUBLE AS y FROM ${population} p LEFT JOIN (${outcome}) h ON h.customer_id = p.customer_id`,
    params,
  );
}
