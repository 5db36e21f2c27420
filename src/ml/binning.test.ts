// Quantile bins: bounds, the three ways of finding a value's bin agree, missing codes, dropped features, the row layout.
import { describe, expect, it } from 'vitest';
import { createRng } from '../math/random.js';
import { binLowerBounds, binMatrix, binOf, QUANTILE_SAMPLE } from './binning.js';

/** The bin of x by definition: the number of bounds after the first that are <= x. */
function definitionBin(lower: Float64Array, x: number): number {
  let s = 0;
  for (let i = 1; i < lower.length; i++) if ((lower[i] as number) <= x) s = i;
  return s;
}

describe('binLowerBounds', () => {
  it('gives every distinct value its own bin when there are few', () => {
    expect(Array.from(binLowerBounds(Float64Array.from([1, 1, 2, 5, 5, 5, 9]), 4))).toEqual([1, 2, 5, 9]);
  });

  it('cuts many values into bins of about equal counts, merging a repeated value', () => {
    const sorted = Float64Array.from({ length: 1000 }, (_, i) => i);
    const lower = binLowerBounds(sorted, 10);
    expect(Array.from(lower)).toEqual([0, 100, 200, 300, 400, 500, 600, 700, 800, 900]);
    const heavy = Float64Array.from({ length: 1000 }, (_, i) => (i < 600 ? 0 : i));
    // 60% of the mass on one value: one bin for it, the others share the rest.
    expect(Array.from(binLowerBounds(heavy, 10))).toEqual([0, 600, 700, 800, 900]);
  });
});

describe('binMatrix', () => {
  it('puts every training value x in the bin s with lower[s] <= x < lower[s + 1], on every path', () => {
    const rng = createRng(12);
    const n = 5000;
    const columns = [
      // Floats of a wide range, negative and positive, zeros of both signs and infinities: the float32-prefix table.
      Float64Array.from({ length: n }, (_, r) => (r % 97 === 0 ? -0 : r % 101 === 0 ? 0 : r === 7 ? Infinity : r === 8 ? -Infinity : rng.normal(0, 1) * 10 ** rng.uniformIn(-3, 3))),
      // Values crowded in one float32 cell: the binary search fallback.
      Float64Array.from({ length: n }, () => 1000 + rng.uniform() * 1e-3),
      // Integers of a moderate range, more distinct than bins: counted quantiles and table lookup.
      Float64Array.from({ length: n }, () => Math.floor(rng.exponential(1 / 500))),
      // Few integers, some missing.
      Float64Array.from({ length: n }, () => (rng.uniform() < 0.1 ? NaN : Math.floor(rng.uniform() * 7) - 3)),
      // Float32 input.
      Float32Array.from({ length: n }, () => rng.lognormal(2, 1)),
    ];
    const bins = binMatrix({ names: ['wide', 'crowded', 'counts', 'small', 'f32'], columns, rows: n }, 256, false);
    expect(Array.from(bins.kept)).toEqual([0, 1, 2, 3, 4]);
    columns.forEach((column, f) => {
      const lower = bins.lower[f] as Float64Array;
      expect(lower.length).toBeLessThanOrEqual(f === 3 ? 255 : 256);
      for (let i = 1; i < lower.length; i++) expect(lower[i]).toBeGreaterThan(lower[i - 1] as number);
      for (let r = 0; r < n; r++) {
        const x = column[r] as number;
        const code = bins.codes[r * bins.stride + f];
        const expected = Number.isNaN(x) ? bins.valueBins[f] : definitionBin(lower, x);
        if (code !== expected) expect({ feature: f, row: r, x, code }).toEqual({ feature: f, row: r, x, code: expected });
        if (!Number.isNaN(x)) expect(binOf(lower, x)).toBe(expected);
      }
    });
    expect(Array.from(bins.hasMissing)).toEqual([0, 0, 0, 1, 0]);
    expect(Array.from(bins.lower[3] as Float64Array)).toEqual([-3, -2, -1, 0, 1, 2, 3]);
  });

  it('counts integer quantiles exactly as sorting would', () => {
    const rng = createRng(13);
    const n = 20_000;
    const ints = Float64Array.from({ length: n }, () => Math.floor(rng.exponential(1 / 300)));
    const bins = binMatrix({ names: ['x'], columns: [ints], rows: n }, 64, false);
    expect(Array.from(bins.lower[0] as Float64Array)).toEqual(Array.from(binLowerBounds(Float64Array.from(ints).sort(), 64)));
  });

  it('takes the quantiles of a large non-integer feature from an even sample of its rows', () => {
    const n = QUANTILE_SAMPLE * 3;
    const x = Float64Array.from({ length: n }, (_, r) => ((r * 7919) % n) + 0.5);
    const lower = binMatrix({ names: ['x'], columns: [x], rows: n }, 16, false).lower[0] as Float64Array;
    expect(lower).toHaveLength(16);
    // Bins of near-equal counts: each bound near k n / 16.
    lower.forEach((v, k) => expect(Math.abs(v - (k * n) / 16)).toBeLessThan(n / 400));
  });

  it('drops what cannot separate two rows and keeps a value-or-missing feature', () => {
    const n = 6;
    const bins = binMatrix(
      {
        names: ['constant', 'empty', 'presence', 'x'],
        columns: [new Float64Array(n).fill(2), new Float64Array(n).fill(NaN), Float64Array.from([1, NaN, 1, NaN, 1, 1]), Float64Array.from([3, 1, 2, 3, 1, 2])],
        rows: n,
      },
      256,
      true,
    );
    expect(bins.dropped).toEqual(['constant', 'empty']);
    expect(Array.from(bins.kept)).toEqual([2, 3]);
    expect(Array.from(bins.valueBins)).toEqual([1, 3]);
    // Rows of 4 bytes (whole 32-bit words): two codes, two bytes of padding.
    expect(bins.stride).toBe(4);
    expect(Array.from(bins.codes)).toEqual([0, 2, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 1, 2, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0]);
    expect(bins.codes.buffer).toBeInstanceOf(SharedArrayBuffer);
  });
});
