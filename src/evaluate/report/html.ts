// The evaluation report as one self-contained HTML file: inline CSS and inline SVG charts, nothing fetched when opened.
import { beatsBaseline, GRADE_RULE_LINES, GRADE_RULE_TEXT } from '../../backtest/grade.js';
import { chartLegend, renderChartSvg } from './charts.js';
import { formatCount, formatNumber, formatPair } from '../../backtest/format.js';
import type { ChartSpec, EvaluationReport, Grade, MetricRow, ScoreKind, ScoreSection } from '../../backtest/types.js';

/** Escapes text for HTML element content and quoted attribute values. */
export function escapeHtml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

const KIND_LABEL: Readonly<Record<ScoreKind, string>> = {
  count: 'purchase count',
  value: 'customer value',
  probability: 'probability',
  ranking: 'recommendations',
  'decisive-moment': 'decisive moment',
};

/** What to look for in each kind of chart, when the spec gives no caption of its own. */
function defaultCaption(spec: ChartSpec): string {
  switch (spec.kind) {
    case 'tracking':
      return `Cumulative ${spec.unit}, week by week. Left of the dashed line is the data the model was fitted on; right of it is the honest test. The closer the two lines stay in the shaded holdout, the better.`;
    case 'conditional-expectation':
      return 'Customers grouped by how often they bought in the calibration period: what they bought in the holdout (bars) against what the model expected (line).';
    case 'decile-lift':
      return `Customers ranked by the score and cut into ten equal groups. A useful score puts most of the actual ${spec.unit} in the first groups.`;
    case 'reliability':
      return 'Customers grouped by predicted probability. Points on the dashed diagonal mean the probabilities came true as often as they said.';
    case 'roc':
      return 'How well the score separates customers who did from those who did not, at every cut-off. The dashed diagonal is a coin toss.';
    case 'decisive-moment':
      return `Share of customers who bought before and after the ${spec.moment}.`;
    case 'ranking-metrics':
      return "Each recommender's top 10 against what the holdout buyers went on to buy: higher bars are better. The graded model must beat the better baseline (popularity or buy-again) on NDCG@10.";
    case 'qini':
      return `Customers ranked by each score: the ${spec.unit} gained by treating the top share rather than nobody (Qini curve). The dashed line is random targeting; the higher a curve bows above it, the better the score finds the customers the treatment moves.`;
  }
}

function verdict(grade: Grade): { text: string; cls: string } {
  switch (grade) {
    case 'A':
      return { text: 'beats baseline', cls: 'beats' };
    case 'B':
      return { text: 'beats baseline', cls: 'beats-narrowly' };
    case 'C':
      return { text: 'does not beat baseline', cls: 'fails' };
    case 'N/A':
      return { text: 'cannot be compared', cls: 'na' };
  }
}

function gradeBadge(grade: Grade): string {
  const cls = grade === 'N/A' ? 'na' : grade.toLowerCase();
  return `<span class="grade grade-${cls}" title="grade ${escapeHtml(grade)}">${escapeHtml(grade)}</span>`;
}

function rowBeats(row: MetricRow): string {
  const beats = beatsBaseline(row);
  if (beats === null) return '<td class="na">n/a</td>';
  return beats ? '<td class="beats">model better</td>' : '<td class="fails">not better</td>';
}

function anchor(i: number): string {
  return `score-${i + 1}`;
}

