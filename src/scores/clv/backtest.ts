// The clv scorer's backtest: every purchase model fitted on the calibration only, its scores graded against named baselines on the holdout.
import {
  BASELINE_NAMES,
  overdueDecisiveDay,
  pastSpendValue,
  recencyQuintileBaseline,
  recencyScore,
  sameRatePurchases,
} from '../../backtest/baselines.js';
import { formatCount, formatNumber, formatPercent, holdoutLabel } from '../../backtest/format.js';
import { mae } from '../../backtest/metrics.js';
import {
  countSection,
  decisiveOutcome,
  decisiveSection,
  parameterEstimates,
  probabilitySection,
  valueSection,
  type DecisiveOutcome,
  type SectionText,
} from '../../backtest/sections.js';
import { actualRepeatPurchasesPerPeriod, epochDay, loadEvaluationData, type EvaluationData, type HoldoutOutcomes } from '../../backtest/split.js';
import { cumulative, predictedCumulative, trackingLayout } from '../../backtest/tracking.js';
import type { ScoreSection, TrackingChart } from '../../backtest/types.js';
import { KairosError } from '../../errors.js';
import {
  gammaGamma,
  getTransactionModel,
  TRANSACTION_MODEL_NAMES,
  type FitResult,
  type GammaGammaParams,
  type ModelParams,
  type TransactionSummary,
  type TransactionModelName,
} from '../../models/index.js';
import type { BacktestContext, BacktestResult } from '../types.js';
import { fitSpend, fitTransaction } from './fitting.js';
import { CLV_HORIZONS } from './horizons.js';
import { decideTransactionModel, type CandidateResult } from './model-choice.js';

/** One transaction model's backtest. */
export interface ModelOutcome {
  readonly fit: FitResult<ModelParams> | null;
  /** Why the model could not be fitted or used, or null. */
  readonly error: string | null;
  /** Set when the plain fit failed and a penalised one was used (as in scoring). */
  readonly note?: string | null;
  /** Per-customer expected purchase days in the holdout (conditional on the calibration history). */
  readonly predicted: Float64Array | null;
  readonly holdoutMae: number | null;
  /** Total expected holdout purchases: summed conditional expectations, and the cohort-based tracking forecast. */
  readonly totalConditional: number | null;
  readonly totalTracking: number | null;
  /** The tracking forecast over the calibration window (fit check). */
  readonly calibrationTracking: number | null;
  /** Expected cumulative repeat purchases of the population at the end of each tracking period. */
  readonly trackingCumulative: readonly number[] | null;
}

/** Everything behind the clv sections, unrounded: for the CLI text, the accuracy script and the leakage test. */
export interface ClvBacktestDetails {
  readonly choice: { model: TransactionModelName; reason: string; candidates: readonly CandidateResult[] };
  readonly models: Readonly<Record<TransactionModelName, ModelOutcome>>;
  /** The model with the lowest holdout MAE, or null when none could be fitted. */
  readonly winner: TransactionModelName | null;
  readonly spend: { fit: FitResult<GammaGammaParams> | null; note: string | null };
  /** The calibration summary the models were fitted on. */
  readonly calibration: { customerIds: readonly string[]; x: Float64Array; tx: Float64Array; T: Float64Array; m: Float64Array };
  /** What the same customers did in the holdout. */
  readonly outcomes: HoldoutOutcomes;
  readonly totals: {
    /** Repeat purchase days in the calibration window and in the holdout (actual). */
    calibrationActual: number;
    holdoutActual: number;
    /** The same-rate baseline's holdout total. */
    holdoutSameRate: number;
    /** Net holdout revenue of the population. */
    holdoutValue: number;
  };
}

const errorText = (err: unknown): string => {
  if (err instanceof KairosError) return `${err.message}${err.hint ? ` (${err.hint})` : ''}`;
  return err instanceof Error ? err.message : String(err);
};

/** Throws when a model output is not finite, so the section reports the model as unusable instead of crashing. */
function checkFinite(what: string, values: Float64Array): Float64Array {
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i] as number)) throw new KairosError('CONVERGENCE', `${what} is not finite for customer row ${i}`);
  }
  return values;
}

