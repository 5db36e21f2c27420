// Who moved between two values of a categorical score (a lifecycle stage, an RFM segment) from the scorer's previous run to a run.
import { KairosError } from '../errors.js';
import { quoteIdentifier, type Store } from '../store/db.js';
import { latestSummarisedRun, runSummaries } from './summaries.js';

export interface Transitions {
  readonly score: string;
  readonly runId: number;
  readonly previousRunId: number;
  /** Customers scored in both runs, by (value before, value now), largest first. */
  readonly counts: readonly { readonly from: string; readonly to: string; readonly customers: number }[];
  /** With a from and a to: the customers who made that move, by id (at most `limit`). */
  readonly customers: readonly string[] | null;
}

/**
 * The moves of `score` between its scorer's previous run and `runId` (default: the latest run that summarised it), from
 * the run's stored migration; with `from` and `to`, the ids of the customers who made that move, read from the
 * scorer's results of the two runs (bound values, the column from the run's own summaries).
 */
export async function transitions(store: Store, score: string, options: { runId?: number; from?: string; to?: string; limit?: number } = {}): Promise<Transitions> {
  // By default the latest run that summarised this score (a later run of other scorers only did not).
  const latestOfScore = await store.value<number | null>(
    `SELECT max(run_id) FROM run_summaries WHERE column_name = ? AND run_id IN (SELECT run_id FROM score_runs WHERE status = 'completed')`,
    [score],
  );
  const runId = options.runId ?? (latestOfScore === null ? await latestSummarisedRun(store) : Number(latestOfScore));
  if (runId === null || runId === undefined) throw new KairosError('NOT_FOUND', 'no run has summaries yet', { hint: 'run kairos score' });
  const summaries = await runSummaries(store, runId);
  const entry = summaries.get(score);
  if (!entry || entry.summary.kind !== 'category') {
    const categorical = [...summaries.entries()].filter(([, v]) => v.summary.kind === 'category').map(([k]) => k);
    throw new KairosError('USAGE', `run ${runId} has no categorical score "${score}"`, { hint: `categorical scores of that run: ${categorical.join(', ') || 'none'}` });
  }
  const previous = entry.summary.previous;
  if (previous === null) throw new KairosError('NOT_FOUND', `${score} of run ${runId} has no earlier run to compare with`, { hint: 'transitions need two runs of the scorer' });
  const counts = [...previous.migration].sort((a, b) => b.customers - a.customers || a.from.localeCompare(b.from) || a.to.localeCompare(b.to));
  let customers: string[] | null = null;
  if (options.from !== undefined && options.to !== undefined) {
    const values = new Set(counts.flatMap((c) => [c.from, c.to]));
    for (const v of [options.from, options.to]) {
      if (!values.has(v)) throw new KairosError('USAGE', `"${v}" is not a value of ${score} in runs ${previous.runId} and ${runId}`, { hint: `values: ${[...values].filter(Boolean).sort().join(', ')}` });
    }
    const t = quoteIdentifier(entry.table);
    const c = quoteIdentifier(score);
    const rows = await store.all<{ customer_id: string }>(
      `SELECT b.customer_id FROM ${t} a JOIN ${t} b USING (customer_id)
       WHERE a.run_id = ? AND b.run_id = ? AND coalesce(a.${c}, '') = ? AND coalesce(b.${c}, '') = ? ORDER BY 1 LIMIT ?`,
      [previous.runId, runId, options.from, options.to, options.limit ?? 100],
    );
    customers = rows.map((r) => r.customer_id);
  }
  return { score, runId, previousRunId: previous.runId, counts, customers };
}
