// Log-space arithmetic: sums and differences of numbers held as logarithms, without overflow or underflow.
//
// Hand-written: a few lines each; stdlib ships no scalar logaddexp/log1mexp as separate packages we depend on.
import { log1p } from './special.js';

/** ln(e^a + e^b). */
export function logAddExp(a: number, b: number): number {
  if (a === -Infinity) return b;
  if (b === -Infinity) return a;
  return a > b ? a + log1p(Math.exp(b - a)) : b + log1p(Math.exp(a - b));
}

/** ln Σ_i e^{v_i}; −Infinity for an empty list. */
export function logSumExp(values: ArrayLike<number>): number {
  let max = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as number;
    if (v > max) max = v;
  }
  if (max === -Infinity || !Number.isFinite(max)) return max;
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += Math.exp((values[i] as number) - max);
  return max + Math.log(sum);
}

/** ln(1 − e^x) for x ≤ 0, accurate at both ends (Mächler 2012: expm1 branch near 0, log1p branch far from 0). */
export function log1mExp(x: number): number {
  if (x > 0) return NaN;
  return x > -Math.LN2 ? Math.log(-Math.expm1(x)) : log1p(-Math.exp(x));
}

/** ln(e^a − e^b) for a ≥ b; −Infinity when a = b. */
export function logSubExp(a: number, b: number): number {
  if (b === -Infinity) return a;
  if (a < b) return NaN;
  if (a === b) return -Infinity;
  return a + log1mExp(b - a);
}
