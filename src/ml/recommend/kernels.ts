// Row kernels of the recommenders (top-k heap, item-item co-occurrence, ALS conjugate-gradient rows, per-user scoring), run on chunks of rows.
// They are self-contained on purpose: worker threads run this same source, taken with Function.prototype.toString
// (threads.ts), so a kernel may call only the other functions of this file and globals such as Math and Atomics:
// no import, no module constant, no type that does not erase. Chunks are handed out through a shared counter, and
// every row's result depends on that row alone, so results are the same for any number of threads.

/** Scorers as the kernels know them: 0 popularity, 1 buy-again, 2 item-knn, 3 ALS. */
export type ScorerCode = 0 | 1 | 2 | 3;

/** What every thread is given once: shared arrays (SharedArrayBuffers when threads > 1). Unused parts are null. */
export interface KernelInit {
  readonly users: number;
  readonly items: number;
  /** Next chunk to take (Atomics.add on [0]). */
  readonly counter: Int32Array;
  /** Interactions by user (CSR) and by item (CSC). */
  readonly uPtr: Int32Array;
  readonly uIdx: Int32Array;
  readonly uVal: Float32Array;
  readonly iPtr: Int32Array;
  readonly iIdx: Int32Array;
  readonly iVal: Float32Array;
  /** Item-knn fit: weighted values in CSR and in CSC order (cosine: r / ||r_i||; BM25: bm25 weights). */
  readonly wU: Float32Array | null;
  readonly wI: Float32Array | null;
  /** Neighbours kept per item, and the neighbour table: item i's neighbours at [i K, i K + count[i]), best first. */
  readonly neighbours: number;
  readonly nbrIdx: Int32Array | null;
  readonly nbrSim: Float32Array | null;
  readonly nbrCount: Int32Array | null;
  /** Item-knn fit: neighbours need this many users in common; similarities are shrunk by n / (n + knnShrink) for n users in common. */
  readonly knnMinSupport: number;
  readonly knnShrink: number;
  /** ALS: factors f, user factors X (users x f) and item factors Y (items x f), row-major float32. */
  readonly factors: number;
  readonly X: Float32Array | null;
  readonly Y: Float32Array | null;
  /** ALS recommending: Y's rows by decreasing norm, the item at each position, and each position's norm. */
  readonly yByNorm: Float32Array | null;
  readonly normOrder: Int32Array | null;
  readonly normOf: Float64Array | null;
  /** Gram matrix of the fixed side plus lambda I (f x f), written by the main thread before each half-step. */
  readonly gram: Float64Array | null;
  /** One f x f slot per block of rows (partial Gram matrices), and one loss term per chunk. */
  readonly gramParts: Float64Array | null;
  readonly lossParts: Float64Array | null;
  readonly alpha: number;
  readonly cgSteps: number;
  /** Recommending: which scorer, k, and where each user's k items, scores and reasons go (user u at u k). */
  readonly scorer: ScorerCode;
  readonly k: number;
  readonly outItems: Int32Array | null;
  readonly outScores: Float32Array | null;
  readonly outBecause: Int32Array | null;
  /** Popularity: items best first per segment (segments x items), each item's score per segment, each user's segment (-1: global, segment 0). */
  readonly popOrder: Int32Array | null;
  readonly popScore: Float32Array | null;
  readonly popSegment: Int32Array | null;
  /** Global popularity order, the fallback for users with too few candidates. */
  readonly fallbackOrder: Int32Array | null;
  /** Exclusions: 1 to leave out each user's bought items (rows of bPtr/bIdx) unless repurchasable; items with recommendable 0 never. */
  readonly excludeBought: number;
  readonly bPtr: Int32Array | null;
  readonly bIdx: Int32Array | null;
  readonly repurchasable: Uint8Array | null;
  readonly recommendable: Uint8Array | null;
}

/** A thread's working state: the init and scratch arrays of its own. */
export interface KernelState extends KernelInit {
  readonly acc: Float64Array;
  readonly best: Float64Array;
  readonly because: Int32Array;
  readonly stamp: Int32Array;
  readonly seen: Int32Array;
  readonly picked: Int32Array;
  readonly touched: Int32Array;
  readonly heapS: Float64Array;
  readonly heapI: Int32Array;
  readonly x: Float64Array;
  readonly r: Float64Array;
  readonly p: Float64Array;
  readonly ap: Float64Array;
  /** Counters for the stamp arrays (a fresh value per row avoids clearing them). */
  readonly stamps: Int32Array;
}

