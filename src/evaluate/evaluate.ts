// `kairos evaluate`: an honest backtest of every predictive score, fitted before the cut and scored on the holdout.
import { basename } from 'node:path';
import type { KairosConfig } from '../config.js';
import { KairosError } from '../errors.js';
import {
  gammaGamma,
  getTransactionModel,
  TRANSACTION_MODEL_NAMES,
  type FitResult,
  type GammaGammaParams,
  type ModelParams,
  type TransactionModelName,
  type TransactionSummary,
} from '../models/index.js';
import { CLV_HORIZONS } from '../scores/clv.js';
import { chooseTransactionModel, type CandidateResult } from '../scores/model-choice.js';
import { fitSpend, fitTransaction } from '../scores/fitting.js';
import type { Store } from '../store/db.js';
import {
  BASELINE_NAMES,
  overdueDecisiveDay,
  pastSpendValue,
  recencyQuintileBaseline,
  recencyScore,
  sameRatePurchases,
} from './baselines.js';
import { mae } from './metrics.js';
import { formatCount, formatNumber, formatPercent } from './report/format.js';
import type { EvaluationReport, ScoreSection, TrackingChart } from './report/types.js';
import {
  countSection,
  decisiveOutcome,
  decisiveSection,
  parameterEstimates,
  probabilitySection,
  valueSection,
  type DecisiveOutcome,
  type SectionText,
} from './sections.js';
import {
  actualRepeatPurchasesPerPeriod,
  createSplitViews,
  epochDay,
  loadEvaluationData,
  resolveSplit,
  withRollback,
  type EvaluationData,
  type EvaluationSplit,
  type HoldoutOutcomes,
  type SplitOptions,
} from './split.js';
import { cumulative, predictedCumulative, trackingLayout } from './tracking.js';

export interface EvaluateOptions extends SplitOptions {
  readonly config: KairosConfig;
  /** Data set name shown in the report (default: the store file's name). */
  readonly dataset?: string;
  readonly title?: string;
  /** Fixed report timestamp (tests); default now. */
  readonly generatedAt?: string;
  readonly onProgress?: (message: string) => void;
}

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

/** Everything behind the report, unrounded: for the CLI text, the accuracy script and the leakage test. */
export interface EvaluationDetails {
  readonly split: EvaluationSplit;
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
  readonly seconds: number;
}

