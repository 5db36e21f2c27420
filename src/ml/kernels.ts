// Row kernels of the boosted-tree learner (gradients, histograms, row partitions, margins), each run on one shard of rows.
// They are self-contained on purpose: worker threads run this same source, taken with Function.prototype.toString
// (shards.ts), so a kernel may call only the other functions of this file and globals such as Math: no import, no
// module constant, no type that does not erase.

/** Objectives as the kernels know them: 0 logistic, 1 squared, 2 Tweedie. */
export type ObjectiveCode = 0 | 1 | 2;

/** What a shard is given once: its rows [begin, end) and the shared arrays of the whole training set. */
export interface ShardInit {
  readonly begin: number;
  readonly end: number;
  /** Kept features, and bytes per row of codes (p rounded up to a multiple of 4, so a row is whole 32-bit words). */
  readonly p: number;
  readonly stride: number;
  /** The bins in row order, row-major (binning.ts): never changed. */
  readonly binnedRows: Uint8Array;
  /**
   * The bins of the row at each position of rowIndex: partitions move a row's codes with it, so that each node's rows
   * are contiguous and histograms read memory in order. Reset from binnedRows at each tree.
   */
  readonly codes: Uint8Array;
  /** Per feature: its number of value bins, which is its code for a missing value. */
  readonly missingCode: Int32Array;
  readonly labels: Float64Array;
  readonly weights: Float64Array | null;
  /** The ensemble's margin of every training row, updated after each tree. */
  readonly margin: Float64Array;
  /** Gradient and hessian of every row, interleaved, as computed. */
  readonly grad: Float64Array;
  /** The same at each position of rowIndex, rounded to integers on a power-of-two scale: their sums are exact whatever the order. */
  readonly gh: Int32Array;
  /** The row at each position; this shard's positions [begin, end) are partitioned by tree node. */
  readonly rowIndex: Uint32Array;
  /** 1 for the rows of the round's subsample, when subsampling. */
  readonly mask: Uint8Array | null;
  /** Weighted loss per block of `block` rows (shards start at multiples of `block`). */
  readonly blockLoss: Float64Array;
  readonly block: number;
  /** This shard's histograms, `slots` of `histSize` numbers each: 256 (gradient, hessian) pairs per feature. */
  readonly hist: Float64Array;
  readonly histSize: number;
  /** Most nodes a tree can have. */
  readonly maxNodes: number;
}

/** A shard's own working state. */
export interface ShardState extends ShardInit {
  /** Per code of the feature being split on: 1 when its rows go left (257: a feature may have 256 value bins). */
  readonly goesLeft: Uint8Array;
  readonly nodeBegin: Int32Array;
  readonly nodeEnd: Int32Array;
  /** 32-bit views of codes, and room for the rows that go right while a node is partitioned. */
  readonly words: Uint32Array;
  readonly tmp: Uint32Array;
  readonly tmpGh: Int32Array;
  readonly tmpWords: Uint32Array;
  sampledEnd: number;
}

/** A tree as the learner grows it: splits on bins (x goes left when its code is below `bin`). */
export interface BinTree {
  readonly feature: Int32Array;
  readonly bin: Int32Array;
  readonly missingLeft: Uint8Array;
  readonly left: Int32Array;
  readonly right: Int32Array;
  readonly value: Float64Array;
}

/** Messages to a shard, and what it answers. A level's splits are 7 numbers each: node, feature, bin, missingLeft, left, right, all (moveRows). */
export type ShardMessage =
  | { readonly op: 'gradients'; readonly objective: ObjectiveCode; readonly power: number; readonly leaves: Int32Array | null; readonly tree: BinTree | null }
  | { readonly op: 'root'; readonly scaleG: number; readonly scaleH: number; readonly feats: Int32Array }
  | { readonly op: 'level'; readonly splits: Int32Array; readonly builds: Int32Array; readonly feats: Int32Array };