/** Work for the threads: chunk c is rows [bounds[c], bounds[c + 1]). side 0 solves users, side 1 items. */
export interface KernelMessage {
  readonly op: 'knn' | 'gram' | 'als' | 'recommend';
  readonly bounds: Int32Array;
  readonly side: number;
  readonly loss: boolean;
}

/** Scratch arrays of a thread (sized for `items` items, f factors, heaps of h). */
export function kernelScratch(items: number, f: number, h: number): Omit<KernelState, keyof KernelInit> {
  return {
    acc: new Float64Array(items),
    best: new Float64Array(items),
    because: new Int32Array(items),
    stamp: new Int32Array(items),
    seen: new Int32Array(items),
    picked: new Int32Array(items),
    touched: new Int32Array(items),
    heapS: new Float64Array(Math.max(h, 1)),
    heapI: new Int32Array(Math.max(h, 1)),
    x: new Float64Array(Math.max(f, 1)),
    r: new Float64Array(Math.max(f, 4)),
    p: new Float64Array(Math.max(f, 1)),
    ap: new Float64Array(Math.max(f, 1)),
    stamps: new Int32Array(4),
  };
}

/** A thread's state for `init`. */
export function kernelState(init: KernelInit): KernelState {
  return { ...init, ...kernelScratch(init.items, init.factors, Math.max(init.k, init.neighbours)) };
}

/**
 * Offers (score, item) to a bounded min-heap of the best `k` seen so far (root: the worst kept). Higher scores are
 * better; equal scores, the lower item index. NaN is never kept. Returns the new size.
 */
export function heapOffer(hs: Float64Array, hi: Int32Array, size: number, k: number, score: number, item: number): number {
  if (score !== score || k <= 0) return size;
  if (size < k) {
    let c = size;
    while (c > 0) {
      const q = (c - 1) >> 1;
      const qs = hs[q] as number;
      const qi = hi[q] as number;
      // Stop when the parent is worse than the newcomer.
      if (!(score < qs || (score === qs && item > qi))) break;
      hs[c] = qs;
      hi[c] = qi;
      c = q;
    }
    hs[c] = score;
    hi[c] = item;
    return size + 1;
  }
  const rs = hs[0] as number;
  const ri = hi[0] as number;
  if (!(rs < score || (rs === score && ri > item))) return size;
  heapSiftDown(hs, hi, size, score, item);
  return size;
}

/** Puts (score, item) at the root of a heap of `size` and sifts it down to its place. */
export function heapSiftDown(hs: Float64Array, hi: Int32Array, size: number, score: number, item: number): void {
  let c = 0;
  for (;;) {
    const l = 2 * c + 1;
    if (l >= size) break;
    let m = l;
    const r = l + 1;
    if (r < size) {
      const ls = hs[l] as number;
      const rsc = hs[r] as number;
      if (rsc < ls || (rsc === ls && (hi[r] as number) > (hi[l] as number))) m = r;
    }
    const ms = hs[m] as number;
    const mi = hi[m] as number;
    // Stop when the worse child is no worse than the item placed.
    if (!(ms < score || (ms === score && mi > item))) break;
    hs[c] = ms;
    hi[c] = mi;
    c = m;
  }
  hs[c] = score;
  hi[c] = item;
}

/** Empties the heap into out[off..off+size), best first; returns size. */
export function heapDrain(hs: Float64Array, hi: Int32Array, size: number, outI: Int32Array, outS: Float32Array | Float64Array, off: number): number {
  for (let n = size; n > 0; n--) {
    outI[off + n - 1] = hi[0] as number;
    outS[off + n - 1] = hs[0] as number;
    if (n > 1) heapSiftDown(hs, hi, n - 1, hs[n - 1] as number, hi[n - 1] as number);
  }
  return size;
}

/**
 * Item i's neighbours: the `neighbours` items j != i of highest sum_u w_ui w_uj (a sparse accumulator over the users of
 * i), among the j bought by at least knnMinSupport of i's users, the sum shrunk by n / (n + knnShrink) for n users in
 * common (Koren 2008's shrinkage of neighbourhood similarities: a pair seen once says little).
 */
