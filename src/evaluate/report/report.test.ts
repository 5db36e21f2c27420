// Report rendering: JSON against a golden file, and the HTML's self-containment, escaping and one SVG per chart.
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { KairosError } from '../../errors.js';
import { fixtureReport } from '../../testing/report-fixture.js';
import { chartLegend, chartOption, renderChartSvg } from './charts.js';
import { formatNumber, formatPair, formatPercent } from '../../backtest/format.js';
import { escapeHtml, renderReportHtml } from './html.js';
import { renderReportJson, roundSignificant } from './json.js';
import type { ChartSpec, EvaluationReport } from '../../backtest/types.js';

const golden = join(dirname(fileURLToPath(import.meta.url)), '__fixtures__', 'report.golden.json');
const chartCount = fixtureReport.scores.reduce((n, s) => n + s.charts.length, 0);

describe('renderReportJson', () => {
  it('matches the golden file (set KAIROS_UPDATE_GOLDEN=1 to rewrite it after a deliberate change)', () => {
    const json = renderReportJson(fixtureReport);
    if (process.env.KAIROS_UPDATE_GOLDEN === '1') writeFileSync(golden, json);
    expect(json).toBe(readFileSync(golden, 'utf8'));
  });

  it('sorts keys, rounds to 6 significant digits, keeps integers and drops undefined', () => {
    const report = { ...fixtureReport, scores: [], title: 'x' } as EvaluationReport;
    const reordered = Object.fromEntries(Object.entries(report).reverse()) as unknown as EvaluationReport;
    expect(Object.keys(reordered)[0]).toBe('scores');
    expect(renderReportJson(reordered)).toBe(renderReportJson(report));
    const parsed = JSON.parse(renderReportJson(fixtureReport)) as EvaluationReport;
    expect(parsed.scores[0]?.metrics[1]?.model).toBe(1.38123); // 1.381234567
    expect(parsed.customers).toBe(2357);
    expect(Object.keys(parsed)).toEqual([...Object.keys(parsed)].sort());
    expect(roundSignificant(123456789)).toBe(123456789);
    expect(roundSignificant(-0.0000123456789)).toBe(-0.0000123457);
    expect(roundSignificant(-0)).toBe(0);
  });

  it('throws INTERNAL on NaN instead of printing null silently', () => {
    const bad = structuredClone(fixtureReport);
    (bad.scores[0]?.metrics[0] as { model: number | null }).model = Number.NaN;
    expect(() => renderReportJson(bad)).toThrow(KairosError);
    expect(() => renderReportJson(bad)).toThrow(/scores\[0\]\.metrics\[0\]\.model is NaN/);
  });
});

