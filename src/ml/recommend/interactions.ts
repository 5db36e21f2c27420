// The implicit-feedback matrix: user x item confidences in compressed sparse rows (CSR) and its transpose, built from triplets.
//
// Users and items are dense indexes 0..n-1 (the caller maps ids). The arrays live on SharedArrayBuffers, so the
// recommenders' worker threads read them without a copy. Weights are the caller's: a purchase weighted by recency and
// quantity, a return negative, a view or an add-to-cart a smaller positive weight; here they are only summed. The
// caller passes only events strictly before the as-of date, so a model never sees what it will be judged on.
import { KairosError } from '../../errors.js';

/** A sparse matrix in compressed sparse rows: row r holds columns indices[indptr[r]..indptr[r+1]), ascending. */
export interface Csr {
  readonly rows: number;
  readonly cols: number;
  readonly indptr: Int32Array;
  readonly indices: Int32Array;
  readonly data: Float32Array;
}

/** The interactions by user (CSR, user x item) and by item (its transpose, item x user); the same non-zeros. */
export interface InteractionMatrix {
  readonly users: number;
  readonly items: number;
  readonly nnz: number;
  readonly byUser: Csr;
  readonly byItem: Csr;
}

/** Interaction triplets: user index, item index and weight of each event (parallel arrays). */
export interface Triplets {
  readonly user: Int32Array;
  readonly item: Int32Array;
  readonly weight: Float32Array | Float64Array;
}

/** An Int32Array on a SharedArrayBuffer (worker threads see the same memory). */
export function sharedInt32(n: number): Int32Array {
  return new Int32Array(new SharedArrayBuffer(4 * Math.max(n, 0)));
}

/** A Float32Array on a SharedArrayBuffer. */
export function sharedFloat32(n: number): Float32Array {
  return new Float32Array(new SharedArrayBuffer(4 * Math.max(n, 0)));
}

/** A Float64Array on a SharedArrayBuffer. */
export function sharedFloat64(n: number): Float64Array {
  return new Float64Array(new SharedArrayBuffer(8 * Math.max(n, 0)));
}

/** A Uint8Array on a SharedArrayBuffer. */
export function sharedUint8(n: number): Uint8Array {
  return new Uint8Array(new SharedArrayBuffer(Math.max(n, 0)));
}

/** The array itself when it already lives on a SharedArrayBuffer, else a shared copy. */
export function asShared<T extends Int32Array | Float32Array | Float64Array | Uint8Array>(a: T): T {
  if (a.buffer instanceof SharedArrayBuffer) return a;
  const Ctor = a.constructor as new (b: SharedArrayBuffer) => T;
  const copy = new Ctor(new SharedArrayBuffer(a.byteLength));
  copy.set(a as never);
  return copy;
}

function checkCount(name: string, n: number): void {
  if (!(Number.isInteger(n) && n >= 0 && n < 2 ** 31)) throw new KairosError('VALIDATION', `${name} must be an integer in [0, 2^31) (got ${n})`);
}

/**
 * Builds the user x item matrix from triplets: duplicates (user, item) summed, then totals that are not positive
 * dropped (a return cancels its purchase), and the item x user transpose. Two stable counting sorts, O(nnz + users +
 * items); no dense users x items array. Throws VALIDATION for an index out of range or a weight that is not finite.
 */
