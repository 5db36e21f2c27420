// Real-time rescoring: a customer's purchase-model scores updated at once after a new order, in closed form with the published run's fitted models (no refit), kept in rescored_scores until the next run.
import { DEFAULT_CONFIG } from '../config.js';
import { KairosError } from '../errors.js';
import { DaySummaries, observationEnd, summarySql } from '../features/summary.js';
import { refusedOrdersSql } from '../features/purchases.js';
import { getTransactionModel, isTransactionModelName, parseFit, type GammaGammaParams, type ModelParams, type TransactionModelName } from '../models/index.js';
import { quoteIdentifier, type ColumnData, type SqlValue, type Store } from '../store/db.js';
import { expectedSpend } from './clv/fitting.js';
import { predictClv, round2, type ClvSettings } from './clv/predict.js';
import { LEARNED_TASK_COLUMNS } from './learned/index.js';
import { itemColumns, type ScoreRegistry } from './registry.js';
import type { SnapshotOrderLine } from './lookup.js';
import { publishedResults, resultsTable } from './results.js';

/** The purchase scores a rescoring recomputes (the rfm figures a purchase changes, and the clv scores). */
export const RESCORED_COLUMNS = [
  'first_order_date',
  'last_order_date',
  'recency_days',
  'frequency',
  'monetary',
  'p_alive',
  'churn_risk_purchase_model',
  'expected_purchases_90d',
  'conversion_probability_30d_purchase_model',
  'expected_order_value',
  'clv_12m_purchase_model',
  'next_order_date',
  'churn_decisive_date',
] as const;

/** The winner columns of the learned scorer: rescored when the purchase model is the winner for the customer. */
const WINNERS = Object.values(LEARNED_TASK_COLUMNS);

/** The learned scorer's winner columns a rescoring may fill (churn_risk, conversion_probability_30d, clv_12m). */
export const RESCORED_WINNERS: readonly string[] = WINNERS.map((w) => w.winner);

/** Why the other scores wait for the next run, by scorer. */
const WHY_NOT: Readonly<Record<string, string>> = {
  rfm: 'ranks among all customers (quantile bins): recomputed by the next run',
  learned: 'boosted trees on features of the whole customer snapshot (and calibration on all customers): recomputed by the next run',
};

/** What a rescoring uses: the published clv run's fitted models and settings. */
export interface RescoringModels {
  readonly runId: number;
  /** The run's as-of instant, 'YYYY-MM-DD HH:MM:SS'. */
  readonly asOf: string;
  /** The run's last observed day, in days since 1970-01-01. */
  readonly endDay: number;
  readonly model: TransactionModelName;
  readonly params: ModelParams;
  /** Gamma-Gamma's parameters, or null when the run fell back to one mean order value for everyone. */
  readonly spend: GammaGammaParams | null;
  /** The run's expected order value for everyone, when Gamma-Gamma was not fitted. */
  readonly fallbackSpend: number | null;
  readonly settings: ClvSettings;
}

/** A customer's rescoring. */
export interface Rescored {
  readonly customerId: string;
  readonly runId: number;
  readonly model: TransactionModelName;
  /** ISO instant. */
  readonly rescoredAt: string;
  /** The customer's last observed day: the later of the run's and the customer's last purchase day. */
  readonly observedTo: string;
  /** The purchase summary the model saw, in days: x repeat purchase days, t_x, T, m mean repeat spend. */
  readonly summary: { readonly x: number; readonly tx: number; readonly T: number; readonly m: number };
  /** The rescored columns and their new values. */
  readonly scores: Readonly<Record<string, number | string | null>>;
  /** The same columns in the published run (null: not scored by it). */
  readonly previous: Readonly<Record<string, unknown>>;
}

/** The scores that a rescoring leaves as the run published them, by scorer, and why. */
export interface NotRescored {
  readonly scorer: string;
  readonly columns: string[];
  readonly reason: string;
}

