// Predictive scores from the "buy till you die" models and Gamma-Gamma: P(alive), churn risk, expected purchases, CLV, dates.
import { purchaseSummary } from '../features/summary.js';
import { gammaGamma, getTransactionModel, serializeFit, type RfmData, type TransactionModelName } from '../models/index.js';
import { fitSpend, fitTransaction, type TransactionFit } from './fitting.js';
import { KairosError } from '../errors.js';
import { quoteLiteral } from '../store/db.js';
import { formatMoney, formatPercent } from '../util/format.js';
import { chooseTransactionModel, type CandidateResult } from './model-choice.js';
import type { ModelRecord, Scorer, ScoreContext, ScorerResult } from './types.js';

/** Horizons of the scores, in days (the models are fitted in days). */
export const CLV_HORIZONS = { expectedPurchasesDays: 90, conversionDays: 30, monthDays: 30 } as const;

const TABLE = '__score_clv';

/** DuckDB's round(v, 2) on a DOUBLE: half away from zero; the input itself when the result is not finite. */
function round2(v: number): number {
  const r = (v < 0 ? -Math.round(-v * 100) : Math.round(v * 100)) / 100;
  return Number.isFinite(r) ? r : v;
}

async function emptyTable(ctx: ScoreContext): Promise<void> {
  await ctx.store.run(
    `CREATE OR REPLACE TEMP TABLE ${TABLE} (customer_id VARCHAR, p_alive DOUBLE, churn_risk DOUBLE, expected_purchases_90d DOUBLE,
       conversion_probability_30d DOUBLE, expected_order_value DOUBLE, clv_12m DOUBLE, next_order_date DATE, churn_decisive_date DATE, clv_model VARCHAR)`,
  );
}

