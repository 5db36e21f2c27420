// Tests of top-k selection: the heap against a full sort, ties to the lower index, skipped items.
import { describe, expect, it } from 'vitest';
import { createRng } from '../../math/random.js';
import { topK } from './topk.js';

describe('topK', () => {
  it('matches a full sort (score descending, then index ascending) on seeded data with many ties', () => {
    const rng = createRng(11);
    for (let trial = 0; trial < 50; trial++) {
      const n = 1 + Math.floor(rng.uniform() * 200);
      const k = Math.floor(rng.uniform() * 15);
      const scores = Float32Array.from({ length: n }, () => Math.floor(rng.uniform() * 10));
      const skip = Uint8Array.from({ length: n }, () => (rng.uniform() < 0.2 ? 1 : 0));
      const want = Array.from({ length: n }, (_, j) => j)
        .filter((j) => skip[j] === 0)
        .sort((a, b) => (scores[b] as number) - (scores[a] as number) || a - b)
        .slice(0, k);
      const got = topK(scores, k, skip);
      expect(Array.from(got.items)).toEqual(want);
      expect(Array.from(got.scores)).toEqual(want.map((j) => scores[j]));
    }
  });

  it('never keeps NaN and handles k = 0 and k > n', () => {
    expect(Array.from(topK(Float32Array.from([1, NaN, 3]), 5).items)).toEqual([2, 0]);
    expect(topK(Float32Array.from([1, 2]), 0).items.length).toBe(0);
  });
});
