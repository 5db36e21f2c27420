// Accuracy against the demo's latent truth (truth.csv): P(alive), expected purchases and order values vs the values they were drawn from.
import type { KairosConfig } from '../config.js';
import { DEFAULT_RETAILER_PARAMS } from '../demo/params.js';
import { KairosError } from '../errors.js';
import { purchaseSummary } from '../features/summary.js';
import { gammaGamma, getTransactionModel, TRANSACTION_MODEL_NAMES, type FitResult, type ModelParams, type TransactionModelName } from '../models/index.js';
import { decideTransactionModel } from '../scores/clv/model-choice.js';
import { createAsOfViews, parseAsOf } from '../features/as-of.js';
import { quoteLiteral, type Store } from '../store/db.js';
import { sameRatePurchases } from '../backtest/baselines.js';
import { brierScore, mae, pearson, rocAuc, spearman } from '../backtest/metrics.js';
import { createPopulationTable, withRollback } from '../backtest/split.js';

/** The horizon of truth.csv's expectations and realised hold-out (docs/demo.md). */
export const TRUTH_HORIZON_DAYS = 180;

/** A fitted value next to the true one. */
export interface Recovered {
  name: string;
  fitted: number;
  standardError: number | null;
  truth: number;
}

/** One transaction model's scores against the truth. */
export interface ModelVsTruth {
  /** Null when the model could not be fitted (then every metric below is null). */
  readonly error: string | null;
  readonly pAlive: {
    /** P(alive) as a score for the true alive_at_end (0/1). */
    auc: number | null;
    brier: number | null;
    /** Against the truth's P(alive | λ, p, history): what a model that knew λ and p would say. */
    pearsonVsKnown: number | null;
    maeVsKnown: number | null;
    meanPredicted: number | null;
  };
  readonly purchases: {
    /** Against E[orders in the next 180 days | λ, p, history] (the best any model can do). */
    maeVsKnown: number | null;
    pearsonVsKnown: number | null;
    spearmanVsKnown: number | null;
    /** Against the realised orders of the simulated next 180 days. */
    maeVsRealised: number | null;
    total: number | null;
  };
}

/** How the models fitted on all the demo's data compare with its latent truth. */
export interface TruthComparison {
  /** Models are fitted on data strictly before this instant (the demo's data end). */
  readonly asOf: string;
  readonly customers: number;
  /** The model scoring would choose, and why. */
  readonly model: TransactionModelName;
  readonly modelReason: string;
  readonly models: Readonly<Record<TransactionModelName, ModelVsTruth>>;
  readonly reference: {
    /** RFM recency as a score for alive_at_end. */
    aucRecency: number | null;
    /** Brier of the constant "share alive in the population" (known only from the truth: a generous baseline). */
    brierConstant: number | null;
    shareAlive: number;
    /** Same-rate baseline and the truth's own expectation against the realised purchases (the noise floor). */
    maeBaselineVsRealised: number | null;
    maeKnownVsRealised: number | null;
    totalKnown: number;
    totalRealised: number;
    totalBaseline: number;
  };
  readonly orderValue: { customers: number; maeVsTrue: number | null; pearsonVsTrue: number | null };
  /** BG/NBD and Gamma-Gamma parameters fitted on the data vs the true ones (days). */
  readonly parameters: readonly Recovered[];
}

function estimates(fit: FitResult<ModelParams>, truth: Readonly<Record<string, number>>): Recovered[] {
  const se = fit.diagnostics.standardErrors as Record<string, number>;
  return Object.keys(truth).map((name) => ({
    name,
    fitted: fit.params[name] as number,
    standardError: Number.isFinite(se[name]) ? (se[name] as number) : null,
    truth: truth[name] as number,
  }));
}

function sum(xs: Float64Array): number {
  return xs.reduce((a, b) => a + b, 0);
}

/**
 * Fits the three purchase models (and notes the one scoring would choose) and Gamma-Gamma on every order before `asOf`
 * (the demo's data end), and compares with the demo's truth.csv: P(alive) vs alive_at_end and the truth's P(alive | history),
 * expected purchases in the next 180 days vs the truth's expectation given λ and p and vs the realised orders, and
 * Gamma-Gamma's expected order value vs p / ν. Runs in a rolled-back transaction (the store is unchanged).
 */
