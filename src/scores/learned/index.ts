// Learned churn risk, conversion and value (boosted trees on customer snapshots), head to head with the purchase models: the winner fills the columns users select on.
import { KairosError } from '../../errors.js';
import { topReasons as shapTopReasons, treeShapParallel } from '../../ml/treeshap.js';
import { ensembleToJson } from '../../ml/tree-json.js';
import { isTransactionModelName, type TransactionModelName } from '../../models/index.js';
import { quoteIdentifier, quoteLiteral, type ColumnData } from '../../store/db.js';
import { formatMoney, formatProbability } from '../../util/format.js';
import type { ModelRecord, Scorer, ScoreContext, ScorerResult } from '../types.js';
import { backtestLearned } from './backtest.js';
import { REASONS_KEPT, reasonsInWords } from './reasons.js';
import { eventDaysTable, purchaseDaysTable, predictTask, scoringSnapshot, trainLearnedModels, type Matrix, type TrainedTask } from './train.js';
import type { TaskName } from './design.js';

const RESULT = '__score_learned';
const SNAPSHOT = '__learned_scoring';
const VALUES = '__learned_values';

/** Rows explained at a time, on both cores: TreeSHAP's contributions of a chunk are rows x features doubles (~36 MB). */
const EXPLAIN_CHUNK = 100_000;

/** Names of each task's columns: the boosted trees' own, the winner's, which model won, and the reasons. */
const COLUMNS: Readonly<Record<TaskName, { boosted: string; winner: string; model: string; reasons: string; purchase: string }>> = {
  churn: { boosted: 'churn_risk_boosted', winner: 'churn_risk', model: 'churn_risk_model', reasons: 'churn_reasons', purchase: 'churn_risk_purchase_model' },
  conversion: {
    boosted: 'conversion_probability_30d_boosted',
    winner: 'conversion_probability_30d',
    model: 'conversion_model',
    reasons: 'conversion_reasons',
    purchase: 'conversion_probability_30d_purchase_model',
  },
  value: { boosted: 'clv_12m_boosted', winner: 'clv_12m', model: 'clv_12m_model', reasons: 'clv_reasons', purchase: 'clv_12m_purchase_model' },
};

const TASK_NAMES: readonly TaskName[] = ['churn', 'conversion', 'value'];

/** Factor that takes spend over `days` to 12 months, discounted monthly as the purchase-model CLV (spend spread evenly). */
export function twelveMonthFactor(days: number, monthlyDiscount: number): number {
  let discount = 0;
  for (let m = 1; m <= 12; m++) discount += (1 + monthlyDiscount) ** -m;
  return (365 / days) * (discount / 12);
}

/** Top-k reasons of each row: feature indices and contributions, from TreeSHAP on the margin, in chunks. */
async function reasonsOfRows(task: TrainedTask, matrix: Matrix, rows: Int32Array): Promise<{ feature: Int32Array[]; contribution: Float64Array[] }> {
  const k = REASONS_KEPT;
  // Contributions come in the model's feature order: the order of the matrix the view names them by.
  const p = task.model.featureNames.length;
  const feature = Array.from({ length: k }, () => new Int32Array(matrix.rows).fill(-1));
  const contribution = Array.from({ length: k }, () => new Float64Array(matrix.rows).fill(Number.NaN));
  for (let start = 0; start < rows.length; start += EXPLAIN_CHUNK) {
    const chunk = rows.subarray(start, Math.min(rows.length, start + EXPLAIN_CHUNK));
    const { contributions } = await treeShapParallel(task.model, matrix, chunk);
    for (let r = 0; r < chunk.length; r++) {
      const row = chunk[r] as number;
      const top = shapTopReasons(contributions.subarray(r * p, (r + 1) * p), task.model.featureNames, k);
      top.forEach((reason, j) => {
        (feature[j] as Int32Array)[row] = reason.index;
        (contribution[j] as Float64Array)[row] = reason.contribution;
      });
    }
  }
  return { feature, contribution };
}

