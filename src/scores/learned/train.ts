// Trains the learned churn, conversion and value models on snapshots before the as-of and scores a population with them.
import type { LearnedSettings } from '../../config.js';
import { KairosError } from '../../errors.js';
import { findCategoricals, readSnapshot, SNAPSHOT_FEATURES, writeEventDays, writePurchaseDays, writeSnapshot, addLabels, type Categorical, type EngagementWeights, type LabelWindow, type SnapshotOptions } from '../../features/snapshots.js';
import { trainGbdt, predictGbdtMargin, type GbdtFit, type GbdtOptions } from '../../ml/gbdt.js';
import { applyIsotonic, fitIsotonic, type IsotonicMap } from '../../ml/isotonic.js';
import type { FeatureMatrix } from '../../ml/matrix.js';
import type { Ensemble } from '../../ml/tree.js';
import { getTransactionModel, type TransactionModelName } from '../../models/index.js';
import { normalisedGini, rocAuc } from '../../backtest/metrics.js';
import { quoteIdentifier, type Store } from '../../store/db.js';
import { fitSpend, fitTransaction } from '../clv/fitting.js';
import { designTasks, type TaskDesign, type TaskName } from './design.js';

/** A feature matrix, column by column (NaN = missing), as the learner takes it: built here from Float64Arrays. */
export type Matrix = FeatureMatrix & { readonly columns: readonly Float64Array[] };

/** Features the learned models add from the purchase model fitted at the same cut. */
export const PURCHASE_MODEL_FEATURES = [
  { name: 'pm_p_alive', unit: 'probability', description: 'purchase model: probability still active' },
  { name: 'pm_expected_90d', unit: 'count', description: 'purchase model: expected purchase days in the next 90 days' },
] as const;

/** The purchase model behind the pm_ features: BG/NBD, fast and robust, the same at every cut and in every run. */
export const FEATURE_PURCHASE_MODEL: TransactionModelName = 'bg-nbd';

/** Per task: what it learns, on whom, and how its label is read from the snapshot. */
const TASKS: Readonly<Record<TaskName, { objective: GbdtOptions['objective']; buyersOnly: boolean }>> = {
  churn: { objective: 'logistic', buyersOnly: true },
  conversion: { objective: 'logistic', buyersOnly: false },
  value: { objective: 'tweedie', buyersOnly: true },
};

/** Boosting settings shared by the three models (the trees' size and shrinkage come from the settings). */
export function boostingOptions(task: TaskName, s: LearnedSettings): Partial<GbdtOptions> {
  return {
    objective: TASKS[task].objective,
    learningRate: s.learningRate,
    maxDepth: s.maxDepth,
    rounds: s.rounds,
    earlyStoppingRounds: 30,
    // Shallow trees with some weight per leaf: on the small data sets (2,357 CDNOW customers) deeper trees lose to RFM
    // recency on the holdout (docs/accuracy.md).
    minChildWeight: 5,
    lambda: 1,
    subsample: 0.8,
    colsampleByTree: 0.8,
    seed: 42,
  };
}

/** The label column of a task at its window. */
function labelColumn(task: TaskName, days: number): string {
  return task === 'value' ? `label_spend_${days}d` : `label_bought_${days}d`;
}

/** A snapshot read into JS: the matrix of every feature and its labels, customers in id order. */
interface Snapshot {
  readonly cut: string;
  readonly table: string;
  readonly numbers: Record<string, Float64Array>;
  readonly rows: number;
}

/** How a learned model fared on the inner holdout (the latest snapshot), beside the purchase model and the rule. */
export interface InnerResult {
  readonly task: TaskName;
  /** 'ROC AUC' for churn and conversion, 'normalised Gini' for value; on the customers both models score. */
  readonly metric: string;
  readonly learned: number | null;
  readonly purchaseModel: number | null;
  readonly rule: number | null;
  readonly ruleName: string;
  readonly customers: number;
  readonly winner: 'boosted trees' | 'purchase model';
}

