// The evolution page: each score's distribution by run, drift (PSI), segment sizes by run, migration between runs, and live accuracy.
import type { CategoricalSummary, NumericSummary, ScoreSummary } from '../../history/summaries.js';
import type { Store } from '../../store/db.js';
import { cacheInputs, cached, computeLiveAccuracy, dataEnd, defaultAccuracyRun, type AccuracyCheck, type LiveAccuracy } from '../aggregates.js';
import { barChart, boxChart, lineChart } from '../charts.js';
import { figure, formatCount, formatProbability, formatValue, html, psiBadge, table, unitLabel, unitOf, type Html, type PageContext } from '../html.js';
import { boxOf, KEY_SCORES } from './overview.js';

export interface EvolutionQuery {
  readonly score?: string | undefined;
  readonly category?: string | undefined;
  readonly run?: number | undefined;
  readonly accuracyRun?: number | undefined;
}

interface RunInfo {
  runId: number;
  asOf: string;
  status: string;
  customers: number | null;
}

/** Runs shown at most on the evolution charts (the most recent ones). */
export const EVOLUTION_RUNS = 24;

function select(name: string, label: string, options: readonly { value: string; label: string }[], chosen: string | undefined): Html {
  return html`<label for="${name}">${label}</label><select id="${name}" name="${name}">${options.map(
    (o) => html`<option value="${o.value}"${o.value === chosen ? html` selected` : ''}>${o.label}</option>`,
  )}</select>`;
}

