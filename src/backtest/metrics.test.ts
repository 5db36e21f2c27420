// Backtest metrics: hand-worked cases (the arithmetic is in the comments) and seeded property tests.
import { describe, expect, it } from 'vitest';
import { KairosError } from '../errors.js';
import { expectClose } from '../testing/expect-close.js';
import {
  averageRanks,
  brierScore,
  catalogueCoverage,
  conditionalExpectation,
  decileLift,
  hitRateAtK,
  liftAtFraction,
  mae,
  ndcgAtK,
  normalisedGini,
  pearson,
  prAuc,
  precisionAtK,
  recallAtK,
  reliabilityBins,
  rmse,
  rocAuc,
  rocCurve,
  spearman,
  topShareCaptured,
  trackingSeries,
} from './metrics.js';
import { rng } from '../testing/orders-fixture.js';

const exact = { atol: 1e-12 };

function randomCase(seed: number, n: number): { y: number[]; score: number[]; value: number[] } {
  const u = rng(seed);
  const score = Array.from({ length: n }, () => Math.round(u() * 50) / 50); // coarse: plenty of ties
  const y = score.map((s) => (u() < 0.2 + 0.6 * s ? 1 : 0));
  const value = score.map((s) => (u() < 0.3 ? 0 : Math.round(100 * s * u() * 100) / 100));
  return { y, score, value };
}

function num(x: number | null): number {
  expect(x).not.toBeNull();
  return x as number;
}

function internalError(fn: () => unknown): void {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(KairosError);
    expect((err as KairosError).code).toBe('INTERNAL');
    return;
  }
  throw new Error('expected a KairosError INTERNAL');
}

describe('regression metrics', () => {
  it('mae and rmse by hand', () => {
    // errors 1, -2, 0, 3: MAE = 6/4 = 1.5; RMSE = sqrt((1+4+0+9)/4) = sqrt(3.5)
    const actual = [2, 3, 5, 7];
    const predicted = new Float64Array([1, 5, 5, 4]);
    expectClose(num(mae(actual, predicted)), 1.5, exact, 'mae');
    expectClose(num(rmse(actual, predicted)), Math.sqrt(3.5), exact, 'rmse');
  });

  it('spearman with ties uses average ranks', () => {
    // x = [1,2,2,3] ranks [1,2.5,2.5,4]; y = [1,3,2,4] ranks [1,3,2,4]; both means 2.5.
    // deviations dx = [-1.5,0,0,1.5], dy = [-1.5,0.5,-0.5,1.5]
    // Σdxdy = 4.5, Σdx² = 4.5, Σdy² = 5  ->  r = 4.5 / sqrt(22.5) = sqrt(0.9)
    expect(Array.from(averageRanks([1, 2, 2, 3]))).toEqual([1, 2.5, 2.5, 4]);
    expectClose(num(spearman([1, 2, 2, 3], [1, 3, 2, 4])), Math.sqrt(0.9), exact, 'spearman');
  });

  it('pearson by hand', () => {
    // x = [1,2,3], y = [2,4,7]: means 2, 13/3; dx = [-1,0,1], dy = [-7/3,-1/3,8/3]
    // Σdxdy = 5, Σdx² = 2, Σdy² = (49+1+64)/9 = 114/9  ->  r = 5 / sqrt(2·114/9) = 15 / sqrt(228)
    expectClose(num(pearson([1, 2, 3], [2, 4, 7])), 15 / Math.sqrt(228), exact, 'pearson');
  });

  it('degenerate cases are null, never NaN', () => {
    expect(mae([], [])).toBeNull();
    expect(rmse([], [])).toBeNull();
    expect(pearson([1], [2])).toBeNull();
    expect(pearson([1, 2, 3], [5, 5, 5])).toBeNull(); // constant baseline
    expect(spearman([4, 4], [1, 2])).toBeNull();
  });

  it('malformed arguments throw INTERNAL', () => {
    internalError(() => mae([1, 2], [1]));
    internalError(() => rmse([1, Number.NaN], [1, 2]));
    internalError(() => spearman([1, Infinity], [1, 2]));
  });
});

