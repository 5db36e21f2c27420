// Trains the affinity model (boosted trees on (customer, group) pairs at cuts before the as-of, calibrated on the latest cut) and scores the pairs at a cut.
import type { AffinitySettings, KairosConfig, RecommendSettings } from '../../config.js';
import { rocAuc } from '../../backtest/metrics.js';
import { predictGbdtMargin, trainGbdt, type GbdtFit, type GbdtOptions } from '../../ml/gbdt.js';
import { applyIsotonic, fitIsotonic, type IsotonicMap } from '../../ml/isotonic.js';
import type { FeatureMatrix } from '../../ml/matrix.js';
import type { Ensemble } from '../../ml/tree.js';
import { quoteIdentifier, type Store } from '../../store/db.js';
import { cutsFrom } from '../learned/design.js';
import { topGroups, UNCATEGORISED, writeProductGroups, type GroupBuyers } from './groups.js';
import { PAIR_FEATURE_NAMES, readPairs, writePairs, type Pairs } from './pairs.js';
import { writeRecommendedGroups } from './recommended.js';

const DAY_MS = 86_400_000;

/**
 * Most training pairs per snapshot: customers per snapshot are cut to this over the groups (at 50 groups, 500
 * customers), so that a fit stays within a few seconds whatever affinity.sampleCustomers says. At 100,000 the Complete
 * Journey's backtests gave the same ROC AUC to 0.002 (department 0.939, commodity 0.760 against 0.758) for about
 * three times the fitting time (docs/benchmarks.md, "Category affinity").
 */
export const MAX_PAIRS_PER_SNAPSHOT = 25_000;

/** Share (per thousand, by the bucket) of the inner fit's rows kept for early stopping. */
const VALIDATION = 200;

/** Boosting settings: shallow trees, as the learned scorer's, with early stopping on a fifth of the customers. */
export const AFFINITY_BOOSTING: Partial<GbdtOptions> = {
  objective: 'logistic',
  learningRate: 0.1,
  maxDepth: 3,
  rounds: 200,
  earlyStoppingRounds: 20,
  minChildWeight: 5,
  lambda: 1,
  subsample: 0.8,
  colsampleByTree: 0.8,
  seed: 42,
};

/** What training reads: as-of views, the settings, a prefix for its temp tables. */
export interface AffinityInput {
  readonly store: Store;
  readonly asOf: string;
  readonly settings: AffinitySettings;
  readonly orders: string;
  readonly events: string;
  readonly customers: string;
  /** The recommendation settings: the feature g_rec is item-knn's scores aggregated to the group (none when recommendations are off). */
  readonly recommend: RecommendSettings;
  readonly prefix: string;
  readonly progress: (message: string) => void;
}

/** The input of a run or a backtest: the as-of views (asof_orders, asof_events, asof_customers) at `asOf`, the settings of `config`. */
export function asOfInput(store: Store, asOf: string, config: KairosConfig, prefix: string, progress: (message: string) => void): AffinityInput {
  return { store, asOf, settings: config.affinity, recommend: config.recommend, orders: 'asof_orders', events: 'asof_events', customers: 'asof_customers', prefix, progress };
}

/** The inner holdout (the latest cut): the model's ROC AUC against 'bought in the group before' (days with a purchase in it). */
export interface AffinityInner {
  readonly cut: string;
  readonly pairs: number;
  readonly positives: number;
  readonly auc: number | null;
  readonly boughtBeforeAuc: number | null;
}

export interface AffinityModel {
  readonly model: Ensemble;
  readonly fit: GbdtFit;
  readonly calibration: IsotonicMap;
  readonly inner: AffinityInner;
  readonly cuts: readonly string[];
  readonly innerCuts: readonly string[];
  readonly trainingRows: number;
}

/** What training found: the scored groups (and the tables the caller scores with and drops), the model when one was fitted, notes. */
export interface AffinityTraining {
  readonly groups: readonly GroupBuyers[];
  /** Temp tables: the product groups and the scored groups (the caller drops them). */
  readonly tables: { readonly productGroups: string; readonly scored: string };
  readonly model: AffinityModel | null;
  readonly notes: string[];
}

