// Implicit alternating least squares (Hu, Koren & Volinsky 2008) with a conjugate-gradient solver per row (Takacs, Pilaszy & Tikk 2011).
//
// Minimises sum_{u,i} c_ui (p_ui - x_u . y_i)^2 + lambda (sum_u ||x_u||^2 + sum_i ||y_i||^2) (HKV eq. 3) over every
// cell of the users x items matrix, with p_ui = 1 where r_ui > 0 (else 0) and c_ui = 1 + alpha r_ui. Each half-step
// fixes one side B and, per row a of the other, takes a few CG steps on (B^T C^a B + lambda I) a = B^T C^a p(a),
// warm-started at the current a; B^T C^a B = B^T B + B^T (C^a - I) B, with B^T B computed once per half-step (HKV
// section 4), so no dense users x items array is ever formed. Rows are spread over threads (kernels.ts alsRows).
import { availableParallelism } from 'node:os';
import { KairosError } from '../../errors.js';
import { createRng } from '../../math/random.js';
import { sharedFloat32, sharedFloat64, sharedInt32, type InteractionMatrix } from './interactions.js';
import { baseInit, blockBounds, chunkBounds, openPool } from './threads.js';

/** Progress of a long fit: called after each iteration with its number (1-based), seconds and objective (NaN when not computed). */
export type AlsProgress = (iteration: number, seconds: number, loss: number) => void;

/** Hyper-parameters of implicit ALS (and how to run: threads, progress). */
export interface AlsOptions {
  /** Latent factors f. */
  readonly factors: number;
  /** L2 penalty lambda on both factor matrices. */
  readonly regularization: number;
  /** Confidence slope: c = 1 + alpha r. */
  readonly alpha: number;
  /** Alternations (a user half-step and an item half-step each). */
  readonly iterations: number;
  /** Conjugate-gradient steps per row and half-step (Takacs et al. find 2-4 enough when warm-started). */
  readonly cgSteps: number;
  /** Seed of the initial item factors (uniform on [0, initScale)); user factors start at 0. */
  readonly seed: number;
  readonly initScale: number;
  /** Compute the objective after each iteration (one extra pass over the items: cheap). */
  readonly loss: boolean;
  readonly threads: number;
  /** Below this many non-zeros, one thread. */
  readonly parallelMinNnz: number;
  /** Called after each iteration (a full-size fit takes minutes); null: silent. */
  readonly onIteration: AlsProgress | null;
}

/** Defaults. lambda and alpha were chosen on the synthetic shop (synthetic.ts, 400 to 2,000 items): tune them per store. */
export const ALS_DEFAULTS: Readonly<AlsOptions> = {
  factors: 64,
  regularization: 30,
  alpha: 3,
  iterations: 15,
  cgSteps: 3,
  seed: 42,
  initScale: 0.01,
  loss: true,
  threads: availableParallelism(),
  parallelMinNnz: 200_000,
  onIteration: null,
};

/** Learned: user factors X (users x f) and item factors Y (items x f), row-major float32; and Y indexed for top-k. */
export interface AlsParams {
  readonly factors: number;
  readonly X: Float32Array;
  readonly Y: Float32Array;
  readonly byNorm: ItemsByNorm;
}

/** Y's rows by decreasing norm (ties by index), for the exact pruned top-k of kernels.ts (derived from Y). */
export interface ItemsByNorm {
  readonly Y: Float32Array;
  readonly order: Int32Array;
  readonly norm: Float64Array;
}

/** Indexes item factors for top-k: rows sorted by decreasing ||y||, so a scan can stop at ||x|| ||y|| < k-th best. */
export function itemsByNorm(Y: Float32Array, f: number): ItemsByNorm {
  const n = Y.length / f;
  const norms = new Float64Array(n);
  for (let j = 0; j < n; j++) {
    let s = 0;
    for (let t = 0; t < f; t++) s += (Y[j * f + t] as number) ** 2;
    norms[j] = Math.sqrt(s);
  }
  const order = sharedInt32(n);
  const ids = Array.from({ length: n }, (_, j) => j).sort((a, b) => (norms[b] as number) - (norms[a] as number) || a - b);
  order.set(ids);
  const sorted = sharedFloat32(n * f);
  const norm = sharedFloat64(n);
  ids.forEach((j, q) => {
    sorted.set(Y.subarray(j * f, (j + 1) * f), q * f);
    norm[q] = norms[j] as number;
  });
  return { Y: sorted, order, norm };
}

export interface AlsDiagnostics {
  readonly iterations: number;
  readonly secondsPerIteration: readonly number[];
  /** Objective (HKV eq. 3) after each iteration, divided by users x items; empty when not computed. */
  readonly loss: readonly number[];
  readonly nnz: number;
  readonly threads: number;
  readonly seconds: number;
}

