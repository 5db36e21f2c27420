// A seeded synthetic shop for tests and benchmarks: power-law item popularity, customers in taste groups, views, carts, purchases and returns, and a held-out purchase per customer.
import { KairosError } from '../../errors.js';
import { createRng, type Rng } from '../../math/random.js';
import type { Triplets } from './interactions.js';

export interface SyntheticOptions {
  readonly users: number;
  readonly items: number;
  /** Training events wanted (about: each user draws 1 + a geometric count, on distinct items as far as a few redraws find them). */
  readonly nnz: number;
  /** Taste groups: item i belongs to group i mod groups; each user to one group. */
  readonly groups: number;
  /** Share of a user's events drawn from their group's items (the rest from the whole catalogue). */
  readonly groupShare: number;
  /** Zipf exponent of item popularity. */
  readonly zipf: number;
  /** Held-out purchases per user (items the user has no training event for). */
  readonly holdout: number;
  readonly seed: number;
}

export const SYNTHETIC_DEFAULTS: Readonly<SyntheticOptions> = { users: 1000, items: 200, nnz: 10_000, groups: 10, groupShare: 0.8, zipf: 1, holdout: 1, seed: 7 };

export interface SyntheticShop {
  readonly users: number;
  readonly items: number;
  readonly train: Triplets;
  /** Held-out purchases (weight 1). */
  readonly holdout: Triplets;
  /** Each user's group. */
  readonly group: Int32Array;
}

/** Cumulative Zipf weights 1 / rank^s over `n` ranks. */
function zipfCdf(n: number, s: number): Float64Array {
  const cdf = new Float64Array(n);
  let acc = 0;
  for (let r = 0; r < n; r++) {
    acc += 1 / (r + 1) ** s;
    cdf[r] = acc;
  }
  return cdf;
}

function draw(rng: Rng, cdf: Float64Array, lo: number, hi: number): number {
  const base = lo > 0 ? (cdf[lo - 1] as number) : 0;
  const target = base + rng.uniform() * ((cdf[hi - 1] as number) - base);
  let a = lo;
  let b = hi - 1;
  while (a < b) {
    const m = (a + b) >> 1;
    if ((cdf[m] as number) < target) a = m + 1;
    else b = m;
  }
  return a;
}

/**
 * Draws the shop. Items are ranked by a seeded shuffle; group g's items are ranked among themselves in the same
 * order, so a group's favourites are popular overall too. Event weights: view 0.1, cart 0.3, purchase its quantity
 * (1-3), times a recency factor e^{-age / 180} (age uniform on 0..365 days); 2% of purchases are followed by a return
 * of the same quantity (a negative weight, so the item may drop out of the matrix).
 */
