// Tests of item-knn: neighbours against a brute-force dense computation (cosine and BM25), threads, and scores with their reasons.
import { describe, expect, it } from 'vitest';
import { createRng } from '../../math/random.js';
import { expectClose } from '../../testing/expect-close.js';
import { recommend, RECOMMENDERS, type ItemKnnParams } from './index.js';
import { buildInteractions, type InteractionMatrix } from './interactions.js';
import { fitItemKnn } from './item-knn.js';

/** A seeded random users x items matrix with about `density` of its cells set, weights in (0, 3). */
function randomMatrix(users: number, items: number, density: number, seed: number): { m: InteractionMatrix; r: number[][] } {
  const rng = createRng(seed);
  const r = Array.from({ length: users }, () => Array.from({ length: items }, () => (rng.uniform() < density ? 0.01 + 3 * rng.uniform() : 0)));
  const user: number[] = [];
  const item: number[] = [];
  const weight: number[] = [];
  r.forEach((row, u) => row.forEach((w, i) => w > 0 && (user.push(u), item.push(i), weight.push(w))));
  return { m: buildInteractions(users, items, { user: Int32Array.from(user), item: Int32Array.from(item), weight: Float32Array.from(weight) }), r };
}

/** Top-N neighbours of each item from a dense item x item similarity. */
function denseNeighbours(sim: number[][], n: number): { j: number; s: number }[][] {
  return sim.map((row, i) =>
    row
      .map((s, j) => ({ j, s }))
      .filter((e) => e.j !== i && e.s > 0)
      .sort((a, b) => b.s - a.s || a.j - b.j)
      .slice(0, n),
  );
}

function expectNeighbours(p: ItemKnnParams, want: { j: number; s: number }[][]): void {
  want.forEach((list, i) => {
    expect(p.count[i], `item ${i} neighbour count`).toBe(list.length);
    list.forEach((e, t) => {
      expect(p.index[i * p.neighbours + t], `item ${i} neighbour ${t}`).toBe(e.j);
      expectClose(p.similarity[i * p.neighbours + t] as number, e.s, { rtol: 1e-5, atol: 1e-6 }, `sim(${i}, ${e.j})`);
    });
  });
}

