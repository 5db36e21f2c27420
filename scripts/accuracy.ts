// Regenerates docs/accuracy.md: ingests the real data sets and the demo into temporary stores and backtests every score.
//
//   npx tsx scripts/accuracy.ts [--out DIR] [--only cdnow-sample,online-retail,...,hillstrom] [--customers 10000]
//
// HTML reports go to --out (default: a folder in the system temp dir), never into git; the CDNOW sample's report is
// also copied to docs/accuracy-cdnow-sample.html when it is under 300 KB. With --only, docs/accuracy.md is not
// rewritten (the tables would be incomplete): the markdown goes to stdout. The Hillstrom uplift section's Qini charts
// are whole whenever it runs (--only hillstrom too): they are written to docs/accuracy-hillstrom-qini-*.svg.
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { DEFAULT_CONFIG, type KairosConfig } from '../src/config.js';
import { writeRetailerFiles } from '../src/demo/generate.js';
import { clvDetails, evaluateStore, type EvaluationResult } from '../src/evaluate/evaluate.js';
import { holdoutLabel } from '../src/backtest/format.js';
import { formatCount, formatNumber, formatPair, formatPercent } from '../src/backtest/format.js';
import { renderReportHtml } from '../src/evaluate/report/html.js';
import { epochDay, type SplitOptions } from '../src/backtest/split.js';
import { predictedCumulative, trackingLayout } from '../src/backtest/tracking.js';
import { compareEngagementWithTruth, type EngagementTruthComparison } from '../src/evaluate/engagement-truth.js';
import { comparePromotionWithTruth, HISTORY_DAYS, type PromotionTruthComparison } from '../src/evaluate/promotion-truth.js';
import { nextPurchaseNote } from '../src/scores/promotion/next-purchase.js';
import { hillstromConversionCheck, type HillstromCheck } from '../src/evaluate/hillstrom.js';
import {
  HILLSTROM_PUBLISHED,
  hillstromUplift,
  RANDOM_DRAWS,
  RANKING_LABELS,
  type ArmResult,
  type HillstromOutcome,
  type HillstromUplift,
  type OutcomeResult,
  type RankingResult,
} from '../src/evaluate/hillstrom-uplift.js';
import type { UpliftGroup } from '../src/evaluate/uplift.js';
import { compareWithTruth, TRUTH_HORIZON_DAYS, type TruthComparison } from '../src/evaluate/truth.js';
import type { Entity } from '../src/ingest/contract.js';
import { ingest } from '../src/ingest/ingest.js';
import { COMPLETE_JOURNEY_CONSUMABLES } from '../src/ingest/suggested-settings.js';
import { getTransactionModel, TRANSACTION_MODEL_NAMES, type ModelParams } from '../src/models/index.js';
import { quoteLiteral, Store } from '../src/store/db.js';
import { affinityScorer } from '../src/scores/affinity/index.js';
import type { AffinityBacktestDetails } from '../src/scores/affinity/backtest.js';
import type { RecommendBacktestDetails } from '../src/scores/recommend/backtest.js';
import { GRADED_K } from '../src/scores/recommend/choose.js';
import { chartLegend, chartSize, renderChartSvg } from '../src/evaluate/report/charts.js';
import { ScoreRegistry } from '../src/scores/registry.js';
import { runScores } from '../src/scores/run.js';
import { projectRoot, sharedData } from '../src/testing/shared-data.js';

/** Published CDNOW values (1/10 sample, 39-week calibration, time unit weeks), as listed in ../shared/data/README.md. */
const PUBLISHED = {
  source: 'Fader, Hardie & Lee (2005), "Counting Your Customers the Easy Way: An Alternative to the Pareto/NBD Model", Marketing Science 24(2), 275-284',
  bgNbd: { r: 0.243, alpha: 4.414, a: 0.793, b: 2.426 },
  paretoNbd: { r: 0.55, alpha: 10.58, s: 0.61, beta: 11.67 },
  gammaGamma: { p: 6.25, q: 3.74, gamma: 15.44 },
} as const;

/** Published weekly parameters in the days Kairos fits in: rates scale with the time unit (α, β × 7). */
function inDays(name: 'bg-nbd' | 'pareto-nbd'): ModelParams {
  return name === 'bg-nbd'
    ? { ...PUBLISHED.bgNbd, alpha: PUBLISHED.bgNbd.alpha * 7 }
    : { ...PUBLISHED.paretoNbd, alpha: PUBLISHED.paretoNbd.alpha * 7, beta: PUBLISHED.paretoNbd.beta * 7 };
}

interface DataSet {
  key: string;
  title: string;
  /** Files per entity, ingested in this order. */
  files: () => Promise<{ entity: Entity; files: string[]; preset?: string }[]>;
  split: SplitOptions;
  splitText: string;
  currency: string;
  /** Extra work on the evaluated store (CDNOW published forecasts, demo truth, the Complete Journey's commodity level). */
  extra?: 'cdnow' | 'demo' | 'complete-journey';
  /** Settings of this data set over the defaults, and what they are in words. */
  settings?: (c: KairosConfig) => KairosConfig;
  settingsText?: string;
}

interface Run {
  set: DataSet;
  result: EvaluationResult;
  ingestSeconds: number;
  evaluateSeconds: number;
  reportFile: string;
  reportBytes: number;
  rows: number;
  cdnow?: CdnowForecasts;
  truth?: TruthComparison;
  engagementTruth?: EngagementTruthComparison;
  promotionTruth?: PromotionTruthComparison;
  truthSeconds?: number;
  /** Complete Journey: the affinity backtest again at the commodity level (category level 2). */
  commodity?: AffinityBacktestDetails;
  /** Demo: the published run's top affinity group against the latent favourite category. */
  favourite?: { customers: number; hits: number; mostCommon: number; groups: number };
}


interface CdnowForecasts {
  /** Per model: holdout total from the published parameters, conditional and tracking; calibration tracking. */
  published: Record<'bg-nbd' | 'pareto-nbd', { conditional: number; tracking: number; calibration: number }>;
}

