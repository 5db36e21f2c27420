// Per-run summaries of every score a run wrote: distributions, drift from the previous run of the same scorer (population
// stability index) and migration between categories. Computed once when the run publishes, so that evolution pages and
// `kairos drift` read a few rows instead of scanning a million customers per view.
import { KairosError } from '../errors.js';
import { quoteIdentifier, type Store } from '../store/db.js';

/** Quantiles kept for a numeric score. */
export const QUANTILES = [0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99] as const;

/** A text score with more distinct values than this is an identifier or a free text: counted, not binned. */
export const MAX_CATEGORIES = 30;

/** Shares below this are floored when the index is computed (an empty bin would make it infinite). */
export const PSI_FLOOR = 1e-4;

/** The usual reading of a population stability index. */
export function psiVerdict(psi: number): 'stable' | 'moderate shift' | 'major shift' {
  return psi < 0.1 ? 'stable' : psi < 0.25 ? 'moderate shift' : 'major shift';
}

/**
 * Population stability index of `actual` against `expected` counts over the same bins:
 * sum_i (a_i - e_i) ln(a_i / e_i) with shares a_i, e_i floored at PSI_FLOOR (Siddiqi 2006, "Credit Risk Scorecards",
 * ch. 8). Null when either side is empty.
 */
export function populationStabilityIndex(expected: readonly number[], actual: readonly number[]): number | null {
  if (expected.length !== actual.length) throw new KairosError('INTERNAL', `PSI over ${expected.length} and ${actual.length} bins`);
  const te = expected.reduce((a, b) => a + b, 0);
  const ta = actual.reduce((a, b) => a + b, 0);
  if (te <= 0 || ta <= 0) return null;
  let psi = 0;
  for (let i = 0; i < expected.length; i++) {
    const e = Math.max(PSI_FLOOR, (expected[i] as number) / te);
    const a = Math.max(PSI_FLOOR, (actual[i] as number) / ta);
    psi += (a - e) * Math.log(a / e);
  }
  return psi;
}

/**
 * A numeric score's summary: its spread, its deciles (the bins of the next run's index) and the drift from the
 * previous run. Quantiles are DuckDB's approx_quantile (a t-digest: within a fraction of a percentile, and a pass
 * over a million rows instead of a sort per column); the bins only need to be the same for both runs compared.
 */
export interface NumericSummary {
  readonly kind: 'number';
  readonly n: number;
  readonly nulls: number;
  readonly mean: number | null;
  readonly min: number | null;
  readonly max: number | null;
  /** At QUANTILES. */
  readonly quantiles: readonly (number | null)[];
  /** Decile edges of this run (9 values): the next run is binned on them. */
  readonly edges: readonly number[];
  /** Customers of this run in the previous run's bins (10 bins), and the index against the previous run's counts. */
  readonly previous: { readonly runId: number; readonly counts: readonly number[]; readonly psi: number | null } | null;
  /** Customers of this run in its own decile bins. */
  readonly counts: readonly number[];
}

/** A categorical score's summary: customers per value, the drift from the previous run, and who moved where. */
export interface CategoricalSummary {
  readonly kind: 'category';
  readonly n: number;
  readonly nulls: number;
  readonly counts: Readonly<Record<string, number>>;
  readonly previous: {
    readonly runId: number;
    readonly psi: number | null;
    /** Customers scored in both runs, by (value before, value now); '' for no value. */
    readonly migration: readonly { readonly from: string; readonly to: string; readonly customers: number }[];
  } | null;
}

export type ScoreSummary = NumericSummary | CategoricalSummary;

const NUMERIC = /^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|FLOAT|DOUBLE|REAL|DECIMAL.*)$/i;

/** The previous completed run of the same scorer before `runId`, if any. */
async function previousRun(store: Store, table: string, runId: number): Promise<number | null> {
  const id = await store.value<number | null>(
    `SELECT max(run_id) FROM run_summaries WHERE run_id < ? AND scores_table = ? AND run_id IN (SELECT run_id FROM score_runs WHERE status IN ('completed', 'compacted'))`,
    [runId, table],
  );
  return id === null ? null : Number(id);
}

/** The summaries a run stored for a scores table, by column (empty without a run). */
async function previousSummaries(store: Store, runId: number | null, table: string): Promise<Map<string, ScoreSummary>> {
  if (runId === null) return new Map();
  const rows = await store.all<{ column_name: string; summary: string }>(`SELECT column_name, summary::VARCHAR AS summary FROM run_summaries WHERE run_id = ? AND scores_table = ?`, [runId, table]);
  return new Map(rows.map((r) => [r.column_name, JSON.parse(r.summary) as ScoreSummary]));
}

