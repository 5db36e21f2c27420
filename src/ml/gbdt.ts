// Gradient-boosted trees on histograms (XGBoost's `hist` method): options, the boosting loop, split finding, predictions.
//
// Each round: gradients and hessians of the loss at the current margins (kernels.ts), rounded to integers on a
// power-of-two scale so that histogram sums are exact in any order (the model is the same for every thread count);
// then a tree grown depthwise: per node, sums of gradients and hessians per bin of every feature (the smaller child
// built from its rows, its sibling as the parent's histogram less it), the best split of each node by XGBoost's gain
// with missing values sent to either side, leaves -G / (H + lambda) times the learning rate.
// Chen & Guestrin (2016), XGBoost: A Scalable Tree Boosting System, eq. (5)-(7) and Algorithm 3.
import { availableParallelism } from 'node:os';
import { KairosError } from '../errors.js';
import { createRng, type Rng } from '../math/random.js';
import { binMatrix, MAX_BINS, type Bins } from './binning.js';
import { rowLoss, type BinTree, type ShardInit } from './kernels.js';
import { checkLabels, OBJECTIVES } from './losses.js';
import { checkMatrix, columnsFor, type FeatureMatrix } from './matrix.js';
import { openShards, type Shards } from './shards.js';
import { fromMargin, type Ensemble, type Objective, type Tree } from './tree.js';

/** Hyper-parameters of the learner, named as XGBoost's where they mean the same. */
export interface GbdtOptions {
  readonly objective: Objective;
  /** Variance power rho of the Tweedie objective, 1 < rho < 2. */
  readonly tweediePower: number;
  /** Shrinkage of every leaf (eta). */
  readonly learningRate: number;
  /** Depth of the trees (the root is depth 0), 1 to 20. */
  readonly maxDepth: number;
  /** Most leaves of a tree (0: no limit but the depth); within a depth, the nodes of highest gain split first. */
  readonly maxLeaves: number;
  /** Least hessian sum of a child (XGBoost's min_child_weight). */
  readonly minChildWeight: number;
  /** L2 penalty on leaf values. */
  readonly lambda: number;
  /** Least gain of a split, on XGBoost's scale (its min_split_loss). */
  readonly gamma: number;
  /** Share of rows drawn (without replacement, each with this chance) for each tree. */
  readonly subsample: number;
  /** Share of features drawn for each tree. */
  readonly colsampleByTree: number;
  /** Most bins of a feature, 2 to 256 (255 for a feature with missing values: one code is theirs). */
  readonly maxBins: number;
  /** Boosting rounds (trees), at most. */
  readonly rounds: number;
  /** With a validation set: stop when its loss has not improved for this many rounds (0: never stop early). */
  readonly earlyStoppingRounds: number;
  readonly seed: number;
  /** Threads for the histograms (this one and workers). */
  readonly threads: number;
  /**
   * Below this many training rows, one thread: workers would cost more than they save. At 40,000 rows x 45 features,
   * depth 3, 150 rounds (the learned scorer's fits), two threads took 1.70-1.98 s against 2.74-2.96 s (load 1.2).
   */
  readonly parallelMinRows: number;
}

/** The defaults, in one place. */
export const GBDT_DEFAULTS: Readonly<GbdtOptions> = {
  objective: 'logistic',
  tweediePower: 1.5,
  learningRate: 0.1,
  maxDepth: 6,
  maxLeaves: 0,
  minChildWeight: 1,
  lambda: 1,
  gamma: 0,
  subsample: 1,
  colsampleByTree: 1,
  maxBins: 256,
  rounds: 500,
  earlyStoppingRounds: 20,
  seed: 42,
  threads: availableParallelism(),
  parallelMinRows: 20_000,
};

/** Rows the learner is given besides the training set, to watch (and stop on) a loss it did not train on. */
export interface ValidationSet {
  readonly matrix: FeatureMatrix;
  readonly labels: Float64Array;
  readonly weights?: Float64Array;
}