describe('item-knn', () => {
  const { m, r } = randomMatrix(40, 15, 0.3, 5);
  // Float32 weights, as the matrix stores them.
  const rf = r.map((row) => row.map((w) => Math.fround(w)));
  const users = rf.length;
  const items = 15;
  const col = (i: number): number[] => rf.map((row) => row[i] as number);

  it('cosine neighbours match a brute-force dense computation', async () => {
    const norm = Array.from({ length: items }, (_, i) => Math.hypot(...col(i)));
    const sim = Array.from({ length: items }, (_, i) =>
      Array.from({ length: items }, (_, j) => (norm[i] && norm[j] ? col(i).reduce((s, v, u) => s + v * (col(j)[u] as number), 0) / ((norm[i] as number) * (norm[j] as number)) : 0)),
    );
    const { params } = await fitItemKnn(m, { similarity: 'cosine', neighbours: 6, threads: 1 });
    expectNeighbours(params, denseNeighbours(sim, 6));
  });

  it('BM25 neighbours match the weights written out densely (K1 1.2, B 0.75)', async () => {
    const k1 = 1.2;
    const b = 0.75;
    const rowSum = Array.from({ length: items }, (_, i) => col(i).reduce((s, v) => s + v, 0));
    const mean = rowSum.reduce((s, v) => s + v, 0) / items;
    const idf = rf.map((row) => Math.max(0, Math.log(items) - Math.log1p(row.filter((v) => v > 0).length)));
    const w = Array.from({ length: items }, (_, i) =>
      col(i).map((v, u) => (v > 0 ? ((v * (k1 + 1)) / (k1 * (1 - b + (b * (rowSum[i] as number)) / mean) + v)) * (idf[u] as number) : 0)),
    );
    const sim = Array.from({ length: items }, (_, i) => Array.from({ length: items }, (_, j) => (w[i] as number[]).reduce((s, v, u) => s + v * ((w[j] as number[])[u] as number), 0)));
    const { params } = await fitItemKnn(m, { similarity: 'bm25', neighbours: 4, threads: 1 });
    expectNeighbours(params, denseNeighbours(sim, 4));
    expect(users).toBe(40);
  });

  it('keeps neighbours with at least minSupport users in common, their similarity shrunk by n / (n + shrinkage) (Koren 2008)', async () => {
    const norm = Array.from({ length: items }, (_, i) => Math.hypot(...col(i)));
    const common = (i: number, j: number): number => col(i).filter((v, u) => v > 0 && (col(j)[u] as number) > 0).length;
    const minSupport = 4;
    const shrinkage = 5;
    const sim = Array.from({ length: items }, (_, i) =>
      Array.from({ length: items }, (_, j) => {
        const n = common(i, j);
        if (n < minSupport || !norm[i] || !norm[j]) return 0;
        const cos = col(i).reduce((s, v, u) => s + v * (col(j)[u] as number), 0) / ((norm[i] as number) * (norm[j] as number));
        return (cos * n) / (n + shrinkage);
      }),
    );
    const want = denseNeighbours(sim, 6);
    // The floor bites on this matrix: some pairs that co-occur are dropped.
    const dropped = Array.from({ length: items }, (_, i) => Array.from({ length: items }, (_, j) => (i !== j && common(i, j) > 0 && common(i, j) < minSupport ? 1 : 0))).flat();
    expect(dropped.reduce((a: number, b) => a + b, 0)).toBeGreaterThan(0);
    const { params } = await fitItemKnn(m, { similarity: 'cosine', neighbours: 6, threads: 1, minSupport, shrinkage });
    expectNeighbours(params, want);
  });

  it('refuses a support floor below 1 and a negative shrinkage', async () => {
    await expect(fitItemKnn(m, { minSupport: 0 })).rejects.toThrow(/minSupport must be an integer >= 1/);
    await expect(fitItemKnn(m, { shrinkage: -1 })).rejects.toThrow(/shrinkage must be a finite number >= 0/);
  });

  it('gives the same neighbours on two threads as on one', async () => {
    const big = randomMatrix(400, 120, 0.08, 9).m;
    const one = await fitItemKnn(big, { threads: 1 });
    const two = await fitItemKnn(big, { threads: 2, parallelMinNnz: 0 });
    expect(two.diagnostics.threads).toBe(2);
    expect(two.params.index).toEqual(one.params.index);
    expect(two.params.similarity).toEqual(one.params.similarity);
  });

  it('scores a user as sum_i r_ui sim(i, j), each item with the user item of largest term as its reason', async () => {
    const fit = await RECOMMENDERS['item-knn'].fit(m, { similarity: 'cosine', neighbours: 14, threads: 1 });
    const p = fit.params;
    for (const u of [0, 7, 21]) {
      const got = recommend(fit, m, u, 5);
      const score = new Map<number, { s: number; best: number; because: number }>();
      for (let q = m.byUser.indptr[u] as number; q < (m.byUser.indptr[u + 1] as number); q++) {
        const i = m.byUser.indices[q] as number;
        for (let t = 0; t < (p.count[i] as number); t++) {
          const j = p.index[i * p.neighbours + t] as number;
          const c = (m.byUser.data[q] as number) * (p.similarity[i * p.neighbours + t] as number);
          const e = score.get(j) ?? { s: 0, best: -1, because: -1 };
          score.set(j, { s: e.s + c, best: Math.max(e.best, c), because: c > e.best ? i : e.because });
        }
      }
      const bought = new Set(Array.from(m.byUser.indices.subarray(m.byUser.indptr[u], m.byUser.indptr[u + 1])));
      const want = [...score.entries()].filter(([j]) => !bought.has(j)).sort((a, b) => b[1].s - a[1].s || a[0] - b[0]).slice(0, 5);
      expect(Array.from(got.items)).toEqual(want.map(([j]) => j));
      expect(Array.from(got.because ?? [])).toEqual(want.map(([, e]) => e.because));
      want.forEach(([, e], t) => expectClose(got.scores[t] as number, e.s, { rtol: 1e-5 }, `user ${u} score ${t}`));
    }
  });
});
