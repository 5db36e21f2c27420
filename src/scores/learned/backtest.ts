// The learned models' backtest: trained on snapshots before the cut only, graded on the holdout against the one-line rules and the purchase model.
import { BASELINE_NAMES, pastSpendValue } from '../../backtest/baselines.js';
import { formatNumber, formatPercent } from '../../backtest/format.js';
import { probabilitySection, valueSection, type SectionText } from '../../backtest/sections.js';
import { HOLDOUT_VIEW } from '../../backtest/split.js';
import type { ScoreSection } from '../../backtest/types.js';
import { addLabels } from '../../features/snapshots.js';
import { quoteIdentifier } from '../../store/db.js';
import type { BacktestContext, BacktestResult } from '../types.js';
import { CLV_HORIZONS } from '../clv/horizons.js';
import type { TaskName } from './design.js';
import { eventDaysTable, purchaseDaysTable, FEATURE_PURCHASE_MODEL, predictTask, purchaseModelColumns, scoringSnapshot, trainLearnedModels, type InnerResult } from './train.js';

const SNAPSHOT = '__learned_backtest';
const IDS = '__learned_backtest_ids';

/** What the backtest found, unrounded: for scripts and tests. */
export interface LearnedBacktestDetails {
  readonly customers: number;
  readonly churnDays: number;
  readonly inner: readonly InnerResult[];
  readonly notes: readonly string[];
}

function text(name: string, description: string, model: string): SectionText {
  return { name, description, model, parameters: [] };
}

/**
 * Trains the three models as `kairos score --as-of CUT` would (snapshots before the cut, inner holdout inside the
 * calibration), then grades them on the customers who bought before the cut: churn risk against RFM recency over the
 * first learned.churnDays days of the holdout (all of it when shorter), conversion against recency over the first 30
 * days, value against past spend over the whole holdout. The purchase model's churn and conversion on the same labels
 * come beside them, for the head-to-head.
 */