/** A task's trained model, ready to score. */
export interface TrainedTask {
  readonly design: TaskDesign;
  readonly model: Ensemble;
  readonly fit: GbdtFit;
  /** Calibration of the margins, from the inner holdout: to a probability (churn, conversion), to spend over the window (value). */
  readonly calibration: IsotonicMap;
  readonly inner: InnerResult;
  readonly trainingRows: number;
}

export interface LearnedModels {
  readonly features: readonly string[];
  readonly categoricals: readonly Categorical[];
  readonly tasks: Partial<Record<TaskName, TrainedTask>>;
  readonly notes: readonly string[];
}

/** What training reads: the as-of views of a run or a backtest. */
export interface TrainingInput {
  readonly store: Store;
  readonly asOf: string;
  readonly settings: LearnedSettings;
  /** The purchase model the contenders come from (the run's choice). */
  readonly purchaseModel: TransactionModelName;
  readonly progress: (message: string) => void;
  /** Prefix of the temp tables (unique per caller). */
  readonly prefix: string;
  /** The engagement score's settings, for the engagement features. */
  readonly engagement?: EngagementWeights;
}

const VIEWS = { orders: 'asof_orders', events: 'asof_events', customers: 'asof_customers' } as const;

/** The daily event counts every snapshot of a run reads (writeEventDays), named after the caller's prefix. */
export const eventDaysTable = (prefix: string): string => `${prefix}_event_days`;

/** The purchase days every snapshot of a run reads (writePurchaseDays), named after the caller's prefix. */
export const purchaseDaysTable = (prefix: string): string => `${prefix}_purchase_days`;

/** Every feature name, in matrix order. */
export function featureNames(categoricals: readonly Categorical[]): string[] {
  return [...SNAPSHOT_FEATURES.map((f) => f.name), ...PURCHASE_MODEL_FEATURES.map((f) => f.name), ...categoricals.map((c) => c.name)];
}

/** Writes and reads one snapshot (with its labels), adding the purchase-model features and contenders. */
async function trainingSnapshot(
  input: TrainingInput,
  table: string,
  cut: string,
  sources: SnapshotSources,
  categoricals: readonly Categorical[],
  windows: readonly LabelWindow[],
): Promise<Snapshot> {
  const rows = await writeSnapshot(input.store, table, {
    cut,
    ...sources,
    prospects: true,
    categoricals,
    ...(input.engagement ? { engagement: input.engagement } : {}),
  });
  await addLabels(input.store, table, cut, sources.orders, windows);
  // The bucket splits customers for validation and the inner holdout: other digits of the hash than the sample's
  // (hash % 1000), or a sample would hold only low buckets and the split would take everyone.
  const numbers = await input.store.readNumberColumns(
    `SELECT * EXCLUDE (customer_id), ((hash(customer_id) // 1000) % 1000)::DOUBLE AS bucket FROM ${quoteIdentifier(table)}`,
    [],
    rows,
  );
  return { cut, table, numbers, rows };
}

/** What a snapshot is read from: the relations and the share of customers kept (writeSnapshot's options). */
type SnapshotSources = Pick<SnapshotOptions, 'orders' | 'purchaseDays' | 'eventDays' | 'customers' | 'samplePerMille'>;

/** The sampled copies of a run's lines, purchase days and event days that the training snapshots read (see below). */
const sampleTables = (prefix: string): { orders: string; purchaseDays: string; eventDays: string; customers: string } => ({
  orders: `${prefix}_sample_orders`,
  purchaseDays: `${prefix}_sample_purchase_days`,
  eventDays: `${prefix}_sample_event_days`,
  customers: `${prefix}_sample_customers`,
});

/**
 * The sources of the training snapshots: with a sample, the sampled customers' lines, purchase days, event days and
 * customer rows copied once into small temp tables (the same hash filter writeSnapshot applies), so that each of the
 * ~10 snapshots and its labels reads 1% of the data rather than filtering all of it again. The caller drops them.
 */
