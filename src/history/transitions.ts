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
 * scorer's results of the two runs (bound values, the column from the run's own summaries), by id after
 * `afterCustomer` (pages). `sinceRunId` compares with another earlier run of the scorer instead of the previous one:
 * the counts are then read from the two runs' results (a run thinned by kairos compact has none left).
 */
export async function transitions(
  store: Store,
  score: string,
  options: { runId?: number; sinceRunId?: number; from?: string; to?: string; limit?: number; afterCustomer?: string } = {},
): Promise<Transitions> {
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
  const t = quoteIdentifier(entry.table);
  const c = quoteIdentifier(score);
  let previous = entry.summary.previous;
  if (options.sinceRunId !== undefined && options.sinceRunId !== previous?.runId) {
    const since = options.sinceRunId;
    if (!(since < runId)) throw new KairosError('USAGE', `the earlier run (${since}) must come before run ${runId}`);
    const status = await store.value<string | null>('SELECT status FROM score_runs WHERE run_id = ?', [since]);
    const rows = Number(await store.value(`SELECT count(*) FROM ${t} WHERE run_id = ?`, [since]));
    if (status !== 'completed' || rows === 0) {
      throw new KairosError('NOT_FOUND', `run ${since} has no ${score} results to compare with${status === 'compacted' ? ' (thinned by kairos compact)' : ''}`, {
        hint: 'GET /runs (kairos runs) lists the runs',
      });
    }
    const moves = await store.all<{ f: string; t: string; n: number }>(
      `SELECT coalesce(a.${c}, '') AS f, coalesce(b.${c}, '') AS t, count(*)::DOUBLE AS n
       FROM (SELECT customer_id, ${c} FROM ${t} WHERE run_id = ?) a JOIN (SELECT customer_id, ${c} FROM ${t} WHERE run_id = ?) b USING (customer_id)
       GROUP BY 1, 2 ORDER BY 1, 2`,
      [since, runId],
    );
    previous = { runId: since, psi: null, migration: moves.map((m) => ({ from: m.f, to: m.t, customers: Number(m.n) })) };
  }
  if (previous === null) throw new KairosError('NOT_FOUND', `${score} of run ${runId} has no earlier run to compare with`, { hint: 'transitions need two runs of the scorer' });
  const counts = [...previous.migration].sort((a, b) => b.customers - a.customers || a.from.localeCompare(b.from) || a.to.localeCompare(b.to));
  let customers: string[] | null = null;
  if (options.from !== undefined && options.to !== undefined) {
    const values = new Set(counts.flatMap((c) => [c.from, c.to]));
    for (const v of [options.from, options.to]) {
      if (!values.has(v)) throw new KairosError('USAGE', `"${v}" is not a value of ${score} in runs ${previous.runId} and ${runId}`, { hint: `values: ${[...values].filter(Boolean).sort().join(', ')}` });
    }
    const rows = await store.all<{ customer_id: string }>(
      `SELECT b.customer_id FROM ${t} a JOIN ${t} b USING (customer_id)
       WHERE a.run_id = ? AND b.run_id = ? AND coalesce(a.${c}, '') = ? AND coalesce(b.${c}, '') = ? AND b.customer_id > ? ORDER BY 1 LIMIT ?`,
      [previous.runId, runId, options.from, options.to, options.afterCustomer ?? '', options.limit ?? 100],
    );
    customers = rows.map((r) => r.customer_id);
  }
  return { score, runId, previousRunId: previous.runId, counts, customers };
}
