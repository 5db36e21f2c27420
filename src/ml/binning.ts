// Quantile bins of the training features, as XGBoost's `hist` method: one byte per value, a code of its own for missing.
import type { FeatureMatrix } from './matrix.js';

/** The binned training matrix. Bin s of a feature holds the values in [lower[s], lower[s + 1]). */
export interface Bins {
  readonly rows: number;
  /** Column of the input matrix of each kept feature (features that cannot separate two rows are dropped). */
  readonly kept: Int32Array;
  /** codes[r * stride + j]: the bin of row r's value of kept feature j, or valueBins[j] when it is missing. */
  readonly codes: Uint8Array;
  /** Bytes per row of codes: the number of kept features rounded up to a multiple of 4 (rows of whole 32-bit words). */
  readonly stride: number;
  /** Number of value bins of each kept feature, which is also its code for a missing value. */
  readonly valueBins: Int32Array;
  /** Lowest training value of each bin, per kept feature: a training value x is in a bin below s exactly when x < lower[s]. */
  readonly lower: readonly Float64Array[];
  /** Whether each kept feature has missing training values. */
  readonly hasMissing: Uint8Array;
  /** Names of the dropped features: all values missing, or one value and none missing. */
  readonly dropped: readonly string[];
}

/** Most bins a feature can have: codes are bytes, and a feature with missing values keeps one code for them. */
export const MAX_BINS = 256;
/** Values sorted for the bounds of a feature that is not integer-valued: all up to this many, else this many spread evenly over the rows. */
export const QUANTILE_SAMPLE = 131_072;
/** Integer features whose values span fewer than this many are counted (exact quantiles, no sort) and binned by table lookup. */
const TABLE_RANGE = 1 << 20;

/**
 * Lower bounds of at most `limit` bins over sorted values: every distinct value its own bin when there are no more
 * than `limit` of them, else bins of about equal counts (the value at rank floor(k m / limit) starts bin k), merged
 * where a repeated value spans several.
 */
export function binLowerBounds(sorted: Float64Array, limit: number): Float64Array {
  const m = sorted.length;
  const lower: number[] = [];
  let distinct = 0;
  for (let i = 0; i < m && distinct <= limit; i++) if (i === 0 || (sorted[i] as number) > (sorted[i - 1] as number)) distinct++;
  if (distinct <= limit) {
    for (let i = 0; i < m; i++) if (i === 0 || (sorted[i] as number) > (sorted[i - 1] as number)) lower.push(sorted[i] as number);
  } else {
    lower.push(sorted[0] as number);
    for (let k = 1; k < limit; k++) {
      const v = sorted[Math.floor((k * m) / limit)] as number;
      if (v > (lower[lower.length - 1] as number)) lower.push(v);
    }
  }
  return Float64Array.from(lower);
}

/** The bounds binLowerBounds gives for the sorted values that `counts` tallies (counts[v - min] of integer value v). */
function boundsFromCounts(counts: Int32Array, range: number, min: number, m: number, limit: number): Float64Array {
  let distinct = 0;
  for (let i = 0; i < range; i++) if ((counts[i] as number) > 0) distinct++;
  const lower: number[] = [];
  if (distinct <= limit) {
    for (let i = 0; i < range; i++) if ((counts[i] as number) > 0) lower.push(min + i);
    return Float64Array.from(lower);
  }
  lower.push(min);
  // The value at rank t is the first whose cumulative count exceeds t.
  let i = 0;
  let below = counts[0] as number;
  for (let k = 1; k < limit; k++) {
    const t = Math.floor((k * m) / limit);
    while (below <= t) below += counts[++i] as number;
    if (min + i > (lower[lower.length - 1] as number)) lower.push(min + i);
  }
  return Float64Array.from(lower);
}

