// A run's results before they are published: a scratch DuckDB file beside the store, attached as `staging`, with the store's result tables' shape.
import { readdirSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { quoteIdentifier, quoteLiteral, type Store } from '../store/db.js';
import { itemsTable, resultsTable } from './results.js';
import type { Scorer } from './types.js';

/**
 * The catalog a run's results are written to while it computes: `kairos score` holds only a read lock on the store
 * then, so that readers keep reading the published scores (src/store/db.ts, "Readers and writers"), and appends them
 * to the store's tables when it has the write lock back (`publishStaged`).
 *
 * Why a file and not temp tables: measured with DuckDB 1.5.5 on 1,000,000 rows of 20 score columns, staging in temp
 * tables (memory) raised the process's peak resident memory to ~415 MB, a scratch file to ~300 MB, against ~275 MB
 * for today's direct insert into the store; the time to stage (1-4 s) and to copy into the store (1-2.5 s) were of the
 * same order for both on a busy 2-core machine. The file is deleted once the run is published or has failed; one left
 * by a killed run is deleted by the next run (`removeStaleStaging`).
 */
export const STAGING = 'staging';

/** The scratch file of a run (':memory:' for a store in memory). */
export function stagingFile(store: Store, runId: number): string {
  return store.path === ':memory:' ? ':memory:' : `${store.path}.staging-${runId}`;
}

/**
 * Attaches a run's staging database and creates in it, empty and of the store's shapes, the tables the run appends
 * to: each scorer's results and item outputs, and scorer_results.
 */
export async function openStaging(store: Store, runId: number, scorers: readonly Scorer[]): Promise<void> {
  const file = stagingFile(store, runId);
  removeFiles(file);
  await store.run(`ATTACH ${quoteLiteral(file)} AS ${STAGING}`);
  const tables = ['scorer_results', ...scorers.flatMap((s) => [resultsTable(s.name), ...(s.items ?? []).map((o) => itemsTable(o.name))])];
  for (const t of tables) await store.run(`CREATE TABLE ${STAGING}.${quoteIdentifier(t)} AS SELECT * FROM ${quoteIdentifier(t)} LIMIT 0`);
}

/** Appends every staged table's rows to the store's table of the same name (inside the caller's transaction). */
export async function publishStaged(store: Store): Promise<void> {
  const tables = await store.all<{ table_name: string }>(`SELECT table_name FROM duckdb_tables() WHERE database_name = ? ORDER BY table_name`, [STAGING]);
  // By name: the staged tables were made from the store's, but a column order is not worth trusting across two locks.
  for (const { table_name: t } of tables) await store.run(`INSERT INTO ${quoteIdentifier(t)} BY NAME SELECT * FROM ${STAGING}.${quoteIdentifier(t)}`);
}

/** Detaches a run's staging database (when attached) and deletes its file. */
export async function closeStaging(store: Store, runId: number): Promise<void> {
  const attached = Number(await store.value('SELECT count(*) FROM duckdb_databases() WHERE database_name = ?', [STAGING])) > 0;
  if (attached) {
    // Without the checkpoint DuckDB makes when a database is detached: the file is deleted next (0.2 s at 100k).
    await store.run('PRAGMA disable_checkpoint_on_shutdown');
    try {
      await store.run(`DETACH ${STAGING}`);
    } finally {
      await store.run('PRAGMA enable_checkpoint_on_shutdown');
    }
  }
  removeFiles(stagingFile(store, runId));
}

/** Deletes the staging files beside the store of runs other than `live` (those left by killed runs). */
export function removeStaleStaging(store: Store, live: readonly number[]): void {
  if (store.path === ':memory:') return;
  const prefix = `${basename(store.path)}.staging-`;
  for (const name of readdirSync(dirname(store.path))) {
    const id = name.startsWith(prefix) ? /^(\d+)(\.wal)?$/.exec(name.slice(prefix.length))?.[1] : undefined;
    if (id !== undefined && !live.includes(Number(id))) rmSync(join(dirname(store.path), name), { force: true });
  }
}

function removeFiles(file: string): void {
  if (file === ':memory:') return;
  rmSync(file, { force: true });
  rmSync(`${file}.wal`, { force: true });
}
