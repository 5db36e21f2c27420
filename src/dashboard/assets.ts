// The dashboard's stylesheet and its one script, served from the package (/dashboard/assets/...): nothing from the network.

/** Responsive, readable on a phone and a laptop; focus always visible; colours that print in greyscale. */
export const DASHBOARD_CSS = `
:root { --ink: #1f2933; --muted: #52606d; --line: #d9e2ec; --bg: #f5f7fa; --card: #fff; --accent: #1d4ed8; --warn: #b45309; --bad: #b91c1c; --good: #047857; }
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body { margin: 0; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink); background: var(--bg); }
a { color: var(--accent); }
:focus-visible { outline: 3px solid #f59e0b; outline-offset: 2px; }
.skip { position: absolute; left: -999px; top: 0; background: #fff; padding: .5rem 1rem; z-index: 10; }
.skip:focus { left: .5rem; }
header.top { background: var(--ink); color: #fff; }
header.top .bar { max-width: 1200px; margin: 0 auto; padding: .5rem 1rem; display: flex; flex-wrap: wrap; gap: .25rem 1rem; align-items: center; }
header.top .brand { font-weight: 700; margin-right: .5rem; color: #fff; text-decoration: none; }
header.top nav ul { list-style: none; margin: 0; padding: 0; display: flex; flex-wrap: wrap; gap: .25rem; }
header.top nav a { color: #e4e7eb; text-decoration: none; padding: .35rem .6rem; border-radius: 4px; display: inline-block; }
header.top nav a[aria-current="page"] { background: #3e4c59; color: #fff; }
header.top .who { margin-left: auto; display: flex; gap: .5rem; align-items: center; font-size: .9rem; color: #cbd2d9; }
header.top .who button { background: transparent; color: #fff; border: 1px solid #7b8794; border-radius: 4px; padding: .2rem .6rem; cursor: pointer; font: inherit; }
main { max-width: 1200px; margin: 0 auto; padding: 1rem; }
h1 { font-size: 1.6rem; margin: .5rem 0 1rem; }
h2 { font-size: 1.25rem; margin: 1.5rem 0 .5rem; }
h3 { font-size: 1.05rem; margin: 1rem 0 .35rem; }
.lead { color: var(--muted); margin-top: -.5rem; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(180px, 1fr)); gap: .75rem; margin: 1rem 0; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: .75rem 1rem; }
.card .label { color: var(--muted); font-size: .85rem; display: block; }
.card .value { font-size: 1.4rem; font-weight: 650; font-variant-numeric: tabular-nums; }
.card .note { color: var(--muted); font-size: .8rem; display: block; }
section.panel { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: .75rem 1rem 1rem; margin: 1rem 0; overflow-x: auto; }
.grid2 { display: grid; grid-template-columns: repeat(auto-fit, minmax(min(100%, 520px), 1fr)); gap: 1rem; }
figure.chart { margin: .5rem 0; }
figure.chart svg { width: 100%; height: auto; max-width: 760px; display: block; }
figure.chart figcaption { color: var(--muted); font-size: .9rem; margin-top: .25rem; }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
th, td { text-align: left; padding: .35rem .5rem; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-weight: 600; color: var(--muted); font-size: .9rem; }
td.num, th.num { text-align: right; }
caption { text-align: left; color: var(--muted); font-size: .9rem; padding-bottom: .35rem; }
.heat td.cell { text-align: center; min-width: 3.5rem; }
.muted { color: var(--muted); }
.small { font-size: .85rem; }
.notes li { margin: .2rem 0; }
.badge { display: inline-block; padding: 0 .45rem; border-radius: 999px; font-size: .8rem; border: 1px solid var(--line); }
.badge.stable { color: var(--good); border-color: var(--good); }
.badge.moderate { color: var(--warn); border-color: var(--warn); }
.badge.major { color: var(--bad); border-color: var(--bad); }
form.inline { display: inline; }
label { font-weight: 600; display: block; margin: .5rem 0 .2rem; }
input[type=text], input[type=password], input[type=search], select, textarea { font: inherit; padding: .45rem .55rem; border: 1px solid #9aa5b1; border-radius: 4px; width: 100%; max-width: 42rem; background: #fff; color: var(--ink); }
textarea { min-height: 4.5rem; font-family: ui-monospace, SFMono-Regular, Menlo, monospace; }
button, .button { font: inherit; background: var(--accent); color: #fff; border: 0; border-radius: 4px; padding: .45rem .9rem; cursor: pointer; text-decoration: none; display: inline-block; margin: .5rem .5rem 0 0; }
button.secondary { background: #fff; color: var(--accent); border: 1px solid var(--accent); }
button.danger { background: var(--bad); }
fieldset { border: 1px solid var(--line); border-radius: 6px; margin: .75rem 0; padding: .5rem .75rem; }
legend { font-weight: 600; }
.checks { display: grid; grid-template-columns: repeat(auto-fill, minmax(220px, 1fr)); gap: .1rem .75rem; }
.checks label { font-weight: 400; display: flex; gap: .4rem; align-items: center; margin: 0; }
output.count { display: block; margin: .5rem 0; font-weight: 600; min-height: 1.5rem; }
output.count.error { color: var(--bad); font-weight: 400; white-space: pre-wrap; font-family: ui-monospace, monospace; font-size: .9rem; }
.error-box { border: 1px solid var(--bad); background: #fef2f2; color: #7f1d1d; padding: .75rem 1rem; border-radius: 6px; white-space: pre-wrap; }
.reasons { margin: .25rem 0 0 1rem; padding: 0; }
dl.scores { display: grid; grid-template-columns: minmax(10rem, max-content) 1fr; gap: .2rem 1rem; margin: 0; }
dl.scores dt { color: var(--muted); }
dl.scores dd { margin: 0; font-variant-numeric: tabular-nums; }
@media (max-width: 640px) {
  body { font-size: 15px; }
  main { padding: .6rem; }
  header.top .who { margin-left: 0; width: 100%; }
  .card .value { font-size: 1.2rem; }
  th, td { padding: .3rem .35rem; }
  dl.scores { grid-template-columns: 1fr; }
  dl.scores dd { margin-bottom: .35rem; }
}
@media print { header.top, .skip, form { display: none; } body { background: #fff; } }
`;

