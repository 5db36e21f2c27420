// Report sections per kind of score: metric rows beside a named baseline, the grade, and the charts, from plain arrays.
import type { FitResult, ModelParams } from '../models/index.js';
import { gradeScore } from './grade.js';
import {
  brierScore,
  conditionalExpectation,
  decileLift,
  hitRateAtK,
  liftAtFraction,
  mae,
  ndcgAtK,
  normalisedGini,
  prAuc,
  precisionAtK,
  recallAtK,
  reliabilityBins,
  rmse,
  rocAuc,
  rocCurve,
  spearman,
  topShareCaptured,
  type RocPoint,
} from './metrics.js';
import type { Better, ChartSpec, MetricRow, ParameterEstimate, ScoreSection } from './types.js';

/** Most points kept on a ROC curve in the report (the curve is thinned evenly; the AUC is computed on all points). */
export const MAX_ROC_POINTS = 120;

/** One metric row. */
export function row(metric: string, model: number | null, baseline: number | null, baselineName: string, better: Better): MetricRow {
  return { metric, model, baseline, baselineName, better };
}

/** A section graded on its first metric row, as the report requires. */
export function gradedSection(s: Omit<ScoreSection, 'grade'>): ScoreSection {
  const head = s.metrics[0];
  if (head === undefined) {
    return { ...s, grade: { grade: 'N/A', reason: 'Cannot be graded: no metric could be computed.' } };
  }
  return { ...s, grade: gradeScore(s.kind, head) };
}

/** A fit's parameters with their standard errors (non-finite errors shown as unknown), in the paper's order. */
export function parameterEstimates(fit: FitResult<ModelParams> | null, names?: readonly string[]): ParameterEstimate[] {
  if (!fit) return [];
  const se = fit.diagnostics.standardErrors as Record<string, number>;
  return (names ?? Object.keys(fit.params)).map((name) => {
    const e = se[name];
    return { name, value: fit.params[name] as number, standardError: e !== undefined && Number.isFinite(e) ? e : null };
  });
}

/** Relative error of a total, |predicted − actual| / actual; null when the actual total is 0. */
export function totalError(actual: ArrayLike<number>, predicted: ArrayLike<number> | null): number | null {
  if (predicted === null) return null;
  let a = 0;
  let p = 0;
  for (let i = 0; i < actual.length; i++) {
    a += actual[i] as number;
    p += predicted[i] as number;
  }
  return a === 0 ? null : Math.abs(p - a) / Math.abs(a);
}

function maybe<T>(predicted: Float64Array | null, f: (p: Float64Array) => T | null): T | null {
  return predicted === null ? null : f(predicted);
}

/** ROC curve thinned to at most `max` points, evenly by index, first and last kept. */
export function thinRoc(points: RocPoint[], max = MAX_ROC_POINTS): RocPoint[] {
  if (points.length <= max) return points;
  const out: RocPoint[] = [];
  for (let k = 0; k < max; k++) out.push(points[Math.round((k * (points.length - 1)) / (max - 1))] as RocPoint);
  return out;
}

/** What every section builder takes besides its numbers. */
export interface SectionText {
  name: string;
  description: string;
  model: string;
  parameters: ParameterEstimate[];
}

/**
 * Purchase counts in the holdout: MAE (headline), RMSE, Spearman and the error of the total, against the
 * "same rate as calibration" baseline; conditional-expectation chart by calibration frequency (and the tracking
 * chart when given). `predicted` null = the model could not be fitted.
 */
export function countSection(
  text: SectionText,
  data: { x: Float64Array; actual: Float64Array; predicted: Float64Array | null; baseline: Float64Array; baselineName: string },
  tracking: ChartSpec | null,
): ScoreSection {
  const { actual, predicted, baseline, baselineName: b } = data;
  const charts: ChartSpec[] = [];
  if (tracking) charts.push(tracking);
  if (predicted) {
    charts.push({
      kind: 'conditional-expectation',
      title: 'Holdout purchases by calibration frequency',
      buckets: conditionalExpectation(data.x, actual, predicted, 7),
    });
  }
  return gradedSection({
    ...text,
    kind: 'count',
    metrics: [
      row('MAE of holdout purchases per customer', maybe(predicted, (p) => mae(actual, p)), mae(actual, baseline), b, 'lower'),
      row('RMSE of holdout purchases per customer', maybe(predicted, (p) => rmse(actual, p)), rmse(actual, baseline), b, 'lower'),
      row('Spearman correlation with holdout purchases', maybe(predicted, (p) => spearman(actual, p)), spearman(actual, baseline), b, 'higher'),
      row('Error of the total holdout purchases (share of actual)', totalError(actual, predicted), totalError(actual, baseline), b, 'lower'),
    ],
    charts,
  });
}