/** A shard's answer to 'gradients': the largest |gradient| and hessian of its rows. */
export interface GradientRange {
  readonly maxG: number;
  readonly maxH: number;
}

/**
 * Loss of one row at margin m (weights apart), for the validation rows; computeGradients computes the same for the
 * training rows from the exponentials it already has (gbdt.test.ts checks that the two agree): logistic log(1 + e^m) - y m (the log-loss), squared (m - y)^2, Tweedie
 * -y e^{(1-rho) m} / (1 - rho) + e^{(2-rho) m} / (2 - rho) (its negative log-likelihood up to terms free of m, as
 * XGBoost's tweedie-nloglik).
 */
export function rowLoss(objective: ObjectiveCode, power: number, y: number, m: number): number {
  if (objective === 0) return (m > 0 ? m + Math.log1p(Math.exp(-m)) : Math.log1p(Math.exp(m))) - y * m;
  if (objective === 1) return (m - y) * (m - y);
  return (-y * Math.exp((1 - power) * m)) / (1 - power) + Math.exp((2 - power) * m) / (2 - power);
}

/** A shard's working state for its part of the shared arrays. */
export function shardState(init: ShardInit): ShardState {
  return {
    ...init,
    goesLeft: new Uint8Array(257),
    nodeBegin: new Int32Array(init.maxNodes),
    nodeEnd: new Int32Array(init.maxNodes),
    words: new Uint32Array(init.codes.buffer, init.codes.byteOffset, init.codes.byteLength >> 2),
    tmp: new Uint32Array(init.end - init.begin),
    tmpGh: new Int32Array(2 * (init.end - init.begin)),
    tmpWords: new Uint32Array(((init.end - init.begin) * init.stride) >> 2),
    sampledEnd: init.end,
  };
}

/**
 * Gradient and hessian of the loss in the margin, per row, weighted (logistic p - y and p (1 - p), p = 1 / (1 + e^-m);
 * squared m - y and 1, as XGBoost's reg:squarederror; Tweedie -y e^{(1-rho) m} + e^{(2-rho) m} and
 * -y (1 - rho) e^{(1-rho) m} + (2 - rho) e^{(2-rho) m}), and the weighted loss of each block of rows.
 */
export function computeGradients(s: ShardState, objective: ObjectiveCode, power: number): GradientRange {
  const y = s.labels;
  const w = s.weights;
  const margin = s.margin;
  const grad = s.grad;
  const blockLoss = s.blockLoss;
  const block = s.block;
  const end = s.end;
  let maxG = 0;
  let maxH = 0;
  for (let b0 = s.begin; b0 < end; b0 += block) {
    const b1 = Math.min(end, b0 + block);
    let loss = 0;
    for (let r = b0; r < b1; r++) {
      const m = margin[r] as number;
      const yr = y[r] as number;
      const wr = w === null ? 1 : (w[r] as number);
      let g: number;
      let h: number;
      let l: number;
      if (objective === 0) {
        // One exponential for p and the loss: softplus(m) = max(m, 0) + log(1 + e^-|m|).
        const e = Math.exp(m < 0 ? m : -m);
        const p = m < 0 ? e / (1 + e) : 1 / (1 + e);
        g = p - yr;
        h = Math.max(p * (1 - p), 1e-16);
        l = (m > 0 ? m : 0) + Math.log1p(e) - yr * m;
      } else if (objective === 1) {
        g = m - yr;
        h = 1;
        l = g * g;
      } else {
        const a = Math.exp((1 - power) * m);
        const b = Math.exp((2 - power) * m);
        g = -yr * a + b;
        h = -yr * (1 - power) * a + (2 - power) * b;
        l = (-yr * a) / (1 - power) + b / (2 - power);
      }
      g *= wr;
      h *= wr;
      grad[2 * r] = g;
      grad[2 * r + 1] = h;
      const ag = g < 0 ? -g : g;
      if (ag > maxG) maxG = ag;
      if (h > maxH) maxH = h;
      loss += wr * l;
    }
    blockLoss[b0 / block] = loss;
  }
  return { maxG, maxH };
}

