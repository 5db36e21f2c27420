// kairos serve's runner: one job at a time (scoring run or ingest) in a worker thread, its SQL on a second connection of the server's store.
import { Worker } from 'node:worker_threads';
import { MessageChannel } from 'node:worker_threads';
import type { KairosConfig } from '../config.js';
import { KairosError } from '../errors.js';
import { recoverInterruptedRuns } from '../scores/run.js';
import type { Store } from '../store/db.js';
import { deserialiseError, hostStore } from '../store/remote.js';
import type { JobState, RunJob, WorkerEvent } from './jobs.js';
import type { WorkerJob } from './run-worker.js';

/** Jobs kept for GET /jobs after they end. */
const KEPT = 50;

/** The worker's entry: the compiled file, or the TypeScript source through tsx (tests, `npx tsx`). */
function startWorker(): Worker {
  const here = import.meta.url;
  if (here.endsWith('.ts')) {
    const entry = new URL('./run-worker.ts', here).href;
    const tsx = import.meta.resolve('tsx/esm/api');
    return new Worker(`import(${JSON.stringify(tsx)}).then((t) => { t.register(); return import(${JSON.stringify(entry)}); })`, { eval: true });
  }
  return new Worker(new URL('./run-worker.js', here));
}

const iso = (ms: number): string => new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');

interface Current {
  readonly state: JobState;
  readonly started: number;
  readonly ended: Promise<void>;
}

/**
 * Runs jobs off the request path, one at a time: a second job while one runs is refused (BUSY, HTTP 503), not queued
 * (the schedule skips a tick, the watched folder's files wait for the next look). Jobs run in one worker thread, started
 * at the first job and kept (its modules load once), each on a fresh connection of the server's DuckDB instance
 * (Store.connectAgain, closed when the job ends, which rolls back whatever a dead worker left open):
 * the server's own connection keeps answering reads meanwhile, from the last published run (a run publishes in one
 * transaction at its end).
 */
export class Runner {
  private current: Current | null = null;
  private readonly finished: JobState[] = [];
  private nextId = 1;
  private stopping = false;
  private stopReason = 'the server is stopping';
  /** The worker thread, started at the first job and kept for the next ones (its modules load once: 1-3 s). */
  private worker: Worker | null = null;
  /** Where the worker's events go: the job in progress. */
  private onEvent: ((e: WorkerEvent) => void) | null = null;

  constructor(
    private readonly store: Store,
    /** Runs a function on the server's own connection (serialised with the requests). */
    private readonly db: <T>(fn: (store: Store) => Promise<T>) => Promise<T>,
    private readonly config: KairosConfig,
    private readonly log: (level: 'info' | 'error', message: string, details?: Record<string, unknown>) => void = () => {},
    /** Called when a job has ended (completed or failed), after it is listed: the server checks its serving snapshot. */
    private readonly onEnded: (job: { kind: string; status: string }) => void = () => {},
    /** Called when a run has made the serving snapshot of what it is about to publish (null: it could not, and why). */
    private readonly onSnapshot: (key: string | null, why: string | null) => void = () => {},
  ) {}

  /** The job in progress, or null. */
  active(): JobState | null {
    return this.current ? this.view(this.current.state, this.current.started) : null;
  }

  /** Whether an ingest job is in progress (its worker may commit a batch at any moment). */
  ingesting(): boolean {
    return this.current?.state.kind === 'ingest';
  }

  /** A job by id (in progress, or among the last ones ended). */
  job(jobId: number): JobState | undefined {
    if (this.current?.state.jobId === jobId) return this.active() ?? undefined;
    return this.finished.find((j) => j.jobId === jobId);
  }

  /** The job of a scoring run, when this server ran it (since it started). */
  jobOfRun(runId: number): JobState | undefined {
    if (this.current?.state.runId === runId) return this.active() ?? undefined;
    return this.finished.find((j) => j.runId === runId);
  }

  /** The jobs, newest first. */
  jobs(): JobState[] {
    const a = this.active();
    return [...(a ? [a] : []), ...[...this.finished].reverse()];
  }

  /** Throws BUSY when a job runs: for the request-path writes that must not change the data under a run. */
  checkIdle(what: string): void {
    const a = this.active();
    if (a) throw this.busy(a, what);
  }

  private busy(a: JobState, what: string): KairosError {
    const job = a.kind === 'score' ? `scoring run ${a.runId ?? '(starting)'}` : `ingest job ${a.jobId}`;
    return new KairosError('BUSY', `${what}: ${job} is in progress (${a.stage}, ${a.elapsedSeconds.toFixed(0)} s): one job at a time`, {
      details: { jobId: a.jobId, runId: a.runId, kind: a.kind },
      hint: 'try again when it is done: GET /runs/current shows its progress',
    });
  }

  /** The state with its elapsed time: to `finished` (ms) when given; finishedAt holds whole seconds, started does not. */
  private view(s: JobState, started: number, finished?: number): JobState {
    const end = finished ?? (s.finishedAt === null ? Date.now() : Math.max(started, Date.parse(s.finishedAt)));
    return { ...s, elapsedSeconds: Math.round((end - started) / 100) / 10 };
  }

