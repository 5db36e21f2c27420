// The scoring runs as readers see them (kairos runs, kairos models, the API): status in words, fitted models per run.
import { KairosError } from '../errors.js';
import type { Store } from '../store/db.js';
import { processLives } from '../util/process.js';

/** One run as listed. `status`: completed, failed, running (PID n) while its process lives, failed (interrupted) after. */
export type RunRow = {
  readonly run_id: number;
  /** 'YYYY-MM-DD'. */
  readonly as_of: string;
  readonly status: string;
  readonly customers: number;
  readonly seconds: number | null;
  readonly data_fingerprint: string;
};

/** The most recent runs first (at most `limit`), or only run `runId`. */
export async function listRuns(store: Store, options: { limit?: number; runId?: number } = {}): Promise<RunRow[]> {
  // A store not yet migrated to schema 3 (opened read-only, so left as it is) records no process: no run of it computes.
  const hasPid = Number(await store.value(`SELECT count(*) FROM duckdb_columns() WHERE database_name = current_database() AND table_name = 'score_runs' AND column_name = 'pid'`)) > 0;
  const where = options.runId === undefined ? '' : 'WHERE run_id = ?';
  const params = [...(options.runId === undefined ? [] : [options.runId]), options.limit ?? 20];
  const runs = await store.all<RunRow & { pid: number | null }>(
    `SELECT run_id, strftime(as_of, '%Y-%m-%d') AS as_of, status, customers, round(epoch(finished_at) - epoch(started_at), 1) AS seconds,
       data_fingerprint, ${hasPid ? 'pid' : 'NULL::INTEGER AS pid'}
     FROM score_runs ${where} ORDER BY run_id DESC LIMIT ?`,
    params,
  );
  // A run still 'running' is computing while its process lives (it reads the store beside this one), and was
  // interrupted once it is gone.
  return runs.map(({ pid, ...r }) => (r.status === 'running' ? { ...r, status: processLives(pid) ? `running (PID ${pid})` : 'failed (interrupted)' } : r));
}

/** A fitted model as stored in model_fits (src/models/serialize.ts writes it). */
export interface StoredFitRecord {
  model: string;
  version: number;
  params: Record<string, number>;
  fittedAt: string;
  diagnostics: { logLik: number; converged: boolean; iterations: number; gradNorm: number; standardErrors: Record<string, number>; message: string; nObs: number };
  selection?: { model: string; holdoutMae: number | null; holdoutBrier?: number | null; penalty?: number; error?: string }[];
}

/** The fitted models of run `runId` (default: the latest run with fitted models), with the run's scorers. */
export async function fittedModels(store: Store, runId?: number): Promise<{ runId: number; scorers: unknown[]; fits: StoredFitRecord[] }> {
  const id = runId !== undefined ? runId : await store.value<number | null>('SELECT max(run_id) FROM model_fits');
  if (id === null || id === undefined || !Number.isInteger(id)) throw new KairosError('NOT_FOUND', 'no fitted model yet', { hint: 'run `kairos score`' });
  // JSON columns come back parsed (store/db.ts).
  const rows = await store.all<{ model: string; fit: StoredFitRecord }>('SELECT model, fit FROM model_fits WHERE run_id = ? ORDER BY model', [id]);
  if (rows.length === 0) throw new KairosError('NOT_FOUND', `run ${id} has no fitted model`);
  const scorers = await store.value<string>('SELECT scorers::VARCHAR FROM score_runs WHERE run_id = ?', [id]);
  return { runId: id, scorers: scorers ? (JSON.parse(scorers) as unknown[]) : [], fits: rows.map((r) => r.fit) };
}