function args(): { out: string; only: string[] | null; customers: number } {
  const argv = process.argv.slice(2);
  const get = (flag: string): string | undefined => {
    const i = argv.indexOf(flag);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const only = get('--only');
  return {
    out: resolve(get('--out') ?? join(tmpdir(), 'kairos-accuracy')),
    only: only ? only.split(',').map((s) => s.trim()) : null,
    customers: Number(get('--customers') ?? 10_000),
  };
}

const log = (message: string): void => {
  process.stderr.write(`[accuracy] ${message}\n`);
};

/** Forecasts of the published parameters on our calibration population: the numbers the paper's charts are drawn from. */
function cdnowForecasts(result: EvaluationResult): CdnowForecasts {
  const d = clvDetails(result);
  const split = result.split;
  const transactions = { x: d.calibration.x, tx: d.calibration.tx, T: d.calibration.T };
  const lastCalibrationDay = epochDay(split.calibrationEnd);
  const births = Float64Array.from(d.calibration.T, (t) => lastCalibrationDay - t);
  const layout = trackingLayout(births.reduce((a, b) => Math.min(a, b), Infinity), lastCalibrationDay + 1, epochDay(split.holdoutLast) + 1);
  const forecast = (name: 'bg-nbd' | 'pareto-nbd'): { conditional: number; tracking: number; calibration: number } => {
    const model = getTransactionModel(name as string);
    const params = inDays(name);
    const conditional = model.expectedPurchases(params, transactions, split.holdoutDays).reduce((a, b) => a + b, 0);
    const cum = predictedCumulative(model, params, births, layout.ends);
    const atCut = cum[layout.holdoutStartIndex - 1] ?? 0;
    return { conditional, tracking: (cum.at(-1) ?? 0) - atCut, calibration: atCut };
  };
  return { published: { 'bg-nbd': forecast('bg-nbd'), 'pareto-nbd': forecast('pareto-nbd') } };
}

async function runDataSet(set: DataSet, outDir: string, work: string, config: KairosConfig): Promise<Run> {
  const dir = join(work, set.key);
  mkdirSync(dir, { recursive: true });
  const store = await Store.open(join(dir, 'store.duckdb'));
  try {
    let t = performance.now();
    let rows = 0;
    for (const step of await set.files()) {
      log(`${set.key}: ingesting ${step.entity} (${step.files.map((f) => relative(projectRoot, f)).join(', ')})`);
      const r = await ingest(store, {
        entity: step.entity,
        files: step.files,
        ...(step.preset ? { preset: step.preset } : {}),
        rejectsDir: join(dir, 'rejects'),
        now: new Date('2100-01-01T00:00:00Z'),
      });
      if (step.entity === 'orders') rows += r.totals.loaded;
    }
    const ingestSeconds = (performance.now() - t) / 1000;
    log(`${set.key}: evaluating (${set.splitText})`);
    t = performance.now();
    const settings = set.settings ? set.settings(config) : config;
    const result = await evaluateStore(store, {
      config: { ...settings, currency: set.currency },
      ...set.split,
      dataset: set.key,
      title: `Kairos backtest: ${set.title}`,
      onProgress: (m) => log(`${set.key}:   ${m}`),
    });
    const evaluateSeconds = (performance.now() - t) / 1000;
    const reportFile = join(outDir, `${set.key}.html`);
    writeFileSync(reportFile, renderReportHtml(result.report));
    const run: Run = { set, result, ingestSeconds, evaluateSeconds, reportFile, reportBytes: statSync(reportFile).size, rows };
    if (set.extra === 'cdnow') run.cdnow = cdnowForecasts(result);
    if (set.extra === 'complete-journey') {
      log(`${set.key}: category affinity at the commodity level`);
      const commodity = await evaluateStore(store, {
        config: { ...settings, currency: set.currency, affinity: { ...settings.affinity, level: 2 } },
        registry: new ScoreRegistry([affinityScorer]),
        ...set.split,
        dataset: set.key,
      });
      run.commodity = commodity.scorers['affinity']?.details as AffinityBacktestDetails | undefined;
    }
    if (set.extra === 'demo') {
      log(`${set.key}: comparing with truth.csv`);
      t = performance.now();
      run.truth = await compareWithTruth(store, join(work, 'demo-files', 'truth.csv'), { config, asOf: result.split.dataEnd });
      run.engagementTruth = await compareEngagementWithTruth(store, join(work, 'demo-files', 'truth.csv'), { config, asOf: result.split.dataEnd });
      run.favourite = await favouriteCategory(store, join(work, 'demo-files', 'truth.csv'), settings, result.split.dataEnd);
      run.promotionTruth = await comparePromotionWithTruth(store, join(work, 'demo-files', 'truth.csv'), { config, asOf: result.split.dataEnd });
      run.truthSeconds = (performance.now() - t) / 1000;
    }
    log(`${set.key}: done in ${(ingestSeconds + evaluateSeconds).toFixed(1)} s`);
    return run;
  } finally {
    store.close();
  }
}

/** Scores category affinity at the data end and counts the customers whose top group is their latent favourite category (truth.csv). */
async function favouriteCategory(store: Store, truthCsv: string, config: KairosConfig, asOf: string): Promise<Run['favourite']> {
  await runScores(store, { config, asOf, scorers: ['affinity'] });
  const row = await store.one<{ customers: number; hits: number; most_common: number; groups: number }>(
    `WITH t AS (SELECT customer_id, favourite_category FROM read_csv(${quoteLiteral(truthCsv)}, header = true, all_varchar = true)),
     j AS (SELECT s.top_category, t.favourite_category FROM customer_scores s JOIN t USING (customer_id) WHERE s.top_category IS NOT NULL)
     SELECT count(*)::INTEGER AS customers, count(*) FILTER (WHERE top_category = favourite_category)::INTEGER AS hits,
       (SELECT max(n) FROM (SELECT count(*) AS n FROM j GROUP BY favourite_category))::INTEGER AS most_common,
       (SELECT count(DISTINCT favourite_category) FROM t)::INTEGER AS groups
     FROM j`,
  );
  return { customers: row?.customers ?? 0, hits: row?.hits ?? 0, mostCommon: row?.most_common ?? 0, groups: row?.groups ?? 0 };
}

// ---------------------------------------------------------------------------------------------
// Markdown

const n3 = (x: number | null): string => formatNumber(x, 3);
const n4 = (x: number | null): string => formatNumber(x, 4);
/** A markdown table; pipes inside cells are escaped. */
const table = (head: string[], rows: string[][]): string => {
  const line = (cells: string[]): string => `| ${cells.map((c) => c.replaceAll('|', '\\|')).join(' | ')} |`;
  return [line(head), `| ${head.map(() => '---').join(' | ')} |`, ...rows.map(line)].join('\n');
};
const pct = (model: number, actual: number): string => `${model >= actual ? '+' : ''}${((100 * (model - actual)) / actual).toFixed(1)}%`;

/** Plain sentences: which scores do not beat their baseline, or cannot be graded, per data set. */
function verdicts(runs: Run[]): string {
  const lines = runs.map((r) => {
    const failing = r.result.report.scores.filter((s) => s.grade.grade === 'C').map((s) => s.name);
    const na = r.result.report.scores.filter((s) => s.grade.grade === 'N/A').map((s) => s.name);
    if (na.length === r.result.report.scores.length) {
      return `- **${r.set.title}**: nothing can be graded: no purchase model could be fitted on the calibration (see below).`;
    }
    const parts = [
      failing.length ? `does not beat its baseline: ${failing.join('; ')}` : 'every score beats its baseline',
      ...(na.length ? [`cannot be graded: ${na.join('; ')}`] : []),
    ];
    return `- **${r.set.title}**: ${parts.join('. ')}.`;
  });
  return lines.join('\n');
}

function overview(runs: Run[]): string {
  const rows = runs.map((r) => {
    const rep = r.result.report;
    const d = clvDetails(r.result);
    return [
      r.set.title,
      formatCount(rep.customers),
      `${rep.calibration.start} to ${rep.calibration.end}`,
      `${rep.holdout.start} to ${rep.holdout.end} (${holdoutLabel(r.result.split.holdoutDays)})`,
      d.choice.model,
      d.winner ?? 'none',
    ];
  });
  return table(['data set', 'customers', 'calibration', 'holdout', 'model chosen (auto, calibration only)', 'best on the holdout'], rows);
}

function scoreTable(r: Run): string {
  const rows = r.result.report.scores.map((s) => {
    const head = s.metrics[0];
    const [m, b] = head ? formatPair(head.model, head.baseline) : ['n/a', 'n/a'];
    const verdict = s.grade.grade === 'C' ? '**does not beat the baseline**' : s.grade.grade === 'N/A' ? 'n/a' : 'beats the baseline';
    return [s.name, `**${s.grade.grade}**`, head?.metric ?? 'n/a', m, `${b} (${head?.baselineName ?? 'n/a'})`, verdict];
  });
  return table(['score', 'grade', 'headline metric', 'model', 'baseline', 'verdict'], rows);
}

function secondaryTable(r: Run): string {
  const rows: string[][] = [];
  for (const s of r.result.report.scores.slice(3)) {
    for (const m of s.metrics.slice(1)) {
      const [a, b] = formatPair(m.model, m.baseline);
      rows.push([s.name, m.metric, a, `${b} (${m.baselineName})`]);
    }
  }
  return table(['score', 'metric', 'model', 'baseline'], rows);
}

function modelTable(r: Run): string {
  const d = clvDetails(r.result);
  const rows = TRANSACTION_MODEL_NAMES.map((m) => {
    const o = d.models[m];
    const s = r.result.report.scores.find((x) => x.kind === 'count' && x.model === m);
    const spear = s?.metrics[2]?.model ?? null;
    return [
      `${m}${m === d.choice.model ? ' (chosen)' : ''}${m === d.winner ? ' **best**' : ''}`,
      o.holdoutMae === null ? `failed: ${o.error}` : n4(o.holdoutMae),
      n3(s?.metrics[1]?.model ?? null),
      n3(spear),
      o.totalConditional === null ? 'n/a' : `${formatCount(o.totalConditional)} (${pct(o.totalConditional, d.totals.holdoutActual)})`,
      o.totalTracking === null ? 'n/a' : `${formatCount(o.totalTracking)} (${pct(o.totalTracking, d.totals.holdoutActual)})`,
    ];
  });
  rows.push([
    'baseline: same rate as calibration',
    n4(r.result.report.scores[0]?.metrics[0]?.baseline ?? null),
    n3(r.result.report.scores[0]?.metrics[1]?.baseline ?? null),
    n3(r.result.report.scores[0]?.metrics[2]?.baseline ?? null),
    `${formatCount(d.totals.holdoutSameRate)} (${pct(d.totals.holdoutSameRate, d.totals.holdoutActual)})`,
    '',
  ]);
  rows.push(['actual', '', '', '', formatCount(d.totals.holdoutActual), formatCount(d.totals.holdoutActual)]);
  return table(['purchase model', 'MAE per customer', 'RMSE', 'Spearman', 'holdout total (sum of conditional expectations)', 'holdout total (cohort tracking forecast)'], rows);
}

/** Penalty the models module suggests when a fit is not identified; used only in the diagnostic table. */
const DIAGNOSTIC_PENALTY = 1e-3;

/**
 * For models that could not be fitted: what a small L2 penalty on the log-parameters would have given on the same
 * calibration data and holdout. A diagnostic for the models' maintainers, not what scoring or `kairos evaluate` do.
 */
function penalisedDiagnostic(r: Run): string | null {
  const d = clvDetails(r.result);
  const failed = TRANSACTION_MODEL_NAMES.filter((m) => d.models[m].fit === null);
  if (failed.length === 0) return null;
  const transactions = { x: d.calibration.x, tx: d.calibration.tx, T: d.calibration.T };
  const actual = d.outcomes.purchases;
  const rows = failed.map((name) => {
    const model = getTransactionModel(name as string);
    try {
      const fit = model.fit(transactions, { penalty: DIAGNOSTIC_PENALTY });
      const predicted = model.expectedPurchases(fit.params, transactions, r.result.split.holdoutDays);
      let err = 0;
      let total = 0;
      predicted.forEach((p, i) => {
        err += Math.abs(p - (actual[i] as number));
        total += p;
      });
      const params = Object.entries(fit.params).map(([k, v]) => `${k} ${formatNumber(v, 3)}`).join(', ');
      return [name, params, n4(err / predicted.length), `${formatCount(total)} (${pct(total, d.totals.holdoutActual)})`];
    } catch (e) {
      return [name, `fails too: ${(e as Error).message}`, 'n/a', 'n/a'];
    }
  });
  return [
    `Diagnostic, not what scoring does: the same fits with an L2 penalty of ${DIAGNOSTIC_PENALTY} on the log-parameters (the remedy the models' error message suggests), scored on the same holdout:`,
    '',
    table(['model', 'penalised fit (days)', 'MAE per customer', 'holdout total'], rows),
  ].join('\n');
}

function cdnowSection(runs: Run[]): string {
  const out: string[] = [];
  for (const r of runs.filter((x) => x.cdnow)) {
    const d = clvDetails(r.result);
    const c = r.cdnow as CdnowForecasts;
    const fitted = (m: 'bg-nbd' | 'pareto-nbd' | 'mbg-nbd'): string => {
      const o = d.models[m];
      return o.totalConditional === null
        ? 'n/a'
        : `${formatCount(o.totalConditional)} (${pct(o.totalConditional, d.totals.holdoutActual)}) / ${formatCount(o.totalTracking ?? 0)} (${pct(o.totalTracking ?? 0, d.totals.holdoutActual)})`;
    };
    const pub = (m: 'bg-nbd' | 'pareto-nbd'): string => {
      const p = c.published[m];
      return `${formatCount(p.conditional)} (${pct(p.conditional, d.totals.holdoutActual)}) / ${formatCount(p.tracking)} (${pct(p.tracking, d.totals.holdoutActual)})`;
    };
    out.push(`**${r.set.title}** (${formatCount(r.result.report.customers)} customers; actual repeat purchase days in the 39-week holdout: **${formatCount(d.totals.holdoutActual)}**; calibration: ${formatCount(d.totals.calibrationActual)})`);
    out.push('');
    out.push(
      table(
        ['model', 'Kairos fit: conditional / tracking forecast', `published parameters${r.set.key === 'cdnow-master' ? ' (estimated on the 1/10 sample)' : ''}: conditional / tracking forecast`],
        [
          ['BG/NBD', fitted('bg-nbd'), pub('bg-nbd')],
          ['Pareto/NBD', fitted('pareto-nbd'), pub('pareto-nbd')],
          ['MBG/NBD', fitted('mbg-nbd'), 'not in the paper'],
        ],
      ),
    );
    out.push('');
    const w = (m: 'bg-nbd' | 'pareto-nbd' | 'mbg-nbd'): string => {
      const f = d.models[m].fit;
      if (!f) return 'n/a';
      const p = f.params as Record<string, number>;
      return Object.entries(p)
        .map(([k, v]) => `${k} ${formatNumber(k === 'alpha' || k === 'beta' ? v / 7 : v, 4)}`)
        .join(', ');
    };
    const gg = d.spend.fit?.params;
    out.push(
      table(
        ['model', 'Kairos fit (weeks)', `published (weeks${r.set.key === 'cdnow-master' ? ', 1/10 sample' : ''})`],
        [
          ['BG/NBD', w('bg-nbd'), 'r 0.243, alpha 4.414, a 0.793, b 2.426'],
          ['Pareto/NBD', w('pareto-nbd'), 'r 0.55, alpha 10.58, s 0.61, beta 11.67'],
          ['Gamma-Gamma', gg ? `p ${n4(gg.p)}, q ${n4(gg.q)}, gamma ${n4(gg.gamma)}` : 'n/a', 'p 6.25, q 3.74, gamma 15.44'],
        ],
      ),
    );
    out.push('');
  }
  return out.join('\n');
}

function truthSection(r: Run): string {
  const t = r.truth as TruthComparison;
  const ref = t.reference;
  const rows = TRANSACTION_MODEL_NAMES.map((name) => {
    const m = t.models[name];
    const label = `${name}${name === t.model ? ' (chosen)' : ''}${name === 'bg-nbd' ? ' (the family the demo is drawn from)' : ''}`;
    if (m.error) return [label, `failed: ${m.error}`, '', '', '', '', '', ''];
    return [
      label,
      n3(m.pAlive.auc),
      n3(m.pAlive.brier),
      formatPercent(m.pAlive.meanPredicted),
      `${n3(m.pAlive.pearsonVsKnown)} / ${n3(m.pAlive.maeVsKnown)}`,
      `${n3(m.purchases.pearsonVsKnown)} / ${n3(m.purchases.spearmanVsKnown)} / ${n3(m.purchases.maeVsKnown)}`,
      n3(m.purchases.maeVsRealised),
      formatCount(m.purchases.total ?? 0),
    ];
  });
  rows.push([
    'reference',
    `${n3(ref.aucRecency)} (RFM recency)`,
    `${n3(ref.brierConstant)} (true share alive for all)`,
    `${formatPercent(ref.shareAlive)} actually alive`,
    '',
    '',
    `${n3(ref.maeBaselineVsRealised)} (same rate); ${n3(ref.maeKnownVsRealised)} (truth's own expectation: the noise floor)`,
    `${formatCount(ref.totalKnown)} expected by the truth, ${formatCount(ref.totalRealised)} realised, ${formatCount(ref.totalBaseline)} same rate`,
  ]);
  return [
    `Models fitted on every order of the demo (as of ${t.asOf.slice(0, 10)}, the data end; ${formatCount(t.customers)} customers; scoring would choose ${t.model}: ${t.modelReason}), compared with \`truth.csv\`, whose expectations and realised purchases cover the ${TRUTH_HORIZON_DAYS} days after the data end (docs/demo.md). The holdout backtest above uses a cut ${TRUTH_HORIZON_DAYS} days before the data end instead, so that its holdout has the same length as the truth's horizon.`,
    '',
    table(
      [
        'model',
        'P(alive) vs alive_at_end: ROC AUC',
        'Brier',
        'mean P(alive)',
        "P(alive) vs truth's P(alive | λ, p, history): Pearson / MAE",
        "expected purchases (180 d) vs truth's E[· | λ, p, history]: Pearson / Spearman / MAE",
        'MAE vs realised purchases',
        'total purchases (180 d)',
      ],
      rows,
    ),
    '',
    `Gamma-Gamma's expected order value vs the true p / ν of the ${formatCount(t.orderValue.customers)} repeat buyers: Pearson ${n3(t.orderValue.pearsonVsTrue)}, MAE ${n3(t.orderValue.maeVsTrue)}.`,
    '',
    table(
      ['parameter (days)', 'fitted', 'std. error', 'true'],
      t.parameters.map((x) => [x.name, n4(x.fitted), n3(x.standardError), String(x.truth)]),
    ),
    '',
    'The demo is not a pure BG/NBD + Gamma-Gamma process: promotions lift purchase rates on promo days, baskets are filled with whole products and discounts, and several orders on one day count as one purchase day; so the fitted parameters are close to, not equal to, the true ones. In BG/NBD a customer can only leave after a repeat purchase, so the truth\'s P(alive) of a one-time buyer is 1; Pareto/NBD and MBG/NBD let customers leave at any time or at the start, and give one-time buyers a lower P(alive).',
  ].join('\n');
}

/** The engagement and ambassador scores against the demo's latent traits (src/evaluate/engagement-truth.ts). */
function engagementTruthSection(r: Run): string {
  const t = r.engagementTruth as EngagementTruthComparison;
  const e = t.engagement;
  const a = t.ambassador;
  return [
    `The engagement scorer's scores as of ${t.asOf.slice(0, 10)} (the data end, default settings: docs/scores.md), against \`truth.csv\` for the ${formatCount(t.customers)} customers. The latent \`engagement\` is a fixed trait; the score measures current engagement, and a customer who dropped out engages less and less (docs/demo.md), hence the correlation among the customers alive at the end beside the one over all.`,
    '',
    table(
      ['score', 'against', 'customers', 'result'],
      [
        ['engagement_score', 'latent engagement', formatCount(t.customers), `Spearman ${n3(e.spearman)}`],
        ['engagement_score', 'latent engagement, customers alive at the end', formatCount(e.aliveCustomers), `Spearman ${n3(e.spearmanAlive)}`],
        ['email_open_rate', 'latent engagement, customers with an e-mail received', formatCount(e.mailedCustomers), `Spearman ${n3(e.openRateSpearman)}`],
        ['ambassador_score', `ambassador (0/1, ${formatCount(a.ambassadors)} true ambassadors)`, formatCount(t.customers), `ROC AUC ${n3(a.auc)}, Spearman ${n3(a.spearman)}`],
        ['ambassador_label = ambassador', 'ambassador (0/1)', formatCount(t.customers), `precision ${formatPercent(a.labelPrecision)}, recall ${formatPercent(a.labelRecall)}`],
      ],
    ),
  ].join('\n');
}

/** Promotion appetence against the demo's latent promo_sensitivity (src/evaluate/promotion-truth.ts). */
function promotionTruthSection(r: Run): string {
  const t = r.promotionTruth as PromotionTruthComparison;
  return [
    `The promotion scorer's appetence as of ${t.asOf.slice(0, 10)} (the data end, default settings: docs/scores.md, "Promotion appetence"), against \`truth.csv\`'s latent \`promo_sensitivity\` (it lifts a customer's purchase rate on promotion days and the chance of a coupon on other orders: docs/demo.md), for the ${formatCount(t.customers)} customers with a purchase. Baseline: the raw share, the mean of the plain shares of purchase days and of spend on promotion, not shrunk.`,
    '',
    table(
      ['customers', 'count', 'promo_appetence', 'raw share'],
      [
        ['with a purchase', formatCount(t.customers), `Spearman ${n3(t.spearman)}`, `Spearman ${n3(t.spearmanRaw)}`],
        [`with ${HISTORY_DAYS} purchase days or more`, formatCount(t.withHistory), `Spearman ${n3(t.spearmanHistory)}`, `Spearman ${n3(t.spearmanRawHistory)}`],
      ],
    ),
    '',
    `Next-purchase trees: ${nextPurchaseNote(t.nextPurchase).replace(/^promotion: /, '')}.`,
  ].join('\n');
}

function timingTable(runs: Run[]): string {
  return table(
    ['data set', 'order lines', 'ingest (s)', 'evaluate (s)', 'HTML report'],
    runs.map((r) => [
      r.set.title,
      formatCount(r.rows),
      r.ingestSeconds.toFixed(1),
      `${r.evaluateSeconds.toFixed(1)}${r.truthSeconds !== undefined ? ` (+ ${r.truthSeconds.toFixed(1)} truth)` : ''}`,
      `${(r.reportBytes / 1024).toFixed(0)} KB`,
    ]),
  );
}

/** The headline of the first section that `match` picks: model, baseline and grade. */
function headline(r: Run, match: (name: string, model: string) => boolean): { model: number | null; baseline: number | null; grade: string } | null {
  const s = r.result.report.scores.find((x) => match(x.name, x.model));
  const m = s?.metrics[0];
  return s && m ? { model: m.model, baseline: m.baseline, grade: s.grade.grade } : null;
}

/** Per data set: the learned scores' headline metrics beside the rule and the purchase model, with their grades. */
/**
 * Every recommender on each data set with product ids (src/scores/recommend/backtest.ts), and the report's ranking
 * chart of each written beside this page as an SVG (`charts` true: the full page; --only prints no files).
 */
function recommendSection(runs: Run[], charts: boolean): string {
  const out: string[] = [
    `Each customer's top ${GRADED_K} at the cut, graded on the customers who bought in the holdout (the products their exclusions allow), on the same splits as above. The recommender graded is the one the scorer chooses on the calibration's last 30 days; popularity and buy-again are the baselines (docs/scores.md, "Recommendations").`,
    '',
  ];
  const rows: string[][] = [];
  const images: string[] = [];
  for (const r of runs) {
    const d = r.result.scorers['recommend']?.details as RecommendBacktestDetails | undefined;
    if (!d || d.graded.length === 0 || !d.choice) continue;
    const best = (name: string): string => {
      const g = d.graded.find((x) => x.name === name);
      return g ? `${n3(g.metrics.ndcg)} / ${n3(g.metrics.recall)} / ${formatPercent(g.metrics.hitRate)}` : 'n/a';
    };
    rows.push([r.set.title, formatCount(d.buyers), d.choice.chosen, best('item-knn'), best('als'), best('popularity'), best('buy-again')]);
    const section = r.result.report.scores.find((x) => x.kind === 'ranking');
    const chart = section?.charts.find((c) => c.kind === 'ranking-metrics');
    if (chart && charts) {
      const file = `accuracy-${r.set.key}-recommendations.svg`;
      writeFileSync(join(projectRoot, 'docs', file), renderChartSvg(chart, chartSize(chart), { legend: true }));
      images.push(`![${chart.title}, ${r.set.title}](${file})`, '', `${r.set.title}: ${chart.title.toLowerCase()} (${chartLegend(chart).map((l) => l.label).join(', ')}).`, '');
    }
  }
  out.push(table(['data set', 'holdout buyers', 'graded (chosen)', 'item-knn NDCG / recall / hit rate', 'als', 'popularity', 'buy-again'], rows), '', ...images);
  return out.join('\n');
}

/** The affinity backtests (src/scores/affinity/backtest.ts): pooled upsell and cross-sell ROC AUC per data set, per group on the Complete Journey, the demo's latent favourite. */
function affinitySection(runs: Run[]): string {
  const auc = (v: number | null): string => (v === null ? 'n/a' : n3(v));
  const pair = (a: number | null, b: number | null): string => `${auc(a)} vs ${auc(b)}`;
  const rows: string[][] = [];
  const perGroup: string[] = [];
  const groupTable = (title: string, d: AffinityBacktestDetails): void => {
    perGroup.push(
      `${title}, the ten groups with most customers (ROC AUC and lift at 10% of the model vs 'bought in the group before'; cross-sell: among the customers who never bought in it):`,
      '',
      table(
        ['group', 'bought in the window', 'upsell ROC AUC', 'upsell lift at 10%', 'cross-sell ROC AUC', 'cross-sell lift at 10%'],
        d.groups.slice(0, 10).map((g) => [g.group, `${formatCount(g.buyers)} of ${formatCount(g.customers)}`, pair(g.auc, g.boughtBeforeAuc), pair(g.lift, g.boughtBeforeLift), auc(g.crossSellAuc), auc(g.crossSellLift)]),
      ),
      '',
    );
  };
  for (const r of runs) {
    const d = r.result.scorers['affinity']?.details as AffinityBacktestDetails | undefined;
    if (!d || d.groups.length === 0) continue;
    const level = r.set.key === 'complete-journey' ? ' (departments)' : '';
    rows.push([`${r.set.title}${level}`, formatCount(d.groups.length), formatCount(d.pairs), pair(d.upsell.auc, d.upsell.baseline), pair(d.crossSell.auc, d.crossSell.baseline)]);
    if (r.set.key === 'complete-journey') groupTable('Complete Journey, departments', d);
    if (r.commodity && r.commodity.groups.length > 0) {
      const c = r.commodity;
      rows.push([`${r.set.title} (commodities: category level 2)`, formatCount(c.groups.length), formatCount(c.pairs), pair(c.upsell.auc, c.upsell.baseline), pair(c.crossSell.auc, c.crossSell.baseline)]);
      groupTable('Complete Journey, commodities', c);
    }
  }
  const demo = runs.find((r) => r.favourite);
  const fav = demo?.favourite;
  const favourite = fav && fav.customers > 0
    ? `On the demo, scored at the data end with default settings, the top group is the customer's latent \`favourite_category\` (truth.csv) for ${formatPercent(fav.hits / fav.customers)} of ${formatCount(fav.customers)} customers with an affinity; one group in ${fav.groups} by chance is ${formatPercent(1 / Math.max(1, fav.groups))}, and always guessing the most common favourite ${formatPercent(fav.mostCommon / fav.customers)}.`
    : '';
  return [
    "Category affinity is off by default (`affinity.enabled`); this page turns it on. Per (customer, product group) pair, the probability of buying in the group within the first 90 days of the holdout (the model fitted on the calibration only, scored at the cut). Upsell: every pair, ranked against 'bought in the group before' (days with a purchase in it). Cross-sell: the pairs of customers who had never bought in the group, ranked against the group's popularity (share of the last 90 days' buyers who bought in it). Each cell: model vs baseline. Groups are the top level of the category path unless said otherwise; UCI Online Retail has no categories (every product is 'uncategorised', one group), so its upsell row is the chance of buying again at all and it has no cross-sell.",
    '',
    table(['data set', 'groups', 'pairs', 'upsell ROC AUC vs bought before', 'cross-sell ROC AUC vs popularity'], rows),
    '',
    ...perGroup,
    favourite,
  ].join('\n');
}

function learnedSummary(runs: Run[]): string {
  const cell = (h: ReturnType<typeof headline>): string => (h ? `${n3(h.model)} vs ${n3(h.baseline)} (**${h.grade}**)` : 'not trained');
  const plain = (h: ReturnType<typeof headline>): string => (h ? n3(h.model) : 'n/a');
  const trees = (prefix: string) => (name: string, model: string): boolean => name.startsWith(prefix) && model === 'boosted trees';
  const rows = runs.map((r) => [
    r.set.title,
    cell(headline(r, trees('Churn risk: no purchase'))),
    plain(headline(r, (name, model) => name.startsWith('Churn risk: no purchase') && model !== 'boosted trees')),
    cell(headline(r, trees('Conversion: a purchase'))),
    cell(headline(r, trees('Customer value over the'))),
    plain(headline(r, (name) => name.startsWith('Customer value over the') && name.endsWith('(CLV)'))),
  ]);
  return [
    'Boosted trees trained on snapshots before the cut (the calibration only), graded on the holdout. Churn: ROC AUC against RFM recency over the first 90 days of the holdout (its label), with the purchase model (BG/NBD fitted at the cut) on the same label. Conversion: ROC AUC over the first 30 days against recency. Value: normalised Gini of holdout revenue against past spend, with the purchase and spend models\' value (the CLV section above). Each cell: model vs baseline (grade).',
    '',
    table(['data set', 'churn risk, trees vs recency', 'churn risk, purchase model', 'conversion, trees vs recency', 'value, trees vs past spend', 'value, purchase model (CLV section)'], rows),
    '',
    ...learnedShortfalls(runs),
  ].join('\n');
}

/** Every learned score graded C, with its numbers and why (the goal is A or B for churn and value everywhere). */
function learnedShortfalls(runs: Run[]): string[] {
  const lines: string[] = [];
  for (const r of runs) {
    for (const s of r.result.report.scores.filter((x) => x.model === 'boosted trees' && x.grade.grade === 'C')) {
      const m = s.metrics[0];
      const window = /trained on (\d+)-day windows/.exec(s.description)?.[1];
      const why =
        s.kind === 'value' && window
          ? `the value model learns from ${window}-day windows (the longest the calibration leaves room for with an inner holdout), while the holdout and the past-spend rule span much longer: over ${formatCount(r.result.report.customers)} customers the rule's long-run average ranks the next months' spenders better than a model of the next ${window} days`
          : `on ${formatCount(r.result.report.customers)} customers the trees do not find more than recency already says`;
      lines.push(`- **${r.set.title}**, ${s.name}: ${m?.metric} ${n3(m?.model ?? null)} against ${n3(m?.baseline ?? null)} (${m?.baselineName}): grade C. Why: ${why}.`);
    }
  }
  return lines.length ? ['Learned scores that do not beat their rule:', '', ...lines] : ['Every learned score beats its rule on every data set.'];
}

/** The Hillstrom check (src/evaluate/hillstrom.ts). */
function hillstromSection(h: HillstromCheck): string {
  return [
    `Kevin Hillstrom's e-mail test has no dates: one snapshot of ${formatCount(h.customers)} e-mailed customers (Mens or Womens E-Mail) with recency, past-year spend, product lines, zip area, newbie and channel before the campaign, and whether they bought in the two weeks after (${formatCount(h.conversions)} did). Boosted trees with the conversion model's settings predict it out of fold (${h.folds} folds by row, each fold's trees stopping early on another fold), graded like the conversion score against recency (\`src/evaluate/hillstrom.ts\`).`,
    '',
    table(
      ['predictor', 'ROC AUC', 'PR AUC'],
      [
        ['boosted trees', n3(h.trees.rocAuc), formatNumber(h.trees.prAuc, 4)],
        ['recency (months since the last purchase)', n3(h.recency.rocAuc), formatNumber(h.recency.prAuc, 4)],
        ['past-year spend', n3(h.history.rocAuc), formatNumber(h.history.prAuc, 4)],
      ],
    ),
    '',
    `The signal is weak for everyone (1% convert); the trees beat recency by ${formatNumber((h.trees.rocAuc ?? 0) - (h.recency.rocAuc ?? 0), 3)} of ROC AUC.`,
  ].join('\n');
}

/** Outcomes of the uplift section: how their uplift reads (points of a rate, or dollars) and what a chart counts. */
const UPLIFT_UNITS: Readonly<Record<HillstromOutcome, { scale: number; digits: number; unit: string; chart: string }>> = {
  visit: { scale: 100, digits: 1, unit: 'points', chart: 'incremental visits per 100 e-mailed customers' },
  conversion: { scale: 100, digits: 2, unit: 'points', chart: 'incremental buyers per 100 e-mailed customers' },
  spend: { scale: 1, digits: 2, unit: 'dollars', chart: 'incremental spend per e-mailed customer ($)' },
};

/** "+6.1 [5.5, 6.6]": an uplift and its 95% interval in the outcome's unit; "n/a" without one. */
function upliftCell(g: UpliftGroup, outcome: HillstromOutcome): string {
  const u = UPLIFT_UNITS[outcome];
  if (!g.uplift) return 'n/a';
  // No "-0.00": a value that rounds to zero is written without a sign.
  const f = (x: number): string => (x * u.scale).toFixed(u.digits).replace(/^-(0\.?0*)$/, '$1');
  const e = f(g.uplift.estimate);
  return `${e.startsWith('-') ? '' : '+'}${e} [${f(g.uplift.lower)}, ${f(g.uplift.upper)}]`;
}

/** A Qini coefficient in the outcome's unit (points for a rate, dollars for spend). */
const qiniCell = (r: RankingResult | undefined, outcome: HillstromOutcome): string =>
  r?.qiniCoefficient === null || r === undefined ? 'n/a' : (r.qiniCoefficient * UPLIFT_UNITS[outcome].scale).toFixed(3);

/** File name of the Qini chart of an outcome (any e-mail against none), under docs/. */
const qiniChartFile = (outcome: HillstromOutcome): string => `accuracy-hillstrom-qini-${outcome}.svg`;

/** The Qini chart of an outcome (any e-mail against none), as an SVG with its legend drawn on it. */
function qiniChartSvg(o: OutcomeResult): string {
  const u = UPLIFT_UNITS[o.outcome];
  const first = o.rankings[0]?.curve ?? [];
  return renderChartSvg(
    {
      kind: 'qini',
      title: `Qini curves, ${o.outcome}, any e-mail against none`,
      unit: u.chart,
      fractions: first.map((p) => p.fraction),
      series: o.rankings.map((r) => ({ name: RANKING_LABELS[r.key], values: r.curve.map((p) => p.value * u.scale) })),
      overall: (o.overall.uplift?.estimate ?? 0) * u.scale,
    },
    undefined,
    { legend: true },
  );
}

/** One outcome's deciles, the four rankings side by side: uplift and interval per decile. */
function upliftDecileTable(o: OutcomeResult): string {
  const rows = Array.from({ length: o.rankings[0]?.deciles.length ?? 0 }, (_, g) => [String(g + 1), ...o.rankings.map((r) => upliftCell(r.deciles[g] as UpliftGroup, o.outcome))]);
  rows.push(['all', ...o.rankings.map(() => upliftCell(o.overall, o.outcome))]);
  rows.push(['Qini coefficient', ...o.rankings.map((r) => qiniCell(r, o.outcome))]);
  rows.push([`AUUC (random: about ${((o.overall.uplift?.estimate ?? 0) * UPLIFT_UNITS[o.outcome].scale / 2).toFixed(3)})`, ...o.rankings.map((r) => (r.auuc === null ? 'n/a' : (r.auuc * UPLIFT_UNITS[o.outcome].scale).toFixed(3)))]);
  return table(['decile (1 = highest score)', ...o.rankings.map((r) => RANKING_LABELS[r.key])], rows);
}

/** One ranking's deciles in full: customers per arm, the rates (means) and the uplift with its interval. */
function upliftDecileDetail(o: OutcomeResult, r: RankingResult): string {
  const u = UPLIFT_UNITS[o.outcome];
  const mean = (x: number | null): string => (x === null ? 'n/a' : o.kind === 'binary' ? `${(100 * x).toFixed(2)}%` : `$${x.toFixed(2)}`);
  return table(
    ['decile', 'score from', 'score to', 'e-mailed', 'not e-mailed', `${o.outcome}, e-mailed`, `${o.outcome}, not e-mailed`, `uplift, ${u.unit} [95% CI]`],
    r.deciles.map((d) => [String(d.decile), formatNumber(d.scoreMin, 3), formatNumber(d.scoreMax, 3), formatCount(d.treated), formatCount(d.control), mean(d.meanTreated), mean(d.meanControl), upliftCell(d, o.outcome)]),
  );
}

/** Plain sentences on an outcome: which ranking has the highest Qini, and whether its top decile stands out. */
function upliftVerdict(o: OutcomeResult): string {
  const u = UPLIFT_UNITS[o.outcome];
  const ranked = [...o.rankings].sort((a, b) => (b.qiniCoefficient ?? -Infinity) - (a.qiniCoefficient ?? -Infinity));
  const best = ranked[0] as RankingResult;
  const overall = o.overall.uplift?.estimate ?? 0;
  const top = best.deciles[0]?.uplift;
  const order = ranked.map((r) => `${RANKING_LABELS[r.key]} ${qiniCell(r, o.outcome)}`).join(', ');
  const sd = o.randomQiniSd;
  const chance =
    sd === null
      ? ''
      : (() => {
          const beyond = ranked.filter((r) => (r.qiniCoefficient ?? -Infinity) > 2 * sd).map((r) => RANKING_LABELS[r.key]);
          return ` Random scores' Qini coefficients spread with a standard deviation of ${(sd * u.scale).toFixed(3)} (${RANDOM_DRAWS} seeded draws): ${beyond.length ? `above twice that: ${beyond.join('; ')}` : 'no ranking is above twice that'}.`;
        })();
  const clear = o.rankings.filter((r) => (r.deciles[0]?.uplift?.lower ?? -Infinity) > overall).map((r) => RANKING_LABELS[r.key]);
  const stands =
    clear.length > 0
      ? `a top decile whose whole interval lies above the average uplift (${upliftCell(o.overall, o.outcome)}): ${clear.join('; ')}`
      : `no ranking has a top decile whose interval lies wholly above the average uplift (${upliftCell(o.overall, o.outcome)}): on this outcome the deciles cannot be told apart from the average`;
  return `**${o.outcome}**: Qini coefficients (${u.unit}) ${order}.${chance} Best: ${RANKING_LABELS[best.key]}, top decile ${top ? upliftCell(best.deciles[0] as UpliftGroup, o.outcome) : 'n/a'}; ${stands}.`;
}

/** The uplift section (src/evaluate/hillstrom-uplift.ts, uplift.ts, uplift-models.ts). */
function hillstromUpliftSection(h: HillstromUplift): string {
  const any = h.arms.find((a) => a.arm === 'any e-mail') as ArmResult | undefined;
  const out: string[] = [
    `Hillstrom's test is randomised: ${formatCount(h.customers)} customers who bought in the past year, a third sent the Mens e-mail, a third the Womens e-mail, a third nothing; visits, conversions and spend tracked for two weeks. There is no discount history in the file, so the transaction-based promotion appetence score cannot be computed on it. Instead this section asks which ranking of the pre-period columns (recency, past-year spend, mens / womens lines, zip area, newbie, channel) finds the customers **the e-mail moves**, with four candidates: two uplift models with the boosted trees, each customer scored out of fold (${h.folds} folds drawn with seed ${h.seed}; each fold's trees stop early on another fold; the conversion model's boosting settings, tweedie response models for spend) — the **two-model** uplift P(y | x, e-mailed) − P(y | x, not e-mailed) and the **transformed outcome** z = y (T/p − (1 − T)/(1 − p)) regressed on x (Athey & Imbens 2015; Jaskowski & Jaroszewicz 2012) — and the two rules, **recency** and **past-year spend**.`,
    '',
    `Uplift by decile is the e-mailed customers' rate minus the not e-mailed customers' rate within each tenth of customers ranked by the score (ties in recency split between deciles by a seeded draw), with a 95% interval: Newcombe's hybrid score interval for rates (Newcombe 1998, method 10: it keeps its coverage at rates near 0, where Wald's does not), Welch's for spend. The Qini curve (Radcliffe 2007) counts the incremental responders among the top share targeted, Q = R_T − R_C · N_T / N_C, per e-mailed customer of the whole test; the Qini coefficient is the area between it and the straight line of random targeting (normalised as Guelman's R package \`uplift\` does: shares of customers on x; 0 for a random ranking). Beside it, the area under the uplift curve (AUUC; Rzepakowski & Jaroszewicz 2012), the uplift among the top share times that share, in the same units. Code: \`src/evaluate/uplift.ts\`, \`uplift-models.ts\`, \`hillstrom-uplift.ts\`; coverage and recovery tests on simulated tests of known uplift in \`uplift.test.ts\` and \`uplift-models.test.ts\`.`,
    '',
    table(
      ['segment', 'customers', 'visit', 'conversion', 'spend per customer', "published (Hillstrom 2008): visit / conversion / spend"],
      (Object.keys(HILLSTROM_PUBLISHED) as (keyof typeof HILLSTROM_PUBLISHED)[]).map((name) => {
        const s = h.segments[name];
        const p = HILLSTROM_PUBLISHED[name];
        return [name, formatCount(s.customers), `${(100 * s.visit).toFixed(2)}%`, `${(100 * s.conversion).toFixed(2)}%`, `$${s.spend.toFixed(2)}`, `${p.visit}% / ${p.conversion}% / $${p.spend}`];
      }),
    ),
    '',
    'Uplift of each e-mail over no e-mail (points for rates, dollars for spend, with 95% intervals):',
    '',
    table(
      ['e-mailed', 'customers (with No E-Mail)', 'visit', 'conversion', 'spend'],
      h.arms.map((a) => [a.arm, formatCount(a.customers), ...(['visit', 'conversion', 'spend'] as const).map((o) => {
        const r = a.outcomes.find((x) => x.outcome === o);
        return r ? upliftCell(r.overall, o) : 'n/a';
      })]),
    ),
    '',
    'Qini coefficients per arm (points for rates, dollars for spend; higher = the ranking finds more of the moved customers first; 0 = random):',
    '',
    table(
      ['ranking', ...h.arms.flatMap((a) => a.outcomes.map((o) => `${a.arm}: ${o.outcome}`))],
      (Object.keys(RANKING_LABELS) as (keyof typeof RANKING_LABELS)[]).map((key) => [
        RANKING_LABELS[key],
        ...h.arms.flatMap((a) => a.outcomes.map((o) => qiniCell(o.rankings.find((r) => r.key === key), o.outcome))),
      ]).concat([
        [
          `random scores: standard deviation (${RANDOM_DRAWS} draws)`,
          ...h.arms.flatMap((a) => a.outcomes.map((o) => (o.randomQiniSd === null ? 'n/a' : (o.randomQiniSd * UPLIFT_UNITS[o.outcome].scale).toFixed(3)))),
        ],
      ]),
    ),
    '',
  ];
  if (any) {
    out.push('What the figures say (any e-mail against none):', '', ...any.outcomes.map((o) => `- ${upliftVerdict(o)}`), '');
    for (const o of any.outcomes) {
      out.push(
        `#### Uplift by decile: ${o.outcome}, any e-mail against none (${UPLIFT_UNITS[o.outcome].unit}, 95% CI)`,
        '',
        upliftDecileTable(o),
        '',
        `![Qini curves, ${o.outcome}](${qiniChartFile(o.outcome)})`,
        '',
        `<details><summary>Each ranking's deciles in full (${o.outcome})</summary>`,
        '',
        ...o.rankings.flatMap((r) => [`${RANKING_LABELS[r.key]}:`, '', upliftDecileDetail(o, r), '']),
        '</details>',
        '',
      );
    }
  }
  return out.join('\n');
}

const METHOD = `## How the backtest works

\`kairos evaluate\` (code: \`src/evaluate/\`) cuts the data at one instant. Every model is fitted on the order lines
before the cut only: the evaluation creates the same \`asof_orders\` view that \`kairos score --as-of CUT\` reads
(\`src/backtest/split.ts\`, shared by every score). The holdout is \`[cut, cut + holdout)\`; the population is every
customer with a purchase before the cut (\`src/features/purchases.ts\`; customers first seen in the holdout are not
scored, as in scoring). Purchases are counted in purchase days, in the calibration and in the holdout alike.
\`src/backtest/split.test.ts\` proves that no holdout row reaches a fit: absurd holdout orders (a million per order,
new customers, rows after the holdout) leave every fitted parameter, the model choice and the calibration summary
bit-identical. The evaluation runs in a transaction that is rolled back (the store is opened read-only by the
CLI): the store is unchanged.

The purchase model is chosen as scoring chooses it (\`scores.model\`, default \`auto\`: fitted on an earlier cut inside
the calibration window), and all three models are also reported side by side. Each score has a headline metric, graded
against a named naive baseline (\`src/backtest/grade.ts\`: A = beats it by a clear margin, B = beats it, C = does not
beat it):

| score | predicted | actual | headline metric | baseline |
| --- | --- | --- | --- | --- |
| expected purchases | E[Y(H) \\| x, t_x, T]: purchase days in the H-day holdout | purchase days in the holdout | MAE per customer (also RMSE, Spearman, error of the total; tracking and conditional-expectation charts) | **same rate as calibration**: x / T × H (repeat purchase days per day since the first purchase, carried over the holdout; 0 when T = 0) |
| customer value (CLV) | E[Y(H)] × Gamma-Gamma expected spend per purchase day, undiscounted | net revenue in the holdout (returns subtracted) | normalised Gini (also MAE, share of the holdout revenue from the top 10% / 20%, error of the total; decile lift chart) | **past spend rate**: calibration net spend / (T + 1 days) × H |
| P(alive) | P(alive at the cut) | bought again in the holdout | ROC AUC (also PR AUC, lift at 10%, Brier; ROC and reliability charts) | ranking: **RFM recency** (days since the last purchase); Brier: **repeat rate of the recency quintile**, estimated inside the calibration (an inner cut W days before the cut, W = the window, at most half the calibration; the share of each recency quintile who bought in those W days, scaled to the window as 1 − (1 − rate)^(H/W)) |
| conversion probability | P(a purchase in the first 30 days of the holdout) | bought in those 30 days | ROC AUC (same rows) | as for P(alive), with a 30-day window |
| churn decisive moment | last purchase + the smallest d with P(alive \\| x, t_x, t_x + d) < 0.5 | first purchase in the holdout, before or after that date | purchases per 30 customer-days at risk after the date, among customers whose date fell in the holdout and who had not bought by it (lower = the date marks customers who are really gone) | **overdue rule**: last purchase + 2 × the customer's mean gap t_x / x (one-time buyers: twice the median gap of repeat buyers) |
| churn risk, learned (\`churn_risk_boosted\`) | P(no purchase in the first 90 days of the holdout), boosted trees on snapshots before the cut (docs/scores.md, "Learned churn, conversion and value") | no purchase in those days | ROC AUC (also PR AUC, lift at 10%, Brier) | ranking: **RFM recency**; beside it the purchase model's 1 − P(a purchase in those days) (BG/NBD fitted at the cut) on the same label |
| conversion, learned | P(a purchase in the first 30 days of the holdout), boosted trees | bought in those 30 days | ROC AUC | **RFM recency** |
| value, learned | net spend over the value window (the longest of 365, 180, 90 days with an inner fit), scaled to the holdout's length | net revenue in the holdout | normalised Gini (also MAE, top 10% / 20% shares, error of the total) | **past spend rate** |
| engagement score (data with events only) | engagement_score at the cut, from the events before it (a score, not a probability) | bought in the holdout | ROC AUC (also PR AUC, lift at 10%; ROC chart), graded as a probability's ranking | ranking: **RFM recency** |
| promotion appetence (data with discounts only) | promo_appetence at the cut: shares of purchase days and of spend on promotion shrunk towards the population, tilted by campaign responses (docs/scores.md, "Promotion appetence") | (a) among holdout buyers, more than half of the holdout value bought on discounted lines; (b) a coupon redeemed in the holdout (data with coupon_redemption events) | ROC AUC (also PR AUC, lift at 10%; ROC chart) | ranking: **raw promotion share**, the mean of the plain (unshrunk) shares of purchase days and of spend on promotion |

P(alive) is not the probability of buying within the holdout (an alive customer may simply not buy in time), so its
Brier score and reliability chart are expected to look over-confident; the ranking metrics are its fair test. Ranked
lists (recommendations, data with product ids only) are graded on NDCG@10 against the better of popularity and
buy-again (docs/scores.md, "Recommendations"; every recommender's figures: docs/benchmarks.md, "Recommendations on real data").
`;

/** 1-minute load average when the script started: the timings below are only comparable at similar loads. */
const LOAD_AT_START = loadavg()[0] ?? 0;

function markdown(runs: Run[], totalSeconds: number, exampleReport: string | null, hillstrom: HillstromCheck | null, uplift: HillstromUplift | null, charts: boolean): string {
  const parts: string[] = [
    '# Accuracy on real data',
    '',
    'Generated by `npx tsx scripts/accuracy.ts` (it ingests each data set with its preset into a temporary store and runs',
    '`kairos evaluate` on it); do not edit by hand. HTML reports are written outside the repository',
    exampleReport ? `(example: [${exampleReport}](${exampleReport}), the CDNOW sample).` : '(pass `--out DIR`).',
    '',
    METHOD,
    '## Results',
    '',
    overview(runs),
    '',
    verdicts(runs),
    '',
  ];
  for (const r of runs) {
    parts.push(`### ${r.set.title}`, '', `${r.set.splitText}. Command: \`kairos evaluate ${splitFlags(r.set.split)}\`${r.set.settingsText ? `; settings: ${r.set.settingsText}` : ''}.`, '', scoreTable(r), '', 'Purchase models side by side:', '', modelTable(r), '', `${winnerSentence(r)}`, '');
    const diagnostic = penalisedDiagnostic(r);
    if (diagnostic) parts.push(diagnostic, '');
    parts.push('<details><summary>Other metrics</summary>', '', secondaryTable(r), '', '</details>', '');
    if (r.truth) parts.push('#### Against the demo\'s latent truth', '', truthSection(r), '');
    if (r.engagementTruth) parts.push('#### Engagement and ambassador scores against the latent truth', '', engagementTruthSection(r), '');
    if (r.promotionTruth) parts.push('#### Promotion appetence against the latent truth', '', promotionTruthSection(r), '');
  }
  parts.push('## Learned models against the rules and the purchase models', '', learnedSummary(runs), '');
  parts.push('## Recommendations', '', recommendSection(runs, charts), '');
  parts.push('## Category affinity (upsell and cross-sell)', '', affinitySection(runs), '');
  if (hillstrom) parts.push('## Conversion on the Hillstrom e-mail test (cross-sectional)', '', hillstromSection(hillstrom), '');
  if (uplift) parts.push('## Uplift on the Hillstrom e-mail test', '', hillstromUpliftSection(uplift), '');
  parts.push(
    '## CDNOW: aggregate holdout forecast vs the published models',
    '',
    `Published parameters: ${PUBLISHED.source} (BG/NBD; the Pareto/NBD and Gamma-Gamma values on the same data as listed in \`../shared/data/README.md\`).`,
    'Kairos counts purchase days, as the paper does (same-day purchases merged). The paper\'s holdout figures are drawn from these parameters, but its printed totals could not',
    'be retrieved while this page was written; the "published parameters" column is therefore the forecast those parameters make, computed with Kairos\' own formulas on the same',
    'customers: the cohort tracking forecast Σ_i E[X(t_end − b_i)] − E[X(t_cut − b_i)] (FHL 2005 eq. 9, the paper\'s figure 2) and the sum of the conditional expectations',
    'E[Y(39 weeks) | x, t_x, T] (eq. 10, the paper\'s figure 4), on the cohorts of 23,570 (master) and 2,357 (sample) customers.',
    '',
    cdnowSection(runs),
    '## Timings',
    '',
    `Wall-clock on the machine that generated this page (total ${totalSeconds.toFixed(0)} s, including the demo's generation; load average ${LOAD_AT_START.toFixed(1)} at the start and ${(loadavg()[0] ?? 0).toFixed(1)} at the end, on ${availableParallelism()} cores: other jobs sharing the machine stretch these times).`,
    '',
    timingTable(runs),
    '',
  );
  return parts.join('\n');
}

function splitFlags(s: SplitOptions): string {
  return [s.calibrationEnd ? `--calibration-end ${s.calibrationEnd}` : '', s.asOf ? `--as-of ${s.asOf}` : '', s.holdout ? `--holdout ${s.holdout}` : ''].filter(Boolean).join(' ');
}

function winnerSentence(r: Run): string {
  const d = clvDetails(r.result);
  if (!d.winner) return 'No purchase model could be fitted.';
  return d.winner === d.choice.model
    ? `**${d.winner} wins** on this holdout, and it is the model scoring chooses (${d.choice.reason}).`
    : `**${d.winner} wins** on this holdout; scoring would choose ${d.choice.model} (${d.choice.reason}).`;
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const opts = args();
  const started = performance.now();
  mkdirSync(opts.out, { recursive: true });
  const work = mkdtempSync(join(tmpdir(), 'kairos-accuracy-work-'));
  const sets: DataSet[] = [
    {
      key: 'cdnow-master',
      title: 'CDNOW master (23,570 customers)',
      files: async () => [{ entity: 'orders', files: [sharedData('cdnow', 'cdnow_master.csv')], preset: 'cdnow' }],
      split: { calibrationEnd: '1997-09-30', holdout: '39w' },
      splitText: 'Calibration 1997-01-01 to 1997-09-30 (cut 1997-10-01), holdout 39 weeks',
      currency: 'USD',
      extra: 'cdnow',
    },
    {
      key: 'cdnow-sample',
      title: 'CDNOW 1/10 sample (2,357 customers)',
      files: async () => [{ entity: 'orders', files: [sharedData('cdnow', 'cdnow_sample.csv')], preset: 'cdnow' }],
      split: { calibrationEnd: '1997-09-30', holdout: '39w' },
      splitText: 'Calibration 1997-01-01 to 1997-09-30 (cut 1997-10-01), holdout 39 weeks',
      currency: 'USD',
      extra: 'cdnow',
    },
    {
      key: 'online-retail',
      title: 'UCI Online Retail',
      files: async () => [{ entity: 'orders', files: [sharedData('online_retail', 'online_retail.csv.gz')], preset: 'online-retail' }],
      split: { calibrationEnd: '2011-08-31' },
      splitText: 'Calibration 2010-12-01 to 2011-08-31 (cut 2011-09-01), holdout the rest of the data (to 2011-12-09)',
      currency: 'GBP',
    },
    {
      key: 'complete-journey',
      title: 'dunnhumby Complete Journey (75,000-line sample)',
      files: async () => [
        { entity: 'products', files: [sharedData('completejourney', 'products.csv.gz')], preset: 'complete-journey' },
        { entity: 'customers', files: [sharedData('completejourney', 'demographics.csv')], preset: 'complete-journey' },
        { entity: 'orders', files: [sharedData('completejourney', 'transactions_sample.csv.gz')], preset: 'complete-journey' },
        { entity: 'events', files: [sharedData('completejourney', 'coupon_redemptions.csv'), sharedData('completejourney', 'campaigns.csv')], preset: 'complete-journey' },
      ],
      split: { calibrationEnd: '2017-06-30' },
      splitText: 'Calibration 2017-01-01 to 2017-06-30 (cut 2017-07-01), holdout the rest of the data (2017, in UTC)',
      currency: 'USD',
      extra: 'complete-journey',
      settings: (c) => ({ ...c, recommend: { ...c.recommend, consumableCategories: COMPLETE_JOURNEY_CONSUMABLES } }),
      settingsText: `groceries repeat: the food departments and fuel are consumable (\`"recommend": { "consumableCategories": [${COMPLETE_JOURNEY_CONSUMABLES.map((c) => `"${c}"`).join(', ')}] }\`)`,
    },
    {
      key: 'demo',
      title: `Demo retailer (${formatCount(opts.customers)} customers, seed 42)`,
      files: async () => {
        log(`demo: generating ${formatCount(opts.customers)} customers`);
        const f = writeRetailerFiles(join(work, 'demo-files'), { customers: opts.customers, seed: 42 });
        return [
          { entity: 'products', files: [f.paths.products] },
          { entity: 'customers', files: [f.paths.customers] },
          { entity: 'orders', files: [f.paths.orders] },
          { entity: 'events', files: [f.paths.events] },
        ];
      },
      split: { holdout: `${TRUTH_HORIZON_DAYS}d` },
      splitText: `Cut ${TRUTH_HORIZON_DAYS} days before the data end (2025-01-02), holdout ${TRUTH_HORIZON_DAYS} days (the truth's horizon)`,
      currency: 'EUR',
      extra: 'demo',
    },
  ];
  const selected = opts.only ? sets.filter((s) => opts.only?.includes(s.key)) : sets;
  const runs: Run[] = [];
  try {
    // Category affinity is off by default (it trains its own trees at every run): on for this page.
    const config: KairosConfig = { ...DEFAULT_CONFIG, affinity: { ...DEFAULT_CONFIG.affinity, enabled: true } };
    for (const set of selected) runs.push(await runDataSet(set, opts.out, work, config));
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  const total = (performance.now() - started) / 1000;
  let example: string | null = null;
  const sample = runs.find((r) => r.set.key === 'cdnow-sample');
  if (sample && sample.reportBytes < 300 * 1024 && !opts.only) {
    copyFileSync(sample.reportFile, join(projectRoot, 'docs', 'accuracy-cdnow-sample.html'));
    example = 'accuracy-cdnow-sample.html';
  }
  const withHillstrom = !opts.only || opts.only.includes('hillstrom');
  const hillstrom = withHillstrom ? await hillstromCheck() : null;
  const uplift = withHillstrom ? await hillstromUpliftRun() : null;
  if (uplift) {
    const any = uplift.arms.find((a) => a.arm === 'any e-mail');
    for (const o of any?.outcomes ?? []) writeFileSync(join(projectRoot, 'docs', qiniChartFile(o.outcome)), qiniChartSvg(o));
    log(`wrote ${any?.outcomes.map((o) => `docs/${qiniChartFile(o.outcome)}`).join(', ')}`);
  }
  const md = markdown(runs, total, example, hillstrom, uplift, !opts.only);
  if (opts.only) process.stdout.write(md);
  else {
    writeFileSync(join(projectRoot, 'docs', 'accuracy.md'), md);
    log(`wrote docs/accuracy.md${example ? ` and docs/${example}` : ''}`);
  }
  log(`HTML reports in ${opts.out}; total ${total.toFixed(1)} s`);
}

/** The Hillstrom uplift section's figures on an in-memory store (three arms, three outcomes, 18 cross-fitted models). */
async function hillstromUpliftRun(): Promise<HillstromUplift> {
  const store = await Store.open(':memory:');
  try {
    return await hillstromUplift(store, sharedData('hillstrom_email', 'hillstrom.csv.gz'), DEFAULT_CONFIG.learned, { onProgress: (m) => log(`hillstrom uplift: ${m}`) });
  } finally {
    store.close();
  }
}

/** The Hillstrom conversion check on an in-memory store. */
async function hillstromCheck(): Promise<HillstromCheck> {
  log('hillstrom: conversion, 5 folds');
  const store = await Store.open(':memory:');
  try {
    return await hillstromConversionCheck(store, sharedData('hillstrom_email', 'hillstrom.csv.gz'), DEFAULT_CONFIG.learned);
  } finally {
    store.close();
  }
}

await main();