const DAY_MS = 86_400_000;
const dayOf = (iso: string): number => Date.parse(`${iso}T00:00:00Z`) / DAY_MS;
const isoDay = (day: number): string => new Date(day * DAY_MS).toISOString().slice(0, 10);

/** Fitted models per store and run: a run's parameters never change, so they are read once. */
const loaded = new WeakMap<Store, Map<number, RescoringModels>>();

/** The published clv run's fitted models and settings; NOT_FOUND or INSUFFICIENT_DATA when there is nothing to rescore with. */
export async function rescoringModels(store: Store, registry: ScoreRegistry): Promise<RescoringModels> {
  const clv = (await publishedResults(store, registry)).get('clv');
  if (clv === undefined) {
    throw new KairosError('NOT_FOUND', 'no published purchase-model scores to rescore from', { hint: 'run kairos score (POST /runs) first: rescoring uses its fitted models' });
  }
  const cache = loaded.get(store) ?? new Map<number, RescoringModels>();
  loaded.set(store, cache);
  const cached = cache.get(clv.runId);
  if (cached) return cached;
  const fits = await store.all<{ model: string; fit: string }>(
    `SELECT model, fit::VARCHAR AS fit FROM model_fits WHERE run_id = ? AND model IN ('bg-nbd', 'pareto-nbd', 'mbg-nbd', 'gamma-gamma')`,
    [clv.runId],
  );
  const transaction = fits.find((f) => isTransactionModelName(f.model));
  if (transaction === undefined || !isTransactionModelName(transaction.model)) {
    throw new KairosError('INSUFFICIENT_DATA', `run ${clv.runId} fitted no purchase model: its clv scores are empty, and there is nothing to rescore with`, {
      hint: 'GET /runs/{id} gives the run notes: why the model could not be fitted',
    });
  }
  const gg = fits.find((f) => f.model === 'gamma-gamma');
  const config = JSON.parse(String(await store.value('SELECT config::VARCHAR FROM score_runs WHERE run_id = ?', [clv.runId]))) as {
    scores?: Partial<typeof DEFAULT_CONFIG.scores>;
    learned?: Partial<typeof DEFAULT_CONFIG.learned>;
  };
  const scores = { ...DEFAULT_CONFIG.scores, ...config.scores };
  const fallback = gg === undefined ? await store.value<number | null>('SELECT any_value(expected_order_value) FROM scores_clv WHERE run_id = ?', [clv.runId]) : null;
  const models: RescoringModels = {
    runId: clv.runId,
    asOf: clv.asOf,
    endDay: dayOf(observationEnd(clv.asOf)),
    model: transaction.model,
    params: parseFit(transaction.fit).params,
    spend: gg === undefined ? null : (parseFit(gg.fit).params as GammaGammaParams),
    fallbackSpend: fallback === null ? null : Number(fallback),
    settings: {
      clvMonths: scores.clvMonths,
      monthlyDiscountRate: scores.monthlyDiscountRate,
      decisiveThreshold: scores.decisiveThreshold,
      churnDays: config.learned?.churnDays ?? DEFAULT_CONFIG.learned.churnDays,
    },
  };
  cache.set(clv.runId, models);
  return models;
}

/** Which customers: one by id, or those of an ingest batch of orders. */
export type RescoreSelection = { readonly customerId: string } | { readonly batchId: number };

/** The temp table of the rescored customers' order lines. */
const LINES = '__rescore_lines';

/** SQL of the selected customers' orders (every order, not only those before the run's as-of), parameter $2. */
function ordersOf(selection: RescoreSelection): { sql: string; value: SqlValue } {
  return 'customerId' in selection
    ? { sql: 'SELECT * FROM orders WHERE customer_id = $2', value: selection.customerId }
    : { sql: 'SELECT * FROM orders WHERE customer_id IN (SELECT customer_id FROM orders WHERE batch_id = $2)', value: selection.batchId };
}

interface SummaryRow extends Record<string, unknown> {
  customer_id: string;
  x: number;
  tx: number;
  T: number;
  m: number;
  last_day: number;
  first_order_date: string | null;
  last_order_date: string | null;
  frequency: number | null;
  monetary: number | null;
}

