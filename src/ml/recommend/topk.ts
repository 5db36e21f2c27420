// Top-k selection with exclusions: what a customer may be recommended (not what they already bought, unless consumable; never an item out of catalogue).
import { KairosError } from '../../errors.js';
import type { Csr } from './interactions.js';
import { heapDrain, heapOffer } from './kernels.js';

/**
 * What is never recommended. Items with `recommendable[j] === 0` (out of catalogue, not for sale) never are; with
 * `excludeBought`, neither is an item of the user's row of `bought` (null: the user's row of the training matrix, so
 * views count as bought) unless `repurchasable[j] === 1` (a consumable product or category).
 */
export interface Exclusions {
  readonly excludeBought: boolean;
  readonly bought: Csr | null;
  readonly repurchasable: Uint8Array | null;
  readonly recommendable: Uint8Array | null;
}

/** The default: leave out everything in the user's history, recommend every item. */
export const DEFAULT_EXCLUSIONS: Readonly<Exclusions> = { excludeBought: true, bought: null, repurchasable: null, recommendable: null };

/** Throws VALIDATION when the exclusions do not fit a users x items matrix. */
export function checkExclusions(e: Exclusions, users: number, items: number): void {
  if (e.bought !== null && (e.bought.rows < users || e.bought.cols !== items)) {
    throw new KairosError('VALIDATION', `bought is ${e.bought.rows} x ${e.bought.cols}; expected ${users} users x ${items} items`);
  }
  for (const [name, mask] of [['repurchasable', e.repurchasable], ['recommendable', e.recommendable]] as const) {
    if (mask !== null && mask.length !== items) throw new KairosError('VALIDATION', `${name} has ${mask.length} entries for ${items} items`);
  }
}

/**
 * The k highest scores of a dense score vector, skipping items with skip[j] === 1, best first; ties go to the lower
 * index. A bounded binary heap: O(n log k).
 */
export function topK(scores: Float32Array | Float64Array, k: number, skip: Uint8Array | null = null): { items: Int32Array; scores: Float32Array } {
  const kk = Math.max(0, Math.min(k, scores.length));
  const hs = new Float64Array(Math.max(kk, 1));
  const hi = new Int32Array(Math.max(kk, 1));
  let size = 0;
  for (let j = 0; j < scores.length; j++) {
    if (skip !== null && skip[j] === 1) continue;
    size = heapOffer(hs, hi, size, kk, scores[j] as number, j);
  }
  const items = new Int32Array(size);
  const out = new Float32Array(size);
  heapDrain(hs, hi, size, items, out, 0);
  return { items, scores: out };
}