/** The bin of `col` for cuts at `edges` (bin k: edges[k-1] < v <= edges[k]; the last bin above them all), as SQL. */
function binOf(col: string, edges: readonly number[]): string {
  if (edges.length === 0) return '0';
  return `(CASE ${edges.map((e, k) => `WHEN ${col} <= ${Number(e)} THEN ${k}`).join(' ')} ELSE ${edges.length} END)`;
}

/** The (key, count) pairs of DuckDB's histogram() map, however the client hands the MAP over. */
function histogramEntries(histogram: unknown): [unknown, unknown][] {
  if (histogram instanceof Map) return [...histogram.entries()];
  if (Array.isArray(histogram)) return (histogram as { key: unknown; value: unknown }[]).map((e) => [e.key, e.value]);
  return Object.entries(histogram ?? {});
}

/** Counts per bin from DuckDB's histogram() map (bin -> customers), over `bins` bins. */
function countsOf(histogram: unknown, bins: number): number[] {
  const out = new Array<number>(bins).fill(0);
  for (const [k, v] of histogramEntries(histogram)) {
    const i = Number(k);
    if (Number.isInteger(i) && i >= 0 && i < bins) out[i] = Number(v);
  }
  return out;
}

/**
 * Summarises every score column of `table` (a scorer's results table) for `runId` into run_summaries: numeric
 * columns by quantiles and deciles, text columns with at most MAX_CATEGORIES values by counts; each with the index
 * against the previous run of the same scorer and, for categories, the migration of the customers scored in both.
 * Dates, lists, maps and many-valued texts are left out. The numeric columns take two passes over the run's rows
 * whatever their number (one for the quantiles, one for the bins). Returns the columns summarised.
 */