describe('probability metrics', () => {
  it('ROC AUC with ties counts them 1/2', () => {
    // positives score {0.8, 0.4, 0.9}, negatives {0.4, 0.2, 0.8}; pairs won:
    // 0.8 vs (0.4 win, 0.2 win, 0.8 tie) = 2.5; 0.4 vs (tie, win, loss) = 1.5; 0.9 vs all = 3
    // AUC = (2.5 + 1.5 + 3) / 9 = 7/9
    const y = [1, 1, 0, 0, 1, 0];
    const s = [0.8, 0.4, 0.4, 0.2, 0.9, 0.8];
    expectClose(num(rocAuc(y, s)), 7 / 9, exact, 'auc');
  });

  it('ROC curve ends at (1,1) and its trapezoid area equals the AUC', () => {
    const { y, score } = randomCase(11, 200);
    const pts = rocCurve(y, score) as { fpr: number; tpr: number }[];
    expect(pts[0]).toEqual({ fpr: 0, tpr: 0 });
    expect(pts[pts.length - 1]).toEqual({ fpr: 1, tpr: 1 });
    let area = 0;
    for (let i = 1; i < pts.length; i++) {
      const a = pts[i - 1] as { fpr: number; tpr: number };
      const b = pts[i] as { fpr: number; tpr: number };
      area += ((b.fpr - a.fpr) * (a.tpr + b.tpr)) / 2;
    }
    expectClose(area, num(rocAuc(y, score)), { atol: 1e-12 }, 'area');
  });

  it('PR AUC is step-wise average precision, tied scores entering together', () => {
    // y = [1,0,1,1,0], scores [0.9,0.8,0.7,0.7,0.1], 3 positives.
    // t=0.9: TP 1, admitted 1, P = 1,   R 0 -> 1/3: adds 1/3 · 1   = 1/3
    // t=0.8: a negative, R unchanged: adds 0
    // t=0.7: TP 3, admitted 4, P = 3/4, R 1/3 -> 1: adds 2/3 · 3/4 = 1/2
    // t=0.1: a negative: adds 0.   AP = 1/3 + 1/2 = 5/6
    expectClose(num(prAuc([1, 0, 1, 1, 0], [0.9, 0.8, 0.7, 0.7, 0.1])), 5 / 6, exact, 'ap');
    // no ties: y = [0,1,1] scores [0.9,0.5,0.1]: P at recalls 1/2, 1 is 1/2, 2/3 -> (1/2)(1/2) + (1/2)(2/3) = 7/12
    expectClose(num(prAuc([0, 1, 1], [0.9, 0.5, 0.1])), 7 / 12, exact, 'ap no ties');
  });

  it('Brier score by hand', () => {
    // (0.9-1)² + (0.2-0)² + (0.6-1)² + (0.5-0)² = 0.01 + 0.04 + 0.16 + 0.25 = 0.46; / 4 = 0.115
    expectClose(num(brierScore([1, 0, 1, 0], [0.9, 0.2, 0.6, 0.5])), 0.115, exact, 'brier');
  });

  it('lift at a fraction by hand, ties at the cut shared pro rata', () => {
    // 10 customers, 3 positives (rate 0.3). Top 10% = the first customer, a positive: 1 / 0.3
    const s = [0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.05];
    const y = [1, 0, 1, 0, 0, 0, 0, 1, 0, 0];
    expectClose(num(liftAtFraction(y, s, 0.1)), 1 / 0.3, exact, 'lift 10%');
    // top 20%: 1 positive of 2 -> 0.5 / 0.3
    expectClose(num(liftAtFraction(y, s, 0.2)), 0.5 / 0.3, exact, 'lift 20%');
    // first two tie: the single top slot is half of each -> 0.5 positives in 1 slot -> 0.5 / 0.3
    const tied = [0.9, 0.9, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.05];
    expectClose(num(liftAtFraction(y, tied, 0.1)), 0.5 / 0.3, exact, 'lift tied');
  });

  it('reliability bins: counts, means, empty bins null', () => {
    // bins of width 0.5: [0,0.5) holds 0.1, 0.3 (y 0,1); [0.5,1] holds 0.5, 1.0 (y 1,1)
    const bins = reliabilityBins([0, 1, 1, 1], [0.1, 0.3, 0.5, 1.0], 2);
    expect(bins).toHaveLength(2);
    expect(bins[0]?.count).toBe(2);
    expectClose(bins[0]?.meanPredicted as number, 0.2, exact, 'bin0 p');
    expectClose(bins[0]?.observedRate as number, 0.5, exact, 'bin0 y');
    expectClose(bins[1]?.meanPredicted as number, 0.75, exact, 'bin1 p');
    expect(bins[1]?.observedRate).toBe(1);
    const ten = reliabilityBins([1], [0.95]);
    expect(ten).toHaveLength(10);
    expect(ten[0]).toEqual({ lower: 0, upper: 0.1, count: 0, meanPredicted: null, observedRate: null });
    expect(ten[9]?.count).toBe(1);
  });

  it('one class: AUC, curve and lift are null; AP is 1 with no negatives', () => {
    expect(rocAuc([1, 1], [0.2, 0.3])).toBeNull();
    expect(rocCurve([0, 0], [0.2, 0.3])).toBeNull();
    expect(prAuc([0, 0], [0.2, 0.3])).toBeNull();
    expect(prAuc([1, 1], [0.2, 0.3])).toBe(1);
    expect(liftAtFraction([0, 0], [0.2, 0.3])).toBeNull();
    expect(brierScore([], [])).toBeNull();
  });

  it('rejects labels that are not 0/1 and probabilities outside [0,1]', () => {
    internalError(() => rocAuc([0.3, 1], [0.2, 0.3])); // e.g. arguments swapped
    internalError(() => brierScore([0, 1], [0.2, 1.3]));
    internalError(() => liftAtFraction([0, 1], [0.2, 0.3], 0));
  });

  it('properties: perfect scores give AUC 1, reversed 0, invariant to monotone transforms', () => {
    for (const seed of [1, 2, 3]) {
      const { y, score } = randomCase(seed, 300);
      expect(rocAuc(y, y)).toBe(1);
      expect(rocAuc(y, y.map((v) => -v))).toBe(0);
      expect(prAuc(y, y)).toBe(1);
      const auc = num(rocAuc(y, score));
      const ap = num(prAuc(y, score));
      for (const f of [(s: number) => Math.exp(3 * s), (s: number) => s ** 3 - 7, (s: number) => 2 * s + 1]) {
        const t = score.map(f);
        expectClose(num(rocAuc(y, t)), auc, exact, `auc seed ${seed}`);
        expectClose(num(prAuc(y, t)), ap, exact, `ap seed ${seed}`);
        expectClose(num(liftAtFraction(y, t, 0.1)), num(liftAtFraction(y, score, 0.1)), exact, 'lift');
      }
      // complement: AUC(−s) = 1 − AUC(s)
      expectClose(num(rocAuc(y, score.map((s) => -s))), 1 - auc, exact, 'auc reversed');
    }
  });

  it('properties: results do not depend on the input order (ties included)', () => {
    const { y, score, value } = randomCase(7, 101);
    const perm = Array.from({ length: y.length }, (_, i) => i).reverse();
    const p = <T>(xs: T[]): T[] => perm.map((i) => xs[i] as T);
    expectClose(num(rocAuc(p(y), p(score))), num(rocAuc(y, score)), exact, 'auc');
    expectClose(num(prAuc(p(y), p(score))), num(prAuc(y, score)), exact, 'ap');
    expectClose(num(liftAtFraction(p(y), p(score))), num(liftAtFraction(y, score)), exact, 'lift');
    expectClose(num(normalisedGini(p(value), p(score))), num(normalisedGini(value, score)), exact, 'gini');
    expectClose(num(topShareCaptured(p(value), p(score), 0.2)), num(topShareCaptured(value, score, 0.2)), exact, 'top');
  });
});

