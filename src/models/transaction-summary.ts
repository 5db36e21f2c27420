// The transaction summary (x, t_x, T per customer) at the models' boundary: validation, grouping identical rows,
// per-x and per-day caches, the prepared form the likelihoods read, and its subsample for the warm start.
import { KairosError } from '../errors.js';
import type { SpendData, TransactionSummary } from './types.js';

/** Number of rows, after checking all columns have the same length. */
function rowCount(columns: Record<string, ArrayLike<number> | undefined>, what: string): number {
  let n = -1;
  for (const [name, col] of Object.entries(columns)) {
    if (col === undefined) continue;
    if (n === -1) n = col.length;
    else if (col.length !== n) {
      throw new KairosError('VALIDATION', `${what}: column ${name} has ${col.length} rows, expected ${n}`);
    }
  }
  return Math.max(n, 0);
}

function checkWeights(weights: Float64Array | undefined, what: string): void {
  if (weights === undefined) return;
  for (let i = 0; i < weights.length; i++) {
    const w = weights[i] as number;
    if (!(w >= 0) || !Number.isFinite(w)) {
      throw new KairosError('VALIDATION', `${what} row ${i}: weight ${w} is not a finite number >= 0`);
    }
  }
}

/**
 * Checks the transaction-summary contract and names the first broken fact and its row: finite values, x a
 * non-negative integer, 0 <= tx <= T, tx = 0 when x = 0, weights finite and >= 0. Returns the number of rows.
 */
export function validateTransactionSummary(data: TransactionSummary, what = 'TransactionSummary'): number {
  const n = rowCount({ x: data.x, tx: data.tx, T: data.T, weights: data.weights }, what);
  const { x, tx, T } = data;
  for (let i = 0; i < n; i++) {
    const xi = x[i] as number;
    const txi = tx[i] as number;
    const Ti = T[i] as number;
    if (!Number.isFinite(xi) || !Number.isFinite(txi) || !Number.isFinite(Ti)) {
      throw new KairosError('VALIDATION', `${what} row ${i}: x, tx, T must be finite (got ${xi}, ${txi}, ${Ti})`);
    }
    if (xi < 0 || !Number.isInteger(xi)) {
      throw new KairosError('VALIDATION', `${what} row ${i}: x (${xi}) must be a non-negative integer count`);
    }
    if (txi < 0 || Ti < 0) {
      throw new KairosError('VALIDATION', `${what} row ${i}: tx (${txi}) and T (${Ti}) must be >= 0`);
    }
    if (txi > Ti) {
      throw new KairosError('VALIDATION', `${what} row ${i}: tx (${txi}) is greater than T (${Ti})`);
    }
    if (xi === 0 && txi !== 0) {
      throw new KairosError('VALIDATION', `${what} row ${i}: tx must be 0 when x is 0 (got tx = ${txi})`);
    }
  }
  checkWeights(data.weights, what);
  return n;
}

/** Checks spend data: finite, x a non-negative integer, m >= 0 (m is ignored where x = 0). Returns the row count. */
export function validateSpend(data: SpendData, what = 'SpendData'): number {
  const n = rowCount({ x: data.x, m: data.m, weights: data.weights }, what);
  for (let i = 0; i < n; i++) {
    const xi = data.x[i] as number;
    const mi = data.m[i] as number;
    if (!Number.isFinite(xi) || xi < 0 || !Number.isInteger(xi)) {
      throw new KairosError('VALIDATION', `${what} row ${i}: x (${xi}) must be a non-negative integer count`);
    }
    if (!Number.isFinite(mi) || mi < 0) {
      throw new KairosError('VALIDATION', `${what} row ${i}: mean spend m (${mi}) must be a finite number >= 0`);
    }
  }
  checkWeights(data.weights, what);
  return n;
}

/** A NaN-filled table indexed by the (validated, integer) x values, for caching per-x quantities in per-row loops. */
export function perXTable(x: Float64Array): Float64Array {
  let max = 0;
  for (let i = 0; i < x.length; i++) if ((x[i] as number) > max) max = x[i] as number;
  return new Float64Array(max + 1).fill(NaN);
}

