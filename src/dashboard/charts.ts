// The dashboard's charts: ECharts options rendered server-side to static SVG (as the evaluation report does), nothing loaded by the browser.
import { BarChart, BoxplotChart, LineChart, type BarSeriesOption, type BoxplotSeriesOption, type LineSeriesOption } from 'echarts/charts';
import { AriaComponent, GridComponent, LegendComponent, type AriaComponentOption, type GridComponentOption, type LegendComponentOption } from 'echarts/components';
import * as echarts from 'echarts/core';
import { SVGRenderer } from 'echarts/renderers';
import { escapeHtml } from '../evaluate/report/html.js';

echarts.use([BarChart, BoxplotChart, LineChart, GridComponent, LegendComponent, AriaComponent, SVGRenderer]);

type Option = echarts.ComposeOption<BarSeriesOption | BoxplotSeriesOption | LineSeriesOption | GridComponentOption | LegendComponentOption | AriaComponentOption>;

/** Series colours: distinct in greyscale print too. */
const PALETTE = ['#1d4ed8', '#f59e0b', '#047857', '#b91c1c', '#7c3aed', '#0e7490', '#52606d', '#db2777', '#65a30d', '#9a3412'];

const AXIS = { axisLine: { lineStyle: { color: '#9aa5b1' } }, axisLabel: { color: '#323f4b', fontSize: 12 }, nameTextStyle: { color: '#52606d', fontSize: 12 } };

function render(option: Option, width: number, height: number, description: string): string {
  const chart = echarts.init(null, null, { renderer: 'svg', ssr: true, width, height });
  try {
    chart.setOption({ animation: false, color: PALETTE, aria: { enabled: true, label: { description } }, ...option });
    // ECharts' server-side SVG carries no accessible name: the chart says what it shows to screen readers.
    return chart.renderToSVGString().replace(/^<svg /, `<svg role="img" aria-label="${escapeHtml(description)}" `);
  } finally {
    chart.dispose();
  }
}

/** Compact numbers on axes: 1.2k, 3.4M. */
function short(v: number): string {
  const a = Math.abs(v);
  if (a >= 1e6) return `${(v / 1e6).toPrecision(3)}M`;
  if (a >= 1e4) return `${(v / 1e3).toPrecision(3)}k`;
  return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(3)));
}

export interface BarSpec {
  readonly categories: readonly string[];
  readonly series: readonly { readonly name: string; readonly values: readonly (number | null)[] }[];
  readonly yName: string;
  readonly xName?: string;
  /** Bars stacked (shares of a whole) rather than side by side. */
  readonly stacked?: boolean;
  /** Categories down the side (long labels). */
  readonly horizontal?: boolean;
  readonly description: string;
}

/** Bars, one group per category; a legend when there is more than one series. */
export function barChart(spec: BarSpec): string {
  const legend = spec.series.length > 1;
  const height = spec.horizontal ? Math.max(220, 60 + spec.categories.length * 26 + (legend ? 30 : 0)) : 320;
  const category = { type: 'category' as const, data: [...spec.categories], ...AXIS, axisLabel: { ...AXIS.axisLabel, interval: 0, ...(spec.horizontal ? {} : { rotate: spec.categories.length > 6 ? 30 : 0 }) } };
  const value = { type: 'value' as const, name: spec.yName, nameLocation: 'middle' as const, nameGap: spec.horizontal ? 28 : 52, ...AXIS, axisLabel: { ...AXIS.axisLabel, formatter: short }, splitLine: { lineStyle: { color: '#e4e7eb' } } };
  return render(
    {
      grid: { left: spec.horizontal ? 150 : 70, right: 24, top: legend ? 40 : 16, bottom: spec.horizontal ? 48 : spec.categories.length > 6 ? 90 : 56 },
      legend: { show: legend, top: 4, left: 'center', textStyle: { color: '#323f4b' } },
      xAxis: spec.horizontal ? value : { ...category, ...(spec.xName ? { name: spec.xName, nameLocation: 'middle' as const, nameGap: 32 } : {}) },
      yAxis: spec.horizontal ? { ...category, inverse: true } : value,
      series: spec.series.map((s) => ({ type: 'bar' as const, name: s.name, data: [...s.values], ...(spec.stacked ? { stack: 'all' } : {}), barMaxWidth: 36 })),
    },
    720,
    height,
    spec.description,
  );
}

export interface LineSpec {
  readonly x: readonly string[];
  readonly series: readonly { readonly name: string; readonly values: readonly (number | null)[]; readonly dashed?: boolean }[];
  readonly yName: string;
  readonly xName: string;
  readonly yMin?: number;
  readonly yMax?: number;
  readonly description: string;
}

/** Lines over runs (or any ordered x). */
export function lineChart(spec: LineSpec): string {
  const legend = spec.series.length > 1;
  return render(
    {
      grid: { left: 70, right: 24, top: legend ? 40 : 16, bottom: 56 },
      legend: { show: legend, top: 4, left: 'center', textStyle: { color: '#323f4b' } },
      xAxis: { type: 'category', data: [...spec.x], name: spec.xName, nameLocation: 'middle', nameGap: 32, boundaryGap: false, ...AXIS },
      yAxis: {
        type: 'value',
        name: spec.yName,
        nameLocation: 'middle',
        nameGap: 52,
        ...(spec.yMin === undefined ? {} : { min: spec.yMin }),
        ...(spec.yMax === undefined ? {} : { max: spec.yMax }),
        ...AXIS,
        axisLabel: { ...AXIS.axisLabel, formatter: short },
        splitLine: { lineStyle: { color: '#e4e7eb' } },
      },
      series: spec.series.map((s) => ({
        type: 'line' as const,
        name: s.name,
        data: [...s.values],
        symbolSize: 7,
        connectNulls: false,
        lineStyle: { width: 2, ...(s.dashed ? { type: 'dashed' as const } : {}) },
      })),
    },
    720,
    320,
    spec.description,
  );
}

export interface BoxSpec {
  /** One box per category (a run, or one score). */
  readonly categories: readonly string[];
  /** [low whisker, lower quartile, median, upper quartile, high whisker] per category, or null (no data). */
  readonly boxes: readonly (readonly [number, number, number, number, number] | null)[];
  readonly yName: string;
  readonly xName: string;
  readonly description: string;
}

/** Box plots (the whiskers are what `description` says: here the 5th and 95th percentiles). */
export function boxChart(spec: BoxSpec): string {
  return render(
    {
      grid: { left: 70, right: 24, top: 16, bottom: 56 },
      xAxis: { type: 'category', data: [...spec.categories], name: spec.xName, nameLocation: 'middle', nameGap: 32, ...AXIS },
      yAxis: { type: 'value', name: spec.yName, nameLocation: 'middle', nameGap: 52, scale: true, ...AXIS, axisLabel: { ...AXIS.axisLabel, formatter: short }, splitLine: { lineStyle: { color: '#e4e7eb' } } },
      series: [{ type: 'boxplot', data: spec.boxes.map((b) => (b === null ? [] : [...b])), itemStyle: { color: '#dbeafe', borderColor: '#1d4ed8' }, boxWidth: [8, 40] }],
    },
    720,
    320,
    spec.description,
  );
}