/** What a fit says about itself. */
export interface GbdtDiagnostics {
  /** Rounds run (trees grown). */
  readonly rounds: number;
  /** Trees kept: the round of least validation loss, or every round without a validation set. */
  readonly bestRound: number;
  /** Loss after each round on the training rows (logloss, rmse or tweedie-nloglik, as `lossName`). */
  readonly trainLoss: number[];
  /** The same on the validation rows (empty without them). */
  readonly validLoss: number[];
  readonly lossName: string;
  readonly stoppedEarly: boolean;
  readonly seconds: number;
  /** Features that cannot separate two training rows (all missing, or one value and none missing). */
  readonly droppedFeatures: string[];
  /** Threads that built histograms. */
  readonly threads: number;
  readonly message: string;
}

export interface GbdtFit {
  readonly model: Ensemble;
  readonly diagnostics: GbdtDiagnostics;
  /** The model's margin of each training row, as the learner routed the rows (on bins). */
  readonly trainMargin: Float64Array;
}

/** Rows per loss block: shards start at multiples of it, so loss sums do not depend on the thread count. */
const BLOCK = 4096;
/** Gains at or below this are no split (XGBoost's kRtEps). */
const MIN_GAIN = 1e-6;
/** Most node histograms one message asks a shard for. */
const MAX_SLOTS = 32;

function resolveOptions(given: Partial<GbdtOptions>): GbdtOptions {
  const o: GbdtOptions = { ...GBDT_DEFAULTS, ...given };
  const bad = (name: string, rule: string): never => {
    throw new KairosError('VALIDATION', `gbdt option ${name} must be ${rule} (got ${String((o as unknown as Record<string, unknown>)[name])})`);
  };
  if (!(o.objective in OBJECTIVES)) bad('objective', `one of ${Object.keys(OBJECTIVES).join(', ')}`);
  if (!(o.tweediePower > 1 && o.tweediePower < 2)) bad('tweediePower', 'in (1, 2)');
  if (!(o.learningRate > 0 && o.learningRate <= 1)) bad('learningRate', 'in (0, 1]');
  if (!(Number.isInteger(o.maxDepth) && o.maxDepth >= 1 && o.maxDepth <= 20)) bad('maxDepth', 'an integer from 1 to 20');
  if (!(Number.isInteger(o.maxLeaves) && (o.maxLeaves === 0 || o.maxLeaves >= 2))) bad('maxLeaves', '0 (no limit) or an integer >= 2');
  if (!(o.minChildWeight >= 0 && Number.isFinite(o.minChildWeight))) bad('minChildWeight', 'finite and >= 0');
  if (!(o.lambda >= 0 && Number.isFinite(o.lambda))) bad('lambda', 'finite and >= 0');
  if (!(o.gamma >= 0 && Number.isFinite(o.gamma))) bad('gamma', 'finite and >= 0');
  if (!(o.subsample > 0 && o.subsample <= 1)) bad('subsample', 'in (0, 1]');
  if (!(o.colsampleByTree > 0 && o.colsampleByTree <= 1)) bad('colsampleByTree', 'in (0, 1]');
  if (!(Number.isInteger(o.maxBins) && o.maxBins >= 2 && o.maxBins <= MAX_BINS)) bad('maxBins', `an integer from 2 to ${MAX_BINS}`);
  if (!(Number.isInteger(o.rounds) && o.rounds >= 1)) bad('rounds', 'an integer >= 1');
  if (!(Number.isInteger(o.earlyStoppingRounds) && o.earlyStoppingRounds >= 0)) bad('earlyStoppingRounds', 'an integer >= 0');
  if (!(Number.isSafeInteger(o.seed) && o.seed >= 0)) bad('seed', 'a non-negative integer');
  if (!(Number.isInteger(o.threads) && o.threads >= 1)) bad('threads', 'an integer >= 1');
  if (!(Number.isInteger(o.parallelMinRows) && o.parallelMinRows >= 0)) bad('parallelMinRows', 'an integer >= 0');
  return o;
}