/** Integer time values up to this are cached by logShiftTable (2^20 days is ~2,900 years). */
const LOG_TABLE_LIMIT = 1 << 20;

/**
 * A NaN-filled table for ln(shift + v) at integer v in [0, max T] (empty when max T is beyond LOG_TABLE_LIMIT): with
 * day-valued summaries the per-row logarithms of P(alive) become look-ups. Use with cachedLogShift.
 */
export function logShiftTable(T: Float64Array): Float64Array {
  let max = 0;
  for (let i = 0; i < T.length; i++) if ((T[i] as number) > max) max = T[i] as number;
  return max <= LOG_TABLE_LIMIT ? new Float64Array(Math.floor(max) + 1).fill(NaN) : new Float64Array(0);
}

/** ln(shift + v), from the table when v is an integer inside it (filled on first use). */
export function cachedLogShift(table: Float64Array, shift: number, v: number): number {
  const iv = v | 0;
  if (iv === v && iv < table.length) {
    let c = table[iv] as number;
    if (c !== c) {
      c = Math.log(shift + v);
      table[iv] = c;
    }
    return c;
  }
  return Math.log(shift + v);
}

/** Checks a prediction horizon. */
export function validateHorizon(t: number, name = 't'): void {
  if (!(t >= 0) || !Number.isFinite(t)) {
    throw new KairosError('VALIDATION', `${name} must be a finite number >= 0 (got ${t})`);
  }
}

/** Summary rows collapsed to distinct (x, tx, T) with summed weights; groupOf[i] is the group of input row i. */
export interface GroupedTransactionSummary extends TransactionSummary {
  readonly weights: Float64Array;
  readonly groupOf: Uint32Array;
}

/** Distinct values of a column and, per row, the index of its value (to compute f(value) once per distinct value). */
export interface DistinctIndex {
  readonly values: Float64Array;
  readonly index: Uint32Array;
}

/** Largest integer value for which distinctIndex uses a lookup table instead of a Map. */
const TABLE_LIMIT = 1 << 22;

/**
 * Distinct values of a column (in increasing order when all values are small non-negative integers, e.g. days;
 * otherwise in order of first appearance) with a per-row index into them. Integer columns take a lookup-table fast
 * path (a few ns per row); others go through a Map.
 */
export function distinctIndex(column: Float64Array): DistinctIndex {
  const n = column.length;
  const index = new Uint32Array(n);
  let max = 0;
  let integer = true;
  for (let i = 0; i < n; i++) {
    const v = column[i] as number;
    if (!(v >= 0 && v <= TABLE_LIMIT && Math.floor(v) === v)) {
      integer = false;
      break;
    }
    if (v > max) max = v;
  }
  if (integer) {
    const table = new Int32Array(max + 1).fill(-1);
    for (let i = 0; i < n; i++) table[(column[i] as number) | 0] = 0;
    const values: number[] = [];
    for (let v = 0; v <= max; v++) {
      if (table[v] === 0) {
        table[v] = values.length;
        values.push(v);
      }
    }
    for (let i = 0; i < n; i++) index[i] = table[(column[i] as number) | 0] as number;
    return { values: Float64Array.from(values), index };
  }
  const seen = new Map<number, number>();
  const values: number[] = [];
  for (let i = 0; i < n; i++) {
    const v = (column[i] as number) + 0; // + 0 maps −0 to 0
    let k = seen.get(v);
    if (k === undefined) {
      k = values.length;
      seen.set(v, k);
      values.push(v);
    }
    index[i] = k;
  }
  return { values: Float64Array.from(values), index };
}

/** Grouped rows with the distinct-value indexes of their columns (groupTransactionSummary and prepareTransactionSummary). */
interface GroupedWithIndex extends GroupedTransactionSummary {
  readonly xs: DistinctIndex;
  readonly Ts: DistinctIndex;
  readonly txs: DistinctIndex;
}

