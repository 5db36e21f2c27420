// Erasure (the right to be forgotten): one customer's rows removed from every table in one transaction, with an audit row that holds no personal data.
import { KairosError } from '../errors.js';
import { quoteIdentifier, type Store } from './db.js';

/** What an erasure removed: rows per table (tables with none left out), and the audit row's id. */
export interface ErasureReport {
  readonly erasureId: number;
  readonly erasedAt: string;
  readonly rowsDeleted: Readonly<Record<string, number>>;
  readonly total: number;
}

/** The store's tables (not views) that have a `customer_id` column, found in the catalog so that a new one is never forgotten. */
export async function customerTables(store: Store): Promise<string[]> {
  const rows = await store.all<{ table_name: string }>(
    `SELECT c.table_name FROM information_schema.columns c
     JOIN information_schema.tables t USING (table_catalog, table_schema, table_name)
     WHERE c.column_name = 'customer_id' AND t.table_type = 'BASE TABLE'
       AND c.table_catalog = current_database() AND c.table_schema = current_schema()
     ORDER BY c.table_name`,
  );
  return rows.map((r) => r.table_name);
}

/** A regular expression (for DuckDB's RE2) matching `id` as a whole token of a text: not inside a longer id. */
export function tokenPattern(id: string): string {
  const escaped = id.replace(/[\\^$.*+?()[\]{}|/-]/g, (c) => `\\${c}`);
  return `(^|[^A-Za-z0-9_])${escaped}([^A-Za-z0-9_]|$)`;
}

/**
 * Removes the customer `customerId` from every table with a customer_id column (customers, orders, events, every
 * scorer's results and items, the score history) and the rejected rows whose source text or reason names it, in one
 * transaction; then records an audit row (when, by whom, rows per table; no id, no hash of it). NOT_FOUND when no
 * row mentions the customer. The store is checkpointed after, so the file no longer holds the rows' pages.
 */
export async function eraseCustomer(store: Store, customerId: string, requestedBy: string): Promise<ErasureReport> {
  if (customerId === '') throw new KairosError('USAGE', 'the customer id is empty');
  const tables = await customerTables(store);
  const report = await store.transaction(async () => {
    const rowsDeleted: Record<string, number> = {};
    for (const table of tables) {
      const n = Number(await store.value(`SELECT count(*) FROM ${quoteIdentifier(table)} WHERE customer_id = ?`, [customerId]));
      if (n === 0) continue;
      await store.run(`DELETE FROM ${quoteIdentifier(table)} WHERE customer_id = ?`, [customerId]);
      rowsDeleted[table] = n;
    }
    // Rejected rows keep the source text of the row (and the reason may quote a value): no customer_id column to match.
    const pattern = tokenPattern(customerId);
    const rejected = `regexp_matches(coalesce(raw, ''), $1) OR regexp_matches(reason, $1)`;
    const rejects = Number(await store.value(`SELECT count(*) FROM rejects WHERE ${rejected}`, [pattern]));
    if (rejects > 0) {
      await store.run(`DELETE FROM rejects WHERE ${rejected}`, [pattern]);
      rowsDeleted['rejects'] = rejects;
    }
    const total = Object.values(rowsDeleted).reduce((a, b) => a + b, 0);
    if (total === 0) {
      throw new KairosError('NOT_FOUND', `customer "${customerId}" not found: no row of the store mentions it`, {
        hint: 'ids are case-sensitive; nothing was changed',
      });
    }
    const erasureId = Number(await store.value('SELECT coalesce(max(erasure_id), 0) + 1 FROM erasures'));
    await store.run('INSERT INTO erasures VALUES (?, now()::TIMESTAMP, ?, ?::JSON)', [erasureId, requestedBy, JSON.stringify(rowsDeleted)]);
    const erasedAt = String(await store.value('SELECT erased_at FROM erasures WHERE erasure_id = ?', [erasureId]));
    return { erasureId, erasedAt, rowsDeleted, total };
  });
  await store.run('CHECKPOINT');
  return report;
}
