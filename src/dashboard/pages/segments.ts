// The segment pages: the saved segments with their size at the last run, the builder with a live count, a segment's history and its exports.
import { KairosError } from '../../errors.js';
import { compileSegmentFilter, countFilter, filterColumns, getSegment, listSegments, segmentHistory } from '../../segments/segments.js';
import { allows } from '../../server/keys.js';
import type { Store } from '../../store/db.js';
import { CRM_DEFAULT_COLUMNS } from '../../scores/export.js';
import { customerScoresFor } from '../../scores/results.js';
import { lineChart } from '../charts.js';
import { figure, formatCount, html, page, table, type Html, type PageContext } from '../html.js';

/** The columns of customer_scores a key may export: personal ones (and the attributes JSON) only with admin. */
export async function exportableColumns(store: Store, ctx: PageContext): Promise<string[]> {
  const all = (await store.all<{ column_name: string }>(`DESCRIBE customer_scores`)).map((c) => c.column_name);
  if (allows(ctx.session.scope, 'admin')) return all;
  return all.filter((c) => !ctx.config.personalFields.includes(c) && c !== 'attributes');
}

const segmentUrl = (name: string) => `/dashboard/segments/${encodeURIComponent(name)}`;

function builder(ctx: PageContext, columns: Map<string, string>, values: { name?: string; filter?: string; description?: string }, error?: string): Html {
  const canWrite = allows(ctx.session.scope, 'write');
  return html`<section class="panel" aria-labelledby="builder"><h2 id="builder">New segment</h2>
${canWrite ? '' : html`<p class="muted">Your key is read-only: you can try filters and see their counts; saving needs a write key.</p>`}
<form method="post" action="/dashboard/segments">
<input type="hidden" name="_csrf" value="${ctx.session.csrf}">
<label for="filter">Filter</label>
<textarea id="filter" name="filter" required maxlength="4000" spellcheck="false" autocomplete="off" aria-describedby="filter-help live-count">${values.filter ?? ''}</textarea>
<p id="filter-help" class="small muted">For example <code>clv_12m &gt; 200 and churn_risk &gt; 0.6 and rfm_segment in ('At risk', "Can't lose them")</code>: comparisons, in (...), between ... and ..., is [not] null, joined by and / or / not.</p>
<output id="live-count" class="count" for="filter" aria-live="polite">type a filter to see how many customers match</output>
<label for="segment-name">Name</label>
<input type="text" id="segment-name" name="name" required maxlength="80" value="${values.name ?? ''}" autocomplete="off">
<label for="segment-description">What it is for (optional)</label>
<input type="text" id="segment-description" name="description" maxlength="500" value="${values.description ?? ''}">
${error ? html`<p class="error-box" role="alert">${error}</p>` : ''}
<button type="submit"${canWrite ? '' : html` disabled`}>Save segment</button>
</form>
<details><summary>Columns a filter may use (${columns.size})</summary>
${table('Each column and how it compares.', ['column', 'type'], [...columns.entries()].map(([c, t]) => [c, t]))}</details>
</section>`;
}

export async function segmentsPage(store: Store, ctx: PageContext, form: { name?: string; filter?: string; description?: string } = {}, error?: string): Promise<string> {
  const segments = await listSegments(store);
  const last = new Map(
    (
      await store.all<{ segment: string; run_id: number; customers: number | bigint | null; error: string | null }>(
        `SELECT segment, run_id, customers, error FROM segment_sizes QUALIFY row_number() OVER (PARTITION BY segment ORDER BY run_id DESC) = 1`,
      )
    ).map((r) => [r.segment, r]),
  );
  const columns = await filterColumns(store);
  const body = html`<h1>Segments</h1><p class="lead">Saved segments: a name and a filter over the customers' latest scores. Every run counts them; export them for a campaign.</p>
<section class="panel" aria-labelledby="saved"><h2 id="saved">Saved segments</h2>
${
  segments.length === 0
    ? html`<p class="muted">None yet: build one below.</p>`
    : table(
        'Each segment with its size when the last run counted it (open one for its size now, its history and its exports).',
        ['segment', 'filter', 'customers at the last run'],
        segments.map((s) => {
          const l = last.get(s.name);
          return [
            html`<a href="${segmentUrl(s.name)}">${s.name}</a>`,
            html`<code>${s.filter}</code>`,
            l === undefined ? 'not counted yet' : l.customers === null ? `error: ${l.error ?? ''}` : `${formatCount(Number(l.customers))} (run ${l.run_id})`,
          ];
        }),
        [2],
      )
}</section>
${builder(ctx, columns, form, error)}`;
  return page('Segments', 'segments', ctx, body, { script: true });
}

