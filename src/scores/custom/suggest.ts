// Suggested weights for a custom score: its objective fitted on its criteria (0/1) at a cut, proposed as whole points, checked on held-out customers.
import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { rocAuc } from '../../backtest/metrics.js';
import { withRollback } from '../../backtest/split.js';
import { CONFIG_FILE, loadConfig, type KairosConfig } from '../../config.js';
import { KairosError } from '../../errors.js';
import { createAsOfViews, defaultAsOf, parseAsOf } from '../../features/as-of.js';
import { predictGbdtMargin, trainGbdt } from '../../ml/gbdt.js';
import { fitLogistic } from '../../ml/logistic.js';
import type { FeatureMatrix } from '../../ml/matrix.js';
import type { Store } from '../../store/db.js';
import { formatCount } from '../../util/format.js';
import type { ScoreRegistry } from '../registry.js';
import { gridAtCut } from './backtest.js';
import { customScoreNamed } from './index.js';
import { objectiveText } from './objective.js';

export const LEARNERS = ['logistic', 'gbdt'] as const;
export type WeightLearner = (typeof LEARNERS)[number];

/** The L2 penalty of the logistic regression (on the summed log-likelihood): a few criteria, thousands of customers. */
export const SUGGEST_L2 = 1;
/** One customer in this many is held out (by a hash of the id: the same customers at every call). */
export const HOLDOUT_EVERY = 3;

export interface WeightSuggestion {
  readonly name: string;
  readonly objective: string;
  /** The cut: criteria as of it, outcome over the objective's window after it ('YYYY-MM-DD'). */
  readonly cut: string;
  readonly learner: WeightLearner;
  readonly learnerDetail: string;
  readonly customers: { readonly fitted: number; readonly heldOut: number };
  readonly positives: { readonly fitted: number; readonly heldOut: number };
  readonly criteria: readonly {
    readonly number: number;
    readonly label: string;
    readonly when: string;
    readonly points: number;
    /** The fitted effect in log-odds of meeting the criterion. */
    readonly weight: number;
    readonly proposed: number;
  }[];
  /** ROC AUC of the points on the held-out customers: with the team's points, with the proposed ones. */
  readonly holdoutAuc: { readonly before: number | null; readonly after: number | null };
  readonly notes: readonly string[];
}

/** 32-bit FNV-1a of a text: which customers are held out, the same at every call. */
function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/**
 * Whole points proportional to the fitted weights that keep the team's scale of points: the positive points add up to
 * the team's positive total (largest remainders), negative weights give negative points (rounded). With no positive
 * weight, the points' absolute values add up to the team's. Returns the team's points when the weights are all 0.
 */
export function proposePoints(weights: readonly number[], current: readonly number[]): number[] {
  const sumPos = (xs: readonly number[]): number => xs.reduce((s, x) => s + Math.max(x, 0), 0);
  const sumAbs = (xs: readonly number[]): number => xs.reduce((s, x) => s + Math.abs(x), 0);
  const wPos = sumPos(weights);
  const wAbs = sumAbs(weights);
  if (!(wAbs > 0)) return [...current];
  const target = sumPos(current) > 0 && wPos > 0 ? sumPos(current) : sumAbs(current);
  const s = target / (wPos > 0 ? wPos : wAbs);
  const raw = weights.map((w) => w * s);
  const out = raw.map((r) => (r < 0 ? -Math.round(-r) : Math.floor(r)));
  if (wPos > 0) {
    // Largest remainders: the positive points add up to the target exactly.
    let left = target - out.reduce((acc, x, i) => acc + ((raw[i] as number) > 0 ? x : 0), 0);
    const order = raw.map((r, i) => ({ i, rest: r > 0 ? r - Math.floor(r) : -1 })).filter((x) => x.rest >= 0).sort((a, b) => b.rest - a.rest || a.i - b.i);
    for (const { i } of order) {
      if (left <= 0) break;
      out[i] = (out[i] as number) + 1;
      left--;
    }
  }
  return out.every((x) => x === 0) ? [...current] : out;
}

/** Points of each row for per-criterion points. */
function pointsOf(flags: readonly Float64Array[], points: readonly number[], rows: readonly number[]): Float64Array {
  return Float64Array.from(rows, (i) => flags.reduce((s, f, k) => s + (f[i] as number) * (points[k] as number), 0));
}