export interface EvaluationResult {
  readonly report: EvaluationReport;
  readonly details: EvaluationDetails;
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

/** "39-week" or "100-day". */
export function holdoutLabel(days: number): string {
  if (Number.isInteger(days) && days % 7 === 0) return `${days / 7}-week`;
  return `${formatNumber(days)}-day`;
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
  const rfm = data.summary.rfm;
  let fit: FitResult<ModelParams>;
  let note: string | null;
  try {
    ({ fit, note } = fitTransaction(name, rfm));
  } catch (err) {
    return { fit: null, error: `could not be fitted: ${errorText(err)}`, ...NO_PREDICTIONS };
  }
  try {
    const predicted = checkFinite(`${name} expected purchases`, model.expectedPurchases(fit.params, rfm, data.split.holdoutDays));
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
 * Runs the backtest: resolves the split, fits every model on the calibration only (the as-of views, exactly what
 * `kairos score --as-of CUT` reads), predicts the holdout and compares each score with what customers did, beside
 * its baseline. Everything runs in a transaction that is rolled back: the store is unchanged. A model that cannot be
 * fitted makes its sections "N/A" with the reason, never a crash.
 */
export async function evaluateStore(store: Store, options: EvaluateOptions): Promise<EvaluationResult> {
  const started = Date.now();
  const progress = options.onProgress ?? (() => {});
  return withRollback(store, async () => {
    const split = await resolveSplit(store, options);
    await createSplitViews(store, split);
    progress(`calibration ${split.calibrationStart} to ${split.calibrationEnd}, holdout ${split.holdoutStart} to ${split.holdoutLast}`);
    const data = await loadEvaluationData(store, split, CLV_HORIZONS.conversionDays);
    const n = data.summary.customerIds.length;
    if (n === 0) {
      throw new KairosError('INSUFFICIENT_DATA', `no customer with a purchase before ${split.cut.slice(0, 10)}`, { hint: 'choose a later --calibration-end' });
    }
    const rfm: TransactionSummary = data.summary.rfm;
    const out = data.outcomes;
    const H = split.holdoutDays;
    const cutDay = epochDay(split.calibrationEnd) + 1;
    const endDay = epochDay(split.holdoutLast) + 1;
    const layout = trackingLayout(data.firstDay.reduce((a, b) => Math.min(a, b), Infinity), cutDay, endDay);
    const actualPerPeriod = await actualRepeatPurchasesPerPeriod(store, layout.startDay, layout.periodDays, layout.ends.length);
    const actualCumulative = cumulative(actualPerPeriod);

    // Which model scoring would use, decided on the calibration data only (asof_orders), as `kairos score` does.
    let choice: EvaluationDetails['choice'];
    const configured = options.config.scores.model;
    if (configured === 'auto') {
      progress('choosing the purchase model as scoring does (on the calibration only)');
      try {
        choice = await chooseTransactionModel(store, split.cut);
      } catch (err) {
        choice = {
          model: 'bg-nbd',
          reason: `scoring would stop here: choosing the model on an earlier cut failed (${errorText(err)}); the sections below use bg-nbd`,
          candidates: [],
        };
      }
    } else {
      choice = { model: configured, reason: `${configured} set in the configuration (scores.model)`, candidates: [] };
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

    const sameRate = sameRatePurchases(rfm.x, rfm.T, H);
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
      sections.push(countSection(text, { x: rfm.x, actual: out.purchases, predicted: r.predicted, baseline: sameRate, baselineName: BASELINE_NAMES.sameRate }, tracking));
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
    const currency = options.config.currency;
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
          baseline: pastSpendValue(out.calibrationSpend, rfm.T, H),
          baselineName: BASELINE_NAMES.pastSpend,
          unit: `holdout revenue (${currency})`,
        },
      ),
    );

    progress('probabilities');
    const recency = recencyScore(rfm.tx, rfm.T);
    const boughtAgain = Float64Array.from(out.purchases, (v) => (v > 0 ? 1 : 0));
    const holdoutQuintile = await recencyQuintileBaseline(store, data, H);
    const pAlive = tryPredict((p) => clampProbabilities(model.pAlive(p, rfm)));
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
    const conversion = tryPredict((p) => clampProbabilities(model.conversionProbability(p, rfm, C)));
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
    const threshold = options.config.scores.decisiveThreshold;
    let decisive: DecisiveOutcome | null = null;
    const decisiveDays = tryPredict((p) => {
      const d = model.decisiveTime(p, { x: rfm.x, tx: rfm.tx, T: rfm.tx }, threshold);
      return Float64Array.from(d, (v, i) => (Number.isFinite(v) ? (data.summary.lastDay[i] as number) + Math.ceil(v) : Number.NaN));
    });
    if (decisiveDays) decisive = decisiveOutcome(decisiveDays, out.firstPurchaseDay, cutDay, endDay);
    const overdue = decisiveOutcome(overdueDecisiveDay(rfm.x, rfm.tx, data.summary.lastDay), out.firstPurchaseDay, cutDay, endDay);
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

    const dataset = options.dataset ?? basename(store.path).replace(/\.duckdb$/, '');
    const report: EvaluationReport = {
      schemaVersion: 1,
      title: options.title ?? `Kairos backtest: ${dataset}`,
      dataset,
      calibration: { start: split.calibrationStart, end: split.calibrationEnd },
      holdout: { start: split.holdoutStart, end: split.holdoutLast },
      generatedAt: options.generatedAt ?? new Date().toISOString(),
      customers: n,
      scores: sections,
    };
    const details: EvaluationDetails = {
      split,
      choice,
      models,
      winner,
      spend: { fit: spend.fit, note: spend.note },
      calibration: { customerIds: data.summary.customerIds, x: rfm.x, tx: rfm.tx, T: rfm.T, m: data.summary.spend.m },
      outcomes: out,
      totals: {
        calibrationActual: sumOf(rfm.x),
        holdoutActual: actualTotal,
        holdoutSameRate: sumOf(sameRate),
        holdoutValue: sumOf(out.value),
      },
      seconds: (Date.now() - started) / 1000,
    };
    return { report, details };
  });
}