function format(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19).replace('T', ' ');
}

function instant(text: string): number {
  return Date.parse(`${text.replace(' ', 'T')}Z`);
}

/** The matrix of the given rows of pair tables. */
function matrixOf(parts: readonly { p: Pairs; rows: Int32Array }[]): FeatureMatrix & { labels: Float64Array } {
  const total = parts.reduce((a, x) => a + x.rows.length, 0);
  const columns = PAIR_FEATURE_NAMES.map((name) => {
    const out = new Float64Array(total);
    let k = 0;
    for (const { p, rows } of parts) {
      const src = p.numbers[name] as Float64Array;
      for (const i of rows) out[k++] = src[i] as number;
    }
    return out;
  });
  const labels = new Float64Array(total);
  let k = 0;
  for (const { p, rows } of parts) {
    const src = p.numbers['label'] as Float64Array;
    for (const i of rows) labels[k++] = src[i] as number;
  }
  return { names: PAIR_FEATURE_NAMES, columns, rows: total, labels };
}

/** Row indices of a pair table whose bucket passes `keep`. */
function rowsWhere(p: Pairs, keep: (bucket: number) => boolean): Int32Array {
  const bucket = p.numbers['bucket'] as Float64Array;
  const out: number[] = [];
  for (let i = 0; i < p.rows; i++) if (keep(bucket[i] as number)) out.push(i);
  return Int32Array.from(out);
}

const all = (p: Pairs): Int32Array => Int32Array.from({ length: p.rows }, (_, i) => i);

/**
 * Groups the products, picks the scored groups (most buyers before the as-of) and, when the data allows, fits the
 * model: pairs at `snapshots` cuts `stepDays` apart, the latest one horizon before the as-of (every label window ends
 * by it); the inner model is fitted on cuts whose windows end by the latest cut (else on four fifths of the customers)
 * and calibrated (isotonic) on the latest cut; the final model on every cut with as many trees as the inner one kept.
 */
