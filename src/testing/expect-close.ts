// Numeric comparison for reference tests: one helper, tolerance stated per call and printed on failure.
import { expect } from 'vitest';

export interface Tolerance {
  /** Relative tolerance: |a - e| <= atol + rtol * |e|. */
  rtol?: number;
  /** Absolute tolerance. */
  atol?: number;
}

/** Asserts |actual - expected| <= atol + rtol * |expected| and says both tolerances when it fails. */
export function expectClose(actual: number, expected: number, tol: Tolerance, label = 'value'): void {
  const rtol = tol.rtol ?? 0;
  const atol = tol.atol ?? 0;
  const diff = Math.abs(actual - expected);
  const allowed = atol + rtol * Math.abs(expected);
  const ok = Number.isFinite(actual) && diff <= allowed;
  expect(
    ok,
    `${label}: actual ${actual} vs expected ${expected} (|diff| ${diff.toExponential(3)} > allowed ${allowed.toExponential(3)}; rtol ${rtol}, atol ${atol})`,
  ).toBe(true);
}
