// The affinity backtest: trained before the cut, graded per (customer, group) on the holdout against 'bought in the group before' (upsell) and group popularity (cross-sell).
import { formatNumber, formatPercent } from '../../backtest/format.js';
import { liftAtFraction, rocAuc } from '../../backtest/metrics.js';
import { probabilitySection } from '../../backtest/sections.js';
import { HOLDOUT_VIEW } from '../../backtest/split.js';
import type { ScoreSection } from '../../backtest/types.js';
import { quoteIdentifier } from '../../store/db.js';
import type { BacktestContext, BacktestResult } from '../types.js';
import { groupingLabel } from './groups.js';
import { readPairs, writePairs } from './pairs.js';
import { asOfInput, dropTrainingTables, predictPairs, recommendedAt, trainAffinity } from './train.js';

/** Groups in the per-group table, most bought first. */
const GROUPS_SHOWN = 10;

export const UPSELL_BASELINE = 'bought in the group before (days with a purchase in it)';
export const CROSS_SELL_BASELINE = 'group popularity (share of recent buyers who bought in it)';

/** One group's figures on the holdout. */
export interface AffinityGroupResult {
  readonly group: string;
  readonly customers: number;
  readonly buyers: number;
  readonly auc: number | null;
  readonly boughtBeforeAuc: number | null;
  readonly lift: number | null;
  readonly boughtBeforeLift: number | null;
  /** Among the customers who never bought in the group. */
  readonly crossSellAuc: number | null;
  readonly crossSellLift: number | null;
}

export interface AffinityBacktestDetails {
  readonly pairs: number;
  readonly days: number;
  readonly upsell: { auc: number | null; baseline: number | null };
  readonly crossSell: { auc: number | null; baseline: number | null };
  readonly groups: readonly AffinityGroupResult[];
  readonly notes: readonly string[];
}

/**
 * Fits the affinity model as `kairos score --as-of CUT` would, scores every active customer in every scored group at
 * the cut, and compares with who bought in which group in the first affinity.horizonDays days of the holdout (all of
 * it when shorter): pooled over the pairs against 'bought in the group before', and on the pairs of customers who never
 * bought in the group against the group's popularity; per group, ROC AUC and lift at 10%.
 */
