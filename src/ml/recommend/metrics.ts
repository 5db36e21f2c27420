// Ranking metrics of recommendations against held-out purchases: precision, recall, NDCG, hit rate at k, catalogue coverage, novelty.
import { KairosError } from '../../errors.js';
import type { Csr } from './interactions.js';

/** Means over the users with at least one held-out item, plus two catalogue-level figures. */
export interface RankingMetrics {
  readonly k: number;
  /** Users evaluated: those with held-out items. */
  readonly users: number;
  readonly precision: number;
  readonly recall: number;
  readonly ndcg: number;
  readonly hitRate: number;
  /** Distinct items recommended to the evaluated users, over the catalogue size. */
  readonly coverage: number;
  /** Mean -log2 of the recommended items' popularity share (users who had the item in training / all users). */
  readonly novelty: number;
}

/** What rankingMetrics needs from training: users per item and the user count, and the catalogue size. */
export interface MetricsContext {
  /** Per item: how many training users interacted with it (e.g. byItem.indptr differences). */
  readonly itemUsers: ArrayLike<number>;
  readonly trainUsers: number;
  /** Items that could have been recommended (the coverage denominator). */
  readonly catalogue: number;
}

/**
 * Metrics at k of a recommendation table (user u's items at [u k, u k + k), -1 for none) against `holdout` (users x
 * items; every stored entry is relevant). Precision@k = hits / k, recall@k = hits / |relevant|, NDCG@k with binary
 * gains (DCG = sum over hits at rank r of 1 / log2(r + 1), over the ideal DCG of min(k, |relevant|) hits; Jarvelin &
 * Kekalainen 2002), hit rate = share with a hit; novelty as Zhou et al. 2010 (an item no training user had counts as 1).
 */
export function rankingMetrics(items: Int32Array, k: number, holdout: Csr, ctx: MetricsContext): RankingMetrics {
  if (items.length < holdout.rows * k) throw new KairosError('VALIDATION', `the table has ${items.length} slots for ${holdout.rows} users x k ${k}`);
  const relevant = new Int32Array(holdout.cols).fill(-1);
  const recommended = new Uint8Array(holdout.cols);
  let users = 0;
  let precision = 0;
  let recall = 0;
  let ndcg = 0;
  let hits = 0;
  let novelty = 0;
  let slots = 0;
  for (let u = 0; u < holdout.rows; u++) {
    const b = holdout.indptr[u] as number;
    const e = holdout.indptr[u + 1] as number;
    if (e === b) continue;
    users++;
    for (let p = b; p < e; p++) relevant[holdout.indices[p] as number] = u;
    let h = 0;
    let dcg = 0;
    for (let r = 0; r < k; r++) {
      const j = items[u * k + r] as number;
      if (j < 0) continue;
      recommended[j] = 1;
      slots++;
      novelty -= Math.log2(Math.max(1, ctx.itemUsers[j] ?? 0) / Math.max(1, ctx.trainUsers));
      if (relevant[j] === u) {
        h++;
        dcg += 1 / Math.log2(r + 2);
      }
    }
    let idcg = 0;
    for (let r = 0; r < Math.min(k, e - b); r++) idcg += 1 / Math.log2(r + 2);
    precision += h / k;
    recall += h / (e - b);
    ndcg += dcg / idcg;
    if (h > 0) hits++;
  }
  let distinct = 0;
  for (let j = 0; j < recommended.length; j++) distinct += recommended[j] as number;
  const n = Math.max(users, 1);
  return {
    k,
    users,
    precision: precision / n,
    recall: recall / n,
    ndcg: ndcg / n,
    hitRate: hits / n,
    coverage: distinct / Math.max(1, ctx.catalogue),
    novelty: slots > 0 ? novelty / slots : 0,
  };
}
