// Isotonic calibration: a non-decreasing map from a model's scores to probabilities, fitted by pool-adjacent-violators.

/** A fitted isotonic map: knots (score, probability), increasing in both; linear between knots, flat beyond. */
export interface IsotonicMap {
  readonly x: readonly number[];
  readonly y: readonly number[];
  /** Weight of the rows pooled into each knot. */
  readonly w: readonly number[];
}

/**
 * Fits the weighted isotonic regression of `labels` on `scores` (Barlow et al. 1972; the pool-adjacent-violators
 * algorithm, Ayer et al. 1955): the non-decreasing step function closest in weighted squared error. Ties in score are
 * pooled first. Each block becomes a knot at its weighted mean score. Non-finite scores are left out.
 */
export function fitIsotonic(scores: ArrayLike<number>, labels: ArrayLike<number>, weights?: ArrayLike<number>): IsotonicMap {
  const idx: number[] = [];
  for (let i = 0; i < scores.length; i++) if (Number.isFinite(scores[i]) && Number.isFinite(labels[i])) idx.push(i);
  idx.sort((a, b) => (scores[a] as number) - (scores[b] as number) || a - b);
  // Blocks as parallel stacks: weighted sums of score and label, and weight.
  const sx: number[] = [];
  const sy: number[] = [];
  const sw: number[] = [];
  let last = Number.NaN;
  for (const i of idx) {
    const w = weights ? (weights[i] as number) : 1;
    if (!(w > 0)) continue;
    const s = scores[i] as number;
    const l = labels[i] as number;
    if (s === last) {
      const k = sw.length - 1;
      sx[k] = (sx[k] as number) + w * s;
      sy[k] = (sy[k] as number) + w * l;
      sw[k] = (sw[k] as number) + w;
    } else {
      sx.push(w * s);
      sy.push(w * l);
      sw.push(w);
      last = s;
    }
    // Pool while the last block's mean is not above the one before it (equal means pool too: the knots increase strictly).
    while (sw.length > 1) {
      const k = sw.length - 1;
      if ((sy[k - 1] as number) / (sw[k - 1] as number) < (sy[k] as number) / (sw[k] as number)) break;
      sx[k - 1] = (sx[k - 1] as number) + (sx.pop() as number);
      sy[k - 1] = (sy[k - 1] as number) + (sy.pop() as number);
      sw[k - 1] = (sw[k - 1] as number) + (sw.pop() as number);
      last = Number.NaN; // the next equal score may not merge into a pooled block by its last score alone
    }
  }
  return { x: sx.map((v, k) => v / (sw[k] as number)), y: sy.map((v, k) => v / (sw[k] as number)), w: sw };
}

/** The map applied to one score: linear between knots, the end values beyond them; NaN for a map with no knot. */
export function applyIsotonic(map: IsotonicMap, score: number): number {
  const { x, y } = map;
  const n = x.length;
  if (n === 0 || Number.isNaN(score)) return Number.NaN;
  if (score <= (x[0] as number)) return y[0] as number;
  if (score >= (x[n - 1] as number)) return y[n - 1] as number;
  let lo = 0;
  let hi = n - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if ((x[mid] as number) <= score) lo = mid;
    else hi = mid;
  }
  const x0 = x[lo] as number;
  const x1 = x[hi] as number;
  const t = x1 > x0 ? (score - x0) / (x1 - x0) : 0;
  return (y[lo] as number) + t * ((y[hi] as number) - (y[lo] as number));
}
