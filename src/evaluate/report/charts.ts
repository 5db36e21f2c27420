// Report charts: each ChartSpec becomes an ECharts option, rendered server-side to a static inline SVG string.
import { BarChart, LineChart, type BarSeriesOption, type LineSeriesOption } from 'echarts/charts';
import {
  GridComponent,
  LegendComponent,
  MarkAreaComponent,
  MarkLineComponent,
  type GridComponentOption,
  type LegendComponentOption,
  type MarkAreaComponentOption,
  type MarkLineComponentOption,
} from 'echarts/components';
import * as echarts from 'echarts/core';
import { SVGRenderer } from 'echarts/renderers';
import { KairosError } from '../../errors.js';
import { formatCount, formatNumber, formatPercent } from '../../backtest/format.js';
import type {
  ChartSpec,
  ConditionalExpectationChart,
  DecileLiftChart,
  DecisiveMomentChart,
  RankingMetricsChart,
  QiniChart,
  ReliabilityChart,
  RocChart,
  TrackingChart,
} from '../../backtest/types.js';

echarts.use([LineChart, BarChart, GridComponent, LegendComponent, MarkLineComponent, MarkAreaComponent, SVGRenderer]);

type Option = echarts.ComposeOption<
  LineSeriesOption | BarSeriesOption | GridComponentOption | LegendComponentOption | MarkLineComponentOption | MarkAreaComponentOption
>;

/** Pixel size of a chart's SVG viewBox (it scales to the page width). */
export interface ChartSize {
  width: number;
  height: number;
}

/** Default chart size: wide enough for weekly labels, short enough for two per printed page. */
export const DEFAULT_CHART_SIZE: ChartSize = { width: 720, height: 340 };

/** Series colours: actual in ink, the model in blue, reference lines in grey; readable in greyscale print. */
export const CHART_COLOURS = {
  actual: '#1f2933',
  predicted: '#2563eb',
  reference: '#9aa5b1',
  holdout: 'rgba(37, 99, 235, 0.08)',
  after: '#f59e0b',
  /** A fourth series (Qini charts compare up to four scores). */
  fourth: '#0d9488',
} as const;

/** Bars of the recommenders that are not the model graded: distinct in colour and in greyscale print. */
const OTHER_SERIES = ['#9aa5b1', '#f59e0b', '#1f2933', '#7c3aed', '#059669'] as const;

/** The colour of each series of a ranking chart: the model's blue for the chosen one, the others in turn. */
function rankingColours(spec: RankingMetricsChart): string[] {
  let k = 0;
  return spec.series.map((s) => (s.chosen ? CHART_COLOURS.predicted : (OTHER_SERIES[k++ % OTHER_SERIES.length] as string)));
}

/** Colours of a Qini chart's curves, in series order (then repeated). */
const QINI_COLOURS = [CHART_COLOURS.predicted, CHART_COLOURS.after, CHART_COLOURS.actual, CHART_COLOURS.fourth] as const;
const qiniColour = (i: number): string => QINI_COLOURS[i % QINI_COLOURS.length] as string;

// Unquoted family names: ECharts writes the font into a double-quoted style attribute without escaping.
const FONT = 'system-ui, -apple-system, Segoe UI, Roboto, Helvetica, Arial, sans-serif';

/** ECharts draws a gap for '-'. */
function gap(x: number | null): number | '-' {
  return x === null ? '-' : x;
}

/** Legends are drawn in HTML beside the SVG (text measured by the browser, not estimated on the server). */
function base(): Option {
  return {
    animation: false,
    textStyle: { fontFamily: FONT, fontSize: 12, color: '#323f4b' },
    legend: { show: false },
    grid: { left: 64, right: 24, top: 24, bottom: 52 },
  };
}

const axisName = { nameLocation: 'middle', nameTextStyle: { color: '#52606d' } } as const;

