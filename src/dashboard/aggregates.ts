// What the dashboard shows that the runs do not already summarise (customers, revenue, the RFM grid, live accuracy): each
// computed once per run on its first view and kept in dashboard_cache, so that a page view reads a few rows, never every customer.
import type { KairosConfig } from '../config.js';
import { KairosError } from '../errors.js';
import { purchaseDaysSql } from '../features/purchases.js';
import { wilsonInterval, type Interval } from '../math/intervals.js';
import { quoteIdentifier, type Store } from '../store/db.js';

/**
 * What a cached aggregate was computed from: the last ingest batch, the erasures and the published runs. Any new
 * data, erasure or run changes it, and the aggregate is computed again on its next view.
 */
export async function cacheInputs(store: Store): Promise<string> {
  const row = await store.one<{ b: number | null; e: number | bigint; r: string | null }>(
    `SELECT (SELECT max(batch_id) FROM ingest_batches) AS b, (SELECT count(*) FROM erasures) AS e,
            (SELECT string_agg(run_id::VARCHAR, ',' ORDER BY run_id) FROM score_runs WHERE status = 'completed') AS r`,
  );
  return `batch ${row?.b ?? 0}; erasures ${Number(row?.e ?? 0)}; runs ${row?.r ?? ''}`;
}

/**
 * The value kept for (run, name) when it was computed from `inputs`, else computes it and keeps it (a store that
 * cannot be written, e.g. opened read-only, still gets the value). `computed` says whether this call computed it.
 */
export async function cached<T>(store: Store, runId: number, name: string, inputs: string, compute: () => Promise<T>): Promise<{ value: T; computed: boolean; seconds: number }> {
  const row = await store.one<{ inputs: string; value: string; seconds: number }>('SELECT inputs, value::VARCHAR AS value, seconds FROM dashboard_cache WHERE run_id = ? AND name = ?', [runId, name]);
  if (row && row.inputs === inputs) return { value: JSON.parse(row.value) as T, computed: false, seconds: row.seconds };
  const t0 = performance.now();
  const value = await compute();
  const seconds = (performance.now() - t0) / 1000;
  try {
    await store.run('INSERT OR REPLACE INTO dashboard_cache VALUES (?, ?, ?, now()::TIMESTAMP, ?, ?::JSON)', [runId, name, inputs, seconds, JSON.stringify(value)]);
  } catch (err) {
    if (!(err instanceof KairosError) || err.code !== 'STORE') throw err;
  }
  return { value, computed: true, seconds };
}

/** The latest completed run (the one the overview is of), or null. */
export async function latestRun(store: Store): Promise<{ runId: number; asOf: string; currency: string; finishedAt: string | null; customers: number | null; notes: string[] } | null> {
  const row = await store.one<{ run_id: number; as_of: string; currency: string; finished_at: string | null; customers: number | bigint | null; notes: string | null }>(
    `SELECT run_id, strftime(as_of, '%Y-%m-%d') AS as_of, currency, strftime(finished_at, '%Y-%m-%dT%H:%M:%SZ') AS finished_at, customers, notes::VARCHAR AS notes
     FROM score_runs WHERE status = 'completed' ORDER BY run_id DESC LIMIT 1`,
  );
  if (!row) return null;
  return {
    runId: Number(row.run_id),
    asOf: row.as_of,
    currency: row.currency,
    finishedAt: row.finished_at,
    customers: row.customers === null ? null : Number(row.customers),
    notes: row.notes ? (JSON.parse(row.notes) as string[]) : [],
  };
}

/** The overview's numbers: the store's customers and revenue, and the RFM grid of the published scores. */
export interface Overview {
  readonly customers: number;
  /** Customers the latest run scored. */
  readonly scored: number;
  readonly purchases: number;
  /** Net revenue of every order line (returns deducted), in the store's currency. */
  readonly revenue: number;
  /** Net revenue of the 365 days before the last order's day (included). */
  readonly revenue12m: number;
  readonly firstOrder: string | null;
  readonly lastOrder: string | null;
  /** Customers and their net spend (monetary) per recency score x frequency score (1-5; 5 best). */
  readonly rfmGrid: readonly { readonly r: number; readonly f: number; readonly customers: number; readonly monetary: number }[];
  /** Customers and their net spend per RFM segment. */
  readonly segments: readonly { readonly segment: string; readonly customers: number; readonly monetary: number }[];
}

