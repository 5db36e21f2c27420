// Row shards of the training set, each run by the kernels in the main thread or in a worker thread of its own.
//
// A tree takes about eight exchanges per round between the threads. Each side polls for the other's next message
// for a moment (SPIN_MS) before it sleeps: on a busy machine a sleeping thread waits for a core to wake up on, and
// that wait, paid at every exchange, cost more than the work (OpenMP's threads, XGBoost's, spin in the same way).
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';
import { KairosError } from '../errors.js';
import { shardState, shardStep, workerSource, type GradientRange, type ShardInit, type ShardMessage, type ShardState } from './kernels.js';

/** How long a thread polls for its next message before it sleeps, in milliseconds. */
const SPIN_MS = 2;

/** The shards of one training run: shard 0 runs in this thread, the others in workers. Close in `finally`. */
export interface Shards {
  readonly count: number;
  /** Each shard's histogram slots (shared with its worker). */
  readonly hists: readonly Float64Array[];
  /** Sends `msg` to every shard and resolves their answers in shard order. */
  run(msg: ShardMessage): Promise<(GradientRange | null)[]>;
  close(): Promise<void>;
}

interface Reply {
  readonly ok: boolean;
  readonly value?: GradientRange | null;
  readonly error?: string;
}

/** One worker, one message at a time; its answers come on a port of their own, polled before they are awaited. */
class ShardWorker {
  private readonly worker: Worker;
  private readonly replies: MessagePort;
  private pending: { resolve: (v: GradientRange | null) => void; reject: (e: Error) => void } | null = null;
  private failure: Error | null = null;

  constructor(source: string, init: ShardInit) {
    const { port1, port2 } = new MessageChannel();
    this.replies = port1;
    this.worker = new Worker(source, { eval: true, workerData: { init, replies: port2, spinMs: SPIN_MS }, transferList: [port2] });
    this.replies.on('message', (reply: Reply) => this.settle(reply));
    const fail = (err: Error): void => {
      this.failure = err;
      const p = this.pending;
      this.pending = null;
      p?.reject(new KairosError('INTERNAL', `a histogram worker stopped: ${err.message}`, { cause: err }));
    };
    this.worker.on('error', fail);
    this.worker.on('exit', (code) => {
      if (this.failure === null && this.pending !== null) fail(new Error(`exit code ${code}`));
    });
  }

  private settle(reply: Reply): void {
    const p = this.pending;
    this.pending = null;
    if (p === null) return;
    if (reply.ok) p.resolve(reply.value ?? null);
    else p.reject(new KairosError('INTERNAL', `a histogram worker failed: ${reply.error ?? 'no message'}`));
  }

  send(msg: ShardMessage): Promise<GradientRange | null> {
    if (this.failure !== null) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject };
      this.worker.postMessage(msg);
    });
  }

  /** Polls for the answer for up to SPIN_MS; true when it came (and settled the pending promise). */
  poll(): boolean {
    const until = performance.now() + SPIN_MS;
    do {
      const got = receiveMessageOnPort(this.replies);
      if (got !== undefined) {
        this.settle(got.message as Reply);
        return true;
      }
    } while (performance.now() < until && this.pending !== null);
    return this.pending === null;
  }

  async terminate(): Promise<void> {
    this.replies.close();
    await this.worker.terminate();
  }
}

/**
 * Opens one shard per entry of `inits`: the first in this thread, each other in a worker thread that shares the
 * arrays of its init (SharedArrayBuffers).
 */
export function openShards(inits: readonly ShardInit[]): Shards {
  const first = inits[0];
  if (first === undefined) throw new KairosError('INTERNAL', 'openShards: no shard');
  const local: ShardState = shardState(first);
  const source = inits.length > 1 ? workerSource() : '';
  const workers = inits.slice(1).map((init) => new ShardWorker(source, init));
  return {
    count: inits.length,
    hists: inits.map((i) => i.hist),
    async run(msg) {
      const others = workers.map((w) => w.send(msg));
      // The main thread's shard runs while the workers run theirs; a failure there still waits for them.
      let mine: GradientRange | null = null;
      let error: unknown = null;
      try {
        mine = shardStep(local, msg);
      } catch (err) {
        error = err;
      }
      for (const w of workers) w.poll();
      const answers = await Promise.all(others);
      if (error !== null) throw error;
      return [mine, ...answers];
    },
    async close() {
      await Promise.all(workers.map((w) => w.terminate()));
    },
  };
}
