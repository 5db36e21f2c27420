// The grading rule: each branch per kind, the reason sentence, and the rule text matching the numbers.
import { describe, expect, it } from 'vitest';
import { KairosError } from '../errors.js';
import { GRADE_RULE_LINES, GRADE_RULE_TEXT, GRADE_RULES, gradeScore } from './grade.js';
import type { MetricRow } from './types.js';

function row(metric: string, model: number | null, baseline: number | null, better: 'higher' | 'lower', baselineName = 'popularity'): MetricRow {
  return { metric, model, baseline, baselineName, better };
}

describe('gradeScore', () => {
  it('count: C when the MAE is not lower, in the words a marketer reads', () => {
    const g = gradeScore('count', row('MAE', 0.91, 0.88, 'lower', 'same rate as calibration'));
    expect(g).toEqual({ grade: 'C', reason: "Does not beat the baseline 'same rate as calibration': MAE 0.91 vs 0.88." });
  });

  it('count: B below the 10% margin, A at or beyond it', () => {
    expect(gradeScore('count', row('MAE', 0.8, 0.85, 'lower')).grade).toBe('B');
    expect(gradeScore('count', row('MAE', 0.8, 0.85, 'lower')).reason).toBe(
      "Beats the baseline 'popularity' (MAE 0.8 vs 0.85), but an A needs MAE at least 10% lower than the baseline.",
    );
    expect(gradeScore('count', row('MAE', 0.9, 1, 'lower')).grade).toBe('A'); // exactly 10%
    expect(gradeScore('count', row('MAE', 0.5, 1, 'lower')).reason).toBe("Beats the baseline 'popularity' by a clear margin: MAE 0.5 vs 1.");
  });

  it('probability: A needs +0.05 AUC and AUC >= 0.75', () => {
    expect(gradeScore('probability', row('ROC AUC', 0.82, 0.7, 'higher')).grade).toBe('A');
    expect(gradeScore('probability', row('ROC AUC', 0.8, 0.75, 'higher')).grade).toBe('A'); // margin exactly 0.05
    const floor = gradeScore('probability', row('ROC AUC', 0.71, 0.6, 'higher'));
    expect(floor).toEqual({ grade: 'B', reason: "Beats the baseline 'popularity' (ROC AUC 0.71 vs 0.6), but an A needs ROC AUC at least 0.75." });
    const both = gradeScore('probability', row('ROC AUC', 0.62, 0.6, 'higher'));
    expect(both.reason).toContain('at least 0.05 higher than the baseline and at least 0.75');
    expect(gradeScore('probability', row('ROC AUC', 0.7, 0.7, 'higher')).grade).toBe('C'); // a tie does not beat
  });

  it('value and ranking: higher is better; ranking margin is relative', () => {
    expect(gradeScore('value', row('normalised Gini', 0.61, 0.5, 'higher')).grade).toBe('A');
    expect(gradeScore('value', row('normalised Gini', 0.45, 0.3, 'higher')).grade).toBe('B');
    expect(gradeScore('ranking', row('NDCG@10', 0.12, 0.1, 'higher')).grade).toBe('A'); // +20%
    expect(gradeScore('ranking', row('NDCG@10', 0.11, 0.1, 'higher')).grade).toBe('B');
    expect(gradeScore('ranking', row('NDCG@10', 0.05, 0, 'higher')).grade).toBe('A'); // any gain over 0
  });

  it('decisive-moment takes its direction from the row', () => {
    expect(gradeScore('decisive-moment', row('timing MAE (days)', 20, 30, 'lower')).grade).toBe('A');
    expect(gradeScore('decisive-moment', row('share on the predicted side', 0.62, 0.6, 'higher')).grade).toBe('B');
    expect(gradeScore('decisive-moment', row('share on the predicted side', 0.5, 0.6, 'higher')).grade).toBe('C');
  });

  it('shows enough digits to tell close values apart', () => {
    expect(gradeScore('probability', row('ROC AUC', 0.7514, 0.7512, 'higher')).reason).toContain('ROC AUC 0.7514 vs 0.7512');
  });

  it('N/A when the metric is undefined on this holdout', () => {
    const g = gradeScore('probability', row('ROC AUC', null, 0.6, 'higher'));
    expect(g.grade).toBe('N/A');
    expect(g.reason).toBe('Cannot be graded: ROC AUC could not be computed for the model on this holdout (for example, every customer did the same).');
  });

  it('throws INTERNAL when the headline direction contradicts the rule', () => {
    expect(() => gradeScore('probability', row('Brier score', 0.1, 0.2, 'lower'))).toThrow(KairosError);
    expect(() => gradeScore('count', row('MAE', Number.NaN, 0.2, 'lower'))).toThrow(/NaN/);
  });
});

describe('GRADE_RULE_TEXT', () => {
  it('states every kind with the numbers of GRADE_RULES', () => {
    expect(GRADE_RULE_LINES.probability).toBe(
      'probability: graded on ROC AUC (higher is better). A: at least 0.05 higher than the baseline and at least 0.75. B: higher than the baseline. C: not higher than the baseline (does not beat it).',
    );
    expect(GRADE_RULE_LINES.count).toContain('A: at least 10% lower than the baseline.');
    for (const kind of Object.keys(GRADE_RULES)) expect(GRADE_RULE_TEXT).toContain(`${kind}: graded on`);
    expect(GRADE_RULE_TEXT).toContain('N/A');
  });
});
