// Stored scores: one results table per scorer (scores_<name>), one per item output (items_<name>), their state, history, and the customer_scores view over them.
import { KairosError } from '../errors.js';
import { quoteIdentifier, quoteLiteral, type Store } from '../store/db.js';
import { CUSTOMER_COLUMNS } from '../store/migrations.js';
import { itemColumns, type ScoreRegistry } from './registry.js';
import { ITEM_DEFAULTS, SQL_TYPES, type ItemOutput, type ItemRow, type ScoreColumn, type Scorer, type ScorerResult } from './types.js';

/** Table of a scorer's latest results: customer_id, its score columns, then its item outputs' columns. */
export function resultsTable(scorer: string): string {
  return `scores_${scorer}`;
}

/** Table of an item output's latest rows: customer_id, rank, key, value, reason. */
export function itemsTable(output: string): string {
  return `items_${output}`;
}

/** Which run a scorer's stored results come from. */
export interface StoredResults {
  readonly scorer: string;
  readonly runId: number;
  /** 'YYYY-MM-DD HH:MM:SS' (UTC). */
  readonly asOf: string;
  readonly version: string;
}

/** Every column of a scorer's results table, with its DuckDB type, in table order. */
function tableColumns(scorer: Scorer): { name: string; sql: string }[] {
  return [
    { name: 'customer_id', sql: 'VARCHAR' },
    ...scorer.columns.map((c) => ({ name: c.name, sql: SQL_TYPES[c.type] })),
    ...(scorer.items ?? []).flatMap((o) => itemColumns(o).map((c) => ({ name: c.name, sql: SQL_TYPES[c.type] }))),
  ];
}

/** The shape of a scorer's tables as text: stored results made by a scorer of another shape are not used. */
export function signature(scorer: Scorer): string {
  const items = (scorer.items ?? []).map((o) => `${o.name}:${o.shape}:${o.keep ?? ITEM_DEFAULTS.keep}`);
  return [...tableColumns(scorer).map((c) => `${c.name} ${c.sql}`), ...items].join(', ');
}

/** The stored state of every scorer with results, by name. */
export async function storedResults(store: Store): Promise<Map<string, StoredResults>> {
  const rows = await store.all<{ scorer: string; run_id: number; as_of: string; version: string }>(
    `SELECT scorer, run_id, strftime(as_of, '%Y-%m-%d %H:%M:%S') AS as_of, version FROM scorer_results`,
  );
  return new Map(rows.map((r) => [r.scorer, { scorer: r.scorer, runId: r.run_id, asOf: r.as_of, version: r.version }]));
}

const ITEM_SQL = 'customer_id VARCHAR, rank INTEGER, key VARCHAR, value DOUBLE, reason VARCHAR';

/**
 * Makes sure every registered scorer has its tables with the declared shape: missing ones are created empty; a table
 * left by a scorer of another shape (an older version) is replaced by an empty one and its state forgotten, so that
 * customer_scores never shows columns the code no longer declares.
 */
export async function ensureResultTables(store: Store, registry: ScoreRegistry): Promise<void> {
  const stored = new Map(
    (await store.all<{ scorer: string; signature: string }>('SELECT scorer, signature FROM scorer_results')).map((r) => [r.scorer, r.signature]),
  );
  const existing = new Set(
    (await store.all<{ table_name: string }>(`SELECT table_name FROM duckdb_tables() WHERE NOT temporary AND schema_name = 'main'`)).map((r) => r.table_name),
  );
  for (const scorer of registry.scorers) {
    const table = resultsTable(scorer.name);
    const sig = signature(scorer);
    const stale = stored.has(scorer.name) && stored.get(scorer.name) !== sig;
    if (stale) await store.run('DELETE FROM scorer_results WHERE scorer = ?', [scorer.name]);
    if (stale || !existing.has(table)) {
      const ddl = tableColumns(scorer).map((c) => `${quoteIdentifier(c.name)} ${c.sql}`).join(', ');
      await store.run(`CREATE OR REPLACE TABLE ${quoteIdentifier(table)} (${ddl})`);
    }
    for (const o of scorer.items ?? []) {
      if (stale || !existing.has(itemsTable(o.name))) await store.run(`CREATE OR REPLACE TABLE ${quoteIdentifier(itemsTable(o.name))} (${ITEM_SQL})`);
    }
  }
}