export async function trainAffinity(input: AffinityInput): Promise<AffinityTraining> {
  const { store, settings: s, prefix } = input;
  const tables = { productGroups: `${prefix}_product_groups`, scored: `${prefix}_scored_groups` };
  const notes: string[] = [];
  const counted = await writeProductGroups(store, tables.productGroups, s);
  if (counted.uncategorised > 0) {
    notes.push(`affinity: ${counted.uncategorised.toLocaleString('en')} of ${counted.products.toLocaleString('en')} products have no ${s.by === 'category' ? 'category' : s.by.slice(10)}: grouped as '${UNCATEGORISED}'`);
  }
  const groups = await topGroups(store, input.orders, tables.productGroups, s.maxGroups);
  await store.run(`CREATE OR REPLACE TEMP TABLE ${quoteIdentifier(tables.scored)} (grp VARCHAR)`);
  for (const g of groups) await store.run(`INSERT INTO ${quoteIdentifier(tables.scored)} VALUES ($1)`, [g.group]);
  if (groups.length === 0) {
    notes.push('affinity: no order line with a product before the as-of (no product ids, or no group with buyers): no affinity computed');
    return { groups, tables, model: null, notes };
  }
  const dataStart = await store.value<string | null>(
    `SELECT strftime(min(ordered_at), '%Y-%m-%d %H:%M:%S') FROM ${input.orders} WHERE product_id IS NOT NULL AND amount > 0`,
  );
  const back = (days: number): string => format(instant(input.asOf) - days * DAY_MS);
  const cuts = dataStart ? cutsFrom(back(s.horizonDays), dataStart, s.stepDays, s.snapshots) : [];
  const innerCuts = dataStart ? cutsFrom(back(2 * s.horizonDays), dataStart, s.stepDays, s.snapshots) : [];
  if (cuts.length === 0) {
    notes.push(`affinity: not enough history before the as-of for a ${s.horizonDays}-day window after 60 days of data: no affinity computed`);
    return { groups, tables, model: null, notes };
  }
  const known = Number(await store.value(`SELECT count(DISTINCT customer_id) FROM ${input.orders} WHERE ordered_at < $1::TIMESTAMP`, [input.asOf]));
  const perSnapshot = Math.max(100, Math.floor(MAX_PAIRS_PER_SNAPSHOT / groups.length));
  const wanted = Math.min(s.sampleCustomers === 0 ? Number.POSITIVE_INFINITY : s.sampleCustomers, perSnapshot);
  const perMille = known <= wanted ? 1000 : Math.max(1, Math.floor((1000 * wanted) / known));
  if (perMille < 1000) notes.push(`affinity: trained on a sample of about ${(perMille / 10).toFixed(1)}% of the customers at each snapshot`);

  const pairsAt = new Map<string, Pairs>();
  for (const [n, cut] of [...new Set([...cuts, ...innerCuts])].sort().entries()) {
    input.progress(`affinity: pairs at ${cut.slice(0, 10)}`);
    const table = `${prefix}_pairs_${n}`;
    const recommended = await recommendedAt(input, tables, cut);
    await writePairs(store, table, {
      cut,
      orders: input.orders,
      events: input.events,
      productGroups: tables.productGroups,
      scored: tables.scored,
      recommended,
      perMille,
      label: { orders: input.orders, days: s.horizonDays },
    });
    pairsAt.set(cut, await readPairs(store, table));
    await store.run(`DROP TABLE IF EXISTS ${quoteIdentifier(table)}`);
    await store.run(`DROP TABLE IF EXISTS ${quoteIdentifier(recommended)}`);
  }
  const at = (cut: string): Pairs => pairsAt.get(cut) as Pairs;
  const latest = at(cuts[0] as string);
  const byTime = innerCuts.length > 0;
  if (!byTime) notes.push(`affinity: the data is too short to hold out a ${s.horizonDays}-day window before the latest snapshot: the inner holdout is a fifth of the customers at it`);
  const earlier = byTime ? innerCuts.map((c) => ({ p: at(c), rows: all(at(c)) })) : cuts.map((c) => ({ p: at(c), rows: rowsWhere(at(c), (b) => b >= VALIDATION) }));
  const held = byTime ? { p: latest, rows: all(latest) } : { p: latest, rows: rowsWhere(latest, (b) => b < VALIDATION) };
  const trainParts = earlier.map((x) => ({ p: x.p, rows: x.rows.filter((i) => ((x.p.numbers['bucket'] as Float64Array)[i] as number) >= VALIDATION) }));
  const validParts = earlier.map((x) => ({ p: x.p, rows: x.rows.filter((i) => ((x.p.numbers['bucket'] as Float64Array)[i] as number) < VALIDATION) }));
  const train = matrixOf(trainParts);
  const valid = matrixOf(validParts);
  const test = matrixOf([held]);
  const positives = (m: { labels: Float64Array }): number => m.labels.reduce((a, v) => a + v, 0);
  if (positives(train) === 0 || positives(train) === train.rows || test.rows === 0) {
    notes.push('affinity: no purchase in a group after any training cut (or every pair bought): no model fitted');
    return { groups, tables, model: null, notes };
  }
  input.progress(`affinity: fitting on ${train.rows.toLocaleString('en')} pairs`);
  const inner = await trainGbdt(train, train.labels, AFFINITY_BOOSTING, valid.rows > 0 ? { matrix: valid, labels: valid.labels } : undefined);
  const margins = predictGbdtMargin(inner.model, test);
  const calibration = fitIsotonic(margins, test.labels);
  const calibrated = margins.map((m) => applyIsotonic(calibration, m));
  const innerResult: AffinityInner = {
    cut: cuts[0] as string,
    pairs: test.rows,
    positives: positives(test),
    auc: rocAuc(test.labels, calibrated),
    boughtBeforeAuc: rocAuc(test.labels, test.columns[PAIR_FEATURE_NAMES.indexOf('g_days')] as Float64Array),
  };
  const rounds = Math.max(1, inner.diagnostics.bestRound);
  const f = (v: number | null): string => (v === null ? 'n/a' : v.toFixed(3));
  notes.push(
    `affinity: inner holdout at ${innerResult.cut.slice(0, 10)} (${innerResult.pairs.toLocaleString('en')} customer-group pairs, ${innerResult.positives.toLocaleString('en')} bought): ` +
      `ROC AUC ${f(innerResult.auc)} against ${f(innerResult.boughtBeforeAuc)} for 'bought in the group before'; ${rounds} trees`,
  );
  const finalParts = cuts.map((c) => ({ p: at(c), rows: all(at(c)) }));
  const final = matrixOf(finalParts);
  if (positives(final) === 0 || positives(final) === final.rows) {
    notes.push(`affinity: no purchase in a group within ${s.horizonDays} days of the final training cuts (or every pair bought): no model fitted`);
    return { groups, tables, model: null, notes };
  }
  input.progress(`affinity: final fit on ${final.rows.toLocaleString('en')} pairs`);
  const fit = await trainGbdt(final, final.labels, { ...AFFINITY_BOOSTING, rounds, earlyStoppingRounds: 0 });
  return { groups, tables, notes, model: { model: fit.model, fit, calibration, inner: innerResult, cuts, innerCuts, trainingRows: final.rows } };
}

