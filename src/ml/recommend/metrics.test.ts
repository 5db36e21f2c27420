// Tests of the ranking metrics on a hand-computed example.
import { describe, expect, it } from 'vitest';
import { expectClose } from '../../testing/expect-close.js';
import { buildInteractions } from './interactions.js';
import { rankingMetrics } from './metrics.js';

describe('rankingMetrics', () => {
  // User 0 holds out {2, 5}, user 1 holds out {4}, user 2 nothing (not evaluated).
  const holdout = buildInteractions(3, 6, { user: Int32Array.from([0, 0, 1]), item: Int32Array.from([2, 5, 4]), weight: Float32Array.from([1, 1, 1]) }).byUser;
  const table = Int32Array.from([2, 0, 5, 1, 3, 0, 4, 4, 4]);
  const m = rankingMetrics(table, 3, holdout, { itemUsers: [8, 4, 2, 1, 0, 1], trainUsers: 8, catalogue: 6 });

  it('computes precision, recall, NDCG and hit rate over users with held-out items (by hand)', () => {
    expect(m.users).toBe(2);
    expectClose(m.precision, (2 / 3 + 0) / 2, { atol: 1e-12 }, 'precision');
    expectClose(m.recall, (1 + 0) / 2, { atol: 1e-12 }, 'recall');
    // user 0: hits at ranks 1 and 3: (1 + 1/log2 4) / (1 + 1/log2 3); user 1: 0.
    expectClose(m.ndcg, (1 + 0.5) / (1 + 1 / Math.log2(3)) / 2, { atol: 1e-12 }, 'ndcg');
    expectClose(m.hitRate, 0.5, { atol: 1e-12 }, 'hit rate');
  });

  it('computes coverage and novelty (Zhou et al. 2010) over the recommended slots', () => {
    expectClose(m.coverage, 5 / 6, { atol: 1e-12 }, 'coverage');
    // items 2, 0, 5 / 1, 3, 0: shares 2/8, 1, 1/8 / 4/8, 1/8, 1.
    const novelty = (2 + 0 + 3 + 1 + 3 + 0) / 6;
    expectClose(m.novelty, novelty, { atol: 1e-12 }, 'novelty');
  });
});