describe('value metrics', () => {
  it('normalised Gini by hand', () => {
    // actual [0,10,30,60], predicted [0.1,0.4,0.3,0.9]: order by prediction -> 60,10,30,0 (total 100)
    // L at each customer: 0.6, 0.7, 1.0, 1.0; Gini = ΣL/n − (n+1)/(2n) = 3.3/4 − 5/8 = 0.2
    // perfect order 60,30,10,0: L = 0.6, 0.9, 1.0, 1.0 -> 3.5/4 − 5/8 = 0.25.  Normalised = 0.8
    expectClose(num(normalisedGini([0, 10, 30, 60], [0.1, 0.4, 0.3, 0.9])), 0.8, exact, 'gini');
  });

  it('normalised Gini: perfect = 1, reversed is negative, a constant prediction = 0', () => {
    for (const seed of [4, 5]) {
      const { value } = randomCase(seed, 250);
      expectClose(num(normalisedGini(value, value)), 1, exact, 'perfect');
      expectClose(num(normalisedGini(value, value.map((v) => Math.log1p(v)))), 1, exact, 'monotone');
      expect(num(normalisedGini(value, value.map((v) => -v)))).toBeLessThan(0);
      expectClose(num(normalisedGini(value, value.map(() => 1))), 0, { atol: 1e-12 }, 'constant');
    }
    expect(normalisedGini([5, 5, 5], [1, 2, 3])).toBeNull(); // everyone spent the same
    expect(normalisedGini([0, 0], [1, 2])).toBeNull(); // nobody spent
  });

  it('top share captured by hand', () => {
    // 10 customers, total value 100; the top 10% by prediction is customer 0 (value 40): 0.4
    // top 20% adds customer 1 (value 0): 0.4; a constant prediction captures exactly 10%
    const value = [40, 0, 20, 10, 10, 5, 5, 5, 5, 0];
    const pred = [9, 8, 7, 6, 5, 4, 3, 2, 1, 0];
    expectClose(num(topShareCaptured(value, pred, 0.1)), 0.4, exact, 'top 10%');
    expectClose(num(topShareCaptured(value, pred, 0.2)), 0.4, exact, 'top 20%');
    expectClose(num(topShareCaptured(value, pred.map(() => 1), 0.1)), 0.1, exact, 'constant');
  });

  it('decile lift by hand: 20 customers, 2 per decile', () => {
    // predictions 20..1 (customer i has prediction 20 − i), actual value 2·(20 − i):
    // decile 1 = predictions 20, 19 -> mean predicted 19.5, mean actual 39, share 78 / 420
    const pred = Array.from({ length: 20 }, (_, i) => 20 - i);
    const actual = pred.map((p) => 2 * p);
    const rows = decileLift(actual, pred) as NonNullable<ReturnType<typeof decileLift>>;
    expect(rows).toHaveLength(10);
    expect(rows[0]?.decile).toBe(1);
    expectClose(rows[0]?.count as number, 2, exact, 'count');
    expectClose(rows[0]?.meanPredicted as number, 19.5, exact, 'pred');
    expectClose(rows[0]?.meanActual as number, 39, exact, 'actual');
    expectClose(rows[0]?.shareOfActual as number, 78 / 420, exact, 'share');
    expectClose(rows[9]?.meanPredicted as number, 1.5, exact, 'last');
    expectClose(rows.reduce((s, r) => s + (r.shareOfActual as number), 0), 1, { atol: 1e-12 }, 'shares sum');
    expect(decileLift([], [])).toBeNull();
  });

  it('decile lift with 5 customers: deciles are half a customer wide', () => {
    // decile 1 = first half of the top customer: its values exactly
    const rows = decileLift([10, 0, 0, 0, 0], [5, 4, 3, 2, 1]) as NonNullable<ReturnType<typeof decileLift>>;
    expectClose(rows[0]?.meanActual as number, 10, exact, 'half');
    expectClose(rows[1]?.shareOfActual as number, 0.5, exact, 'other half');
    expectClose(rows[2]?.shareOfActual as number, 0, exact, 'rest');
  });
});

