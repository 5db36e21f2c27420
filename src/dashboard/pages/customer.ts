// The customer page: every score with its unit and the scorer's reasons in words, the customer's history over runs, and recommendations.
import { KairosError } from '../../errors.js';
import { customerExplained } from '../../server/serving.js';
import { customerRecommendations, type CustomerRecommendations } from '../../scores/recommend/stored.js';
import { resultsTable } from '../../scores/results.js';
import { redact } from '../../server/routes.js';
import { quoteIdentifier, type Store } from '../../store/db.js';
import { lineChart } from '../charts.js';
import { figure, formatValue, html, page, table, unitLabel, unitOf, type Html, type PageContext } from '../html.js';

/** The scores followed on the customer's history, in this order (those the store has). */
export const HISTORY_SCORES = ['clv_12m', 'churn_risk', 'p_alive', 'conversion_probability_30d', 'expected_purchases_90d', 'engagement_score', 'rfm_segment', 'lifecycle_stage'] as const;

/** Runs shown at most on a customer's history. */
export const CUSTOMER_HISTORY_RUNS = 24;

/** The search form (also the page without an id). */
export function customerSearchPage(ctx: PageContext, id?: string, error?: string): string {
  return page(
    'Customers',
    'customers',
    ctx,
    html`<h1>Customers</h1><p class="lead">Look a customer up by id: every score with its reasons, its history over runs, its recommendations.</p>
<form method="get" action="/dashboard/customers" role="search">
<label for="customer-id">Customer id (case-sensitive)</label>
<input type="search" id="customer-id" name="id" value="${id ?? ''}" required maxlength="256" autocomplete="off"${error ? html` aria-describedby="customer-error" aria-invalid="true"` : ''}>
<button type="submit">Show</button></form>
${error ? html`<p id="customer-error" class="error-box" role="alert">${error}</p>` : ''}`,
  );
}

/** A customer's followed scores at each completed run, read from each scorer's results (not the long history view). */
async function customerHistory(store: Store, ctx: PageContext, id: string): Promise<{ runs: { runId: number; asOf: string }[]; values: Map<string, Map<number, unknown>> }> {
  const completed = await store.all<{ run_id: number; as_of: string }>(
    `SELECT run_id, strftime(as_of, '%Y-%m-%d') AS as_of FROM score_runs WHERE status IN ('completed', 'compacted') ORDER BY run_id DESC LIMIT ?`,
    [CUSTOMER_HISTORY_RUNS],
  );
  const runIds = completed.map((r) => Number(r.run_id));
  const values = new Map<string, Map<number, unknown>>();
  if (runIds.length === 0) return { runs: [], values };
  const tables = await store.all<{ table_name: string; column_name: string }>(
    `SELECT table_name, column_name FROM information_schema.columns WHERE table_name LIKE 'scores\\_%' ESCAPE '\\' AND column_name IN (${HISTORY_SCORES.map(() => '?').join(', ')})`,
    [...HISTORY_SCORES],
  );
  const known = new Set(ctx.registry.scorers.map((s) => resultsTable(s.name)));
  const byTable = new Map<string, string[]>();
  for (const t of tables) if (known.has(t.table_name)) (byTable.get(t.table_name) ?? byTable.set(t.table_name, []).get(t.table_name))?.push(t.column_name);
  for (const [t, cols] of byTable) {
    const rows = await store.all(
      `SELECT run_id, ${cols.map(quoteIdentifier).join(', ')} FROM ${quoteIdentifier(t)} WHERE customer_id = ? AND run_id >= ? ORDER BY run_id`,
      [id, Math.min(...runIds)],
    );
    for (const r of rows) {
      const run = Number(r['run_id']);
      if (!runIds.includes(run)) continue;
      for (const c of cols) (values.get(c) ?? values.set(c, new Map()).get(c))?.set(run, r[c]);
    }
  }
  return { runs: completed.map((r) => ({ runId: Number(r.run_id), asOf: r.as_of })).reverse(), values };
}