/** Largest number of (x, T) cells addressed through a dense table; beyond it cells are numbered through a Map. */
const CELL_TABLE_LIMIT = 1 << 24;

/** Largest time value (days) for which integerGroups uses tables indexed by the value itself. */
const INTEGER_TIME_LIMIT = 1 << 20;

/**
 * Distinct present values of an integer column given presence flags over 0..max: the values in increasing order and a
 * value → position table (the DistinctIndex order distinctIndex gives for integer columns).
 */
function presentValues(present: Uint8Array): { values: Float64Array; position: Uint32Array } {
  let count = 0;
  for (let v = 0; v < present.length; v++) count += present[v] as number;
  const values = new Float64Array(count);
  const position = new Uint32Array(present.length);
  for (let v = 0, k = 0; v < present.length; v++) {
    if (present[v] === 1) {
      values[k] = v;
      position[v] = k++;
    }
  }
  return { values, position };
}

/**
 * groupWithIndex for day-valued summaries (x, t_x, T non-negative integers, T ≤ INTEGER_TIME_LIMIT, few (x, T) cells):
 * the same groups in the same order, without per-column distinct-value passes over the rows. Rows are counting-sorted
 * by the cell x·(max T + 1) + T (stable), carrying only t_x (and the weight, the row when groupOf is wanted); within a
 * cell a scratch table over t_x values numbers the groups in order of first appearance. Two scans of the sorted t_x
 * (count, then fill) size the outputs exactly. Returns null when the data does not qualify (data assumed validated).
 */
function integerGroups(data: TransactionSummary, n: number, wantGroupOf: boolean): GroupedWithIndex | null {
  const { x, tx, T, weights } = data;
  let maxX = 0;
  let maxT = 0;
  for (let i = 0; i < n; i++) {
    const Ti = T[i] as number;
    const txi = tx[i] as number;
    if (!(Ti <= INTEGER_TIME_LIMIT && (Ti | 0) === Ti && (txi | 0) === txi)) return null;
    if (Ti > maxT) maxT = Ti;
    const xi = x[i] as number;
    if (xi > maxX) maxX = xi;
  }
  const nT = maxT + 1;
  const cells = (maxX + 1) * nT;
  if (cells > CELL_TABLE_LIMIT) return null;
  // 1. Stable counting sort by cell.
  const start = new Uint32Array(cells + 1);
  for (let i = 0; i < n; i++) {
    const c = (x[i] as number) * nT + (T[i] as number) + 1;
    start[c] = (start[c] as number) + 1;
  }
  for (let c = 0; c < cells; c++) start[c + 1] = (start[c + 1] as number) + (start[c] as number);
  const next = start.slice(0, cells);
  const txSorted = new Uint32Array(n);
  const wSorted = weights === undefined ? null : new Float64Array(n);
  const rowSorted = wantGroupOf ? new Uint32Array(n) : null;
  for (let i = 0; i < n; i++) {
    const c = (x[i] as number) * nT + (T[i] as number);
    const pos = next[c] as number;
    next[c] = pos + 1;
    txSorted[pos] = tx[i] as number;
    if (wSorted !== null) wSorted[pos] = (weights as Float64Array)[i] as number;
    if (rowSorted !== null) rowSorted[pos] = i;
  }
  // 2. Number of groups: distinct t_x per cell.
  const scratch = new Int32Array(nT).fill(-1);
  let m = 0;
  for (let c = 0; c < cells; c++) {
    const lo = start[c] as number;
    const hi = start[c + 1] as number;
    for (let k = lo; k < hi; k++) {
      const v = txSorted[k] as number;
      if (scratch[v] !== c) {
        scratch[v] = c;
        m++;
      }
    }
  }
  // 3. Fill the groups (scratch[t_x] holds the group of t_x in the current cell, or a group of an earlier cell).
  scratch.fill(-1);
  const gx = new Float64Array(m);
  const gtx = new Float64Array(m);
  const gT = new Float64Array(m);
  const gw = new Float64Array(m);
  const groupOf = new Uint32Array(rowSorted === null ? 0 : n);
  const xPresent = new Uint8Array(maxX + 1);
  const TPresent = new Uint8Array(nT);
  const txPresent = new Uint8Array(nT);
  let groups = 0;
  for (let c = 0; c < cells; c++) {
    const lo = start[c] as number;
    const hi = start[c + 1] as number;
    if (lo === hi) continue;
    const xc = Math.floor(c / nT);
    const Tc = c - xc * nT;
    xPresent[xc] = 1;
    TPresent[Tc] = 1;
    const first = groups;
    for (let k = lo; k < hi; k++) {
      const v = txSorted[k] as number;
      let g = scratch[v] as number;
      if (g < first) {
        g = groups++;
        scratch[v] = g;
        gx[g] = xc;
        gT[g] = Tc;
        gtx[g] = v;
        txPresent[v] = 1;
      }
      gw[g] = (gw[g] as number) + (wSorted === null ? 1 : (wSorted[k] as number));
      if (rowSorted !== null) groupOf[rowSorted[k] as number] = g;
    }
  }
  const xv = presentValues(xPresent);
  const Tv = presentValues(TPresent);
  const txv = presentValues(txPresent);
  const gxi = new Uint32Array(m);
  const gTi = new Uint32Array(m);
  const gtxi = new Uint32Array(m);
  for (let g = 0; g < m; g++) {
    gxi[g] = xv.position[gx[g] as number] as number;
    gTi[g] = Tv.position[gT[g] as number] as number;
    gtxi[g] = txv.position[gtx[g] as number] as number;
  }
  return {
    x: gx,
    tx: gtx,
    T: gT,
    weights: gw,
    groupOf,
    xs: { values: xv.values, index: gxi },
    Ts: { values: Tv.values, index: gTi },
    txs: { values: txv.values, index: gtxi },
  };
}