/** The purchase model the run chose (its clv results), for the inner holdout's contender. */
async function chosenPurchaseModel(ctx: ScoreContext): Promise<TransactionModelName> {
  const configured = ctx.config.scores.model;
  if (configured !== 'auto') return configured;
  const name = await ctx.store.value<string | null>(`SELECT any_value(clv_model) FROM ${ctx.resultsOf('clv')}`);
  return name && isTransactionModelName(name) ? name : 'bg-nbd';
}

/** The result view when nothing was learned: the purchase model's scores fill the winner columns. */
async function purchaseModelOnly(ctx: ScoreContext, notes: string[]): Promise<ScorerResult> {
  const clv = ctx.resultsOf('clv');
  const select = TASK_NAMES.flatMap((t) => {
    const c = COLUMNS[t];
    return [
      `NULL::DOUBLE AS ${c.boosted}`,
      `c.${c.purchase} AS ${c.winner}`,
      `CASE WHEN c.${c.purchase} IS NULL THEN NULL ELSE c.clv_model END AS ${c.model}`,
      `NULL::VARCHAR AS ${c.reasons}`,
    ];
  });
  await ctx.store.run(`CREATE OR REPLACE TEMP VIEW ${RESULT} AS SELECT c.customer_id, ${select.join(', ')} FROM ${clv} c`);
  return { table: RESULT, models: [], notes };
}