/**
 * Puts the shard's rows back in the root node in row order (codes from binnedRows), then, when subsampling, the
 * subsample's rows first (moveRows on the mask).
 */
export function resetRows(s: ShardState): void {
  const idx = s.rowIndex;
  for (let r = s.begin; r < s.end; r++) idx[r] = r;
  s.codes.set(s.binnedRows.subarray(s.begin * s.stride, s.end * s.stride), s.begin * s.stride);
  s.nodeBegin[0] = s.begin;
  s.nodeEnd[0] = s.end;
  s.sampledEnd = s.end;
  if (s.mask !== null) {
    moveRows(s, 0, -1, 0, 1, 0, 1, 1);
    s.sampledEnd = s.nodeEnd[0] as number;
  }
}

/** Rounds the gradients and hessians of the rows at the shard's positions to integers on the scales given (powers of two). */
export function quantize(s: ShardState, scaleG: number, scaleH: number): void {
  const grad = s.grad;
  const gh = s.gh;
  const idx = s.rowIndex;
  for (let i = s.begin; i < s.end; i++) {
    const r = idx[i] as number;
    gh[2 * i] = Math.round((grad[2 * r] as number) * scaleG);
    gh[2 * i + 1] = Math.round((grad[2 * r + 1] as number) * scaleH);
  }
}

/**
 * Splits a node's positions, in order, between its children, moving each row's index and, with `all`, its codes and
 * gradients (not needed when neither child will be split): code < bin goes left, missing goes where missingLeft says
 * (the side of each code from a table, so the loop has one test). With feature -1, the side is the subsample mask's
 * (1 left), and the children may be the node itself and any other.
 */
export function moveRows(s: ShardState, node: number, feature: number, bin: number, missingLeft: number, left: number, right: number, all: number): void {
  const idx = s.rowIndex;
  const gh = s.gh;
  const codes = s.codes;
  const words = s.words;
  const tmp = s.tmp;
  const tmpGh = s.tmpGh;
  const tmpWords = s.tmpWords;
  const stride = s.stride;
  const w32 = stride >> 2;
  const goesLeft = s.goesLeft;
  const mask = s.mask;
  if (feature >= 0) {
    for (let c = 0; c < 256; c++) goesLeft[c] = c < bin ? 1 : 0;
    goesLeft[s.missingCode[feature] as number] = missingLeft;
  }
  const b = s.nodeBegin[node] as number;
  const e = s.nodeEnd[node] as number;
  let w = b;
  let t = 0;
  if (all === 0) {
    for (let i = b; i < e; i++) {
      if (goesLeft[codes[i * stride + feature] as number] === 1) idx[w++] = idx[i] as number;
      else tmp[t++] = idx[i] as number;
    }
    idx.set(tmp.subarray(0, t), w);
    s.nodeBegin[left] = b;
    s.nodeEnd[left] = w;
    s.nodeBegin[right] = w;
    s.nodeEnd[right] = e;
    return;
  }
  for (let i = b; i < e; i++) {
    const toLeft = feature >= 0 ? goesLeft[codes[i * stride + feature] as number] === 1 : (mask as Uint8Array)[idx[i] as number] === 1;
    if (toLeft) {
      if (w !== i) {
        idx[w] = idx[i] as number;
        gh[2 * w] = gh[2 * i] as number;
        gh[2 * w + 1] = gh[2 * i + 1] as number;
        for (let k = 0, from = i * w32, to = w * w32; k < w32; k++) words[to + k] = words[from + k] as number;
      }
      w++;
    } else {
      tmp[t] = idx[i] as number;
      tmpGh[2 * t] = gh[2 * i] as number;
      tmpGh[2 * t + 1] = gh[2 * i + 1] as number;
      for (let k = 0, from = i * w32, to = t * w32; k < w32; k++) tmpWords[to + k] = words[from + k] as number;
      t++;
    }
  }
  idx.set(tmp.subarray(0, t), w);
  gh.set(tmpGh.subarray(0, 2 * t), 2 * w);
  words.set(tmpWords.subarray(0, t * w32), w * w32);
  s.nodeBegin[left] = b;
  s.nodeEnd[left] = w;
  s.nodeBegin[right] = w;
  s.nodeEnd[right] = e;
}