function groupWithIndex(data: TransactionSummary, wantGroupOf = true): GroupedWithIndex {
  const n = validateTransactionSummary(data);
  const fast = integerGroups(data, n, wantGroupOf);
  if (fast !== null) return fast;
  const { weights } = data;
  const xAll = distinctIndex(data.x);
  const TAll = distinctIndex(data.T);
  const txAll = distinctIndex(data.tx);
  const nT = TAll.values.length;
  // 1. Cell of each row = its (x, T) pair, numbered densely.
  const cell = new Uint32Array(n);
  let cells: number;
  if (xAll.values.length * nT <= CELL_TABLE_LIMIT) {
    cells = xAll.values.length * nT;
    for (let i = 0; i < n; i++) cell[i] = (xAll.index[i] as number) * nT + (TAll.index[i] as number);
  } else {
    const seen = new Map<number, number>();
    for (let i = 0; i < n; i++) {
      const key = (xAll.index[i] as number) * nT + (TAll.index[i] as number);
      let c = seen.get(key);
      if (c === undefined) {
        c = seen.size;
        seen.set(key, c);
      }
      cell[i] = c;
    }
    cells = seen.size;
  }
  // 2. Counting sort of the rows by cell, carrying each row's tx index along (no random gathers later).
  const start = new Uint32Array(cells + 1);
  for (let i = 0; i < n; i++) {
    const c = (cell[i] as number) + 1;
    start[c] = (start[c] as number) + 1;
  }
  for (let c = 0; c < cells; c++) start[c + 1] = (start[c + 1] as number) + (start[c] as number);
  const next = start.slice(0, cells);
  const rowSorted = new Uint32Array(n);
  const txSorted = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    const c = cell[i] as number;
    const pos = next[c] as number;
    next[c] = pos + 1;
    rowSorted[pos] = i;
    txSorted[pos] = txAll.index[i] as number;
  }
  // 3. Within each cell, rows with the same tx form a group; a scratch table over tx indexes stays in cache.
  const scratch = new Int32Array(txAll.values.length).fill(-1);
  const groupOf = new Uint32Array(n);
  const gx = new Float64Array(n);
  const gtx = new Float64Array(n);
  const gT = new Float64Array(n);
  const gw = new Float64Array(n);
  const gxi = new Uint32Array(n);
  const gTi = new Uint32Array(n);
  const gtxi = new Uint32Array(n);
  let groups = 0;
  for (let c = 0; c < cells; c++) {
    const lo = start[c] as number;
    const hi = start[c + 1] as number;
    if (lo === hi) continue;
    const first = rowSorted[lo] as number;
    const ix = xAll.index[first] as number;
    const iT = TAll.index[first] as number;
    for (let k = lo; k < hi; k++) {
      const row = rowSorted[k] as number;
      const itx = txSorted[k] as number;
      let g = scratch[itx] as number;
      if (g === -1) {
        g = groups++;
        scratch[itx] = g;
        gx[g] = xAll.values[ix] as number;
        gT[g] = TAll.values[iT] as number;
        gtx[g] = txAll.values[itx] as number;
        gxi[g] = ix;
        gTi[g] = iT;
        gtxi[g] = itx;
      }
      groupOf[row] = g;
      gw[g] = (gw[g] as number) + (weights === undefined ? 1 : (weights[row] as number));
    }
    for (let k = lo; k < hi; k++) scratch[txSorted[k] as number] = -1;
  }
  const m = groups;
  return {
    x: gx.slice(0, m),
    tx: gtx.slice(0, m),
    T: gT.slice(0, m),
    weights: gw.slice(0, m),
    groupOf,
    xs: { values: xAll.values, index: gxi.slice(0, m) },
    Ts: { values: TAll.values, index: gTi.slice(0, m) },
    txs: { values: txAll.values, index: gtxi.slice(0, m) },
  };
}

