// Category affinity: per customer and product group, the calibrated probability of buying in the group within affinity.horizonDays, stored as a per-group map and the top group.
import { ensembleToJson } from '../../ml/tree-json.js';
import { quoteIdentifier } from '../../store/db.js';
import { formatProbability } from '../../util/format.js';
import type { Scorer, ScoreContext, ScorerResult } from '../types.js';
import { backtestAffinity } from './backtest.js';
import { groupingLabel } from './groups.js';
import type { Pairs } from './pairs.js';
import { asOfInput, dropTrainingTables, predictPairs, recommendedAt, scoringPairs, scoringPasses, trainAffinity } from './train.js';

const RESULT = '__score_affinity';
const ITEMS = '__affinity_items';
const VALUES = '__affinity_values';
const PASS = '__affinity_pass';

/** The item output's name: items_category_affinity. */
export const AFFINITY_OUTPUT = 'category_affinity';

/** The model's name in model_fits. */
export const AFFINITY_MODEL = 'affinity-boosted';

/** Groups kept per customer in the map column (all of them are in items_category_affinity). */
const KEEP = 20;

function times(n: number): string {
  return n === 1 ? 'once' : `${n} times`;
}

/** Why a pair scores as it does, in words: the customer's own history in the group, else where they do buy. */
export function pairReason(pairs: Pairs, i: number): string {
  const v = (name: string): number => (pairs.numbers[name] as Float64Array)[i] as number;
  const days = v('g_days');
  if (days > 0) return `bought ${times(days)} in it, last ${v('g_recency')} days ago`;
  const parts = ['never bought in it'];
  const views = v('g_views_90d');
  const carts = v('g_carts_90d');
  if (carts > 0) parts.push(`added to cart ${times(carts)} in 90 days`);
  else if (views > 0) parts.push(`viewed ${times(views)} in 90 days`);
  const top = pairs.tops[i];
  if (top) parts.push(`buys in ${top}`);
  return parts.join('; ');
}

/**
 * Appends one pass's rows to the items and values tables: each customer's groups ranked by probability (ties by
 * name), the reason of each, and the top group. Returns the customers written.
 */
async function writeScores(ctx: ScoreContext, pairs: Pairs, p: Float64Array): Promise<number> {
  // Rows are by customer, then group.
  const rank = new Int32Array(pairs.rows);
  const reasons: string[] = new Array<string>(pairs.rows);
  const topIds: string[] = [];
  const topGroup: string[] = [];
  for (let start = 0; start < pairs.rows; ) {
    let end = start;
    while (end < pairs.rows && pairs.customers[end] === pairs.customers[start]) end++;
    const order = Array.from({ length: end - start }, (_, k) => start + k).sort(
      (a, b) => (p[b] as number) - (p[a] as number) || ((pairs.groups[a] as string) < (pairs.groups[b] as string) ? -1 : 1),
    );
    order.forEach((i, r) => (rank[i] = r + 1));
    topIds.push(pairs.customers[start] as string);
    topGroup.push(pairs.groups[order[0] as number] as string);
    start = end;
  }
  for (let i = 0; i < pairs.rows; i++) reasons[i] = pairReason(pairs, i);
  ctx.store.exposeColumns(PASS, [
    { name: 'customer_id', type: 'VARCHAR', values: pairs.customers },
    { name: 'rank', type: 'INTEGER', values: rank },
    { name: 'key', type: 'VARCHAR', values: pairs.groups },
    { name: 'value', type: 'DOUBLE', values: p },
    { name: 'reason', type: 'VARCHAR', values: reasons },
  ]);
  await ctx.store.run(`INSERT INTO ${ITEMS} SELECT * FROM ${PASS}()`);
  ctx.store.exposeColumns(PASS, [
    { name: 'customer_id', type: 'VARCHAR', values: topIds },
    { name: 'top_category', type: 'VARCHAR', values: topGroup },
  ]);
  await ctx.store.run(`INSERT INTO ${VALUES} SELECT * FROM ${PASS}()`);
  ctx.store.releaseColumns(PASS);
  return topIds.length;
}