export async function customerPage(store: Store, ctx: PageContext, id: string): Promise<string> {
  let explained: { customer: Record<string, unknown>; explanations: Record<string, string[]> };
  try {
    // As GET /customers/{id}: from the serving snapshot when it holds the customer, else from the store; a customer
    // not scored yet (created after the published run's as-of, or just ingested) comes without explanations.
    explained = await customerExplained(ctx.serving, ctx.registry, id, (read) => read(store));
  } catch (err) {
    if (!(err instanceof KairosError) || err.code !== 'NOT_FOUND') throw err;
    return customerSearchPage(ctx, id, `customer "${id}" not found (ids are case-sensitive)`);
  }
  const { row, redacted } = redact(explained.customer, ctx.config.personalFields, { keyId: ctx.session.keyId, scope: ctx.session.scope, name: null, createdAt: '', revokedAt: null });
  const runId = row['run_id'] as number | null;
  const currency = runId === null ? ctx.currency : ((await store.value<string | null>('SELECT currency FROM score_runs WHERE run_id = ?', [runId])) ?? ctx.currency);
  const parts: Html[] = [];
  const attributes = row['attributes'] && typeof row['attributes'] === 'object' ? Object.entries(row['attributes'] as Record<string, unknown>) : [];
  parts.push(html`<h1>Customer ${id}</h1>
<p class="lead">${runId === null ? 'Not scored yet (created after the published run, or just ingested).' : `Scores of run ${runId}, as of ${String(row['scored_as_of'] ?? '').slice(0, 10)}. Money in ${currency}.`}</p>
<section class="panel" aria-labelledby="who"><h2 id="who">Customer</h2><dl class="scores">
${['customer_id', 'email', 'country', 'created_at'].filter((k) => k in row).map((k) => html`<dt>${k}</dt><dd>${formatValue(row[k] ?? null, 'none', currency)}</dd>`)}
${attributes.map(([k, v]) => html`<dt>attributes.${k}</dt><dd>${formatValue(v, 'none', currency)}</dd>`)}
</dl>${redacted.length > 0 ? html`<p class="small muted">Personal fields hidden for a ${ctx.session.scope} key: ${redacted.join(', ')} (admin keys see them).</p>` : ''}</section>`);

  // Every scorer's columns with their units and its explanation lines.
  for (const scorer of ctx.registry.scorers) {
    const lines = explained.explanations[scorer.name];
    const cols = scorer.columns.filter((c) => c.name in row);
    if (lines === undefined && cols.every((c) => row[c.name] === null || row[c.name] === undefined)) continue;
    parts.push(html`<section class="panel" aria-labelledby="s-${scorer.name}"><h2 id="s-${scorer.name}">${scorer.name}</h2>
${lines && lines.length > 0 ? html`<h3>In words</h3><ul class="reasons">${lines.map((l) => html`<li>${l}</li>`)}</ul>` : ''}
<dl class="scores">${cols.map((c) => html`<dt title="${c.description}">${c.name}${unitLabel(c.unit, currency) ? html` <span class="small">(${unitLabel(c.unit, currency)})</span>` : ''}</dt><dd>${formatValue(row[c.name] ?? null, c.unit, currency)}</dd>`)}</dl>
</section>`);
  }

  const history = await customerHistory(store, ctx, id);
  if (history.runs.length > 0 && history.values.size > 0) {
    const label = (r: { runId: number; asOf: string }) => `#${r.runId} ${r.asOf}`;
    const probs = ['churn_risk', 'p_alive', 'conversion_probability_30d'].filter((c) => history.values.has(c));
    const cols = HISTORY_SCORES.filter((c) => history.values.has(c));
    parts.push(html`<section class="panel" aria-labelledby="history"><h2 id="history">History over runs</h2>
${
  probs.length > 0
    ? figure(
        lineChart({
          x: history.runs.map(label),
          series: probs.map((c) => ({ name: c, values: history.runs.map((r) => { const v = history.values.get(c)?.get(r.runId); return typeof v === 'number' ? v : null; }) })),
          yName: 'probability (0-1)',
          xName: 'run (as-of date)',
          yMin: 0,
          yMax: 1,
          description: `Probabilities of customer ${id} by run`,
        }),
        'This customer’s probabilities at each run: a churn risk that climbs while P(alive) falls is the moment to act.',
        'Probabilities by run',
      )
    : ''
}
${table(
  'The followed scores at each run (empty: not scored in that run).',
  ['run', ...cols],
  history.runs.map((r) => [label(r), ...cols.map((c) => formatValue(history.values.get(c)?.get(r.runId) ?? null, unitOf(ctx.registry, c), currency))]),
)}</section>`);
  }

  let recs: CustomerRecommendations | null = null;
  try {
    recs = await customerRecommendations(store, ctx.registry, id);
  } catch (err) {
    if (!(err instanceof KairosError) || err.code !== 'NOT_FOUND') throw err;
  }
  parts.push(html`<section class="panel" aria-labelledby="recs"><h2 id="recs">Recommendations</h2>
${
  recs === null || recs.products.length === 0
    ? html`<p class="muted">No recommendation stored for this customer.</p>`
    : table(
        `Products recommended by run ${recs.runId} (as of ${recs.asOf}${recs.model ? `, ${recs.model}` : ''}), best first, with the reason.`,
        ['rank', 'product', 'category', 'score', 'reason'],
        recs.products.map((p) => [p.rank, p.name ? `${p.name} (${p.product_id})` : p.product_id, p.category, formatValue(p.score, 'none', currency), p.reason ?? '']),
        [0, 3],
      )
}</section>`);
  return page(`Customer ${id}`, 'customers', ctx, html`${parts}`);
}
