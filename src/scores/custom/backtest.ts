// A custom score checked against its own objective: the grid computed at the backtest's cut, graded against recency and the learned score.
import { formatNumber, formatPercent } from '../../backtest/format.js';
import { liftAtFraction, prAuc, rocAuc, rocCurve } from '../../backtest/metrics.js';
import { gradedSection, row, thinRoc } from '../../backtest/sections.js';
import type { MetricRow, ScoreSection } from '../../backtest/types.js';
import type { KairosConfig } from '../../config.js';
import { KairosError } from '../../errors.js';
import { quoteIdentifier, type Store } from '../../store/db.js';
import { formatCount } from '../../util/format.js';
import type { ScoreRegistry } from '../registry.js';
import { dropTemporary } from '../temporaries.js';
import { SQL_TYPES, type BacktestContext, type BacktestResult } from '../types.js';
import { createFlags, createGridInput, createGridScores, criteriaNotes, flagColumn, type Grid } from './grid.js';
import { createObjectiveLabels, objectiveText } from './objective.js';

/**
 * Runs the registry's scorers named in `names`, with everything they depend on, at the as-of views in place (the cut:
 * `asof_*` must be created for it), each into a temp table `__cut_<scorer>` of its declared columns: what `kairos score
 * --as-of CUT` would store, without writing to the store. Scorers already in `done` (scorer -> table, from an earlier
 * call at the same cut) are not run again; `done` is filled. Returns the tables by scorer and the new scorers' notes.
 */
export async function runAtCut(
  store: Store,
  config: KairosConfig,
  registry: ScoreRegistry,
  names: readonly string[],
  cut: string,
  progress: (message: string) => void,
  done: Map<string, string> = new Map(),
): Promise<{ tables: Map<string, string>; notes: string[] }> {
  const wanted = new Set(names.flatMap((n) => [...registry.closure(n)]));
  const tables = done;
  const notes: string[] = [];
  for (const scorer of registry.scorers) {
    if (!wanted.has(scorer.name) || tables.has(scorer.name)) continue;
    progress(`scoring ${scorer.name} as of ${cut.slice(0, 10)}`);
    const resultsOf = (name: string): string => {
      const t = tables.get(name);
      if (t === undefined || !(scorer.dependsOn ?? []).includes(name)) throw new KairosError('INTERNAL', `scorer ${scorer.name} reads ${name} without declaring it in dependsOn`);
      return t;
    };
    const result = await scorer.run({ store, runId: 0, asOf: cut, config, progress, resultsOf, dataFingerprint: '' });
    const relation = store.exposesColumns(result.table) ? `${quoteIdentifier(result.table)}()` : quoteIdentifier(result.table);
    const table = `__cut_${scorer.name}`;
    const columns = scorer.columns.map((c) => `CAST(${quoteIdentifier(c.name)} AS ${SQL_TYPES[c.type]}) AS ${quoteIdentifier(c.name)}`);
    await store.run(`CREATE OR REPLACE TEMP TABLE ${quoteIdentifier(table)} AS SELECT customer_id, ${columns.join(', ')} FROM ${relation}`);
    for (const t of [result.table, ...Object.values(result.items ?? {}), ...(result.temporaries ?? [])]) await dropTemporary(store, t);
    tables.set(scorer.name, table);
    notes.push(...result.notes);
  }
  return { tables, notes };
}

/** The learned score Kairos has for the same objective: its column and how to read it as "more likely". */
interface LearnedCounterpart {
  readonly column: string;
  readonly name: string;
  /** true: 1 − the column (churn_risk read as a purchase probability). */
  readonly complement: boolean;
}

/** The learned counterpart of an objective: churn_risk for churn; conversion in 30 days or 1 − churn_risk for a purchase. */
function learnedCounterpart(grid: Grid, config: KairosConfig): LearnedCounterpart | null {
  const o = grid.definition.objective;
  if (o.event === 'churn') return { column: 'churn_risk', name: `learned churn_risk (no purchase within ${config.learned.churnDays} days)`, complement: false };
  if (o.event !== 'purchase') return null;
  return o.withinDays <= 45
    ? { column: 'conversion_probability_30d', name: 'learned conversion_probability_30d (a purchase within 30 days)', complement: false }
    : { column: 'churn_risk', name: `learned 1 − churn_risk (a purchase within ${config.learned.churnDays} days)`, complement: true };
}