function summaryTable(scores: readonly ScoreSection[]): string {
  if (scores.length === 0) return '<p class="empty">No scores were evaluated.</p>';
  const rows = scores.map((s, i) => {
    const head = s.metrics[0];
    const [m, b] = head === undefined ? ['n/a', 'n/a'] : formatPair(head.model, head.baseline);
    const v = verdict(s.grade.grade);
    return (
      `<tr><th scope="row"><a href="#${anchor(i)}">${escapeHtml(s.name)}</a></th>` +
      `<td class="grade-cell">${gradeBadge(s.grade.grade)}</td>` +
      `<td>${escapeHtml(head?.metric ?? 'n/a')}</td>` +
      `<td class="num">${escapeHtml(m)}</td>` +
      `<td class="num">${escapeHtml(b)}</td>` +
      `<td>${escapeHtml(head?.baselineName ?? 'n/a')}</td>` +
      `<td class="${v.cls}">${escapeHtml(v.text)}</td></tr>`
    );
  });
  return (
    '<table class="summary"><thead><tr><th scope="col">Score</th><th scope="col">Grade</th>' +
    '<th scope="col">Headline metric</th><th scope="col" class="num">Model</th><th scope="col" class="num">Baseline</th>' +
    '<th scope="col">Baseline rule</th><th scope="col">Verdict</th></tr></thead>' +
    `<tbody>${rows.join('')}</tbody></table>`
  );
}

function parameterTable(section: ScoreSection): string {
  if (section.parameters.length === 0) return '<p class="muted">No fitted parameters: this score follows a fixed rule.</p>';
  const rows = section.parameters.map(
    (p) =>
      `<tr><th scope="row">${escapeHtml(p.name)}</th><td class="num">${escapeHtml(formatNumber(p.value, 4))}</td>` +
      `<td class="num">${escapeHtml(p.standardError === null ? 'n/a' : formatNumber(p.standardError, 3))}</td></tr>`,
  );
  return (
    '<table class="params"><thead><tr><th scope="col">Parameter</th><th scope="col" class="num">Estimate</th>' +
    `<th scope="col" class="num">Std. error</th></tr></thead><tbody>${rows.join('')}</tbody></table>`
  );
}

/** The metric table; when every row has the same baseline, it is named once above the table instead of per row. */
function metricTable(section: ScoreSection): string {
  if (section.metrics.length === 0) return '<p class="muted">No metrics.</p>';
  const names = new Set(section.metrics.map((r) => r.baselineName));
  const shared = names.size === 1 ? section.metrics[0]?.baselineName : undefined;
  const rows = section.metrics.map((r, i) => {
    const [m, b] = formatPair(r.model, r.baseline);
    const name = i === 0 ? `${escapeHtml(r.metric)} <span class="tag">headline</span>` : escapeHtml(r.metric);
    return (
      `<tr><th scope="row">${name}</th><td class="num">${escapeHtml(m)}</td><td class="num">${escapeHtml(b)}</td>` +
      (shared === undefined ? `<td>${escapeHtml(r.baselineName)}</td>` : '') +
      `<td>${r.better}</td>${rowBeats(r)}</tr>`
    );
  });
  return (
    (shared === undefined ? '' : `<p class="baseline">Baseline: <strong>${escapeHtml(shared)}</strong></p>`) +
    '<table class="metrics"><thead><tr><th scope="col">Metric</th><th scope="col" class="num">Model</th>' +
    '<th scope="col" class="num">Baseline</th>' +
    (shared === undefined ? '<th scope="col">Baseline rule</th>' : '') +
    `<th scope="col">Better when</th><th scope="col">Result</th></tr></thead><tbody>${rows.join('')}</tbody></table>`
  );
}

/** The ECharts SVG, made inline: labelled for screen readers, without the unused xlink namespace. */
function inlineSvg(spec: ChartSpec): string {
  let svg = renderChartSvg(spec);
  if (!svg.includes('xlink:href')) svg = svg.replace(' xmlns:xlink="http://www.w3.org/1999/xlink"', '');
  return svg.replace(/^<svg /, `<svg role="img" aria-label="${escapeHtml(spec.title)}" `);
}

function legend(spec: ChartSpec): string {
  const items = chartLegend(spec).map(
    (item) =>
      `<li><span class="swatch swatch-${item.mark}" style="--c: ${escapeHtml(item.colour)}"></span>${escapeHtml(item.label)}</li>`,
  );
  return `<ul class="legend">${items.join('')}</ul>`;
}