/**
 * The selected customers' purchase summaries (x, t_x, T to the run's last observed day `endDay`, m, last day) and
 * rfm figures, sorted by customer_id. Their lines are read once; when none of them could belong to a return or a
 * cancellation (no quantity <= 0, no negative amount), as in the run's list pass, the summary is DaySummaries' (the
 * run's own code) and the rfm figures follow from the lines; otherwise the run's SQL (summarySql and the
 * refused-order rules) runs over a temp table of those lines. Customers without a purchase are left out.
 */
async function customerSummaries(store: Store, selection: RescoreSelection, endDay: number, held?: RescoreOptions['orders']): Promise<SummaryRow[]> {
  const orders = ordersOf(selection);
  type Line = { customer_id: string; day: number; order_id: string; quantity: number | null; amount: number | null };
  const own = 'customerId' in selection ? held?.(selection.customerId) : undefined;
  const lines =
    own === undefined
      ? await store.all<Line>(
          `SELECT customer_id, (ordered_at::DATE - DATE '1970-01-01')::INTEGER AS day, order_id, quantity, amount FROM (${orders.sql.replace('$2', '?')}) ORDER BY customer_id`,
          [orders.value],
        )
      : [
          ...own.lines.map((l) => ({ customer_id: orders.value as string, day: l.d, order_id: l.o, quantity: l.q, amount: l.a })),
          // Only the lines of later batches from the store: DuckDB skips the row groups of older ones by their batch_id range.
          ...(own.complete
            ? []
            : await store.all<Line>(
            `SELECT customer_id, (ordered_at::DATE - DATE '1970-01-01')::INTEGER AS day, order_id, quantity, amount FROM orders WHERE batch_id > ? AND customer_id = ?`,
            [own.batch, orders.value],
          )),
        ];
  const suspect = lines.some((l) => l.quantity === null || l.amount === null || l.quantity <= 0 || l.amount < 0);
  if (!suspect) {
    const byCustomer = new Map<string, typeof lines>();
    for (const l of lines) {
      const own = byCustomer.get(l.customer_id);
      if (own === undefined) byCustomer.set(l.customer_id, [l]);
      else own.push(l);
    }
    const ids = [...byCustomer.keys()];
    const counts = ids.map((id) => (byCustomer.get(id) ?? []).length);
    const offsets = new Uint32Array(ids.length);
    for (let i = 1; i < ids.length; i++) offsets[i] = (offsets[i - 1] as number) + (counts[i - 1] as number);
    const days = Int32Array.from(lines, (l) => l.day);
    const amounts = Float64Array.from(lines, (l) => l.amount as number);
    const lengths = Uint32Array.from(counts);
    const summaries = new DaySummaries(ids.length, endDay);
    summaries.add({ offsets, lengths, values: days }, { offsets, lengths, values: amounts }, ids.length);
    const s = summaries.finish();
    return ids.map((id, i) => {
      const own = byCustomer.get(id) ?? [];
      const first = Math.min(...own.map((l) => l.day));
      return {
        customer_id: id,
        x: s.x[i] as number,
        tx: s.tx[i] as number,
        T: s.T[i] as number,
        m: s.m[i] as number,
        last_day: s.lastDay[i] as number,
        first_order_date: isoDay(first),
        last_order_date: isoDay(s.lastDay[i] as number),
        frequency: new Set(own.map((l) => l.order_id)).size,
        monetary: round2(own.reduce((a, l) => a + (l.amount as number), 0)),
      };
    });
  }
  // The run's SQL: the lines into a temp table (the statement reads them five times), then summary and rfm figures.
  await store.run(`CREATE OR REPLACE TEMP TABLE ${LINES} AS ${orders.sql.replace('$2', '?')}`, [orders.value]);
  try {
    return await store.all<SummaryRow>(
      `WITH sel AS (SELECT * FROM ${LINES}),
       refused AS (${refusedOrdersSql('sel')}),
       rfm AS (
         SELECT o.customer_id, min(o.ordered_at) FILTER (WHERE r.order_id IS NULL)::DATE::VARCHAR AS first_order_date,
           max(o.ordered_at) FILTER (WHERE r.order_id IS NULL)::DATE::VARCHAR AS last_order_date,
           count(DISTINCT o.order_id) FILTER (WHERE r.order_id IS NULL)::INTEGER AS frequency, round(sum(o.amount), 2)::DOUBLE AS monetary
         FROM sel o LEFT JOIN refused r ON o.customer_id = r.customer_id AND o.order_id = r.order_id GROUP BY o.customer_id
       )
       SELECT s.*, rfm.first_order_date, rfm.last_order_date, rfm.frequency, rfm.monetary
       FROM (${summarySql('sel')}) s JOIN rfm USING (customer_id) ORDER BY s.customer_id`,
      [isoDay(endDay)],
    );
  } finally {
    await store.run(`DROP TABLE IF EXISTS ${LINES}`);
  }
}

