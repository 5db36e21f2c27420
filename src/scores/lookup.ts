// The serving copy of the published scores (kairos serve's look-ups): one row per scored customer, sorted by customer_id, so that a customer's scores are one point read that DuckDB's zone maps narrow to one row group.
import { quoteIdentifier, quoteLiteral, type Store } from '../store/db.js';
import type { ScoreRegistry } from './registry.js';
import { resultsTable, scoreColumnNames, signature, storedResults, type StoredResults } from './results.js';

/**
 * Why a copy, and why sorted rather than indexed (measured on the 1M-customer store of docs/benchmarks.md, "Serving
 * look-ups and rescoring", load 8 on 2 cores): a scorer's results table holds its runs in the order they were
 * written, and DuckDB has no index on it, so a point read of one customer scans a million customer ids per scorer
 * (36-115 ms each, eight scorers). One table of the published row of every customer, sorted by customer_id, is
 * read by one statement whose zone maps skip all but one row group: 24 ms median (52 ms p90) under that load,
 * against 288 ms for the customer_scores view. A PRIMARY KEY (an ART index) on the same copy was no faster here
 * (40 ms median: the row's 79 columns are fetched either way) and DuckDB keeps it in memory, outside what it can
 * spill (the reason customers has none, migration 4). Building the copy costs a join of every scorer's published
 * run and a sort: about 55 s at 1M under that load, and about 200 MB of store.
 */
export const LOOKUP_TABLE = 'customer_lookup';
/** One row: the published state the copy was made from (lookupKey). */
export const LOOKUP_KEY_TABLE = 'customer_lookup_key';

/** The published state as text: each scorer's published run and shape; the copy serves only the state it was made from. */
export function lookupKey(registry: ScoreRegistry, state: ReadonlyMap<string, StoredResults>): string {
  return registry.scorers
    .map((s) => {
      const st = state.get(s.name);
      return st === undefined ? `${s.name}:-` : `${s.name}:${st.runId}:${signature(s)}`;
    })
    .join('\n');
}

/** The copy's state, or null when the store has none. */
export async function storedLookupKey(store: Store): Promise<string | null> {
  const exists = Number(await store.value(`SELECT count(*) FROM duckdb_tables() WHERE table_name = ? AND schema_name = 'main' AND database_name = current_database() AND NOT temporary`, [LOOKUP_KEY_TABLE]));
  if (exists === 0) return null;
  return (await store.value<string | null>(`SELECT key FROM ${quoteIdentifier(LOOKUP_KEY_TABLE)}`)) ?? null;
}

/**
 * (Re)makes the copy from the published runs, in one transaction (the key and the rows together): customer_id, the
 * run of the customer's most recent results (as customer_scores' run_id), then each published scorer's columns, for
 * every customer with a published result. Customers without one are not in it (their scores are all null).
 * Returns the rows copied, or null when the copy was already that of the published state.
 */
export async function buildCustomerLookup(store: Store, registry: ScoreRegistry): Promise<{ rows: number; key: string } | null> {
  return store.transaction(async () => {
    const state = await storedResults(store, registry);
    const key = lookupKey(registry, state);
    if ((await storedLookupKey(store)) === key) return null;
    const published = registry.scorers.flatMap((s, i) => {
      const st = state.get(s.name);
      return st === undefined ? [] : [{ alias: `s${i}`, scorer: s, runId: st.runId }];
    });
    const runId = published.length
      ? `greatest(${published.map((p) => `CASE WHEN ${p.alias}.customer_id IS NOT NULL THEN ${p.runId} END`).join(', ')})::INTEGER`
      : 'NULL::INTEGER';
    const columns = published.flatMap((p) => scoreColumnNames(p.scorer).map((c) => `${p.alias}.${quoteIdentifier(c)}`));
    // The same joins as the customer_scores view (src/scores/results.ts, createViews), published runs as constants.
    const joins = published.map(
      (p) => `LEFT JOIN (SELECT * FROM ${quoteIdentifier(resultsTable(p.scorer.name))} WHERE run_id = ${p.runId}) ${p.alias} ON ${p.alias}.customer_id = c.customer_id`,
    );
    await store.run(
      `CREATE OR REPLACE TABLE ${quoteIdentifier(LOOKUP_TABLE)} AS
       SELECT * FROM (SELECT c.customer_id, ${runId} AS run_id${columns.map((c) => `, ${c}`).join('')}
                      FROM customers c ${joins.join(' ')})
       WHERE run_id IS NOT NULL ORDER BY customer_id`,
    );
    await store.run(`CREATE OR REPLACE TABLE ${quoteIdentifier(LOOKUP_KEY_TABLE)} AS SELECT ${quoteLiteral(key)}::VARCHAR AS key`);
    const rows = Number(await store.value(`SELECT count(*) FROM ${quoteIdentifier(LOOKUP_TABLE)}`));
    return { rows, key };
  });
}