export function syntheticShop(options: Partial<SyntheticOptions> = {}): SyntheticShop {
  const o: SyntheticOptions = { ...SYNTHETIC_DEFAULTS, ...options };
  if (!(o.users >= 1 && o.items >= 1 && o.groups >= 1 && o.groups <= o.items)) {
    throw new KairosError('VALIDATION', 'synthetic shop: users and items must be >= 1 and 1 <= groups <= items');
  }
  const rng = createRng(o.seed);
  // rank -> item (a shuffle), and per group its items in rank order, laid out group after group.
  const byRank = Int32Array.from({ length: o.items }, (_, i) => i);
  for (let i = o.items - 1; i > 0; i--) {
    const j = Math.floor(rng.uniform() * (i + 1));
    const t = byRank[i] as number;
    byRank[i] = byRank[j] as number;
    byRank[j] = t;
  }
  const groupStart = new Int32Array(o.groups + 1);
  for (let i = 0; i < o.items; i++) groupStart[(i % o.groups) + 1] = (groupStart[(i % o.groups) + 1] as number) + 1;
  for (let g = 0; g < o.groups; g++) groupStart[g + 1] = (groupStart[g + 1] as number) + (groupStart[g] as number);
  const groupItems = new Int32Array(o.items);
  const next = groupStart.slice(0, o.groups);
  for (let r = 0; r < o.items; r++) {
    const item = byRank[r] as number;
    const g = item % o.groups;
    groupItems[next[g] as number] = item;
    next[g] = (next[g] as number) + 1;
  }
  const globalCdf = zipfCdf(o.items, o.zipf);
  // Cumulative weights laid out as groupItems, each group's restarting at rank 1 (draw() subtracts the sum before it).
  const groupCdf = new Float64Array(o.items);
  let acc = 0;
  for (let g = 0; g < o.groups; g++) {
    for (let p = groupStart[g] as number, r = 0; p < (groupStart[g + 1] as number); p++, r++) {
      acc += 1 / (r + 1) ** o.zipf;
      groupCdf[p] = acc;
    }
  }
  const pick = (g: number): number =>
    rng.uniform() < o.groupShare ? (groupItems[draw(rng, groupCdf, groupStart[g] as number, groupStart[g + 1] as number)] as number) : (byRank[draw(rng, globalCdf, 0, o.items)] as number);
  const group = new Int32Array(o.users);
  const counts = new Int32Array(o.users);
  const meanExtra = Math.max(0, o.nnz / o.users - 1);
  let total = 0;
  for (let u = 0; u < o.users; u++) {
    group[u] = Math.floor(rng.uniform() * o.groups);
    // 1 + a geometric count with mean meanExtra.
    const n = 1 + (meanExtra > 0 ? Math.floor(Math.log(1 - rng.uniform()) / Math.log(meanExtra / (meanExtra + 1))) : 0);
    counts[u] = n;
    total += n;
  }
  const returns = Math.ceil(total * 0.02) + 16;
  const user = new Int32Array(total + returns);
  const item = new Int32Array(total + returns);
  const weight = new Float32Array(total + returns);
  let t = 0;
  // A user's events are on distinct items (a few draws to find a new one), so events are about the non-zeros.
  const mine = new Int32Array(o.items).fill(-1);
  for (let u = 0; u < o.users; u++) {
    const g = group[u] as number;
    for (let e = 0; e < (counts[u] as number); e++) {
      let j = pick(g);
      for (let attempt = 0; attempt < 8 && mine[j] === u; attempt++) j = pick(g);
      mine[j] = u;
      const kind = rng.uniform();
      const recency = Math.exp(-rng.uniform() * 365 / 180);
      const w = kind < 0.55 ? 0.1 : kind < 0.7 ? 0.3 : 1 + Math.floor(rng.uniform() * 3);
      user[t] = u;
      item[t] = j;
      weight[t] = w * recency;
      t++;
      if (w >= 1 && t < user.length && rng.uniform() < 0.02) {
        user[t] = u;
        item[t] = j;
        weight[t] = -w * recency;
        t++;
      }
    }
  }
  const hUser = new Int32Array(o.users * o.holdout);
  const hItem = new Int32Array(o.users * o.holdout);
  let h = 0;
  // Held out: new purchases from the same tastes, of items the user has no event for.
  const lastSeen = new Int32Array(o.items).fill(-1);
  let start = 0;
  for (let u = 0; u < o.users; u++) {
    while (start < t && (user[start] as number) === u) lastSeen[item[start++] as number] = u;
    for (let e = 0; e < o.holdout; e++) {
      for (let attempt = 0; attempt < 20; attempt++) {
        const j = pick(group[u] as number);
        if (lastSeen[j] === u) continue;
        lastSeen[j] = u;
        hUser[h] = u;
        hItem[h] = j;
        h++;
        break;
      }
    }
  }
  return {
    users: o.users,
    items: o.items,
    train: { user: user.subarray(0, t), item: item.subarray(0, t), weight: weight.subarray(0, t) },
    holdout: { user: hUser.subarray(0, h), item: hItem.subarray(0, h), weight: new Float32Array(h).fill(1) },
    group,
  };
}