export async function backtestAffinity(ctx: BacktestContext): Promise<BacktestResult> {
  const { store, split, config } = ctx;
  const s = config.affinity;
  if (!s.enabled) return { sections: [] };
  const input = asOfInput(store, split.cut, config, '__affinity_bt', ctx.progress);
  const trained = await trainAffinity(input);
  const notes = [...trained.notes];
  if (!trained.model) {
    await dropTrainingTables(store, trained.tables);
    return { sections: [], summary: notes };
  }
  const days = Math.min(s.horizonDays, Math.floor(split.holdoutDays));
  const table = '__affinity_bt_pairs';
  const recommended = await recommendedAt(input, trained.tables, split.cut);
  await writePairs(store, table, {
    recommended,
    cut: split.cut,
    orders: 'asof_orders',
    events: 'asof_events',
    productGroups: trained.tables.productGroups,
    scored: trained.tables.scored,
    perMille: 1000,
    label: { orders: HOLDOUT_VIEW, days },
  });
  const pairs = await readPairs(store, table);
  await store.run(`DROP TABLE IF EXISTS ${quoteIdentifier(table)}`);
  await store.run(`DROP TABLE IF EXISTS ${quoteIdentifier(recommended)}`);
  await dropTrainingTables(store, trained.tables);
  const p = predictPairs(trained.model, pairs);
  const label = pairs.numbers['label'] as Float64Array;
  const before = pairs.numbers['g_days'] as Float64Array;
  const popularity = pairs.numbers['popularity'] as Float64Array;
  const pick = (a: Float64Array, rows: readonly number[]): Float64Array => Float64Array.from(rows, (i) => a[i] as number);
  const everyRow = Array.from({ length: pairs.rows }, (_, i) => i);
  const never = everyRow.filter((i) => (before[i] as number) === 0);
  const share = (a: Float64Array): string => formatPercent(a.reduce((x, v) => x + v, 0) / Math.max(1, a.length));
  const what = `${groupingLabel(s)}, ${trained.groups.length} groups`;
  const sections: ScoreSection[] = [];
  sections.push(
    probabilitySection(
      {
        name: `Category affinity (upsell): a purchase in the group in the first ${formatNumber(days)} days of the holdout`,
        description:
          `Probability that a customer buys in a product group (${what}) within ${formatNumber(days)} days of the cut, per (customer, group) pair ` +
          `(${pairs.rows.toLocaleString('en')} pairs, ${share(label)} bought), from boosted trees trained on pairs at snapshots before the cut. Ranking baseline '${UPSELL_BASELINE}'.`,
        model: 'boosted trees',
        parameters: [],
      },
      { actual: label, probability: p, rankBaseline: before, rankBaselineName: UPSELL_BASELINE, probabilityBaseline: null, probabilityBaselineName: 'none' },
    ),
  );
  // Cross-sell needs pairs of customers who never bought in the group (none when every customer bought in every group).
  if (never.length > 0) {
    sections.push(
      probabilitySection(
        {
          name: `Category affinity (cross-sell): a first purchase in the group in the first ${formatNumber(days)} days of the holdout`,
          description:
            `The same probability on the ${never.length.toLocaleString('en')} pairs of customers who never bought in the group before the cut ` +
            `(${share(pick(label, never))} did in the holdout). Ranking baseline '${CROSS_SELL_BASELINE}'.`,
          model: 'boosted trees',
          parameters: [],
        },
        { actual: pick(label, never), probability: pick(p, never), rankBaseline: pick(popularity, never), rankBaselineName: CROSS_SELL_BASELINE, probabilityBaseline: null, probabilityBaselineName: 'none' },
      ),
    );
  } else notes.push('affinity: every scored customer bought in every scored group before the cut: no cross-sell pairs to grade');
  const groups: AffinityGroupResult[] = trained.groups.map(({ group }) => {
    const rows = everyRow.filter((i) => pairs.groups[i] === group);
    const none = rows.filter((i) => (before[i] as number) === 0);
    const y = pick(label, rows);
    const yn = pick(label, none);
    return {
      group,
      customers: rows.length,
      buyers: y.reduce((a, v) => a + v, 0),
      auc: rocAuc(y, pick(p, rows)),
      boughtBeforeAuc: rocAuc(y, pick(before, rows)),
      lift: liftAtFraction(y, pick(p, rows), 0.1),
      boughtBeforeLift: liftAtFraction(y, pick(before, rows), 0.1),
      crossSellAuc: rocAuc(yn, pick(p, none)),
      crossSellLift: liftAtFraction(yn, pick(p, none), 0.1),
    };
  });
  const f = (v: number | null): string => (v === null ? 'n/a' : v.toFixed(3));
  const upsell = { auc: rocAuc(label, p), baseline: rocAuc(label, before) };
  const crossSell = { auc: rocAuc(pick(label, never), pick(p, never)), baseline: rocAuc(pick(label, never), pick(popularity, never)) };
  const summary = [
    ...notes,
    `affinity per group (top ${Math.min(GROUPS_SHOWN, groups.length)} of ${groups.length} by buyers before the cut; upsell: ROC AUC / lift at 10% against '${UPSELL_BASELINE}'; cross-sell: on customers who never bought in it):`,
    ...groups.slice(0, GROUPS_SHOWN).map(
      (g) =>
        `  ${g.group}: ${g.buyers.toLocaleString('en')} of ${g.customers.toLocaleString('en')} bought; upsell AUC ${f(g.auc)} vs ${f(g.boughtBeforeAuc)}, lift ${f(g.lift)} vs ${f(g.boughtBeforeLift)}; ` +
        `cross-sell AUC ${f(g.crossSellAuc)}, lift ${f(g.crossSellLift)}`,
    ),
    `affinity overall: upsell ROC AUC ${f(upsell.auc)} vs ${f(upsell.baseline)} ('${UPSELL_BASELINE}'); cross-sell ROC AUC ${f(crossSell.auc)} vs ${f(crossSell.baseline)} ('${CROSS_SELL_BASELINE}')`,
  ];
  return { sections, summary, details: { pairs: pairs.rows, days, upsell, crossSell, groups, notes } satisfies AffinityBacktestDetails };
}
