// Popularity: each item's summed interaction weight, overall or per customer segment, the baseline and the cold-start fallback.
import { KairosError } from '../../errors.js';
import type { InteractionMatrix } from './interactions.js';

/** Hyper-parameters of the popularity recommender. */
export interface PopularityOptions {
  /** Each user's segment 0..segmentCount-1, or -1 for none (ranked by overall popularity); null: no segments. */
  readonly segments: Int32Array | null;
}

export const POPULARITY_DEFAULTS: Readonly<PopularityOptions> = { segments: null };

/** Learned: per row (0 overall, s + 1 segment s) each item's score and the items best first. */
export interface PopularityParams {
  readonly rows: number;
  readonly items: number;
  /** rows x items: summed weights of the row's users (row 0: all users). */
  readonly score: Float32Array;
  /** rows x items: items by score descending, then overall score descending, then index ascending. */
  readonly order: Int32Array;
  /** Each user's row (0 when the user has no segment); null without segments. */
  readonly userRow: Int32Array | null;
}

/**
 * Item scores: the sum of the interaction weights (the caller's weights carry recency and quantity, so this is
 * "recently popular"), overall and per segment. Items nobody interacted with score 0 and come last, by index.
 */
export function fitPopularity(m: InteractionMatrix, options: Partial<PopularityOptions> = {}): PopularityParams {
  const segments = options.segments ?? null;
  if (segments !== null && segments.length !== m.users) {
    throw new KairosError('VALIDATION', `segments has ${segments.length} entries for ${m.users} users`);
  }
  let segmentCount = 0;
  if (segments !== null) {
    for (let u = 0; u < m.users; u++) {
      const s = segments[u] as number;
      if (!Number.isInteger(s) || s < -1) throw new KairosError('VALIDATION', `segments[${u}] = ${s}: a segment is an integer >= 0, or -1 for none`);
      segmentCount = Math.max(segmentCount, s + 1);
    }
  }
  const rows = 1 + segmentCount;
  const items = m.items;
  const acc = new Float64Array(rows * items);
  const { indptr, indices, data } = m.byUser;
  for (let u = 0; u < m.users; u++) {
    const seg = segments === null ? -1 : (segments[u] as number);
    for (let p = indptr[u] as number, e = indptr[u + 1] as number; p < e; p++) {
      const j = indices[p] as number;
      const w = data[p] as number;
      acc[j] = (acc[j] as number) + w;
      if (seg >= 0) acc[(seg + 1) * items + j] = (acc[(seg + 1) * items + j] as number) + w;
    }
  }
  const score = new Float32Array(acc);
  const order = new Int32Array(rows * items);
  const overall = acc.subarray(0, items);
  for (let r = 0; r < rows; r++) {
    const row = acc.subarray(r * items, (r + 1) * items);
    const ids = Array.from({ length: items }, (_, j) => j);
    ids.sort((a, b) => (row[b] as number) - (row[a] as number) || (overall[b] as number) - (overall[a] as number) || a - b);
    order.set(ids, r * items);
  }
  const userRow = segments === null ? null : Int32Array.from(segments, (s) => (s >= 0 ? s + 1 : 0));
  return { rows, items, score, order, userRow };
}