/**
 * Computes the overview: a pass over the customers, one over the orders, one over the published RFM columns
 * (`rfmSource`: customer_scores, or a narrower relation of the same rows holding r_score, f_score, monetary and
 * rfm_segment). `scored` is the customers the latest run scored.
 */
export async function computeOverview(store: Store, rfmSource = 'customer_scores'): Promise<Overview> {
  const c = await store.one<{ n: number; scored: number | null }>(
    `SELECT (SELECT count(*) FROM customers)::DOUBLE AS n, (SELECT customers FROM score_runs WHERE status = 'completed' ORDER BY run_id DESC LIMIT 1)::DOUBLE AS scored`,
  );
  const o = await store.one<{ p: number; rev: number | null; rev12: number | null; first: string | null; last: string | null }>(
    `WITH e AS (SELECT max(ordered_at) AS last FROM orders)
     SELECT count(DISTINCT (customer_id, order_id))::DOUBLE AS p, sum(amount)::DOUBLE AS rev,
            (sum(amount) FILTER (WHERE ordered_at::DATE > (SELECT last FROM e)::DATE - 365))::DOUBLE AS rev12,
            strftime(min(ordered_at), '%Y-%m-%d') AS first, strftime(max(ordered_at), '%Y-%m-%d') AS last FROM orders`,
  );
  const grid = await store.all<{ r: number; f: number; n: number; m: number | null }>(
    `SELECT r_score AS r, f_score AS f, count(*)::DOUBLE AS n, sum(monetary)::DOUBLE AS m FROM ${rfmSource} WHERE r_score IS NOT NULL AND f_score IS NOT NULL GROUP BY 1, 2 ORDER BY 1, 2`,
  );
  const segments = await store.all<{ s: string; n: number; m: number | null }>(
    `SELECT rfm_segment AS s, count(*)::DOUBLE AS n, sum(monetary)::DOUBLE AS m FROM ${rfmSource} WHERE rfm_segment IS NOT NULL GROUP BY 1 ORDER BY 3 DESC NULLS LAST`,
  );
  return {
    customers: Number(c?.n ?? 0),
    scored: Number(c?.scored ?? 0),
    purchases: Number(o?.p ?? 0),
    revenue: Number(o?.rev ?? 0),
    revenue12m: Number(o?.rev12 ?? 0),
    firstOrder: o?.first ?? null,
    lastOrder: o?.last ?? null,
    rfmGrid: grid.map((g) => ({ r: Number(g.r), f: Number(g.f), customers: Number(g.n), monetary: Number(g.m ?? 0) })),
    segments: segments.map((s) => ({ segment: s.s, customers: Number(s.n), monetary: Number(s.m ?? 0) })),
  };
}

/** What an earlier run predicted, against what its customers did since: one score. */
export interface AccuracyCheck {
  readonly score: string;
  /** What is compared, in words. */
  readonly what: string;
  /** 'rate' (a probability against the share it came true for), 'count' (expected against actual purchase days). */
  readonly kind: 'rate' | 'count';
  /** Days after the as-of the prediction is about (null: the whole time since). */
  readonly horizonDays: number | null;
  /** 'measured'; 'waiting' until the horizon has passed in the data; 'absent' when the run did not write the score. */
  readonly status: 'measured' | 'waiting' | 'absent';
  readonly daysToWait: number | null;
  readonly customers: number;
  readonly meanPredicted: number | null;
  readonly meanObserved: number | null;
  /** For rates: Wilson's 95% interval of the observed share. */
  readonly observedInterval: Interval | null;
  /** Rates: Brier score (mean squared error of the probability); counts: mean absolute error per customer. */
  readonly error: number | null;
  /** The customers in ten equal groups by prediction: mean predicted and observed per group (calibration). */
  readonly bins: readonly { readonly customers: number; readonly predicted: number; readonly observed: number }[];
}

export interface LiveAccuracy {
  readonly runId: number;
  readonly asOf: string;
  /** The day after the last order in the store: the data ends there. */
  readonly dataEnd: string | null;
  readonly elapsedDays: number;
  readonly checks: readonly AccuracyCheck[];
}