async function trainingSources(input: TrainingInput, perMille: number): Promise<SnapshotSources> {
  const full = { orders: VIEWS.orders, purchaseDays: purchaseDaysTable(input.prefix), eventDays: eventDaysTable(input.prefix), customers: VIEWS.customers };
  if (perMille >= 1000) return full;
  const t = sampleTables(input.prefix);
  const keep = `hash(customer_id) % 1000 < ${Math.floor(perMille)}`;
  await input.store.run(`CREATE OR REPLACE TEMP TABLE ${quoteIdentifier(t.orders)} AS SELECT * FROM ${full.orders} WHERE ${keep}`);
  await input.store.run(`CREATE OR REPLACE TEMP TABLE ${quoteIdentifier(t.purchaseDays)} AS SELECT * FROM ${quoteIdentifier(full.purchaseDays)} WHERE ${keep}`);
  await input.store.run(`CREATE OR REPLACE TEMP TABLE ${quoteIdentifier(t.eventDays)} AS SELECT * FROM ${quoteIdentifier(full.eventDays)} WHERE ${keep}`);
  await input.store.run(`CREATE OR REPLACE TEMP TABLE ${quoteIdentifier(t.customers)} AS SELECT * FROM ${full.customers} WHERE ${keep}`);
  return {
    orders: quoteIdentifier(t.orders),
    purchaseDays: quoteIdentifier(t.purchaseDays),
    eventDays: quoteIdentifier(t.eventDays),
    customers: quoteIdentifier(t.customers),
    samplePerMille: perMille,
  };
}

/** Indices of the rows of buyers (purchase_days > 0), or of every row. */
function rowsOf(s: Snapshot, buyersOnly: boolean): Int32Array {
  const days = s.numbers['purchase_days'] as Float64Array;
  const out: number[] = [];
  for (let i = 0; i < s.rows; i++) if (!buyersOnly || (days[i] as number) > 0) out.push(i);
  return Int32Array.from(out);
}

/**
 * Purchase-model columns of a snapshot, for its buyers (NaN for prospects): the feature model's P(alive) and expected
 * purchases in 90 days (features), and, from `contender` (the run's purchase model), P(a purchase within each
 * `conversionDays`) and the expected spend over `valueDays` (contenders on the inner holdout).
 */
export function purchaseModelColumns(
  numbers: Record<string, Float64Array>,
  rows: number,
  contender: TransactionModelName | null,
  horizons: { buyDays: readonly number[]; valueDays: number | null },
): Record<string, Float64Array> {
  // The buyers in a canonical order (by x, t_x, age, m: all the fits read): they sum over rows in floating point, and a
  // snapshot's rows may come in any order (the scoring snapshot is streamed), which moved the fits' parameters.
  const keys = (['x', 't_x', 'age', 'm'] as const).map((n) => numbers[n] as Float64Array);
  const byKeys = (a: number, b: number): number => {
    for (const k of keys) if (k[a] !== k[b]) return (k[a] as number) - (k[b] as number);
    return 0;
  };
  const buyers = Int32Array.from(Array.from({ length: rows }, (_, i) => i).filter((i) => ((numbers['purchase_days'] as Float64Array)[i] as number) > 0)).sort(byKeys);
  const pick = (name: string): Float64Array => Float64Array.from(buyers, (i) => (numbers[name] as Float64Array)[i] as number);
  const data = { x: pick('x'), tx: pick('t_x'), T: pick('age') };
  const spread = (values: Float64Array): Float64Array => {
    const out = new Float64Array(rows).fill(Number.NaN);
    buyers.forEach((i, k) => (out[i] = values[k] as number));
    return out;
  };
  const out: Record<string, Float64Array> = {};
  const empty = (): Float64Array => new Float64Array(rows).fill(Number.NaN);
  if (buyers.length < 20) {
    out['pm_p_alive'] = empty();
    out['pm_expected_90d'] = empty();
    return out;
  }
  const featureFit = fitTransaction(FEATURE_PURCHASE_MODEL, data).fit;
  const fm = getTransactionModel(FEATURE_PURCHASE_MODEL as string); // by name: its own parameter type is not known statically here
  out['pm_p_alive'] = spread(fm.pAlive(featureFit.params, data));
  out['pm_expected_90d'] = spread(fm.expectedPurchases(featureFit.params, data, 90));
  if (contender) {
    const cm = getTransactionModel(contender as string);
    const fit = contender === FEATURE_PURCHASE_MODEL ? featureFit : fitTransaction(contender, data).fit;
    for (const d of horizons.buyDays) out[`pm_buy_${d}d`] = spread(cm.conversionProbability(fit.params, data, d));
    if (horizons.valueDays !== null) {
      const { spend } = fitSpend(data.x, pick('m'));
      const expected = cm.expectedPurchases(fit.params, data, horizons.valueDays);
      out[`pm_value_${horizons.valueDays}d`] = spread(expected.map((e, k) => e * (spend[k] as number)));
    }
  }
  return out;
}

