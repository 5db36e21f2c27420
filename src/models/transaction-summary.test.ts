// Tests of the transaction summary: validation, grouping and the distinct-value indexes the likelihoods rely on.
import { describe, expect, it } from 'vitest';
import { KairosError } from '../errors.js';
import {
  distinctIndex,
  groupTransactionSummary,
  pairIndex,
  prepareTransactionSummary,
  subsampleTransactionSummary,
  ungroup,
  validateSpend,
  validateTransactionSummary,
} from './transaction-summary.js';

const f = (...v: number[]): Float64Array => Float64Array.from(v);

describe('validateTransactionSummary', () => {
  it.each([
    [{ x: f(1, -1), tx: f(1, 0), T: f(2, 2) }, /row 1: x \(-1\) must be a non-negative integer/],
    [{ x: f(1.5), tx: f(1), T: f(2) }, /row 0: x \(1.5\)/],
    [{ x: f(2), tx: f(3), T: f(2) }, /row 0: tx \(3\) is greater than T \(2\)/],
    [{ x: f(0), tx: f(1), T: f(2) }, /tx must be 0 when x is 0/],
    [{ x: f(1), tx: f(NaN), T: f(2) }, /must be finite/],
    [{ x: f(1), tx: f(-1), T: f(2) }, /must be >= 0/],
    [{ x: f(1, 2), tx: f(1), T: f(2, 2) }, /column tx has 1 rows, expected 2/],
    [{ x: f(1), tx: f(1), T: f(2), weights: f(-1) }, /weight -1/],
  ])('names the broken fact and row (%#)', (data, message) => {
    expect(() => validateTransactionSummary(data)).toThrow(message);
    try {
      validateTransactionSummary(data);
    } catch (err) {
      expect((err as KairosError).code).toBe('VALIDATION');
    }
  });
  it('rejects negative or non-finite spend', () => {
    expect(() => validateSpend({ x: f(1), m: f(-3) })).toThrow(/mean spend m/);
  });
});

describe('groupTransactionSummary', () => {
  const data = { x: f(0, 2, 0, 2, 2, 1), tx: f(0, 5, 0, 5, 5.5, 3), T: f(10, 9, 10, 9, 9, 7.25), weights: f(1, 2, 3, 1, 1, 1) };
  it('collapses identical rows, sums weights and maps rows to groups', () => {
    const g = groupTransactionSummary(data);
    expect(g.x.length).toBe(4);
    let total = 0;
    for (const w of g.weights) total += w;
    expect(total).toBe(9);
    for (let i = 0; i < data.x.length; i++) {
      const k = g.groupOf[i] as number;
      expect([g.x[k], g.tx[k], g.T[k]]).toEqual([data.x[i], data.tx[i], data.T[i]]);
    }
    const back = ungroup(g.x, g.groupOf);
    expect(Array.from(back)).toEqual(Array.from(data.x));
  });
  it('gives each group the summed weight of its rows', () => {
    const g = groupTransactionSummary(data);
    expect(g.weights[g.groupOf[0] as number]).toBe(4); // rows 0 and 2
    expect(g.weights[g.groupOf[1] as number]).toBe(3); // rows 1 and 3
  });
  it('prepares distinct-value indexes and a stratified subsample', () => {
    const p = prepareTransactionSummary(data);
    expect(p.totalWeight).toBe(9);
    expect(p.repeatWeight).toBe(5);
    for (let i = 0; i < p.n; i++) expect(p.Ts.values[p.Ts.index[i] as number]).toBe(p.T[i]);
    expect(subsampleTransactionSummary(p, 1000)).toBeNull();
  });
});

describe('distinctIndex and pairIndex', () => {
  it('index integer and non-integer columns alike', () => {
    for (const col of [f(3, 1, 3, 0), f(0.5, 1 / 7, 0.5, 2 / 7)]) {
      const d = distinctIndex(col);
      expect(d.values.length).toBe(3);
      col.forEach((v, i) => expect(d.values[d.index[i] as number]).toBe(v));
    }
  });
  it('numbers the distinct (x, T) pairs', () => {
    const p = pairIndex({ x: f(1, 1, 2, 1), tx: f(0, 0, 0, 0), T: f(5, 5, 5, 6) });
    expect(p.x.length).toBe(3);
    expect(p.index[0]).toBe(p.index[1]);
    expect(p.index[0]).not.toBe(p.index[3]);
  });
});