/**
 * Sums the quantized gradients and hessians of a node's rows per bin of each feature in `feats`, into histogram
 * `slot`, reading the node's positions in order. Feature f's slots are [f * 256, f * 256 + 256): bins are bytes.
 * Unrolled by eight features: the loop is the learner's hot spot.
 */
export function buildHistogram(s: ShardState, node: number, feats: Int32Array, slot: number): void {
  const hist = s.hist.subarray(slot * s.histSize, (slot + 1) * s.histSize);
  const codes = s.codes;
  const gh = s.gh;
  const p = s.p;
  const stride = s.stride;
  const nf = feats.length;
  for (let j = 0; j < nf; j++) {
    const lo = (feats[j] as number) << 9;
    hist.fill(0, lo, lo + 512);
  }
  const b = s.nodeBegin[node] as number;
  const e = s.nodeEnd[node] as number;
  if (nf === p) {
    const p8 = p & ~7;
    for (let i = b; i < e; i++) {
      const g = gh[2 * i] as number;
      const h = gh[2 * i + 1] as number;
      const o = i * stride;
      let f = 0;
      for (; f < p8; f += 8) {
        const k0 = ((f << 8) + (codes[o + f] as number)) << 1;
        const k1 = (((f + 1) << 8) + (codes[o + f + 1] as number)) << 1;
        const k2 = (((f + 2) << 8) + (codes[o + f + 2] as number)) << 1;
        const k3 = (((f + 3) << 8) + (codes[o + f + 3] as number)) << 1;
        const k4 = (((f + 4) << 8) + (codes[o + f + 4] as number)) << 1;
        const k5 = (((f + 5) << 8) + (codes[o + f + 5] as number)) << 1;
        const k6 = (((f + 6) << 8) + (codes[o + f + 6] as number)) << 1;
        const k7 = (((f + 7) << 8) + (codes[o + f + 7] as number)) << 1;
        hist[k0] = (hist[k0] as number) + g;
        hist[k0 + 1] = (hist[k0 + 1] as number) + h;
        hist[k1] = (hist[k1] as number) + g;
        hist[k1 + 1] = (hist[k1 + 1] as number) + h;
        hist[k2] = (hist[k2] as number) + g;
        hist[k2 + 1] = (hist[k2 + 1] as number) + h;
        hist[k3] = (hist[k3] as number) + g;
        hist[k3 + 1] = (hist[k3 + 1] as number) + h;
        hist[k4] = (hist[k4] as number) + g;
        hist[k4 + 1] = (hist[k4 + 1] as number) + h;
        hist[k5] = (hist[k5] as number) + g;
        hist[k5 + 1] = (hist[k5 + 1] as number) + h;
        hist[k6] = (hist[k6] as number) + g;
        hist[k6 + 1] = (hist[k6 + 1] as number) + h;
        hist[k7] = (hist[k7] as number) + g;
        hist[k7 + 1] = (hist[k7 + 1] as number) + h;
      }
      for (; f < p; f++) {
        const k = ((f << 8) + (codes[o + f] as number)) << 1;
        hist[k] = (hist[k] as number) + g;
        hist[k + 1] = (hist[k + 1] as number) + h;
      }
    }
  } else {
    for (let i = b; i < e; i++) {
      const g = gh[2 * i] as number;
      const h = gh[2 * i + 1] as number;
      const o = i * stride;
      for (let j = 0; j < nf; j++) {
        const f = feats[j] as number;
        const k = ((f << 8) + (codes[o + f] as number)) << 1;
        hist[k] = (hist[k] as number) + g;
        hist[k + 1] = (hist[k + 1] as number) + h;
      }
    }
  }
}

