// The overview page: customers and revenue, the scores' distributions, the RFM grid and segments, the latest run with its notes and models.
import { KairosError } from '../../errors.js';
import type { NumericSummary, ScoreSummary } from '../../history/summaries.js';
import { customerScoresFor } from '../../scores/results.js';
import { fittedModels } from '../../scores/runs.js';
import type { Store } from '../../store/db.js';
import { cacheInputs, cached, computeOverview, latestRun } from '../aggregates.js';
import { barChart, boxChart } from '../charts.js';
import { card, describeColumn, figure, formatCount, formatMoney, formatValue, html, table, unitLabel, unitOf, type Html, type PageContext } from '../html.js';

/** The latest summary of every score column (each from the latest run that summarised it), by column. */
export async function latestSummaries(store: Store): Promise<Map<string, { runId: number; table: string; summary: ScoreSummary }>> {
  const rows = await store.all<{ column_name: string; scores_table: string; run_id: number; summary: string }>(
    `SELECT s.column_name, s.scores_table, s.run_id, s.summary::VARCHAR AS summary FROM run_summaries s
     JOIN (SELECT column_name, max(run_id) AS r FROM run_summaries WHERE run_id IN (SELECT run_id FROM score_runs WHERE status = 'completed') GROUP BY 1) m
       ON s.column_name = m.column_name AND s.run_id = m.r ORDER BY s.column_name`,
  );
  return new Map(rows.map((r) => [r.column_name, { runId: Number(r.run_id), table: r.scores_table, summary: JSON.parse(r.summary) as ScoreSummary }]));
}

/** The columns the overview's RFM grid and segments read. */
export const RFM_COLUMNS = ['r_score', 'f_score', 'monetary', 'rfm_segment'] as const;

/** The scores a marketer reads first, in this order (those the store has). */
export const KEY_SCORES = ['clv_12m', 'churn_risk', 'p_alive', 'conversion_probability_30d', 'expected_purchases_90d', 'engagement_score', 'promo_appetence', 'monetary', 'recency_days', 'frequency'] as const;

/** [p5, p25, p50, p75, p95] of a numeric summary (QUANTILES: 0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99), or null. */
export function boxOf(s: NumericSummary): [number, number, number, number, number] | null {
  const q = s.quantiles;
  const pick = [q[1], q[3], q[4], q[5], q[7]];
  return pick.every((v): v is number => typeof v === 'number' && Number.isFinite(v)) ? (pick as [number, number, number, number, number]) : null;
}

/** The RFM grid as a table: recency score down, frequency score across, customers and share in each cell, shaded. */
function rfmGrid(grid: readonly { r: number; f: number; customers: number; monetary: number }[], currency: string): Html {
  const total = grid.reduce((a, g) => a + g.customers, 0);
  if (total === 0) return html`<p class="muted">No RFM scores yet: run kairos score.</p>`;
  const rs = [...new Set(grid.map((g) => g.r))].sort((a, b) => b - a);
  const fs = [...new Set(grid.map((g) => g.f))].sort((a, b) => a - b);
  const max = Math.max(...grid.map((g) => g.customers));
  const at = (r: number, f: number) => grid.find((g) => g.r === r && g.f === f);
  return html`<table class="heat"><caption>Customers by recency score (rows, 5 = bought most recently) and frequency score (columns, 5 = buys most often); each cell: customers, share, and their net spend in ${currency}.</caption>
<thead><tr><th scope="col">R \\ F</th>${fs.map((f) => html`<th scope="col" class="num">F ${f}</th>`)}</tr></thead>
<tbody>${rs.map(
    (r) =>
      html`<tr><th scope="row">R ${r}</th>${fs.map((f) => {
        const g = at(r, f);
        if (!g) return html`<td class="cell muted">0</td>`;
        const shade = 0.08 + 0.6 * (g.customers / max);
        return html`<td class="cell" style="background: rgba(29, 78, 216, ${shade.toFixed(2)}); color: ${shade > 0.45 ? '#fff' : '#1f2933'}">${formatCount(g.customers)}<br><span class="small">${((100 * g.customers) / total).toFixed(1)}% · ${formatMoney(g.monetary, currency)}</span></td>`;
      })}</tr>`,
  )}</tbody></table>`;
}