/**
 * Value in the holdout (net revenue per customer): normalised Gini (headline), MAE, share of the revenue captured by the
 * top 10% and 20% of customers by prediction, error of the total, against past spend; decile-lift chart.
 */
export function valueSection(
  text: SectionText,
  data: { actual: Float64Array; predicted: Float64Array | null; baseline: Float64Array; baselineName: string; unit: string },
): ScoreSection {
  const { actual, predicted, baseline, baselineName: b } = data;
  const deciles = predicted ? decileLift(actual, predicted, 10) : null;
  return gradedSection({
    ...text,
    kind: 'value',
    metrics: [
      row('normalised Gini of holdout value', maybe(predicted, (p) => normalisedGini(actual, p)), normalisedGini(actual, baseline), b, 'higher'),
      row('MAE of holdout value per customer', maybe(predicted, (p) => mae(actual, p)), mae(actual, baseline), b, 'lower'),
      row('Share of holdout value from the top 10% by prediction', maybe(predicted, (p) => topShareCaptured(actual, p, 0.1)), topShareCaptured(actual, baseline, 0.1), b, 'higher'),
      row('Share of holdout value from the top 20% by prediction', maybe(predicted, (p) => topShareCaptured(actual, p, 0.2)), topShareCaptured(actual, baseline, 0.2), b, 'higher'),
      row('Error of the total holdout value (share of actual)', totalError(actual, predicted), totalError(actual, baseline), b, 'lower'),
    ],
    charts: deciles ? [{ kind: 'decile-lift', title: 'Holdout value by decile of predicted value', deciles, unit: data.unit }] : [],
  });
}

/**
 * A probability against a 0/1 holdout outcome: ROC AUC (headline), PR AUC and lift at 10% against a ranking baseline,
 * Brier score against a probability baseline; ROC and reliability charts.
 */
export function probabilitySection(
  text: SectionText,
  data: {
    actual: Float64Array;
    probability: Float64Array | null;
    rankBaseline: Float64Array;
    rankBaselineName: string;
    probabilityBaseline: Float64Array | null;
    probabilityBaselineName: string;
  },
): ScoreSection {
  const { actual, probability: p, rankBaseline: r, rankBaselineName: rn } = data;
  const pb = data.probabilityBaseline;
  const charts: ChartSpec[] = [];
  if (p) {
    const curve = rocCurve(actual, p);
    if (curve) charts.push({ kind: 'roc', title: 'ROC curve', points: thinRoc(curve), auc: rocAuc(actual, p) });
    charts.push({ kind: 'reliability', title: 'Reliability: predicted probability vs observed rate', bins: reliabilityBins(actual, p, 10) });
  }
  return gradedSection({
    ...text,
    kind: 'probability',
    metrics: [
      row('ROC AUC', maybe(p, (q) => rocAuc(actual, q)), rocAuc(actual, r), rn, 'higher'),
      row('PR AUC (average precision)', maybe(p, (q) => prAuc(actual, q)), prAuc(actual, r), rn, 'higher'),
      row('Lift at 10%', maybe(p, (q) => liftAtFraction(actual, q, 0.1)), liftAtFraction(actual, r, 0.1), rn, 'higher'),
      row('Brier score', maybe(p, (q) => brierScore(actual, q)), pb === null ? null : brierScore(actual, pb), data.probabilityBaselineName, 'lower'),
    ],
    charts,
  });
}

/** How customers flagged by one rule behaved around their decisive day. */
export interface DecisiveOutcome {
  /** Customers whose decisive day fell inside the holdout. */
  flagged: number;
  /** Of those, bought in the holdout before the decisive day. */
  boughtBefore: number;
  /** Of those, had not bought by the decisive day and bought on or after it (in the holdout). */
  boughtAfter: number;
  /** Customer-days at risk after the decisive day (flagged customers who had not bought by it), to the first purchase or the holdout end. */
  daysAtRiskAfter: number;
}

