// The recommenders of implicit feedback behind one interface (item-knn, ALS, popularity, buy-again), named in one registry.
//
// Every recommender: fit(matrix, options) -> FitResult, then recommend(fit, matrix, user, k, exclusions) for one user
// or recommendAll(...) for every user, on all threads. A user with no candidate left (no history, or everything
// excluded) gets the overall popularity order: those items carry score 0 and reason -1, after the scored ones.
import { availableParallelism } from 'node:os';
import { KairosError } from '../../errors.js';
import { fitAls, ALS_DEFAULTS, type AlsDiagnostics, type AlsOptions, type AlsParams } from './als.js';
import { asShared, sharedFloat32, sharedInt32, type InteractionMatrix } from './interactions.js';
import { fitItemKnn, ITEM_KNN_DEFAULTS, type ItemKnnDiagnostics, type ItemKnnOptions, type ItemKnnParams } from './item-knn.js';
import { kernelScratch, kernelStep, recommendUser, type KernelInit, type KernelState, type ScorerCode } from './kernels.js';
import { fitPopularity, POPULARITY_DEFAULTS, type PopularityOptions, type PopularityParams } from './popularity.js';
import { baseInit, chunkBounds, openPool } from './threads.js';
import { checkExclusions, DEFAULT_EXCLUSIONS, type Exclusions } from './topk.js';

export type RecommenderName = 'item-knn' | 'als' | 'popularity' | 'buy-again';

/** A fitted recommender: its learned parameters, the popularity fallback, and what the fit says about itself. */
export interface FitResult<P = unknown, D = unknown> {
  readonly model: RecommenderName;
  readonly users: number;
  readonly items: number;
  readonly params: P;
  /** Overall popularity: the order used for users without candidates. */
  readonly fallback: PopularityParams;
  readonly diagnostics: D;
}

/** One user's recommendations, best first: items, scores (non-increasing) and, for item-knn, the user's item behind each (-1: none). */
export interface Recommendations {
  readonly items: Int32Array;
  readonly scores: Float32Array;
  readonly because: Int32Array | null;
}

/** Every user's recommendations: user u's at [u k, u k + k), padded with item -1 when fewer were left. */
export interface RecommendationTable {
  readonly users: number;
  readonly k: number;
  readonly items: Int32Array;
  readonly scores: Float32Array;
  readonly because: Int32Array | null;
  readonly seconds: number;
  readonly threads: number;
}

export interface RecommendAllOptions {
  readonly threads: number;
  /** Only the first `users` users (a sample, for timing); default all. */
  readonly users: number;
}

/** One recommender: defaults, fit, and the scorer its fits are recommended with. */
export interface Recommender<O = unknown, P = unknown, D = unknown> {
  readonly name: RecommenderName;
  readonly defaults: Readonly<O>;
  fit(m: InteractionMatrix, options?: Partial<O>): Promise<FitResult<P, D>>;
}

const NO_DIAGNOSTICS = {} as const;

export const itemKnn: Recommender<ItemKnnOptions, ItemKnnParams, ItemKnnDiagnostics> = {
  name: 'item-knn',
  defaults: ITEM_KNN_DEFAULTS,
  async fit(m, options = {}) {
    const { params, diagnostics } = await fitItemKnn(m, options);
    return { model: 'item-knn', users: m.users, items: m.items, params, fallback: fitPopularity(m), diagnostics };
  },
};

export const als: Recommender<AlsOptions, AlsParams, AlsDiagnostics> = {
  name: 'als',
  defaults: ALS_DEFAULTS,
  async fit(m, options = {}) {
    const { params, diagnostics } = await fitAls(m, options);
    return { model: 'als', users: m.users, items: m.items, params, fallback: fitPopularity(m), diagnostics };
  },
};

