// Stored scores: each scorer's runs in its own table (scores_<name>), item rows (items_<name>), which runs are published, and the views over them.
import { KairosError } from '../errors.js';
import { isoTimestamp, quoteIdentifier, quoteLiteral, type Store } from '../store/db.js';
import { CUSTOMER_COLUMNS } from '../store/migrations.js';
import { itemColumns, type ScoreRegistry } from './registry.js';
import { ITEM_DEFAULTS, SQL_TYPES, type ItemOutput, type ItemRow, type Scorer, type ScorerResult } from './types.js';

/** Table of a scorer's results, every run: run_id, customer_id, its score columns, then its item outputs' columns. */
export function resultsTable(scorer: string): string {
  return `scores_${scorer}`;
}

/** Table of an item output's rows of the latest runs: run_id, customer_id, rank, key, value, reason. */
export function itemsTable(output: string): string {
  return `items_${output}`;
}

/** Which run a scorer's published results come from. */
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
    { name: 'run_id', sql: 'INTEGER' },
    { name: 'customer_id', sql: 'VARCHAR' },
    ...scorer.columns.map((c) => ({ name: c.name, sql: SQL_TYPES[c.type] })),
    ...(scorer.items ?? []).flatMap((o) => itemColumns(o).map((c) => ({ name: c.name, sql: SQL_TYPES[c.type] }))),
  ];
}

/** The score columns of a scorer's results (what customer_scores shows): the table's columns after run_id and customer_id. */
export function scoreColumnNames(scorer: Scorer): string[] {
  return tableColumns(scorer).slice(2).map((c) => c.name);
}

/** The shape of a scorer's tables as text: results written by a scorer of another shape are not its current results. */
export function signature(scorer: Scorer): string {
  const items = (scorer.items ?? []).map((o) => `${o.name}:${o.shape}:${o.keep ?? ITEM_DEFAULTS.keep}`);
  return [...tableColumns(scorer).map((c) => `${c.name} ${c.sql}`), ...items].join(', ');
}

/** SQL of the completed runs (those whose rows count). */
const COMPLETED = `SELECT run_id FROM score_runs WHERE status = 'completed'`;

/**
 * Each registered scorer's published results: its latest completed run, when that run wrote results of the shape
 * the scorer declares now (results of an older shape stay in history, not in customer_scores).
 */
export async function storedResults(store: Store, registry: ScoreRegistry, including?: number): Promise<Map<string, StoredResults>> {
  // `including`: a run whose rows are in the tables but not yet marked completed, taken as published (what it will publish).
  const rows = await store.all<{ scorer: string; run_id: number; as_of: string; version: string; signature: string }>(
    `SELECT scorer, run_id, strftime(as_of, '%Y-%m-%d %H:%M:%S') AS as_of, version, signature FROM scorer_results
     WHERE run_id IN (${COMPLETED}) OR run_id = ? QUALIFY row_number() OVER (PARTITION BY scorer ORDER BY run_id DESC) = 1`,
    [including ?? -1],
  );
  const out = new Map<string, StoredResults>();
  for (const r of rows) {
    const scorer = registry.scorers.find((s) => s.name === r.scorer);
    if (scorer && signature(scorer) === r.signature) out.set(r.scorer, { scorer: r.scorer, runId: r.run_id, asOf: r.as_of, version: r.version });
  }
  return out;
}

/** The tables of the store's main schema with their columns and types, from DuckDB's catalog (not those of a run's staging database). */
async function catalog(store: Store): Promise<Map<string, { name: string; type: string }[]>> {
  const rows = await store.all<{ table_name: string; column_name: string; data_type: string }>(
    `SELECT table_name, c.column_name, c.data_type FROM duckdb_columns() c JOIN duckdb_tables() t USING (database_name, schema_name, table_name)
     WHERE NOT t.temporary AND t.schema_name = 'main' AND t.database_name = current_database() ORDER BY table_name, c.column_index`,
  );
  const out = new Map<string, { name: string; type: string }[]>();
  for (const r of rows) out.set(r.table_name, [...(out.get(r.table_name) ?? []), { name: r.column_name, type: r.data_type }]);
  return out;
}

const ITEM_SQL = 'run_id INTEGER, customer_id VARCHAR, rank INTEGER, key VARCHAR, value DOUBLE, reason VARCHAR';