/** A scorer's result relation in a FROM clause: a table or view by name, columns exposed from JS as a call. */
function relationSql(store: Store, name: string): string {
  return store.exposesColumns(name) ? `${quoteIdentifier(name)}()` : quoteIdentifier(name);
}

/** SQL of the columns an item output adds to a scorer's results, aggregated from its items table (alias `i`). */
function itemAggregates(o: ItemOutput): string[] {
  const keep = o.keep ?? ITEM_DEFAULTS.keep;
  return itemColumns(o).map((c) => {
    const col = quoteIdentifier(c.name);
    if (c.top !== undefined) return `max(i.key) FILTER (WHERE i.rank = ${c.top}) AS ${col}`;
    if (o.shape === 'map') {
      return `coalesce(map_from_entries(list({'key': i.key, 'value': i.value} ORDER BY i.rank) FILTER (WHERE i.rank <= ${keep})), MAP {}::MAP(VARCHAR, DOUBLE)) AS ${col}`;
    }
    return `coalesce(list(i.key ORDER BY i.rank) FILTER (WHERE i.rank <= ${keep}), []::VARCHAR[]) AS ${col}`;
  });
}

/** One history row per customer and score column: value_num, value_text, value_date, value_json. */
function historyValue(c: ScoreColumn): string {
  const col = quoteIdentifier(c.name);
  switch (c.type) {
    case 'number':
    case 'integer':
      return `${col}::DOUBLE, NULL, NULL, NULL`;
    case 'text':
      return `NULL, ${col}::VARCHAR, NULL, NULL`;
    case 'date':
      return `NULL, NULL, ${col}::DATE, NULL`;
    case 'list':
    case 'map':
      return `NULL, NULL, NULL, to_json(${col})`;
  }
}

/**
 * Replaces a scorer's stored results with this run's (inside the run's transaction): its results table, its item
 * tables, its state row; appends its scores to score_history and the top items to item_history.
 */
export async function publishResults(store: Store, scorer: Scorer, result: ScorerResult, run: { runId: number; asOf: string }): Promise<void> {
  const outputs = scorer.items ?? [];
  for (const o of outputs) {
    const relation = result.items?.[o.name];
    if (relation === undefined) throw new KairosError('INTERNAL', `scorer ${scorer.name} returned no rows for its item output ${o.name}`);
    await store.run(
      `CREATE OR REPLACE TABLE ${quoteIdentifier(itemsTable(o.name))} AS
       SELECT customer_id::VARCHAR AS customer_id, rank::INTEGER AS rank, key::VARCHAR AS key, value::DOUBLE AS value, reason::VARCHAR AS reason
       FROM ${relationSql(store, relation)} ORDER BY customer_id, rank`,
    );
  }
  const scoreSelect = scorer.columns.map((c) => `r.${quoteIdentifier(c.name)}::${SQL_TYPES[c.type]} AS ${quoteIdentifier(c.name)}`);
  const itemSelect = outputs.flatMap((o, k) => itemColumns(o).map((c) => `i${k}.${quoteIdentifier(c.name)}`));
  const itemJoins = outputs.map(
    (o, k) =>
      `LEFT JOIN (SELECT i.customer_id, ${itemAggregates(o).join(', ')} FROM ${quoteIdentifier(itemsTable(o.name))} i GROUP BY i.customer_id) i${k} USING (customer_id)`,
  );
  await store.run(
    `CREATE OR REPLACE TABLE ${quoteIdentifier(resultsTable(scorer.name))} AS
     SELECT r.customer_id::VARCHAR AS customer_id${[...scoreSelect, ...itemSelect].map((s) => `, ${s}`).join('')}
     FROM ${relationSql(store, result.table)} r ${itemJoins.join(' ')}`,
  );
  await store.run('DELETE FROM scorer_results WHERE scorer = ?', [scorer.name]);
  await store.run('INSERT INTO scorer_results VALUES (?, ?, ?::TIMESTAMP, ?, ?)', [scorer.name, run.runId, run.asOf, scorer.version, signature(scorer)]);
  const table = quoteIdentifier(resultsTable(scorer.name));
  // One INSERT per column: one `INSERT ... UNION ALL` of all of them was twice as slow at 1M customers (docs/benchmarks.md).
  for (const c of scorer.columns) {
    await store.run(
      `INSERT INTO score_history SELECT ?::INTEGER, customer_id, ?, ${historyValue(c)} FROM ${table} WHERE ${quoteIdentifier(c.name)} IS NOT NULL`,
      [run.runId, c.name],
    );
  }
  for (const o of outputs) {
    await store.run(
      `INSERT INTO item_history SELECT ?::INTEGER, ?, customer_id, rank, key, value FROM ${quoteIdentifier(itemsTable(o.name))} WHERE rank <= ?`,
      [run.runId, o.name, o.history ?? ITEM_DEFAULTS.history],
    );
  }
}