function tracking(spec: TrackingChart): Option {
  const n = spec.periods.length;
  if (spec.actualCumulative.length !== n || spec.predictedCumulative.length !== n) {
    throw new KairosError('INTERNAL', `tracking chart "${spec.title}": ${n} periods but ${spec.actualCumulative.length} actual and ${spec.predictedCumulative.length} predicted values`);
  }
  if (!Number.isInteger(spec.holdoutStartIndex) || spec.holdoutStartIndex < 0 || spec.holdoutStartIndex > n) {
    throw new KairosError('INTERNAL', `tracking chart "${spec.title}": holdoutStartIndex ${spec.holdoutStartIndex} is outside 0..${n}`);
  }
  const boundary = spec.holdoutStartIndex;
  const marks: Pick<LineSeriesOption, 'markLine' | 'markArea'> =
    boundary < n
      ? {
          markLine: {
            silent: true,
            symbol: 'none',
            lineStyle: { color: CHART_COLOURS.reference, type: 'dashed', width: 1.5 },
            label: { formatter: 'holdout starts', position: 'insideEndTop', color: '#52606d' },
            data: [{ xAxis: boundary }],
          },
          markArea: {
            silent: true,
            itemStyle: { color: CHART_COLOURS.holdout },
            data: [[{ xAxis: boundary }, { xAxis: n - 1 }]],
          },
        }
      : {};
  return {
    ...base(),
    xAxis: {
      type: 'category',
      data: spec.periods,
      boundaryGap: false,
      name: 'week starting',
      nameGap: 30,
      ...axisName,
      axisLabel: { hideOverlap: true },
    },
    yAxis: { type: 'value', name: `cumulative ${spec.unit}`, nameGap: 48, ...axisName },
    series: [
      {
        name: 'Actual',
        type: 'line',
        data: spec.actualCumulative,
        showSymbol: false,
        lineStyle: { color: CHART_COLOURS.actual, width: 2 },
        itemStyle: { color: CHART_COLOURS.actual },
        ...marks,
      },
      {
        name: 'Predicted',
        type: 'line',
        data: spec.predictedCumulative,
        showSymbol: false,
        lineStyle: { color: CHART_COLOURS.predicted, width: 2, type: 'dashed' },
        itemStyle: { color: CHART_COLOURS.predicted },
      },
    ],
  };
}

function conditionalExpectation(spec: ConditionalExpectationChart): Option {
  return {
    ...base(),
    xAxis: {
      type: 'category',
      data: spec.buckets.map((b) => `${b.label}\nn=${formatCount(b.count)}`),
      name: 'purchases in the calibration period (n = customers)',
      nameGap: 38,
      ...axisName,
    },
    yAxis: { type: 'value', name: 'mean purchases in the holdout', nameGap: 44, ...axisName },
    series: [
      {
        name: 'Actual',
        type: 'bar',
        data: spec.buckets.map((b) => gap(b.meanActual)),
        itemStyle: { color: CHART_COLOURS.actual },
        barMaxWidth: 36,
      },
      {
        name: 'Predicted',
        type: 'line',
        data: spec.buckets.map((b) => gap(b.meanPredicted)),
        lineStyle: { color: CHART_COLOURS.predicted, width: 2 },
        itemStyle: { color: CHART_COLOURS.predicted },
        symbolSize: 7,
      },
    ],
  };
}

function decileLift(spec: DecileLiftChart): Option {
  return {
    ...base(),
    xAxis: {
      type: 'category',
      data: spec.deciles.map((d) => String(d.decile)),
      name: 'decile of customers by score (1 = highest)',
      nameGap: 30,
      ...axisName,
    },
    yAxis: { type: 'value', name: `mean ${spec.unit}`, nameGap: 48, ...axisName },
    series: [
      {
        name: 'Actual',
        type: 'bar',
        data: spec.deciles.map((d) => d.meanActual),
        itemStyle: { color: CHART_COLOURS.actual },
        barMaxWidth: 28,
      },
      {
        name: 'Predicted',
        type: 'bar',
        data: spec.deciles.map((d) => d.meanPredicted),
        itemStyle: { color: CHART_COLOURS.predicted },
        barMaxWidth: 28,
      },
    ],
  };
}

function unitAxes(xName: string, yName: string): Pick<Option, 'xAxis' | 'yAxis'> {
  return {
    xAxis: { type: 'value', min: 0, max: 1, interval: 0.2, name: xName, nameGap: 30, ...axisName },
    yAxis: { type: 'value', min: 0, max: 1, interval: 0.2, name: yName, nameGap: 40, ...axisName },
  };
}

function diagonal(name: string): LineSeriesOption {
  return {
    name,
    type: 'line',
    data: [
      [0, 0],
      [1, 1],
    ],
    showSymbol: false,
    silent: true,
    lineStyle: { color: CHART_COLOURS.reference, type: 'dashed', width: 1.5 },
    itemStyle: { color: CHART_COLOURS.reference },
  };
}

function reliability(spec: ReliabilityChart): Option {
  const points = spec.bins
    .filter((b) => b.count > 0 && b.meanPredicted !== null && b.observedRate !== null)
    .map((b) => [b.meanPredicted as number, b.observedRate as number]);
  return {
    ...base(),
    ...unitAxes('mean predicted probability', 'observed rate'),
    series: [
      diagonal('Perfect calibration'),
      {
        name: 'Model',
        type: 'line',
        data: points,
        symbolSize: 8,
        lineStyle: { color: CHART_COLOURS.predicted, width: 2 },
        itemStyle: { color: CHART_COLOURS.predicted },
      },
    ],
  };
}