/**
 * The segment builder's live count: the filter is sent (debounced, 300 ms after the last key) to
 * /dashboard/api/count, and the answer (the customers matching now, or the error pointing at the place) is written
 * in an aria-live region. Nothing else runs in the page.
 */
export const DASHBOARD_JS = `
(function () {
  'use strict';
  var field = document.getElementById('filter');
  var out = document.getElementById('live-count');
  if (!field || !out) return;
  var timer = null;
  var seq = 0;
  function show(text, isError) {
    out.textContent = text;
    out.className = isError ? 'count error' : 'count';
  }
  function ask() {
    var text = field.value.trim();
    var mine = ++seq;
    if (!text) { show('type a filter to see how many customers match', false); return; }
    show('counting…', false);
    fetch('/dashboard/api/count?filter=' + encodeURIComponent(text), { credentials: 'same-origin', headers: { accept: 'application/json' } })
      .then(function (r) { return r.json(); })
      .then(function (body) {
        if (mine !== seq) return;
        if (body && body.error) show(body.error.message + (body.error.hint ? '\\nhint: ' + body.error.hint : ''), true);
        else show(body.customersText + ' customers match now', false);
      })
      .catch(function () { if (mine === seq) show('the count could not be fetched', true); });
  }
  field.addEventListener('input', function () {
    if (timer) clearTimeout(timer);
    timer = setTimeout(ask, 300);
  });
  if (field.value.trim()) ask();
})();
`;
