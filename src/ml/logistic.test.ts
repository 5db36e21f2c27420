// Logistic regression: the 2x2 table's log odds ratio without a penalty, weights as repeated rows, shrinkage with the penalty.
import { describe, expect, it } from 'vitest';
import { createRng } from '../math/random.js';
import { expectClose } from '../testing/expect-close.js';
import { fitLogistic, predictLogistic } from './logistic.js';

/** Rows of a 2x2 table: `counts[x][y]` rows with feature x and label y. */
function table(counts: number[][]): { x: Float64Array; y: Float64Array } {
  const x: number[] = [];
  const y: number[] = [];
  for (const xv of [0, 1]) for (const yv of [0, 1]) for (let k = 0; k < (counts[xv]?.[yv] ?? 0); k++) (x.push(xv), y.push(yv));
  return { x: Float64Array.from(x), y: Float64Array.from(y) };
}

describe('fitLogistic', () => {
  it('gives the log odds ratio of a 2x2 table for one 0/1 feature without a penalty (the MLE in closed form)', () => {
    // x = 0: 30 negatives, 10 positives; x = 1: 12 negatives, 24 positives. Odds 1/3 and 2: log odds ratio log 6.
    const { x, y } = table([[30, 10], [12, 24]]);
    const fit = fitLogistic({ names: ['x'], columns: [x], rows: x.length }, y, { l2: 0 });
    expect(fit.diagnostics.converged).toBe(true);
    expectClose(fit.intercept, Math.log(10 / 30), { rtol: 1e-9, atol: 1e-12 });
    expectClose(fit.coefficients[0] as number, Math.log(6), { rtol: 1e-9, atol: 1e-12 });
    // The fitted probabilities are the groups' rates.
    const p = predictLogistic(fit, { names: ['x'], columns: [Float64Array.of(0, 1)], rows: 2 });
    expectClose(p[0] as number, 0.25, { rtol: 1e-9, atol: 1e-12 });
    expectClose(p[1] as number, 24 / 36, { rtol: 1e-9, atol: 1e-12 });
  });

  it('fits weighted rows as the same rows repeated, and shrinks coefficients as the penalty grows', () => {
    const rng = createRng(11);
    const n = 400;
    const a = Float64Array.from({ length: n }, () => (rng.uniform() < 0.4 ? 1 : 0));
    const b = Float64Array.from({ length: n }, () => (rng.uniform() < 0.5 ? 1 : 0));
    const y = Float64Array.from({ length: n }, (_, i) => (rng.uniform() < 1 / (1 + Math.exp(-(-1 + 1.5 * (a[i] as number) - 0.7 * (b[i] as number)))) ? 1 : 0));
    const w = Float64Array.from({ length: n }, (_, i) => 1 + (i % 3));
    const expand = (col: Float64Array): Float64Array => Float64Array.from(Array.from(col).flatMap((v, i) => Array<number>(w[i] as number).fill(v)));
    const weighted = fitLogistic({ names: ['a', 'b'], columns: [a, b], rows: n }, y, { weights: w, l2: 0.5 });
    const repeated = fitLogistic({ names: ['a', 'b'], columns: [expand(a), expand(b)], rows: expand(a).length }, expand(y), { l2: 0.5 });
    expectClose(weighted.intercept, repeated.intercept, { rtol: 1e-9, atol: 1e-12 });
    for (const j of [0, 1]) expectClose(weighted.coefficients[j] as number, repeated.coefficients[j] as number, { rtol: 1e-9, atol: 1e-12 });
    expect(weighted.coefficients[0]).toBeGreaterThan(0.8);
    expect(weighted.coefficients[1]).toBeLessThan(-0.2);
    const norms = [0, 10, 100, 1000].map((l2) => {
      const c = fitLogistic({ names: ['a', 'b'], columns: [a, b], rows: n }, y, { l2 }).coefficients;
      return Math.hypot(c[0] as number, c[1] as number);
    });
    for (let k = 1; k < norms.length; k++) expect(norms[k]).toBeLessThan(norms[k - 1] as number);
  });

  it('converges with a feature nobody has and one that separates perfectly when penalised, and refuses one class', () => {
    const y = Float64Array.of(0, 0, 1, 1, 0, 1);
    const sep = Float64Array.from(y);
    const none = new Float64Array(6);
    const fit = fitLogistic({ names: ['sep', 'none'], columns: [sep, none], rows: 6 }, y, { l2: 1 });
    expect(fit.diagnostics.converged).toBe(true);
    expect(Number.isFinite(fit.coefficients[0] as number)).toBe(true);
    expect(fit.coefficients[1]).toBeCloseTo(0, 12);
    expect(() => fitLogistic({ names: ['sep'], columns: [sep], rows: 6 }, new Float64Array(6))).toThrow(/every row has the label 0/);
    expect(() => fitLogistic({ names: ['sep'], columns: [sep], rows: 6 }, Float64Array.of(0, 2, 1, 1, 0, 1))).toThrow(/expected 0 or 1/);
  });
});