/** The matrix of the given rows of snapshots, in `names` order. */
function matrixOf(parts: readonly { s: Snapshot; extra: Record<string, Float64Array>; rows: Int32Array }[], names: readonly string[]): Matrix {
  const total = parts.reduce((a, p) => a + p.rows.length, 0);
  const columns = names.map((name) => {
    const col = new Float64Array(total);
    let k = 0;
    for (const p of parts) {
      const src = p.extra[name] ?? p.s.numbers[name];
      if (!src) throw new KairosError('INTERNAL', `snapshot column ${name} is missing`);
      for (const i of p.rows) col[k++] = src[i] as number;
    }
    return col;
  });
  return { names, columns, rows: total };
}

function valuesOf(parts: readonly { s: Snapshot; extra: Record<string, Float64Array>; rows: Int32Array }[], name: string): Float64Array {
  return matrixOf(parts, [name]).columns[0] as Float64Array;
}

/** The training label of a task: churn = did not buy; conversion = bought; value = net spend, at least 0. */
function labelOf(task: TaskName, raw: Float64Array): Float64Array {
  if (task === 'churn') return raw.map((v) => 1 - v);
  if (task === 'value') return raw.map((v) => Math.max(0, v));
  return raw;
}

/** Customers (by the bucket of their id, 0-999) held out of the inner fit when the holdout is by customers. */
const HELD_OUT = 200;

/** Rows of a matrix, split by the bucket column: validation for a fifth of the customers (the next fifth up from `from`). */
function splitRows(bucket: Float64Array, from: number): { train: Int32Array; valid: Int32Array } {
  const train: number[] = [];
  const valid: number[] = [];
  bucket.forEach((b, i) => (b >= from && b < from + 200 ? valid : train).push(i));
  return { train: Int32Array.from(train), valid: Int32Array.from(valid) };
}

function subset(m: Matrix, rows: Int32Array): Matrix {
  return { names: m.names, rows: rows.length, columns: m.columns.map((c) => Float64Array.from(rows, (i) => c[i] as number)) };
}

/**
 * Trains the three models for a run at `asOf`: snapshots are cut before it (design.ts); each model is fitted on the
 * snapshots whose label windows end by the latest cut and compared there (the inner holdout) with the purchase model
 * and the one-line rule, its probabilities calibrated there (isotonic), then fitted again on the latest snapshots with
 * the number of trees the inner fit stopped at. No label window passes the as-of.
 */