function checkOptions(o: AlsOptions): void {
  const bad = (name: keyof AlsOptions, want: string): never => {
    throw new KairosError('VALIDATION', `als option ${name} must be ${want} (got ${String(o[name])})`);
  };
  if (!(Number.isInteger(o.factors) && o.factors >= 1 && o.factors <= 1024)) bad('factors', 'an integer in 1..1024');
  if (!(o.regularization > 0 && Number.isFinite(o.regularization))) bad('regularization', 'a positive number');
  if (!(o.alpha >= 0 && Number.isFinite(o.alpha))) bad('alpha', 'a number >= 0');
  if (!(Number.isInteger(o.iterations) && o.iterations >= 0)) bad('iterations', 'an integer >= 0');
  if (!(Number.isInteger(o.cgSteps) && o.cgSteps >= 1)) bad('cgSteps', 'an integer >= 1');
  if (!(o.initScale > 0)) bad('initScale', 'a positive number');
  if (!(Number.isInteger(o.threads) && o.threads >= 1)) bad('threads', 'an integer >= 1');
}

/** Rows per block of the Gram matrix sums, and chunks of rows per half-step: fixed, so sums are the same for any thread count. */
const GRAM_BLOCK = 8192;
const CHUNKS = 256;

/**
 * Fits implicit ALS: `iterations` alternations of a user half-step and an item half-step (HKV eq. 4 solved by CG,
 * Takacs et al. Algorithm 2), timed one by one, the objective after each. Throws CONVERGENCE, with the diagnostics,
 * when the factors stop being finite (try a larger regularization or a smaller alpha).
 */
export async function fitAls(m: InteractionMatrix, options: Partial<AlsOptions> = {}): Promise<{ params: AlsParams; diagnostics: AlsDiagnostics }> {
  const o: AlsOptions = { ...ALS_DEFAULTS, ...options };
  checkOptions(o);
  const t0 = performance.now();
  const f = o.factors;
  const threads = m.nnz < o.parallelMinNnz ? 1 : Math.max(1, o.threads);
  const X = sharedFloat32(m.users * f);
  const Y = sharedFloat32(m.items * f);
  const rng = createRng(o.seed);
  for (let t = 0; t < Y.length; t++) Y[t] = rng.uniform() * o.initScale;
  const userBlocks = blockBounds(m.users, GRAM_BLOCK);
  const itemBlocks = blockBounds(m.items, GRAM_BLOCK);
  const userChunks = chunkBounds(m.users, CHUNKS, (r) => r * f + (m.byUser.indptr[r] as number));
  const itemChunks = chunkBounds(m.items, CHUNKS, (r) => r * f + (m.byItem.indptr[r] as number));
  const gram = sharedFloat64(f * f);
  const gramParts = sharedFloat64(Math.max(userBlocks.length, itemBlocks.length) * f * f);
  const lossParts = sharedFloat64(Math.max(userChunks.length, itemChunks.length));
  const init = { ...baseInit(m), factors: f, X, Y, gram, gramParts, lossParts, alpha: o.alpha, cgSteps: o.cgSteps };
  const pool = openPool(init, threads);
  const secondsPerIteration: number[] = [];
  const loss: number[] = [];
  try {
    // G = F^T F + lambda I from the blocks' partial sums, in block order.
    const setGram = async (side: 0 | 1): Promise<void> => {
      const blocks = side === 0 ? itemBlocks : userBlocks;
      await pool.run({ op: 'gram', bounds: blocks, side, loss: false });
      gram.fill(0);
      for (let c = 0; c < blocks.length - 1; c++) {
        for (let t = 0; t < f * f; t++) gram[t] = (gram[t] as number) + (gramParts[c * f * f + t] as number);
      }
      for (let a = 0; a < f; a++) {
        for (let c = 0; c < a; c++) gram[a * f + c] = gram[c * f + a] as number;
        gram[a * f + a] = (gram[a * f + a] as number) + o.regularization;
      }
    };
    for (let it = 0; it < o.iterations; it++) {
      const ti = performance.now();
      await setGram(0);
      await pool.run({ op: 'als', bounds: userChunks, side: 0, loss: false });
      await setGram(1);
      lossParts.fill(0);
      await pool.run({ op: 'als', bounds: itemChunks, side: 1, loss: o.loss });
      secondsPerIteration.push((performance.now() - ti) / 1000);
      if (o.loss) {
        let total = 0;
        for (let c = 0; c < itemChunks.length - 1; c++) total += lossParts[c] as number;
        let xx = 0;
        for (let t = 0; t < X.length; t++) xx += (X[t] as number) ** 2;
        total += o.regularization * xx;
        loss.push(total / Math.max(1, m.users * m.items));
      }
      o.onIteration?.(it + 1, secondsPerIteration[it] as number, o.loss ? (loss[it] as number) : NaN);
      if (!Number.isFinite(Y[0] ?? 0) || (o.loss && !Number.isFinite(loss[loss.length - 1] as number))) {
        const diagnostics = { iterations: it + 1, secondsPerIteration, loss, nnz: m.nnz, threads, seconds: (performance.now() - t0) / 1000 };
        throw new KairosError('CONVERGENCE', `implicit ALS diverged at iteration ${it + 1}: the factors are no longer finite`, {
          details: { diagnostics },
          hint: 'try a larger regularization or a smaller alpha',
        });
      }
    }
  } finally {
    await pool.close();
  }
  return {
    params: { factors: f, X, Y, byNorm: itemsByNorm(Y, f) },
    diagnostics: { iterations: o.iterations, secondsPerIteration, loss, nnz: m.nnz, threads, seconds: (performance.now() - t0) / 1000 },
  };
}
