// A small hand-built EvaluationReport (CDNOW-like, every chart kind, grades A, B and C) for the report's golden and browser tests.
import { gradeScore } from '../backtest/grade.js';
import type { EvaluationReport, ScoreSection } from '../backtest/types.js';

/** Section with its grade taken from its headline (first) metric row, as the CLI does. */
function section(s: Omit<ScoreSection, 'grade'>): ScoreSection {
  const head = s.metrics[0];
  if (head === undefined) throw new Error('fixture section needs a headline metric');
  return { ...s, grade: gradeScore(s.kind, head) };
}

/** 16 weeks: 8 of calibration, 8 of holdout; ISO date of each Monday from 1997-01-06. */
const weeks = Array.from({ length: 16 }, (_, i) => new Date(Date.UTC(1997, 0, 6 + 7 * i)).toISOString().slice(0, 10));
const actualPerWeek = [38, 52, 61, 70, 66, 74, 69, 72, 65, 71, 62, 68, 60, 64, 58, 61];
const predictedCumulative = [40.2, 91.5, 150.1, 216.7, 283.0, 351.4, 418.9, 487.2, 553.0, 617.7, 680.4, 742.3, 802.0, 860.9, 917.5, 973.4];
const actualCumulative = actualPerWeek.reduce<number[]>((acc, x) => [...acc, (acc[acc.length - 1] ?? 0) + x], []);

