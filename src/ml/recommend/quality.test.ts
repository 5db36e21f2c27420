// Quality on planted structure: customers in taste groups buying from group-specific items; ALS and item-knn must beat popularity on NDCG@10.
import { describe, expect, it } from 'vitest';
import { RECOMMENDERS, recommendAll, type FitResult } from './index.js';
import { buildInteractions } from './interactions.js';
import { rankingMetrics, type RankingMetrics } from './metrics.js';
import { syntheticShop } from './synthetic.js';

describe('recommendation quality on a synthetic shop with taste groups (seed 2024)', () => {
  // 8 groups of 25 items; 80% of a customer's events come from their group's items; two held-out purchases each.
  const shop = syntheticShop({ users: 2000, items: 200, nnz: 24_000, groups: 8, groupShare: 0.8, holdout: 2, seed: 2024 });
  const train = buildInteractions(shop.users, shop.items, shop.train);
  const holdout = buildInteractions(shop.users, shop.items, shop.holdout).byUser;
  const itemUsers = Array.from({ length: shop.items }, (_, i) => (train.byItem.indptr[i + 1] as number) - (train.byItem.indptr[i] as number));
  const ctx = { itemUsers, trainUsers: shop.users, catalogue: shop.items };
  const evaluate = async (fit: FitResult): Promise<RankingMetrics> => rankingMetrics((await recommendAll(fit, train, 10, undefined, { threads: 1 })).items, 10, holdout, ctx);

  it('ALS and item-knn (BM25, its default) beat popularity on NDCG@10 by at least half again; cosine item-knn by 30%', async () => {
    const pop = await evaluate(await RECOMMENDERS.popularity.fit(train));
    const alsM = await evaluate(await RECOMMENDERS.als.fit(train, { factors: 16, iterations: 10, threads: 1 }));
    const bm25 = await evaluate(await RECOMMENDERS['item-knn'].fit(train, { similarity: 'bm25', threads: 1 }));
    const cosine = await evaluate(await RECOMMENDERS['item-knn'].fit(train, { similarity: 'cosine', threads: 1 }));
    const summary = { popularity: pop.ndcg, als: alsM.ndcg, bm25: bm25.ndcg, cosine: cosine.ndcg };
    expect(alsM.ndcg, JSON.stringify(summary)).toBeGreaterThan(1.5 * pop.ndcg);
    expect(bm25.ndcg, JSON.stringify(summary)).toBeGreaterThan(1.5 * pop.ndcg);
    // Cosine lets items seen by one or two customers look most similar (no idf, no saturation): about 1.5x here.
    expect(cosine.ndcg, JSON.stringify(summary)).toBeGreaterThan(1.3 * pop.ndcg);
    // And they spread over the catalogue, where popularity shows everyone the same few items.
    expect(alsM.coverage).toBeGreaterThan(pop.coverage);
    expect(bm25.novelty).toBeGreaterThan(pop.novelty);
  });
});