/**
 * Collapses identical (x, tx, T) rows into one row each, summing weights (default weight 1); groups come ordered by
 * (x, T). Fits on the result equal fits on the rows; predictions on it are scattered back with ungroup().
 * Validates the input. O(n): distinct-value indexes, a counting sort by (x, T), then tx within each (x, T) cell.
 */
export function groupTransactionSummary(data: TransactionSummary): GroupedTransactionSummary {
  const g = groupWithIndex(data);
  return { x: g.x, tx: g.tx, T: g.T, weights: g.weights, groupOf: g.groupOf };
}

/** Scatters per-group values back to rows: out[i] = values[groupOf[i]]. */
export function ungroup(values: Float64Array, groupOf: Uint32Array): Float64Array {
  const out = new Float64Array(groupOf.length);
  for (let i = 0; i < groupOf.length; i++) out[i] = values[groupOf[i] as number] as number;
  return out;
}

/**
 * Index of the distinct (x, T) pairs of the rows: the conditional expectations of all three transaction models
 * depend on a customer's history only through (x, T) once P(alive) is factored out, so they are computed once per pair.
 * Indexed on t_x instead (pairIndex(data, 'tx')), the distinct (x, t_x) pairs, and T holds their t_x.
 */
export interface PairIndex {
  readonly x: Float64Array;
  readonly T: Float64Array;
  /** Pair of each row. */
  readonly index: Uint32Array;
}

/**
 * pairIndex for day-valued times T (integers up to INTEGER_TIME_LIMIT) and few (x, T) cells: one table indexed by
 * x·(max T + 1) + T numbers the pairs in order of first appearance, as pairIndex does; null when the data does not qualify.
 */
function integerPairIndex(x: Float64Array, T: Float64Array, n: number): PairIndex | null {
  let maxX = 0;
  let maxT = 0;
  for (let i = 0; i < n; i++) {
    const Ti = T[i] as number;
    if (!(Ti <= INTEGER_TIME_LIMIT && (Ti | 0) === Ti)) return null;
    if (Ti > maxT) maxT = Ti;
    const xi = x[i] as number;
    if (xi > maxX) maxX = xi;
  }
  const nT = maxT + 1;
  if ((maxX + 1) * nT > CELL_TABLE_LIMIT) return null;
  const table = new Int32Array((maxX + 1) * nT).fill(-1);
  const index = new Uint32Array(n);
  const px: number[] = [];
  const pT: number[] = [];
  for (let i = 0; i < n; i++) {
    const c = (x[i] as number) * nT + (T[i] as number);
    let p = table[c] as number;
    if (p === -1) {
      p = px.length;
      table[c] = p;
      px.push(x[i] as number);
      pT.push(T[i] as number);
    }
    index[i] = p;
  }
  return { x: Float64Array.from(px), T: Float64Array.from(pT), index };
}