export const learnedScorer: Scorer = {
  name: 'learned',
  version: '1.0.0',
  dependsOn: ['clv'],
  description:
    'Boosted trees on snapshots before the as-of (RFM, gaps, trends, returns, discounts, engagement, attributes) for churn, conversion and value, each against the purchase model on an inner holdout: the winner fills churn_risk, conversion_probability_30d and clv_12m.',
  columns: [
    { name: 'churn_risk_boosted', type: 'number', unit: 'probability', description: 'probability of no purchase in the next learned.churnDays days (90 by default), by boosted trees, calibrated' },
    { name: 'churn_risk', type: 'number', unit: 'probability', description: 'probability of no purchase in the next learned.churnDays days: the better of the boosted trees and the purchase model on this data' },
    { name: 'churn_risk_model', type: 'text', unit: 'none', description: 'which model churn_risk comes from' },
    { name: 'churn_reasons', type: 'text', unit: 'none', description: "the three features that move churn_risk_boosted most: 'feature=value:contribution' joined by '|' (contributions in log-odds, exact TreeSHAP)" },
    { name: 'conversion_probability_30d_boosted', type: 'number', unit: 'probability', description: 'probability of a purchase in the next 30 days, by boosted trees, calibrated (prospects included)' },
    { name: 'conversion_probability_30d', type: 'number', unit: 'probability', description: 'probability of a purchase in the next 30 days: the better of the boosted trees and the purchase model (prospects: the trees)' },
    { name: 'conversion_model', type: 'text', unit: 'none', description: 'which model conversion_probability_30d comes from' },
    { name: 'conversion_reasons', type: 'text', unit: 'none', description: 'the three features that move conversion_probability_30d_boosted most, as churn_reasons' },
    { name: 'clv_12m_boosted', type: 'number', unit: 'currency', description: 'net spend over the next 12 months by boosted trees, discounted monthly' },
    { name: 'clv_12m', type: 'number', unit: 'currency', description: 'expected net spend over the next 12 months, discounted monthly: the better of the boosted trees and the purchase and spend models' },
    { name: 'clv_12m_model', type: 'text', unit: 'none', description: 'which model clv_12m comes from' },
    { name: 'clv_reasons', type: 'text', unit: 'none', description: 'the three features that move clv_12m_boosted most, as churn_reasons (contributions to the log of the value)' },
  ],

  async run(ctx: ScoreContext): Promise<ScorerResult> {
    const settings = ctx.config.learned;
    if (!settings.enabled) return purchaseModelOnly(ctx, ['learned models off (learned.enabled false): the purchase models fill churn_risk, conversion_probability_30d and clv_12m']);
    const purchaseModel = await chosenPurchaseModel(ctx);
    const input = { store: ctx.store, asOf: ctx.asOf, settings, purchaseModel, progress: ctx.progress, prefix: '__learned', engagement: ctx.config.engagement };
    let learned;
    try {
      learned = await trainLearnedModels(input);
    } catch (err) {
      if (!(err instanceof KairosError) || err.code === 'INTERNAL') throw err;
      return purchaseModelOnly(ctx, [`learned models not trained: ${err.message}${err.hint ? ` (${err.hint})` : ''}; the purchase models fill the scores`]);
    }
    const notes = [...learned.notes];
    const trained = TASK_NAMES.filter((t) => learned.tasks[t] !== undefined);
    if (trained.length === 0) {
      for (const t of [eventDaysTable(input.prefix), purchaseDaysTable(input.prefix)]) await ctx.store.run(`DROP TABLE IF EXISTS ${quoteIdentifier(t)}`);
      return purchaseModelOnly(ctx, notes);
    }
    ctx.progress('learned: scoring customers');
    const scoring = await scoringSnapshot(input, SNAPSHOT, learned.categoricals);
    const buyers = scoring.numbers['purchase_days'] as Float64Array;
    const columns: ColumnData[] = [];
    const models: ModelRecord[] = [];
    const factor = twelveMonthFactor(learned.tasks.value?.design.days ?? 365, ctx.config.scores.monthlyDiscountRate);
    for (const t of TASK_NAMES) {
      const task = learned.tasks[t];
      if (!task) continue;
      const { values } = predictTask(task, scoring.matrix);
      const rows: number[] = [];
      for (let i = 0; i < scoring.rows; i++) {
        if (t !== 'conversion' && !((buyers[i] as number) > 0)) values[i] = Number.NaN;
        else rows.push(i);
        if (t === 'value') values[i] = Math.round((values[i] as number) * factor * 100) / 100;
      }
      columns.push({ name: `${t}_boosted`, type: 'DOUBLE', values });
      ctx.progress(`learned: ${t}: reasons (TreeSHAP) for ${rows.length.toLocaleString('en')} customers`);
      const reasons = await reasonsOfRows(task, scoring.matrix, Int32Array.from(rows));
      reasons.feature.forEach((f, j) => columns.push({ name: `${t}_f${j}`, type: 'INTEGER', values: f }));
      reasons.contribution.forEach((c, j) => columns.push({ name: `${t}_c${j}`, type: 'DOUBLE', values: c }));
      // The customer's value of each reason's feature, picked here: the view then needs no branch per feature.
      reasons.feature.forEach((f, j) => {
        const value = new Float64Array(f.length).fill(Number.NaN);
        for (let i = 0; i < f.length; i++) {
          const k = f[i] as number;
          if (k >= 0) value[i] = (scoring.matrix.columns[k] as Float64Array)[i] as number;
        }
        columns.push({ name: `${t}_v${j}`, type: 'DOUBLE', values: value });
      });
      models.push({
        model: `boosted-${t}`,
        fit: {
          model: ensembleToJson(task.model),
          design: task.design,
          calibration: task.calibration,
          inner: task.inner,
          trainingRows: task.trainingRows,
          diagnostics: task.fit.diagnostics,
          categoricals: learned.categoricals,
        },
      });
    }
    ctx.store.exposeColumns(VALUES, columns);
    // Each reason as text, "feature=value:contribution", joined by "|": numbers and short text write fast, where MAP
    // columns cost seconds per 100,000 rows in the results and their history. A categorical attribute's value is its level.
    const categorical = learned.categoricals.map((c) => ({ c, i: learned.features.indexOf(c.name) })).filter((x) => x.i >= 0);
    const valueOf = (f: string, v: string): string =>
      categorical.length === 0
        ? `CAST(round(${v}, 4) AS VARCHAR)`
        : `CASE ${f} ${categorical
        .map(({ c, i }) => `WHEN ${i} THEN coalesce([${c.levels.map((l) => quoteLiteral(l)).join(', ')}][${v}::INTEGER], 'unknown')`)
        .join(' ')} ELSE CAST(round(${v}, 4) AS VARCHAR) END`;
    const names = `[${learned.features.map((n) => quoteLiteral(n)).join(', ')}]`;
    const select: string[] = [];
    for (const t of TASK_NAMES) {
      const c = COLUMNS[t];
      const task = learned.tasks[t];
      if (!task) {
        select.push(`NULL::DOUBLE AS ${c.boosted}`, `c.${c.purchase} AS ${c.winner}`, `CASE WHEN c.${c.purchase} IS NULL THEN NULL ELSE c.clv_model END AS ${c.model}`, `NULL::VARCHAR AS ${c.reasons}`);
        continue;
      }
      const boosted = `v.${t}_boosted`;
      const treesWin = task.inner.winner === 'boosted trees';
      // Prospects have no purchase-model score: the trees' conversion probability is theirs whichever wins.
      const winner = treesWin ? boosted : `coalesce(c.${c.purchase}, ${boosted})`;
      const model = treesWin
        ? `CASE WHEN ${boosted} IS NULL THEN NULL ELSE 'boosted trees' END`
        : `CASE WHEN c.${c.purchase} IS NOT NULL THEN c.clv_model WHEN ${boosted} IS NOT NULL THEN 'boosted trees' END`;
      const reasons = Array.from({ length: REASONS_KEPT }, (_, j) => {
        const f = `v.${t}_f${j}`;
        return `CASE WHEN ${f} >= 0 THEN concat(${names}[${f} + 1], '=', ${valueOf(f, `v.${t}_v${j}`)}, ':', CAST(round(v.${t}_c${j}, 4) AS VARCHAR)) END`;
      });
      select.push(`${boosted} AS ${c.boosted}`, `${winner} AS ${c.winner}`, `${model} AS ${c.model}`, `nullif(concat_ws('|', ${reasons.join(', ')}), '') AS ${c.reasons}`);
    }
    await ctx.store.run(
      `CREATE OR REPLACE TEMP VIEW ${RESULT} AS
         SELECT s.customer_id, ${select.join(', ')}
         FROM ${quoteIdentifier(SNAPSHOT)} s POSITIONAL JOIN ${VALUES}() v LEFT JOIN ${ctx.resultsOf('clv')} c ON c.customer_id = s.customer_id`,
    );
    return { table: RESULT, models, notes, temporaries: [VALUES, SNAPSHOT, eventDaysTable(input.prefix), purchaseDaysTable(input.prefix)] };
  },

  backtest: backtestLearned,

  explain(row, { currency }) {
    const lines: string[] = [];
    for (const t of TASK_NAMES) {
      const c = COLUMNS[t];
      const v = row[c.winner];
      if (v === null || v === undefined) continue;
      const money = t === 'value';
      const said = (x: unknown): string => (money ? formatMoney(Number(x), currency) : formatProbability(Number(x)));
      const what = t === 'churn' ? 'churn risk' : t === 'conversion' ? 'chance of buying in the next 30 days' : '12-month value';
      const other = row[c.boosted] !== null && row[c.boosted] !== undefined && row[c.model] !== 'boosted trees' ? `; boosted trees ${said(row[c.boosted])}` : '';
      const purchase = row[c.purchase] !== null && row[c.purchase] !== undefined && row[c.model] === 'boosted trees' ? `; purchase model ${said(row[c.purchase])}` : '';
      lines.push(`${what} ${said(v)} (${String(row[c.model])}${other}${purchase})`);
      const reasons = reasonsInWords(parseReasons(row[c.reasons]), currency);
      if (reasons.length) lines.push(`why (boosted trees): ${reasons.join('; ')}`);
    }
    return lines.length ? lines : ['no learned score: no purchase or event before the as-of date'];
  },
};

/** The reasons column ("feature=value:contribution|...") as [feature, value text, contribution]. */
export function parseReasons(value: unknown): [string, string, number][] {
  if (typeof value !== 'string' || value === '') return [];
  return value.split('|').flatMap((part) => {
    const colon = part.lastIndexOf(':');
    const eq = part.indexOf('=');
    if (colon < 0 || eq < 0 || eq > colon) return [];
    return [[part.slice(0, eq), part.slice(eq + 1, colon), Number(part.slice(colon + 1))] as [string, string, number]];
  });
}
