// The reports of `kairos evaluate`, kept in the store (table evaluations) for the dashboard and GET /evaluations.
import type { EvaluationReport, Grade } from '../backtest/types.js';
import { KairosError } from '../errors.js';
import type { Store } from '../store/db.js';
import { renderReportJson } from './report/json.js';

/** A stored evaluation as listed: what it covered and each score's grade, without the charts. */
export interface EvaluationEntry {
  readonly id: number;
  readonly createdAt: string;
  readonly dataset: string;
  readonly title: string;
  readonly calibrationEnd: string;
  readonly holdout: { readonly start: string; readonly end: string };
  readonly customers: number;
  readonly grades: readonly { readonly score: string; readonly grade: Grade }[];
}

interface Row {
  evaluation_id: number;
  created_at: string;
  dataset: string;
  title: string;
  calibration_end: string;
  holdout_start: string;
  holdout_end: string;
  customers: number | bigint;
  grades: string;
}

const SELECT = `SELECT evaluation_id, strftime(created_at, '%Y-%m-%dT%H:%M:%SZ') AS created_at, dataset, title,
  calibration_end::VARCHAR AS calibration_end, holdout_start::VARCHAR AS holdout_start, holdout_end::VARCHAR AS holdout_end,
  customers, grades::VARCHAR AS grades FROM evaluations`;

const entryOf = (r: Row): EvaluationEntry => ({
  id: Number(r.evaluation_id),
  createdAt: r.created_at,
  dataset: r.dataset,
  title: r.title,
  calibrationEnd: r.calibration_end,
  holdout: { start: r.holdout_start, end: r.holdout_end },
  customers: Number(r.customers),
  grades: JSON.parse(r.grades) as EvaluationEntry['grades'],
});

/** Keeps a report (as its stable JSON, numbers rounded as `--json` prints them); returns its entry. */
export async function saveEvaluation(store: Store, report: EvaluationReport): Promise<EvaluationEntry> {
  const json = renderReportJson(report);
  const grades = report.scores.map((s) => ({ score: s.name, grade: s.grade.grade }));
  const id = await store.transaction(async () => {
    const next = Number(await store.value('SELECT coalesce(max(evaluation_id), 0) + 1 FROM evaluations'));
    await store.run('INSERT INTO evaluations VALUES (?, ?::TIMESTAMP, ?, ?, ?::DATE, ?::DATE, ?::DATE, ?, ?::JSON, ?::JSON)', [
      next,
      report.generatedAt.replace('Z', ''),
      report.dataset,
      report.title,
      report.calibration.end,
      report.holdout.start,
      report.holdout.end,
      report.customers,
      JSON.stringify(grades),
      json,
    ]);
    return next;
  });
  return getEvaluationEntry(store, id);
}

/** The stored evaluations, newest first. */
export async function listEvaluations(store: Store, limit = 100): Promise<EvaluationEntry[]> {
  return (await store.all<Row & Record<string, unknown>>(`${SELECT} ORDER BY evaluation_id DESC LIMIT ?`, [limit])).map(entryOf);
}

async function getEvaluationEntry(store: Store, id: number): Promise<EvaluationEntry> {
  const row = await store.one<Row & Record<string, unknown>>(`${SELECT} WHERE evaluation_id = ?`, [id]);
  if (!row) throw new KairosError('NOT_FOUND', `no evaluation ${id}`, { hint: 'kairos evaluate stores one; GET /evaluations lists them' });
  return entryOf(row);
}

/** One stored evaluation: its entry and the whole report (as `kairos evaluate --json` printed it). */
export async function getEvaluation(store: Store, id: number): Promise<{ entry: EvaluationEntry; report: EvaluationReport }> {
  const entry = await getEvaluationEntry(store, id);
  const json = await store.value<string>('SELECT report::VARCHAR FROM evaluations WHERE evaluation_id = ?', [id]);
  return { entry, report: JSON.parse(json) as EvaluationReport };
}