/** Distinct (x, T) pairs of summary rows, or with `on` = 'tx' distinct (x, t_x) pairs (data assumed validated). */
export function pairIndex(data: TransactionSummary, on: 'T' | 'tx' = 'T'): PairIndex {
  const n = data.x.length;
  const time = on === 'T' ? data.T : data.tx;
  const fast = integerPairIndex(data.x, time, n);
  if (fast !== null) return fast;
  const xs = distinctIndex(data.x);
  const Ts = distinctIndex(time);
  const nT = Ts.values.length;
  const index = new Uint32Array(n);
  const px: number[] = [];
  const pT: number[] = [];
  const cells = xs.values.length * nT;
  if (cells <= 1 << 24) {
    const table = new Int32Array(cells).fill(-1);
    for (let i = 0; i < n; i++) {
      const c = (xs.index[i] as number) * nT + (Ts.index[i] as number);
      let p = table[c] as number;
      if (p === -1) {
        p = px.length;
        table[c] = p;
        px.push(data.x[i] as number);
        pT.push(time[i] as number);
      }
      index[i] = p;
    }
  } else {
    const seen = new Map<number, number>();
    for (let i = 0; i < n; i++) {
      const c = (xs.index[i] as number) * nT + (Ts.index[i] as number);
      let p = seen.get(c);
      if (p === undefined) {
        p = px.length;
        seen.set(c, p);
        px.push(data.x[i] as number);
        pT.push(time[i] as number);
      }
      index[i] = p;
    }
  }
  return { x: Float64Array.from(px), T: Float64Array.from(pT), index };
}

/**
 * A grouped transaction summary ready for likelihood evaluation: rows with positive weight only, plus indexes of the
 * distinct x, tx and T values so that ln Γ(r + x), ln(α + T), ... are computed once per distinct value, not per row.
 */
export interface PreparedTransactionSummary {
  readonly n: number;
  readonly x: Float64Array;
  readonly tx: Float64Array;
  readonly T: Float64Array;
  readonly w: Float64Array;
  readonly totalWeight: number;
  readonly xs: DistinctIndex;
  /** Total weight per distinct x. */
  readonly xWeight: Float64Array;
  readonly txs: DistinctIndex;
  readonly Ts: DistinctIndex;
  /** Weight of rows with x > 0 (repeat buyers). */
  readonly repeatWeight: number;
}

/** Groups, drops zero-weight rows and indexes distinct values. */
export function prepareTransactionSummary(data: TransactionSummary): PreparedTransactionSummary {
  const g = groupWithIndex(data, false);
  const m = g.weights.length;
  let keep = 0;
  for (let i = 0; i < m; i++) if ((g.weights[i] as number) > 0) keep++;
  const pick = (src: Float64Array): Float64Array => {
    if (keep === m) return src;
    const out = new Float64Array(keep);
    let k = 0;
    for (let i = 0; i < m; i++) if ((g.weights[i] as number) > 0) out[k++] = src[i] as number;
    return out;
  };
  const pickIndex = (src: Uint32Array): Uint32Array => {
    if (keep === m) return src;
    const out = new Uint32Array(keep);
    let k = 0;
    for (let i = 0; i < m; i++) if ((g.weights[i] as number) > 0) out[k++] = src[i] as number;
    return out;
  };
  const x = pick(g.x);
  const w = pick(g.weights);
  const xs = { values: g.xs.values, index: pickIndex(g.xs.index) };
  let totalWeight = 0;
  let repeatWeight = 0;
  const xWeight = new Float64Array(xs.values.length);
  for (let i = 0; i < keep; i++) {
    const wi = w[i] as number;
    totalWeight += wi;
    if ((x[i] as number) > 0) repeatWeight += wi;
    xWeight[xs.index[i] as number] = (xWeight[xs.index[i] as number] as number) + wi;
  }
  return {
    n: keep,
    x,
    tx: pick(g.tx),
    T: pick(g.T),
    w,
    totalWeight,
    xs,
    xWeight,
    txs: { values: g.txs.values, index: pickIndex(g.txs.index) },
    Ts: { values: g.Ts.values, index: pickIndex(g.Ts.index) },
    repeatWeight,
  };
}