export function knnItem(s: KernelState, i: number): void {
  const iPtr = s.iPtr;
  const iIdx = s.iIdx;
  const uPtr = s.uPtr;
  const uIdx = s.uIdx;
  const wU = s.wU as Float32Array;
  const wI = s.wI as Float32Array;
  const acc = s.acc;
  const stamp = s.stamp;
  const touched = s.touched;
  // Users in common with i, per candidate j (the scratch array `best` serves recommendUser only).
  const support = s.best;
  const st = (s.stamps[0] = (s.stamps[0] as number) + 1);
  let nt = 0;
  for (let p = iPtr[i] as number, pe = iPtr[i + 1] as number; p < pe; p++) {
    const u = iIdx[p] as number;
    const wi = wI[p] as number;
    for (let q = uPtr[u] as number, qe = uPtr[u + 1] as number; q < qe; q++) {
      const j = uIdx[q] as number;
      if (stamp[j] !== st) {
        stamp[j] = st;
        acc[j] = 0;
        support[j] = 0;
        touched[nt++] = j;
      }
      acc[j] = (acc[j] as number) + wi * (wU[q] as number);
      support[j] = (support[j] as number) + 1;
    }
  }
  const K = s.neighbours;
  const minSupport = s.knnMinSupport;
  const shrink = s.knnShrink;
  let size = 0;
  for (let t = 0; t < nt; t++) {
    const j = touched[t] as number;
    const n = support[j] as number;
    if (j === i || n < minSupport) continue;
    const v = shrink > 0 ? ((acc[j] as number) * n) / (n + shrink) : (acc[j] as number);
    if (v > 0) size = heapOffer(s.heapS, s.heapI, size, K, v, j);
  }
  (s.nbrCount as Int32Array)[i] = size;
  heapDrain(s.heapS, s.heapI, size, s.nbrIdx as Int32Array, s.nbrSim as Float32Array, i * K);
}

/** Partial Gram matrix F^T F (upper triangle) of rows [b, e) of F (X for side 1, Y for side 0) into slot `slot`. */
export function gramBlock(s: KernelState, side: number, b: number, e: number, slot: number): void {
  const F = (side === 0 ? s.Y : s.X) as Float32Array;
  const f = s.factors;
  const g = s.gramParts as Float64Array;
  const o = slot * f * f;
  for (let t = 0; t < f * f; t++) g[o + t] = 0;
  for (let r = b; r < e; r++) {
    const ro = r * f;
    for (let a = 0; a < f; a++) {
      const va = F[ro + a] as number;
      if (va === 0) continue;
      const go = o + a * f;
      for (let c = a; c < f; c++) g[go + c] = (g[go + c] as number) + va * (F[ro + c] as number);
    }
  }
}

/** out = G v for a symmetric f x f matrix G (row-major), four rows at a time (one load of v[t] for four products). */
export function symv(G: Float64Array, v: Float64Array, out: Float64Array, f: number): void {
  let i = 0;
  for (; i + 4 <= f; i += 4) {
    const g0 = i * f;
    const g1 = g0 + f;
    const g2 = g1 + f;
    const g3 = g2 + f;
    let a0 = 0;
    let a1 = 0;
    let a2 = 0;
    let a3 = 0;
    for (let t = 0; t < f; t++) {
      const vt = v[t] as number;
      a0 += (G[g0 + t] as number) * vt;
      a1 += (G[g1 + t] as number) * vt;
      a2 += (G[g2 + t] as number) * vt;
      a3 += (G[g3 + t] as number) * vt;
    }
    out[i] = a0;
    out[i + 1] = a1;
    out[i + 2] = a2;
    out[i + 3] = a3;
  }
  for (; i < f; i++) {
    let a = 0;
    for (let t = 0; t < f; t++) a += (G[i * f + t] as number) * (v[t] as number);
    out[i] = a;
  }
}

/**
 * Implicit ALS rows [b, e) of one side: each row a solves (B^T C B + lambda I) a = B^T C p by `cgSteps` steps of
 * conjugate gradient warm-started at the current a, with B^T C B = G + B^T (C - I) B, G = B^T B + lambda I, so a
 * step costs O(f^2 + n_a f) (Hu, Koren & Volinsky 2008 eq. 4; Takacs, Pilaszy & Tikk 2011, Algorithm 2). c = 1 +
 * alpha r, p = 1 on the row's non-zeros. With `loss`, returns this chunk's part of the objective (eq. 3) less lambda
 * ||B||^2: sum over rows of a^T G a + sum over non-zeros of c (1 - s)^2 - s^2, s = a.b.
 */