/**
 * Fits the objective of the custom score `name` on its criteria and proposes whole points: the grid's dependencies
 * are computed as of the cut (default: the objective's window before the end of the data; `calibrationEnd` its last
 * day), the outcome read over the window after it, on the customers who bought before the cut. Two customers in three
 * (by a hash of the id) fit, the third is held out: its ROC AUC with the team's points and with the proposed ones.
 * Learners: an L2-regularised logistic regression on the criteria as 0/1 features (the coefficients are the weights),
 * or boosted stumps (depth-1 trees: an additive model whose effect of each criterion is exact) with `gbdt`. The
 * store is not changed.
 */
export async function suggestWeights(
  store: Store,
  config: KairosConfig,
  registry: ScoreRegistry,
  name: string,
  options: { learner?: WeightLearner; calibrationEnd?: string; progress?: (message: string) => void } = {},
): Promise<WeightSuggestion> {
  const { grid } = customScoreNamed(config, registry, name);
  const learner = options.learner ?? 'logistic';
  if (!LEARNERS.includes(learner)) throw new KairosError('USAGE', `invalid learner "${String(learner)}" (expected one of ${LEARNERS.join(', ')})`);
  const o = grid.definition.objective;
  const dataEnd = await defaultAsOf(store);
  const cut =
    options.calibrationEnd !== undefined
      ? parseAsOf(new Date(Date.parse(`${parseAsOf(options.calibrationEnd).slice(0, 10)}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10))
      : parseAsOf(new Date(Date.parse(`${dataEnd.replace(' ', 'T')}Z`) - o.withinDays * 86_400_000).toISOString().slice(0, 19));
  const restDays = (Date.parse(`${dataEnd.replace(' ', 'T')}Z`) - Date.parse(`${cut.replace(' ', 'T')}Z`)) / 86_400_000;
  if (restDays < o.withinDays) {
    throw new KairosError('USAGE', `the objective's ${o.withinDays} days after ${cut.slice(0, 10)} run past the end of the data (${dataEnd.slice(0, 10)})`, {
      hint: `choose a --calibration-end at least ${o.withinDays} days before the end of the data`,
    });
  }
  const objective = objectiveText(o);
  const data = await withRollback(store, async () => {
    await createAsOfViews(store, cut);
    return gridAtCut(store, config, grid, registry, cut, o.withinDays, { learned: false, progress: options.progress ?? (() => {}) });
  });
  const n = data.ids.length;
  const fitRows: number[] = [];
  const heldRows: number[] = [];
  data.ids.forEach((id, i) => (fnv1a(id) % HOLDOUT_EVERY === 0 ? heldRows : fitRows).push(i));
  const positives = (rows: number[]): number => rows.reduce((s, i) => s + (data.y[i] as number), 0);
  const [pFit, pHeld] = [positives(fitRows), positives(heldRows)];
  if (n === 0) throw new KairosError('INSUFFICIENT_DATA', `${name}: no customer bought before ${cut.slice(0, 10)}: nothing to fit`, { hint: 'choose a later --calibration-end' });
  if (pFit === 0 || pFit === fitRows.length) {
    throw new KairosError('INSUFFICIENT_DATA', `${name}: ${pFit === 0 ? 'none' : 'every one'} of the ${formatCount(fitRows.length)} customers fitted reached the objective (${objective}) after ${cut.slice(0, 10)}: there is nothing to tell apart, so no weights can be fitted`, {
      hint: pFit === 0 ? 'check the objective (an event type that never occurs?) or choose another --calibration-end' : 'choose a narrower objective or another --calibration-end',
    });
  }
  const names = grid.criteria.map((c) => `c${c.number}`);
  const matrixOf = (rows: number[]): FeatureMatrix => ({ names, columns: data.flags.map((f) => Float64Array.from(rows, (i) => f[i] as number)), rows: rows.length });
  const yFit = Float64Array.from(fitRows, (i) => data.y[i] as number);
  let weights: number[];
  let learnerDetail: string;
  if (learner === 'logistic') {
    const fit = fitLogistic(matrixOf(fitRows), yFit, { l2: SUGGEST_L2 });
    weights = Array.from(fit.coefficients);
    learnerDetail = `L2-regularised logistic regression (penalty ${SUGGEST_L2}): ${fit.diagnostics.message}`;
  } else {
    // Depth-1 trees are additive: f(x) = f(0) + Σ effect_k x_k, so each criterion's effect is f(e_k) − f(0), exactly.
    const fit = await trainGbdt(matrixOf(fitRows), yFit, { objective: 'logistic', maxDepth: 1, learningRate: 0.1, rounds: 300, earlyStoppingRounds: 0, lambda: 1, threads: 1, seed: 42 });
    const k = names.length;
    const probe: FeatureMatrix = { names, columns: names.map((_, j) => Float64Array.from({ length: k + 1 }, (_, r) => (r === j + 1 ? 1 : 0))), rows: k + 1 };
    const margin = predictGbdtMargin(fit.model, probe);
    weights = names.map((_, j) => (margin[j + 1] as number) - (margin[0] as number));
    learnerDetail = `boosted stumps (depth-1 trees, ${fit.diagnostics.bestRound} rounds, learning rate 0.1): each criterion's effect in log-odds`;
  }
  const current = grid.criteria.map((c) => c.points);
  const proposed = proposePoints(weights, current);
  const yHeld = Float64Array.from(heldRows, (i) => data.y[i] as number);
  const notes = [...data.notes.filter((x) => x.startsWith(`${name}:`))];
  if (pHeld === 0 || pHeld === heldRows.length) notes.push(`the ${formatCount(heldRows.length)} held-out customers all had the same outcome: no held-out ROC AUC`);
  grid.criteria.forEach((c, j) => {
    const w = weights[j] as number;
    if (c.points > 0 && w < 0) notes.push(`criterion ${c.number} (${c.label}) gives points, but customers who meet it reached the objective less often, other criteria equal: proposed ${proposed[j]}`);
    if (proposed[j] === 0 && c.points !== 0) notes.push(`criterion ${c.number} (${c.label}) adds nothing once the others are known: proposed 0 points (drop it?)`);
  });
  const holdoutAuc = { before: rocAuc(yHeld, pointsOf(data.flags, current, heldRows)), after: rocAuc(yHeld, pointsOf(data.flags, proposed, heldRows)) };
  if (holdoutAuc.before !== null && holdoutAuc.after !== null && holdoutAuc.after < holdoutAuc.before) {
    notes.push(`the proposed points rank the held-out customers less well than the team's (${holdoutAuc.after.toFixed(3)} against ${holdoutAuc.before.toFixed(3)}): the fit does not carry over, keep the team's points`);
  }
  return {
    name,
    objective,
    cut: cut.slice(0, 10),
    learner,
    learnerDetail,
    customers: { fitted: fitRows.length, heldOut: heldRows.length },
    positives: { fitted: pFit, heldOut: pHeld },
    criteria: grid.criteria.map((c, j) => ({ number: c.number, label: c.label, when: c.when, points: c.points, weight: weights[j] as number, proposed: proposed[j] as number })),
    holdoutAuc,
    notes,
  };
}