/**
 * Adds a finished tree to the shard's margins: each leaf's value to the rows it holds, and, for the rows left out of
 * the subsample, the value of the leaf they reach down the tree.
 */
export function applyTree(s: ShardState, leaves: Int32Array, tree: BinTree): void {
  const idx = s.rowIndex;
  const margin = s.margin;
  for (let j = 0; j < leaves.length; j++) {
    const leaf = leaves[j] as number;
    const v = tree.value[leaf] as number;
    const e = s.nodeEnd[leaf] as number;
    for (let i = s.nodeBegin[leaf] as number; i < e; i++) {
      const r = idx[i] as number;
      margin[r] = (margin[r] as number) + v;
    }
  }
  const codes = s.codes;
  const stride = s.stride;
  const missingCode = s.missingCode;
  const end = s.end;
  for (let i = s.sampledEnd; i < end; i++) {
    const r = idx[i] as number;
    let node = 0;
    while ((tree.left[node] as number) >= 0) {
      const f = tree.feature[node] as number;
      const c = codes[i * stride + f] as number;
      const goLeft = c === (missingCode[f] as number) ? tree.missingLeft[node] === 1 : c < (tree.bin[node] as number);
      node = (goLeft ? tree.left[node] : tree.right[node]) as number;
    }
    margin[r] = (margin[r] as number) + (tree.value[node] as number);
  }
}

/** Runs one message on a shard: the same code in the main thread and in workers. */
export function shardStep(s: ShardState, msg: ShardMessage): GradientRange | null {
  if (msg.op === 'gradients') {
    if (msg.tree !== null && msg.leaves !== null) applyTree(s, msg.leaves, msg.tree);
    return computeGradients(s, msg.objective, msg.power);
  }
  if (msg.op === 'root') {
    resetRows(s);
    quantize(s, msg.scaleG, msg.scaleH);
    buildHistogram(s, 0, msg.feats, 0);
    return null;
  }
  const sp = msg.splits;
  for (let k = 0; k < sp.length; k += 7) {
    moveRows(s, sp[k] as number, sp[k + 1] as number, sp[k + 2] as number, sp[k + 3] as number, sp[k + 4] as number, sp[k + 5] as number, sp[k + 6] as number);
  }
  for (let j = 0; j < msg.builds.length; j++) buildHistogram(s, msg.builds[j] as number, msg.feats, j);
  return null;
}

/** The source a worker thread runs: these kernels and a loop answering the main thread's messages. */
export function workerSource(): string {
  const kernels = [shardState, computeGradients, resetRows, quantize, moveRows, buildHistogram, applyTree, shardStep];
  return [
    // Some TypeScript runners wrap inner functions in __name(fn, "name"): a no-op here.
    'var __name = (fn) => fn;',
    ...kernels.map(String),
    `const { parentPort, workerData, receiveMessageOnPort } = require('node:worker_threads');
const state = shardState(workerData.init);
const replies = workerData.replies;
function answer(msg) {
  try { replies.postMessage({ ok: true, value: shardStep(state, msg) }); }
  catch (err) { replies.postMessage({ ok: false, error: String((err && err.stack) || err) }); }
}
// After each answer, poll for the next message for a moment before sleeping in the event loop (shards.ts).
parentPort.on('message', (msg) => {
  answer(msg);
  let until = performance.now() + workerData.spinMs;
  while (performance.now() < until) {
    const next = receiveMessageOnPort(parentPort);
    if (next !== undefined) {
      answer(next.message);
      until = performance.now() + workerData.spinMs;
    }
  }
});`,
  ].join('\n');
}