/** Bin of a non-missing value: the last s with lower[s] <= x (0 below the first bound). */
export function binOf(lower: Float64Array, x: number): number {
  const n = lower.length;
  let step = 1;
  while (step * 2 <= n) step *= 2;
  let i = 0;
  for (; step > 0; step >>= 1) if (i + step < n && (lower[i + step] as number) <= x) i += step;
  return i;
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** The top 16 bits of x as a float32 whose bits are ordered as the numbers are (negative values flipped; -0 as 0). */
function cellOf(x: number): number {
  f32[0] = x + 0;
  const u = u32[0] as number;
  return (u & 0x80000000 ? ~u : u | 0x80000000) >>> 16;
}

/**
 * Writes the bins of non-integer values through a table over float32 prefixes: cell c of a value (cellOf) tells how
 * many bounds lie in lower cells, all of them below the value (rounding to float32 keeps order), and the few bounds in
 * its own cell are then compared exactly; a crowded cell falls back to binary search.
 */
function writeBins(column: Float64Array | Float32Array, lower: Float64Array, missingCode: number, out: Uint8Array): void {
  const nb = lower.length;
  const start = new Uint16Array(65537);
  for (let s = 1; s < nb; s++) {
    const c = cellOf(lower[s] as number) + 1;
    start[c] = (start[c] as number) + 1;
  }
  for (let c = 1; c <= 65536; c++) start[c] = (start[c] as number) + (start[c - 1] as number);
  // start[c]: bounds lower[1..] in cells below c; start[c + 1] - start[c]: in cell c.
  for (let r = 0; r < out.length; r++) {
    const x = column[r] as number;
    if (x !== x) {
      out[r] = missingCode;
      continue;
    }
    const c = cellOf(x);
    let i = start[c] as number;
    const inCell = (start[c + 1] as number) - i;
    if (inCell > 8) i = binOf(lower, x);
    else for (let k = 0; k < inCell && (lower[i + 1] as number) <= x; k++) i++;
    out[r] = i;
  }
}

/**
 * Bins every feature of `matrix` into at most `maxBins` bins (2..256; 255 for a feature with missing values):
 * every distinct value its own bin when there are few enough of them, else quantile bins, exact for integer values of
 * a moderate range (counted), else from the sorted values or, past QUANTILE_SAMPLE of them, from that many taken at
 * even steps over the rows (LightGBM bins from a sample of 200,000). Deterministic, no random draw. With `shared`,
 * the codes live in a SharedArrayBuffer for worker threads.
 */
export function binMatrix(matrix: FeatureMatrix, maxBins: number, shared: boolean): Bins {
  const n = matrix.rows;
  const values = new Float64Array(n);
  let counts = new Int32Array(0);
  const kept: number[] = [];
  const lower: Float64Array[] = [];
  const hasMissing: number[] = [];
  /** Per kept feature: its least value when its values are integers of a small range, else NaN. */
  const integerMin: number[] = [];
  const dropped: string[] = [];
  matrix.columns.forEach((column, j) => {
    let m = 0;
    let integers = true;
    let min = Infinity;
    let max = -Infinity;
    for (let r = 0; r < n; r++) {
      const v = column[r] as number;
      if (v !== v) continue;
      values[m++] = v;
      if (v < min) min = v;
      if (v > max) max = v;
      if (integers && v !== Math.floor(v)) integers = false;
    }
    const missing = m < n;
    if (m === 0 || (!missing && min === max)) {
      dropped.push(matrix.names[j] as string);
      return;
    }
    const limit = missing ? Math.min(maxBins, MAX_BINS - 1) : maxBins;
    kept.push(j);
    hasMissing.push(missing ? 1 : 0);
    if (integers && max - min < TABLE_RANGE) {
      const range = max - min + 1;
      if (counts.length < range) counts = new Int32Array(range);
      counts.fill(0, 0, range);
      for (let i = 0; i < m; i++) {
        const k = (values[i] as number) - min;
        counts[k] = (counts[k] as number) + 1;
      }
      lower.push(boundsFromCounts(counts, range, min, m, limit));
      integerMin.push(min);
      return;
    }
    integerMin.push(NaN);
    const distinct = new Set<number>();
    for (let i = 0; i < m && distinct.size <= limit; i++) distinct.add(values[i] as number);
    if (distinct.size <= limit) lower.push(Float64Array.from(distinct).sort());
    else if (m <= QUANTILE_SAMPLE) lower.push(binLowerBounds(values.subarray(0, m).sort(), limit));
    else {
      const sample = new Float64Array(QUANTILE_SAMPLE);
      for (let i = 0; i < QUANTILE_SAMPLE; i++) sample[i] = values[Math.floor((i * m) / QUANTILE_SAMPLE)] as number;
      lower.push(binLowerBounds(sample.sort(), limit));
    }
  });
  const p = kept.length;
  const stride = (p + 3) & ~3;
  // Column by column first (sequential writes), then transposed.
  const columnCodes = new Uint8Array(n * p);
  const valueBins = Int32Array.from(lower, (l) => l.length);
  kept.forEach((j, f) => {
    const column = matrix.columns[j] as Float64Array | Float32Array;
    const out = columnCodes.subarray(f * n, (f + 1) * n);
    const bounds = lower[f] as Float64Array;
    const missingCode = bounds.length;
    const min = integerMin[f] as number;
    if (Number.isNaN(min)) {
      writeBins(column, bounds, missingCode, out);
      return;
    }
    // Integer values: one table lookup per value.
    const top = bounds[bounds.length - 1] as number;
    let max = top;
    for (let r = 0; r < n; r++) if ((column[r] as number) > max) max = column[r] as number;
    const table = new Uint8Array(max - min + 1);
    for (let v = min; v <= max; v++) table[v - min] = binOf(bounds, v);
    for (let r = 0; r < n; r++) {
      const v = column[r] as number;
      out[r] = v === v ? (table[v - min] as number) : missingCode;
    }
  });
  // Row-major, transposed in blocks of rows so that both sides stay in cache.
  const codes = new Uint8Array(shared ? new SharedArrayBuffer(n * stride) : new ArrayBuffer(n * stride));
  const BLOCK = 1024;
  for (let r0 = 0; r0 < n; r0 += BLOCK) {
    const r1 = Math.min(n, r0 + BLOCK);
    for (let f = 0; f < p; f++) {
      const from = f * n;
      for (let r = r0, o = r0 * stride + f; r < r1; r++, o += stride) codes[o] = columnCodes[from + r] as number;
    }
  }
  return { rows: n, kept: Int32Array.from(kept), codes, stride, valueBins, lower, hasMissing: Uint8Array.from(hasMissing), dropped };
}