  /**
   * Starts a job. A scoring run resolves once it has its run id (errors before that, such as a bad as-of or scorer
   * list, are thrown here); an ingest resolves at once. BUSY when a job runs or the server is stopping.
   */
  async start(job: RunJob, origin: string): Promise<JobState> {
    if (this.stopping) throw new KairosError('BUSY', 'the server is stopping: no new job', { hint: 'start it again once the server is back' });
    const a = this.active();
    if (a) throw this.busy(a, `cannot start a ${job.kind === 'score' ? 'scoring run' : 'ingest'}`);
    const started = Date.now();
    const state: JobState = {
      jobId: this.nextId++,
      kind: job.kind,
      runId: null,
      origin,
      status: 'running',
      stage: 'starting',
      done: 0,
      total: job.kind === 'ingest' ? job.files.length : 0,
      startedAt: iso(started),
      finishedAt: null,
      elapsedSeconds: 0,
      error: null,
      result: null,
    };
    // Taken before anything is awaited: a second start in the same tick is refused.
    let onStarted: (s: JobState) => void = () => {};
    let onFailedEarly: (e: KairosError) => void = () => {};
    const early = new Promise<JobState>((resolve, reject) => {
      onStarted = resolve;
      onFailedEarly = reject;
    });
    const ended = (async () => {
      let connection: Store | undefined;
      const channel = new MessageChannel();
      let unhost = (): void => {};
      let outcome: 'done' | 'failed' | null = null;
      try {
        connection = await this.store.connectAgain();
        unhost = hostStore(connection, channel.port1);
        const worker = this.ensureWorker();
        await new Promise<void>((resolve) => {
          this.onEvent = (e) => {
            if (e.kind === 'started') {
              state.runId = e.runId;
              state.stage = 'started';
              onStarted(this.view(state, started));
            } else if (e.kind === 'snapshot') {
              this.onSnapshot(e.key, e.why);
            } else if (e.kind === 'progress') {
              state.stage = e.stage;
              state.done = e.done;
              state.total = e.total;
            } else {
              outcome = e.kind === 'done' ? 'done' : 'failed';
              if (e.kind === 'done') {
                state.result = e.result;
                state.done = state.total;
              } else state.error = e.error;
              this.onEvent = null;
              resolve();
            }
          };
          const message: WorkerJob = { kind: 'job', storePath: this.store.path, storePort: channel.port2, job, config: this.config };
          worker.postMessage(message, [channel.port2]);
          if (this.stopping) worker.postMessage({ kind: 'stop', reason: this.stopReason });
        });
      } catch (err) {
        outcome = 'failed';
        state.error = { code: 'INTERNAL', message: `the job could not start: ${(err as Error).message}` };
      } finally {
        unhost();
        channel.port1.close();
        // Closing the job's connection rolls back whatever it left open (a transaction of a worker that died).
        connection?.close();
      }
      state.status = (outcome as 'done' | 'failed' | null) === 'done' ? 'completed' : 'failed';
      const finished = Date.now();
      state.finishedAt = iso(finished);
      if (state.status === 'failed' && state.kind === 'score' && state.runId !== null && state.error?.code === 'INTERNAL') {
        // A worker that died leaves its run 'running' under this live process: marked failed now, its rows removed.
        await this.db((s) => s.transaction(() => recoverInterruptedRuns(s))).catch(() => undefined);
      }
      const view = this.view(state, started, finished);
      this.finished.push(view);
      if (this.finished.length > KEPT) this.finished.shift();
      this.current = null;
      this.log(view.status === 'completed' ? 'info' : 'error', `job ${view.jobId} (${view.kind}${view.runId === null ? '' : `, run ${view.runId}`}) ${view.status}`, {
        origin,
        seconds: view.elapsedSeconds,
        ...(view.error ? { error: view.error } : {}),
      });
      this.onEnded(view);
      if (job.kind === 'score' && state.runId === null && state.status === 'failed' && state.error) onFailedEarly(deserialiseError(state.error));
      onStarted(view);
    })();
    this.current = { state, started, ended };
    if (job.kind === 'ingest') return this.view(state, started);
    return early;
  }

  private ensureWorker(): Worker {
    if (this.worker) return this.worker;
    const w = startWorker();
    w.on('message', (e: WorkerEvent) => this.onEvent?.(e));
    w.on('error', (err) => this.onEvent?.({ kind: 'failed', error: { code: 'INTERNAL', message: `the job's worker failed: ${err.message}` } }));
    w.on('exit', (code) => {
      if (this.worker === w) this.worker = null;
      this.onEvent?.({ kind: 'failed', error: { code: 'INTERNAL', message: `the job's worker stopped (exit code ${code})` } });
    });
    // An idle worker does not keep the process alive (stop() ends it).
    w.unref();
    this.worker = w;
    return w;
  }

  /** Resolves when the job in progress (if any) has ended. */
  async idle(): Promise<void> {
    await this.current?.ended;
  }

  /**
   * Stops taking jobs and asks the one in progress to stop: a scoring run stops at its next step (marked failed, the
   * store as before it) unless it is publishing, then completes; an ingest (one transaction) finishes. Resolves when
   * it has ended.
   */
  async stop(reason = 'the server is stopping'): Promise<void> {
    this.stopping = true;
    this.stopReason = reason;
    const c = this.current;
    if (c) {
      this.worker?.postMessage({ kind: 'stop', reason });
      await c.ended;
    }
    await this.worker?.terminate();
    this.worker = null;
  }
}
