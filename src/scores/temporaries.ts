// What a scorer's run leaves behind: its temp tables, views and exposed JS columns, dropped once its results are copied.
import { quoteIdentifier, type Store } from '../store/db.js';

/** Drops a scorer's temp table or view, or releases its exposed columns (whichever it is). */
export async function dropTemporary(store: Store, name: string): Promise<void> {
  if (store.exposesColumns(name)) return store.releaseColumns(name);
  const isView = Number(await store.value('SELECT count(*) FROM duckdb_views() WHERE temporary AND view_name = ?', [name])) > 0;
  await store.run(`DROP ${isView ? 'VIEW' : 'TABLE'} IF EXISTS ${quoteIdentifier(name)}`);
}
