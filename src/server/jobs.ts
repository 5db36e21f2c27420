// The jobs kairos serve runs off the request path (a scoring run, an ingest of files) and what its worker thread reports.
import type { SerialisedError } from '../store/remote.js';

/** A scoring run, as `kairos score` takes it. */
export interface ScoreJob {
  readonly kind: 'score';
  readonly asOf?: string;
  readonly scorers?: readonly string[];
}

/** An ingest of files on the server (a watched folder's, one given by path, or a request body written to a file). */
export interface IngestJob {
  readonly kind: 'ingest';
  readonly entity: string;
  readonly files: readonly string[];
  /** Where the rejects files go (default: kairos-rejects beside the store). */
  readonly rejectsDir?: string;
}

export type RunJob = ScoreJob | IngestJob;

/** What the worker says: the run's id once it has one, each step, and how it ended. */
export type WorkerEvent =
  | { readonly kind: 'started'; readonly runId: number }
  | { readonly kind: 'progress'; readonly stage: string; readonly done: number; readonly total: number }
  /** The serving snapshot of the state the run is about to publish is made (its key), or could not be (null: the server makes one after). */
  | { readonly kind: 'snapshot'; readonly key: string | null; readonly why: string | null }
  | { readonly kind: 'done'; readonly result: unknown }
  | { readonly kind: 'failed'; readonly error: SerialisedError };

/** A job as the API shows it. */
export interface JobState {
  readonly jobId: number;
  readonly kind: RunJob['kind'];
  /** The scoring run's id (score jobs, once started). */
  runId: number | null;
  /** What started it: 'api', 'schedule', 'watch'. */
  readonly origin: string;
  status: 'running' | 'completed' | 'failed';
  /** The step in progress (the last one when finished), e.g. "scoring clv", "clv: fitting bg-nbd on 1,000 customers". */
  stage: string;
  /** Steps done of total: scorers for a run, files for an ingest. */
  done: number;
  total: number;
  /** ISO timestamps. */
  readonly startedAt: string;
  finishedAt: string | null;
  /** Seconds since the start (to the finish when finished). */
  elapsedSeconds: number;
  error: SerialisedError | null;
  /** The run's summary or the ingest's report, when completed. */
  result: unknown;
}
