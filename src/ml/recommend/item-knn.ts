// Item-item neighbourhood recommender: cosine or BM25-weighted co-occurrence, top-N neighbours per item, scores with "because you bought X".
//
// sim(i, j) = sum_u w_ui w_uj over the users of both, with w = r / ||r_i|| (cosine) or the BM25 weight of r (Robertson
// et al.; as the `implicit` library's bm25_weight, items as documents and users as terms). A user's score for j is
// sum over the user's items i of r_ui sim(i, j) (Sarwar et al. 2001; Deshpande & Karypis 2004), and the reason is
// the i of largest term. Neighbours are found per item with a sparse accumulator over its users' rows, on all threads.
import { availableParallelism } from 'node:os';
import { KairosError } from '../../errors.js';
import { sharedFloat32, sharedInt32, type InteractionMatrix } from './interactions.js';
import { baseInit, chunkBounds, openPool } from './threads.js';

/** Hyper-parameters of item-knn. */
export interface ItemKnnOptions {
  readonly similarity: 'cosine' | 'bm25';
  /** Neighbours kept per item (the N of top-N). */
  readonly neighbours: number;
  /** BM25 term-frequency saturation K1 and length normalisation B (the usual text-retrieval defaults). */
  readonly k1: number;
  readonly b: number;
  /**
   * Users in common a neighbour needs (the support floor), and the shrinkage lambda of sim n / (n + lambda) for n users
   * in common. On sparse data (a grocery sample: most products bought by one or two customers) a single shared basket
   * otherwise makes two rare products each other's best neighbours.
   */
  readonly minSupport: number;
  readonly shrinkage: number;
  /** Threads (this one and workers). */
  readonly threads: number;
  /** Below this many non-zeros, one thread: workers would cost more than they save. */
  readonly parallelMinNnz: number;
}

export const ITEM_KNN_DEFAULTS: Readonly<ItemKnnOptions> = {
  similarity: 'bm25',
  neighbours: 100,
  k1: 1.2,
  b: 0.75,
  minSupport: 1,
  shrinkage: 0,
  threads: availableParallelism(),
  parallelMinNnz: 200_000,
};

/** Learned: item i's neighbours at [i N, i N + count[i]), most similar first. */
export interface ItemKnnParams {
  readonly items: number;
  readonly neighbours: number;
  readonly index: Int32Array;
  readonly similarity: Float32Array;
  readonly count: Int32Array;
}

export interface ItemKnnDiagnostics {
  readonly seconds: number;
  readonly threads: number;
  /** Neighbour pairs kept. */
  readonly pairs: number;
}

function checkOptions(o: ItemKnnOptions): void {
  const bad = (name: string, want: string): never => {
    throw new KairosError('VALIDATION', `item-knn option ${name} must be ${want} (got ${String(o[name as keyof ItemKnnOptions])})`);
  };
  if (o.similarity !== 'cosine' && o.similarity !== 'bm25') bad('similarity', '"cosine" or "bm25"');
  if (!(Number.isInteger(o.neighbours) && o.neighbours >= 1)) bad('neighbours', 'an integer >= 1');
  if (!(o.k1 >= 0)) bad('k1', '>= 0');
  if (!(o.b >= 0 && o.b <= 1)) bad('b', 'in [0, 1]');
  if (!(Number.isInteger(o.minSupport) && o.minSupport >= 1)) bad('minSupport', 'an integer >= 1');
  if (!(o.shrinkage >= 0 && Number.isFinite(o.shrinkage))) bad('shrinkage', 'a finite number >= 0');
  if (!(Number.isInteger(o.threads) && o.threads >= 1)) bad('threads', 'an integer >= 1');
}

/**
 * Per non-zero weights in CSR and CSC order. Cosine: r_ui / ||r_i||. BM25: r (K1 + 1) / (K1 L_i + r) idf_u with
 * L_i = (1 - B) + B |r_i|_1 / mean |r|_1 and idf_u = max(0, log(I) - log(1 + n_u)), n_u the user's item count
 * (implicit's bm25_weight; the clamp keeps similarities non-negative).
 */