/** A typed array over shared memory (for workers) or not. */
function allocate<T>(make: new (buffer: ArrayBufferLike) => T, bytesPerEntry: number, length: number, shared: boolean): T {
  const bytes = bytesPerEntry * length;
  return new make(shared ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes));
}

/** The largest power of two s with max * s <= limit (1 when max is 0). */
function powerOfTwoScale(max: number, limit: number): number {
  if (!(max > 0)) return 1;
  let s = 2 ** Math.min(1000, Math.floor(Math.log2(limit / max)));
  while (max * s > limit) s /= 2;
  return s;
}

/** The best split of one node, or null. Split at `bin`: codes below it go left; missing values go as missingLeft. */
interface Split {
  readonly gain: number;
  readonly feature: number;
  readonly bin: number;
  readonly missingLeft: number;
  /** Integer (quantized) sums of the left child. */
  readonly gLeft: number;
  readonly hLeft: number;
}

interface Scales {
  readonly g: number;
  readonly h: number;
}

/**
 * The split of highest gain GL^2/(HL+lambda) + GR^2/(HR+lambda) - G^2/(H+lambda) (XGBoost's loss change, eq. 7 without
 * its 1/2 and gamma) over the bins of each feature, both children holding hessian >= minChildWeight. Missing values go
 * right while the bins are scanned upwards, then, when the node has some, left (sparsity-aware split finding,
 * Algorithm 3). The first of equal gains wins.
 */
function bestSplit(hist: Float64Array, gSum: number, hSum: number, feats: Int32Array, bins: Bins, scale: Scales, o: GbdtOptions): Split | null {
  const lambda = o.lambda;
  // Scales are powers of two: these products are exact.
  const gUnit = 1 / scale.g;
  const hUnit = 1 / scale.h;
  const minH = o.minChildWeight * scale.h;
  const G = gSum * gUnit;
  const parent = (G * G) / (hSum * hUnit + lambda);
  let bestGain = -Infinity;
  let bestFeature = -1;
  let bestBin = 0;
  let bestMissingLeft = 0;
  let bestG = 0;
  let bestH = 0;
  for (let j = 0; j < feats.length; j++) {
    const f = feats[j] as number;
    const base = f << 9;
    const nb = bins.valueBins[f] as number;
    const gMissing = bins.hasMissing[f] === 1 ? (hist[base + 2 * nb] as number) : 0;
    const hMissing = bins.hasMissing[f] === 1 ? (hist[base + 2 * nb + 1] as number) : 0;
    // Pass 0: missing values right, splits at bins 1..nb-1. Pass 1 (when the node has missing values): missing left,
    // from bin 0 (missing alone on the left) up.
    for (let pass = 0; pass < (hMissing === 0 && gMissing === 0 ? 1 : 2); pass++) {
      let gl = pass === 0 ? 0 : gMissing;
      let hl = pass === 0 ? 0 : hMissing;
      for (let s = pass === 0 ? 1 : 0; s < nb; s++) {
        if (s > 0) {
          gl += hist[base + 2 * (s - 1)] as number;
          hl += hist[base + 2 * (s - 1) + 1] as number;
        }
        const hr = hSum - hl;
        if (hl <= 0 || hr <= 0 || hl < minH || hr < minH) continue;
        const GL = gl * gUnit;
        const GR = (gSum - gl) * gUnit;
        const gain = (GL * GL) / (hl * hUnit + lambda) + (GR * GR) / (hr * hUnit + lambda) - parent;
        if (gain > bestGain) {
          bestGain = gain;
          bestFeature = f;
          bestBin = s;
          bestMissingLeft = pass;
          bestG = gl;
          bestH = hl;
        }
      }
    }
  }
  return bestFeature < 0 ? null : { gain: bestGain, feature: bestFeature, bin: bestBin, missingLeft: bestMissingLeft, gLeft: bestG, hLeft: bestH };
}