export function alsRows(s: KernelState, side: number, b: number, e: number, loss: boolean): number {
  const ptr = side === 0 ? s.uPtr : s.iPtr;
  const idx = side === 0 ? s.uIdx : s.iIdx;
  const val = side === 0 ? s.uVal : s.iVal;
  const A = (side === 0 ? s.X : s.Y) as Float32Array;
  const B = (side === 0 ? s.Y : s.X) as Float32Array;
  const G = s.gram as Float64Array;
  const f = s.factors;
  const alpha = s.alpha;
  const steps = s.cgSteps;
  const x = s.x;
  const r = s.r;
  const p = s.p;
  const ap = s.ap;
  let total = 0;
  for (let row = b; row < e; row++) {
    const ao = row * f;
    const pb = ptr[row] as number;
    const pe = ptr[row + 1] as number;
    for (let t = 0; t < f; t++) x[t] = A[ao + t] as number;
    // r = B^T C p - (G + B^T (C - I) B) x
    symv(G, x, r, f);
    for (let t = 0; t < f; t++) r[t] = -(r[t] as number);
    for (let q = pb; q < pe; q++) {
      const bo = (idx[q] as number) * f;
      const c = 1 + alpha * (val[q] as number);
      let bx = 0;
      for (let t = 0; t < f; t++) bx += (B[bo + t] as number) * (x[t] as number);
      const coef = c - (c - 1) * bx;
      for (let t = 0; t < f; t++) r[t] = (r[t] as number) + coef * (B[bo + t] as number);
    }
    let rs = 0;
    for (let t = 0; t < f; t++) {
      const rt = r[t] as number;
      p[t] = rt;
      rs += rt * rt;
    }
    if (rs >= 1e-20) {
      for (let step = 0; step < steps; step++) {
        // ap = (G + B^T (C - I) B) p
        symv(G, p, ap, f);
        for (let q = pb; q < pe; q++) {
          const bo = (idx[q] as number) * f;
          const c1 = alpha * (val[q] as number);
          let bp = 0;
          for (let t = 0; t < f; t++) bp += (B[bo + t] as number) * (p[t] as number);
          const coef = c1 * bp;
          for (let t = 0; t < f; t++) ap[t] = (ap[t] as number) + coef * (B[bo + t] as number);
        }
        let pap = 0;
        for (let t = 0; t < f; t++) pap += (p[t] as number) * (ap[t] as number);
        if (!(pap > 0)) break;
        const step_ = rs / pap;
        let rsNew = 0;
        for (let t = 0; t < f; t++) {
          x[t] = (x[t] as number) + step_ * (p[t] as number);
          const rt = (r[t] as number) - step_ * (ap[t] as number);
          r[t] = rt;
          rsNew += rt * rt;
        }
        if (rsNew < 1e-20) break;
        const beta = rsNew / rs;
        for (let t = 0; t < f; t++) p[t] = (r[t] as number) + beta * (p[t] as number);
        rs = rsNew;
      }
      for (let t = 0; t < f; t++) A[ao + t] = x[t] as number;
    }
    if (loss) {
      // Loss at the stored (float32) factors.
      for (let t = 0; t < f; t++) x[t] = A[ao + t] as number;
      symv(G, x, ap, f);
      let quad = 0;
      for (let t = 0; t < f; t++) quad += (ap[t] as number) * (x[t] as number);
      total += quad;
      for (let q = pb; q < pe; q++) {
        const bo = (idx[q] as number) * f;
        const c = 1 + alpha * (val[q] as number);
        let sc = 0;
        for (let t = 0; t < f; t++) sc += (B[bo + t] as number) * (x[t] as number);
        total += c * (1 - sc) * (1 - sc) - sc * sc;
      }
    }
  }
  return total;
}

/**
 * Scores user u, keeps the best k items that are not excluded, pads from the fallback order (score 0, reason -1) when
 * fewer than k candidates remain, and writes them best first at outI/outS/outB[off..]. Returns how many were written.
 * Item-knn: score_j = sum over the user's items i of r_ui sim(i, j), reason the i of largest term; ALS: x_u . y_j;
 * buy-again: r_uj over the user's own items; popularity: the segment's order and scores.
 */