/**
 * Tallies customers whose decisive day (epoch day; NaN = none) falls in [cutDay, endDay) by what they did in the
 * holdout: first purchase before it, on/after it, or none.
 */
export function decisiveOutcome(decisiveDay: Float64Array, firstHoldoutPurchase: Float64Array, cutDay: number, endDay: number): DecisiveOutcome {
  const out: DecisiveOutcome = { flagged: 0, boughtBefore: 0, boughtAfter: 0, daysAtRiskAfter: 0 };
  for (let i = 0; i < decisiveDay.length; i++) {
    const d = decisiveDay[i] as number;
    if (!(d >= cutDay && d < endDay)) continue;
    out.flagged++;
    const f = firstHoldoutPurchase[i] as number;
    if (f < d) {
      out.boughtBefore++;
      continue;
    }
    if (f >= d) out.boughtAfter++;
    out.daysAtRiskAfter += (Number.isNaN(f) ? endDay : f + 1) - d;
  }
  return out;
}

/** Purchases per 30 customer-days at risk after the decisive day; null when nobody was at risk. */
export function returnRatePer30(o: DecisiveOutcome): number | null {
  return o.daysAtRiskAfter > 0 ? (30 * o.boughtAfter) / o.daysAtRiskAfter : null;
}

/**
 * The churn decisive moment: of the customers whose decisive date fell inside the holdout, who bought again before
 * it and who after it. Graded on the return rate after the date (purchases per 30 days at risk, lower = the date
 * really marks customers who are gone), against the overdue rule.
 */
export function decisiveSection(
  text: SectionText,
  model: DecisiveOutcome | null,
  baseline: DecisiveOutcome,
  baselineName: string,
): ScoreSection {
  const share = (o: DecisiveOutcome, k: number): number | null => (o.flagged > 0 ? k / o.flagged : null);
  const rows = [
    ...(model && model.flagged > 0
      ? [{ label: 'Model decisive date', shareBefore: model.boughtBefore / model.flagged, shareAfter: model.boughtAfter / model.flagged }]
      : []),
    ...(baseline.flagged > 0
      ? [{ label: 'Overdue rule', shareBefore: baseline.boughtBefore / baseline.flagged, shareAfter: baseline.boughtAfter / baseline.flagged }]
      : []),
  ];
  return gradedSection({
    ...text,
    kind: 'decisive-moment',
    metrics: [
      row('Purchases per 30 days after the decisive date, of customers who had not bought by it', model ? returnRatePer30(model) : null, returnRatePer30(baseline), baselineName, 'lower'),
      row('Share of flagged customers who bought again after the decisive date', model ? share(model, model.boughtAfter) : null, share(baseline, baseline.boughtAfter), baselineName, 'lower'),
    ],
    charts: rows.length ? [{ kind: 'decisive-moment', title: 'Bought again before or after the decisive date', moment: 'decisive date', rows }] : [],
  });
}

/**
 * A ranked-list score (recommendations) against a baseline list (e.g. the most popular items): NDCG@k (headline),
 * precision, recall and hit rate at k, from lists of keys. (The recommend scorer grades its typed tables with
 * ml/recommend's metrics instead, under the same 'ranking' grading rule.)
 */
export function rankingSection<T extends string | number>(
  text: SectionText,
  data: { k: number; recommended: readonly (readonly T[])[]; baseline: readonly (readonly T[])[]; relevant: readonly ReadonlySet<T>[]; baselineName: string },
): ScoreSection {
  const { k, recommended: m, baseline: b, relevant: rel, baselineName: n } = data;
  return gradedSection({
    ...text,
    kind: 'ranking',
    metrics: [
      row(`NDCG@${k}`, ndcgAtK(m, rel, k), ndcgAtK(b, rel, k), n, 'higher'),
      row(`Precision@${k}`, precisionAtK(m, rel, k), precisionAtK(b, rel, k), n, 'higher'),
      row(`Recall@${k}`, recallAtK(m, rel, k), recallAtK(b, rel, k), n, 'higher'),
      row(`Hit rate@${k}`, hitRateAtK(m, rel, k), hitRateAtK(b, rel, k), n, 'higher'),
    ],
    charts: [],
  });
}
