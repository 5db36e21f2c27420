// The contract every registered recommender keeps: deterministic, exclusions honoured, k respected, scores non-increasing, edge cases.
import { describe, expect, it } from 'vitest';
import { KairosError } from '../../errors.js';
import { createRng } from '../../math/random.js';
import { recommend, recommendAll, recommenderByName, RECOMMENDER_NAMES, RECOMMENDERS, type Exclusions, type FitResult, type RecommenderName } from './index.js';
import { buildInteractions, type InteractionMatrix } from './interactions.js';
import { syntheticShop } from './synthetic.js';

/** Small, fast options per recommender (the registry's type makes a new recommender add its own). */
const SMALL: Record<RecommenderName, Record<string, unknown>> = {
  'item-knn': { neighbours: 20, threads: 1 },
  als: { factors: 8, iterations: 3, regularization: 1, threads: 1 },
  popularity: {},
  'buy-again': {},
};

async function fitNamed(name: RecommenderName, m: InteractionMatrix, extra: Record<string, unknown> = {}): Promise<FitResult> {
  const r = RECOMMENDERS[name] as { fit(m: InteractionMatrix, o: Record<string, unknown>): Promise<FitResult> };
  return r.fit(m, { ...SMALL[name], ...extra });
}

const shop = syntheticShop({ users: 300, items: 60, nnz: 3000, groups: 5, seed: 17 });
// Users 300..309 have no interactions.
const m = buildInteractions(310, shop.items, shop.train);
const rng = createRng(99);
const recommendable = Uint8Array.from({ length: shop.items }, () => (rng.uniform() < 0.85 ? 1 : 0));
const repurchasable = Uint8Array.from({ length: shop.items }, () => (rng.uniform() < 0.2 ? 1 : 0));
const exclusions: Exclusions = { excludeBought: true, bought: null, repurchasable, recommendable };

describe('the recommender registry', () => {
  it('names each recommender by its key, and rejects an unknown name naming the valid ones', () => {
    for (const name of RECOMMENDER_NAMES) expect(RECOMMENDERS[name].name).toBe(name);
    expect(() => recommenderByName('svd')).toThrow(KairosError);
    expect(() => recommenderByName('svd')).toThrow('invalid recommender "svd" (expected one of item-knn, als, popularity, buy-again)');
  });
});

describe.each(RECOMMENDER_NAMES)('recommender contract: %s', (name) => {
  it('is deterministic: two fits give the same recommendations, on one thread or two', async () => {
    const a = await recommendAll(await fitNamed(name, m), m, 10, exclusions, { threads: 1 });
    const b = await recommendAll(await fitNamed(name, m, { threads: 2, parallelMinNnz: 0 }), m, 10, exclusions, { threads: 2 });
    expect(b.items).toEqual(a.items);
    expect(b.scores).toEqual(a.scores);
    expect(b.because).toEqual(a.because);
  });

  it('never returns an excluded item, respects k, keeps scores non-increasing, agrees with one-user calls', async () => {
    const fit = await fitNamed(name, m);
    const k = 7;
    const table = await recommendAll(fit, m, k, exclusions, { threads: 1 });
    const allowed = Array.from(recommendable).filter((v) => v === 1).length;
    for (let u = 0; u < m.users; u++) {
      const one = recommend(fit, m, u, k, exclusions);
      expect(one.items.length).toBeLessThanOrEqual(k);
      expect(Array.from(table.items.subarray(u * k, u * k + one.items.length))).toEqual(Array.from(one.items));
      const bought = new Set(Array.from(m.byUser.indices.subarray(m.byUser.indptr[u], m.byUser.indptr[u + 1])));
      for (const j of one.items) {
        expect(recommendable[j], `user ${u} got item ${j}, not recommendable`).toBe(1);
        if (bought.has(j)) expect(repurchasable[j], `user ${u} got item ${j}, bought and not repurchasable`).toBe(1);
      }
      expect(new Set(one.items).size).toBe(one.items.length);
      for (let t = 1; t < one.scores.length; t++) expect(one.scores[t] as number).toBeLessThanOrEqual(one.scores[t - 1] as number);
      // Enough items are left for every user here, so each gets k.
      if (allowed - bought.size >= k) expect(one.items.length).toBe(k);
      if (one.because !== null) for (const i of one.because) expect(i === -1 || bought.has(i)).toBe(true);
    }
  });

  it('gives a user with no interactions the overall popularity order (item-knn reasons -1)', async () => {
    const fit = await fitNamed(name, m);
    const want = Array.from(fit.fallback.order.subarray(0, shop.items)).filter((j) => recommendable[j] === 1).slice(0, 5);
    for (const u of [300, 309]) {
      const got = recommend(fit, m, u, 5, exclusions);
      expect(Array.from(got.items)).toEqual(want);
      if (got.because !== null) expect(Array.from(got.because)).toEqual([-1, -1, -1, -1, -1]);
    }
  });

  it('works with a catalogue of one item (recommended unless bought)', async () => {
    const one = buildInteractions(3, 1, { user: Int32Array.from([0, 1]), item: Int32Array.from([0, 0]), weight: Float32Array.from([1, 2]) });
    const fit = await fitNamed(name, one);
    for (const u of [0, 1]) expect(recommend(fit, one, u, 3).items.length).toBe(0);
    expect(Array.from(recommend(fit, one, 2, 3).items)).toEqual([0]);
    expect(Array.from(recommend(fit, one, 0, 3, { excludeBought: false, bought: null, repurchasable: null, recommendable: null }).items)).toEqual([0]);
  });

  it('rejects a bad k and a user out of range with coded errors', async () => {
    const fit = await fitNamed(name, m);
    expect(() => recommend(fit, m, 0, -1)).toThrow(KairosError);
    expect(() => recommend(fit, m, m.users, 5)).toThrow('user index 310 is outside 0..309');
  });
});