/**
 * (Re)creates the customer_scores view: every column of `customers`, the run of the customer's most recent stored
 * results (`run_id`, `scored_as_of`), then each registered scorer's columns by name. Columns are listed, never
 * `*`, so no name is silently renamed (the registry refuses collisions when it loads). Drops latest_scores, the
 * single results table of stores made before per-scorer results.
 */
export async function createCustomerScoresView(store: Store, registry: ScoreRegistry): Promise<void> {
  const state = await storedResults(store);
  const alias = (i: number): string => `s${i}`;
  const scorers = registry.scorers;
  const runOf = scorers
    .map((s, i) => ({ s, i, st: state.get(s.name) }))
    .filter((x) => x.st !== undefined)
    .map(({ i, st }) => ({ present: `${alias(i)}.customer_id IS NOT NULL`, runId: (st as StoredResults).runId, asOf: (st as StoredResults).asOf }));
  const runId = runOf.length ? `greatest(${runOf.map((r) => `CASE WHEN ${r.present} THEN ${r.runId} END`).join(', ')})::INTEGER` : 'NULL::INTEGER';
  const asOfByRun = [...new Map(runOf.map((r) => [r.runId, r.asOf])).entries()];
  const scoredAsOf = asOfByRun.length
    ? `CASE ${runId} ${asOfByRun.map(([id, at]) => `WHEN ${id} THEN TIMESTAMP ${quoteLiteral(at)}`).join(' ')} END`
    : 'NULL::TIMESTAMP';
  const columns = scorers.flatMap((s, i) => tableColumns(s).slice(1).map((c) => `${alias(i)}.${quoteIdentifier(c.name)}`));
  const joins = scorers.map((s, i) => `LEFT JOIN ${quoteIdentifier(resultsTable(s.name))} ${alias(i)} ON ${alias(i)}.customer_id = c.customer_id`);
  await store.run(
    `CREATE OR REPLACE VIEW customer_scores AS
     SELECT ${CUSTOMER_COLUMNS.map((c) => `c.${quoteIdentifier(c)}`).join(', ')}, ${runId} AS run_id, ${scoredAsOf} AS scored_as_of${columns.map((c) => `, ${c}`).join('')}
     FROM customers c ${joins.join(' ')}`,
  );
  await store.run('DROP TABLE IF EXISTS latest_scores');
}

/** A customer's rows of an item output, best first (at most the output's `keep`). */
export async function customerItems(store: Store, output: ItemOutput, customerId: string): Promise<ItemRow[]> {
  return store.all<ItemRow & Record<string, unknown>>(
    `SELECT rank, key, value, reason FROM ${quoteIdentifier(itemsTable(output.name))} WHERE customer_id = ? AND rank <= ? ORDER BY rank`,
    [customerId, output.keep ?? ITEM_DEFAULTS.keep],
  );
}