export function buildInteractions(users: number, items: number, t: Triplets): InteractionMatrix {
  checkCount('users', users);
  checkCount('items', items);
  const n = t.user.length;
  if (t.item.length !== n || t.weight.length !== n) {
    throw new KairosError('VALIDATION', `triplets have ${n} users, ${t.item.length} items and ${t.weight.length} weights: the arrays must be parallel`);
  }
  for (let k = 0; k < n; k++) {
    const u = t.user[k] as number;
    const i = t.item[k] as number;
    const w = t.weight[k] as number;
    if (!(u >= 0 && u < users)) throw new KairosError('VALIDATION', `triplet ${k}: user index ${u} is outside 0..${users - 1}`);
    if (!(i >= 0 && i < items)) throw new KairosError('VALIDATION', `triplet ${k}: item index ${i} is outside 0..${items - 1}`);
    if (!Number.isFinite(w)) throw new KairosError('VALIDATION', `triplet ${k}: weight ${w} is not a finite number`);
  }
  // 1. Triplet numbers sorted by item (stable).
  const itemStart = new Int32Array(items + 1);
  for (let k = 0; k < n; k++) {
    const i = (t.item[k] as number) + 1;
    itemStart[i] = (itemStart[i] as number) + 1;
  }
  for (let i = 0; i < items; i++) itemStart[i + 1] = (itemStart[i + 1] as number) + (itemStart[i] as number);
  const byItem = new Int32Array(n);
  {
    const next = itemStart.slice(0, items);
    for (let k = 0; k < n; k++) {
      const i = t.item[k] as number;
      byItem[next[i] as number] = k;
      next[i] = (next[i] as number) + 1;
    }
  }
  // 2. Scattered by user in that order: each row's items come out ascending.
  const userStart = new Int32Array(users + 1);
  for (let k = 0; k < n; k++) {
    const u = (t.user[k] as number) + 1;
    userStart[u] = (userStart[u] as number) + 1;
  }
  for (let u = 0; u < users; u++) userStart[u + 1] = (userStart[u + 1] as number) + (userStart[u] as number);
  const cols = new Int32Array(n);
  const vals = new Float64Array(n);
  {
    const next = userStart.slice(0, users);
    for (let s = 0; s < n; s++) {
      const k = byItem[s] as number;
      const u = t.user[k] as number;
      const pos = next[u] as number;
      cols[pos] = t.item[k] as number;
      vals[pos] = t.weight[k] as number;
      next[u] = pos + 1;
    }
  }
  // 3. Duplicates summed, non-positive totals dropped, compacted in place.
  const indptr = sharedInt32(users + 1);
  let out = 0;
  for (let u = 0; u < users; u++) {
    const end = userStart[u + 1] as number;
    let p = userStart[u] as number;
    while (p < end) {
      const i = cols[p] as number;
      let sum = 0;
      while (p < end && cols[p] === i) sum += vals[p++] as number;
      if (sum > 0) {
        cols[out] = i;
        vals[out] = sum;
        out++;
      }
    }
    indptr[u + 1] = out;
  }
  const indices = sharedInt32(out);
  indices.set(cols.subarray(0, out));
  const data = sharedFloat32(out);
  for (let p = 0; p < out; p++) data[p] = vals[p] as number;
  const byUser: Csr = { rows: users, cols: items, indptr, indices, data };
  return { users, items, nnz: out, byUser, byItem: transpose(byUser) };
}

/** The transpose of a CSR matrix (its CSC form), rows ascending within each column; shared arrays. */
export function transpose(m: Csr): Csr {
  const nnz = m.indptr[m.rows] as number;
  const indptr = sharedInt32(m.cols + 1);
  for (let p = 0; p < nnz; p++) {
    const c = (m.indices[p] as number) + 1;
    indptr[c] = (indptr[c] as number) + 1;
  }
  for (let c = 0; c < m.cols; c++) indptr[c + 1] = (indptr[c + 1] as number) + (indptr[c] as number);
  const next = indptr.slice(0, m.cols);
  const indices = sharedInt32(nnz);
  const data = sharedFloat32(nnz);
  for (let r = 0; r < m.rows; r++) {
    for (let p = m.indptr[r] as number, end = m.indptr[r + 1] as number; p < end; p++) {
      const c = m.indices[p] as number;
      const q = next[c] as number;
      indices[q] = r;
      data[q] = m.data[p] as number;
      next[c] = q + 1;
    }
  }
  return { rows: m.cols, cols: m.rows, indptr, indices, data };
}

/** A user x item matrix with no interactions (for tests and empty stores). */
export function emptyInteractions(users: number, items: number): InteractionMatrix {
  return buildInteractions(users, items, { user: new Int32Array(0), item: new Int32Array(0), weight: new Float32Array(0) });
}