function clampProbabilities(p: Float64Array): Float64Array {
  checkFinite('a probability', p);
  return p.map((v) => Math.min(1, Math.max(0, v)));
}

function sumOf(xs: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += xs[i] as number;
  return s;
}

const NO_PREDICTIONS = {
  predicted: null,
  holdoutMae: null,
  totalConditional: null,
  totalTracking: null,
  calibrationTracking: null,
  trackingCumulative: null,
} as const;

function fitTransactionModel(
  name: TransactionModelName,
  data: EvaluationData,
  layout: ReturnType<typeof trackingLayout>,
): ModelOutcome {
  const model = getTransactionModel(name as string);
  const transactions = data.summary.transactions;
  let fit: FitResult<ModelParams>;
  let note: string | null;
  try {
    ({ fit, note } = fitTransaction(name, transactions));
  } catch (err) {
    return { fit: null, error: `could not be fitted: ${errorText(err)}`, ...NO_PREDICTIONS };
  }
  try {
    const predicted = checkFinite(`${name} expected purchases`, model.expectedPurchases(fit.params, transactions, data.split.holdoutDays));
    const cum = predictedCumulative(model, fit.params, data.firstDay, layout.ends);
    const atCut = cum[layout.holdoutStartIndex - 1] ?? 0;
    const atEnd = cum[cum.length - 1] ?? atCut;
    if (!cum.every(Number.isFinite)) throw new KairosError('CONVERGENCE', `${name} unconditional expectation is not finite`);
    return {
      fit,
      error: null,
      note,
      predicted,
      holdoutMae: mae(data.outcomes.purchases, predicted),
      totalConditional: sumOf(predicted),
      totalTracking: atEnd - atCut,
      calibrationTracking: atCut,
      trackingCumulative: cum,
    };
  } catch (err) {
    return { fit, error: `was fitted but its predictions failed: ${errorText(err)}`, ...NO_PREDICTIONS };
  }
}

/**
 * The clv scorer's backtest hook: fits every purchase model on the calibration only (the as-of views, exactly what
 * `kairos score --as-of CUT` reads), predicts the holdout and compares each score with what customers did, beside its
 * baseline. A model that cannot be fitted makes its sections "N/A" with the reason, never a crash.
 */