export function recommendUser(
  s: KernelState,
  u: number,
  k: number,
  outI: Int32Array,
  outS: Float32Array,
  outB: Int32Array | null,
  off: number,
): number {
  const seen = s.seen;
  const rep = s.repurchasable;
  const rec = s.recommendable;
  const st = (s.stamps[1] = (s.stamps[1] as number) + 1);
  const exclude = s.excludeBought === 1;
  if (exclude) {
    const bPtr = s.bPtr as Int32Array;
    const bIdx = s.bIdx as Int32Array;
    for (let q = bPtr[u] as number, qe = bPtr[u + 1] as number; q < qe; q++) seen[bIdx[q] as number] = st;
  }
  const hs = s.heapS;
  const hi = s.heapI;
  const uPtr = s.uPtr;
  const uIdx = s.uIdx;
  const uVal = s.uVal;
  const pb = uPtr[u] as number;
  const pe = uPtr[u + 1] as number;
  const scorer = s.scorer;
  let size = 0;
  let count = 0;
  if (scorer === 0) {
    const seg = s.popSegment === null ? 0 : Math.max(0, s.popSegment[u] as number);
    const order = s.popOrder as Int32Array;
    const score = s.popScore as Float32Array;
    const o = seg * s.items;
    for (let t = 0; t < s.items && count < k; t++) {
      const j = order[o + t] as number;
      if ((rec !== null && rec[j] === 0) || (exclude && seen[j] === st && (rep === null || rep[j] === 0))) continue;
      outI[off + count] = j;
      outS[off + count] = score[o + j] as number;
      if (outB !== null) outB[off + count] = -1;
      count++;
    }
    return count;
  }
  if (pe > pb && scorer === 1) {
    for (let q = pb; q < pe; q++) {
      const j = uIdx[q] as number;
      if ((rec !== null && rec[j] === 0) || (exclude && seen[j] === st && (rep === null || rep[j] === 0))) continue;
      size = heapOffer(hs, hi, size, k, uVal[q] as number, j);
    }
  } else if (pe > pb && scorer === 2) {
    const acc = s.acc;
    const best = s.best;
    const because = s.because;
    const stamp = s.stamp;
    const touched = s.touched;
    const nbrIdx = s.nbrIdx as Int32Array;
    const nbrSim = s.nbrSim as Float32Array;
    const nbrCount = s.nbrCount as Int32Array;
    const K = s.neighbours;
    const sa = (s.stamps[0] = (s.stamps[0] as number) + 1);
    let nt = 0;
    for (let q = pb; q < pe; q++) {
      const i = uIdx[q] as number;
      const w = uVal[q] as number;
      for (let m = i * K, me = i * K + (nbrCount[i] as number); m < me; m++) {
        const j = nbrIdx[m] as number;
        const c = w * (nbrSim[m] as number);
        if (stamp[j] !== sa) {
          stamp[j] = sa;
          acc[j] = 0;
          best[j] = -1;
          touched[nt++] = j;
        }
        acc[j] = (acc[j] as number) + c;
        // The user's items come in ascending order, so on a tie the lower index stays.
        if (c > (best[j] as number)) {
          best[j] = c;
          because[j] = i;
        }
      }
    }
    for (let t = 0; t < nt; t++) {
      const j = touched[t] as number;
      if ((rec !== null && rec[j] === 0) || (exclude && seen[j] === st && (rep === null || rep[j] === 0))) continue;
      size = heapOffer(hs, hi, size, k, acc[j] as number, j);
    }
  } else if (pe > pb && scorer === 3) {
    // Items in order of decreasing ||y||, four at a time; x.y <= ||x|| ||y|| (Cauchy-Schwarz), so the scan stops
    // once that bound falls below the k-th best score kept: the same top k as scoring every item.
    const f = s.factors;
    const X = s.X as Float32Array;
    const Ys = s.yByNorm as Float32Array;
    const order = s.normOrder as Int32Array;
    const norm = s.normOf as Float64Array;
    const x = s.x;
    const d4 = s.r;
    let xn = 0;
    for (let t = 0; t < f; t++) {
      const v = X[u * f + t] as number;
      x[t] = v;
      xn += v * v;
    }
    xn = Math.sqrt(xn) * (1 + 1e-9);
    const items = s.items;
    let worstS = -Infinity;
    let worstI = -1;
    for (let q = 0; q < items; q += 4) {
      if (size === k && xn * (norm[q] as number) < worstS) break;
      const n = items - q < 4 ? items - q : 4;
      const o0 = q * f;
      if (n === 4) {
        const o1 = o0 + f;
        const o2 = o1 + f;
        const o3 = o2 + f;
        let a0 = 0;
        let a1 = 0;
        let a2 = 0;
        let a3 = 0;
        for (let t = 0; t < f; t++) {
          const xt = x[t] as number;
          a0 += xt * (Ys[o0 + t] as number);
          a1 += xt * (Ys[o1 + t] as number);
          a2 += xt * (Ys[o2 + t] as number);
          a3 += xt * (Ys[o3 + t] as number);
        }
        d4[0] = a0;
        d4[1] = a1;
        d4[2] = a2;
        d4[3] = a3;
      } else {
        for (let c = 0; c < n; c++) {
          let a = 0;
          for (let t = 0; t < f; t++) a += (x[t] as number) * (Ys[o0 + c * f + t] as number);
          d4[c] = a;
        }
      }
      for (let c = 0; c < n; c++) {
        const d = d4[c] as number;
        const j = order[q + c] as number;
        if (size === k && !(d > worstS || (d === worstS && j < worstI))) continue;
        if ((rec !== null && rec[j] === 0) || (exclude && seen[j] === st && (rep === null || rep[j] === 0))) continue;
        size = heapOffer(hs, hi, size, k, d, j);
        if (size === k) {
          worstS = hs[0] as number;
          worstI = hi[0] as number;
        }
      }
    }
  }
  count = heapDrain(hs, hi, size, outI, outS, off);
  if (outB !== null) {
    for (let t = 0; t < count; t++) outB[off + t] = scorer === 2 ? (s.because[outI[off + t] as number] as number) : -1;
  }
  if (count < k && s.fallbackOrder !== null) {
    const picked = s.picked;
    const sp = (s.stamps[2] = (s.stamps[2] as number) + 1);
    for (let t = 0; t < count; t++) picked[outI[off + t] as number] = sp;
    const order = s.fallbackOrder;
    for (let t = 0; t < order.length && count < k; t++) {
      const j = order[t] as number;
      if (picked[j] === sp) continue;
      if ((rec !== null && rec[j] === 0) || (exclude && seen[j] === st && (rep === null || rep[j] === 0))) continue;
      outI[off + count] = j;
      outS[off + count] = 0;
      if (outB !== null) outB[off + count] = -1;
      count++;
    }
  }
  return count;
}