/** The scores checked and how: the outcome each one predicts, in the data after the as-of. */
function accuracyTargets(config: KairosConfig): { score: string; kind: 'rate' | 'count'; horizon: number | null; outcome: 'any' | 'none' | 'days'; what: string }[] {
  const churn = config.learned.churnDays;
  return [
    { score: 'churn_risk', kind: 'rate', horizon: churn, outcome: 'none', what: `predicted churn risk against the share who did not buy in the ${churn} days after the as-of` },
    { score: 'churn_risk_purchase_model', kind: 'rate', horizon: churn, outcome: 'none', what: `the purchase model's churn risk against the share who did not buy in the ${churn} days after the as-of` },
    { score: 'conversion_probability_30d', kind: 'rate', horizon: 30, outcome: 'any', what: 'predicted conversion probability against the share who bought in the 30 days after the as-of' },
    {
      score: 'conversion_probability_30d_purchase_model',
      kind: 'rate',
      horizon: 30,
      outcome: 'any',
      what: "the purchase model's conversion probability against the share who bought in the 30 days after the as-of",
    },
    { score: 'expected_purchases_90d', kind: 'count', horizon: 90, outcome: 'days', what: 'expected purchase days against the purchase days in the 90 days after the as-of' },
    {
      score: 'p_alive',
      kind: 'rate',
      horizon: null,
      outcome: 'any',
      what: 'P(alive) against the share who bought since the as-of: a customer who bought was alive, one who did not may still be, so the share is a lower bound of the truth',
    },
  ];
}

const DAY_MS = 86_400_000;
const daysBetween = (a: string, b: string): number => Math.round((Date.parse(`${b}T00:00:00Z`) - Date.parse(`${a}T00:00:00Z`)) / DAY_MS);

/**
 * Computes the live accuracy of run `runId`: for each score it wrote and whose horizon has passed in the data, the
 * customers it scored, what it predicted and what they did after its as-of (purchase days as the models count them:
 * features/purchases.ts), overall and in ten groups by prediction. A score whose horizon has not passed is 'waiting',
 * never compared on a shorter window.
 */
export async function computeLiveAccuracy(store: Store, runId: number, config: KairosConfig): Promise<LiveAccuracy> {
  const run = await store.one<{ as_of: string }>(`SELECT strftime(as_of, '%Y-%m-%d') AS as_of FROM score_runs WHERE run_id = ? AND status IN ('completed', 'compacted')`, [runId]);
  if (!run) throw new KairosError('NOT_FOUND', `no completed run ${runId}`, { hint: 'the evolution page lists the runs' });
  const asOf = run.as_of;
  const end = await store.value<string | null>(`SELECT strftime(max(ordered_at)::DATE + 1, '%Y-%m-%d') FROM orders`);
  const elapsed = end === null ? 0 : Math.max(0, daysBetween(asOf, end));
  const tables = new Map(
    (await store.all<{ column_name: string; scores_table: string }>('SELECT column_name, scores_table FROM run_summaries WHERE run_id = ?', [runId])).map((r) => [r.column_name, r.scores_table]),
  );
  const targets = accuracyTargets(config);
  const checks: AccuracyCheck[] = [];
  const empty = { customers: 0, meanPredicted: null, meanObserved: null, observedInterval: null, error: null, bins: [] };
  const measurable = targets.filter((t) => tables.has(t.score) && (t.horizon === null ? elapsed > 0 : elapsed >= t.horizon));
  if (measurable.length > 0) {
    // Purchase days of every customer after the as-of, once, per horizon: one pass over the orders.
    const horizons = [...new Set(measurable.map((t) => t.horizon).filter((h): h is number => h !== null))];
    await store.run(
      `CREATE OR REPLACE TEMP TABLE __live_days AS SELECT customer_id, count(*)::DOUBLE AS d_all${horizons
        .map((h) => `, (count(*) FILTER (WHERE day < ?::DATE + ${Math.floor(h)}))::DOUBLE AS d_${Math.floor(h)}`)
        .join('')}
       FROM (${purchaseDaysSql('orders')}) WHERE day >= ?::DATE GROUP BY customer_id`,
      [...horizons.map(() => asOf), asOf],
    );
  }
  try {
    for (const t of targets) {
      const table = tables.get(t.score);
      const base = { score: t.score, what: t.what, kind: t.kind, horizonDays: t.horizon };
      if (table === undefined) {
        checks.push({ ...base, status: 'absent', daysToWait: null, ...empty });
        continue;
      }
      if (!measurable.includes(t)) {
        checks.push({ ...base, status: 'waiting', daysToWait: t.horizon === null ? 1 : t.horizon - elapsed, ...empty });
        continue;
      }
      const days = t.horizon === null ? 'd_all' : `d_${Math.floor(t.horizon)}`;
      const y = `coalesce(d.${days}, 0)`;
      const outcome = t.outcome === 'days' ? y : t.outcome === 'any' ? `(${y} > 0)::DOUBLE` : `(${y} = 0)::DOUBLE`;
      const col = quoteIdentifier(t.score);
      const bins = await store.all<{ n: number; sv: number; so: number; se: number; ae: number }>(
        `WITH j AS (SELECT p.customer_id, p.${col}::DOUBLE AS v, ${outcome} AS o FROM ${quoteIdentifier(table)} p LEFT JOIN __live_days d USING (customer_id)
                    WHERE p.run_id = ? AND p.${col} IS NOT NULL AND isfinite(p.${col}::DOUBLE)),
              b AS (SELECT *, ntile(10) OVER (ORDER BY v, customer_id) AS bin FROM j)
         SELECT count(*)::DOUBLE AS n, sum(v) AS sv, sum(o) AS so, sum((v - o) * (v - o)) AS se, sum(abs(v - o)) AS ae FROM b GROUP BY bin ORDER BY bin`,
        [runId],
      );
      const n = bins.reduce((a, b) => a + Number(b.n), 0);
      const so = bins.reduce((a, b) => a + Number(b.so), 0);
      const sv = bins.reduce((a, b) => a + Number(b.sv), 0);
      checks.push({
        ...base,
        status: 'measured',
        daysToWait: null,
        customers: n,
        meanPredicted: n > 0 ? sv / n : null,
        meanObserved: n > 0 ? so / n : null,
        observedInterval: t.kind === 'rate' && n > 0 ? wilsonInterval(Math.round(so), n) : null,
        error: n > 0 ? bins.reduce((a, b) => a + Number(t.kind === 'rate' ? b.se : b.ae), 0) / n : null,
        bins: bins.map((b) => ({ customers: Number(b.n), predicted: Number(b.sv) / Number(b.n), observed: Number(b.so) / Number(b.n) })),
      });
    }
  } finally {
    await store.run('DROP TABLE IF EXISTS __live_days');
  }
  return { runId, asOf, dataEnd: end, elapsedDays: elapsed, checks };
}