/**
 * Rescores the selected customers with the published run's fitted models: their purchase summary (x, t_x, T, m) from
 * all their orders, by the run's own SQL (features/summary.ts) and purchase rules, observed up to the later of the
 * run's last observed day and their own last purchase day; then the clv scores by the run's own code
 * (clv/predict.ts), the rfm figures a purchase changes (dates, recency, frequency, net spend), and the learned
 * scorer's winner columns where the purchase model is the customer's winner. The rows replace the customers' earlier
 * rescorings in rescored_scores (those of older runs are dropped). Customers with no purchase are left out.
 */
export async function rescoreCustomers(store: Store, registry: ScoreRegistry, selection: RescoreSelection, options: RescoreOptions = {}): Promise<Rescored[]> {
  const out = await computeRescoring(store, registry, selection, options);
  await saveRescorings(store, out);
  return out;
}

/** How a rescoring reads what the caller may hold already. */
export interface RescoreOptions {
  readonly now?: Date;
  /** The customer's published row when the caller holds it (kairos serve's snapshot); undefined: read from the store. */
  readonly published?: (customerId: string) => Readonly<Record<string, unknown>> | undefined;
  /**
   * The customer's order lines of the batches up to `batch` when the caller holds them (kairos serve's snapshot): the
   * store is read for the later ones only. Undefined: every line is read from the store.
   */
  readonly orders?: (customerId: string) => HeldOrders | undefined;
  /** The published run's fitted models when the caller holds them (rescoringModels' answer for the published state). */
  readonly models?: RescoringModels;
}

/** A customer's order lines held by the caller. */
export interface HeldOrders {
  /** The lines of the batches up to `batch`. */
  readonly batch: number;
  readonly lines: readonly SnapshotOrderLine[];
  /** True when no later batch exists: the store is not read at all. */
  readonly complete: boolean;
}