describe('renderReportHtml', () => {
  const html = renderReportHtml(fixtureReport);

  it('has one inline <svg> per chart', () => {
    expect(html.match(/<svg\b/g)?.length).toBe(chartCount);
    expect(chartCount).toBe(6);
  });

  it('references nothing on the network: the only URL is the SVG namespace', () => {
    const urls = html.match(/https?:\/\/[^\s"'<>)]*/g) ?? [];
    expect(new Set(urls)).toEqual(new Set(['http://www.w3.org/2000/svg']));
    expect(html).not.toMatch(/<script|<link|<img|<iframe|@import|url\((?!#)/i); // url(#id) = clip paths inside the SVG
    expect(html).not.toMatch(/style="[^"]*"[^\s>/]/); // an unescaped quote would end a style attribute early
    expect(html).toContain("Content-Security-Policy");
  });

  it('summarises each score with its grade and says plainly when it does not beat the baseline', () => {
    const summary = html.slice(html.indexOf('<table class="summary">'), html.indexOf('</table>') + 8);
    expect(summary.match(/<tr><th scope="row">/g)?.length).toBe(fixtureReport.scores.length);
    expect(fixtureReport.scores.map((s) => s.grade.grade)).toEqual(['A', 'B', 'C', 'A', 'B']);
    expect(summary).toContain('does not beat baseline');
    expect(summary.match(/does not beat baseline/g)?.length).toBe(1);
    expect(html).toContain("Does not beat the baseline &#39;bought in the last 90 days&#39;: ROC AUC 0.691 vs 0.711.");
    expect(html).not.toContain('NaN');
  });

  it('escapes every piece of text it is given', () => {
    const hostile = structuredClone(fixtureReport);
    const attack = '<script>alert("x")</script> & <img src=x onerror=alert(1)>';
    hostile.title = attack;
    hostile.dataset = attack;
    const first = hostile.scores[0];
    if (first === undefined) throw new Error('fixture has scores');
    first.name = attack;
    first.description = attack;
    first.model = attack;
    (first.parameters[0] as { name: string }).name = attack;
    (first.metrics[0] as { metric: string; baselineName: string }).metric = attack;
    (first.metrics[0] as { metric: string; baselineName: string }).baselineName = attack;
    (first.charts[0] as ChartSpec).title = attack;
    (first.charts[0] as { periods: string[] }).periods[0] = attack;
    const out = renderReportHtml(hostile);
    expect(out).not.toMatch(/<script|<img/i);
    expect(out).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;img src=x onerror=alert(1)&gt;');
  });

  it('renders an empty report', () => {
    const out = renderReportHtml({ ...fixtureReport, scores: [] });
    expect(out).toContain('No scores were evaluated.');
    expect(out).not.toContain('<svg');
  });
});

describe('charts', () => {
  it('renders every kind to a static SVG with animation off', () => {
    for (const spec of fixtureReport.scores.flatMap((s) => s.charts)) {
      expect(chartOption(spec).animation).toBe(false);
      const svg = renderChartSvg(spec, { width: 400, height: 300 });
      expect(svg.startsWith('<svg')).toBe(true);
      expect(svg).toContain('viewBox="0 0 400 300"');
    }
  });

  it('draws a ranking chart as one bar per recommender and metric, the graded one in the model colour and named so in the legend', () => {
    const spec: ChartSpec = {
      kind: 'ranking-metrics',
      title: 'Top 10',
      metrics: ['NDCG@10', 'Recall@10'],
      series: [
        { name: 'als', values: [0.0946, 0.0602], chosen: true },
        { name: 'popularity', values: [0.0833, 0.0574], chosen: false },
        { name: 'buy-again', values: [0.0759, 0.0564], chosen: false },
      ],
    };
    const svg = renderChartSvg(spec, { width: 400, height: 300 });
    expect(svg.startsWith('<svg')).toBe(true);
    // Two bars for each of three recommenders.
    expect((svg.match(/fill="#2563eb"/g) ?? []).length).toBe(2);
    // Drawn on the SVG, the legend names every series, the graded one too.
    const standalone = renderChartSvg(spec, { width: 400, height: 300 }, { legend: true });
    for (const name of ['als (graded)', 'popularity', 'buy-again']) expect(standalone).toContain(`>${name}</text>`);
    expect(chartLegend(spec)).toEqual([
      { label: 'als (graded)', colour: '#2563eb', mark: 'bar' },
      { label: 'popularity', colour: '#9aa5b1', mark: 'bar' },
      { label: 'buy-again', colour: '#f59e0b', mark: 'bar' },
    ]);
  });

  it('draws a Qini chart: one curve per score and the random line, with its legend on the SVG when asked', () => {
    const qini: ChartSpec = {
      kind: 'qini',
      title: 'Qini',
      unit: 'incremental visits per 100 treated',
      fractions: [0, 0.5, 1],
      series: [
        { name: 'model', values: [0, 4, 6] },
        { name: 'rule', values: [0, 3.5, 6] },
      ],
      overall: 6,
    };
    expect(chartOption(qini).animation).toBe(false);
    expect(chartLegend(qini).map((l) => [l.label, l.mark])).toEqual([
      ['model', 'line'],
      ['rule', 'line'],
      ['Random targeting', 'dashed'],
    ]);
    const plain = renderChartSvg(qini, { width: 400, height: 300 });
    const standalone = renderChartSvg(qini, { width: 400, height: 300 }, { legend: true });
    expect(plain).not.toContain('Random targeting');
    expect(standalone).toContain('Random targeting');
    expect(standalone).toContain('>rule<');
    // Below the plot, 22 px an entry and 12 px of margin: 300 + 3 × 22 + 12.
    expect(standalone).toContain('viewBox="0 0 400 378"');
    expect(() => renderChartSvg({ ...qini, series: [{ name: 'short', values: [0, 1] }] })).toThrow(/3 fractions but 2 values for short/);
  });

  it('rejects a tracking chart whose series do not match its periods', () => {
    const bad: ChartSpec = { kind: 'tracking', title: 't', unit: 'u', periods: ['a', 'b'], actualCumulative: [1], predictedCumulative: [1, 2], holdoutStartIndex: 1 };
    expect(() => renderChartSvg(bad)).toThrow(KairosError);
    expect(() => renderChartSvg({ ...bad, actualCumulative: [1, 2], holdoutStartIndex: 3 })).toThrow(/holdoutStartIndex/);
  });
});

describe('escapeHtml and number formats', () => {
  it('escapes the five HTML-special characters', () => {
    expect(escapeHtml(`<a href="x">Tom's & co</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;Tom&#39;s &amp; co&lt;/a&gt;');
  });

  it('formats numbers briefly without hiding differences', () => {
    expect(formatNumber(0.912345)).toBe('0.912');
    expect(formatNumber(12345.6)).toBe('12,346');
    expect(formatNumber(null)).toBe('n/a');
    expect(formatPair(0.75141, 0.75123)).toEqual(['0.7514', '0.7512']);
    expect(formatPercent(0.3579)).toBe('35.8%');
  });
});
