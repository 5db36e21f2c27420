// The grading rule: a plain-language A/B/C grade per score from its headline metric against its named baseline.
import { KairosError } from '../errors.js';
import { formatPair } from './format.js';
import type { Better, GradeResult, MetricRow, ScoreKind } from './types.js';

/** How one kind of score is graded; the numbers behind `GRADE_RULE_TEXT`. */
export interface GradeRule {
  /** The headline metric the kind is graded on (the first metric row of its section). */
  headline: string;
  /** The direction the headline must have; `null` = as its metric row says. */
  better: Better | null;
  /** Improvement over the baseline needed for an A: in metric units, or as a fraction of the baseline. */
  margin: { type: 'absolute' | 'relative'; value: number };
  /** Least model value needed for an A (for metrics on a fixed scale, such as AUC); `null` = none. */
  floor: number | null;
}

/**
 * The rule per kind. A: beats the baseline by the margin (and reaches the floor, if any).
 * B: beats the baseline. C: does not beat it (equal counts as not beating). N/A: the metric is
 * undefined for the model or the baseline on this holdout.
 */
export const GRADE_RULES: Readonly<Record<ScoreKind, GradeRule>> = {
  count: {
    headline: 'MAE of holdout purchases per customer',
    better: 'lower',
    margin: { type: 'relative', value: 0.1 },
    floor: null,
  },
  value: {
    headline: 'normalised Gini of holdout value',
    better: 'higher',
    margin: { type: 'absolute', value: 0.05 },
    floor: 0.5,
  },
  probability: {
    headline: 'ROC AUC',
    better: 'higher',
    margin: { type: 'absolute', value: 0.05 },
    floor: 0.75,
  },
  ranking: {
    headline: 'NDCG@k',
    better: 'higher',
    margin: { type: 'relative', value: 0.2 },
    floor: null,
  },
  'decisive-moment': {
    headline: 'its headline metric, in the direction its metric row states',
    better: null,
    margin: { type: 'relative', value: 0.1 },
    floor: null,
  },
};

function marginText(rule: GradeRule, better: Better | null): string {
  const word = better === null ? 'better' : better;
  return rule.margin.type === 'absolute'
    ? `${rule.margin.value} ${word}`
    : `${String(rule.margin.value * 100)}% ${word}`;
}

function ruleLine(kind: ScoreKind): string {
  const rule = GRADE_RULES[kind];
  const dir = rule.better === null ? '' : ` (${rule.better} is better)`;
  const beat = rule.better === null ? 'better than' : `${rule.better} than`;
  const floor = rule.floor === null ? '' : ` and at least ${rule.floor}`;
  return (
    `${kind}: graded on ${rule.headline}${dir}. ` +
    `A: at least ${marginText(rule, rule.better)} than the baseline${floor}. ` +
    `B: ${beat} the baseline. C: not ${beat} the baseline (does not beat it).`
  );
}

/** The rule for each kind, one sentence group each, as printed in the report. */
export const GRADE_RULE_LINES: Readonly<Record<ScoreKind, string>> = {
  count: ruleLine('count'),
  value: ruleLine('value'),
  probability: ruleLine('probability'),
  ranking: ruleLine('ranking'),
  'decisive-moment': ruleLine('decisive-moment'),
};

/** The whole grading rule in words: what the report's "How grades are given" section prints. */
export const GRADE_RULE_TEXT: string = [
  'Each score is graded on its headline metric (the first row of its metric table) against its named baseline, a naive rule it has to beat.',
  ...Object.values(GRADE_RULE_LINES),
  'N/A: the headline metric cannot be computed for the model or the baseline on this holdout.',
].join('\n');

const EPS = 1e-9;

/**
 * Whether the model beats the baseline on this metric row: strictly better in the row's direction,
 * beyond float noise (equal does not beat). `null` when either value is undefined.
 */
export function beatsBaseline(row: MetricRow): boolean | null {
  if (row.model === null || row.baseline === null) return null;
  const improvement = row.better === 'higher' ? row.model - row.baseline : row.baseline - row.model;
  return improvement > EPS * Math.max(1, Math.abs(row.model), Math.abs(row.baseline));
}

/**
 * Grades one score from its headline metric row (the first row of its section) under the rule for
 * its kind. Throws KairosError 'INTERNAL' if the row's direction contradicts the rule (the wrong
 * metric was put first) or a value is not finite.
 */
export function gradeScore(kind: ScoreKind, headline: MetricRow): GradeResult {
  const rule = GRADE_RULES[kind];
  const { metric, model, baseline, baselineName, better } = headline;
  if (rule.better !== null && rule.better !== better) {
    throw new KairosError('INTERNAL', `grade: a ${kind} score is graded on ${rule.headline} (${rule.better} is better), got "${metric}" (${better} is better)`);
  }
  for (const [side, v] of [['model', model], ['baseline', baseline]] as const) {
    if (v !== null && !Number.isFinite(v)) throw new KairosError('INTERNAL', `grade: ${metric} for the ${side} is ${v}`);
  }
  const name = `'${baselineName}'`;
  if (model === null || baseline === null) {
    const who = model === null && baseline === null ? 'the model or the baseline' : model === null ? 'the model' : `the baseline ${name}`;
    return {
      grade: 'N/A',
      reason: `Cannot be graded: ${metric} could not be computed for ${who} on this holdout (for example, every customer did the same).`,
    };
  }
  const [m, b] = formatPair(model, baseline);
  const pair = `${metric} ${m} vs ${b}`;
  const improvement = better === 'higher' ? model - baseline : baseline - model;
  if (beatsBaseline(headline) !== true) return { grade: 'C', reason: `Does not beat the baseline ${name}: ${pair}.` };

  const marginMet =
    rule.margin.type === 'absolute'
      ? improvement >= rule.margin.value - EPS
      : baseline === 0 || improvement / Math.abs(baseline) >= rule.margin.value - EPS;
  const floorMet = rule.floor === null || model >= rule.floor - EPS;
  if (marginMet && floorMet) return { grade: 'A', reason: `Beats the baseline ${name} by a clear margin: ${pair}.` };
  const needs = [
    ...(marginMet ? [] : [`at least ${marginText(rule, better)} than the baseline`]),
    ...(floorMet ? [] : [`at least ${String(rule.floor)}`]),
  ].join(' and ');
  return { grade: 'B', reason: `Beats the baseline ${name} (${pair}), but an A needs ${metric} ${needs}.` };
}
