// The learner's input: a column-major feature matrix (NaN = missing), checked once at the edge of src/ml.
import { KairosError } from '../errors.js';

/** One column per feature, one entry per row; NaN marks a missing value. */
export interface FeatureMatrix {
  readonly names: readonly string[];
  readonly columns: readonly (Float64Array | Float32Array)[];
  readonly rows: number;
}

/** Throws a VALIDATION error unless names and columns pair up, every column has `rows` entries and names are distinct. */
export function checkMatrix(matrix: FeatureMatrix, what: string): void {
  const { names, columns, rows } = matrix;
  if (!Number.isSafeInteger(rows) || rows < 0) throw new KairosError('VALIDATION', `${what}: rows must be a non-negative integer (got ${rows})`);
  if (names.length !== columns.length) {
    throw new KairosError('VALIDATION', `${what}: ${names.length} names for ${columns.length} columns`);
  }
  const seen = new Set<string>();
  columns.forEach((c, j) => {
    const name = names[j] as string;
    if (seen.has(name)) throw new KairosError('VALIDATION', `${what}: feature "${name}" appears twice`);
    seen.add(name);
    if (c.length !== rows) throw new KairosError('VALIDATION', `${what}: column "${name}" has ${c.length} entries for ${rows} rows`);
  });
}

/**
 * The columns of `matrix` in the order of `names` (a model's features): matched by name, so a matrix may hold more
 * columns or another order. Throws a VALIDATION error naming the first feature the matrix lacks.
 */
export function columnsFor(matrix: FeatureMatrix, names: readonly string[], what: string): (Float64Array | Float32Array)[] {
  checkMatrix(matrix, what);
  const index = new Map(matrix.names.map((n, j) => [n, j] as const));
  return names.map((name) => {
    const j = index.get(name);
    if (j === undefined) {
      throw new KairosError('VALIDATION', `${what}: no column "${name}" (the model uses ${names.length} features)`, {
        hint: 'predict on a matrix with the columns the model was trained on',
      });
    }
    return matrix.columns[j] as Float64Array | Float32Array;
  });
}
