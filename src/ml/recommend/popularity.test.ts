// Tests of popularity: summed weights, per-segment order with the overall order breaking ties, users without a segment.
import { describe, expect, it } from 'vitest';
import { KairosError } from '../../errors.js';
import { recommend, RECOMMENDERS } from './index.js';
import { buildInteractions } from './interactions.js';
import { fitPopularity } from './popularity.js';

describe('popularity', () => {
  // Items 0..3. Users 0, 1 in segment 0 like item 2; users 2, 3 in segment 1 like item 3; user 4 has no segment.
  const m = buildInteractions(6, 4, {
    user: Int32Array.from([0, 0, 1, 2, 2, 3, 4, 4]),
    item: Int32Array.from([2, 0, 2, 3, 1, 3, 1, 0]),
    weight: Float32Array.from([2, 1, 2, 1, 0.5, 2, 3, 0.25]),
  });
  const segments = Int32Array.from([0, 0, 1, 1, -1, 1]);

  it('scores items by summed weight, overall and per segment', () => {
    const p = fitPopularity(m, { segments });
    expect(p.rows).toBe(3);
    expect(Array.from(p.score.subarray(0, 4))).toEqual([1.25, 3.5, 4, 3]);
    expect(Array.from(p.order.subarray(0, 4))).toEqual([2, 1, 3, 0]);
    // Segment 0: item 2 (4), item 0 (1), then the rest by overall score: 1, 3.
    expect(Array.from(p.order.subarray(4, 8))).toEqual([2, 0, 1, 3]);
    // Segment 1: item 3 (3), item 1 (0.5), then 2, 0 overall.
    expect(Array.from(p.order.subarray(8, 12))).toEqual([3, 1, 2, 0]);
  });

  it("recommends a segment's order to its users and the overall order to users without one", async () => {
    const fit = await RECOMMENDERS.popularity.fit(m, { segments });
    const all = { excludeBought: false, bought: null, repurchasable: null, recommendable: null };
    expect(Array.from(recommend(fit, m, 5, 2, all).items)).toEqual([3, 1]);
    expect(Array.from(recommend(fit, m, 5, 2, all).scores)).toEqual([3, 0.5]);
    expect(Array.from(recommend(fit, m, 4, 2, all).items)).toEqual([2, 1]);
    // With the default exclusions, user 3 (bought 3) gets segment 1's next items.
    expect(Array.from(recommend(fit, m, 3, 2).items)).toEqual([1, 2]);
  });

  it('rejects segments that do not fit the users', () => {
    expect(() => fitPopularity(m, { segments: Int32Array.from([0]) })).toThrow(KairosError);
    expect(() => fitPopularity(m, { segments: Int32Array.from([0, 0, -2, 0, 0, 0]) })).toThrow('segments[2] = -2');
  });
});