/**
 * Writes the proposed points into the configuration file (`path`, default ./kairos.config.json), after copying it to
 * `<file>.<timestamp>.bak` beside it; the rest of the file is kept (rewritten with 2-space indentation). The new file
 * is loaded again to check it; returns the backup's path.
 */
export function writeSuggestedPoints(path: string | undefined, suggestion: WeightSuggestion, now = new Date()): { file: string; backup: string } {
  const file = resolve(path ?? CONFIG_FILE);
  if (!existsSync(file)) throw new KairosError('NOT_FOUND', `config file ${file} not found: the custom scores come from one`, { hint: 'give it with --config FILE' });
  const raw = JSON.parse(readFileSync(file, 'utf8')) as { customScores?: { name?: string; criteria?: { points?: number }[] }[] };
  const entry = raw.customScores?.find((d) => d.name === suggestion.name);
  if (entry === undefined || !Array.isArray(entry.criteria) || entry.criteria.length !== suggestion.criteria.length) {
    throw new KairosError('USAGE', `${file} has no custom score ${suggestion.name} with ${suggestion.criteria.length} criteria (it changed since the suggestion?)`);
  }
  suggestion.criteria.forEach((c, j) => {
    (entry.criteria as { points?: number }[])[j] = { ...(entry.criteria as object[])[j], points: c.proposed };
  });
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  const backup = join(dirname(file), `${basename(file)}.${stamp}.bak`);
  copyFileSync(file, backup);
  writeFileSync(file, `${JSON.stringify(raw, null, 2)}\n`);
  loadConfig(file);
  return { file, backup };
}
