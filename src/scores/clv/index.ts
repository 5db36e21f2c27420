// Predictive scores from the "buy till you die" models and Gamma-Gamma: P(alive), churn risk, expected purchases, CLV, dates.
import { writePurchaseSummary } from '../../features/summary.js';
import { gammaGamma, getTransactionModel, parseFit, serializeFit, type GammaGammaParams, type ModelParams, type TransactionModelName, type TransactionSummary } from '../../models/index.js';
import { fitSpend, fitTransaction, type TransactionFit } from './fitting.js';
import { KairosError } from '../../errors.js';
import { quoteLiteral } from '../../store/db.js';
import { formatMoney, formatProbability } from '../../util/format.js';
import { backtestClv } from './backtest.js';
import { CLV_HORIZONS } from './horizons.js';
import { predictClv } from './predict.js';
import { decideTransactionModel, type CandidateResult, type ModelChoice } from './model-choice.js';
import type { ModelRecord, Scorer, ScoreContext, ScorerResult } from '../types.js';

export { CLV_HORIZONS };

/**
 * The scorer's result (a view), the summary table it is built on (the customer ids, in the arrays' row order) and
 * the table function exposing the computed values, row for row.
 */
const RESULT = '__score_clv';
const SUMMARY = '__clv_summary';
const VALUES = '__clv_values';

/** The result view with every score column and no rows (the scores could not be computed). */
async function emptyResult(ctx: ScoreContext): Promise<void> {
  await ctx.store.run(
    `CREATE OR REPLACE TEMP VIEW ${RESULT} AS SELECT NULL::VARCHAR AS customer_id, NULL::DOUBLE AS p_alive, NULL::DOUBLE AS churn_risk_purchase_model,
       NULL::DOUBLE AS expected_purchases_90d, NULL::DOUBLE AS conversion_probability_30d_purchase_model, NULL::DOUBLE AS expected_order_value,
       NULL::DOUBLE AS clv_12m_purchase_model, NULL::DATE AS next_order_date, NULL::DATE AS churn_decisive_date, NULL::VARCHAR AS clv_model WHERE false`,
  );
}

/** The purchase model (and spend model) fit the refit policy says to reuse, when the context carries one this config accepts. */
function reusableFit(ctx: ScoreContext):
  | { name: TransactionModelName; params: ModelParams; diagnostics: unknown; stored: unknown; fromRun: number; spend: { params: GammaGammaParams; stored: unknown } | null }
  | undefined {
  const r = ctx.reuseFits;
  if (!r) return undefined;
  for (const [model, stored] of r.fits) {
    if (!['bg-nbd', 'pareto-nbd', 'mbg-nbd'].includes(model)) continue;
    // A model named in the config that differs from the stored one: refitted (the config changed since).
    if (ctx.config.scores.model !== 'auto' && ctx.config.scores.model !== model) return undefined;
    const fit = parseFit(stored);
    const gg = r.fits.get('gamma-gamma');
    return {
      name: model as TransactionModelName,
      params: fit.params as ModelParams,
      diagnostics: fit.diagnostics,
      stored,
      fromRun: r.fromRun,
      spend: gg === undefined ? null : { params: parseFit(gg).params as GammaGammaParams, stored: gg },
    };
  }
  return undefined;
}

/** E[Z | x, m] for everyone with stored Gamma-Gamma parameters (as fitSpend does after its fit). */
function reusedSpend(params: GammaGammaParams, x: Float64Array, m: Float64Array): Float64Array {
  const mPos = new Float64Array(m.length);
  for (let i = 0; i < m.length; i++) mPos[i] = (m[i] as number) > 0 ? (m[i] as number) : 0;
  return gammaGamma.conditionalExpectedSpend(params, { x, m: mPos });
}