/** rescoreCustomers without the writing: reads only (kairos serve computes on a read connection and writes in groups, saveRescorings). */
export async function computeRescoring(store: Store, registry: ScoreRegistry, selection: RescoreSelection, options: RescoreOptions = {}): Promise<Rescored[]> {
  const now = options.now ?? new Date();
  const models = options.models ?? (await rescoringModels(store, registry));
  const rows = await customerSummaries(store, selection, models.endDay, options.orders);
  if (rows.length === 0) return [];
  const n = rows.length;
  const x = new Float64Array(n);
  const tx = new Float64Array(n);
  const T = new Float64Array(n);
  const m = new Float64Array(n);
  const lastDay = new Float64Array(n);
  const endDay = new Float64Array(n);
  rows.forEach((r, i) => {
    // Observed up to the customer's newest purchase when it is after the run's last observed day: T grows by as much.
    const to = Math.max(models.endDay, Number(r.last_day));
    x[i] = Number(r.x);
    tx[i] = Number(r.tx);
    T[i] = Number(r.T) + (to - models.endDay);
    m[i] = Number(r.m);
    lastDay[i] = Number(r.last_day);
    endDay[i] = to;
  });
  const spend = models.spend === null ? new Float64Array(n).fill(models.fallbackSpend ?? 0) : expectedSpend(models.spend, x, m);
  const p = predictClv(getTransactionModel(models.model as string), models.params, { x, tx, T }, spend, lastDay, endDay, models.settings);

  // The published values, and whose model fills the learned scorer's winner columns for each customer.
  const ids = rows.map((r) => r.customer_id);
  const before = await publishedRows(store, registry, ids, options.published);
  const asOfDay = dayOf(models.asOf.slice(0, 10));
  const at = now.toISOString();
  const date = (day: number): string | null => (Number.isFinite(day) ? isoDay(day) : null);
  const out: Rescored[] = rows.map((r, i) => {
    const was = before.get(r.customer_id) ?? {};
    const last = r.last_order_date;
    const scores: Record<string, number | string | null> = {
      first_order_date: r.first_order_date,
      last_order_date: last,
      // Days to the as-of date, moved by as many days as the customer's observation was.
      recency_days: last === null ? null : asOfDay + ((endDay[i] as number) - models.endDay) - dayOf(last),
      frequency: r.frequency,
      monetary: r.monetary,
      p_alive: p.pAlive[i] as number,
      churn_risk_purchase_model: 1 - (p.buysInChurnWindow[i] as number),
      expected_purchases_90d: p.expectedPurchases90d[i] as number,
      conversion_probability_30d_purchase_model: p.conversion30d[i] as number,
      expected_order_value: p.expectedOrderValue[i] as number,
      clv_12m_purchase_model: p.clv[i] as number,
      next_order_date: date(p.nextOrderDay[i] as number),
      churn_decisive_date: date(p.churnDecisiveDay[i] as number),
    };
    for (const w of WINNERS) if (was[w.model] === models.model) scores[w.winner] = scores[w.purchase] ?? null;
    const previous = Object.fromEntries(Object.keys(scores).map((k) => [k, was[k] ?? null]));
    return {
      customerId: r.customer_id,
      runId: models.runId,
      model: models.model,
      rescoredAt: at,
      observedTo: isoDay(endDay[i] as number),
      summary: { x: x[i] as number, tx: tx[i] as number, T: T[i] as number, m: m[i] as number },
      scores,
      previous,
    };
  });
  return out;
}

/**
 * Writes rescorings to rescored_scores in one transaction: each customer's replaces their earlier one (the newest by
 * rescored_at wins, in `rows` and against the table), and the rescorings of runs older than theirs are dropped (a rescoring
 * computed just before a run published, of the run before it, is kept but never shown: reads take the published run's).
 */