export async function trainLearnedModels(input: TrainingInput): Promise<LearnedModels> {
  const { store, asOf, settings: s } = input;
  const notes: string[] = [];
  const dataStart = await store.value<string | null>(`SELECT strftime(min(ordered_at), '%Y-%m-%d %H:%M:%S') FROM ${VIEWS.orders}`);
  if (!dataStart) return { features: [], categoricals: [], tasks: {}, notes: ['learned models not trained: no purchase before the as-of'] };
  const designs = designTasks(asOf, dataStart, s);
  // Kept for the scoring snapshot; the caller drops them (eventDaysTable, purchaseDaysTable).
  await writeEventDays(store, eventDaysTable(input.prefix), VIEWS.events);
  await writePurchaseDays(store, purchaseDaysTable(input.prefix), VIEWS.orders);
  const categoricals = await findCategoricals(store, VIEWS.customers);
  const names = featureNames(categoricals);
  const known = Number(await store.value(`SELECT count(DISTINCT customer_id) FROM ${VIEWS.orders}`));
  const perMille = s.sampleCustomers === 0 || known <= s.sampleCustomers ? 1000 : Math.max(1, Math.floor((1000 * s.sampleCustomers) / known));
  if (perMille < 1000) notes.push(`learned models trained on a sample of about ${(perMille / 10).toFixed(1)}% of the customers at each snapshot (learned.sampleCustomers ${s.sampleCustomers.toLocaleString('en')})`);

  // One snapshot per distinct cut, with every label window a task asks of it.
  const windowsAt = new Map<string, LabelWindow[]>();
  const tasks = (Object.keys(designs) as TaskName[]).filter((t) => {
    const d = designs[t];
    if (d.cuts.length === 0) {
      notes.push(`${t}: not enough history before the as-of for a ${d.days}-day snapshot (a window, and 60 days of data before it): the purchase model's score is kept`);
      return false;
    }
    return true;
  });
  for (const t of tasks) {
    const d = designs[t];
    for (const cut of new Set([...d.cuts, ...d.innerCuts])) {
      const list = windowsAt.get(cut) ?? [];
      const column = labelColumn(t, d.days);
      if (!list.some((w) => w.column === column)) list.push({ column, days: d.days, kind: t === 'value' ? 'spend' : 'bought' });
      windowsAt.set(cut, list);
    }
  }
  const snapshots = new Map<string, { s: Snapshot; extra: Record<string, Float64Array> }>();
  const sources = await trainingSources(input, perMille);
  let n = 0;
  for (const [cut, windows] of [...windowsAt.entries()].sort()) {
    input.progress(`learned: snapshot at ${cut.slice(0, 10)}`);
    const snap = await trainingSnapshot(input, `${input.prefix}_snap_${n++}`, cut, sources, categoricals, windows);
    const buyDays = windows.filter((w) => w.kind === 'bought').map((w) => w.days);
    const value = windows.find((w) => w.kind === 'spend');
    const extra = purchaseModelColumns(snap.numbers, snap.rows, input.purchaseModel, { buyDays, valueDays: value ? value.days : null });
    snapshots.set(cut, { s: snap, extra });
    await store.run(`DROP TABLE IF EXISTS ${quoteIdentifier(snap.table)}`);
  }
  for (const t of Object.values(sampleTables(input.prefix))) await store.run(`DROP TABLE IF EXISTS ${quoteIdentifier(t)}`);

  const trained: Partial<Record<TaskName, TrainedTask>> = {};
  for (const t of tasks) {
    const d = designs[t];
    const label = labelColumn(t, d.days);
    const partsAt = (cuts: readonly string[]): { s: Snapshot; extra: Record<string, Float64Array>; rows: Int32Array }[] =>
      cuts.map((cut) => {
        const got = snapshots.get(cut);
        if (!got) throw new KairosError('INTERNAL', `no snapshot at ${cut}`);
        return { ...got, rows: rowsOf(got.s, TASKS[t].buyersOnly) };
      });
    const parts = partsAt(d.cuts);
    const first = parts[0];
    if (!first) continue;
    // The inner holdout holds out time when the data allows (earlier cuts, windows ending by the latest cut); otherwise
    // it holds out customers: a fifth of them at the latest cut, never trained on.
    const byTime = d.innerCuts.length > 0;
    const filter = (p: (typeof parts)[number], keep: (bucket: number) => boolean) => {
      const bucket = p.s.numbers['bucket'] as Float64Array;
      return { ...p, rows: p.rows.filter((i) => keep(bucket[i] as number)) };
    };
    const earlier = byTime ? partsAt(d.innerCuts) : parts.map((p) => filter(p, (b) => b >= HELD_OUT));
    const latest = byTime ? first : filter(first, (b) => b < HELD_OUT);
    if (!byTime) notes.push(`${t}: the data is too short to hold out a ${d.days}-day window before the latest snapshot: the inner holdout is a fifth of the customers at it`);
    const options = boostingOptions(t, s);
    // Inner fit: the snapshots whose windows end by the latest cut; early stopping on a fifth of the customers.
    input.progress(`learned: ${t}: fitting on ${earlier.reduce((a, p) => a + p.rows.length, 0).toLocaleString('en')} snapshot rows`);
    const all = matrixOf(earlier, names);
    const y = labelOf(t, valuesOf(earlier, label));
    const { train, valid } = splitRows(valuesOf(earlier, 'bucket'), byTime ? 0 : HELD_OUT);
    const inner = await trainGbdt(subset(all, train), Float64Array.from(train, (i) => y[i] as number), options, {
      matrix: subset(all, valid),
      labels: Float64Array.from(valid, (i) => y[i] as number),
    });
    // The inner holdout: the latest snapshot.
    const test = matrixOf([latest], names);
    const actual = labelOf(t, valuesOf([latest], label));
    const margins = predictGbdtMargin(inner.model, test);
    const rounds = Math.max(1, inner.diagnostics.bestRound);
    // Calibrated on the inner holdout, monotone in the margin: probabilities become observed rates, values observed
    // spend (shallow trees with shrinkage rank the big spenders well but shrink their amounts towards the mean).
    const calibration = fitIsotonic(margins, actual);
    const learned = margins.map((m) => applyIsotonic(calibration, m));
    const inner1 = compareInner(t, latest, actual, learned, d.days);
    notes.push(innerNote(inner1, rounds, inner.diagnostics.stoppedEarly));
    const dropped = inner.diagnostics.droppedFeatures;
    if (dropped.length) notes.push(`${t}: ${dropped.length} feature(s) constant or missing for everyone in the training snapshots, not used: ${dropped.join(', ')}`);
    // The final fit: every snapshot, as many trees as the inner fit kept.
    input.progress(`learned: ${t}: final fit on ${parts.reduce((a, p) => a + p.rows.length, 0).toLocaleString('en')} snapshot rows`);
    const finalMatrix = matrixOf(parts, names);
    const finalLabels = labelOf(t, valuesOf(parts, label));
    const fit = await trainGbdt(finalMatrix, finalLabels, { ...options, rounds, earlyStoppingRounds: 0 });
    trained[t] = { design: d, model: fit.model, fit, calibration, inner: inner1, trainingRows: finalMatrix.rows };
  }
  return { features: names, categoricals, tasks: trained, notes };
}