export async function segmentPage(store: Store, ctx: PageContext, name: string): Promise<string> {
  const s = await getSegment(store, name);
  let now: number | null = null;
  let problem: string | null = null;
  try {
    const compiled = await compileSegmentFilter(store, s.filter);
    now = await countFilter(store, compiled, await customerScoresFor(store, ctx.registry, compiled.columns));
  } catch (err) {
    if (!(err instanceof KairosError) || err.code !== 'USAGE') throw err;
    problem = err.message;
  }
  const history = await segmentHistory(store, name);
  const exportable = await exportableColumns(store, ctx);
  const crmDefaults: string[] = CRM_DEFAULT_COLUMNS.filter((c) => exportable.includes(c));
  const canWrite = allows(ctx.session.scope, 'write');
  const body = html`<h1>Segment “${s.name}”</h1>
<p class="lead">${s.description ?? ''}</p>
<section class="panel" aria-labelledby="def"><h2 id="def">Definition and size</h2>
<p>Filter: <code>${s.filter}</code></p>
${problem === null ? html`<p><strong>${formatCount(now ?? 0)}</strong> customers match now.</p>` : html`<p class="error-box" role="alert">${problem}</p>`}
<p class="small muted">Created ${s.createdAt}, changed ${s.updatedAt}.</p>
${
  canWrite
    ? html`<form method="post" action="${segmentUrl(s.name)}/delete"><input type="hidden" name="_csrf" value="${ctx.session.csrf}"><button type="submit" class="danger">Delete segment</button> <span class="small muted">Its sizes at past runs stay in the history.</span></form>`
    : ''
}
</section>
<section class="panel" aria-labelledby="hist"><h2 id="hist">Size at each run</h2>
${
  history.length === 0
    ? html`<p class="muted">No run has counted it yet: the next kairos score will.</p>`
    : html`${figure(
        lineChart({
          x: history.map((h) => `#${h.runId} ${h.asOf}`),
          series: [{ name: s.name, values: history.map((h) => h.customers) }],
          yName: 'customers',
          xName: 'run (as-of date)',
          yMin: 0,
          description: `Size of segment ${s.name} by run`,
        }),
        'Customers in the segment when each run published its scores.',
        'Segment size by run',
      )}
${table('Customers at each run.', ['run', 'as of', 'customers'], history.map((h) => [`#${h.runId}`, h.asOf, h.customers === null ? `error: ${h.error ?? ''}` : formatCount(h.customers)]), [2])}`
}</section>
<section class="panel" aria-labelledby="export"><h2 id="export">Export for a campaign</h2>
<form method="get" action="${segmentUrl(s.name)}/export">
<label for="export-format">Format</label>
<select id="export-format" name="format"><option value="csv">CSV</option><option value="json">NDJSON (one JSON object per line)</option><option value="parquet">Parquet</option></select>
<fieldset><legend>Table</legend>
<div class="checks"><label><input type="radio" name="shape" value="crm" checked> CRM wide table: one row per customer, flat columns, ISO dates</label>
<label><input type="radio" name="shape" value="scores"> customer_scores as stored (lists and maps kept)</label></div></fieldset>
<fieldset><legend>Columns (in this order; none ticked: ${crmDefaults.length} CRM columns for the wide table, every column otherwise)</legend>
<div class="checks">${exportable.map((c) => html`<label><input type="checkbox" name="columns" value="${c}"${crmDefaults.includes(c) ? html` checked` : ''}> ${c}</label>`)}</div>
${allows(ctx.session.scope, 'admin') ? '' : html`<p class="small muted">Personal fields (${ctx.config.personalFields.join(', ')}) and the attributes are exported with an admin key only.</p>`}
</fieldset>
<button type="submit">Download</button>
</form></section>`;
  return page(`Segment ${s.name}`, 'segments', ctx, body);
}