export async function saveRescorings(store: Store, rows: readonly Rescored[]): Promise<void> {
  if (rows.length === 0) return;
  const last = new Map<string, Rescored>();
  for (const r of rows) if ((last.get(r.customerId)?.rescoredAt ?? '') <= r.rescoredAt) last.set(r.customerId, r);
  const out = [...last.values()];
  const newest = Math.max(...out.map((r) => r.runId));
  // The rows go in through a temp table filled by DuckDB's appender (typed columns, no text in the SQL): binding some
  // thirty values a row took a third of a millisecond a row.
  const text = (c: string): ColumnData => ({ name: c, type: 'VARCHAR', values: out.map((r) => (r.scores[c] ?? null) as string | null) });
  const number = (c: string): ColumnData => ({ name: c, type: 'DOUBLE', values: out.map((r) => (r.scores[c] ?? null) as number | null) });
  const dates = new Set<string>(RESCORED_DATES);
  const columns: ColumnData[] = [
    { name: 'customer_id', type: 'VARCHAR', values: out.map((r) => r.customerId) },
    { name: 'run_id', type: 'INTEGER', values: out.map((r) => r.runId) },
    { name: 'rescored_at', type: 'VARCHAR', values: out.map((r) => r.rescoredAt.replace('T', ' ').replace('Z', '')) },
    { name: 'observed_to', type: 'VARCHAR', values: out.map((r) => r.observedTo) },
    { name: 'model', type: 'VARCHAR', values: out.map((r) => r.model) },
    { name: 'x', type: 'DOUBLE', values: out.map((r) => r.summary.x) },
    { name: 'tx', type: 'DOUBLE', values: out.map((r) => r.summary.tx) },
    { name: 'T', type: 'DOUBLE', values: out.map((r) => r.summary.T) },
    { name: 'm', type: 'DOUBLE', values: out.map((r) => r.summary.m) },
    ...RESCORED_COLUMNS.map((c) => (dates.has(c) ? text(c) : number(c))),
    ...WINNERS.map((w) => number(w.winner)),
  ];
  const names = columns.map((c) => quoteIdentifier(c.name)).join(', ');
  // The table's own types (TIMESTAMP, DATE, INTEGER) by cast from the temp table's text and doubles.
  const casts = columns.map((c) => `CAST(${quoteIdentifier(c.name)} AS ${RESCORED_TYPES[c.name] ?? (c.type === 'VARCHAR' ? 'VARCHAR' : 'DOUBLE')})`).join(', ');
  if (!Number.isSafeInteger(newest)) throw new KairosError('INTERNAL', `run id ${newest} is not a whole number`);
  // The temp table (this connection's own, replaced by the next group), then the rows' move: one transaction sent
  // to DuckDB in one call (Store.runScript), not four.
  await store.writeColumns(RESCORED_ROWS, columns, { temporary: true });
  // A customer's row stays when it is newer than the one arriving (a rescoring computed before an ingest's, written after it).
  await store.runScript([
    `DELETE FROM rescored_scores s WHERE s.run_id < ${newest} OR EXISTS (SELECT 1 FROM ${RESCORED_ROWS} n WHERE n.customer_id = s.customer_id AND CAST(n.rescored_at AS TIMESTAMP) >= s.rescored_at)`,
    `INSERT INTO rescored_scores (${names}) SELECT ${casts} FROM ${RESCORED_ROWS} n WHERE NOT EXISTS (SELECT 1 FROM rescored_scores s WHERE s.customer_id = n.customer_id)`,
  ]);
}

/** The temp table of a group of rescorings on their way to rescored_scores. */
const RESCORED_ROWS = '__rescored_rows';

/** The rescored columns that are dates (the others are numbers). */
const RESCORED_DATES = ['first_order_date', 'last_order_date', 'next_order_date', 'churn_decisive_date'] as const;

/** rescored_scores' types other than VARCHAR and DOUBLE (migration 9). */
const RESCORED_TYPES: Readonly<Record<string, string>> = {
  run_id: 'INTEGER',
  rescored_at: 'TIMESTAMP',
  observed_to: 'DATE',
  recency_days: 'INTEGER',
  frequency: 'INTEGER',
  ...Object.fromEntries(RESCORED_DATES.map((c) => [c, 'DATE'])),
};

/**
 * The customers' published values of the columns a rescoring changes, and the winners' models: from `held` when it
 * has the customer, otherwise read from each scorer's results table at its published run (point reads: the
 * customer_scores view joins every scorer's whole run).
 */
