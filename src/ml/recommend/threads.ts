// The recommenders' threads: this one and workers that run kernels.ts on shared arrays, taking chunks of rows from a shared counter.
//
// Chunks go to whichever thread is free (an Atomics counter), so a core slowed by another job on the machine takes
// fewer; each row's result depends on its row alone, so the answer is the same for any number of threads.
import { Worker } from 'node:worker_threads';
import { KairosError } from '../../errors.js';
import { kernelState, kernelStep, workerSource, type KernelInit, type KernelMessage } from './kernels.js';

/** Threads open for one fit or one recommending run. Close in `finally`. */
export interface Pool {
  readonly threads: number;
  /** Runs every chunk of `msg` on all threads and resolves when they are done. */
  run(msg: KernelMessage): Promise<void>;
  close(): Promise<void>;
}

interface Reply {
  readonly ok: boolean;
  readonly error?: string;
}

class KernelWorker {
  private readonly worker: Worker;
  private pending: { resolve: () => void; reject: (e: Error) => void } | null = null;
  private failure: Error | null = null;

  constructor(source: string, init: KernelInit) {
    this.worker = new Worker(source, { eval: true, workerData: init });
    this.worker.on('message', (reply: Reply) => {
      const p = this.pending;
      this.pending = null;
      if (p === null) return;
      if (reply.ok) p.resolve();
      else p.reject(new KairosError('INTERNAL', `a recommender worker failed: ${reply.error ?? 'no message'}`));
    });
    const fail = (err: Error): void => {
      this.failure = err;
      const p = this.pending;
      this.pending = null;
      p?.reject(new KairosError('INTERNAL', `a recommender worker stopped: ${err.message}`, { cause: err }));
    };
    this.worker.on('error', fail);
    this.worker.on('exit', (code) => {
      if (this.failure === null && this.pending !== null) fail(new Error(`exit code ${code}`));
    });
  }

  send(msg: KernelMessage): Promise<void> {
    if (this.failure !== null) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject };
      this.worker.postMessage(msg);
    });
  }

  terminate(): Promise<number> {
    return this.worker.terminate();
  }
}

/**
 * Opens `threads` threads over `init`: this one and threads - 1 workers, which see the same arrays when they live on
 * SharedArrayBuffers (interactions.ts allocates them so). With one thread, no worker is started.
 */
export function openPool(init: KernelInit, threads: number): Pool {
  const local = kernelState(init);
  const source = threads > 1 ? workerSource() : '';
  const workers = Array.from({ length: threads - 1 }, () => new KernelWorker(source, init));
  return {
    threads,
    async run(msg) {
      Atomics.store(init.counter, 0, 0);
      const others = workers.map((w) => w.send(msg));
      let error: unknown = null;
      try {
        kernelStep(local, msg);
      } catch (err) {
        error = err;
      }
      await Promise.all(others);
      if (error !== null) throw error;
    },
    async close() {
      await Promise.all(workers.map((w) => w.terminate()));
    },
  };
}

/**
 * Boundaries of `chunks` chunks of rows 0..rows-1 with about equal work each, work(r) being the work of rows [0, r)
 * (non-decreasing, work(0) = 0): fewer chunks when there are fewer rows.
 */
export function chunkBounds(rows: number, chunks: number, work: (r: number) => number): Int32Array {
  const n = Math.max(1, Math.min(chunks, rows));
  const total = work(rows);
  const bounds = new Int32Array(n + 1);
  let r = 0;
  for (let c = 1; c < n; c++) {
    const target = (total * c) / n;
    while (r < rows && work(r) < target) r++;
    bounds[c] = Math.max(r, bounds[c - 1] as number);
  }
  bounds[n] = rows;
  return bounds;
}

/** Fixed blocks of `block` rows (the Gram matrix is summed per block, in block order: the same for any thread count). */
export function blockBounds(rows: number, block: number): Int32Array {
  const n = Math.max(1, Math.ceil(rows / block));
  const bounds = new Int32Array(n + 1);
  for (let c = 1; c <= n; c++) bounds[c] = Math.min(rows, c * block);
  return bounds;
}

/** A KernelInit with nothing but the interactions; each phase fills in its own arrays. */
export function baseInit(m: { users: number; items: number; byUser: { indptr: Int32Array; indices: Int32Array; data: Float32Array }; byItem: { indptr: Int32Array; indices: Int32Array; data: Float32Array } }): KernelInit {
  return {
    users: m.users,
    items: m.items,
    counter: new Int32Array(new SharedArrayBuffer(4)),
    uPtr: m.byUser.indptr,
    uIdx: m.byUser.indices,
    uVal: m.byUser.data,
    iPtr: m.byItem.indptr,
    iIdx: m.byItem.indices,
    iVal: m.byItem.data,
    wU: null,
    wI: null,
    neighbours: 0,
    nbrIdx: null,
    nbrSim: null,
    nbrCount: null,
    knnMinSupport: 1,
    knnShrink: 0,
    factors: 0,
    X: null,
    Y: null,
    yByNorm: null,
    normOrder: null,
    normOf: null,
    gram: null,
    gramParts: null,
    lossParts: null,
    alpha: 0,
    cgSteps: 0,
    scorer: 0,
    k: 0,
    outItems: null,
    outScores: null,
    outBecause: null,
    popOrder: null,
    popScore: null,
    popSegment: null,
    fallbackOrder: null,
    excludeBought: 0,
    bPtr: null,
    bIdx: null,
    repurchasable: null,
    recommendable: null,
  };
}