/**
 * A deterministic, stratified subset of about `target` rows of prepared data whose mean log-likelihood approximates
 * the full one, so that its optimum is a warm start for the full fit: rows heavier than the stride k = ceil(n/target)
 * are all kept with weight w/k, the others every k-th (rows are ordered by (x, T), so striding keeps every region of
 * the data). Returns null when the data is already small.
 */
export function subsampleTransactionSummary(prep: PreparedTransactionSummary, target: number): PreparedTransactionSummary | null {
  if (prep.n <= 2 * target) return null;
  const step = Math.ceil(prep.n / target);
  const rows: number[] = [];
  const weights: number[] = [];
  for (let i = 0; i < prep.n; i++) {
    const wi = prep.w[i] as number;
    if (wi >= step) {
      rows.push(i);
      weights.push(wi / step);
    } else if (i % step === 0) {
      rows.push(i);
      weights.push(wi);
    }
  }
  const m = rows.length;
  const x = new Float64Array(m);
  const tx = new Float64Array(m);
  const T = new Float64Array(m);
  const w = Float64Array.from(weights);
  const xi = new Uint32Array(m);
  const Ti = new Uint32Array(m);
  const txi = new Uint32Array(m);
  let totalWeight = 0;
  let repeatWeight = 0;
  const xWeight = new Float64Array(prep.xs.values.length);
  for (let k = 0; k < m; k++) {
    const i = rows[k] as number;
    x[k] = prep.x[i] as number;
    tx[k] = prep.tx[i] as number;
    T[k] = prep.T[i] as number;
    xi[k] = prep.xs.index[i] as number;
    Ti[k] = prep.Ts.index[i] as number;
    txi[k] = prep.txs.index[i] as number;
    const wk = w[k] as number;
    totalWeight += wk;
    if ((x[k] as number) > 0) repeatWeight += wk;
    xWeight[xi[k] as number] = (xWeight[xi[k] as number] as number) + wk;
  }
  if (repeatWeight === 0) return null;
  return {
    n: m,
    x,
    tx,
    T,
    w,
    totalWeight,
    xs: { values: prep.xs.values, index: xi },
    xWeight,
    txs: { values: prep.txs.values, index: txi },
    Ts: { values: prep.Ts.values, index: Ti },
    repeatWeight,
  };
}

/** The INSUFFICIENT_DATA checks before a transaction model is fitted: enough customers, repeat buyers, some age. */
export function checkEnoughToFit(prep: PreparedTransactionSummary, model: string): void {
  if (prep.totalWeight < 3) {
    throw new KairosError('INSUFFICIENT_DATA', `${model}: needs at least 3 customers, got ${prep.totalWeight}`, {
      hint: 'fit on a longer history or a larger customer base',
    });
  }
  if (prep.repeatWeight === 0) {
    throw new KairosError('INSUFFICIENT_DATA', `${model}: no customer has a repeat purchase, so purchase rates cannot be estimated`, {
      hint: 'use a longer calibration period',
    });
  }
  let maxT = 0;
  for (let i = 0; i < prep.n; i++) maxT = Math.max(maxT, prep.T[i] as number);
  if (maxT === 0) {
    throw new KairosError('INSUFFICIENT_DATA', `${model}: every customer has age T = 0`, {
      hint: 'the calibration period must end after the first purchases',
    });
  }
}