async function publishedRows(
  store: Store,
  registry: ScoreRegistry,
  ids: readonly string[],
  held?: (customerId: string) => Readonly<Record<string, unknown>> | undefined,
): Promise<Map<string, Record<string, unknown>>> {
  const wanted = new Set<string>([...RESCORED_COLUMNS, ...WINNERS.flatMap((w) => [w.winner, w.model])]);
  const out = new Map<string, Record<string, unknown>>(ids.map((id) => [id, {}]));
  const missing: string[] = [];
  for (const id of ids) {
    const row = held?.(id);
    if (row === undefined) missing.push(id);
    else Object.assign(out.get(id) ?? {}, Object.fromEntries(Object.entries(row).filter(([k]) => wanted.has(k))));
  }
  if (missing.length === 0) return out;
  ids = missing;
  const state = await publishedResults(store, registry);
  for (const scorer of registry.scorers) {
    const columns = scorer.columns.map((c) => c.name).filter((c) => wanted.has(c));
    const st = state.get(scorer.name);
    if (columns.length === 0 || st === undefined) continue;
    for (let k = 0; k < ids.length; k += 500) {
      const chunk = ids.slice(k, k + 500);
      const rows = await store.all(
        `SELECT customer_id, ${columns.map(quoteIdentifier).join(', ')} FROM ${quoteIdentifier(resultsTable(scorer.name))} WHERE run_id = ? AND customer_id IN (${chunk.map(() => '?').join(', ')})`,
        [st.runId, ...chunk],
      );
      for (const r of rows) Object.assign(out.get(String(r['customer_id'])) ?? {}, r);
    }
  }
  return out;
}

/** The scores a rescoring of this customer leaves as published, by scorer, with the reason (the winners too when the trees won). */
export function notRescored(registry: ScoreRegistry, rescored: ReadonlySet<string>): NotRescored[] {
  const out: NotRescored[] = [];
  for (const s of registry.scorers) {
    const columns = [...s.columns.map((c) => c.name), ...(s.items ?? []).flatMap((o) => itemColumns(o).map((c) => c.name))].filter((c) => !rescored.has(c) && c !== 'clv_model');
    if (columns.length === 0) continue;
    const winners = s.name === 'learned' ? columns.filter((c) => WINNERS.some((w) => w.winner === c)) : [];
    const rest = columns.filter((c) => !winners.includes(c));
    if (winners.length > 0) out.push({ scorer: s.name, columns: winners, reason: 'the boosted trees, not the purchase model, fill these for this customer: recomputed by the next run' });
    if (rest.length > 0) out.push({ scorer: s.name, columns: rest, reason: WHY_NOT[s.name] ?? `computed by the ${s.name} scorer over the whole data: recomputed by the next run` });
  }
  return out;
}

/** A rescoring as rescored_scores holds it: the rescored columns' values, by name, and when, with which run and model. */
export interface StoredRescoring {
  readonly values: Record<string, unknown>;
  /** ISO instant. */
  readonly rescoredAt: string;
  readonly runId: number;
  readonly observedTo: string;
  readonly model: string;
}

const STORED_ROW = `SELECT *, strftime(rescored_at, '%Y-%m-%dT%H:%M:%S.%gZ') AS rescored_at_text FROM rescored_scores`;

function storedRescoring(row: Record<string, unknown>): StoredRescoring {
  const values: Record<string, unknown> = {};
  for (const c of RESCORED_COLUMNS) values[c] = row[c] ?? null;
  for (const w of WINNERS) if (row[w.winner] !== null && row[w.winner] !== undefined) values[w.winner] = row[w.winner];
  return { values, rescoredAt: String(row['rescored_at_text']), runId: Number(row['run_id']), observedTo: String(row['observed_to']), model: String(row['model']) };
}

/** A customer's rescored values (the columns, by name) and when, when a rescoring of the published run exists. */
export async function rescoredScores(store: Store, registry: ScoreRegistry, customerId: string): Promise<StoredRescoring | null> {
  const clv = (await publishedResults(store, registry)).get('clv');
  if (clv === undefined) return null;
  const row = await store.one(`${STORED_ROW} WHERE customer_id = ? AND run_id = ?`, [customerId, clv.runId]);
  return row ? storedRescoring(row) : null;
}

/** Every rescoring of the run `runId`, by customer (at most `limit`: more, and the map holds `limit` of them). */
export async function rescoringsOfRun(store: Store, runId: number, limit: number): Promise<Map<string, StoredRescoring>> {
  const rows = await store.all(`${STORED_ROW} WHERE run_id = ? LIMIT ?`, [runId, limit]);
  return new Map(rows.map((r) => [String(r['customer_id']), storedRescoring(r)]));
}
