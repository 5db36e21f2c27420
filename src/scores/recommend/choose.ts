// Fitting and grading the recommenders on the store's interactions, and the choice among them on an inner holdout (the scorer and `kairos evaluate` share it).
import { availableParallelism } from 'node:os';
import type { RecommendSettings } from '../../config.js';
import { RECOMMENDERS, recommendAll, type Csr, type Exclusions, type FitResult, type InteractionMatrix, type RecommendationTable, type RecommenderName } from '../../ml/recommend/index.js';
import { rankingMetrics, type RankingMetrics } from '../../ml/recommend/metrics.js';
import type { Store } from '../../store/db.js';
import { daysBefore, readInteractions, readRelevant, type InteractionSource, type RecommendIndex } from './data.js';

/** k of the graded lists: NDCG@10 whatever the stored list length. */
export const GRADED_K = 10;

/** Below this many interactions one thread recommends (workers cost more than they save). */
const PARALLEL_MIN_NNZ = 200_000;

/** Fits one recommender with the settings' sizes (popularity per segment when the index has segments); threads only on large matrices. */
export async function fitRecommender(name: RecommenderName, m: InteractionMatrix, s: RecommendSettings, segments: Int32Array | null = null): Promise<FitResult> {
  if (name === 'als') return RECOMMENDERS.als.fit(m, { factors: s.als.factors, iterations: s.als.iterations, loss: false });
  if (name === 'item-knn') return RECOMMENDERS['item-knn'].fit(m, { minSupport: s.itemKnn.minSupport, shrinkage: s.itemKnn.shrinkage });
  if (name === 'popularity') return RECOMMENDERS.popularity.fit(m, { segments });
  return RECOMMENDERS['buy-again'].fit(m);
}

/** Every user's top k, on all threads for large matrices. */
export function recommendEveryone(fit: FitResult, m: InteractionMatrix, k: number, e: Exclusions): Promise<RecommendationTable> {
  return recommendAll(fit, m, k, e, { threads: m.nnz < PARALLEL_MIN_NNZ ? 1 : availableParallelism() });
}

/** The exclusions of the settings: what each customer bought (unless repurchasable) and what is not recommendable. */
export function exclusionsOf(index: RecommendIndex, bought: Csr): Exclusions {
  return { excludeBought: true, bought, repurchasable: index.repurchasable, recommendable: index.recommendable };
}

/** Buy-again's exclusions: the customer's own products are the list; only products that may not be recommended are left out. */
export function buyAgainExclusions(index: RecommendIndex): Exclusions {
  return { excludeBought: false, bought: null, repurchasable: null, recommendable: index.recommendable };
}

/** One recommender's figures on a holdout. */
export interface GradedRecommender {
  readonly name: RecommenderName;
  readonly metrics: RankingMetrics;
  readonly seconds: number;
}

/**
 * Fits each named recommender on `train` and grades its top GRADED_K against `relevant` (buy-again with its own
 * exclusions); item popularity for novelty is counted on `train`.
 */
export async function gradeRecommenders(
  names: readonly RecommenderName[],
  train: InteractionMatrix,
  bought: Csr,
  relevant: Csr,
  index: RecommendIndex,
  s: RecommendSettings,
): Promise<GradedRecommender[]> {
  const itemUsers = Array.from({ length: train.items }, (_, j) => (train.byItem.indptr[j + 1] as number) - (train.byItem.indptr[j] as number));
  const ctx = { itemUsers, trainUsers: Math.max(1, train.users), catalogue: Math.max(1, index.facts.recommendable) };
  const out: GradedRecommender[] = [];
  for (const name of names) {
    const t0 = performance.now();
    const fit = await fitRecommender(name, train, s, index.segments);
    const e = name === 'buy-again' ? buyAgainExclusions(index) : exclusionsOf(index, bought);
    const table = await recommendEveryone(fit, train, GRADED_K, e);
    out.push({ name, metrics: rankingMetrics(table.items, GRADED_K, relevant, ctx), seconds: (performance.now() - t0) / 1000 });
  }
  return out;
}

/** Fewer buyers in the inner holdout than this and the candidates are not compared: their NDCG@10 would differ by chance. */
export const MIN_CHOICE_BUYERS = 50;

/** The inner holdout's outcome: the recommender chosen, and every candidate's (and buy-again's) figures. */
export interface RecommenderChoice {
  readonly chosen: RecommenderName;
  /** Null when the candidates were not compared (one candidate, or fewer than MIN_CHOICE_BUYERS buyers): the first is used. */
  readonly graded: readonly GradedRecommender[] | null;
  /** Customers who bought in the inner holdout (what their exclusions allow). */
  readonly buyers: number;
  /** 'YYYY-MM-DD HH:MM:SS': the inner cut. */
  readonly innerCut: string;
}

/**
 * Chooses the recommender: each candidate fitted on the interactions before `cut` minus holdoutDays, graded on NDCG@10
 * for the customers who bought in the last holdoutDays before `cut` (what their exclusions allow), the best kept (the
 * earlier candidate on a tie). Buy-again is graded beside them, as a figure, never chosen. With fewer than
 * MIN_CHOICE_BUYERS buyers the first candidate is used, not compared.
 */
export async function chooseRecommender(store: Store, src: InteractionSource, index: RecommendIndex, s: RecommendSettings): Promise<RecommenderChoice> {
  const innerCut = daysBefore(src.cut, s.holdoutDays);
  const first = s.candidates[0] ?? 'item-knn';
  if (s.candidates.length === 1) return { chosen: first, graded: null, buyers: 0, innerCut };
  const inner = await readInteractions(store, src, index, innerCut, s);
  const relevant = await readRelevant(store, src.orders, index, innerCut, src.cut, inner.bought);
  let buyers = 0;
  for (let u = 0; u < relevant.rows; u++) if ((relevant.indptr[u + 1] as number) > (relevant.indptr[u] as number)) buyers++;
  if (inner.matrix.nnz === 0 || buyers < MIN_CHOICE_BUYERS) return { chosen: first, graded: null, buyers, innerCut };
  const graded = await gradeRecommenders([...s.candidates, 'buy-again'], inner.matrix, inner.bought, relevant, index, s);
  let best = graded[0] as GradedRecommender;
  for (const g of graded) if (g.name !== 'buy-again' && g.metrics.ndcg > best.metrics.ndcg + 1e-12) best = g;
  return { chosen: best.name, graded, buyers, innerCut };
}