export const popularity: Recommender<PopularityOptions, PopularityParams, typeof NO_DIAGNOSTICS> = {
  name: 'popularity',
  defaults: POPULARITY_DEFAULTS,
  async fit(m, options = {}) {
    return { model: 'popularity', users: m.users, items: m.items, params: fitPopularity(m, options), fallback: fitPopularity(m), diagnostics: NO_DIAGNOSTICS };
  },
};

/** Buy-again: the user's own items by summed weight (a baseline; recommend it with excludeBought false, or repurchasable items). */
export const buyAgain: Recommender<Record<string, never>, null, typeof NO_DIAGNOSTICS> = {
  name: 'buy-again',
  defaults: {},
  async fit(m) {
    return { model: 'buy-again', users: m.users, items: m.items, params: null, fallback: fitPopularity(m), diagnostics: NO_DIAGNOSTICS };
  },
};

/** The registry: every recommender, by name. */
export const RECOMMENDERS = { 'item-knn': itemKnn, als, popularity, 'buy-again': buyAgain } as const satisfies Record<RecommenderName, { readonly name: RecommenderName }>;

export const RECOMMENDER_NAMES = Object.keys(RECOMMENDERS) as RecommenderName[];

/** The recommender called `name`; throws USAGE naming the valid ones otherwise. */
export function recommenderByName(name: string): (typeof RECOMMENDERS)[RecommenderName] {
  if (!Object.hasOwn(RECOMMENDERS, name)) {
    throw new KairosError('USAGE', `invalid recommender "${name}" (expected one of ${RECOMMENDER_NAMES.join(', ')})`);
  }
  return RECOMMENDERS[name as RecommenderName];
}

const SCORERS: Record<RecommenderName, ScorerCode> = { popularity: 0, 'buy-again': 1, 'item-knn': 2, als: 3 };

/** The kernels' view of a fit, its history matrix and exclusions (shared copies when `shared`). */
function scoringInit(fit: FitResult, m: InteractionMatrix, k: number, e: Exclusions, shared: boolean): KernelInit {
  if (m.items !== fit.items) throw new KairosError('VALIDATION', `the matrix has ${m.items} items; the ${fit.model} fit has ${fit.items}`);
  if (fit.model === 'als' && m.users !== fit.users) throw new KairosError('VALIDATION', `the matrix has ${m.users} users; the ALS fit has factors for ${fit.users}`);
  checkExclusions(e, m.users, m.items);
  const sh = <T extends Int32Array | Float32Array | Float64Array | Uint8Array>(a: T): T => (shared ? asShared(a) : a);
  const bought = e.bought ?? m.byUser;
  const pop = fit.model === 'popularity' ? (fit.params as PopularityParams) : fit.fallback;
  const base = baseInit(m);
  const init: KernelInit = {
    ...base,
    uPtr: sh(base.uPtr),
    uIdx: sh(base.uIdx),
    uVal: sh(base.uVal),
    scorer: SCORERS[fit.model],
    k,
    popOrder: sh(pop.order),
    popScore: sh(pop.score),
    popSegment: pop.userRow === null ? null : sh(pop.userRow),
    fallbackOrder: sh(fit.fallback.order.subarray(0, fit.items)),
    excludeBought: e.excludeBought ? 1 : 0,
    bPtr: sh(bought.indptr),
    bIdx: sh(bought.indices),
    repurchasable: e.repurchasable === null ? null : sh(e.repurchasable),
    recommendable: e.recommendable === null ? null : sh(e.recommendable),
  };
  if (fit.model === 'item-knn') {
    const p = fit.params as ItemKnnParams;
    return { ...init, neighbours: p.neighbours, nbrIdx: sh(p.index), nbrSim: sh(p.similarity), nbrCount: sh(p.count) };
  }
  if (fit.model === 'als') {
    const p = fit.params as AlsParams;
    return { ...init, factors: p.factors, X: sh(p.X), Y: sh(p.Y), yByNorm: sh(p.byNorm.Y), normOrder: sh(p.byNorm.order), normOf: sh(p.byNorm.norm) };
  }
  return init;
}