/** Writes the recommendations aggregated to the groups at `cut` (writeRecommendedGroups) and returns the table's name (the caller drops it). */
export async function recommendedAt(input: AffinityInput, tables: AffinityTraining['tables'], cut: string): Promise<string> {
  const table = `${input.prefix}_recommended`;
  input.progress(`affinity: recommendations before ${cut.slice(0, 10)}, by group`);
  await writeRecommendedGroups(input.store, table, {
    cut,
    orders: input.orders,
    events: input.events,
    customers: input.customers,
    productGroups: tables.productGroups,
    scored: tables.scored,
    settings: input.recommend,
  });
  return table;
}

/** Calibrated probabilities of the pairs of a pair table, in its order. */
export function predictPairs(model: AffinityModel, pairs: Pairs): Float64Array {
  const matrix: FeatureMatrix = { names: PAIR_FEATURE_NAMES, columns: PAIR_FEATURE_NAMES.map((n) => pairs.numbers[n] as Float64Array), rows: pairs.rows };
  return predictGbdtMargin(model.model, matrix).map((m) => applyIsotonic(model.calibration, m));
}

/**
 * Pairs scored per pass at most: the customers are split by a hash of the id into as many passes as it takes (a
 * million customers x 50 groups: 25 passes), so that the pairs in memory stay at about 150 MB.
 */
export const SCORING_PAIRS_PER_PASS = 2_000_000;

/** Passes over the customers to score every active one in every scored group (customers with a purchase or a product event, counted from the orders). */
export async function scoringPasses(input: AffinityInput, groups: number): Promise<number> {
  const customers = Number(await input.store.value(`SELECT count(DISTINCT customer_id) FROM ${input.orders}`));
  return Math.max(1, Math.ceil((customers * groups) / SCORING_PAIRS_PER_PASS));
}

/** Writes and reads the pairs of the active customers of one pass at `cut` (no sample, no label), with `recommended` (recommendedAt at the same cut). */
export async function scoringPairs(input: AffinityInput, tables: AffinityTraining['tables'], cut: string, recommended: string, pass = { part: 0, parts: 1 }): Promise<Pairs> {
  const table = `${input.prefix}_scoring_pairs`;
  await writePairs(input.store, table, { cut, orders: input.orders, events: input.events, productGroups: tables.productGroups, scored: tables.scored, recommended, perMille: 1000, pass });
  const pairs = await readPairs(input.store, table);
  await input.store.run(`DROP TABLE IF EXISTS ${quoteIdentifier(table)}`);
  return pairs;
}

/** Drops the tables training left for scoring. */
export async function dropTrainingTables(store: Store, tables: AffinityTraining['tables']): Promise<void> {
  for (const t of Object.values(tables)) await store.run(`DROP TABLE IF EXISTS ${quoteIdentifier(t)}`);
}
