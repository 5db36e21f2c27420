// What a scoring run or a backtest sees: the as-of instant and the views of the data strictly before it.
import { KairosError } from '../errors.js';
import { quoteLiteral, type Store } from '../store/db.js';

/** Normalises an as-of given as a date or timestamp to 'YYYY-MM-DD HH:MM:SS' (UTC). */
export function parseAsOf(text: string): string {
  const m = /^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2}(?::\d{2})?))?Z?$/.exec(text.trim());
  const d = m ? new Date(`${m[1]}T${m[2] ?? '00:00:00'}Z`) : new Date(Number.NaN);
  if (!m || Number.isNaN(d.getTime())) {
    throw new KairosError('USAGE', `--as-of "${text}" is not an ISO date (expected YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS)`);
  }
  return d.toISOString().slice(0, 19).replace('T', ' ');
}

/** The default as-of: midnight after the last order (so historical data sets score as of their end). */
export async function defaultAsOf(store: Store): Promise<string> {
  const last = await store.value<string | null>(
    `SELECT strftime(date_trunc('day', max(ordered_at)) + INTERVAL 1 DAY, '%Y-%m-%d %H:%M:%S') FROM orders`,
  );
  if (!last) throw new KairosError('INSUFFICIENT_DATA', 'no orders in the store: nothing to score', { hint: 'run `kairos ingest orders FILE` or `kairos demo` first' });
  return last;
}

/**
 * Creates the views scorers read: only rows before `asOf`. Scorers never read the base tables, so no score can
 * see the future of its as-of date (tested in the scorer contract suite, src/scores/contract.test.ts).
 */
export async function createAsOfViews(store: Store, asOf: string): Promise<void> {
  const t = `TIMESTAMP ${quoteLiteral(asOf)}`;
  await store.run(`CREATE OR REPLACE TEMP VIEW asof_orders AS SELECT * FROM orders WHERE ordered_at < ${t}`);
  await store.run(`CREATE OR REPLACE TEMP VIEW asof_events AS SELECT * FROM events WHERE occurred_at < ${t}`);
  await store.run(`CREATE OR REPLACE TEMP VIEW asof_customers AS SELECT * FROM customers WHERE created_at IS NULL OR created_at < ${t}`);
}