export async function compareWithTruth(store: Store, truthCsv: string, options: { config: KairosConfig; asOf: string }): Promise<TruthComparison> {
  const asOf = parseAsOf(options.asOf);
  return withRollback(store, async () => {
    await createAsOfViews(store, asOf);
    const summary = await purchaseSummary(store, asOf);
    const n = summary.customerIds.length;
    if (n === 0) throw new KairosError('INSUFFICIENT_DATA', `no purchase before ${asOf}`);
    const choice = await decideTransactionModel(store, asOf, options.config.scores);
    await createPopulationTable(store, '__truth_population', 'asof_orders', summary);
    await store.run(`CREATE OR REPLACE TEMP TABLE __truth AS SELECT * FROM read_csv(${quoteLiteral(truthCsv)}, header = true, all_varchar = true)`);
    const { numbers } = await store.readColumns(
      `SELECT p.idx, t.alive_at_end::DOUBLE AS alive, t.p_alive_given_history::DOUBLE AS p_known,
         t.expected_purchases_180d_given_history::DOUBLE AS e_known, t.purchases_next_180d::DOUBLE AS realised,
         t.expected_order_value::DOUBLE AS eov
       FROM __truth_population p LEFT JOIN __truth t USING (customer_id) ORDER BY p.idx`,
    );
    const col = (k: string): Float64Array => {
      const c = numbers[k];
      if (!c || c.length !== n || c.some((v) => !Number.isFinite(v))) {
        throw new KairosError('VALIDATION', `${truthCsv}: column for ${k} is missing or does not cover every customer with a purchase`);
      }
      return c;
    };
    const alive = col('alive');
    const pKnown = col('p_known');
    const eKnown = col('e_known');
    const realised = col('realised');
    const eov = col('eov');
    const recency = Float64Array.from(summary.transactions.T, (t, i) => -(t - (summary.transactions.tx[i] as number)));
    const shareAlive = sum(alive) / n;
    const baseline = sameRatePurchases(summary.transactions.x, summary.transactions.T, TRUTH_HORIZON_DAYS);

    const fits = {} as Record<TransactionModelName, FitResult<ModelParams> | null>;
    const models = {} as Record<TransactionModelName, ModelVsTruth>;
    for (const name of TRANSACTION_MODEL_NAMES) {
      const model = getTransactionModel(name as string);
      try {
        const fit = model.fit(summary.transactions);
        fits[name] = fit;
        const pAlive = model.pAlive(fit.params, summary.transactions).map((p) => Math.min(1, Math.max(0, p)));
        const expected = model.expectedPurchases(fit.params, summary.transactions, TRUTH_HORIZON_DAYS);
        models[name] = {
          error: null,
          pAlive: {
            auc: rocAuc(alive, pAlive),
            brier: brierScore(alive, pAlive),
            pearsonVsKnown: pearson(pKnown, pAlive),
            maeVsKnown: mae(pKnown, pAlive),
            meanPredicted: sum(pAlive) / n,
          },
          purchases: {
            maeVsKnown: mae(eKnown, expected),
            pearsonVsKnown: pearson(eKnown, expected),
            spearmanVsKnown: spearman(eKnown, expected),
            maeVsRealised: mae(realised, expected),
            total: sum(expected),
          },
        };
      } catch (err) {
        fits[name] = null;
        models[name] = {
          error: (err as Error).message,
          pAlive: { auc: null, brier: null, pearsonVsKnown: null, maeVsKnown: null, meanPredicted: null },
          purchases: { maeVsKnown: null, pearsonVsKnown: null, spearmanVsKnown: null, maeVsRealised: null, total: null },
        };
      }
    }

    // Gamma-Gamma on the repeat buyers, compared with the true mean order value p / ν of the same customers.
    const keep: number[] = [];
    for (let i = 0; i < n; i++) if ((summary.spend.x[i] as number) > 0 && (summary.spend.m[i] as number) > 0) keep.push(i);
    const spend = { x: Float64Array.from(keep, (i) => summary.spend.x[i] as number), m: Float64Array.from(keep, (i) => summary.spend.m[i] as number) };
    const gg = gammaGamma.fit(spend);
    const eovPredicted = gammaGamma.conditionalExpectedSpend(gg.params, spend);
    const eovTrue = Float64Array.from(keep, (i) => eov[i] as number);
    const bg = fits['bg-nbd'];
    const t = DEFAULT_RETAILER_PARAMS;
    return {
      asOf,
      customers: n,
      model: choice.model,
      modelReason: choice.reason,
      models,
      reference: {
        aucRecency: rocAuc(alive, recency),
        brierConstant: brierScore(alive, new Float64Array(n).fill(shareAlive)),
        shareAlive,
        maeBaselineVsRealised: mae(realised, baseline),
        maeKnownVsRealised: mae(realised, eKnown),
        totalKnown: sum(eKnown),
        totalRealised: sum(realised),
        totalBaseline: sum(baseline),
      },
      orderValue: { customers: keep.length, maeVsTrue: mae(eovTrue, eovPredicted), pearsonVsTrue: pearson(eovTrue, eovPredicted) },
      parameters: [
        ...(bg ? estimates(bg, { r: t.r, alpha: t.alpha, a: t.a, b: t.b }) : []),
        ...estimates(gg as unknown as FitResult<ModelParams>, { p: t.p, q: t.q, gamma: t.gamma }),
      ],
    };
  });
}