/** A node waiting to be split: its histogram and integer gradient sums. */
interface OpenNode {
  readonly id: number;
  readonly depth: number;
  readonly hist: Float64Array;
  readonly g: number;
  readonly h: number;
}

/** Everything a tree needs from its training run. */
interface Grower {
  readonly shards: Shards;
  readonly bins: Bins;
  readonly histSize: number;
  readonly slots: number;
  readonly o: GbdtOptions;
  /** Unused node histograms, for reuse. */
  readonly pool: Float64Array[];
}

/** Sums slot `slot` of every shard's histograms into `into` (zeroed first). */
function gatherHistogram(grower: Grower, slot: number, into: Float64Array): Float64Array {
  const { histSize } = grower;
  const lo = slot * histSize;
  into.set(grower.shards.hists[0]?.subarray(lo, lo + histSize) ?? new Float64Array(histSize));
  for (let k = 1; k < grower.shards.count; k++) {
    const part = grower.shards.hists[k] as Float64Array;
    for (let i = 0; i < histSize; i++) into[i] = (into[i] as number) + (part[lo + i] as number);
  }
  return into;
}

function takeHistogram(grower: Grower): Float64Array {
  return grower.pool.pop() ?? new Float64Array(grower.histSize);
}

/** A tree grown on the shards' current gradients: the tree on the raw scale (tree.ts), on bins, and its leaves. */
async function growTree(grower: Grower, feats: Int32Array, scale: Scales): Promise<{ tree: Tree; binTree: BinTree; leaves: Int32Array }> {
  const { shards, bins, o } = grower;
  const feature: number[] = [-1];
  const bin: number[] = [0];
  const missingLeft: number[] = [0];
  const left: number[] = [-1];
  const right: number[] = [-1];
  const cover: number[] = [0];
  const value: number[] = [0];
  const leaves: number[] = [];
  const leaf = (id: number, g: number, h: number): void => {
    const G = g / scale.g;
    const H = h / scale.h;
    value[id] = H + o.lambda > 0 ? (-G / (H + o.lambda)) * o.learningRate : 0;
    leaves.push(id);
  };

  await shards.run({ op: 'root', scaleG: scale.g, scaleH: scale.h, feats });
  const rootHist = gatherHistogram(grower, 0, takeHistogram(grower));
  // The root's sums: every bin of one feature, missing included.
  const f0 = feats[0] as number;
  let g0 = 0;
  let h0 = 0;
  const end0 = (f0 << 9) + 2 * ((bins.valueBins[f0] as number) + (bins.hasMissing[f0] as number));
  for (let k = f0 << 9; k < end0; k += 2) {
    g0 += rootHist[k] as number;
    h0 += rootHist[k + 1] as number;
  }
  cover[0] = h0 / scale.h;
  let level: OpenNode[] = [{ id: 0, depth: 0, hist: rootHist, g: g0, h: h0 }];
  const canSplit = (depth: number, h: number): boolean => depth < o.maxDepth && h / scale.h >= 2 * o.minChildWeight && h > 0;

  while (level.length > 0) {
    let expansions: { node: OpenNode; split: Split }[] = [];
    for (const node of level) {
      const split = bestSplit(node.hist, node.g, node.h, feats, bins, scale, o);
      if (split !== null && split.gain > MIN_GAIN && split.gain >= o.gamma) expansions.push({ node, split });
      else {
        leaf(node.id, node.g, node.h);
        grower.pool.push(node.hist);
      }
    }
    if (o.maxLeaves > 0) {
      // Leaves so far (this level's nodes that do not split included) plus one per open node; each split adds one.
      const room = o.maxLeaves - (leaves.length + expansions.length);
      expansions.sort((a, b) => b.split.gain - a.split.gain || a.node.id - b.node.id);
      for (const { node } of expansions.slice(Math.max(0, room))) {
        leaf(node.id, node.g, node.h);
        grower.pool.push(node.hist);
      }
      expansions = expansions.slice(0, Math.max(0, room)).sort((a, b) => a.node.id - b.node.id);
    }
    const splits: number[] = [];
    const builds: { parent: OpenNode; built: number; other: number; builtG: number; builtH: number; otherG: number; otherH: number; depth: number }[] = [];
    const next: OpenNode[] = [];
    for (const { node, split } of expansions) {
      const l = feature.length;
      const r = l + 1;
      for (const id of [l, r]) {
        feature[id] = -1;
        bin[id] = 0;
        missingLeft[id] = 0;
        left[id] = -1;
        right[id] = -1;
        value[id] = 0;
      }
      feature[node.id] = split.feature;
      bin[node.id] = split.bin;
      missingLeft[node.id] = split.missingLeft;
      left[node.id] = l;
      right[node.id] = r;
      const gl = split.gLeft;
      const hl = split.hLeft;
      const gr = node.g - gl;
      const hr = node.h - hl;
      cover[l] = hl / scale.h;
      cover[r] = hr / scale.h;
      const depth = node.depth + 1;
      const childrenSplit = canSplit(depth, hl) || canSplit(depth, hr);
      // The rows' codes and gradients move with them only when a child may be split.
      splits.push(node.id, split.feature, split.bin, split.missingLeft, l, r, childrenSplit ? 1 : 0);
      if (childrenSplit) {
        // Build the child of smaller hessian sum from its rows; its sibling is the parent less it.
        const leftSmaller = hl <= hr;
        builds.push({
          parent: node,
          built: leftSmaller ? l : r,
          other: leftSmaller ? r : l,
          builtG: leftSmaller ? gl : gr,
          builtH: leftSmaller ? hl : hr,
          otherG: leftSmaller ? gr : gl,
          otherH: leftSmaller ? hr : hl,
          depth,
        });
      } else {
        leaf(l, gl, hl);
        leaf(r, gr, hr);
        grower.pool.push(node.hist);
      }
    }
    if (splits.length === 0) break;
    let first = true;
    for (let b0 = 0; first || b0 < builds.length; b0 += grower.slots) {
      const batch = builds.slice(b0, b0 + grower.slots);
      await shards.run({ op: 'level', splits: Int32Array.from(first ? splits : []), builds: Int32Array.from(batch, (b) => b.built), feats });
      first = false;
      batch.forEach((b, slot) => {
        const builtHist = gatherHistogram(grower, slot, takeHistogram(grower));
        const otherHist = b.parent.hist;
        for (let i = 0; i < otherHist.length; i++) otherHist[i] = (otherHist[i] as number) - (builtHist[i] as number);
        for (const [id, g, h, hist] of [
          [b.built, b.builtG, b.builtH, builtHist],
          [b.other, b.otherG, b.otherH, otherHist],
        ] as const) {
          if (canSplit(b.depth, h)) next.push({ id, depth: b.depth, hist, g, h });
          else {
            leaf(id, g, h);
            grower.pool.push(hist);
          }
        }
      });
    }
    level = next.sort((a, b) => a.id - b.id);
  }

  for (const v of value) {
    if (!Number.isFinite(v)) {
      throw new KairosError('CONVERGENCE', `a leaf value of the boosted trees is ${v}`, {
        hint: 'lower learningRate, raise lambda or minChildWeight, or check the labels and weights for extreme values',
      });
    }
  }
  const binTree: BinTree = {
    feature: Int32Array.from(feature),
    bin: Int32Array.from(bin),
    missingLeft: Uint8Array.from(missingLeft),
    left: Int32Array.from(left),
    right: Int32Array.from(right),
    value: Float64Array.from(value),
  };
  const tree: Tree = {
    feature: Int32Array.from(feature, (f) => (f < 0 ? -1 : (bins.kept[f] as number))),
    threshold: Float64Array.from(feature, (f, i) => (f < 0 ? 0 : ((bins.lower[f] as Float64Array)[bin[i] as number] as number))),
    missingLeft: binTree.missingLeft,
    left: binTree.left,
    right: binTree.right,
    value: binTree.value,
    cover: Float64Array.from(cover),
  };
  return { tree, binTree, leaves: Int32Array.from(leaves).sort() };
}