export async function summariseScores(store: Store, runId: number, table: string): Promise<number> {
  const columns = await store.all<{ column_name: string; data_type: string }>(
    `SELECT column_name, data_type FROM information_schema.columns WHERE table_name = ? AND column_name NOT IN ('run_id', 'customer_id') ORDER BY ordinal_position`,
    [table],
  );
  const t = quoteIdentifier(table);
  const from = `(SELECT * FROM ${t} WHERE run_id = ${Math.floor(runId)})`;
  const before = await previousRun(store, table, runId);
  const earlier = await previousSummaries(store, before, table);
  const summaries: { name: string; summary: ScoreSummary }[] = [];

  const numeric = columns.filter((c) => NUMERIC.test(c.data_type)).map((c) => c.column_name);
  if (numeric.length > 0) {
    const stats = await store.one<Record<string, unknown>>(
      `SELECT ${numeric
        .map((name, i) => {
          const c = quoteIdentifier(name);
          return `count(${c})::DOUBLE AS n${i}, (count(*) - count(${c}))::DOUBLE AS z${i}, avg(${c})::DOUBLE AS m${i}, min(${c})::DOUBLE AS lo${i}, max(${c})::DOUBLE AS hi${i},
            approx_quantile(${c}::DOUBLE, [${QUANTILES.join(', ')}]) AS q${i}, approx_quantile(${c}::DOUBLE, [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]) AS d${i}`;
        })
        .join(', ')} FROM ${from}`,
    );
    const prevs = numeric.map((name) => earlier.get(name) ?? null);
    const edgesOf = numeric.map((_, i) => ((stats?.[`d${i}`] as (number | null)[] | null) ?? []).filter((v): v is number => v !== null && Number.isFinite(v)).map(Number));
    const prevEdges = prevs.map((p) => (p?.kind === 'number' && p.edges.length > 0 ? p.edges : null));
    const bins = await store.one<Record<string, unknown>>(
      `SELECT ${numeric
        .map((name, i) => {
          const c = quoteIdentifier(name);
          const own = `histogram(${binOf(c, edgesOf[i] as number[])}) FILTER (WHERE ${c} IS NOT NULL) AS b${i}`;
          const pe = prevEdges[i];
          return pe ? `${own}, histogram(${binOf(c, pe)}) FILTER (WHERE ${c} IS NOT NULL) AS p${i}` : own;
        })
        .join(', ')} FROM ${from}`,
    );
    numeric.forEach((name, i) => {
      const n = Number(stats?.[`n${i}`] ?? 0);
      if (n === 0) return;
      const edges = edgesOf[i] as number[];
      const prev = prevs[i];
      const pe = prevEdges[i];
      let previous: NumericSummary['previous'] = null;
      if (pe && prev?.kind === 'number') {
        const inPrevBins = countsOf(bins?.[`p${i}`], pe.length + 1);
        previous = { runId: before as number, counts: inPrevBins, psi: populationStabilityIndex(prev.counts, inPrevBins) };
      }
      const num = (k: string): number | null => {
        const v = stats?.[`${k}${i}`];
        return v === null || v === undefined ? null : Number(v);
      };
      summaries.push({
        name,
        summary: {
          kind: 'number',
          n,
          nulls: Number(stats?.[`z${i}`] ?? 0),
          mean: num('m'),
          min: num('lo'),
          max: num('hi'),
          quantiles: ((stats?.[`q${i}`] as (number | null)[] | null) ?? []).map((v) => (v === null ? null : Number(v))),
          edges,
          counts: countsOf(bins?.[`b${i}`], edges.length + 1),
          previous,
        },
      });
    });
  }

  // Reasons and identifiers are text too: a sample tells them apart from categories without hashing every row, all
  // text columns in one pass; then the categories' counts in one more.
  const texts = columns.filter((c) => c.data_type.toUpperCase() === 'VARCHAR').map((c) => c.column_name);
  const sampled =
    texts.length === 0
      ? null
      : await store.one<Record<string, unknown>>(
          `SELECT ${texts.map((name, i) => `count(DISTINCT ${quoteIdentifier(name)})::DOUBLE AS s${i}`).join(', ')} FROM (SELECT * FROM ${from} USING SAMPLE 20000 ROWS)`,
        );
  const categorical = texts.filter((_, i) => {
    const n = Number(sampled?.[`s${i}`] ?? 0);
    return n > 0 && n <= MAX_CATEGORIES;
  });
  const histograms =
    categorical.length === 0
      ? null
      : await store.one<Record<string, unknown>>(
          `SELECT ${categorical.map((name, i) => `histogram(${quoteIdentifier(name)}) AS h${i}, (count(*) - count(${quoteIdentifier(name)}))::DOUBLE AS z${i}`).join(', ')} FROM ${from}`,
        );
  for (const [i, name] of categorical.entries()) {
    const col = quoteIdentifier(name);
    const counts: Record<string, number> = {};
    const entries = histogramEntries(histograms?.[`h${i}`]);
    for (const [k, v] of entries.sort((a, b) => Number(b[1]) - Number(a[1]) || String(a[0]).localeCompare(String(b[0])))) counts[String(k)] = Number(v);
    const nulls = Number(histograms?.[`z${i}`] ?? 0);
    const prev = earlier.get(name) ?? null;
    let previous: CategoricalSummary['previous'] = null;
    if (prev?.kind === 'category' && before !== null) {
      const keys = [...new Set([...Object.keys(prev.counts), ...Object.keys(counts)])].sort();
      const psi = populationStabilityIndex(
        keys.map((k) => prev.counts[k] ?? 0),
        keys.map((k) => counts[k] ?? 0),
      );
      const moves = await store.all<{ f: string; t: string; n: number }>(
        `SELECT coalesce(a.${col}, '') AS f, coalesce(b.${col}, '') AS t, count(*)::DOUBLE AS n
         FROM (SELECT customer_id, ${col} FROM ${t} WHERE run_id = ${Math.floor(before)}) a JOIN ${from} b USING (customer_id)
         GROUP BY 1, 2 ORDER BY 1, 2`,
      );
      previous = { runId: before, psi, migration: moves.map((m) => ({ from: m.f, to: m.t, customers: Number(m.n) })) };
    }
    summaries.push({ name, summary: { kind: 'category', n: Object.values(counts).reduce((a, b) => a + b, 0), nulls, counts, previous } });
  }
  if (summaries.length > 0) {
    await store.run(
      `INSERT OR REPLACE INTO run_summaries VALUES ${summaries.map(() => '(?, ?, ?, ?::JSON)').join(', ')}`,
      summaries.flatMap(({ name, summary }) => [runId, name, table, JSON.stringify(summary)]),
    );
  }
  return summaries.length;
}

/** The stored summaries of a run (all columns), by column name. */
export async function runSummaries(store: Store, runId: number): Promise<Map<string, { table: string; summary: ScoreSummary }>> {
  const rows = await store.all<{ column_name: string; scores_table: string; summary: string }>(
    `SELECT column_name, scores_table, summary::VARCHAR AS summary FROM run_summaries WHERE run_id = ? ORDER BY scores_table, column_name`,
    [runId],
  );
  return new Map(rows.map((r) => [r.column_name, { table: r.scores_table, summary: JSON.parse(r.summary) as ScoreSummary }]));
}

/** The latest run with summaries, or null. */
export async function latestSummarisedRun(store: Store): Promise<number | null> {
  const id = await store.value<number | null>(`SELECT max(run_id) FROM run_summaries WHERE run_id IN (SELECT run_id FROM score_runs WHERE status = 'completed')`);
  return id === null ? null : Number(id);
}