export function knnWeights(m: InteractionMatrix, o: Pick<ItemKnnOptions, 'similarity' | 'k1' | 'b'>): { wU: Float32Array; wI: Float32Array } {
  const { byUser, byItem } = m;
  const itemFactor = new Float64Array(m.items);
  const userFactor = new Float64Array(m.users).fill(1);
  const lengthNorm = new Float64Array(m.items);
  if (o.similarity === 'cosine') {
    for (let i = 0; i < m.items; i++) {
      let ss = 0;
      for (let p = byItem.indptr[i] as number, e = byItem.indptr[i + 1] as number; p < e; p++) ss += (byItem.data[p] as number) ** 2;
      itemFactor[i] = ss > 0 ? 1 / Math.sqrt(ss) : 0;
    }
  } else {
    let total = 0;
    for (let i = 0; i < m.items; i++) {
      let s = 0;
      for (let p = byItem.indptr[i] as number, e = byItem.indptr[i + 1] as number; p < e; p++) s += byItem.data[p] as number;
      lengthNorm[i] = s;
      total += s;
    }
    const mean = m.items > 0 ? total / m.items : 1;
    for (let i = 0; i < m.items; i++) lengthNorm[i] = 1 - o.b + (o.b * (lengthNorm[i] as number)) / (mean > 0 ? mean : 1);
    const logI = Math.log(m.items);
    for (let u = 0; u < m.users; u++) userFactor[u] = Math.max(0, logI - Math.log1p((byUser.indptr[u + 1] as number) - (byUser.indptr[u] as number)));
  }
  const weight = (r: number, u: number, i: number): number =>
    o.similarity === 'cosine' ? r * (itemFactor[i] as number) : ((r * (o.k1 + 1)) / (o.k1 * (lengthNorm[i] as number) + r)) * (userFactor[u] as number);
  const wU = sharedFloat32(m.nnz);
  for (let u = 0; u < m.users; u++) {
    for (let p = byUser.indptr[u] as number, e = byUser.indptr[u + 1] as number; p < e; p++) wU[p] = weight(byUser.data[p] as number, u, byUser.indices[p] as number);
  }
  const wI = sharedFloat32(m.nnz);
  for (let i = 0; i < m.items; i++) {
    for (let p = byItem.indptr[i] as number, e = byItem.indptr[i + 1] as number; p < e; p++) wI[p] = weight(byItem.data[p] as number, byItem.indices[p] as number, i);
  }
  return { wU, wI };
}

/**
 * The top-N neighbours of every item by cosine or BM25 co-occurrence. Work is O(sum_u n_u^2) with a sparse
 * accumulator per item (no items x items array), split over threads by item chunks of equal work.
 */
export async function fitItemKnn(m: InteractionMatrix, options: Partial<ItemKnnOptions> = {}): Promise<{ params: ItemKnnParams; diagnostics: ItemKnnDiagnostics }> {
  const o: ItemKnnOptions = { ...ITEM_KNN_DEFAULTS, ...options };
  checkOptions(o);
  const t0 = performance.now();
  const N = o.neighbours;
  const threads = m.nnz < o.parallelMinNnz ? 1 : Math.max(1, Math.min(o.threads, m.items));
  const { wU, wI } = knnWeights(m, o);
  const index = sharedInt32(m.items * N);
  const similarity = sharedFloat32(m.items * N);
  const count = sharedInt32(m.items);
  // Work of item i: the non-zeros of its users' rows.
  const work = new Float64Array(m.items + 1);
  for (let i = 0; i < m.items; i++) {
    let w = 1;
    for (let p = m.byItem.indptr[i] as number, e = m.byItem.indptr[i + 1] as number; p < e; p++) {
      const u = m.byItem.indices[p] as number;
      w += (m.byUser.indptr[u + 1] as number) - (m.byUser.indptr[u] as number);
    }
    work[i + 1] = (work[i] as number) + w;
  }
  const pool = openPool({ ...baseInit(m), wU, wI, neighbours: N, nbrIdx: index, nbrSim: similarity, nbrCount: count, knnMinSupport: o.minSupport, knnShrink: o.shrinkage }, threads);
  try {
    await pool.run({ op: 'knn', bounds: chunkBounds(m.items, threads * 64, (r) => work[r] as number), side: 0, loss: false });
  } finally {
    await pool.close();
  }
  let pairs = 0;
  for (let i = 0; i < m.items; i++) pairs += count[i] as number;
  return { params: { items: m.items, neighbours: N, index, similarity, count }, diagnostics: { seconds: (performance.now() - t0) / 1000, threads, pairs } };
}