export async function backtestLearned(ctx: BacktestContext): Promise<BacktestResult> {
  const { store, split, config } = ctx;
  if (!config.learned.enabled) return { sections: [], summary: ['learned models off (learned.enabled false): not graded'] };
  const settings = config.learned;
  const input = { store, asOf: split.cut, settings, purchaseModel: FEATURE_PURCHASE_MODEL, progress: ctx.progress, prefix: '__learned_bt', engagement: config.engagement };
  const learned = await trainLearnedModels(input);
  const notes = [...learned.notes];
  const tasks = Object.values(learned.tasks);
  if (tasks.length === 0) {
    for (const t of [eventDaysTable(input.prefix), purchaseDaysTable(input.prefix)]) await store.run(`DROP TABLE IF EXISTS ${quoteIdentifier(t)}`);
    return { sections: [], summary: notes, details: { customers: 0, churnDays: 0, inner: [], notes } };
  }

  const scoring = await scoringSnapshot(input, learned.categoricals);
  const churnDays = Math.min(settings.churnDays, Math.floor(split.holdoutDays));
  const convDays = Math.min(CLV_HORIZONS.conversionDays, Math.floor(split.holdoutDays));
  // The holdout's labels of the snapshot's customers, read back in the snapshot's row order (its position column).
  store.exposeColumns(IDS, [
    { name: 'customer_id', type: 'VARCHAR', values: scoring.ids },
    { name: 'position', type: 'INTEGER', values: Int32Array.from({ length: scoring.rows }, (_, i) => i) },
  ]);
  await store.run(`CREATE OR REPLACE TEMP TABLE ${quoteIdentifier(SNAPSHOT)} AS SELECT * FROM ${IDS}()`);
  store.releaseColumns(IDS);
  await addLabels(store, SNAPSHOT, split.cut, HOLDOUT_VIEW, [
    { column: 'h_churn', days: churnDays, kind: 'bought' },
    { column: 'h_conv', days: convDays, kind: 'bought' },
    { column: 'h_spend', days: Math.floor(split.holdoutDays), kind: 'spend' },
  ]);
  const labels = await store.readNumberColumns(
    `SELECT h_churn::DOUBLE AS h_churn, h_conv::DOUBLE AS h_conv, h_spend::DOUBLE AS h_spend FROM ${quoteIdentifier(SNAPSHOT)} ORDER BY position`,
  );
  await store.run(`DROP TABLE IF EXISTS ${quoteIdentifier(SNAPSHOT)}`);
  for (const t of [eventDaysTable(input.prefix), purchaseDaysTable(input.prefix)]) await store.run(`DROP TABLE IF EXISTS ${quoteIdentifier(t)}`);
  const days = scoring.numbers['purchase_days'] as Float64Array;
  const buyers = Int32Array.from(Array.from({ length: scoring.rows }, (_, i) => i).filter((i) => (days[i] as number) > 0));
  const on = (a: Float64Array): Float64Array => Float64Array.from(buyers, (i) => a[i] as number);
  const recency = on(scoring.numbers['recency_days'] as Float64Array);
  const contender = purchaseModelColumns(scoring.numbers, scoring.rows, FEATURE_PURCHASE_MODEL, { buyDays: [churnDays, convDays], valueDays: null });
  const n = buyers.length;
  const share = (a: Float64Array): string => formatPercent(a.reduce((s, v) => s + v, 0) / Math.max(1, n));
  const sections: ScoreSection[] = [];
  const predicted = (t: TaskName): Float64Array | null => {
    const task = learned.tasks[t];
    return task ? on(predictTask(task, scoring.matrix).values) : null;
  };
  const innerText = (t: TaskName): string => {
    const r = learned.tasks[t]?.inner;
    if (!r) return '';
    const f = (v: number | null): string => (v === null ? 'n/a' : v.toFixed(3));
    return ` Inside the calibration (inner holdout, ${r.metric}): boosted trees ${f(r.learned)}, purchase model ${f(r.purchaseModel)}, ${r.ruleName} ${f(r.rule)}: scoring would use the ${r.winner}.`;
  };

  const churned = on(labels['h_churn'] as Float64Array).map((b) => 1 - b);
  const churnP = predicted('churn');
  const pmChurn = on(contender[`pm_buy_${churnDays}d`] as Float64Array).map((p) => 1 - p);
  for (const [label, p, model] of [
    ['boosted trees', churnP, 'boosted trees'],
    [`${FEATURE_PURCHASE_MODEL} (for comparison)`, pmChurn, FEATURE_PURCHASE_MODEL],
  ] as const) {
    if (!p) continue;
    sections.push(
      probabilitySection(
        text(
          `Churn risk: no purchase in the first ${formatNumber(churnDays)} days of the holdout: ${label}`,
          `Probability of no purchase in the ${formatNumber(churnDays)} days after the cut (${share(churned)} of the ${n.toLocaleString('en')} customers made none), ` +
            `${model === 'boosted trees' ? 'from boosted trees trained on snapshots before the cut, calibrated on the latest of them' : `1 − P(a purchase in those days) from ${model} fitted at the cut`}. ` +
            `Ranking baseline '${BASELINE_NAMES.recency}': the longer since the last purchase, the higher.${model === 'boosted trees' ? innerText('churn') : ''}`,
          model,
        ),
        { actual: churned, probability: p, rankBaseline: recency, rankBaselineName: BASELINE_NAMES.recency, probabilityBaseline: null, probabilityBaselineName: 'none' },
      ),
    );
  }
  const converted = on(labels['h_conv'] as Float64Array);
  const convP = predicted('conversion');
  if (convP) {
    sections.push(
      probabilitySection(
        text(
          `Conversion: a purchase in the first ${formatNumber(convDays)} days of the holdout: boosted trees`,
          `Probability of a purchase in the ${formatNumber(convDays)} days after the cut (${share(converted)} bought), from boosted trees trained on snapshots before the cut. ` +
            `Ranking baseline '${BASELINE_NAMES.recency}': the more recent the last purchase, the higher.${innerText('conversion')}`,
          'boosted trees',
        ),
        { actual: converted, probability: convP, rankBaseline: recency.map((r) => -r), rankBaselineName: BASELINE_NAMES.recency, probabilityBaseline: null, probabilityBaselineName: 'none' },
      ),
    );
  }
  const value = predicted('value');
  const valueTask = learned.tasks.value;
  if (value && valueTask) {
    const H = Math.floor(split.holdoutDays);
    const actual = on(labels['h_spend'] as Float64Array);
    const past = pastSpendValue(on(scoring.numbers['spend_total'] as Float64Array), on(scoring.numbers['tenure_days'] as Float64Array), H);
    sections.push(
      valueSection(
        text(
          `Customer value over the ${formatNumber(H)}-day holdout: boosted trees`,
          `Net spend in the holdout, predicted by boosted trees trained on ${valueTask.design.days}-day windows before the cut (scaled to the holdout's length). ` +
            `Baseline '${BASELINE_NAMES.pastSpend}': calibration net spend per day since the first purchase, times the holdout length.${innerText('value')}`,
          'boosted trees',
        ),
        { actual, predicted: value.map((v) => (v * H) / valueTask.design.days), baseline: past, baselineName: BASELINE_NAMES.pastSpend, unit: `holdout revenue (${config.currency})` },
      ),
    );
  }
  const inner = tasks.map((t) => t.inner);
  return { sections, summary: notes, details: { customers: n, churnDays, inner, notes } satisfies LearnedBacktestDetails };
}