/** Features of one tree: all, or a sorted draw of round(colsampleByTree * p) of them (at least one). */
function drawFeatures(p: number, share: number, rng: Rng): Int32Array {
  const all = Int32Array.from({ length: p }, (_, i) => i);
  if (share >= 1) return all;
  const k = Math.max(1, Math.round(share * p));
  for (let i = 0; i < k; i++) {
    const j = i + Math.floor(rng.uniform() * (p - i));
    const t = all[i] as number;
    all[i] = all[j] as number;
    all[j] = t;
  }
  return all.subarray(0, k).sort();
}

/** Adds one tree's leaf values to `margin`, routing each row of `columns` on the raw scale as tree.ts does. */
export function addTreeMargins(tree: Tree, columns: readonly (Float64Array | Float32Array)[], margin: Float64Array): void {
  const { feature, threshold, missingLeft, left, right, value } = tree;
  const n = margin.length;
  for (let r = 0; r < n; r++) {
    let i = 0;
    let next = left[0] as number;
    while (next >= 0) {
      const x = (columns[feature[i] as number] as Float64Array | Float32Array)[r] as number;
      if (x < (threshold[i] as number)) i = next;
      else if (x === x || missingLeft[i] === 0) i = right[i] as number;
      else i = next;
      next = left[i] as number;
    }
    margin[r] = (margin[r] as number) + (value[i] as number);
  }
}