export const clvScorer: Scorer = {
  name: 'clv',
  version: '1.0.0',
  description: 'BG/NBD, Pareto/NBD or MBG/NBD purchase model with Gamma-Gamma spend: P(alive), churn, CLV, next-order and decisive dates.',
  columns: [
    { name: 'p_alive', type: 'number', unit: 'probability', description: 'probability the customer is still active (will buy again some day)' },
    { name: 'churn_risk', type: 'number', unit: 'probability', description: '1 - p_alive: probability the customer has already left' },
    { name: 'expected_purchases_90d', type: 'number', unit: 'count', description: 'expected purchase days in the next 90 days' },
    { name: 'conversion_probability_30d', type: 'number', unit: 'probability', description: 'probability of at least one purchase in the next 30 days' },
    { name: 'expected_order_value', type: 'number', unit: 'currency', description: 'expected net spend per purchase day (Gamma-Gamma)' },
    { name: 'clv_12m', type: 'number', unit: 'currency', description: 'expected net spend over the next 12 months, discounted monthly' },
    { name: 'next_order_date', type: 'date', unit: 'none', description: 'median date of the next purchase if the customer is active (empty when p_alive is below the threshold)' },
    { name: 'churn_decisive_date', type: 'date', unit: 'none', description: 'date after which, without a new purchase, p_alive falls below the threshold: send a last-chance offer before it' },
    { name: 'clv_model', type: 'text', unit: 'none', description: 'the purchase model behind these scores' },
  ],

  async run(ctx: ScoreContext): Promise<ScorerResult> {
    const notes: string[] = [];
    const models: ModelRecord[] = [];
    const s = ctx.config.scores;
    ctx.progress('clv: purchase summary');
    const summary = await purchaseSummary(ctx.store, ctx.asOf);
    let name: TransactionModelName;
    let candidates: readonly CandidateResult[] = [];
    let fitted: TransactionFit;
    try {
      if (s.model === 'auto') {
        ctx.progress('clv: choosing the purchase model on a holdout');
        const choice = await chooseTransactionModel(ctx.store, ctx.asOf);
        name = choice.model;
        candidates = choice.candidates;
        notes.push(choice.reason);
      } else {
        name = s.model;
        notes.push(`${name} set in the configuration (scores.model)`);
      }
      ctx.progress(`clv: fitting ${name} on ${summary.customerIds.length.toLocaleString('en')} customers`);
      fitted = fitTransaction(name, summary.rfm);
    } catch (err) {
      // The run goes on (RFM and other scorers); these scores stay empty and the notes say why and what to try.
      const e = err instanceof KairosError ? err : new KairosError('INTERNAL', String(err));
      notes.push(`clv scores not computed: the purchase model could not be fitted: ${e.message}${e.hint ? ` (${e.hint})` : ''}`);
      await emptyTable(ctx);
      return { table: TABLE, models, notes };
    }
    if (fitted.note) notes.push(fitted.note);
    const fit = fitted.fit;
    // Resolved by name at run time: the model's own parameter type is not known statically here.
    const model = getTransactionModel(name as string);
    const rfm: RfmData = summary.rfm;
    ctx.progress('clv: fitting Gamma-Gamma spend');
    const { spend, fit: ggFit, note: spendNote } = fitSpend(summary.spend.x, summary.spend.m);
    if (spendNote) notes.push(spendNote);
    const dataHash = `run-${ctx.runId}`;
    models.push({ model: name, fit: { ...JSON.parse(serializeFit(name, fit, { dataHash })), selection: candidates } });
    if (ggFit) models.push({ model: 'gamma-gamma', fit: JSON.parse(serializeFit('gamma-gamma', ggFit, { dataHash })) });

    ctx.progress('clv: scoring customers');
    const p = fit.params;
    const pAlive = model.pAlive(p, rfm);
    const exp90 = model.expectedPurchases(p, rfm, CLV_HORIZONS.expectedPurchasesDays);
    const conv30 = model.conversionProbability(p, rfm, CLV_HORIZONS.conversionDays);
    const clv = gammaGamma.clv(model, p, rfm, spend, {
      months: s.clvMonths,
      monthlyDiscount: s.monthlyDiscountRate,
      monthLength: CLV_HORIZONS.monthDays,
    });
    const wait = model.expectedWaitToNextPurchase(p, rfm);
    // Decisive moment measured from the last purchase: P(alive | x, t_x, T) with T = t_x + d, no purchase after t_x.
    const sinceLast = model.decisiveTime(p, { x: rfm.x, tx: rfm.tx, T: rfm.tx }, s.decisiveThreshold);
    const endDay = Date.parse(`${summary.observationEnd}T00:00:00Z`) / 86_400_000;
    const n = summary.customerIds.length;
    const churn = new Float64Array(n);
    const nextDay = new Float64Array(n);
    const decisiveDay = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const pa = pAlive[i] as number;
      churn[i] = 1 - pa;
      nextDay[i] = pa >= s.decisiveThreshold ? endDay + Math.max(1, Math.ceil(wait[i] as number)) : Number.NaN;
      const d = sinceLast[i] as number;
      decisiveDay[i] = Number.isFinite(d) ? (summary.lastDay[i] as number) + Math.ceil(d) : Number.NaN;
    }
    // The final table in one append (no intermediate copy); clv_model, the same for every row, is added as a constant.
    await ctx.store.writeColumns(
      TABLE,
      [
        { name: 'customer_id', type: 'VARCHAR', values: summary.customerIds },
        { name: 'p_alive', type: 'DOUBLE', values: pAlive },
        { name: 'churn_risk', type: 'DOUBLE', values: churn },
        { name: 'expected_purchases_90d', type: 'DOUBLE', values: exp90 },
        { name: 'conversion_probability_30d', type: 'DOUBLE', values: conv30 },
        { name: 'expected_order_value', type: 'DOUBLE', values: spend.map(round2) },
        { name: 'clv_12m', type: 'DOUBLE', values: clv.map(round2) },
        { name: 'next_order_date', type: 'DATE', values: nextDay },
        { name: 'churn_decisive_date', type: 'DATE', values: decisiveDay },
      ],
      { temporary: true },
    );
    await ctx.store.run(`ALTER TABLE ${TABLE} ADD COLUMN clv_model VARCHAR DEFAULT ${quoteLiteral(name)}`);
    return { table: TABLE, models, notes };
  },

  explain(row, currency) {
    if (row['p_alive'] === null || row['p_alive'] === undefined) {
      return ['no purchase model score: no purchase before the as-of date, or the model could not be fitted (see kairos runs / models)'];
    }
    const pa = Number(row['p_alive']);
    const freq = Number(row['frequency'] ?? 0);
    const lines = [
      `bought ${freq} time(s), last ${row['recency_days']} days ago: ${formatPercent(pa)} chance still active (churn risk ${formatPercent(1 - pa)}), ${row['clv_model']} model`,
      `expects ${Number(row['expected_purchases_90d']).toFixed(2)} purchase(s) in the next 90 days; ${formatPercent(Number(row['conversion_probability_30d']))} chance of buying in the next 30 days`,
      `12-month value ${formatMoney(Number(row['clv_12m']), currency)} (expected ${formatMoney(Number(row['expected_order_value']), currency)} per order)`,
    ];
    lines.push(
      row['next_order_date'] ? `next order expected around ${row['next_order_date']}` : 'no next order expected: the customer has probably left',
    );
    const decisive = row['churn_decisive_date'];
    const asOf = String(row['scored_as_of'] ?? '').slice(0, 10);
    if (!decisive) lines.push('no decisive moment: the model never judges this customer lost without a new purchase');
    else if (String(decisive) < asOf) lines.push(`decisive moment passed on ${decisive}: a win-back campaign rather than a last-chance offer`);
    else lines.push(`decisive moment ${decisive}: without a purchase by then, the customer is more likely gone than not; send the last-chance offer before it`);
    return lines;
  },
};