/** The result when nothing is scored: no row (the columns stay empty) and no items. */
async function empty(ctx: ScoreContext, notes: string[]): Promise<ScorerResult> {
  await ctx.store.run(`CREATE OR REPLACE TEMP VIEW ${RESULT} AS SELECT customer_id, NULL::VARCHAR AS top_category FROM asof_customers WHERE false`);
  await ctx.store.run(`CREATE OR REPLACE TEMP VIEW ${ITEMS} AS SELECT ''::VARCHAR AS customer_id, 0::INTEGER AS rank, ''::VARCHAR AS key, 0::DOUBLE AS value, NULL::VARCHAR AS reason WHERE false`);
  return { table: RESULT, items: { [AFFINITY_OUTPUT]: ITEMS }, models: [], notes };
}

export const affinityScorer: Scorer = {
  name: 'affinity',
  version: '1.0.0',
  description:
    'Category affinity: per customer and product group (a level of the category path, or a product attribute), the calibrated probability of buying in the group within affinity.horizonDays days, by boosted trees on (customer, group) pairs at snapshots before the as-of.',
  columns: [{ name: 'top_category', type: 'text', unit: 'none', description: 'the product group the customer is most likely to buy in next (category_affinity_1)' }],
  items: [
    {
      name: AFFINITY_OUTPUT,
      kind: 'category',
      shape: 'map',
      unit: 'probability',
      description: 'probability of buying in each product group within affinity.horizonDays days (90 by default), calibrated',
      columns: 3,
      keep: KEEP,
    },
  ],

  async run(ctx: ScoreContext): Promise<ScorerResult> {
    const s = ctx.config.affinity;
    if (!s.enabled) return empty(ctx, ['affinity off (affinity.enabled false): no category affinity computed']);
    const input = asOfInput(ctx.store, ctx.asOf, ctx.config, '__affinity', ctx.progress);
    const trained = await trainAffinity(input);
    const notes = [...trained.notes];
    if (!trained.model) {
      await dropTrainingTables(ctx.store, trained.tables);
      return empty(ctx, notes);
    }
    const passes = await scoringPasses(input, trained.groups.length);
    await ctx.store.run(`CREATE OR REPLACE TEMP TABLE ${ITEMS} (customer_id VARCHAR, rank INTEGER, key VARCHAR, value DOUBLE, reason VARCHAR)`);
    await ctx.store.run(`CREATE OR REPLACE TEMP TABLE ${VALUES} (customer_id VARCHAR, top_category VARCHAR)`);
    let customers = 0;
    const recommended = await recommendedAt(input, trained.tables, ctx.asOf);
    for (let part = 0; part < passes; part++) {
      ctx.progress(`affinity: scoring every active customer in every group${passes > 1 ? ` (pass ${part + 1} of ${passes})` : ''}`);
      const pairs = await scoringPairs(input, trained.tables, ctx.asOf, recommended, { part, parts: passes });
      customers += await writeScores(ctx, pairs, predictPairs(trained.model, pairs));
    }
    await ctx.store.run(`DROP TABLE IF EXISTS ${quoteIdentifier(recommended)}`);
    await dropTrainingTables(ctx.store, trained.tables);
    notes.push(`affinity: ${customers.toLocaleString('en')} customers x ${trained.groups.length} groups (${groupingLabel(s)}) scored`);
    const m = trained.model;
    return {
      table: VALUES,
      items: { [AFFINITY_OUTPUT]: ITEMS },
      notes,
      models: [
        {
          model: AFFINITY_MODEL,
          fit: {
            model: ensembleToJson(m.model),
            settings: { by: s.by, level: s.level, horizonDays: s.horizonDays },
            groups: trained.groups,
            calibration: m.calibration,
            inner: m.inner,
            cuts: m.cuts,
            innerCuts: m.innerCuts,
            trainingRows: m.trainingRows,
            diagnostics: m.fit.diagnostics,
          },
        },
      ],
    };
  },

  backtest: backtestAffinity,

  explain(_row, ctx) {
    const items = ctx.items[AFFINITY_OUTPUT] ?? [];
    if (items.length === 0) return ['no category affinity: no purchase or product event before the as-of date'];
    const top = items.slice(0, 3).map((r) => `${r.key} ${formatProbability(Number(r.value))}${r.reason ? ` (${r.reason})` : ''}`);
    return [`most likely to buy next in: ${top.join(', ')}`];
  },
};