/**
 * Makes sure every registered scorer has its tables with the declared shape. A results table of another shape (an
 * older version of the scorer) is kept for history under the next free name scores_<name>_<k>, and a new one made.
 */
export async function ensureResultTables(store: Store, registry: ScoreRegistry): Promise<void> {
  const tables = await catalog(store);
  for (const scorer of registry.scorers) {
    const table = resultsTable(scorer.name);
    const wanted = tableColumns(scorer);
    const existing = tables.get(table);
    const same = existing !== undefined && existing.map((c) => `${c.name} ${c.type}`).join(', ') === wanted.map((c) => `${c.name} ${c.sql}`).join(', ');
    if (!same) {
      if (existing !== undefined) {
        let k = 1;
        while (tables.has(`${table}_${k}`)) k++;
        await store.run(`ALTER TABLE ${quoteIdentifier(table)} RENAME TO ${quoteIdentifier(`${table}_${k}`)}`);
        tables.set(`${table}_${k}`, existing);
      }
      await store.run(`CREATE TABLE ${quoteIdentifier(table)} (${wanted.map((c) => `${quoteIdentifier(c.name)} ${c.sql}`).join(', ')})`);
    }
    for (const o of scorer.items ?? []) {
      const items = itemsTable(o.name);
      if (tables.get(items)?.[0]?.name !== 'run_id') await store.run(`CREATE OR REPLACE TABLE ${quoteIdentifier(items)} (${ITEM_SQL})`);
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

/**
 * Appends a scorer's results of this run: its rows to scores_<name>, its item rows to items_<output>, and a line to
 * scorer_results, in the store or in the catalog `into` (a run's staging database, src/scores/staging.ts). Nothing
 * is visible until the run is published.
 */
export async function writeResults(store: Store, scorer: Scorer, result: ScorerResult, run: { runId: number; asOf: string }, into?: string): Promise<void> {
  const table = (name: string): string => `${into === undefined ? '' : `${quoteIdentifier(into)}.`}${quoteIdentifier(name)}`;
  const outputs = scorer.items ?? [];
  for (const o of outputs) {
    const relation = result.items?.[o.name];
    if (relation === undefined) throw new KairosError('INTERNAL', `scorer ${scorer.name} returned no rows for its item output ${o.name}`);
    await store.run(
      `INSERT INTO ${table(itemsTable(o.name))}
       SELECT ${run.runId}::INTEGER, customer_id::VARCHAR, rank::INTEGER, key::VARCHAR, value::DOUBLE, reason::VARCHAR
       FROM ${relationSql(store, relation)} ORDER BY customer_id, rank`,
    );
  }
  const scoreSelect = scorer.columns.map((c) => `r.${quoteIdentifier(c.name)}::${SQL_TYPES[c.type]}`);
  const itemSelect = outputs.flatMap((o, k) => itemColumns(o).map((c) => `i${k}.${quoteIdentifier(c.name)}`));
  const itemJoins = outputs.map(
    (o, k) =>
      `LEFT JOIN (SELECT i.customer_id, ${itemAggregates(o).join(', ')} FROM ${table(itemsTable(o.name))} i
                  WHERE i.run_id = ${run.runId} GROUP BY i.customer_id) i${k} USING (customer_id)`,
  );
  // One pass: the whole run's results of this scorer in one INSERT (its history and its latest results at once).
  await store.run(
    `INSERT INTO ${table(resultsTable(scorer.name))}
     SELECT ${run.runId}::INTEGER, r.customer_id::VARCHAR${[...scoreSelect, ...itemSelect].map((s) => `, ${s}`).join('')}
     FROM ${relationSql(store, result.table)} r ${itemJoins.join(' ')}`,
  );
  await store.run(`INSERT INTO ${table('scorer_results')} VALUES (?, ?, ?::TIMESTAMP, ?, ?)`, [scorer.name, run.runId, run.asOf, scorer.version, signature(scorer)]);
}

/** Value columns of the long history for a column of DuckDB type `type`: value_num, value_text, value_date, value_json. */
function historyValue(column: string, type: string): string {
  const col = quoteIdentifier(column);
  if (/^(DOUBLE|FLOAT|REAL|INTEGER|BIGINT|SMALLINT|TINYINT|HUGEINT|DECIMAL.*|U?INTEGER|U?BIGINT|BOOLEAN)$/.test(type)) return `${col}::DOUBLE, NULL, NULL, NULL`;
  if (type === 'VARCHAR') return `NULL, ${col}, NULL, NULL`;
  if (type === 'DATE') return `NULL, NULL, ${col}, NULL`;
  return `NULL, NULL, NULL, to_json(${col})`;
}

/** The published runs by the latest completed run: one small query while no run has completed since the last read. */
const publishedCache = new WeakMap<Store, { key: number; registry: ScoreRegistry; state: Map<string, StoredResults> }>();

/** storedResults, read again only when a run has completed since the last call on this store (for per-request reads). */
export async function publishedResults(store: Store, registry: ScoreRegistry): Promise<Map<string, StoredResults>> {
  const key = Number((await store.value<number | null>(`SELECT max(run_id) FROM score_runs WHERE status = 'completed'`)) ?? -1);
  const cached = publishedCache.get(store);
  if (cached !== undefined && cached.key === key && cached.registry === registry) return cached.state;
  const state = await storedResults(store, registry);
  publishedCache.set(store, { key, registry, state });
  return state;
}

/**
 * One customer's row of customer_scores (the view's columns, in its order, with its values), from a point read of
 * each scorer's published run (a scan of a million ids each at 1M customers: kairos serve reads its serving snapshot
 * instead, src/scores/lookup.ts). Undefined for an unknown customer.
 */
export async function customerScoresRow(store: Store, registry: ScoreRegistry, customerId: string): Promise<Record<string, unknown> | undefined> {
  const state = await publishedResults(store, registry);
  const customer = await store.one(`SELECT ${CUSTOMER_COLUMNS.map(quoteIdentifier).join(', ')} FROM customers WHERE customer_id = ?`, [customerId]);
  if (customer === undefined) return undefined;
  const scores: Record<string, unknown> = {};
  for (const s of registry.scorers) for (const c of scoreColumnNames(s)) scores[c] = null;
  let runId: number | null = null;
  for (const s of registry.scorers) {
    const st = state.get(s.name);
    if (st === undefined) continue;
    const row = await store.one(`SELECT ${scoreColumnNames(s).map(quoteIdentifier).join(', ')} FROM ${quoteIdentifier(resultsTable(s.name))} WHERE run_id = ? AND customer_id = ?`, [st.runId, customerId]);
    if (row === undefined) continue;
    Object.assign(scores, row);
    // The run of the customer's most recent results, as the view's greatest(...).
    if (runId === null || st.runId > runId) runId = st.runId;
  }
  const run = runId === null ? undefined : [...state.values()].find((st) => st.runId === runId);
  const asOf = run === undefined ? null : isoTimestamp(run.asOf);
  return { ...customer, run_id: runId, scored_as_of: asOf, ...scores };
}

/**
 * (Re)creates the views over the stored results (inside the publishing transaction):
 * - customer_scores: every column of `customers`, the run of the customer's most recent results (`run_id`,
 *   `scored_as_of`), then each registered scorer's columns from its published run. Columns are listed, never `*`, so
 *   no name is silently renamed (the registry refuses collisions when it loads).
 * - score_history: the long shape (run_id, customer_id, score, value_num, value_text, value_date, value_json) of every
 *   completed run of every scorer table, older shapes included, and of schema 1's history.
 * Drops latest_scores, the single results table of stores made before per-scorer results.
 */
export async function createViews(store: Store, registry: ScoreRegistry): Promise<void> {
  const state = await storedResults(store, registry);
  const alias = (i: number): string => `s${i}`;
  const scorers = registry.scorers;
  const runOf = scorers
    .map((s, i) => ({ i, st: state.get(s.name) }))
    .filter((x): x is { i: number; st: StoredResults } => x.st !== undefined)
    .map(({ i, st }) => ({ present: `${alias(i)}.customer_id IS NOT NULL`, runId: st.runId, asOf: st.asOf }));
  const runId = runOf.length ? `greatest(${runOf.map((r) => `CASE WHEN ${r.present} THEN ${r.runId} END`).join(', ')})::INTEGER` : 'NULL::INTEGER';
  const asOfByRun = [...new Map(runOf.map((r) => [r.runId, r.asOf])).entries()];
  const scoredAsOf = asOfByRun.length
    ? `CASE ${runId} ${asOfByRun.map(([id, at]) => `WHEN ${id} THEN TIMESTAMP ${quoteLiteral(at)}`).join(' ')} END`
    : 'NULL::TIMESTAMP';
  const columns = scorers.flatMap((s, i) => scoreColumnNames(s).map((c) => `${alias(i)}.${quoteIdentifier(c)}`));
  // The published run is a constant of the view: DuckDB skips the other runs' row groups by their min/max run_id.
  const joins = scorers.map((s, i) => {
    const published = state.get(s.name)?.runId ?? -1;
    return `LEFT JOIN (SELECT * FROM ${quoteIdentifier(resultsTable(s.name))} WHERE run_id = ${published}) ${alias(i)} ON ${alias(i)}.customer_id = c.customer_id`;
  });
  await store.run(
    `CREATE OR REPLACE VIEW customer_scores AS
     SELECT ${CUSTOMER_COLUMNS.map((c) => `c.${quoteIdentifier(c)}`).join(', ')}, ${runId} AS run_id, ${scoredAsOf} AS scored_as_of${columns.map((c) => `, ${c}`).join('')}
     FROM customers c ${joins.join(' ')}`,
  );
  await store.run('DROP TABLE IF EXISTS latest_scores');
  // Each item output's view for activation: its published run's rows, columns named for people.
  for (const s of scorers) {
    for (const o of s.items ?? []) {
      if (o.view === undefined) continue;
      const published = state.get(s.name)?.runId ?? -1;
      await store.run(
        `CREATE OR REPLACE VIEW ${quoteIdentifier(o.view.name)} AS
         SELECT customer_id, run_id, rank, key AS ${quoteIdentifier(o.view.key)}, value AS ${quoteIdentifier(o.view.value)}, reason
         FROM ${quoteIdentifier(itemsTable(o.name))} WHERE run_id = ${published}`,
      );
    }
  }

  const tables = await catalog(store);
  const branches = ['SELECT * FROM score_history_v1'];
  for (const [table, cols] of tables) {
    if (!/^scores_[a-z0-9_]+$/.test(table) || cols[0]?.name !== 'run_id' || cols[1]?.name !== 'customer_id') continue;
    for (const c of cols.slice(2)) {
      branches.push(
        `SELECT run_id, customer_id, ${quoteLiteral(c.name)} AS score, ${historyValue(c.name, c.type)} FROM ${quoteIdentifier(table)}
         WHERE ${quoteIdentifier(c.name)} IS NOT NULL AND run_id IN (${COMPLETED})`,
      );
    }
  }
  await store.run(`CREATE OR REPLACE VIEW score_history AS ${branches.join('\nUNION ALL ')}`);
}

/**
 * customer_scores narrowed to `columns` (lower case): the customers joined with only the published results of the
 * scorers that hold them, as the view joins them (a LEFT JOIN on customer_id, one row per customer), so that a count
 * over a filter does not join every scorer's million rows. `customer_scores` itself when a column is not a customer's
 * nor a scorer's (run_id, scored_as_of).
 */
export async function customerScoresFor(store: Store, registry: ScoreRegistry, columns: readonly string[]): Promise<string> {
  const state = await storedResults(store, registry);
  const joins = new Map<string, { alias: string; table: string; runId: number; columns: string[] }>();
  for (const c of columns) {
    if ((CUSTOMER_COLUMNS as readonly string[]).includes(c)) continue;
    const i = registry.scorers.findIndex((s) => scoreColumnNames(s).includes(c));
    const scorer = registry.scorers[i];
    if (scorer === undefined) return 'customer_scores';
    const j = joins.get(scorer.name) ?? { alias: `s${i}`, table: resultsTable(scorer.name), runId: state.get(scorer.name)?.runId ?? -1, columns: [] };
    j.columns.push(c);
    joins.set(scorer.name, j);
  }
  const picked = [...joins.values()];
  return `(SELECT ${[...CUSTOMER_COLUMNS.map((c) => `c.${quoteIdentifier(c)}`), ...picked.flatMap((j) => j.columns.map((c) => `${j.alias}.${quoteIdentifier(c)}`))].join(', ')}
    FROM customers c ${picked.map((j) => `LEFT JOIN (SELECT * FROM ${quoteIdentifier(j.table)} WHERE run_id = ${Math.floor(j.runId)}) ${j.alias} ON ${j.alias}.customer_id = c.customer_id`).join(' ')})`;
}

/** A customer's rows of an item output from a run, best first (at most the output's `keep`). */
export async function customerItems(store: Store, output: ItemOutput, customerId: string, runId: number): Promise<ItemRow[]> {
  return store.all<ItemRow & Record<string, unknown>>(
    `SELECT rank, key, value, reason FROM ${quoteIdentifier(itemsTable(output.name))} WHERE run_id = ? AND customer_id = ? AND rank <= ? ORDER BY rank`,
    [runId, customerId, output.keep ?? ITEM_DEFAULTS.keep],
  );
}

/**
 * Removes what no published view shows: the rows of runs that did not complete (killed, or failed after writing),
 * and the item rows of runs older than each output's published run. Their space is reused by later runs.
 */
export async function removeUnpublished(store: Store, registry: ScoreRegistry): Promise<void> {
  const state = await storedResults(store, registry);
  const tables = await catalog(store);
  // The unfinished runs as constants: DuckDB then skips the row groups whose run_id range holds none of them, so a
  // long history is not scanned at every run (and nothing is deleted when every run completed).
  const dead = (await store.all<{ run_id: number }>(`SELECT run_id FROM score_runs WHERE status IN ('running', 'failed') ORDER BY run_id`)).map((r) => r.run_id);
  if (dead.length > 0) {
    const list = dead.join(', ');
    for (const [table, cols] of tables) {
      if (/^scores_[a-z0-9_]+$/.test(table) && cols[0]?.name === 'run_id') await store.run(`DELETE FROM ${quoteIdentifier(table)} WHERE run_id IN (${list})`);
    }
    await store.run(`DELETE FROM scorer_results WHERE run_id IN (${list})`);
    await store.run(`DELETE FROM model_fits WHERE run_id IN (${list})`);
  }
  for (const scorer of registry.scorers) {
    const published = state.get(scorer.name)?.runId ?? -1;
    for (const o of scorer.items ?? []) {
      if (tables.has(itemsTable(o.name))) await store.run(`DELETE FROM ${quoteIdentifier(itemsTable(o.name))} WHERE run_id <> ?`, [published]);
    }
  }
}

export interface CompactionSummary {
  /** Completed runs whose rows were removed (thinned out), oldest first. */
  readonly removed: readonly number[];
  readonly kept: number;
  readonly rowsDeleted: number;
}

/**
 * Thins the history: completed runs whose as-of is more than `keepDays` before the latest run's are reduced to the
 * last run of each calendar month; every scorer's published run is always kept. The removed runs' rows leave the
 * scorers' tables, schema 1's history and model_fits, and their score_runs rows say 'compacted'. A CHECKPOINT then
 * lets DuckDB reuse the space.
 */
export async function compactHistory(store: Store, registry: ScoreRegistry, keepDays: number): Promise<CompactionSummary> {
  const result = await store.transaction(async () => {
    const published = [...(await storedResults(store, registry)).values()].map((r) => r.runId);
    const rows = await store.all<{ run_id: number }>(
      `WITH runs AS (SELECT run_id, as_of FROM score_runs WHERE status = 'completed'),
         latest AS (SELECT max(as_of) AS at FROM runs),
         old AS (SELECT run_id, as_of, row_number() OVER (PARTITION BY date_trunc('month', as_of) ORDER BY as_of DESC, run_id DESC) AS k
                 FROM runs, latest WHERE as_of < latest.at - to_days(?::INTEGER))
       SELECT run_id FROM old WHERE k > 1 ORDER BY run_id`,
      [keepDays],
    );
    const removed = rows.map((r) => r.run_id).filter((id) => !published.includes(id));
    let rowsDeleted = 0;
    if (removed.length > 0) {
      const list = removed.join(', ');
      const tables = await catalog(store);
      for (const [table, cols] of tables) {
        if (!((/^scores_[a-z0-9_]+$/.test(table) && cols[0]?.name === 'run_id') || table === 'score_history_v1')) continue;
        rowsDeleted += Number(await store.value(`SELECT count(*) FROM ${quoteIdentifier(table)} WHERE run_id IN (${list})`));
        await store.run(`DELETE FROM ${quoteIdentifier(table)} WHERE run_id IN (${list})`);
      }
      await store.run(`DELETE FROM model_fits WHERE run_id IN (${list})`);
      await store.run(`UPDATE score_runs SET status = 'compacted' WHERE run_id IN (${list})`);
    }
    const kept = Number(await store.value(`SELECT count(*) FROM score_runs WHERE status = 'completed'`));
    return { removed, kept, rowsDeleted };
  });
  await store.run('CHECKPOINT');
  return result;
}
