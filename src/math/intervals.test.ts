// Confidence intervals against their papers' worked examples and the t table; Welch's coverage by simulation.
import { describe, expect, it } from 'vitest';
import { expectClose } from '../testing/expect-close.js';
import { newcombeInterval, studentTQuantile, welchInterval, wilsonInterval, Z_95 } from './intervals.js';
import { createRng } from './random.js';

describe('wilsonInterval', () => {
  it('matches Newcombe 1998a (single proportion, Statistics in Medicine 17: 857-872), 81/263: 0.2553 to 0.3662', () => {
    const w = wilsonInterval(81, 263);
    expectClose(w?.lower ?? NaN, 0.2553, { atol: 5e-5 }, 'lower');
    expectClose(w?.upper ?? NaN, 0.3662, { atol: 5e-5 }, 'upper');
  });

  it('stays in [0, 1] and is null without trials', () => {
    expect(wilsonInterval(0, 10)?.lower).toBe(0);
    expect(wilsonInterval(10, 10)?.upper).toBe(1);
    expect(wilsonInterval(0, 0)).toBeNull();
  });
});

describe('newcombeInterval', () => {
  // Newcombe (1998), "Interval estimation for the difference between independent proportions: comparison of eleven
  // methods", Statistics in Medicine 17: 873-890, table II, method 10 (hybrid score), printed to 4 decimals.
  const published: [number, number, number, number, number, number][] = [
    [56, 70, 48, 80, 0.0524, 0.3339],
    [9, 10, 3, 10, 0.1705, 0.809],
    [5, 56, 0, 29, -0.0381, 0.1926],
    [0, 10, 0, 20, -0.1611, 0.2775],
    [0, 10, 0, 10, -0.2775, 0.2775],
    [10, 10, 0, 20, 0.6791, 1],
    [10, 10, 0, 10, 0.6075, 1],
  ];
  it.each(published)('matches Newcombe 1998 table II, method 10: %i/%i - %i/%i', (a, m, b, n, lower, upper) => {
    const d = newcombeInterval(a, m, b, n);
    expectClose(d?.estimate ?? NaN, a / m - b / n, { atol: 1e-15 }, 'difference');
    expectClose(d?.lower ?? NaN, lower, { atol: 5e-5 }, 'lower');
    expectClose(d?.upper ?? NaN, upper, { atol: 5e-5 }, 'upper');
  });

  it('is null when an arm is empty', () => {
    expect(newcombeInterval(1, 10, 0, 0)).toBeNull();
  });
});

describe('studentTQuantile', () => {
  // Two-sided 5% critical values of the t table (e.g. NIST/SEMATECH e-Handbook of Statistical Methods, 1.4.2.10), 3 decimals.
  it.each([
    [1, 12.706],
    [2, 4.303],
    [5, 2.571],
    [10, 2.228],
    [30, 2.042],
    [120, 1.98],
  ])('matches the t table at %i degrees of freedom: %f', (df, t) => {
    expectClose(studentTQuantile(0.975, df), t, { atol: 5e-4 }, `t(0.975, ${df})`);
  });

  it('tends to the normal quantile', () => {
    expectClose(studentTQuantile(0.975, 1e6), Z_95, { rtol: 1e-5 }, 't(0.975, 1e6)');
    expect(studentTQuantile(0.975, 1e12)).toBe(Z_95);
    expect(studentTQuantile(0.5, 3)).toBe(0);
  });
});

describe('welchInterval', () => {
  it('covers the true difference of means about 95% of the time on skewed spend-like data (seed 7)', () => {
    // Zero-inflated log-normal spend, 1,000 replications of 300 vs 200 rows: the coverage estimate has a standard
    // error of 0.7 points; the tolerance is 3 of them.
    const rng = createRng(7);
    const draw = (n: number, share: number, mu: number): { n: number; mean: number; variance: number } => {
      const xs = Array.from({ length: n }, () => (rng.uniform() < share ? rng.lognormal(mu, 0.5) : 0));
      const mean = xs.reduce((s, x) => s + x, 0) / n;
      return { n, mean, variance: xs.reduce((s, x) => s + (x - mean) ** 2, 0) / (n - 1) };
    };
    // E = share · e^{μ + σ²/2}.
    const truth = 0.4 * Math.exp(3 + 0.125) - 0.3 * Math.exp(2.8 + 0.125);
    let covered = 0;
    const reps = 1000;
    for (let r = 0; r < reps; r++) {
      const w = welchInterval(draw(300, 0.4, 3), draw(200, 0.3, 2.8));
      if (w && w.lower <= truth && truth <= w.upper) covered++;
    }
    expectClose(covered / reps, 0.95, { atol: 0.021 }, 'coverage');
  });

  it('is null below 2 rows per arm and a point when both variances are 0', () => {
    expect(welchInterval({ n: 1, mean: 1, variance: 0 }, { n: 5, mean: 0, variance: 1 })).toBeNull();
    expect(welchInterval({ n: 3, mean: 2, variance: 0 }, { n: 3, mean: 1, variance: 0 })).toMatchObject({ estimate: 1, lower: 1, upper: 1 });
  });
});