function chartFigure(spec: ChartSpec): string {
  return (
    `<figure class="chart chart-${spec.kind}"><figcaption><strong>${escapeHtml(spec.title)}</strong> ` +
    `<span>${escapeHtml(spec.caption ?? defaultCaption(spec))}</span></figcaption>${legend(spec)}${inlineSvg(spec)}</figure>`
  );
}

function scoreSection(section: ScoreSection, i: number): string {
  const v = verdict(section.grade.grade);
  return (
    `<section class="score" id="${anchor(i)}">` +
    `<h2>${gradeBadge(section.grade.grade)} ${escapeHtml(section.name)}</h2>` +
    `<p class="meta">${escapeHtml(KIND_LABEL[section.kind])} score · model <code>${escapeHtml(section.model)}</code></p>` +
    `<p>${escapeHtml(section.description)}</p>` +
    `<p class="reason ${v.cls}"><strong>Grade ${escapeHtml(section.grade.grade)}:</strong> ${escapeHtml(section.grade.reason)}</p>` +
    (section.notes ?? []).map((n) => `<p class="note">${escapeHtml(n)}</p>`).join('') +
    `<p class="rule">${escapeHtml(GRADE_RULE_LINES[section.kind])}</p>` +
    '<div class="tables">' +
    `<div><h3>Metrics on the holdout</h3>${metricTable(section)}</div>` +
    `<div><h3>Fitted parameters</h3>${parameterTable(section)}</div>` +
    '</div>' +
    section.charts.map(chartFigure).join('') +
    '</section>'
  );
}

const CSS = `
:root { --ink: #1f2933; --muted: #616e7c; --line: #d9e2ec; --soft: #f5f7fa; --good: #1b7f4b; --bad: #b42318; --mid: #a15c07; }
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body { margin: 0; color: var(--ink); background: #fff; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; }
main { max-width: 980px; margin: 0 auto; padding: 28px 24px 48px; }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 20px; margin: 0 0 4px; display: flex; align-items: center; gap: 10px; }
h3 { font-size: 14px; margin: 16px 0 6px; color: var(--muted); text-transform: uppercase; letter-spacing: .04em; }
a { color: inherit; }
code { font: 13px ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; background: var(--soft); padding: 1px 4px; border-radius: 3px; }
.windows { display: grid; grid-template-columns: repeat(auto-fit, minmax(200px, 1fr)); gap: 4px 24px; margin: 12px 0 24px; padding: 12px 16px; background: var(--soft); border-radius: 6px; }
.windows div { font-size: 14px; } .windows span { display: block; color: var(--muted); font-size: 12px; }
table { border-collapse: collapse; width: 100%; font-size: 14px; }
th, td { text-align: left; padding: 6px 10px; border-bottom: 1px solid var(--line); vertical-align: top; }
thead th { font-size: 12px; color: var(--muted); font-weight: 600; border-bottom: 2px solid var(--line); }
tbody th { font-weight: 500; }
.num { text-align: right; font-variant-numeric: tabular-nums; }
.beats { color: var(--good); } .beats-narrowly { color: var(--mid); } .fails { color: var(--bad); font-weight: 600; } .na { color: var(--muted); }
.grade { display: inline-flex; align-items: center; justify-content: center; min-width: 30px; height: 30px; padding: 0 6px; border-radius: 6px; font-weight: 700; font-size: 16px; color: #fff; -webkit-print-color-adjust: exact; print-color-adjust: exact; }
.grade-a { background: var(--good); } .grade-b { background: var(--mid); } .grade-c { background: var(--bad); } .grade-na { background: #7b8794; font-size: 12px; }
.summary .grade { min-width: 26px; height: 26px; font-size: 14px; }
.score { border-top: 1px solid var(--line); margin-top: 32px; padding-top: 24px; }
.meta, .muted, .rule { color: var(--muted); font-size: 13px; margin: 0 0 8px; }
.note { padding: 6px 12px; border-left: 4px solid var(--muted); margin: 6px 0; }
.reason { padding: 8px 12px; border-left: 4px solid currentColor; background: var(--soft); }
.reason.beats { color: var(--good); } .reason.beats-narrowly { color: var(--mid); } .reason.fails { color: var(--bad); font-weight: 400; } .reason strong { font-weight: 700; }
.tables { display: grid; grid-template-columns: 3fr 2fr; gap: 0 24px; }
.tag { font-size: 11px; color: var(--muted); border: 1px solid var(--line); border-radius: 3px; padding: 0 4px; margin-left: 4px; }
figure.chart { margin: 20px 0 0; break-inside: avoid; page-break-inside: avoid; }
figure.chart svg { display: block; width: 100%; height: auto; max-width: 100%; }
.baseline { font-size: 13px; margin: 0 0 4px; }
.metrics td:last-child { white-space: nowrap; }
.legend { list-style: none; display: flex; flex-wrap: wrap; gap: 4px 18px; margin: 8px 0 0; padding: 0; font-size: 13px; }
.legend li { display: inline-flex; align-items: center; gap: 6px; }
.swatch { display: inline-block; width: 22px; -webkit-print-color-adjust: exact; print-color-adjust: exact; }
.swatch-line { border-top: 2px solid var(--c); } .swatch-dashed { border-top: 2px dashed var(--c); }
.swatch-bar { height: 10px; background: var(--c); border-radius: 2px; } .swatch-area { height: 12px; background: var(--c); border: 1px solid var(--line); }
figcaption { font-size: 13px; color: var(--muted); margin-bottom: 4px; } figcaption strong { color: var(--ink); font-size: 15px; display: block; }
.rules p { margin: 4px 0; font-size: 13px; color: var(--muted); }
footer { margin-top: 40px; font-size: 12px; color: var(--muted); }
@media (max-width: 720px) { .tables { grid-template-columns: 1fr; } main { padding: 16px 12px 32px; } }
@media print {
  @page { margin: 14mm; }
  body { font-size: 11pt; }
  main { max-width: none; padding: 0; }
  .score { break-before: page; page-break-before: always; border-top: none; margin-top: 0; }
  a { text-decoration: none; }
}
`;