function roc(spec: RocChart): Option {
  return {
    ...base(),
    ...unitAxes('false-positive rate', 'true-positive rate'),
    series: [
      diagonal('Coin toss'),
      {
        name: spec.auc === null ? 'Model' : `Model (AUC ${formatNumber(spec.auc)})`,
        type: 'line',
        data: spec.points.map((p) => [p.fpr, p.tpr]),
        showSymbol: false,
        lineStyle: { color: CHART_COLOURS.predicted, width: 2 },
        itemStyle: { color: CHART_COLOURS.predicted },
      },
    ],
  };
}

function decisiveMoment(spec: DecisiveMomentChart): Option {
  const label = {
    show: true,
    color: '#fff',
    formatter: (p: { value?: unknown }) => (typeof p.value === 'number' && p.value >= 0.06 ? formatPercent(p.value) : ''),
  };
  const rows = [...spec.rows].reverse(); // ECharts draws category rows bottom-up; keep the given order top-down
  return {
    ...base(),
    grid: { left: 140, right: 24, top: 16, bottom: 52 },
    xAxis: {
      type: 'value',
      min: 0,
      max: 1,
      name: 'share of customers',
      nameGap: 30,
      ...axisName,
      axisLabel: { formatter: (v: number) => formatPercent(v) },
    },
    yAxis: { type: 'category', data: rows.map((r) => r.label) },
    series: [
      {
        name: `Bought before the ${spec.moment}`,
        type: 'bar',
        stack: 'share',
        data: rows.map((r) => r.shareBefore),
        itemStyle: { color: CHART_COLOURS.predicted },
        label,
        barMaxWidth: 40,
      },
      {
        name: `Bought after it`,
        type: 'bar',
        stack: 'share',
        data: rows.map((r) => r.shareAfter),
        itemStyle: { color: CHART_COLOURS.after },
        label,
        barMaxWidth: 40,
      },
    ],
  };
}

function qini(spec: QiniChart): Option {
  const n = spec.fractions.length;
  for (const s of spec.series) {
    if (s.values.length !== n) throw new KairosError('INTERNAL', `Qini chart "${spec.title}": ${n} fractions but ${s.values.length} values for ${s.name}`);
  }
  return {
    ...base(),
    xAxis: {
      type: 'value',
      min: 0,
      max: 1,
      interval: 0.2,
      name: 'share of customers targeted, highest score first',
      nameGap: 30,
      ...axisName,
      axisLabel: { formatter: (v: number) => formatPercent(v) },
    },
    yAxis: { type: 'value', name: spec.unit, nameGap: 44, ...axisName },
    series: [
      ...spec.series.map(
        (s, i): LineSeriesOption => ({
          name: s.name,
          type: 'line',
          data: spec.fractions.map((f, j) => [f, s.values[j] as number]),
          showSymbol: false,
          lineStyle: { color: qiniColour(i), width: 2 },
          itemStyle: { color: qiniColour(i) },
        }),
      ),
      {
        name: 'Random targeting',
        type: 'line',
        data: [
          [0, 0],
          [1, spec.overall],
        ],
        showSymbol: false,
        silent: true,
        lineStyle: { color: CHART_COLOURS.reference, type: 'dashed', width: 1.5 },
        itemStyle: { color: CHART_COLOURS.reference },
      },
    ],
  };
}

/** How a legend entry is drawn. */
export type LegendMark = 'line' | 'dashed' | 'bar' | 'area';

/** One legend entry: the series name and how to draw its swatch. */
export interface LegendItem {
  label: string;
  colour: string;
  mark: LegendMark;
}