/** Scratch arrays per fit for one-user calls, kept while the fit lives. */
const scratchOf = new WeakMap<FitResult, { k: number; scratch: ReturnType<typeof kernelScratch> }>();

function checkK(k: number): void {
  if (!(Number.isInteger(k) && k >= 0)) throw new KairosError('VALIDATION', `k must be an integer >= 0 (got ${k})`);
}

/**
 * The k best items for `user` (a row of `m`, the history the fit was trained on or a later one with the same items),
 * never an excluded one. Synchronous; for ALS a pass of dot products over all items (O(items f)).
 */
export function recommend(fit: FitResult, m: InteractionMatrix, user: number, k: number, exclusions: Exclusions = DEFAULT_EXCLUSIONS): Recommendations {
  checkK(k);
  if (!(Number.isInteger(user) && user >= 0 && user < m.users)) throw new KairosError('NOT_FOUND', `user index ${user} is outside 0..${m.users - 1}`);
  const init = scoringInit(fit, m, k, exclusions, false);
  let cached = scratchOf.get(fit);
  if (cached === undefined || cached.k < k) {
    cached = { k, scratch: kernelScratch(fit.items, init.factors, Math.max(k, init.neighbours)) };
    scratchOf.set(fit, cached);
  }
  const s: KernelState = { ...init, ...cached.scratch };
  const items = new Int32Array(k);
  const scores = new Float32Array(k);
  const because = fit.model === 'item-knn' ? new Int32Array(k) : null;
  const n = recommendUser(s, user, k, items, scores, because, 0);
  return { items: items.slice(0, n), scores: scores.slice(0, n), because: because === null ? null : because.slice(0, n) };
}

/** The k best items for every user of `m`, on all threads (chunks of users taken as threads come free). */
export async function recommendAll(
  fit: FitResult,
  m: InteractionMatrix,
  k: number,
  exclusions: Exclusions = DEFAULT_EXCLUSIONS,
  options: Partial<RecommendAllOptions> = {},
): Promise<RecommendationTable> {
  checkK(k);
  const t0 = performance.now();
  const users = Math.max(0, Math.min(options.users ?? m.users, m.users));
  const threads = Math.max(1, Math.min(options.threads ?? availableParallelism(), users));
  const shared = threads > 1;
  const items = sharedInt32(users * k);
  const scores = sharedFloat32(users * k);
  const because = fit.model === 'item-knn' ? sharedInt32(users * k) : null;
  const init: KernelInit = { ...scoringInit(fit, m, k, exclusions, shared), outItems: items, outScores: scores, outBecause: because };
  const f = Math.max(1, init.factors);
  const perUser = fit.model === 'als' ? m.items * f : fit.model === 'item-knn' ? 10 : 1;
  const perNnz = fit.model === 'item-knn' ? init.neighbours : 1;
  const bounds = chunkBounds(users, threads * 64, (u) => u * perUser + perNnz * (m.byUser.indptr[u] as number));
  if (threads === 1) {
    const s: KernelState = { ...init, ...kernelScratch(m.items, init.factors, Math.max(k, init.neighbours)) };
    Atomics.store(init.counter, 0, 0);
    kernelStep(s, { op: 'recommend', bounds, side: 0, loss: false });
  } else {
    const pool = openPool(init, threads);
    try {
      await pool.run({ op: 'recommend', bounds, side: 0, loss: false });
    } finally {
      await pool.close();
    }
  }
  return { users, k, items, scores, because, seconds: (performance.now() - t0) / 1000, threads };
}

export type { AlsOptions, AlsParams, AlsDiagnostics } from './als.js';
export type { ItemKnnOptions, ItemKnnParams, ItemKnnDiagnostics } from './item-knn.js';
export type { PopularityOptions, PopularityParams } from './popularity.js';
export type { Exclusions } from './topk.js';
export { DEFAULT_EXCLUSIONS } from './topk.js';
export { buildInteractions, type InteractionMatrix, type Csr, type Triplets } from './interactions.js';