/** The grid's population at a cut: the customers who bought before it, with the grid, its criteria, recency and the outcome. */
export interface GridCutData {
  readonly ids: readonly string[];
  /** The score as it is stored: the scale's number, or the grade's rank (the last grade 1, the best G). */
  readonly score: Float64Array;
  readonly points: Float64Array;
  /** Criterion k (0-based) met: 1, else 0. */
  readonly flags: readonly Float64Array[];
  readonly recencyDays: Float64Array;
  /** 1: the customer reached the objective in the window. */
  readonly y: Float64Array;
  /** The learned counterpart's value (as "more likely"), NaN where it has none; null when there is none. */
  readonly learned: { readonly name: string; readonly values: Float64Array } | null;
  /** Days of the label window. */
  readonly days: number;
  readonly notes: readonly string[];
}

/**
 * Computes the grid at `cut` (the as-of views must be those of the cut) on the customers who bought before it, with
 * their outcome over [cut, cut + days): the grid's dependencies run at the cut (and the learned scorer when `learned`
 * and it has a counterpart), the criteria over them as `kairos score --as-of CUT` would, grades by quantiles among every
 * customer of the cut. Temp tables are dropped.
 */
export async function gridAtCut(
  store: Store,
  config: KairosConfig,
  grid: Grid,
  registry: ScoreRegistry,
  cut: string,
  days: number,
  options: { learned: boolean; progress: (message: string) => void; shared?: Map<string, string> },
): Promise<GridCutData> {
  const counterpart = options.learned && config.learned.enabled && registry.scorers.some((s) => s.name === 'learned') ? learnedCounterpart(grid, config) : null;
  const run = await runAtCut(store, config, registry, ['rfm', ...grid.dependsOn, ...(counterpart ? ['learned'] : [])], cut, options.progress, options.shared);
  const name = grid.definition.name;
  const [input, flags, scores, labels] = ['input', 'flags', 'scores', 'labels'].map((k) => `__cut_${k}_${name}`) as [string, string, string, string];
  try {
    await createGridInput(store, grid, (s) => run.tables.get(s) as string, input);
    await createFlags(store, grid, quoteIdentifier(input), flags);
    await createGridScores(store, grid, flags, scores);
    const notes = [...run.notes, ...(await criteriaNotes(store, grid, flags, `the customers as of ${cut.slice(0, 10)}`))];
    const rfm = quoteIdentifier(run.tables.get('rfm') as string);
    await createObjectiveLabels(store, grid.definition.objective, cut, days, `(SELECT customer_id FROM ${rfm} WHERE frequency >= 1)`, labels);
    const cols = grid.columns;
    const learnedSql = counterpart
      ? `, ${counterpart.complement ? '1 - ' : ''}coalesce(l.${quoteIdentifier(counterpart.column)}, 'NaN'::DOUBLE) AS learned`
      : '';
    const learnedJoin = counterpart ? `LEFT JOIN ${quoteIdentifier(run.tables.get('learned') as string)} l ON l.customer_id = y.customer_id` : '';
    const { numbers, texts } = await store.readColumns(
      `SELECT y.customer_id, y.y, s.${quoteIdentifier(cols.points)}::DOUBLE AS points, s.${quoteIdentifier(cols.score)}${grid.scale.kind === 'linear' ? '::DOUBLE' : ''} AS score,
         r.recency_days::DOUBLE AS recency_days, ${grid.criteria.map((c) => `f.${flagColumn(c.number)}::DOUBLE AS ${flagColumn(c.number)}`).join(', ')}${learnedSql}
       FROM ${quoteIdentifier(labels)} y JOIN ${quoteIdentifier(scores)} s USING (customer_id) JOIN ${quoteIdentifier(flags)} f USING (customer_id)
         JOIN ${rfm} r USING (customer_id) ${learnedJoin}
       ORDER BY y.customer_id`,
    );
    const ids = texts['customer_id'] ?? [];
    const n = ids.length;
    let score: Float64Array;
    if (grid.scale.kind === 'linear') score = numbers['score'] ?? new Float64Array(n);
    else {
      const grades = grid.scale.grades;
      const text = texts['score'] ?? [];
      score = Float64Array.from(text, (g) => grades.length - grades.indexOf(g));
    }
    return {
      ids,
      score,
      points: numbers['points'] ?? new Float64Array(n),
      flags: grid.criteria.map((c) => numbers[flagColumn(c.number)] ?? new Float64Array(n)),
      recencyDays: numbers['recency_days'] ?? new Float64Array(n),
      y: numbers['y'] ?? new Float64Array(n),
      learned: counterpart ? { name: counterpart.name, values: numbers['learned'] ?? new Float64Array(n).fill(Number.NaN) } : null,
      days,
      notes,
    };
  } finally {
    await store.run(`DROP VIEW IF EXISTS ${quoteIdentifier(input)}`);
    // Shared results stay for the next grid at the same cut (the caller's rollback drops them).
    for (const t of [flags, scores, labels, ...(options.shared ? [] : run.tables.values())]) await store.run(`DROP TABLE IF EXISTS ${quoteIdentifier(t)}`);
  }
}