function accuracySection(acc: LiveAccuracy, runs: readonly RunInfo[], currency: string): Html {
  const picker = html`<form method="get" action="/dashboard/evolution#accuracy">
${select('accuracy_run', 'Run whose predictions are checked', runs.map((r) => ({ value: String(r.runId), label: `#${r.runId}, as of ${r.asOf}` })), String(acc.runId))}
<button type="submit">Check this run</button></form>`;
  const one = (c: AccuracyCheck): Html => {
    if (c.status === 'absent') return html``;
    const head = html`<h3>${c.score}</h3><p class="small muted">${c.what}.</p>`;
    if (c.status === 'waiting') {
      return html`${head}<p>Not measurable yet: the prediction is about the ${c.horizonDays ?? 0} days after ${acc.asOf}, and the data holds ${acc.elapsedDays} of them (${c.daysToWait} days to wait). It is never compared on a shorter window.</p>`;
    }
    const rate = c.kind === 'rate';
    const fmt = (v: number | null) => (v === null ? '—' : rate ? formatProbability(v) : formatValue(v, 'count', currency));
    const ci = c.observedInterval ? ` (95% interval ${formatProbability(c.observedInterval.lower)} – ${formatProbability(c.observedInterval.upper)})` : '';
    return html`${head}
<p>${formatCount(c.customers)} customers: predicted on average <strong>${fmt(c.meanPredicted)}</strong>, observed <strong>${fmt(c.meanObserved)}</strong>${ci}; ${rate ? 'Brier score' : 'mean absolute error'} ${c.error === null ? '—' : c.error.toFixed(4)}${rate ? ' (0 is perfect; lower is better)' : ' purchase days per customer'}.</p>
${figure(
  barChart({
    categories: c.bins.map((_, i) => `${i + 1}`),
    series: [
      { name: 'predicted', values: c.bins.map((b) => b.predicted) },
      { name: 'observed', values: c.bins.map((b) => b.observed) },
    ],
    yName: rate ? 'share (0-1)' : 'purchase days per customer',
    xName: 'tenth of customers by prediction (1 = lowest)',
    description: `Predicted against observed, ${c.score}`,
  }),
  `The customers of run ${acc.runId} in ten equal groups by their ${c.score}: in each group, the mean prediction beside what happened. Bars of equal height mean the score was right; observed bars that rise with the predicted ones mean it ranked customers well.`,
  `Live accuracy of ${c.score}`,
)}`;
  };
  return html`<section class="panel" aria-labelledby="accuracy"><h2 id="accuracy">Live accuracy: what run ${acc.runId} predicted, against what customers did since</h2>
<p class="lead">Run ${acc.runId} scored as of ${acc.asOf}; the data ends ${acc.dataEnd ?? 'with no order'} (${acc.elapsedDays} days later). Purchases are counted as the models count them (days with a sold line). Computed once per run and new data, then kept.</p>
${picker}
${acc.checks.map(one)}
${acc.checks.every((c) => c.status === 'absent') ? html`<p class="muted">Run ${acc.runId} wrote none of the predictive scores checked here (churn_risk, conversion_probability_30d, expected_purchases_90d, p_alive).</p>` : ''}
</section>`;
}

/** The evolution page's content (the same for every key: no personal field). */
export async function evolutionBody(store: Store, ctx: PageContext, q: EvolutionQuery): Promise<Html> {
  const runs = (
    await store.all<{ run_id: number; as_of: string; status: string; customers: number | bigint | null }>(
      `SELECT run_id, strftime(as_of, '%Y-%m-%d') AS as_of, status, customers FROM score_runs WHERE status IN ('completed', 'compacted') ORDER BY run_id DESC LIMIT ?`,
      [EVOLUTION_RUNS],
    )
  )
    .map((r) => ({ runId: Number(r.run_id), asOf: r.as_of, status: r.status, customers: r.customers === null ? null : Number(r.customers) }))
    .reverse();
  const currency = (await store.value<string | null>(`SELECT currency FROM score_runs WHERE status = 'completed' ORDER BY run_id DESC LIMIT 1`)) ?? ctx.currency;
  if (runs.length === 0) return html`<h1>Evolution over runs</h1><p>No completed run yet: run kairos score.</p>`;
  const label = (id: number) => `#${id} ${runs.find((r) => r.runId === id)?.asOf ?? ''}`;
  const ids = runs.map((r) => r.runId);
  const first = ids[0] as number;
  const summaryRows = await store.all<{ run_id: number; column_name: string; summary: string }>(
    `SELECT run_id, column_name, summary::VARCHAR AS summary FROM run_summaries WHERE run_id >= ? ORDER BY run_id, column_name`,
    [first],
  );
  const byColumn = new Map<string, Map<number, ScoreSummary>>();
  for (const r of summaryRows) {
    if (!ids.includes(Number(r.run_id))) continue;
    let m = byColumn.get(r.column_name);
    if (!m) byColumn.set(r.column_name, (m = new Map()));
    m.set(Number(r.run_id), JSON.parse(r.summary) as ScoreSummary);
  }
  const numeric = [...byColumn.entries()].filter(([, m]) => [...m.values()].some((s) => s.kind === 'number')).map(([k]) => k);
  const categorical = [...byColumn.entries()].filter(([, m]) => [...m.values()].some((s) => s.kind === 'category')).map(([k]) => k);
  const orderedNumeric = [...KEY_SCORES.filter((k) => numeric.includes(k)), ...numeric.filter((k) => !(KEY_SCORES as readonly string[]).includes(k)).sort()];
  const score = q.score !== undefined && numeric.includes(q.score) ? q.score : orderedNumeric[0];
  const parts: Html[] = [html`<h1>Evolution over runs</h1><p class="lead">The last ${runs.length} completed runs, from ${runs[0]?.asOf} to ${runs.at(-1)?.asOf}, read from what each run summarised as it published. Money in ${currency}.</p>`];

  if (score !== undefined) {
    const m = byColumn.get(score) as Map<number, ScoreSummary>;
    const unit = unitOf(ctx.registry, score);
    const withRuns = ids.filter((id) => m.get(id)?.kind === 'number');
    const nums = withRuns.map((id) => m.get(id) as NumericSummary);
    const fmt = (v: number | null | undefined) => formatValue(v ?? null, unit, currency);
    parts.push(html`<section class="panel" aria-labelledby="dist"><h2 id="dist">Distribution by run</h2>
<form method="get" action="/dashboard/evolution#dist">${select('score', 'Score', orderedNumeric.map((c) => ({ value: c, label: c })), score)}<button type="submit">Show</button></form>
${figure(
  boxChart({ categories: withRuns.map(label), boxes: nums.map(boxOf), yName: `${score}${unitLabel(unit, currency) ? ` (${unitLabel(unit, currency)})` : ''}`, xName: 'run (as-of date)', description: `Distribution of ${score} by run` }),
  `${score} at each run: the box holds the middle half of the customers, the line is the median, the whiskers the 5th and 95th percentiles. Boxes that move mean the population or the model moved.`,
  `Distribution of ${score} by run`,
)}
${table(
  `${score} at each run, and its drift from the scorer's previous run (population stability index: below 0.1 stable, 0.1-0.25 moderate, above 0.25 major).`,
  ['run', 'as of', 'customers', 'median', '10th – 90th percentile', 'mean', 'drift (PSI)'],
  withRuns.map((id, i) => {
    const s = nums[i] as NumericSummary;
    return [`#${id}`, runs.find((r) => r.runId === id)?.asOf ?? '', formatCount(s.n), fmt(s.quantiles[4]), html`${fmt(s.quantiles[2])} – ${fmt(s.quantiles[6])}`, fmt(s.mean), s.previous ? psiBadge(s.previous.psi) : '—'];
  }),
  [2, 3, 4, 5],
)}</section>`);
  }

  // Drift of every score at the latest run, and the key scores' PSI by run.
  const latestId = ids.at(-1) as number;
  const drift = [...byColumn.entries()]
    .map(([col, m]) => ({ col, s: [...m.entries()].filter(([id]) => id <= latestId).sort((a, b) => b[0] - a[0])[0] }))
    .filter((x) => x.s !== undefined && x.s[1].previous !== null)
    .map((x) => ({ col: x.col, runId: (x.s as [number, ScoreSummary])[0], previous: (x.s as [number, ScoreSummary])[1].previous as { runId: number; psi: number | null } }))
    .sort((a, b) => (b.previous.psi ?? -1) - (a.previous.psi ?? -1));
  const psiSeries = KEY_SCORES.filter((k) => byColumn.has(k)).slice(0, 6);
  parts.push(html`<section class="panel" aria-labelledby="drift"><h2 id="drift">Drift between runs</h2>
${
  drift.length === 0
    ? html`<p class="muted">Drift needs two runs of a scorer.</p>`
    : html`${figure(
        lineChart({
          x: ids.map(label),
          series: psiSeries.map((k) => ({ name: k, values: ids.map((id) => byColumn.get(k)?.get(id)?.previous?.psi ?? null) })),
          yName: 'population stability index',
          xName: 'run (as-of date)',
          yMin: 0,
          description: 'Drift of the key scores by run',
        }),
        "Each key score's population stability index against its scorer's previous run: above 0.1 the population shifted moderately, above 0.25 a major shift worth a look before a campaign.",
        'Drift by run',
      )}
${table(
  'Every score, most drifted first, at its latest run against the run before it.',
  ['score', 'run', 'against run', 'drift (PSI)'],
  drift.map((d) => [d.col, `#${d.runId}`, `#${d.previous.runId}`, psiBadge(d.previous.psi)]),
)}`
}</section>`);

  // Segment sizes by run.
  const sizes = await store.all<{ run_id: number; segment: string; customers: number | bigint | null }>(
    `SELECT run_id, segment, customers FROM segment_sizes WHERE run_id >= ? AND segment IN (SELECT name FROM segments) ORDER BY segment, run_id`,
    [first],
  );
  const segNames = [...new Set(sizes.map((s) => s.segment))].slice(0, 10);
  parts.push(html`<section class="panel" aria-labelledby="sizes"><h2 id="sizes">Saved segments by run</h2>
${
  segNames.length === 0
    ? html`<p class="muted">No saved segment has been counted by a run yet: <a href="/dashboard/segments">create one</a>; every run counts it.</p>`
    : figure(
        lineChart({
          x: ids.map(label),
          series: segNames.map((n) => ({ name: n, values: ids.map((id) => { const v = sizes.find((s) => s.segment === n && Number(s.run_id) === id)?.customers; return v === undefined || v === null ? null : Number(v); }) })),
          yName: 'customers',
          xName: 'run (as-of date)',
          yMin: 0,
          description: 'Saved segment sizes by run',
        }),
        'Customers in each saved segment when each run published: a segment that grows or shrinks shows where the base is moving.',
        'Segment sizes by run',
      )
}</section>`);

  // Migration between a run and its scorer's previous run (a categorical score).
  const catOptions = ['rfm_segment', 'lifecycle_stage', ...categorical.filter((c) => c !== 'rfm_segment' && c !== 'lifecycle_stage').sort()].filter((c) => categorical.includes(c));
  const category = q.category !== undefined && categorical.includes(q.category) ? q.category : catOptions[0];
  if (category !== undefined) {
    const m = byColumn.get(category) as Map<number, ScoreSummary>;
    const migrated = ids.filter((id) => (m.get(id) as CategoricalSummary | undefined)?.previous != null);
    const runId = q.run !== undefined && migrated.includes(q.run) ? q.run : migrated.at(-1);
    const s = runId === undefined ? undefined : (m.get(runId) as CategoricalSummary);
    let body: Html;
    if (s === undefined || s.previous === null || runId === undefined) body = html`<p class="muted">Migration needs two runs of the scorer of ${category}.</p>`;
    else {
      const moves = s.previous.migration;
      const from = [...new Set(moves.map((x) => x.from))].sort();
      const to = [...new Set(moves.map((x) => x.to))].sort();
      const stayed = moves.filter((x) => x.from === x.to).reduce((a, x) => a + x.customers, 0);
      const total = moves.reduce((a, x) => a + x.customers, 0);
      const largest = moves.filter((x) => x.from !== x.to).sort((a, b) => b.customers - a.customers).slice(0, 8);
      body = html`<p>${formatCount(total)} customers scored in both run ${s.previous.runId} and run ${runId}: ${formatCount(stayed)} (${total ? ((100 * stayed) / total).toFixed(1) : '0'}%) kept their ${category}. Largest moves: ${largest.map((x, i) => html`${i ? '; ' : ''}${x.from || '(none)'} → ${x.to || '(none)'}: ${formatCount(x.customers)}`)}.</p>
<table class="heat"><caption>Customers by ${category} at run ${s.previous.runId} (rows) and at run ${runId} (columns); the diagonal stayed.</caption>
<thead><tr><th scope="col">from \\ to</th>${to.map((t) => html`<th scope="col" class="num">${t || '(none)'}</th>`)}</tr></thead>
<tbody>${from.map((f) => html`<tr><th scope="row">${f || '(none)'}</th>${to.map((t) => {
        const n = moves.find((x) => x.from === f && x.to === t)?.customers ?? 0;
        return html`<td class="cell num${f === t ? ' muted' : ''}">${n ? formatCount(n) : '·'}</td>`;
      })}</tr>`)}</tbody></table>`;
    }
    parts.push(html`<section class="panel" aria-labelledby="migration"><h2 id="migration">Migration between runs</h2>
<form method="get" action="/dashboard/evolution#migration">${select('category', 'Segment or stage', catOptions.map((c) => ({ value: c, label: c })), category)}
${select('run', 'Run (against its scorer\'s previous run)', migrated.map((id) => ({ value: String(id), label: label(id) })), runId === undefined ? undefined : String(runId))}<button type="submit">Show</button></form>
${body}</section>`);
  }

  // Live accuracy: the chosen run, or the latest whose 30-day horizon has passed in the data.
  const completed = runs.filter((r) => r.status === 'completed');
  const accuracyRun = q.accuracyRun !== undefined && completed.some((r) => r.runId === q.accuracyRun) ? q.accuracyRun : defaultAccuracyRun(completed, await dataEnd(store));
  if (accuracyRun !== undefined) {
    const inputs = await cacheInputs(store);
    const { value } = await cached(store, accuracyRun, 'live-accuracy', inputs, () => computeLiveAccuracy(store, accuracyRun, ctx.config));
    parts.push(accuracySection(value, completed, currency));
  }
  return html`${parts}`;
}