/** The overview's content (the same for every key: no personal field). */
export async function overviewBody(store: Store, ctx: PageContext): Promise<Html> {
  const run = await latestRun(store);
  const inputs = await cacheInputs(store);
  const { value: o } = await cached(store, run?.runId ?? 0, 'overview', inputs, async () => computeOverview(store, await customerScoresFor(store, ctx.registry, RFM_COLUMNS)));
  const currency = run?.currency ?? ctx.currency;
  const summaries = await latestSummaries(store);
  const parts: Html[] = [];
  parts.push(html`<h1>Overview</h1>
<p class="lead">${run ? `Published scores of run ${run.runId}, as of ${run.asOf}. Money in ${currency}.` : 'No scoring run yet: run kairos score, then come back.'}</p>
<div class="cards">
${card('Customers', formatCount(o.customers), `${formatCount(o.scored)} scored by the latest run`)}
${card('Net revenue, all time', formatMoney(o.revenue, currency), o.firstOrder ? `orders ${o.firstOrder} to ${o.lastOrder}` : 'no orders')}
${card('Net revenue, last 12 months', formatMoney(o.revenue12m, currency), o.lastOrder ? `365 days to ${o.lastOrder}` : undefined)}
${card('Purchases', formatCount(o.purchases), 'orders with a sold line')}
${card('Latest run', run ? `#${run.runId}` : '—', run ? `as of ${run.asOf}${run.finishedAt ? `, finished ${run.finishedAt.replace('T', ' ').replace('Z', ' UTC')}` : ''}` : undefined)}
</div>`);

  // Distributions: the key scores' spread from their stored summaries (no customer is read).
  const keyed = KEY_SCORES.flatMap((name) => {
    const s = summaries.get(name);
    return s && s.summary.kind === 'number' ? [{ name, s: s.summary, runId: s.runId }] : [];
  });
  if (keyed.length > 0) {
    const probabilities = keyed.filter((k) => unitOf(ctx.registry, k.name) === 'probability');
    const rows = keyed.map((k) => {
      const unit = unitOf(ctx.registry, k.name);
      const q = k.s.quantiles;
      const f = (v: number | null | undefined) => formatValue(v ?? null, unit, currency);
      return [html`<abbr title="${describeColumn(ctx.registry, k.name) ?? k.name}">${k.name}</abbr>`, unitLabel(unit, currency) || '—', formatCount(k.s.n), f(q[4]), html`${f(q[2])} – ${f(q[6])}`, f(k.s.mean), `#${k.runId}`];
    });
    parts.push(html`<section class="panel" aria-labelledby="dist"><h2 id="dist">The scores' distributions</h2>
${table('Each score over the customers it was computed for: the median, the range of the middle 80% (10th to 90th percentile: how spread, how uncertain the population is), the mean.', ['score', 'unit', 'customers', 'median', '10th – 90th percentile', 'mean', 'run'], rows, [2, 3, 4, 5])}
${
  probabilities.length > 0
    ? figure(
        boxChart({
          categories: probabilities.map((p) => p.name),
          boxes: probabilities.map((p) => boxOf(p.s)),
          yName: 'probability (0-1)',
          xName: 'score',
          description: 'Box plots of the probability scores',
        }),
        'Each box holds the middle half of the customers (25th to 75th percentile), the line inside is the median, the whiskers reach the 5th and 95th percentiles: a tall box means customers differ a lot on that score.',
        'Distributions of the probability scores',
      )
    : ''
}
</section>`);
  }

  parts.push(html`<section class="panel" aria-labelledby="rfm"><h2 id="rfm">The RFM grid</h2>${rfmGrid(o.rfmGrid, currency)}
${
  o.segments.length > 0
    ? html`<div class="grid2">${figure(
        barChart({
          categories: o.segments.map((s) => s.segment),
          series: [{ name: 'customers', values: o.segments.map((s) => s.customers) }],
          yName: 'customers',
          horizontal: true,
          description: 'Customers per RFM segment',
        }),
        'Customers in each named RFM segment, the segments with the most net spend first: where the value of the base sits.',
        'Customers per RFM segment',
      )}
${table(
  `Net spend (monetary, ${currency}) per RFM segment.`,
  ['segment', 'customers', `net spend (${currency})`],
  o.segments.map((s) => [s.segment, formatCount(s.customers), formatMoney(s.monetary, currency)]),
  [1, 2],
)}</div>`
    : ''
}</section>`);

  if (run) {
    let models: Html = html``;
    try {
      const fits = await fittedModels(store, undefined);
      models = html`<h3>Models fitted by run ${fits.runId}</h3>
${table(
  'Each parameter with its standard error (± one standard error: the uncertainty of the fit).',
  ['model', 'parameter', 'estimate', 'standard error', 'converged'],
  // Purchase and spend models have named parameters with standard errors; tree ensembles (learned) are not listed here.
  fits.fits
    .filter((f) => f.params !== null && typeof f.params === 'object' && Object.values(f.params).every((v) => typeof v === 'number'))
    .flatMap((f) =>
      Object.entries(f.params).map(([p, v]) => {
        const se = f.diagnostics?.standardErrors?.[p];
        return [f.model, p, formatValue(v, 'none', currency), typeof se === 'number' ? `± ${formatValue(se, 'none', currency)}` : '—', f.diagnostics?.converged ? 'yes' : 'no'];
      }),
    ),
  [2, 3],
)}`;
    } catch (err) {
      if (!(err instanceof KairosError) || err.code !== 'NOT_FOUND') throw err;
      models = html`<p class="muted">No fitted model stored.</p>`;
    }
    parts.push(html`<section class="panel" aria-labelledby="run"><h2 id="run">Latest run: #${run.runId}, as of ${run.asOf}</h2>
<p>${formatCount(run.customers ?? 0)} customers scored. What the run decided and left out:</p>
${run.notes.length > 0 ? html`<ul class="notes">${run.notes.map((n) => html`<li>${n}</li>`)}</ul>` : html`<p class="muted">No notes.</p>`}
${models}
<p><a href="/dashboard/evolution">How the scores moved since the previous runs →</a></p></section>`);
  }
  return html`${parts}`;
}

