// Baselines, tracking layout and section helpers on hand-computed cases.
import { describe, expect, it } from 'vitest';
import { getTransactionModel } from '../models/index.js';
import { overdueDecisiveDay, pastSpendValue, recencyQuintiles, recencyScore, sameRatePurchases } from './baselines.js';
import { decisiveOutcome, rankingSection, returnRatePer30, thinRoc, totalError } from './sections.js';
import { cumulative, predictedCumulative, trackingLayout } from './tracking.js';

const f = (...xs: number[]): Float64Array => Float64Array.from(xs);

describe('baselines', () => {
  it('same rate as calibration: x / T × H, 0 when T = 0', () => {
    expect(Array.from(sameRatePurchases(f(2, 0, 3), f(100, 50, 0), 50))).toEqual([1, 0, 0]);
  });

  it('past spend rate: spend / (T + 1) × H, floored at 0', () => {
    expect(Array.from(pastSpendValue(f(100, -20, 30), f(9, 4, 0), 10))).toEqual([100, 0, 300]);
  });

  it('recency score is minus the days since the last purchase', () => {
    expect(Array.from(recencyScore(f(10, 0), f(30, 5)))).toEqual([-20, -5]);
  });

  it('recency quintiles follow the RFM rule: worst first, ties share the lower bin', () => {
    // recency in days: 100 is the worst (quintile 1), 1 the best. n = 5: one per quintile.
    expect(Array.from(recencyQuintiles(f(1, 100, 50, 20, 10)))).toEqual([5, 1, 2, 3, 4]);
    // ties: the three customers at 10 days share rank 3 of 6 -> 1 + floor(5 × 2 / 6) = 2
    expect(Array.from(recencyQuintiles(f(10, 10, 10, 30, 40, 1)))).toEqual([2, 2, 2, 1, 1, 5]);
  });

  it('overdue rule: last purchase + 2 × own mean gap; one-time buyers use twice the median gap of repeaters', () => {
    // repeaters' gaps t_x / x: 10, 20, 40 -> median 20
    const d = overdueDecisiveDay(f(2, 1, 1, 0), f(20, 20, 40, 0), f(1000, 1000, 1000, 500));
    expect(Array.from(d)).toEqual([1020, 1040, 1080, 540]);
  });
});

describe('decisive moment tallies', () => {
  it('splits flagged customers into bought before, after, or not at all, with days at risk after the date', () => {
    const cut = 100;
    const end = 200;
    // decisive days: in the holdout (120, 150, 150, 160), before the cut (90), none (NaN), after the end (250)
    const decisive = f(120, 150, 150, 160, 90, Number.NaN, 250);
    const first = f(110, 170, Number.NaN, 160, 105, 130, Number.NaN);
    const o = decisiveOutcome(decisive, first, cut, end);
    // 120: bought at 110 -> before. 150: bought at 170 -> after, at risk 170 + 1 - 150 = 21 days.
    // 150: never -> at risk 200 - 150 = 50 days. 160: bought on the day -> after, at risk 1 day.
    expect(o).toEqual({ flagged: 4, boughtBefore: 1, boughtAfter: 2, daysAtRiskAfter: 72 });
    expect(returnRatePer30(o)).toBeCloseTo((30 * 2) / 72, 12);
    expect(returnRatePer30({ flagged: 1, boughtBefore: 1, boughtAfter: 0, daysAtRiskAfter: 0 })).toBeNull();
  });
});

describe('section helpers', () => {
  it('totalError is |Σ predicted − Σ actual| / Σ actual, null for a zero actual total', () => {
    expect(totalError(f(1, 3), f(2, 4))).toBe(0.5);
    expect(totalError(f(0, 0), f(1, 1))).toBeNull();
    expect(totalError(f(1), null)).toBeNull();
  });

  it('thinRoc keeps the first and last points and at most the given count', () => {
    const pts = Array.from({ length: 1001 }, (_, i) => ({ fpr: i / 1000, tpr: Math.sqrt(i / 1000) }));
    const thin = thinRoc(pts, 11);
    expect(thin).toHaveLength(11);
    expect(thin[0]).toEqual({ fpr: 0, tpr: 0 });
    expect(thin[10]).toEqual({ fpr: 1, tpr: 1 });
    expect(thinRoc(pts.slice(0, 5), 11)).toHaveLength(5);
  });

  it('a ranking section can be built from lists when a recommender exists (NDCG headline, graded)', () => {
    const s = rankingSection(
      { name: 'Recommendations', description: 'd', model: 'm', parameters: [] },
      {
        k: 2,
        recommended: [['a', 'b'], ['c', 'd']],
        baseline: [['x', 'a'], ['x', 'y']],
        relevant: [new Set(['a']), new Set(['d'])],
        baselineName: 'most popular',
      },
    );
    expect(s.kind).toBe('ranking');
    expect(s.metrics[0]?.metric).toBe('NDCG@2');
    // model: user 1 hit at 1 -> 1; user 2 hit at 2 -> 1/log2(3). baseline: user 1 hit at 2 -> 1/log2(3); user 2 none.
    expect(s.metrics[0]?.model).toBeCloseTo((1 + 1 / Math.log2(3)) / 2, 12);
    expect(s.metrics[0]?.baseline).toBeCloseTo(1 / Math.log2(3) / 2, 12);
    expect(s.grade.grade).toBe('A');
  });
});

describe('tracking', () => {
  it('lays weekly periods out so that the holdout starts on a boundary, the last one clipped', () => {
    // first purchase day 3, cut at day 17, holdout end at day 27: 2 periods before (3..17), 2 after (17..27)
    const l = trackingLayout(3, 17, 27);
    expect(l.startDay).toBe(3);
    expect(l.ends).toEqual([10, 17, 24, 27]);
    expect(l.holdoutStartIndex).toBe(2);
    expect(l.labels).toEqual(['1970-01-04', '1970-01-11', '1970-01-18', '1970-01-25']);
    expect(trackingLayout(0, 10, 10).ends).toEqual([3, 10]); // starts a partial week before the first purchase
  });

  it('predicts cumulative repeat purchases as the sum over cohorts of E[X(t − birth)] (FHL 2005 eq. 9)', () => {
    const params = { r: 0.25, alpha: 30, a: 0.8, b: 2.4 };
    const births = f(0, 0, 5);
    const bgNbd = getTransactionModel('bg-nbd');
    const got = predictedCumulative(bgNbd, params, births, [1, 10, 40]);
    const e = (t: number): number => (t > 0 ? bgNbd.unconditionalExpectedPurchases(params, t) : 0);
    expect(got[0]).toBe(0);
    expect(got[1]).toBeCloseTo(2 * e(9) + e(4), 12);
    expect(got[2]).toBeCloseTo(2 * e(39) + e(34), 12);
    expect(cumulative([1, 2, 3])).toEqual([1, 3, 6]);
  });
});