export async function backtestClv(ctx: BacktestContext): Promise<BacktestResult & { details: ClvBacktestDetails }> {
  const { store, split, progress } = ctx;
  const data = await loadEvaluationData(store, split, CLV_HORIZONS.conversionDays);
  const n = data.summary.customerIds.length;
  if (n === 0) {
    throw new KairosError('INSUFFICIENT_DATA', `no customer with a purchase before ${split.cut.slice(0, 10)}`, { hint: 'choose a later --calibration-end' });
  }
    const transactions: TransactionSummary = data.summary.transactions;
    const out = data.outcomes;
    const H = split.holdoutDays;
    const cutDay = epochDay(split.calibrationEnd) + 1;
    const endDay = epochDay(split.holdoutLast) + 1;
    const layout = trackingLayout(data.firstDay.reduce((a, b) => Math.min(a, b), Infinity), cutDay, endDay);
    const actualPerPeriod = await actualRepeatPurchasesPerPeriod(store, layout.startDay, layout.periodDays, layout.ends.length);
    const actualCumulative = cumulative(actualPerPeriod);

    // Which model scoring would use, decided on the calibration data only (asof_orders), by the scorer's own choice.
    if (ctx.config.scores.model === 'auto') progress('choosing the purchase model as scoring does (on the calibration only)');
    let choice: ClvBacktestDetails['choice'];
    try {
      choice = await decideTransactionModel(store, split.cut, ctx.config.scores);
    } catch (err) {
      choice = {
        model: 'bg-nbd',
        reason: `scoring would stop here: choosing the model on an earlier cut failed (${errorText(err)}); the sections below use bg-nbd`,
        candidates: [],
      };
    }

    const models = {} as Record<TransactionModelName, ModelOutcome>;
    for (const name of TRANSACTION_MODEL_NAMES) {
      progress(`fitting ${name} on ${formatCount(n)} customers`);
      models[name] = fitTransactionModel(name, data, layout);
    }
    const ranked = TRANSACTION_MODEL_NAMES.filter((m) => models[m].holdoutMae !== null).sort(
      (a, b) => (models[a].holdoutMae as number) - (models[b].holdoutMae as number),
    );
    const winner = ranked[0] ?? null;

    const sameRate = sameRatePurchases(transactions.x, transactions.T, H);
    const hl = holdoutLabel(H);
    const sections: ScoreSection[] = [];

    // --- Purchase counts, chosen model first, then the other two for comparison.
    const order = [choice.model, ...TRANSACTION_MODEL_NAMES.filter((m) => m !== choice.model)];
    const sideBySide = TRANSACTION_MODEL_NAMES.map((m) => {
      const r = models[m];
      return r.holdoutMae === null ? `${m} ${r.error ?? 'n/a'}` : `${m} ${formatNumber(r.holdoutMae, 4)}${m === winner ? ' (best)' : ''}`;
    }).join(', ');
    const winnerLine =
      winner === null
        ? 'None of the three purchase models could be fitted.'
        : `Side by side, per-customer MAE of holdout purchases: ${sideBySide}. ${winner} wins on this holdout${
            winner === choice.model ? ', and it is the model scoring chooses.' : `; scoring would choose ${choice.model}.`
          }`;
    const actualTotal = sumOf(out.purchases);
    for (const name of order) {
      const r = models[name];
      const chosen = name === choice.model;
      const tracking: TrackingChart | null =
        r.trackingCumulative !== null
          ? {
              kind: 'tracking',
              title: `Cumulative repeat purchases, actual vs ${name}`,
              periods: [...layout.labels],
              actualCumulative,
              predictedCumulative: [...r.trackingCumulative],
              holdoutStartIndex: layout.holdoutStartIndex,
              unit: 'repeat purchases',
            }
          : null;
      const totals =
        r.totalConditional === null
          ? ''
          : ` Holdout total: ${formatCount(r.totalConditional)} repeat purchases expected (sum of the customers' conditional expectations; ` +
            `${formatCount(r.totalTracking ?? 0)} by the cohort tracking forecast) vs ${formatCount(actualTotal)} actual; the baseline expects ${formatCount(sumOf(sameRate))}.`;
      const text: SectionText = {
        name: `Expected purchases in the ${hl} holdout: ${name}${chosen ? ' (chosen for scoring)' : ' (for comparison)'}`,
        description:
          `Each customer's expected purchase days in the ${formatNumber(H)} days after the cut, E[Y(t) | x, t_x, T], from ${name} fitted on the calibration window only (time unit: days). ` +
          `Baseline '${BASELINE_NAMES.sameRate}': x / T × ${formatNumber(H)} days.` +
          totals +
          (r.error ? ` ${name} ${r.error}.` : '') +
          (r.note ? ` ${r.note}.` : '') +
          (chosen ? ` Chosen as in scoring: ${choice.reason}. ${winnerLine}` : ''),
        model: name,
        parameters: parameterEstimates(r.fit, getTransactionModel(name as string).paramNames),
      };
      sections.push(countSection(text, { x: transactions.x, actual: out.purchases, predicted: r.predicted, baseline: sameRate, baselineName: BASELINE_NAMES.sameRate }, tracking));
    }

    // --- The chosen model's other scores.
    const chosen = models[choice.model];
    const model = getTransactionModel(choice.model as string);
    const usable = chosen.fit !== null && chosen.error === null ? chosen.fit : null;
    const failure = usable ? '' : ` ${choice.model} ${chosen.error ?? 'could not be used'}: the model's metrics are n/a.`;
    const tryPredict = (f: (params: ModelParams) => Float64Array): Float64Array | null => {
      if (!usable) return null;
      try {
        return f(usable.params);
      } catch {
        return null;
      }
    };

    progress('spend model and holdout value');
    const spend = fitSpend(data.summary.spend.x, data.summary.spend.m);
    const valuePredicted = chosen.predicted ? chosen.predicted.map((v, i) => v * (spend.spend[i] as number)) : null;
    const currency = ctx.config.currency;
    sections.push(
      valueSection(
        {
          name: `Customer value over the ${hl} holdout (CLV)`,
          description:
            `Expected net spend in the holdout: ${choice.model} expected purchases × Gamma-Gamma expected spend per purchase day, undiscounted (the CLV of the holdout horizon), ` +
            `against the net revenue customers actually brought (returns subtracted; ${currency} ${formatCount(sumOf(out.value))} in total). ` +
            `Baseline '${BASELINE_NAMES.pastSpend}': calibration net spend / (T + 1 days) × ${formatNumber(H)} days.` +
            (spend.note ? ` ${spend.note}.` : '') +
            failure,
          model: `gamma-gamma × ${choice.model}`,
          parameters: parameterEstimates(spend.fit as FitResult<ModelParams> | null, gammaGamma.PARAM_NAMES),
        },
        {
          actual: out.value,
          predicted: valuePredicted,
          baseline: pastSpendValue(out.calibrationSpend, transactions.T, H),
          baselineName: BASELINE_NAMES.pastSpend,
          unit: `holdout revenue (${currency})`,
        },
      ),
    );

    progress('probabilities');
    const recency = recencyScore(transactions.tx, transactions.T);
    const boughtAgain = Float64Array.from(out.purchases, (v) => (v > 0 ? 1 : 0));
    const holdoutQuintile = await recencyQuintileBaseline(store, data, H);
    const pAlive = tryPredict((p) => clampProbabilities(model.pAlive(p, transactions)));
    const quintileText = (b: typeof holdoutQuintile, days: number): string =>
      b === null
        ? 'the calibration is too short to estimate it'
        : `the share of customers of each recency quintile who bought in the ${b.innerDays} days before the cut (among those seen before them)` +
          (b.innerDays === days ? '' : `, scaled to ${formatNumber(days)} days as 1 − (1 − rate)^(${formatNumber(days)}/${b.innerDays})`) +
          `: ${b.rates.map((r) => formatPercent(r)).join(', ')} from the longest-ago quintile to the most recent`;
    sections.push(
      probabilitySection(
        {
          name: 'P(alive) vs buying again in the holdout (churn risk = 1 − P(alive))',
          description:
            `P(alive) at the cut from ${choice.model}, against whether the customer bought again in the holdout (${formatPercent(sumOf(boughtAgain) / n)} did). ` +
            'An alive customer may still not buy within the holdout, so P(alive) overstates that probability by design: the ranking metrics (AUC) are the fair test, the Brier score and the reliability chart show the gap. ' +
            `Ranking baseline '${BASELINE_NAMES.recency}': the more recent the last purchase, the higher. Brier baseline '${BASELINE_NAMES.recencyQuintile}': ${quintileText(holdoutQuintile, H)}.` +
            failure,
          model: choice.model,
          parameters: parameterEstimates(usable, model.paramNames),
        },
        {
          actual: boughtAgain,
          probability: pAlive,
          rankBaseline: recency,
          rankBaselineName: BASELINE_NAMES.recency,
          probabilityBaseline: holdoutQuintile?.probability ?? null,
          probabilityBaselineName: BASELINE_NAMES.recencyQuintile,
        },
      ),
    );

    const C = out.earlyDays;
    const earlyQuintile = await recencyQuintileBaseline(store, data, C);
    const boughtEarly = Float64Array.from(out.earlyPurchases, (v) => (v > 0 ? 1 : 0));
    const conversion = tryPredict((p) => clampProbabilities(model.conversionProbability(p, transactions, C)));
    sections.push(
      probabilitySection(
        {
          name: `Conversion probability, first ${formatNumber(C)} days of the holdout`,
          description:
            `P(at least one purchase in the ${formatNumber(C)} days after the cut | x, t_x, T) from ${choice.model}, against whether the customer bought in those days (${formatPercent(sumOf(boughtEarly) / n)} did). ` +
            `Ranking baseline '${BASELINE_NAMES.recency}'. Brier baseline '${BASELINE_NAMES.recencyQuintile}': ${quintileText(earlyQuintile, C)}.` +
            failure,
          model: choice.model,
          parameters: parameterEstimates(usable, model.paramNames),
        },
        {
          actual: boughtEarly,
          probability: conversion,
          rankBaseline: recency,
          rankBaselineName: BASELINE_NAMES.recency,
          probabilityBaseline: earlyQuintile?.probability ?? null,
          probabilityBaselineName: BASELINE_NAMES.recencyQuintile,
        },
      ),
    );

    progress('decisive moment');
    const threshold = ctx.config.scores.decisiveThreshold;
    let decisive: DecisiveOutcome | null = null;
    const decisiveDays = tryPredict((p) => {
      const d = model.decisiveTime(p, { x: transactions.x, tx: transactions.tx, T: transactions.tx }, threshold);
      return Float64Array.from(d, (v, i) => (Number.isFinite(v) ? (data.summary.lastDay[i] as number) + Math.ceil(v) : Number.NaN));
    });
    if (decisiveDays) decisive = decisiveOutcome(decisiveDays, out.firstPurchaseDay, cutDay, endDay);
    const overdue = decisiveOutcome(overdueDecisiveDay(transactions.x, transactions.tx, data.summary.lastDay), out.firstPurchaseDay, cutDay, endDay);
    const tally = (o: DecisiveOutcome | null, who: string): string =>
      o === null
        ? `${who}: n/a`
        : `${who}: ${formatCount(o.flagged)} customers had the date inside the holdout; ${formatPercent(o.flagged ? o.boughtBefore / o.flagged : null)} bought again before it, ` +
          `${formatPercent(o.flagged ? o.boughtAfter / o.flagged : null)} after it, the rest not at all`;
    sections.push(
      decisiveSection(
        {
          name: 'Churn decisive moment',
          description:
            `The date after which, without a new purchase, ${choice.model}'s P(alive) falls below ${formatNumber(threshold)} (last purchase + the smallest d with P(alive | x, t_x, t_x + d) < ${formatNumber(threshold)}). ` +
            `Graded on how often customers still came back after that date, per 30 days at risk (lower = the date marks customers who are really gone). ` +
            `Baseline '${BASELINE_NAMES.overdue}': last purchase + 2 × t_x / x (one-time buyers: twice the median gap of repeat buyers). ` +
            `${tally(decisive, 'Model')}. ${tally(overdue, 'Overdue rule')}.` +
            failure,
          model: choice.model,
          parameters: parameterEstimates(usable, model.paramNames),
        },
        decisive,
        overdue,
        BASELINE_NAMES.overdue,
      ),
    );

    const details: ClvBacktestDetails = {
      choice,
      models,
      winner,
      spend: { fit: spend.fit, note: spend.note },
      calibration: { customerIds: data.summary.customerIds, x: transactions.x, tx: transactions.tx, T: transactions.T, m: data.summary.spend.m },
      outcomes: out,
      totals: {
        calibrationActual: sumOf(transactions.x),
        holdoutActual: actualTotal,
        holdoutSameRate: sumOf(sameRate),
        holdoutValue: sumOf(out.value),
      },
    };
    return { sections, details, summary: summaryLines(details) };
}

/** The lines `kairos evaluate` prints for the purchase models under its table of grades. */
function summaryLines(d: ClvBacktestDetails): string[] {
  const side = TRANSACTION_MODEL_NAMES.map((m) => {
    const r = d.models[m];
    return r.holdoutMae === null ? `${m} failed (${r.error})` : `${m} ${r.holdoutMae.toFixed(4)}`;
  });
  const totals = TRANSACTION_MODEL_NAMES.filter((m) => d.models[m].totalConditional !== null).map(
    (m) => `${m} ${formatCount(d.models[m].totalConditional ?? 0)} (tracking ${formatCount(d.models[m].totalTracking ?? 0)})`,
  );
  return [
    `purchase models, per-customer MAE of holdout purchases: ${side.join(', ')}`,
    d.winner === null
      ? 'no purchase model could be fitted'
      : `${d.winner} wins on this holdout${d.winner === d.choice.model ? ' and is the model scoring chooses' : `; scoring chooses ${d.choice.model} (${d.choice.reason})`}`,
    `holdout repeat purchases: actual ${formatCount(d.totals.holdoutActual)}; expected ${totals.join(', ') || 'n/a'}; same-rate baseline ${formatCount(d.totals.holdoutSameRate)}`,
  ];
}