/** The inner holdout's comparison: the learned model against the purchase model and the rule, on the buyers. */
function compareInner(t: TaskName, latest: { s: Snapshot; extra: Record<string, Float64Array>; rows: Int32Array }, actual: Float64Array, learned: Float64Array, days: number): InnerResult {
  const rows = latest.rows;
  const days_ = latest.s.numbers['purchase_days'] as Float64Array;
  const keep: number[] = [];
  rows.forEach((i, k) => {
    if ((days_[i] as number) > 0) keep.push(k);
  });
  const on = (a: Float64Array): Float64Array => Float64Array.from(keep, (k) => a[k] as number);
  const column = (name: string): Float64Array | undefined => {
    const src = latest.extra[name] ?? latest.s.numbers[name];
    return src ? Float64Array.from(rows, (i) => src[i] as number) : undefined;
  };
  const y = on(actual);
  const recency = column('recency_days') as Float64Array;
  let metric: string;
  let l: number | null;
  let pm: number | null;
  let rule: number | null;
  let ruleName: string;
  if (t === 'value') {
    metric = 'normalised Gini';
    const contender = column(`pm_value_${days}d`);
    l = normalisedGini(y, on(learned));
    pm = contender ? normalisedGini(y, on(contender)) : null;
    rule = normalisedGini(y, on(column('spend_365d') as Float64Array));
    ruleName = 'past spend (last 365 days)';
  } else {
    metric = 'ROC AUC';
    const contender = column(`pm_buy_${days}d`);
    const sign = t === 'churn' ? -1 : 1;
    l = rocAuc(y, on(learned));
    pm = contender ? rocAuc(y, on(contender).map((p) => (t === 'churn' ? 1 - p : p))) : null;
    rule = rocAuc(y, on(recency).map((r) => -sign * r));
    ruleName = 'RFM recency';
  }
  const winner = l !== null && (pm === null || l > pm) ? 'boosted trees' : 'purchase model';
  return { task: t, metric, learned: l, purchaseModel: pm, rule, ruleName, customers: keep.length, winner };
}

