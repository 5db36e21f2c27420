// Quantile bins of the training features, as XGBoost's `hist` method: one byte per value, row-major, a code of its own for missing.
import type { FeatureMatrix } from './matrix.js';

/** The binned training matrix. Bin s of a feature holds the values in [lower[s], lower[s + 1]). */
export interface Bins {
  readonly rows: number;
  /** Column of the input matrix of each kept feature (features that cannot separate two rows are dropped). */
  readonly kept: Int32Array;
  /** codes[r * kept.length + j]: the bin of row r's value of kept feature j, or valueBins[j] when it is missing. */
  readonly codes: Uint8Array;
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

/** Bin of a non-missing value: the last s with lower[s] <= x (0 below the first bound). */
export function binOf(lower: Float64Array, x: number): number {
  const n = lower.length;
  let step = 1;
  while (step * 2 <= n) step *= 2;
  let i = 0;
  for (; step > 0; step >>= 1) if (i + step < n && (lower[i + step] as number) <= x) i += step;
  return i;
}

/** Values sorted for the bounds: every value up to this many, else this many spread evenly over the rows. */
export const QUANTILE_SAMPLE = 131_072;
/** Integer features whose values span fewer than this many are binned through a lookup table. */
const TABLE_RANGE = 1 << 20;

/**
 * Bins every feature of `matrix` into at most `maxBins` bins (2..256; 255 for a feature with missing values):
 * every distinct value its own bin when there are few enough of them, else quantile bins from the sorted values (or
 * from QUANTILE_SAMPLE of them taken at even steps over the rows, as LightGBM bins from a sample of 200,000): deterministic, no
 * random draw. With `shared`, the codes live in a SharedArrayBuffer for worker threads.
 */
export function binMatrix(matrix: FeatureMatrix, maxBins: number, shared: boolean): Bins {
  const n = matrix.rows;
  const values = new Float64Array(n);
  const kept: number[] = [];
  const lower: Float64Array[] = [];
  const hasMissing: number[] = [];
  /** Per kept feature: its least value when its values are integers of a small range, else NaN. */
  const integerMin: number[] = [];
  const dropped: string[] = [];
  matrix.columns.forEach((column, j) => {
    let m = 0;
    for (let r = 0; r < n; r++) {
      const v = column[r] as number;
      if (v === v) values[m++] = v;
    }
    const missing = m < n;
    const limit = missing ? Math.min(maxBins, MAX_BINS - 1) : maxBins;
    const distinct = new Set<number>();
    let integers = true;
    let min = Infinity;
    let max = -Infinity;
    for (let i = 0; i < m; i++) {
      const v = values[i] as number;
      if (distinct.size <= limit) distinct.add(v);
      if (v < min) min = v;
      if (v > max) max = v;
      if (integers && !Number.isInteger(v)) integers = false;
    }
    if (m === 0 || (!missing && distinct.size === 1)) {
      dropped.push(matrix.names[j] as string);
      return;
    }
    kept.push(j);
    hasMissing.push(missing ? 1 : 0);
    integerMin.push(integers && max - min < TABLE_RANGE ? min : NaN);
    if (distinct.size <= limit) lower.push(Float64Array.from(distinct).sort());
    else if (m <= QUANTILE_SAMPLE) lower.push(binLowerBounds(values.subarray(0, m).sort(), limit));
    else {
      const sample = new Float64Array(QUANTILE_SAMPLE);
      for (let i = 0; i < QUANTILE_SAMPLE; i++) sample[i] = values[Math.floor((i * m) / QUANTILE_SAMPLE)] as number;
      lower.push(binLowerBounds(sample.sort(), limit));
    }
  });
  const p = kept.length;
  const codes = new Uint8Array(shared ? new SharedArrayBuffer(n * p) : new ArrayBuffer(n * p));
  const valueBins = Int32Array.from(lower, (l) => l.length);
  kept.forEach((j, f) => {
    const column = matrix.columns[j] as Float64Array | Float32Array;
    const bounds = lower[f] as Float64Array;
    const missingCode = bounds.length;
    const min = integerMin[f] as number;
    if (!Number.isNaN(min)) {
      // Integer values: one table lookup per value.
      let top = min;
      for (let r = 0; r < n; r++) if ((column[r] as number) > top) top = column[r] as number;
      const table = new Uint8Array(top - min + 1);
      for (let v = min; v <= top; v++) table[v - min] = binOf(bounds, v);
      for (let r = 0, o = f; r < n; r++, o += p) {
        const v = column[r] as number;
        codes[o] = v === v ? (table[v - min] as number) : missingCode;
      }
      return;
    }
    for (let r = 0, o = f; r < n; r++, o += p) {
      const v = column[r] as number;
      codes[o] = v === v ? binOf(bounds, v) : missingCode;
    }
  });
  return { rows: n, kept: Int32Array.from(kept), codes, valueBins, lower, hasMissing: Uint8Array.from(hasMissing), dropped };
}