/** The rows of `a` and `b` where `keep` is finite (for a baseline missing for some customers). */
function finiteRows(keep: Float64Array, ...columns: Float64Array[]): Float64Array[] {
  const rows: number[] = [];
  for (let i = 0; i < keep.length; i++) if (Number.isFinite(keep[i] as number)) rows.push(i);
  return [keep, ...columns].map((c) => Float64Array.from(rows, (i) => c[i] as number));
}

/** What a grid's check found: the numbers behind the section and the verdict. */
export interface GridCheck {
  readonly customers: number;
  readonly positives: number;
  readonly days: number;
  readonly auc: number | null;
  readonly lift: number | null;
  readonly recencyAuc: number | null;
  readonly recencyLift: number | null;
  readonly learnedName: string | null;
  /** On the customers the learned score covers: the learned score's AUC and lift, and the grid's there. */
  readonly learnedAuc: number | null;
  readonly learnedLift: number | null;
  readonly gridAucOnLearned: number | null;
  readonly gridLiftOnLearned: number | null;
  readonly verdict: string;
  readonly notes: readonly string[];
}

/**
 * Whether the grid is worth keeping, in plain words: not when its objective cannot be checked (no positive or no negative
 * case), nor when it ranks hardly better than chance (ROC AUC below 0.55) or worse than recency alone; worth keeping
 * otherwise, saying when the learned score ranks clearly better (by more than 0.02).
 */
export function gridVerdict(c: Omit<GridCheck, 'verdict' | 'notes'>, name: string, objective: string): string {
  const f = (x: number | null): string => formatNumber(x);
  if (c.customers === 0) return `Cannot be checked: no customer bought before the cut.`;
  if (c.positives === 0) return `Cannot be checked: none of the ${formatCount(c.customers)} customers reached the objective (${objective}) after the cut, so no ranking can be judged (no ROC AUC, no lift).`;
  if (c.positives === c.customers) return `Cannot be checked: every one of the ${formatCount(c.customers)} customers reached the objective (${objective}) after the cut.`;
  const auc = c.auc as number;
  const recency = c.recencyAuc === null ? '' : ` (days since the last purchase alone: ${f(c.recencyAuc)})`;
  if (auc < 0.55) return `Not worth keeping as it is: it ranks the customers who reached its objective (${objective}) hardly above the others, little better than chance (ROC AUC ${f(auc)}${recency}). Try kairos suggest-weights ${name}, or other criteria.`;
  if (c.recencyAuc !== null && auc < c.recencyAuc) return `Not worth keeping as it is: the days since the last purchase alone rank better (ROC AUC ${f(c.recencyAuc)} against ${f(auc)} for the grid). Try kairos suggest-weights ${name}.`;
  const vsRecency = c.recencyAuc === null ? `ROC AUC ${f(auc)}` : `ROC AUC ${f(auc)} against ${f(c.recencyAuc)} for recency`;
  if (c.learnedAuc !== null && c.gridAucOnLearned !== null && c.learnedAuc > c.gridAucOnLearned + 0.02) {
    return `Worth keeping as a rule the team can read (it beats recency: ${vsRecency}), but ${c.learnedName ?? 'the learned score'} ranks better (${f(c.learnedAuc)} against ${f(c.gridAucOnLearned)}): select on it where precision matters.`;
  }
  const learned = c.learnedAuc !== null && c.gridAucOnLearned !== null ? `, and about as well as ${c.learnedName ?? 'the learned score'} or better (${f(c.gridAucOnLearned)} against ${f(c.learnedAuc)})` : '';
  return `Worth keeping: it ranks the customers who reach its objective better than recency (${vsRecency})${learned}.`;
}

/** Grades a grid's data at the cut (pure: the numbers, the verdict). */
export function checkGrid(data: GridCutData, name: string, objective: string): GridCheck {
  const { y, score } = data;
  const positives = y.reduce((s, v) => s + v, 0);
  const churn = objective.startsWith('no purchase');
  // More recent = more likely to buy (and less likely to churn).
  const recency = Float64Array.from(data.recencyDays, (d) => (churn ? d : -d));
  let learned: { auc: number | null; lift: number | null; grid: number | null; gridLift: number | null } = { auc: null, lift: null, grid: null, gridLift: null };
  if (data.learned !== null) {
    const [l, yy, ss] = finiteRows(data.learned.values, y, score) as [Float64Array, Float64Array, Float64Array];
    learned = { auc: rocAuc(yy, l), lift: liftAtFraction(yy, l, 0.1), grid: rocAuc(yy, ss), gridLift: liftAtFraction(yy, ss, 0.1) };
  }
  const base = {
    customers: y.length,
    positives,
    days: data.days,
    auc: rocAuc(y, score),
    lift: liftAtFraction(y, score, 0.1),
    recencyAuc: rocAuc(y, recency),
    recencyLift: liftAtFraction(y, recency, 0.1),
    learnedName: data.learned?.name ?? null,
    learnedAuc: learned.auc,
    learnedLift: learned.lift,
    gridAucOnLearned: learned.grid,
    gridLiftOnLearned: learned.gridLift,
  };
  return { ...base, verdict: gridVerdict(base, name, objective), notes: data.notes };
}

