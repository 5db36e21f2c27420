// Checks the benchmark's order ids: one order per customer-day gives the same purchase summary as one order per CSV line.
import { resolve } from 'node:path';
import { observationEnd, summarySql } from '../../src/features/summary.js';
import { Store, quoteLiteral } from '../../src/store/db.js';

/** Number of summary rows that differ between the two definitions of an order (0 expected), and the row count. */
export async function compareOrderIds(csv: string, observationEnd: string): Promise<{ rows: number; differing: number }> {
  const store = await Store.open(':memory:');
  try {
    const source = `read_csv(${quoteLiteral(csv)}, header = true, columns = {'customer_id': 'VARCHAR', 'date': 'DATE', 'amount': 'DOUBLE'})`;
    await store.run(
      `CREATE TEMP TABLE per_line AS SELECT customer_id, row_number() OVER () AS order_id, date::TIMESTAMP AS ordered_at, 1 AS quantity, amount FROM ${source}`,
    );
    await store.run(`CREATE TEMP VIEW per_day AS SELECT customer_id, date AS order_id, date::TIMESTAMP AS ordered_at, 1 AS quantity, amount FROM ${source}`);
    // Amounts are compared to 1e-9: the two groupings add the same numbers in a different order.
    const rounded = (rel: string): string =>
      `SELECT customer_id, x, tx, "T", round(m, 9) AS m, last_day FROM (${summarySql(rel)})`;
    const differing = await store.value<number>(
      `SELECT count(*) FROM ((${rounded('per_line')} EXCEPT ${rounded('per_day')}) UNION ALL (${rounded('per_day')} EXCEPT ${rounded('per_line')}))`,
      [observationEnd],
    );
    const rows = await store.value<number>(`SELECT count(*) FROM (${summarySql('per_day')})`, [observationEnd]);
    return { rows: Number(rows), differing: Number(differing) };
  } finally {
    store.close();
  }
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === resolve(import.meta.dirname, 'check-orders.ts')) {
  const [csv, asOf] = process.argv.slice(2) as [string, string];
  const { rows, differing } = await compareOrderIds(csv, observationEnd(asOf));
  console.log(`order ids check on ${csv}: ${rows} summary rows, ${differing} differ between one order per line and one per customer-day`);
  if (differing !== 0) process.exitCode = 1;
}
