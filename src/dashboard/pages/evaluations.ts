// The model-quality pages: the reports `kairos evaluate` kept, listed with their grades; each one's summary and its full report.
import { formatNumber } from '../../backtest/format.js';
import { GRADE_RULE_TEXT } from '../../backtest/grade.js';
import { getEvaluation, listEvaluations } from '../../evaluate/stored.js';
import { renderReportHtml } from '../../evaluate/report/html.js';
import type { Store } from '../../store/db.js';
import { formatCount, html, page, table, type PageContext } from '../html.js';

const VERDICT = { A: 'beats the baseline clearly', B: 'beats the baseline', C: 'does not beat the baseline', 'N/A': 'cannot be compared' } as const;

export async function evaluationsPage(store: Store, ctx: PageContext): Promise<string> {
  const list = await listEvaluations(store, 100);
  const body = html`<h1>Model quality</h1>
<p class="lead">Each report is an honest backtest (kairos evaluate): the models fitted on the data before a cut only, then compared with what customers did after it, beside a naive baseline, and graded.</p>
${
  list.length === 0
    ? html`<p>No report kept yet: run <code>kairos evaluate</code> (it keeps its report in the store).</p>`
    : table(
        'The kept reports, newest first: the data set, the holdout window, the customers, and how many scores beat their baseline.',
        ['report', 'made', 'data set', 'holdout', 'customers', 'grades'],
        list.map((e) => [
          html`<a href="/dashboard/evaluations/${e.id}">#${e.id} ${e.title}</a>`,
          e.createdAt.slice(0, 10),
          e.dataset,
          `${e.holdout.start} to ${e.holdout.end}`,
          formatCount(e.customers),
          e.grades.map((g) => g.grade).join(' '),
        ]),
        [4],
      )
}`;
  return page('Model quality', 'evaluations', ctx, body);
}

export async function evaluationPage(store: Store, ctx: PageContext, id: number): Promise<string> {
  const { entry, report } = await getEvaluation(store, id);
  const body = html`<h1>${entry.title}</h1>
<p class="lead">Data set ${entry.dataset}, ${formatCount(entry.customers)} customers; calibration to ${entry.calibrationEnd}, holdout ${entry.holdout.start} to ${entry.holdout.end}; made ${entry.createdAt}.</p>
<p><a class="button" href="/dashboard/evaluations/${entry.id}/report">Open the full report (charts of every score)</a></p>
<section class="panel" aria-labelledby="grades"><h2 id="grades">Grades</h2>
${table(
  "Each score's headline metric against its baseline on the holdout, and its grade.",
  ['score', 'model', 'metric', 'model value', 'baseline', 'grade', 'verdict'],
  report.scores.map((s) => {
    const m = s.metrics[0];
    return [s.name, s.model, m?.metric ?? '—', m ? formatNumber(m.model) : '—', m ? `${formatNumber(m.baseline)} (${m.baselineName})` : '—', s.grade.grade, VERDICT[s.grade.grade]];
  }),
)}
<details><summary>How grades are given</summary>${GRADE_RULE_TEXT.split('\n').map((l) => html`<p>${l}</p>`)}</details></section>`;
  return page(entry.title, 'evaluations', ctx, body);
}

/** The kept report as the self-contained HTML `kairos evaluate --report` writes, with a way back to the dashboard. */
export async function evaluationReportHtml(store: Store, id: number): Promise<string> {
  const { report } = await getEvaluation(store, id);
  return renderReportHtml(report).replace('<main>', `<main>\n<p><a href="/dashboard/evaluations/${id}">← back to the dashboard</a></p>`);
}