/** The legend of a chart, in the order of its series; the HTML report draws it. */
export function chartLegend(spec: ChartSpec): LegendItem[] {
  const c = CHART_COLOURS;
  switch (spec.kind) {
    case 'tracking':
      return [
        { label: 'Actual', colour: c.actual, mark: 'line' },
        { label: 'Predicted', colour: c.predicted, mark: 'dashed' },
        { label: 'Holdout period', colour: c.holdout, mark: 'area' },
      ];
    case 'conditional-expectation':
      return [
        { label: 'Actual', colour: c.actual, mark: 'bar' },
        { label: 'Predicted', colour: c.predicted, mark: 'line' },
      ];
    case 'decile-lift':
      return [
        { label: 'Actual', colour: c.actual, mark: 'bar' },
        { label: 'Predicted', colour: c.predicted, mark: 'bar' },
      ];
    case 'reliability':
      return [
        { label: 'Model', colour: c.predicted, mark: 'line' },
        { label: 'Perfect calibration', colour: c.reference, mark: 'dashed' },
      ];
    case 'roc':
      return [
        { label: spec.auc === null ? 'Model' : `Model (AUC ${formatNumber(spec.auc)})`, colour: c.predicted, mark: 'line' },
        { label: 'Coin toss', colour: c.reference, mark: 'dashed' },
      ];
    case 'decisive-moment':
      return [
        { label: `Bought before the ${spec.moment}`, colour: c.predicted, mark: 'bar' },
        { label: 'Bought after it', colour: c.after, mark: 'bar' },
      ];
    case 'ranking-metrics': {
      const colours = rankingColours(spec);
      return spec.series.map((s, i) => ({ label: s.chosen ? `${s.name} (graded)` : s.name, colour: colours[i] as string, mark: 'bar' as const }));
    }
    case 'qini':
      return [...spec.series.map((s, i): LegendItem => ({ label: s.name, colour: qiniColour(i), mark: 'line' })), { label: 'Random targeting', colour: c.reference, mark: 'dashed' }];
  }
}

function rankingMetrics(spec: RankingMetricsChart): Option {
  const colours = rankingColours(spec);
  return {
    ...base(),
    xAxis: { type: 'category', data: spec.metrics, name: 'metric (customers who bought in the holdout)', nameGap: 30, ...axisName },
    yAxis: { type: 'value', min: 0, name: 'value', nameGap: 44, ...axisName },
    series: spec.series.map((s, i) => ({
      // The legend's label, so that ECharts' own legend (an SVG on its own) finds the series.
      name: s.chosen ? `${s.name} (graded)` : s.name,
      type: 'bar' as const,
      data: s.values,
      itemStyle: { color: colours[i] as string },
      barMaxWidth: 22,
    })),
  };
}

/** Chart size for a spec: the default, shorter for bar rows (decisive moment: 56 px a row). */
export function chartSize(spec: ChartSpec): ChartSize {
  if (spec.kind === 'decisive-moment') return { width: DEFAULT_CHART_SIZE.width, height: 90 + 56 * Math.max(1, spec.rows.length) };
  return DEFAULT_CHART_SIZE;
}

/** The ECharts option for a chart spec (animation off: the output is a static picture). */
export function chartOption(spec: ChartSpec): Option {
  switch (spec.kind) {
    case 'tracking':
      return tracking(spec);
    case 'conditional-expectation':
      return conditionalExpectation(spec);
    case 'decile-lift':
      return decileLift(spec);
    case 'reliability':
      return reliability(spec);
    case 'roc':
      return roc(spec);
    case 'decisive-moment':
      return decisiveMoment(spec);
    case 'ranking-metrics':
      return rankingMetrics(spec);
    case 'qini':
      return qini(spec);
  }
}

/** Height of one entry of a legend drawn on the SVG, one entry a line. */
const LEGEND_LINE = 22;

/**
 * The option with ECharts' own legend, one entry a line under the plot (left-aligned, so that no text width has to be
 * estimated), for an SVG shown on its own (a markdown page): the HTML report draws its legends in HTML instead
 * (chartLegend). The chart grows by `extra` pixels to hold it.
 */
function withLegend(spec: ChartSpec, option: Option, extra: number): Option {
  const grid = option.grid as GridComponentOption;
  return {
    ...option,
    legend: {
      show: true,
      orient: 'vertical',
      left: grid.left as number,
      bottom: 8,
      itemGap: LEGEND_LINE - 14,
      itemWidth: 22,
      itemHeight: 4,
      icon: 'rect',
      data: chartLegend(spec).map((l) => l.label),
      textStyle: { color: '#323f4b' },
    },
    grid: { ...grid, bottom: (grid.bottom as number) + extra },
  };
}

/**
 * Renders a chart to a standalone SVG string with ECharts server-side rendering (no DOM, no
 * network); with `legend`, the legend is drawn on the SVG, below the plot (the SVG is taller by as much). The
 * chart instance is disposed before returning, also on error.
 */
export function renderChartSvg(spec: ChartSpec, size: ChartSize = chartSize(spec), options: { legend?: boolean } = {}): string {
  const extra = options.legend ? chartLegend(spec).length * LEGEND_LINE + 12 : 0;
  const chart = echarts.init(null, null, { renderer: 'svg', ssr: true, width: size.width, height: size.height + extra });
  try {
    chart.setOption(options.legend ? withLegend(spec, chartOption(spec), extra) : chartOption(spec));
    return chart.renderToSVGString();
  } finally {
    chart.dispose();
  }
}
