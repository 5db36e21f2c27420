// Learned churn risk, conversion and value (boosted trees on customer snapshots), head to head with the purchase models: the winner fills the columns users select on.
import { KairosError } from '../../errors.js';
import { applyIsotonic } from '../../ml/isotonic.js';
import { treeShapTop } from '../../ml/treeshap.js';
import type { Tree } from '../../ml/tree.js';
import { ensembleToJson } from '../../ml/tree-json.js';
import { isTransactionModelName, type TransactionModelName } from '../../models/index.js';
import { quoteIdentifier, type ColumnData } from '../../store/db.js';
import { formatMoney, formatProbability } from '../../util/format.js';
import type { ModelRecord, Scorer, ScoreContext, ScorerResult } from '../types.js';
import { backtestLearned } from './backtest.js';
import { REASONS_KEPT, reasonsInWords } from './reasons.js';
import { eventDaysTable, purchaseDaysTable, scoringSnapshot, trainLearnedModels, type Matrix, type TrainedTask } from './train.js';
import type { TaskName } from './design.js';
import type { Categorical } from '../../features/snapshots.js';

const RESULT = '__score_learned';
const VALUES = '__learned_values';

/** Names of each task's columns: the boosted trees' own, the winner's, which model won, and the reasons. */
export const LEARNED_TASK_COLUMNS: Readonly<Record<TaskName, { boosted: string; winner: string; model: string; reasons: string; purchase: string }>> = {
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
const COLUMNS = LEARNED_TASK_COLUMNS;

const TASK_NAMES: readonly TaskName[] = ['churn', 'conversion', 'value'];

/** Factor that takes spend over `days` to 12 months, discounted monthly as the purchase-model CLV (spend spread evenly). */
export function twelveMonthFactor(days: number, monthlyDiscount: number): number {
  let discount = 0;
  for (let m = 1; m <= 12; m++) discount += (1 + monthlyDiscount) ** -m;
  return (365 / days) * (discount / 12);
}

/** A number in a reason's text: 4 decimals at most, as short as it reads. */
function reasonNumber(x: number): string {
  return Number.isFinite(x) ? String(Math.round(x * 1e4) / 1e4) : 'NaN';
}

/**
 * The calibrated predictions of a task for `rows` of the scoring matrix (NaN elsewhere) and each row's top reasons as
 * text, "feature=value:contribution" joined by "|" (a categorical attribute's value is its level): TreeSHAP on both
 * cores, the margins from the same pass. Text, formed here once: numbers and short text write fast, where MAP columns
 * cost seconds per 100,000 rows in the results and their history.
 */
async function predictAndExplain(task: TrainedTask, matrix: Matrix, rows: Int32Array, categoricals: readonly Categorical[]): Promise<{ values: Float64Array; reasons: (string | null)[] }> {
  const k = REASONS_KEPT;
  const names = task.model.featureNames;
  const levels = names.map((n) => categoricals.find((c) => c.name === n)?.levels);
  const values = new Float64Array(matrix.rows).fill(Number.NaN);
  const reasons: (string | null)[] = new Array<string | null>(matrix.rows).fill(null);
  // Trees of depth 3 or less fold whole into one table each (treeshap-plan.ts): ~10% faster than the default fold 2.
  const depth = Math.max(0, ...task.model.trees.map(treeDepth));
  const top = await treeShapTop(task.model, matrix, rows, { k, ...(depth <= 3 ? { fold: 3 } : {}) });
  // The matrix's columns in the model's order, which the reasons' feature indices follow.
  const columns = names.map((n) => matrix.columns[matrix.names.indexOf(n)] as Float64Array);
  rows.forEach((row, i) => {
    values[row] = applyIsotonic(task.calibration, top.margins[i] as number);
    const parts: string[] = [];
    for (let j = 0; j < k; j++) {
      const f = top.features[i * k + j] as number;
      if (f < 0) break;
      const x = (columns[f] as Float64Array)[row] as number;
      const level = levels[f];
      const said = level ? (level[x - 1] ?? 'unknown') : reasonNumber(x);
      parts.push(`${names[f]}=${said}:${reasonNumber(top.contributions[i * k + j] as number)}`);
    }
    if (parts.length) reasons[row] = parts.join('|');
  });
  return { values, reasons };
}

/** Levels of splits on a tree's deepest path. */
function treeDepth(tree: Tree, node = 0): number {
  const l = tree.left[node] ?? -1;
  return l < 0 ? 0 : 1 + Math.max(treeDepth(tree, l), treeDepth(tree, tree.right[node] ?? -1));
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
    const scoring = await scoringSnapshot(input, learned.categoricals);
    const buyers = scoring.numbers['purchase_days'] as Float64Array;
    const columns: ColumnData[] = [{ name: 'customer_id', type: 'VARCHAR', values: scoring.ids }];
    const models: ModelRecord[] = [];
    const factor = twelveMonthFactor(learned.tasks.value?.design.days ?? 365, ctx.config.scores.monthlyDiscountRate);
    for (const t of TASK_NAMES) {
      const task = learned.tasks[t];
      if (!task) continue;
      const rows: number[] = [];
      for (let i = 0; i < scoring.rows; i++) if (t === 'conversion' || (buyers[i] as number) > 0) rows.push(i);
      ctx.progress(`learned: ${t}: predictions and reasons (TreeSHAP) for ${rows.length.toLocaleString('en')} customers`);
      const { values, reasons } = await predictAndExplain(task, scoring.matrix, Int32Array.from(rows), learned.categoricals);
      if (t === 'value') for (const i of rows) values[i] = Math.round((values[i] as number) * factor * 100) / 100;
      columns.push({ name: `${t}_boosted`, type: 'DOUBLE', values }, { name: `${t}_reasons`, type: 'VARCHAR', values: reasons });
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
      select.push(`${boosted} AS ${c.boosted}`, `${winner} AS ${c.winner}`, `${model} AS ${c.model}`, `v.${t}_reasons AS ${c.reasons}`);
    }
    await ctx.store.run(
      `CREATE OR REPLACE TEMP VIEW ${RESULT} AS
         SELECT v.customer_id, ${select.join(', ')}
         FROM ${VALUES}() v LEFT JOIN ${ctx.resultsOf('clv')} c ON c.customer_id = v.customer_id`,
    );
    return { table: RESULT, models, notes, temporaries: [VALUES, eventDaysTable(input.prefix), purchaseDaysTable(input.prefix)] };
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