/** Weighted mean of a row loss over rows (weights 1 when absent). */
function meanLoss(objective: Objective, power: number, labels: Float64Array, margin: Float64Array, weights: Float64Array | undefined): number {
  const code = OBJECTIVES[objective].code;
  let sum = 0;
  let sumW = 0;
  for (let r = 0; r < labels.length; r++) {
    const w = weights === undefined ? 1 : (weights[r] as number);
    sum += w * rowLoss(code, power, labels[r] as number, margin[r] as number);
    sumW += w;
  }
  return OBJECTIVES[objective].report(sum / sumW);
}

/**
 * Trains boosted trees on `train` (column-major, NaN = missing) and `labels`, optionally weighted (`options.weights`),
 * watching `validation` when given (early stopping). Deterministic for given data, options and seed, whatever
 * `threads`. Throws a KairosError for invalid data or options, and for a fit whose numbers stop being finite.
 */
export async function trainGbdt(
  train: FeatureMatrix,
  labels: Float64Array,
  options: Partial<GbdtOptions> & { readonly weights?: Float64Array } = {},
  validation?: ValidationSet,
): Promise<GbdtFit> {
  const started = performance.now();
  const { weights, ...hyper } = options;
  const o = resolveOptions(hyper);
  const spec = OBJECTIVES[o.objective];
  checkMatrix(train, 'training matrix');
  const n = train.rows;
  if (n < 2) throw new KairosError('INSUFFICIENT_DATA', `boosted trees need at least 2 training rows (got ${n})`);
  checkLabels(o.objective, labels, weights, n, 'training labels');
  let sumW = 0;
  let sumWY = 0;
  for (let r = 0; r < n; r++) {
    const w = weights === undefined ? 1 : (weights[r] as number);
    sumW += w;
    sumWY += w * (labels[r] as number);
  }
  if (!(sumW > 0)) throw new KairosError('VALIDATION', 'training weights: every weight is 0', { hint: 'give some rows a positive weight' });
  const baseMargin = spec.baseMargin(sumWY / sumW);
  const validColumns = validation === undefined ? null : columnsFor(validation.matrix, train.names, 'validation matrix');
  if (validation !== undefined) {
    checkLabels(o.objective, validation.labels, validation.weights, validation.matrix.rows, 'validation labels');
    const w = validation.weights;
    if (!(w === undefined ? validation.matrix.rows > 0 : w.some((v) => v > 0))) {
      throw new KairosError('VALIDATION', 'the validation set has no rows (or no positive weight)', { hint: 'give validation rows, or none at all' });
    }
  }

  const blocks = Math.ceil(n / BLOCK);
  const threads = n < o.parallelMinRows ? 1 : Math.max(1, Math.min(o.threads, blocks));
  const shared = threads > 1;
  const bins = binMatrix(train, o.maxBins, shared);
  const p = bins.kept.length;
  if (p === 0) {
    throw new KairosError('INSUFFICIENT_DATA', `no feature can separate two training rows (dropped: ${bins.dropped.join(', ')})`, {
      hint: 'give features that vary between rows',
    });
  }
  // 256 slots of (gradient, hessian) per feature (kernels.ts buildHistogram).
  const histSize = 512 * p;
  const slots = Math.max(1, Math.min(MAX_SLOTS, 2 ** (o.maxDepth - 2)));
  const maxNodes = Math.min(2 ** (o.maxDepth + 1), 4 * n);

  const codes = allocate(Uint8Array, 1, n * bins.stride, shared);
  const labelsShared = allocate(Float64Array, 8, n, shared);
  labelsShared.set(labels);
  let weightsShared: Float64Array | null = null;
  if (weights !== undefined) {
    weightsShared = allocate(Float64Array, 8, n, shared);
    weightsShared.set(weights);
  }
  const margin = allocate(Float64Array, 8, n, shared).fill(baseMargin);
  const grad = allocate(Float64Array, 8, 2 * n, shared);
  const gh = allocate(Int32Array, 4, 2 * n, shared);
  const rowIndex = allocate(Uint32Array, 4, n, shared);
  const mask = o.subsample < 1 ? allocate(Uint8Array, 1, n, shared) : null;
  const blockLoss = allocate(Float64Array, 8, blocks, shared);
  const blocksPerShard = Math.ceil(blocks / threads);
  const inits: ShardInit[] = [];
  for (let k = 0; k < threads; k++) {
    inits.push({
      begin: Math.min(n, k * blocksPerShard * BLOCK),
      end: Math.min(n, (k + 1) * blocksPerShard * BLOCK),
      p,
      stride: bins.stride,
      binnedRows: bins.codes,
      codes,
      missingCode: bins.valueBins,
      labels: labelsShared,
      weights: weightsShared,
      margin,
      grad,
      gh,
      rowIndex,
      mask,
      blockLoss,
      block: BLOCK,
      hist: allocate(Float64Array, 8, slots * histSize, shared),
      histSize,
      maxNodes,
    });
  }

  const rng = createRng(o.seed);
  const trees: Tree[] = [];
  const trainLoss: number[] = [];
  const validLoss: number[] = [];
  const validMargin = validation === undefined ? null : new Float64Array(validation.matrix.rows).fill(baseMargin);
  let bestRound = 0;
  let bestMargin: Float64Array | null = null;
  let stoppedEarly = false;
  // Per-row gradient cap: sums of up to n of them stay exact in doubles (2^53), each fits an Int32.
  const cap = Math.min(2 ** 31 - 1, Math.floor(2 ** 53 / n));
  const shards = openShards(inits);
  try {
    const grower: Grower = { shards, bins, histSize, slots, o, pool: [] };
    let last: { binTree: BinTree; leaves: Int32Array } | null = null;
    for (let round = 0; ; round++) {
      const ranges = await shards.run({ op: 'gradients', objective: spec.code, power: o.tweediePower, leaves: last?.leaves ?? null, tree: last?.binTree ?? null });
      if (round > 0) {
        let sum = 0;
        for (let b = 0; b < blocks; b++) sum += blockLoss[b] as number;
        const loss = spec.report(sum / sumW);
        if (!Number.isFinite(loss)) {
          throw new KairosError('CONVERGENCE', `the training loss is ${loss} after round ${round}`, {
            hint: 'lower learningRate or raise lambda; for Tweedie, check the labels for extreme values',
            details: { trainLoss },
          });
        }
        trainLoss.push(loss);
        if (validation !== undefined && validMargin !== null && validColumns !== null) {
          addTreeMargins(trees[round - 1] as Tree, validColumns, validMargin);
          const v = meanLoss(o.objective, o.tweediePower, validation.labels, validMargin, validation.weights);
          validLoss.push(v);
          if (bestRound === 0 || v < (validLoss[bestRound - 1] as number)) {
            bestRound = round;
            bestMargin = margin.slice();
          } else if (o.earlyStoppingRounds > 0 && round - bestRound >= o.earlyStoppingRounds) {
            stoppedEarly = true;
            break;
          }
        } else bestRound = round;
      }
      if (round === o.rounds) break;
      let maxG = 0;
      let maxH = 0;
      for (const r of ranges) {
        maxG = Math.max(maxG, r?.maxG ?? 0);
        maxH = Math.max(maxH, r?.maxH ?? 0);
      }
      if (!(Number.isFinite(maxG) && Number.isFinite(maxH))) {
        throw new KairosError('CONVERGENCE', `the gradients are not finite at round ${round + 1}`, { hint: 'lower learningRate or raise lambda' });
      }
      if (mask !== null) for (let r = 0; r < n; r++) mask[r] = rng.uniform() < o.subsample ? 1 : 0;
      const feats = drawFeatures(p, o.colsampleByTree, rng);
      const grown = await growTree(grower, feats, { g: powerOfTwoScale(maxG, cap), h: powerOfTwoScale(maxH, cap) });
      trees.push(grown.tree);
      last = grown;
    }
  } finally {
    await shards.close();
  }

  const rounds = trees.length;
  const kept = trees.slice(0, bestRound);
  const model: Ensemble = {
    objective: o.objective,
    ...(o.objective === 'tweedie' ? { tweediePower: o.tweediePower } : {}),
    baseMargin,
    featureNames: [...train.names],
    trees: kept,
  };
  const message = stoppedEarly
    ? `stopped after ${rounds} rounds: the validation ${spec.lossName} had not improved for ${o.earlyStoppingRounds} rounds; kept the ${bestRound} trees of the best round`
    : validation === undefined
      ? `ran ${rounds} rounds`
      : `ran ${rounds} rounds; kept the ${bestRound} trees of the least validation ${spec.lossName}`;
  return {
    model,
    trainMargin: bestMargin !== null && bestRound < rounds ? bestMargin : margin.slice(),
    diagnostics: {
      rounds,
      bestRound,
      trainLoss,
      validLoss,
      lossName: spec.lossName,
      stoppedEarly,
      seconds: (performance.now() - started) / 1000,
      droppedFeatures: [...bins.dropped],
      threads,
      message,
    },
  };
}

/** The model's margin of every row of `matrix` (matched to the model's features by name; NaN = missing). */
export function predictGbdtMargin(model: Ensemble, matrix: FeatureMatrix): Float64Array {
  const columns = columnsFor(matrix, model.featureNames, 'prediction matrix');
  const margin = new Float64Array(matrix.rows).fill(model.baseMargin);
  for (const tree of model.trees) addTreeMargins(tree, columns, margin);
  return margin;
}

/** The model's prediction of every row of `matrix`: a probability (logistic), a mean (tweedie) or a value (squared). */
export function predictGbdt(model: Ensemble, matrix: FeatureMatrix): Float64Array {
  const margin = predictGbdtMargin(model, matrix);
  for (let r = 0; r < margin.length; r++) margin[r] = fromMargin(model.objective, margin[r] as number);
  return margin;
}