function innerNote(r: InnerResult, rounds: number, stopped: boolean): string {
  const f = (v: number | null): string => (v === null ? 'n/a' : v.toFixed(3));
  return (
    `${r.task}: ${r.winner} chosen on the inner holdout (${r.customers.toLocaleString('en')} customers, ${r.metric}): ` +
    `boosted trees ${f(r.learned)}, purchase model ${f(r.purchaseModel)}, ${r.ruleName} ${f(r.rule)}; ${rounds} trees${stopped ? ' (early stopping)' : ''}`
  );
}

/** Predictions of a trained task for a matrix: calibrated probabilities, or calibrated spend over the task's window. */
export function predictTask(task: TrainedTask, matrix: Matrix): { margins: Float64Array; values: Float64Array } {
  const margins = predictGbdtMargin(task.model, matrix);
  return { margins, values: margins.map((m) => applyIsotonic(task.calibration, m)) };
}

/**
 * Customers per pass of the scoring snapshot. A million in one pass fit DuckDB's default memory limit (256MB) when
 * streamed (6.2 s against 6.9 s in four passes, 1M customers, load 1.5); more passes keep 10M customers within it.
 */
const SCORING_PART = 500_000;

/**
 * Reads the scoring snapshot at the as-of for every customer (prospects included), with the purchase-model features,
 * streamed in passes over shares of the customers (features/snapshots.ts, readSnapshot): rows in no particular order,
 * `ids` says whose. Reads the daily event counts and purchase days trainLearnedModels wrote.
 */
export async function scoringSnapshot(input: TrainingInput, categoricals: readonly Categorical[]): Promise<{ matrix: Matrix; numbers: Record<string, Float64Array>; ids: string[]; rows: number }> {
  input.progress('learned: features of every customer');
  const customers = Number(await input.store.value(`SELECT count(*) FROM ${VIEWS.customers}`));
  const sources = { orders: VIEWS.orders, purchaseDays: purchaseDaysTable(input.prefix), eventDays: eventDaysTable(input.prefix), customers: VIEWS.customers };
  const snap = await readSnapshot(
    input.store,
    { cut: input.asOf, ...sources, prospects: true, categoricals, ...(input.engagement ? { engagement: input.engagement } : {}) },
    Math.ceil(customers / SCORING_PART),
  );
  input.progress(`learned: purchase-model features of ${snap.rows.toLocaleString('en')} customers`);
  const extra = purchaseModelColumns(snap.numbers, snap.rows, null, { buyDays: [], valueDays: null });
  const names = featureNames(categoricals);
  // The matrix takes the columns as read, no copy (a million rows: 8 MB a column).
  const columns = names.map((name) => {
    const column = extra[name] ?? snap.numbers[name];
    if (!column) throw new KairosError('INTERNAL', `snapshot column ${name} is missing`);
    return column;
  });
  return { matrix: { names, columns, rows: snap.rows }, numbers: snap.numbers, ids: snap.ids, rows: snap.rows };
}
