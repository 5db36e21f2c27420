// The dashboard's page frame and the small pieces every page uses: escaping, values with their units, tables, figures.
import { escapeHtml } from '../evaluate/report/html.js';
import type { KairosConfig } from '../config.js';
import type { ScoreRegistry } from '../scores/registry.js';
import type { ScoreUnit } from '../scores/types.js';
import { formatCount, formatMoney, formatNumber, formatProbability } from '../util/format.js';
import type { ServingSnapshots } from '../server/serving.js';
import type { Session } from './session.js';

export { escapeHtml };

/** Tagged template that escapes every interpolated value unless it is already `Html`. */
export class Html {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

/** Html from pieces: strings and numbers are escaped, Html is kept, arrays are joined, null/undefined/false vanish. */
export function html(strings: TemplateStringsArray, ...values: unknown[]): Html {
  let out = strings[0] ?? '';
  values.forEach((v, i) => {
    out += piece(v) + (strings[i + 1] ?? '');
  });
  return new Html(out);
}

function piece(v: unknown): string {
  if (v instanceof Html) return v.text;
  if (v === null || v === undefined || v === false) return '';
  if (Array.isArray(v)) return v.map(piece).join('');
  return escapeHtml(String(v));
}

/** Trusted markup (an SVG rendered by ECharts from our own numbers). */
export function raw(text: string): Html {
  return new Html(text);
}

/** What a page needs to know about the request. */
export interface PageContext {
  readonly session: Session;
  readonly currency: string;
  readonly registry: ScoreRegistry;
  readonly config: KairosConfig;
  readonly version: string;
  /** The server's serving snapshot, for the customer page (src/server/serving.ts). */
  readonly serving?: ServingSnapshots;
}

const NAV: readonly { readonly href: string; readonly label: string; readonly key: string }[] = [
  { href: '/dashboard', label: 'Overview', key: 'overview' },
  { href: '/dashboard/evolution', label: 'Evolution', key: 'evolution' },
  { href: '/dashboard/customers', label: 'Customers', key: 'customers' },
  { href: '/dashboard/segments', label: 'Segments', key: 'segments' },
  { href: '/dashboard/evaluations', label: 'Model quality', key: 'evaluations' },
];

/** A whole page: skip link, navigation (the current page marked), the signed-in key and a sign-out button. */
export function page(title: string, active: string, ctx: PageContext | null, body: Html, options: { script?: boolean } = {}): string {
  const nav = ctx
    ? html`<nav aria-label="Dashboard"><ul>${NAV.map(
        (n) => html`<li><a href="${n.href}"${n.key === active ? raw(' aria-current="page"') : ''}>${n.label}</a></li>`,
      )}</ul></nav>
      <div class="who"><span>key ${ctx.session.keyId} (${ctx.session.scope})</span>
      <form class="inline" method="post" action="/dashboard/logout"><input type="hidden" name="_csrf" value="${ctx.session.csrf}"><button type="submit">Sign out</button></form></div>`
    : html``;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)} · Kairos</title>
<link rel="stylesheet" href="/dashboard/assets/dashboard.css">
${options.script ? '<script src="/dashboard/assets/dashboard.js" defer></script>' : ''}
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header class="top"><div class="bar"><a class="brand" href="/dashboard">Kairos</a>${nav.text}</div></header>
<main id="main" tabindex="-1">
${body.text}
</main>
</body>
</html>
`;
}

/** The unit of each score column, from the registry (columns it does not know: none). */
export function unitOf(registry: ScoreRegistry, column: string): ScoreUnit {
  for (const s of registry.scorers) for (const c of s.columns) if (c.name === column) return c.unit;
  return 'none';
}

/** The description of a score column, from the registry. */
export function describeColumn(registry: ScoreRegistry, column: string): string | null {
  for (const s of registry.scorers) for (const c of s.columns) if (c.name === column) return c.description;
  return null;
}

/** A value for people, with its unit: money with the currency, probabilities as %, days, counts. */
export function formatValue(value: unknown, unit: ScoreUnit, currency: string): string {
  if (value === null || value === undefined) return '—';
  if (typeof value === 'number' || typeof value === 'bigint') {
    const x = Number(value);
    if (!Number.isFinite(x)) return 'n/a';
    switch (unit) {
      case 'currency':
        return formatMoney(x, currency);
      case 'probability':
        return formatProbability(x);
      case 'days':
        return `${formatCount(x)} days`;
      case 'count':
        return formatNumber(x);
      default:
        return formatNumber(x);
    }
  }
  if (value instanceof Date) return value.toISOString().slice(0, 10);
  if (Array.isArray(value)) return value.map((v) => String(v)).join(', ');
  if (value instanceof Map) return [...value.entries()].map(([k, v]) => `${String(k)}: ${formatNumber(Number(v))}`).join(', ');
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

/** The unit said in words, for axis names and table headers. */
export function unitLabel(unit: ScoreUnit, currency: string): string {
  switch (unit) {
    case 'currency':
      return currency;
    case 'probability':
      return 'probability, 0-1';
    case 'days':
      return 'days';
    case 'count':
      return 'count';
    case 'score':
      return 'score';
    default:
      return '';
  }
}

/** A figure: the chart and the one sentence that says what it shows and how to read it. */
export function figure(svg: string, caption: string, label: string): Html {
  return html`<figure class="chart" role="group" aria-label="${label}">${raw(svg)}<figcaption>${caption}</figcaption></figure>`;
}

/** A table with a caption; `numeric` names the columns aligned right. */
export function table(caption: string, headers: readonly string[], rows: readonly (readonly unknown[])[], numeric: readonly number[] = []): Html {
  const cls = (i: number): Html => (numeric.includes(i) ? raw(' class="num"') : raw(''));
  return html`<table><caption>${caption}</caption><thead><tr>${headers.map((h, i) => html`<th scope="col"${cls(i)}>${h}</th>`)}</tr></thead>
<tbody>${rows.map((r) => html`<tr>${r.map((c, i) => html`<td${cls(i)}>${c}</td>`)}</tr>`)}</tbody></table>`;
}

/** A count card. */
export function card(label: string, value: string, note?: string): Html {
  return html`<div class="card"><span class="label">${label}</span><span class="value">${value}</span>${note ? html`<span class="note">${note}</span>` : ''}</div>`;
}

/** The PSI verdict as a badge. */
export function psiBadge(psi: number | null): Html {
  if (psi === null) return html`<span class="badge">n/a</span>`;
  const verdict = psi < 0.1 ? 'stable' : psi < 0.25 ? 'moderate shift' : 'major shift';
  const cls = psi < 0.1 ? 'stable' : psi < 0.25 ? 'moderate' : 'major';
  return html`<span class="badge ${cls}">${psi.toFixed(3)} ${verdict}</span>`;
}

export { formatCount, formatMoney, formatProbability, formatNumber };