/**
 * The scorers run at an evaluation's cut, by split (one object per `kairos evaluate`): the custom scores of one evaluation
 * share them (the learned models are trained once at the cut for all of them), in temp tables its rollback drops.
 */
const SHARED = new WeakMap<object, Map<string, string>>();

/**
 * The custom score's part of `kairos evaluate`: the grid at the split's cut, graded on the customers who bought before
 * it by its objective over the first min(withinDays, holdout) days of the holdout: ROC AUC (headline) and lift at 10%
 * against recency and against the learned score for the same objective where there is one, with a verdict in words.
 */
export async function backtestGrid(ctx: BacktestContext, grid: Grid, registry: ScoreRegistry): Promise<BacktestResult> {
  const d = grid.definition;
  const days = Math.min(d.objective.withinDays, Math.floor(ctx.split.holdoutDays));
  const objective = objectiveText(d.objective, days);
  let shared = SHARED.get(ctx.split);
  if (shared === undefined) SHARED.set(ctx.split, (shared = new Map()));
  const data = await gridAtCut(ctx.store, ctx.config, grid, registry, ctx.split.cut, days, { learned: true, progress: ctx.progress, shared });
  const c = checkGrid(data, d.name, objective);
  const shortened = days < d.objective.withinDays ? [`${d.name}: the objective's ${d.objective.withinDays} days are longer than the ${Math.floor(ctx.split.holdoutDays)}-day holdout: checked over ${days} days`] : [];
  const recencyName = 'days since the last purchase (recency)';
  const metrics: MetricRow[] = [
    row('ROC AUC', c.auc, c.recencyAuc, recencyName, 'higher'),
    row('Lift at 10%', c.lift, c.recencyLift, recencyName, 'higher'),
    row('PR AUC (average precision)', data.y.length ? prAuc(data.y, data.score) : null, data.y.length ? prAuc(data.y, Float64Array.from(data.recencyDays, (x) => (d.objective.event === 'churn' ? x : -x))) : null, recencyName, 'higher'),
  ];
  if (c.learnedName !== null) {
    metrics.push(row('ROC AUC', c.gridAucOnLearned, c.learnedAuc, c.learnedName, 'higher'), row('Lift at 10%', c.gridLiftOnLearned, c.learnedLift, c.learnedName, 'higher'));
  }
  const curve = data.y.length ? rocCurve(data.y, data.score) : null;
  const section: ScoreSection = {
    ...gradedSection({
      name: `Custom score ${d.name}`,
      kind: 'probability',
      description:
        `${d.description ?? d.name}: a grid of ${grid.criteria.length} criteria defined in kairos.config.json, checked against its own objective, ${objective}, ` +
        `on the ${formatCount(c.customers)} customers who bought before the cut (${formatPercent(c.customers ? c.positives / c.customers : null)} reached it). ` +
        `The grid is computed at the cut as kairos score --as-of would; a score ranks, so it is graded on its ranking (ROC AUC), not as a probability.`,
      model: 'custom grid',
      parameters: grid.criteria.map((k) => ({ name: `${k.label} (points)`, value: k.points, standardError: null })),
      metrics,
      charts: curve ? [{ kind: 'roc', title: `ROC curve of ${d.name} for ${objective}`, points: thinRoc(curve), auc: c.auc }] : [],
    }),
    notes: [c.verdict, ...shortened, ...c.notes.filter((n) => n.startsWith(`${d.name}:`))],
  };
  const f = (x: number | null): string => formatNumber(x);
  const summary = [
    `custom score ${d.name} (${objective}; ${formatCount(c.customers)} customers, ${formatPercent(c.customers ? c.positives / c.customers : null)} reached it): ROC AUC ${f(c.auc)}, lift at 10% ${f(c.lift)}; recency ${f(c.recencyAuc)}, ${f(c.recencyLift)}` +
      (c.learnedName !== null ? `; ${c.learnedName} ${f(c.learnedAuc)}, ${f(c.learnedLift)}` : ''),
    `  ${c.verdict}`,
    ...shortened.map((s) => `  note: ${s}`),
  ];
  return { sections: [section], summary, details: c };
}