export const clvScorer: Scorer = {
  name: 'clv',
  version: '1.0.0',
  // Its explanations say how often and how recently the customer bought: the rfm scorer's frequency and recency_days.
  dependsOn: ['rfm'],
  description: 'BG/NBD, Pareto/NBD or MBG/NBD purchase model with Gamma-Gamma spend: P(alive), churn, CLV, next-order and decisive dates.',
  columns: [
    { name: 'p_alive', type: 'number', unit: 'probability', description: 'probability the customer is still active (will buy again some day)' },
    {
      name: 'churn_risk_purchase_model',
      type: 'number',
      unit: 'probability',
      description: 'probability of no purchase in the next learned.churnDays days (90 by default), by the purchase model (churn_risk holds the better of this and the boosted trees)',
    },
    { name: 'expected_purchases_90d', type: 'number', unit: 'count', description: 'expected purchase days in the next 90 days' },
    {
      name: 'conversion_probability_30d_purchase_model',
      type: 'number',
      unit: 'probability',
      description: 'probability of at least one purchase in the next 30 days, by the purchase model (conversion_probability_30d holds the better of this and the boosted trees)',
    },
    { name: 'expected_order_value', type: 'number', unit: 'currency', description: 'expected net spend per purchase day (Gamma-Gamma)' },
    {
      name: 'clv_12m_purchase_model',
      type: 'number',
      unit: 'currency',
      description: 'expected net spend over the next 12 months, discounted monthly, by the purchase and spend models (clv_12m holds the better of this and the boosted trees)',
    },
    { name: 'next_order_date', type: 'date', unit: 'none', description: 'median date of the next purchase if the customer is active (empty when p_alive is below the threshold)' },
    { name: 'churn_decisive_date', type: 'date', unit: 'none', description: 'date after which, without a new purchase, p_alive falls below the threshold: send a last-chance offer before it' },
    { name: 'clv_model', type: 'text', unit: 'none', description: 'the purchase model behind these scores' },
  ],

  async run(ctx: ScoreContext): Promise<ScorerResult> {
    const notes: string[] = [];
    const models: ModelRecord[] = [];
    const s = ctx.config.scores;
    ctx.progress('clv: purchase summary');
    const summary = await writePurchaseSummary(ctx.store, ctx.asOf, SUMMARY, 'asof_orders', {
      partitions: s.summaryPartitions,
      onRetry: (message) => {
        ctx.progress(`clv: ${message}`);
        notes.push(`clv: ${message} (raise scores.summaryPartitions or the memory limit to avoid the retry)`);
      },
    });
    let name: TransactionModelName;
    let candidates: readonly CandidateResult[] = [];
    let choice: ModelChoice | undefined;
    let fitted: TransactionFit;
    // The refit policy said not to refit: the purchase model and its parameters of the run that fitted them.
    const reused = reusableFit(ctx);
    try {
      if (reused) {
        name = reused.name;
        fitted = { fit: { params: reused.params, diagnostics: reused.diagnostics } as TransactionFit['fit'], penalty: 0, note: null };
        ctx.progress(`clv: ${name} parameters of run ${reused.fromRun} reused (refit policy)`);
      } else {
        if (s.model === 'auto') ctx.progress('clv: choosing the purchase model on a holdout');
        choice = await decideTransactionModel(ctx.store, ctx.asOf, s, ctx.dataFingerprint, summary.rows);
        name = choice.model;
        candidates = choice.candidates;
        notes.push(choice.reason);
        ctx.progress(`clv: fitting ${name} on ${summary.rows.toLocaleString('en')} customers`);
        fitted = fitTransaction(name, summary.transactions);
      }
    } catch (err) {
      // The run goes on (RFM and other scorers); these scores stay empty and the notes say why and what to try.
      const e = err instanceof KairosError ? err : new KairosError('INTERNAL', String(err));
      notes.push(`clv scores not computed: the purchase model could not be fitted: ${e.message}${e.hint ? ` (${e.hint})` : ''}`);
      await emptyResult(ctx);
      return { table: RESULT, models, notes, temporaries: [SUMMARY] };
    }
    if (fitted.note) notes.push(fitted.note);
    const fit = fitted.fit;
    // Resolved by name at run time: the model's own parameter type is not known statically here.
    const model = getTransactionModel(name as string);
    const transactions: TransactionSummary = summary.transactions;
    const { spend, fit: ggFit, note: spendNote } = reused?.spend
      ? { spend: reusedSpend(reused.spend.params, summary.spend.x, summary.spend.m), fit: null, note: null }
      : (ctx.progress('clv: fitting Gamma-Gamma spend'), fitSpend(summary.spend.x, summary.spend.m));
    if (spendNote) notes.push(spendNote);
    const dataHash = `run-${ctx.runId}`;
    if (reused) {
      // Recorded as they were stored, marked reused: the next run's policy counts from the run that fitted them.
      models.push({ model: name, fit: { ...(reused.stored as object), reusedFrom: reused.fromRun } });
      if (reused.spend) models.push({ model: 'gamma-gamma', fit: { ...(reused.spend.stored as object), reusedFrom: reused.fromRun } });
      else {
        notes.push(`clv: run ${reused.fromRun} has no Gamma-Gamma fit to reuse: the spend model was fitted`);
        if (ggFit) models.push({ model: 'gamma-gamma', fit: JSON.parse(serializeFit('gamma-gamma', ggFit, { dataHash })) });
      }
    } else {
      // The choice is recorded with the fit: `kairos models` shows it, and a run on the same data and settings reuses it.
      const record = choice?.record === undefined ? {} : { choice: choice.record };
      models.push({ model: name, fit: { ...JSON.parse(serializeFit(name, fit, { dataHash })), selection: candidates, ...record } });
      if (ggFit) models.push({ model: 'gamma-gamma', fit: JSON.parse(serializeFit('gamma-gamma', ggFit, { dataHash })) });
    }

    ctx.progress('clv: scoring customers');
    // Every per-customer prediction in one pass over the customers (predict.ts, also what the API's rescoring calls).
    const endDay = Date.parse(`${summary.observationEnd}T00:00:00Z`) / 86_400_000;
    const predicted = predictClv(model, fit.params, transactions, spend, summary.lastDay, endDay, {
      clvMonths: s.clvMonths,
      monthlyDiscountRate: s.monthlyDiscountRate,
      decisiveThreshold: s.decisiveThreshold,
      churnDays: ctx.config.learned.churnDays,
    });
    // Numbers only, in the summary's row order, read by DuckDB straight from these arrays (no table in between); the
    // ids stay in DuckDB and are joined back by position. Dates travel as day numbers and become DATEs in the view.
    ctx.store.exposeColumns(VALUES, [
      { name: 'p_alive', type: 'DOUBLE', values: predicted.pAlive },
      { name: 'buys_in_churn_window', type: 'DOUBLE', values: predicted.buysInChurnWindow },
      { name: 'expected_purchases_90d', type: 'DOUBLE', values: predicted.expectedPurchases90d },
      { name: 'conversion_probability_30d', type: 'DOUBLE', values: predicted.conversion30d },
      { name: 'expected_order_value', type: 'DOUBLE', values: predicted.expectedOrderValue },
      { name: 'clv_12m', type: 'DOUBLE', values: predicted.clv },
      { name: 'next_order_day', type: 'INTEGER', values: predicted.nextOrderDay },
      { name: 'churn_decisive_day', type: 'INTEGER', values: predicted.churnDecisiveDay },
    ]);
    await ctx.store.run(
      `CREATE OR REPLACE TEMP VIEW ${RESULT} AS
         SELECT s.customer_id, v.p_alive, 1 - v.buys_in_churn_window AS churn_risk_purchase_model, v.expected_purchases_90d,
           v.conversion_probability_30d AS conversion_probability_30d_purchase_model, v.expected_order_value, v.clv_12m AS clv_12m_purchase_model, DATE '1970-01-01' + v.next_order_day AS next_order_date, DATE '1970-01-01' + v.churn_decisive_day AS churn_decisive_date,
           ${quoteLiteral(name)} AS clv_model
         FROM ${SUMMARY} s POSITIONAL JOIN ${VALUES}() v`,
    );
    return { table: RESULT, models, notes, temporaries: [VALUES, SUMMARY] };
  },

  backtest: backtestClv,

  explain(row, { currency, asOf }) {
    if (row['p_alive'] === null || row['p_alive'] === undefined) {
      return ['no purchase model score: no purchase before the as-of date, or the model could not be fitted (see kairos runs / models)'];
    }
    const pa = Number(row['p_alive']);
    const freq = Number(row['frequency'] ?? 0);
    const lines = [
      `bought ${freq} time(s), last ${row['recency_days']} days ago: ${formatProbability(pa)} chance still active, ${formatProbability(Number(row['churn_risk_purchase_model']))} chance of no purchase in the churn window (${row['clv_model']} model)`,
      `expects ${Number(row['expected_purchases_90d']).toFixed(2)} purchase(s) in the next 90 days; ${formatProbability(Number(row['conversion_probability_30d_purchase_model']))} chance of buying in the next 30 days`,
      `12-month value ${formatMoney(Number(row['clv_12m_purchase_model']), currency)} (expected ${formatMoney(Number(row['expected_order_value']), currency)} per order)`,
    ];
    lines.push(
      row['next_order_date'] ? `next order expected around ${row['next_order_date']}` : 'no next order expected: the customer has probably left',
    );
    const decisive = row['churn_decisive_date'];
    if (!decisive) lines.push('no decisive moment: the model never judges this customer lost without a new purchase');
    else if (String(decisive) < asOf) lines.push(`decisive moment passed on ${decisive}: a win-back campaign rather than a last-chance offer`);
    else lines.push(`decisive moment ${decisive}: without a purchase by then, the customer is more likely gone than not; send the last-chance offer before it`);
    return lines;
  },
};