describe('ranked-list metrics', () => {
  const recs = [
    ['a', 'b', 'c', 'd'],
    ['e', 'f', 'a', 'a'],
    ['a', 'b'],
  ];
  const rel = [new Set(['b', 'd', 'e']), new Set(['a']), new Set<string>()];

  it('NDCG@4 against a known ideal ordering', () => {
    // user 1: hits at ranks 2 and 4 -> DCG = 1/log2(3) + 1/log2(5); ideal (3 relevant) = 1 + 1/log2(3) + 1/log2(4)
    // user 2: hit at rank 3 (the repeat at rank 4 earns nothing) -> DCG = 1/log2(4) = 0.5; ideal = 1
    // user 3 has nothing relevant: left out of the mean
    const u1 = (1 / Math.log2(3) + 1 / Math.log2(5)) / (1 + 1 / Math.log2(3) + 0.5);
    expectClose(num(ndcgAtK(recs, rel, 4)), (u1 + 0.5) / 2, exact, 'ndcg');
    // 1/log2(3) = 0.630930, 1/log2(5) = 0.430677: (1.061606) / (2.130930) = 0.498189 for user 1
    expectClose(u1, 0.498189, { atol: 1e-6 }, 'ndcg user 1');
    // the ideal ordering itself scores 1
    expectClose(num(ndcgAtK([['b', 'd', 'e', 'x']], [new Set(['b', 'd', 'e'])], 4)), 1, exact, 'ideal');
  });

  it('precision, recall and hit rate at k', () => {
    // k = 2: user 1 top2 {a,b} -> 1 hit; user 2 top2 {e,f} -> 0 hits
    // precision = (1/2 + 0/2) / 2 = 0.25; recall = (1/3 + 0) / 2 = 1/6; hit rate = 1/2
    expectClose(num(precisionAtK(recs, rel, 2)), 0.25, exact, 'precision');
    expectClose(num(recallAtK(recs, rel, 2)), 1 / 6, exact, 'recall');
    expectClose(num(hitRateAtK(recs, rel, 2)), 0.5, exact, 'hit rate');
    // k = 4: user 2 has 'a' twice: counted once -> precision (2/4 + 1/4) / 2 = 0.375
    expectClose(num(precisionAtK(recs, rel, 4)), 0.375, exact, 'precision@4');
    expect(precisionAtK([['a']], [new Set<string>()], 1)).toBeNull();
    internalError(() => recallAtK(recs, rel.slice(1), 2));
    internalError(() => ndcgAtK(recs, rel, 0));
  });

  it('catalogue coverage', () => {
    // top 2 lists show a, b, e, f; catalogue of 8 (z is not in it) -> 4/8
    const catalogue = new Set(['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h']);
    expectClose(num(catalogueCoverage([...recs, ['z']], catalogue, 2)), 0.5, exact, 'coverage');
    expect(catalogueCoverage(recs, new Set<string>(), 2)).toBeNull();
  });
});