/** Runs chunks of `msg` until the shared counter passes the last one (every thread of a run calls this). */
export function kernelStep(s: KernelState, msg: KernelMessage): null {
  const bounds = msg.bounds;
  const chunks = bounds.length - 1;
  for (;;) {
    const c = Atomics.add(s.counter, 0, 1);
    if (c >= chunks) break;
    const b = bounds[c] as number;
    const e = bounds[c + 1] as number;
    if (msg.op === 'knn') {
      for (let i = b; i < e; i++) knnItem(s, i);
    } else if (msg.op === 'gram') {
      gramBlock(s, msg.side, b, e, c);
    } else if (msg.op === 'als') {
      const l = alsRows(s, msg.side, b, e, msg.loss);
      if (s.lossParts !== null) s.lossParts[c] = l;
    } else {
      const k = s.k;
      const outI = s.outItems as Int32Array;
      const outS = s.outScores as Float32Array;
      const outB = s.outBecause;
      for (let u = b; u < e; u++) {
        const off = u * k;
        const n = recommendUser(s, u, k, outI, outS, outB, off);
        for (let t = n; t < k; t++) {
          outI[off + t] = -1;
          outS[off + t] = 0;
          if (outB !== null) outB[off + t] = -1;
        }
      }
    }
  }
  return null;
}

/** The source a worker thread runs: these kernels and a loop answering the main thread's messages. */
export function workerSource(): string {
  const kernels = [kernelScratch, kernelState, heapOffer, heapSiftDown, heapDrain, knnItem, gramBlock, symv, alsRows, recommendUser, kernelStep];
  return [
    // Some TypeScript runners wrap inner functions in __name(fn, "name"): a no-op here.
    'var __name = (fn) => fn;',
    ...kernels.map(String),
    `const { parentPort, workerData } = require('node:worker_threads');
const state = kernelState(workerData);
parentPort.on('message', (msg) => {
  try { kernelStep(state, msg); parentPort.postMessage({ ok: true }); }
  catch (err) { parentPort.postMessage({ ok: false, error: String((err && err.stack) || err) }); }
});`,
  ].join('\n');
}