/**
 * Renders the report as one self-contained HTML document: a summary table (grade, headline metric
 * vs baseline, "does not beat baseline" when so), then one section per score with its metrics,
 * parameters and charts as inline SVG. All text is escaped; nothing is loaded from the network
 * (a Content-Security-Policy forbids it).
 */
export function renderReportHtml(report: EvaluationReport): string {
  const title = escapeHtml(report.title);
  const span = (w: { start: string; end: string }): string => `${escapeHtml(w.start)} to ${escapeHtml(w.end)}`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>${title}</title>
<style>${CSS}</style>
</head>
<body>
<main>
<header>
<h1>${title}</h1>
<p class="meta">Backtest: every model was fitted on the calibration window only, then compared with what customers actually did in the holdout.</p>
<div class="windows">
<div><span>Data set</span>${escapeHtml(report.dataset)}</div>
<div><span>Customers</span>${escapeHtml(formatCount(report.customers))}</div>
<div><span>Calibration window</span>${span(report.calibration)}</div>
<div><span>Holdout window</span>${span(report.holdout)}</div>
<div><span>Generated</span>${escapeHtml(report.generatedAt)}</div>
</div>
</header>
<section class="overview">
<h2>Summary</h2>
${summaryTable(report.scores)}
</section>
${report.scores.map(scoreSection).join('\n')}
<section class="rules">
<h3>How grades are given</h3>
${GRADE_RULE_TEXT.split('\n')
  .map((line) => `<p>${escapeHtml(line)}</p>`)
  .join('\n')}
</section>
<footer>Kairos evaluation report, schema version ${escapeHtml(String(report.schemaVersion))}.</footer>
</main>
</body>
</html>
`;
}