describe('purchase-count chart data', () => {
  it('tracking series cumulates actual counts and differences predicted ones', () => {
    const t = trackingSeries([2, 0, 3], [1.5, 3, 4.5]);
    expect(t.actualCumulative).toEqual([2, 2, 5]);
    expect(t.predictedCumulative).toEqual([1.5, 3, 4.5]);
    expect(t.predictedPerPeriod).toEqual([1.5, 1.5, 1.5]);
    expect(t.actualPerPeriod).toEqual([2, 0, 3]);
  });

  it('conditional expectation buckets 0..7+', () => {
    // frequencies 0,0,1,9,7: bucket 0 -> actual (1+0)/2, predicted (0.2+0.4)/2; 7+ holds 9 and 7
    const b = conditionalExpectation([0, 0, 1, 9, 7], [1, 0, 2, 6, 4], [0.2, 0.4, 1, 5, 5]);
    expect(b).toHaveLength(8);
    expect(b[0]).toMatchObject({ frequency: 0, label: '0', count: 2, meanActual: 0.5 });
    expectClose(b[0]?.meanPredicted as number, 0.3, exact, 'bucket 0');
    expect(b[2]).toEqual({ frequency: 2, label: '2', count: 0, meanActual: null, meanPredicted: null });
    expect(b[7]).toEqual({ frequency: 7, label: '7+', count: 2, meanActual: 5, meanPredicted: 5 });
    internalError(() => conditionalExpectation([0.5], [1], [1]));
  });
});