/** The fixture report. Parameter values for BG/NBD are Fader, Hardie and Lee (2005) on CDNOW; the rest is made up. */
export const fixtureReport: EvaluationReport = {
  schemaVersion: 1,
  title: 'Kairos backtest: CDNOW sample',
  dataset: 'cdnow_sample',
  calibration: { start: '1997-01-01', end: '1997-09-30' },
  holdout: { start: '1997-10-01', end: '1998-06-30' },
  generatedAt: '2024-05-01T12:00:00.000Z',
  customers: 2357,
  scores: [
    section({
      name: 'Expected repeat purchases (holdout)',
      kind: 'count',
      description: 'How many times each customer will buy again in the next 39 weeks.',
      model: 'bg-nbd',
      parameters: [
        { name: 'r', value: 0.242594, standardError: 0.012557 },
        { name: 'alpha', value: 4.413595, standardError: 0.378223 },
        { name: 'a', value: 0.792919, standardError: 0.185718 },
        { name: 'b', value: 2.425888, standardError: 0.705355 },
      ],
      metrics: [
        { metric: 'MAE (purchases per customer)', model: 0.632149, baseline: 0.751893, baselineName: 'same rate as calibration', better: 'lower' },
        { metric: 'RMSE', model: 1.381234567, baseline: 1.52, baselineName: 'same rate as calibration', better: 'lower' },
        { metric: 'Spearman correlation', model: 0.4713, baseline: 0.4522, baselineName: 'same rate as calibration', better: 'higher' },
      ],
      charts: [
        {
          kind: 'tracking',
          title: 'Weekly repeat purchases, cumulative',
          periods: weeks,
          actualCumulative,
          predictedCumulative,
          holdoutStartIndex: 8,
          unit: 'repeat purchases',
        },
        {
          kind: 'conditional-expectation',
          title: 'Holdout purchases by calibration frequency',
          buckets: [
            { frequency: 0, label: '0', count: 1411, meanActual: 0.236, meanPredicted: 0.225 },
            { frequency: 1, label: '1', count: 439, meanActual: 0.698, meanPredicted: 0.779 },
            { frequency: 2, label: '2', count: 214, meanActual: 1.388, meanPredicted: 1.353 },
            { frequency: 3, label: '3', count: 100, meanActual: 1.56, meanPredicted: 1.897 },
            { frequency: 4, label: '4', count: 62, meanActual: 2.532, meanPredicted: 2.442 },
            { frequency: 5, label: '5', count: 38, meanActual: 2.947, meanPredicted: 2.934 },
            { frequency: 6, label: '6', count: 29, meanActual: 3.862, meanPredicted: 3.465 },
            { frequency: 7, label: '7+', count: 64, meanActual: 6.359, meanPredicted: 6.172 },
          ],
        },
      ],
    }),
    section({
      name: 'Holdout spend',
      kind: 'value',
      description: 'How much each customer will spend in the next 39 weeks, in dollars.',
      model: 'gamma-gamma',
      parameters: [
        { name: 'p', value: 6.25, standardError: 0.412 },
        { name: 'q', value: 3.74, standardError: 0.301 },
        { name: 'gamma', value: 15.44, standardError: null },
      ],
      metrics: [
        { metric: 'normalised Gini', model: 0.583, baseline: 0.552, baselineName: 'calibration spend', better: 'higher' },
        { metric: 'top 10% share of holdout value', model: 0.512, baseline: 0.497, baselineName: 'calibration spend', better: 'higher' },
        { metric: 'top 20% share of holdout value', model: 0.688, baseline: 0.671, baselineName: 'calibration spend', better: 'higher' },
      ],
      charts: [
        {
          kind: 'decile-lift',
          title: 'Holdout spend by decile of predicted spend',
          unit: 'holdout spend ($)',
          deciles: [
            { decile: 1, count: 235.7, meanPredicted: 182.4, meanActual: 171.2, shareOfActual: 0.512 },
            { decile: 2, count: 235.7, meanPredicted: 61.5, meanActual: 58.9, shareOfActual: 0.176 },
            { decile: 3, count: 235.7, meanPredicted: 33.1, meanActual: 35.2, shareOfActual: 0.105 },
            { decile: 4, count: 235.7, meanPredicted: 22.8, meanActual: 21.4, shareOfActual: 0.064 },
            { decile: 5, count: 235.7, meanPredicted: 15.9, meanActual: 16.3, shareOfActual: 0.049 },
            { decile: 6, count: 235.7, meanPredicted: 11.2, meanActual: 10.1, shareOfActual: 0.03 },
            { decile: 7, count: 235.7, meanPredicted: 8.4, meanActual: 9.2, shareOfActual: 0.028 },
            { decile: 8, count: 235.7, meanPredicted: 6.1, meanActual: 5.5, shareOfActual: 0.016 },
            { decile: 9, count: 235.7, meanPredicted: 4.2, meanActual: 3.0, shareOfActual: 0.009 },
            { decile: 10, count: 235.7, meanPredicted: 2.6, meanActual: 0.4, shareOfActual: 0.001 },
          ],
        },
      ],
    }),
    section({
      name: 'Buys again in the holdout',
      kind: 'probability',
      description: 'The chance that each customer makes at least one more purchase in the next 39 weeks.',
      model: 'bg-nbd',
      parameters: [],
      metrics: [
        { metric: 'ROC AUC', model: 0.6912, baseline: 0.7105, baselineName: 'bought in the last 90 days', better: 'higher' },
        { metric: 'PR AUC (average precision)', model: 0.4421, baseline: 0.4213, baselineName: 'bought in the last 90 days', better: 'higher' },
        { metric: 'Brier score', model: 0.1634, baseline: null, baselineName: 'bought in the last 90 days', better: 'lower' },
        { metric: 'lift in the top 10%', model: 2.31, baseline: 2.18, baselineName: 'bought in the last 90 days', better: 'higher' },
      ],
      charts: [
        {
          kind: 'reliability',
          title: 'Predicted probability vs observed rate',
          bins: [
            { lower: 0, upper: 0.1, count: 1205, meanPredicted: 0.046, observedRate: 0.061 },
            { lower: 0.1, upper: 0.2, count: 310, meanPredicted: 0.148, observedRate: 0.171 },
            { lower: 0.2, upper: 0.3, count: 188, meanPredicted: 0.251, observedRate: 0.239 },
            { lower: 0.3, upper: 0.4, count: 142, meanPredicted: 0.349, observedRate: 0.366 },
            { lower: 0.4, upper: 0.5, count: 121, meanPredicted: 0.452, observedRate: 0.421 },
            { lower: 0.5, upper: 0.6, count: 109, meanPredicted: 0.548, observedRate: 0.587 },
            { lower: 0.6, upper: 0.7, count: 98, meanPredicted: 0.651, observedRate: 0.633 },
            { lower: 0.7, upper: 0.8, count: 84, meanPredicted: 0.747, observedRate: 0.771 },
            { lower: 0.8, upper: 0.9, count: 63, meanPredicted: 0.846, observedRate: 0.81 },
            { lower: 0.9, upper: 1, count: 37, meanPredicted: 0.932, observedRate: 0.946 },
          ],
        },
        {
          kind: 'roc',
          title: 'ROC curve',
          auc: 0.6912,
          points: [
            { fpr: 0, tpr: 0 },
            { fpr: 0.05, tpr: 0.21 },
            { fpr: 0.12, tpr: 0.38 },
            { fpr: 0.25, tpr: 0.55 },
            { fpr: 0.41, tpr: 0.7 },
            { fpr: 0.6, tpr: 0.83 },
            { fpr: 0.8, tpr: 0.93 },
            { fpr: 1, tpr: 1 },
          ],
        },
      ],
    }),
    section({
      name: 'Next products to recommend',
      kind: 'ranking',
      description: 'The ten products each customer is most likely to buy next.',
      model: 'item-knn',
      parameters: [],
      metrics: [
        { metric: 'NDCG@10', model: 0.1421, baseline: 0.1182, baselineName: 'most popular products', better: 'higher' },
        { metric: 'hit rate@10', model: 0.311, baseline: 0.268, baselineName: 'most popular products', better: 'higher' },
        { metric: 'catalogue coverage@10', model: 0.214, baseline: 0.004, baselineName: 'most popular products', better: 'higher' },
      ],
      charts: [],
    }),
    section({
      name: 'Decisive moment',
      kind: 'decisive-moment',
      description: 'The date by which each customer is expected to have made their next purchase, if they are still active.',
      model: 'bg-nbd',
      parameters: [],
      metrics: [
        { metric: 'share on the predicted side', model: 0.642, baseline: 0.613, baselineName: 'median gap between purchases', better: 'higher' },
      ],
      charts: [
        {
          kind: 'decisive-moment',
          title: 'Bought before vs after the predicted moment',
          moment: 'predicted next-purchase date',
          rows: [
            { label: 'model', shareBefore: 0.642, shareAfter: 0.358 },
            { label: 'median gap', shareBefore: 0.613, shareAfter: 0.387 },
          ],
        },
      ],
    }),
  ],
};