/** The day after the last order, 'YYYY-MM-DD', or null without orders: where the data ends. */
export async function dataEnd(store: Store): Promise<string | null> {
  return store.value<string | null>(`SELECT strftime(max(ordered_at)::DATE + 1, '%Y-%m-%d') FROM orders`);
}

/** The run the live accuracy shows by default: the latest completed one whose 30-day horizon has passed, else the latest. */
export function defaultAccuracyRun(completed: readonly { runId: number; asOf: string }[], end: string | null): number | undefined {
  const ripe = completed.filter((r) => end !== null && Date.parse(`${r.asOf}T00:00:00Z`) + 30 * DAY_MS <= Date.parse(`${end}T00:00:00Z`));
  return (ripe.at(-1) ?? completed.at(-1))?.runId;
}

/**
 * Computes and keeps what the first views would (the overview's aggregates and the default run's live accuracy), so
 * that the first person to open the dashboard after a start does not wait for them. Returns what it computed.
 */
export async function warmUp(store: Store, config: KairosConfig, rfmSource: () => Promise<string>): Promise<string[]> {
  const run = await latestRun(store);
  if (run === null) return [];
  const inputs = await cacheInputs(store);
  const done: string[] = [];
  if ((await cached(store, run.runId, 'overview', inputs, async () => computeOverview(store, await rfmSource()))).computed) done.push('overview');
  const completed = (await store.all<{ run_id: number; as_of: string }>(`SELECT run_id, strftime(as_of, '%Y-%m-%d') AS as_of FROM score_runs WHERE status = 'completed' ORDER BY run_id`)).map((r) => ({
    runId: Number(r.run_id),
    asOf: r.as_of,
  }));
  const accuracyRun = defaultAccuracyRun(completed, await dataEnd(store));
  if (accuracyRun !== undefined && (await cached(store, accuracyRun, 'live-accuracy', inputs, () => computeLiveAccuracy(store, accuracyRun, config))).computed) done.push(`live accuracy of run ${accuracyRun}`);
  return done;
}
