// Scoring runs: every registered scorer on data before the as-of date, into latest_scores (customer_scores) and score_history.
import { createHash } from 'node:crypto';
import type { KairosConfig } from '../config.js';
import { KairosError } from '../errors.js';
import { quoteIdentifier, quoteLiteral, type Store } from '../store/db.js';
import { SCORERS } from './registry.js';
import type { ModelRecord, ScoreColumn, Scorer } from './types.js';

export interface ScoreRunOptions {
  readonly config: KairosConfig;
  /** ISO date or timestamp; data strictly before it is used. Default: the day after the last order. */
  readonly asOf?: string;
  /** Scorer names to run (default: all registered). */
  readonly scorers?: readonly string[];
  readonly onProgress?: (message: string) => void;
}

export interface ScoreRunSummary {
  readonly runId: number;
  readonly asOf: string;
  readonly customers: number;
  readonly scorers: readonly { name: string; version: string; columns: readonly string[] }[];
  readonly models: readonly ModelRecord[];
  readonly notes: readonly string[];
  readonly dataFingerprint: string;
  readonly seconds: number;
}

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

/** Resolves scorer names in one place. */
export function resolveScorers(names?: readonly string[]): Scorer[] {
  if (!names || names.length === 0) return [...SCORERS];
  return names.map((n) => {
    const s = SCORERS.find((x) => x.name === n);
    if (!s) throw new KairosError('USAGE', `invalid scorer "${n}" (expected one of ${SCORERS.map((x) => x.name).join(', ')})`);
    return s;
  });
}

/**
 * Creates the views scorers read: only rows before `asOf`. Scorers never read the base tables, so no score can
 * see the future of its as-of date (tested in run.test.ts).
 */
export async function createAsOfViews(store: Store, asOf: string): Promise<void> {
  const t = `TIMESTAMP ${quoteLiteral(asOf)}`;
  await store.run(`CREATE OR REPLACE TEMP VIEW asof_orders AS SELECT * FROM orders WHERE ordered_at < ${t}`);
  await store.run(`CREATE OR REPLACE TEMP VIEW asof_events AS SELECT * FROM events WHERE occurred_at < ${t}`);
  await store.run(`CREATE OR REPLACE TEMP VIEW asof_customers AS SELECT * FROM customers WHERE created_at IS NULL OR created_at < ${t}`);
}

/** A fingerprint of the data a run sees: counts, sums and extremes of the as-of views. */
async function fingerprint(store: Store): Promise<string> {
  const row = await store.one(
    `SELECT (SELECT count(*) FROM asof_customers) AS c,
            (SELECT count(*) FROM asof_orders) AS o, (SELECT sum(amount) FROM asof_orders) AS a,
            (SELECT max(ordered_at)::VARCHAR FROM asof_orders) AS lo,
            (SELECT count(*) FROM asof_events) AS e, (SELECT max(occurred_at)::VARCHAR FROM asof_events) AS le`,
  );
  return createHash('sha256').update(JSON.stringify(row)).digest('hex').slice(0, 16);
}

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
    case 'json':
      return `NULL, NULL, NULL, ${col}::JSON`;
  }
}

/** Drops a scorer's temp table or view, or releases its exposed columns (whichever it is). */
async function dropTemporary(store: Store, name: string): Promise<void> {
  if (store.exposesColumns(name)) return store.releaseColumns(name);
  const isView = Number(await store.value('SELECT count(*) FROM duckdb_views() WHERE temporary AND view_name = ?', [name])) > 0;
  await store.run(`DROP ${isView ? 'VIEW' : 'TABLE'} IF EXISTS ${quoteIdentifier(name)}`);
}

/** Runs the scorers in one transaction: the run lands whole (latest scores, history, fits, run record) or not at all. */
export async function runScores(store: Store, options: ScoreRunOptions): Promise<ScoreRunSummary> {
  const started = Date.now();
  const progress = options.onProgress ?? (() => {});
  const scorers = resolveScorers(options.scorers);
  const asOf = options.asOf ? parseAsOf(options.asOf) : await defaultAsOf(store);
  return store.transaction(async () => {
    const runId = Number(await store.value('SELECT coalesce(max(run_id), 0) + 1 FROM score_runs'));
    await createAsOfViews(store, asOf);
    const dataFingerprint = await fingerprint(store);
    const customers = Number(await store.value('SELECT count(*) FROM asof_customers'));
    if (customers === 0) throw new KairosError('INSUFFICIENT_DATA', `no customers before ${asOf}`, { hint: 'choose a later --as-of' });
    const tables: { scorer: Scorer; table: string; temporaries: readonly string[] }[] = [];
    const models: ModelRecord[] = [];
    const notes: string[] = [];
    for (const scorer of scorers) {
      progress(`scoring ${scorer.name}`);
      const result = await scorer.run({ store, runId, asOf, config: options.config, progress });
      tables.push({ scorer, table: result.table, temporaries: result.temporaries ?? [] });
      models.push(...result.models);
      notes.push(...result.notes);
    }
    progress('writing scores');
    const select = tables.flatMap(({ scorer }, i) => scorer.columns.map((c) => `s${i}.${quoteIdentifier(c.name)}`));
    const joins = tables.map(({ table }, i) => `LEFT JOIN ${quoteIdentifier(table)} s${i} USING (customer_id)`);
    await store.run(
      `CREATE OR REPLACE TABLE latest_scores AS SELECT c.customer_id, ${runId}::INTEGER AS run_id, ${quoteLiteral(asOf)}::TIMESTAMP AS scored_as_of${
        select.length ? ', ' + select.join(', ') : ''
      } FROM asof_customers c ${joins.join(' ')}`,
    );
    for (const { scorer } of tables) {
      for (const c of scorer.columns) {
        await store.run(
          `INSERT INTO score_history SELECT ${runId}, customer_id, ?, ${historyValue(c)} FROM latest_scores WHERE ${quoteIdentifier(c.name)} IS NOT NULL`,
          [c.name],
        );
      }
    }
    for (const m of models) await store.run('INSERT INTO model_fits VALUES (?, ?, ?)', [runId, m.model, JSON.stringify(m.fit)]);
    const scorerInfo = scorers.map((s) => ({ name: s.name, version: s.version, columns: s.columns.map((c) => c.name) }));
    await store.run(
      `INSERT INTO score_runs VALUES (?, ?::TIMESTAMP, to_timestamp(?)::TIMESTAMP, now()::TIMESTAMP, 'completed', ?, ?, ?, ?, ?)`,
      [runId, asOf, started / 1000, dataFingerprint, JSON.stringify(scorerInfo), JSON.stringify(options.config), customers, options.config.currency],
    );
    for (const { table, temporaries } of tables) {
      await dropTemporary(store, table);
      for (const t of temporaries) await dropTemporary(store, t);
    }
    return { runId, asOf, customers, scorers: scorerInfo, models, notes, dataFingerprint, seconds: (Date.now() - started) / 1000 };
  });
}

/** Every score column of the registry, by name (for show, export and docs). */
export function scoreColumns(): Map<string, { scorer: Scorer; column: ScoreColumn }> {
  const out = new Map<string, { scorer: Scorer; column: ScoreColumn }>();
  for (const scorer of SCORERS) for (const column of scorer.columns) out.set(column.name, { scorer, column });
  return out;
}
