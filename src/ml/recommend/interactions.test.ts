// Tests of the interaction matrix: duplicates summed, returns subtract, non-positive totals dropped, the transpose.
import { describe, expect, it } from 'vitest';
import { KairosError } from '../../errors.js';
import { buildInteractions, transpose, type Csr } from './interactions.js';

function dense(m: Csr): number[][] {
  const out = Array.from({ length: m.rows }, () => new Array<number>(m.cols).fill(0));
  for (let r = 0; r < m.rows; r++) {
    for (let p = m.indptr[r] as number; p < (m.indptr[r + 1] as number); p++) (out[r] as number[])[m.indices[p] as number] = m.data[p] as number;
  }
  return out;
}

describe('buildInteractions', () => {
  const m = buildInteractions(3, 4, {
    user: Int32Array.from([0, 2, 0, 1, 0, 1, 2]),
    item: Int32Array.from([3, 0, 1, 2, 3, 2, 0]),
    weight: Float32Array.from([1, 0.5, 2, 1, 0.25, -1, 0.5]),
  });

  it('sums duplicates and drops totals that are not positive (a return cancels its purchase)', () => {
    expect(dense(m.byUser)).toEqual([
      [0, 2, 0, 1.25],
      [0, 0, 0, 0],
      [1, 0, 0, 0],
    ]);
    expect(m.nnz).toBe(3);
  });

  it('keeps each row sorted by item and the transpose consistent', () => {
    expect(Array.from(m.byUser.indices)).toEqual([1, 3, 0]);
    expect(dense(m.byItem)).toEqual([
      [0, 0, 1],
      [2, 0, 0],
      [0, 0, 0],
      [1.25, 0, 0],
    ]);
    expect(dense(transpose(m.byItem))).toEqual(dense(m.byUser));
  });

  it('lives on SharedArrayBuffers (worker threads read it without a copy)', () => {
    expect(m.byUser.indices.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(m.byItem.data.buffer).toBeInstanceOf(SharedArrayBuffer);
  });

  it('names the broken triplet', () => {
    const bad = (): unknown => buildInteractions(2, 2, { user: Int32Array.from([0, 2]), item: Int32Array.from([0, 0]), weight: Float32Array.from([1, 1]) });
    expect(bad).toThrow(KairosError);
    expect(bad).toThrow('triplet 1: user index 2 is outside 0..1');
    expect(() => buildInteractions(1, 1, { user: Int32Array.from([0]), item: Int32Array.from([0]), weight: Float64Array.from([NaN]) })).toThrow('not a finite number');
  });
});
