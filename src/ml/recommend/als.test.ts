// Tests of implicit ALS: CG rows against an exact per-row solve, threads, seeds, the objective over iterations.
import { describe, expect, it } from 'vitest';
import { KairosError } from '../../errors.js';
import { expectClose } from '../../testing/expect-close.js';
import { fitAls } from './als.js';
import { recommend, RECOMMENDERS } from './index.js';
import { topK } from './topk.js';
import { buildInteractions, type Csr } from './interactions.js';
import { syntheticShop } from './synthetic.js';

/** Solves the symmetric positive-definite system A x = b (Cholesky, float64). */
function solveSpd(A: number[][], b: number[]): number[] {
  const n = b.length;
  const L = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = (A[i] as number[])[j] as number;
      for (let k = 0; k < j; k++) s -= ((L[i] as number[])[k] as number) * ((L[j] as number[])[k] as number);
      (L[i] as number[])[j] = i === j ? Math.sqrt(s) : s / ((L[j] as number[])[j] as number);
    }
  }
  const y = new Array<number>(n).fill(0);
  for (let i = 0; i < n; i++) {
    let s = b[i] as number;
    for (let k = 0; k < i; k++) s -= ((L[i] as number[])[k] as number) * (y[k] as number);
    y[i] = s / ((L[i] as number[])[i] as number);
  }
  const x = new Array<number>(n).fill(0);
  for (let i = n - 1; i >= 0; i--) {
    let s = y[i] as number;
    for (let k = i + 1; k < n; k++) s -= ((L[k] as number[])[i] as number) * (x[k] as number);
    x[i] = s / ((L[i] as number[])[i] as number);
  }
  return x;
}

/**
 * Each row a of `rows` solved exactly against the fixed factors B: (B^T B + lambda I + sum_j (c_aj - 1) b_j b_j^T) a =
 * sum_j c_aj b_j, c = 1 + alpha r (Hu, Koren & Volinsky 2008, eq. 4).
 */
function exactRows(rows: Csr, B: Float32Array, f: number, lambda: number, alpha: number): number[][] {
  const n = B.length / f;
  const gram = Array.from({ length: f }, (_, a) => Array.from({ length: f }, (_, c) => {
    let s = a === c ? lambda : 0;
    for (let j = 0; j < n; j++) s += (B[j * f + a] as number) * (B[j * f + c] as number);
    return s;
  }));
  return Array.from({ length: rows.rows }, (_, r) => {
    const A = gram.map((row) => [...row]);
    const b = new Array<number>(f).fill(0);
    for (let p = rows.indptr[r] as number; p < (rows.indptr[r + 1] as number); p++) {
      const j = rows.indices[p] as number;
      const c = 1 + alpha * (rows.data[p] as number);
      for (let a = 0; a < f; a++) {
        b[a] = (b[a] as number) + c * (B[j * f + a] as number);
        for (let d = 0; d < f; d++) (A[a] as number[])[d] = ((A[a] as number[])[d] as number) + (c - 1) * (B[j * f + a] as number) * (B[j * f + d] as number);
      }
    }
    return solveSpd(A, b);
  });
}

describe('implicit ALS', () => {
  const shop = syntheticShop({ users: 120, items: 40, nnz: 900, groups: 4, seed: 21 });
  const m = buildInteractions(shop.users, shop.items, shop.train);
  const o = { factors: 6, regularization: 0.5, alpha: 5, cgSteps: 40, threads: 1, seed: 3 };

  it('with enough CG steps, each half-step matches the exact per-row least-squares solve to 1e-4', async () => {
    const one = await fitAls(m, { ...o, iterations: 1 });
    const two = await fitAls(m, { ...o, iterations: 2 });
    // Items of iteration 1 solved against its users; users of iteration 2 against iteration 1's items.
    const wantY = exactRows(m.byItem, one.params.X, 6, 0.5, 5);
    wantY.forEach((row, i) => row.forEach((v, a) => expectClose(one.params.Y[i * 6 + a] as number, v, { atol: 1e-4, rtol: 1e-4 }, `y[${i}][${a}]`)));
    const wantX = exactRows(m.byUser, one.params.Y, 6, 0.5, 5);
    wantX.forEach((row, u) => row.forEach((v, a) => expectClose(two.params.X[u * 6 + a] as number, v, { atol: 1e-4, rtol: 1e-4 }, `x[${u}][${a}]`)));
  });

  it('is deterministic under a seed, differs across seeds, and is the same on two threads', async () => {
    const base = { factors: 8, iterations: 4, threads: 1, seed: 5 };
    const a = await fitAls(m, base);
    const b = await fitAls(m, base);
    const c = await fitAls(m, { ...base, seed: 6 });
    const t2 = await fitAls(m, { ...base, threads: 2, parallelMinNnz: 0 });
    expect(b.params.X).toEqual(a.params.X);
    expect(c.params.Y).not.toEqual(a.params.Y);
    expect(t2.diagnostics.threads).toBe(2);
    expect(t2.params.X).toEqual(a.params.X);
    expect(t2.params.Y).toEqual(a.params.Y);
    expect(t2.diagnostics.loss).toEqual(a.diagnostics.loss);
  });

  it('reports time and objective per iteration; the objective does not increase', async () => {
    const fit = await fitAls(m, { factors: 8, iterations: 8, regularization: 1, seed: 1 });
    const d = fit.diagnostics;
    expect(d.iterations).toBe(8);
    expect(d.secondsPerIteration).toHaveLength(8);
    expect(d.loss).toHaveLength(8);
    expect(d.nnz).toBe(m.nnz);
    for (let t = 1; t < 8; t++) expect(d.loss[t] as number).toBeLessThanOrEqual((d.loss[t - 1] as number) * (1 + 1e-6));
  });

  it('rejects bad options with a VALIDATION error naming the option', async () => {
    await expect(fitAls(m, { factors: 0 })).rejects.toThrow(KairosError);
    await expect(fitAls(m, { regularization: -1 })).rejects.toThrow('als option regularization must be a positive number');
  });
});

describe('ALS recommending', () => {
  it('the pruned scan (items by decreasing norm) returns the exhaustive top k', async () => {
    const shop = syntheticShop({ users: 400, items: 300, nnz: 6000, groups: 6, seed: 8 });
    const m = buildInteractions(shop.users, shop.items, shop.train);
    const fit = await RECOMMENDERS.als.fit(m, { factors: 12, iterations: 4, regularization: 5, threads: 1 });
    const { X, Y, factors: f } = fit.params;
    for (let u = 0; u < 400; u += 7) {
      if (m.byUser.indptr[u + 1] === m.byUser.indptr[u]) continue;
      const scores = new Float64Array(shop.items);
      for (let j = 0; j < shop.items; j++) for (let t = 0; t < f; t++) scores[j] = (scores[j] as number) + (X[u * f + t] as number) * (Y[j * f + t] as number);
      const skip = new Uint8Array(shop.items);
      for (let p = m.byUser.indptr[u] as number; p < (m.byUser.indptr[u + 1] as number); p++) skip[m.byUser.indices[p] as number] = 1;
      const want = topK(scores, 10, skip);
      const got = recommend(fit, m, u, 10);
      expect(Array.from(got.items), `user ${u}`).toEqual(Array.from(want.items));
      want.scores.forEach((v, t) => expectClose(got.scores[t] as number, v, { rtol: 1e-6, atol: 1e-9 }, `user ${u} score ${t}`));
    }
  });
});
