// Tests of the isotonic calibration map (pool-adjacent-violators).
import { describe, expect, it } from 'vitest';
import { applyIsotonic, fitIsotonic } from './isotonic.js';

describe('fitIsotonic', () => {
  it('pools adjacent violators as in the textbook example (Barlow et al. 1972)', () => {
    const map = fitIsotonic([1, 2, 3, 4, 5, 6], [1, 3, 2, 4, 3, 5]);
    expect(map.y).toEqual([1, 2.5, 3.5, 5]);
    expect(map.x).toEqual([1, 2.5, 4.5, 6]);
    expect([1, 2, 3, 4, 5, 6].map((s) => applyIsotonic(map, s))).toEqual([1, 2, 2.75, 3.25, 4, 5]);
  });

  it('is non-decreasing, keeps the weighted mean and clips beyond its knots', () => {
    let seed = 7;
    const rand = (): number => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
    const s = Array.from({ length: 2000 }, () => rand());
    const l = s.map((v) => (rand() < v * v ? 1 : 0));
    const w = s.map(() => 1 + Math.floor(rand() * 3));
    const map = fitIsotonic(s, l, w);
    for (let k = 1; k < map.y.length; k++) {
      expect(map.y[k]).toBeGreaterThan(map.y[k - 1] as number);
      expect(map.x[k]).toBeGreaterThan(map.x[k - 1] as number);
    }
    // Each knot is its block's weighted mean score and label: the knots keep the overall weighted sums.
    const sum = (f: (i: number) => number): number => s.reduce((a, _, i) => a + f(i), 0);
    const blocks = (v: readonly number[]): number => v.reduce((a, y, k) => a + y * (map.w[k] as number), 0);
    expect(blocks(map.y)).toBeCloseTo(sum((i) => (w[i] as number) * (l[i] as number)), 9);
    expect(blocks(map.x)).toBeCloseTo(sum((i) => (w[i] as number) * (s[i] as number)), 9);
    expect(map.w.reduce((a, b) => a + b, 0)).toBe(sum((i) => w[i] as number));
    expect(applyIsotonic(map, -1)).toBe(map.y[0]);
    expect(applyIsotonic(map, 2)).toBe(map.y[map.y.length - 1]);
  });

  it('leaves out non-finite scores and gives NaN for an empty map', () => {
    const map = fitIsotonic([Number.NaN, 0.2, 0.8], [1, 0, 1]);
    expect(map.x).toEqual([0.2, 0.8]);
    expect(applyIsotonic(fitIsotonic([], []), 0.5)).toBeNaN();
  });
});
