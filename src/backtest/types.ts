// The evaluation report: one JSON-serialisable object, printed by `kairos evaluate --json` and rendered to HTML.
import type { ConditionalExpectationBucket, DecileLiftRow, ReliabilityBin, RocPoint } from './metrics.js';

/** What a score predicts, which decides its headline metric and grading rule (see grade.ts). */
export type ScoreKind = 'count' | 'value' | 'probability' | 'ranking' | 'decisive-moment';

/** Every score kind, in report order. */
export const SCORE_KINDS: readonly ScoreKind[] = ['count', 'value', 'probability', 'ranking', 'decisive-moment'];

/** Which direction of a metric is good. */
export type Better = 'higher' | 'lower';

/** 'N/A' when the headline metric is undefined on this holdout (e.g. everyone did the same). */
export type Grade = 'A' | 'B' | 'C' | 'N/A';

/** A grade and the one sentence that explains it to a marketer. */
export interface GradeResult {
  grade: Grade;
  reason: string;
}

/** One metric, for the model and for the baseline it is compared with; `null` = undefined on this data. */
export interface MetricRow {
  /** Display name, e.g. "MAE (purchases per customer)", "ROC AUC", "NDCG@10". */
  metric: string;
  model: number | null;
  baseline: number | null;
  /** Plain name of the naive rule the model must beat, e.g. "same rate as calibration". */
  baselineName: string;
  better: Better;
}

/** A fitted parameter, named as in the paper, with its standard error when the fit gives one. */
export interface ParameterEstimate {
  name: string;
  value: number;
  standardError: number | null;
}

/** A span of days as ISO dates (YYYY-MM-DD): the first and the last day, both inclusive. */
export interface DateWindow {
  start: string;
  end: string;
}

interface ChartBase {
  title: string;
  /** What to look for, in one or two sentences; the renderer supplies a default per kind. */
  caption?: string;
}

/** Cumulative purchases per period, actual vs predicted, calibration then holdout. */
export interface TrackingChart extends ChartBase {
  kind: 'tracking';
  /** ISO date of the first day of each period (usually weeks). */
  periods: string[];
  actualCumulative: number[];
  predictedCumulative: number[];
  /** Index in `periods` of the first holdout period; the boundary is drawn before it. */
  holdoutStartIndex: number;
  /** What is counted, e.g. "repeat purchases". */
  unit: string;
}

/** Mean holdout purchases by calibration frequency, actual (bars) vs predicted (line). */
export interface ConditionalExpectationChart extends ChartBase {
  kind: 'conditional-expectation';
  buckets: ConditionalExpectationBucket[];
}

/** Mean predicted vs mean actual value per decile of customers ranked by prediction. */
export interface DecileLiftChart extends ChartBase {
  kind: 'decile-lift';
  deciles: DecileLiftRow[];
  /** What the values are, e.g. "holdout revenue (EUR)". */
  unit: string;
}

/** Observed rate vs mean predicted probability per bin, with the diagonal of perfect calibration. */
export interface ReliabilityChart extends ChartBase {
  kind: 'reliability';
  bins: ReliabilityBin[];
}

/** ROC curve of the model, with the diagonal of a random score. */
export interface RocChart extends ChartBase {
  kind: 'roc';
  points: RocPoint[];
  auc: number | null;
}

/** One group's split of purchases around the predicted decisive moment (shares in [0, 1]). */
export interface DecisiveMomentRow {
  label: string;
  shareBefore: number;
  shareAfter: number;
}

/** Share of customers who bought before vs after the predicted decisive moment, per group. */
export interface DecisiveMomentChart extends ChartBase {
  kind: 'decisive-moment';
  /** What the moment is, e.g. "predicted next-purchase date". */
  moment: string;
  rows: DecisiveMomentRow[];
}

/** Ranking metrics (each in [0, 1]) of several recommenders side by side: one group of bars per metric, one bar per recommender. */
export interface RankingMetricsChart extends ChartBase {
  kind: 'ranking-metrics';
  /** Metric names, e.g. "NDCG@10", in the order of the groups. */
  metrics: string[];
  /** One per recommender: its name and its value of each metric; `chosen` marks the model graded (drawn in the model's colour). */
  series: { name: string; values: number[]; chosen: boolean }[];
}

/** One score's curve on a Qini chart. */
export interface QiniSeries {
  name: string;
  /** The curve's value at each of the chart's fractions. */
  values: number[];
}

/** Qini curves of scores on one randomised test (Radcliffe 2007), with the straight line of random targeting. */
export interface QiniChart extends ChartBase {
  kind: 'qini';
  /** What the curves count, e.g. "incremental visits per 100 e-mailed customers". */
  unit: string;
  /** Shares of customers targeted, ascending from 0 to 1, common to every series. */
  fractions: number[];
  series: QiniSeries[];
  /** Where every curve ends, the whole test's uplift: random targeting runs straight from 0 to it. */
  overall: number;
}

/** A chart, by kind; rendered server-side to inline SVG. */
export type ChartSpec =
  | TrackingChart
  | ConditionalExpectationChart
  | DecileLiftChart
  | ReliabilityChart
  | RocChart
  | DecisiveMomentChart
  | RankingMetricsChart
  | QiniChart;

/** How one score fared in the backtest. */
export interface ScoreSection {
  /** Display name, e.g. "Expected purchases (next 180 days)". */
  name: string;
  kind: ScoreKind;
  /** What the score means, in plain words. */
  description: string;
  /** Model name as registered, e.g. "bg-nbd". */
  model: string;
  parameters: ParameterEstimate[];
  /** The first row is the headline metric: the one graded and shown in the summary. */
  metrics: MetricRow[];
  grade: GradeResult;
  charts: ChartSpec[];
  /** What the numbers mean for the team, in plain words (e.g. whether a custom grid is worth keeping); shown under the grade. */
  notes?: string[];
}

/** The whole backtest: what `kairos evaluate --json` prints and `renderReportHtml` draws. */
export interface EvaluationReport {
  /** Version of this shape; bump on a breaking change. */
  schemaVersion: 1;
  title: string;
  /** Data set name, e.g. "cdnow". */
  dataset: string;
  calibration: DateWindow;
  holdout: DateWindow;
  /** ISO timestamp (UTC) of when the report was made. */
  generatedAt: string;
  /** Customers in the evaluation (those first seen in the calibration window). */
  customers: number;
  scores: ScoreSection[];
}
