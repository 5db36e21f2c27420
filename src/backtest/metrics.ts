// Backtest metrics: pure functions comparing what a model predicted with what customers did in the holdout.
//
// Conventions, the same for every function here:
// - Arguments come in the order (actual, predicted): what happened first, then the model's number for it.
// - A metric whose definition is undefined on the data given (no customers, one class only, zero
//   variance, zero total value, no user with a relevant item) returns `null`, never NaN; a report shows it as "n/a".
// - Malformed arguments (lengths that differ, NaN or infinite values, a label that is not 0/1, a
//   probability outside [0, 1], a fraction outside (0, 1], k < 1) are bugs in the caller: they throw
//   KairosError 'INTERNAL' naming the argument.
// - "Top fraction f by score" means the first f·n positions after sorting by score, descending. A
//   group of tied scores that straddles a cut is shared pro rata (each member counts for the part
//   of the group's positions inside the cut), so results do not depend on the input order and equal
//   what random tie-breaking gives in expectation. The same rule makes deciles exactly n/10 wide.
import { KairosError } from '../errors.js';

/** A numeric column: what every metric takes. */
export type NumArray = Float64Array | readonly number[];

// ---------------------------------------------------------------------------------------------
// Argument checks (contract violations are bugs: INTERNAL)

function fail(message: string, details: Record<string, unknown> = {}): never {
  throw new KairosError('INTERNAL', message, { details });
}

function at(xs: NumArray, i: number): number {
  return xs[i] as number;
}

function checkFinite(name: string, xs: NumArray): void {
  for (let i = 0; i < xs.length; i++) {
    if (!Number.isFinite(at(xs, i))) fail(`${name}[${i}] is ${at(xs, i)}: metrics need finite numbers`, { index: i });
  }
}

function checkPair(fn: string, actual: NumArray, predicted: NumArray): void {
  if (actual.length !== predicted.length) {
    fail(`${fn}: actual has ${actual.length} values but predicted has ${predicted.length}`, {
      actual: actual.length,
      predicted: predicted.length,
    });
  }
  checkFinite(`${fn}: actual`, actual);
  checkFinite(`${fn}: predicted`, predicted);
}

function checkBinary(fn: string, actual: NumArray): void {
  for (let i = 0; i < actual.length; i++) {
    const y = at(actual, i);
    if (y !== 0 && y !== 1) fail(`${fn}: actual[${i}] is ${y}, expected 0 or 1`, { index: i });
  }
}

function checkProbabilities(fn: string, p: NumArray): void {
  for (let i = 0; i < p.length; i++) {
    const v = at(p, i);
    if (!(v >= 0 && v <= 1)) fail(`${fn}: predicted[${i}] is ${v}, expected a probability in [0, 1]`, { index: i });
  }
}

function checkFraction(fn: string, fraction: number): void {
  if (!(fraction > 0 && fraction <= 1)) fail(`${fn}: fraction ${fraction} must be in (0, 1]`);
}

function checkK(fn: string, k: number): void {
  if (!Number.isInteger(k) || k < 1) fail(`${fn}: k ${k} must be an integer >= 1`);
}

function sum(xs: NumArray): number {
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += at(xs, i);
  return s;
}

// ---------------------------------------------------------------------------------------------
// Ranks and tie groups

/** Ranks 1..n in ascending order of `xs`, tied values sharing the average of their ranks. */
export function averageRanks(xs: NumArray): Float64Array {
  const n = xs.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => at(xs, a) - at(xs, b));
  const ranks = new Float64Array(n);
  let start = 0;
  while (start < n) {
    let end = start + 1;
    while (end < n && at(xs, order[end] as number) === at(xs, order[start] as number)) end++;
    const rank = (start + 1 + end) / 2; // mean of ranks start+1 .. end
    for (let j = start; j < end; j++) ranks[order[j] as number] = rank;
    start = end;
  }
  return ranks;
}

/** Customers sorted by score, descending, in runs of equal score; per run, the sum of each value column. */
interface TieGroups {
  readonly n: number;
  /** Position of each run's first member (0-based); the run ends where the next starts, or at n. */
  readonly starts: readonly number[];
  readonly ends: readonly number[];
  /** sums[c][g]: sum of value column c over run g. */
  readonly sums: readonly (readonly number[])[];
}

function tieGroupsDesc(score: NumArray, columns: readonly NumArray[]): TieGroups {
  const n = score.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => at(score, b) - at(score, a));
  const starts: number[] = [];
  const ends: number[] = [];
  const sums: number[][] = columns.map(() => []);
  let start = 0;
  while (start < n) {
    let end = start + 1;
    while (end < n && at(score, order[end] as number) === at(score, order[start] as number)) end++;
    starts.push(start);
    ends.push(end);
    columns.forEach((col, c) => {
      let s = 0;
      for (let j = start; j < end; j++) s += at(col, order[j] as number);
      (sums[c] as number[]).push(s);
    });
    start = end;
  }
  return { n, starts, ends, sums };
}

/** Sum of value column `c` over positions [from, to), tie runs straddling a bound shared pro rata. */
function bandSum(groups: TieGroups, c: number, from: number, to: number): number {
  const col = groups.sums[c] as readonly number[];
  let s = 0;
  for (let g = 0; g < groups.starts.length; g++) {
    const gs = groups.starts[g] as number;
    const ge = groups.ends[g] as number;
    const overlap = Math.min(ge, to) - Math.max(gs, from);
    if (overlap > 0) s += ((col[g] as number) * overlap) / (ge - gs);
  }
  return s;
}

// ---------------------------------------------------------------------------------------------
// Regression

/** Mean absolute error, (1/n) Σ |actual − predicted|. `null` when empty. */
export function mae(actual: NumArray, predicted: NumArray): number | null {
  checkPair('mae', actual, predicted);
  if (actual.length === 0) return null;
  let s = 0;
  for (let i = 0; i < actual.length; i++) s += Math.abs(at(actual, i) - at(predicted, i));
  return s / actual.length;
}

/** Root mean squared error, sqrt((1/n) Σ (actual − predicted)²). `null` when empty. */
export function rmse(actual: NumArray, predicted: NumArray): number | null {
  checkPair('rmse', actual, predicted);
  if (actual.length === 0) return null;
  let s = 0;
  for (let i = 0; i < actual.length; i++) s += (at(actual, i) - at(predicted, i)) ** 2;
  return Math.sqrt(s / actual.length);
}

function correlation(x: NumArray, y: NumArray): number | null {
  const n = x.length;
  if (n < 2) return null;
  const mx = sum(x) / n;
  const my = sum(y) / n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    const dx = at(x, i) - mx;
    const dy = at(y, i) - my;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  if (sxx === 0 || syy === 0) return null;
  return Math.max(-1, Math.min(1, sxy / Math.sqrt(sxx * syy)));
}

/**
 * Pearson correlation, Σ(x−x̄)(y−ȳ) / sqrt(Σ(x−x̄)² Σ(y−ȳ)²), clamped to [−1, 1].
 * `null` with fewer than 2 customers or when either column is constant.
 */
export function pearson(actual: NumArray, predicted: NumArray): number | null {
  checkPair('pearson', actual, predicted);
  return correlation(actual, predicted);
}

/**
 * Spearman rank correlation: Pearson correlation of the average ranks (ties share the mean of
 * their ranks). `null` with fewer than 2 customers or when either column is constant.
 */
export function spearman(actual: NumArray, predicted: NumArray): number | null {
  checkPair('spearman', actual, predicted);
  return correlation(averageRanks(actual), averageRanks(predicted));
}

// ---------------------------------------------------------------------------------------------
// Probabilities (actual is 0/1)

/**
 * Area under the ROC curve by the Mann–Whitney statistic: the probability that a random positive
 * scores above a random negative, ties counting 1/2. AUC = (Σ rank(positives) − n₁(n₁+1)/2) / (n₁ n₀)
 * with average ranks. `null` when the holdout has only one class.
 */
export function rocAuc(actual: NumArray, score: NumArray): number | null {
  checkPair('rocAuc', actual, score);
  checkBinary('rocAuc', actual);
  const n1 = sum(actual);
  const n0 = actual.length - n1;
  if (n1 === 0 || n0 === 0) return null;
  const ranks = averageRanks(score);
  let rankSum = 0;
  for (let i = 0; i < actual.length; i++) if (at(actual, i) === 1) rankSum += at(ranks, i);
  return (rankSum - (n1 * (n1 + 1)) / 2) / (n1 * n0);
}

/** One point of a ROC curve: false-positive rate and true-positive rate at a threshold. */
export interface RocPoint {
  fpr: number;
  tpr: number;
}

/**
 * ROC curve: (FPR, TPR) after admitting each run of tied scores, from (0, 0) to (1, 1), highest
 * score first. The trapezoid area under it equals `rocAuc`. `null` when only one class.
 */
export function rocCurve(actual: NumArray, score: NumArray): RocPoint[] | null {
  checkPair('rocCurve', actual, score);
  checkBinary('rocCurve', actual);
  const p = sum(actual);
  const negatives = actual.length - p;
  if (p === 0 || negatives === 0) return null;
  const groups = tieGroupsDesc(score, [actual]);
  const pos = groups.sums[0] as readonly number[];
  const points: RocPoint[] = [{ fpr: 0, tpr: 0 }];
  let tp = 0;
  let fp = 0;
  for (let g = 0; g < groups.starts.length; g++) {
    const size = (groups.ends[g] as number) - (groups.starts[g] as number);
    tp += pos[g] as number;
    fp += size - (pos[g] as number);
    points.push({ fpr: fp / negatives, tpr: tp / p });
  }
  return points;
}

/**
 * Area under the precision–recall curve as average precision, step-wise (no interpolation, the
 * definition scikit-learn's `average_precision_score` uses): AP = Σₜ (Rₜ − Rₜ₋₁) Pₜ over the
 * distinct score thresholds t, highest first, a run of tied scores entering together.
 * `null` when the holdout has no positive.
 */
export function prAuc(actual: NumArray, score: NumArray): number | null {
  checkPair('prAuc', actual, score);
  checkBinary('prAuc', actual);
  const p = sum(actual);
  if (p === 0) return null;
  const groups = tieGroupsDesc(score, [actual]);
  const pos = groups.sums[0] as readonly number[];
  let tp = 0;
  let ap = 0;
  for (let g = 0; g < groups.starts.length; g++) {
    const positives = pos[g] as number;
    if (positives === 0) continue; // recall does not move: the step adds nothing
    tp += positives;
    const admitted = groups.ends[g] as number;
    ap += (positives / p) * (tp / admitted);
  }
  return ap;
}

/** Brier score, (1/n) Σ (p − y)², for probabilities p and outcomes y in {0, 1}. `null` when empty. */
export function brierScore(actual: NumArray, probability: NumArray): number | null {
  checkPair('brierScore', actual, probability);
  checkBinary('brierScore', actual);
  checkProbabilities('brierScore', probability);
  if (actual.length === 0) return null;
  let s = 0;
  for (let i = 0; i < actual.length; i++) s += (at(probability, i) - at(actual, i)) ** 2;
  return s / actual.length;
}

/** One bin of a reliability (calibration) diagram. */
export interface ReliabilityBin {
  /** Bin bounds on the predicted probability: [lower, upper), the last bin closed at 1. */
  lower: number;
  upper: number;
  count: number;
  /** Mean predicted probability in the bin; `null` when the bin is empty. */
  meanPredicted: number | null;
  /** Share of the bin's customers for whom the event happened; `null` when empty. */
  observedRate: number | null;
}

/**
 * Reliability diagram data: `bins` equal-width bins of the predicted probability p (bin
 * min(⌊p·bins⌋, bins−1)), each with its count, mean predicted probability and observed rate.
 * Every bin is returned, empty ones with `null` means, so charts keep a fixed axis.
 */
export function reliabilityBins(actual: NumArray, probability: NumArray, bins = 10): ReliabilityBin[] {
  checkPair('reliabilityBins', actual, probability);
  checkBinary('reliabilityBins', actual);
  checkProbabilities('reliabilityBins', probability);
  checkK('reliabilityBins: bins', bins);
  const count = new Array<number>(bins).fill(0);
  const sumP = new Array<number>(bins).fill(0);
  const sumY = new Array<number>(bins).fill(0);
  for (let i = 0; i < actual.length; i++) {
    const p = at(probability, i);
    const b = Math.min(Math.floor(p * bins), bins - 1);
    count[b] = (count[b] as number) + 1;
    sumP[b] = (sumP[b] as number) + p;
    sumY[b] = (sumY[b] as number) + at(actual, i);
  }
  return count.map((c, b) => ({
    lower: b / bins,
    upper: (b + 1) / bins,
    count: c,
    meanPredicted: c === 0 ? null : (sumP[b] as number) / c,
    observedRate: c === 0 ? null : (sumY[b] as number) / c,
  }));
}

/**
 * Lift at a fraction: the event rate among the top `fraction` of customers by score divided by the
 * overall event rate (1 = no better than random). Ties at the cut are shared pro rata.
 * `null` when empty or when no customer had the event.
 */
export function liftAtFraction(actual: NumArray, score: NumArray, fraction = 0.1): number | null {
  checkPair('liftAtFraction', actual, score);
  checkBinary('liftAtFraction', actual);
  checkFraction('liftAtFraction', fraction);
  const n = actual.length;
  const positives = sum(actual);
  if (n === 0 || positives === 0) return null;
  const top = fraction * n;
  const topPositives = bandSum(tieGroupsDesc(score, [actual]), 0, 0, top);
  return topPositives / top / (positives / n);
}

// ---------------------------------------------------------------------------------------------
// Value (actual is holdout value, e.g. revenue)

/** ∫₀¹ (L(x) − x) dx for the Lorenz-type curve L of value captured, customers in the given run order. */
function giniArea(groups: TieGroups, total: number): number {
  const col = groups.sums[0] as readonly number[];
  let area = 0;
  let cum = 0;
  for (let g = 0; g < groups.starts.length; g++) {
    const width = ((groups.ends[g] as number) - (groups.starts[g] as number)) / groups.n;
    const before = cum / total;
    cum += col[g] as number;
    area += ((before + cum / total) / 2) * width; // trapezoid: L is linear through a tie run
  }
  return area - 0.5;
}

/**
 * Normalised Gini: Gini(actual ordered by predicted) / Gini(actual ordered by itself), where
 * Gini(order) = ∫₀¹ (L(x) − x) dx and L(x) is the share of total actual value held by the top x
 * of customers in that order (the Kaggle "normalized Gini"; tied predictions share pro rata, so L
 * is linear through them). 1 = perfect ordering, 0 = random, negative = worse than random.
 * `null` with fewer than 2 customers, a total value <= 0, or all actual values equal.
 */
export function normalisedGini(actual: NumArray, predicted: NumArray): number | null {
  checkPair('normalisedGini', actual, predicted);
  const total = sum(actual);
  if (actual.length < 2 || !(total > 0)) return null;
  const perfect = giniArea(tieGroupsDesc(actual, [actual]), total);
  if (perfect <= 0) return null;
  return giniArea(tieGroupsDesc(predicted, [actual]), total) / perfect;
}

/**
 * Share of the total holdout value held by the top `fraction` of customers by prediction (e.g. 0.1
 * and 0.2). Ties at the cut are shared pro rata. `null` when empty or the total value is <= 0.
 */
export function topShareCaptured(actual: NumArray, predicted: NumArray, fraction = 0.1): number | null {
  checkPair('topShareCaptured', actual, predicted);
  checkFraction('topShareCaptured', fraction);
  const total = sum(actual);
  if (actual.length === 0 || !(total > 0)) return null;
  return bandSum(tieGroupsDesc(predicted, [actual]), 0, 0, fraction * actual.length) / total;
}

/** One decile (or other quantile group) of customers ranked by prediction. */
export interface DecileLiftRow {
  /** 1 = the customers with the highest predictions. */
  decile: number;
  /** Customers in the group: n / groups, fractional when n is not a multiple. */
  count: number;
  meanPredicted: number;
  meanActual: number;
  /** Share of the total actual value in this group; `null` when the total is <= 0. */
  shareOfActual: number | null;
}

/**
 * Decile lift table: customers sorted by prediction, descending, cut into `groups` groups of exactly
 * n/groups customers (a customer or tie run straddling a cut is shared pro rata); per group the mean
 * prediction, the mean actual value and the share of the total actual value. `null` when empty.
 */
export function decileLift(actual: NumArray, predicted: NumArray, groups = 10): DecileLiftRow[] | null {
  checkPair('decileLift', actual, predicted);
  checkK('decileLift: groups', groups);
  const n = actual.length;
  if (n === 0) return null;
  const total = sum(actual);
  const runs = tieGroupsDesc(predicted, [actual, predicted]);
  const width = n / groups;
  return Array.from({ length: groups }, (_, d) => {
    const from = d * width;
    const to = d === groups - 1 ? n : (d + 1) * width;
    const a = bandSum(runs, 0, from, to);
    return {
      decile: d + 1,
      count: to - from,
      meanPredicted: bandSum(runs, 1, from, to) / (to - from),
      meanActual: a / (to - from),
      shareOfActual: total > 0 ? a / total : null,
    };
  });
}

// ---------------------------------------------------------------------------------------------
// Ranked lists (recommendations)

type Id = string | number;

function checkLists(fn: string, recommended: readonly (readonly Id[])[], relevant: readonly ReadonlySet<Id>[], k: number): void {
  if (recommended.length !== relevant.length) {
    fail(`${fn}: ${recommended.length} recommendation lists but ${relevant.length} relevant sets`);
  }
  checkK(fn, k);
}

/** Distinct relevant ids among the first k recommended (a repeated id counts once). */
function hitsAtK(list: readonly Id[], relevant: ReadonlySet<Id>, k: number): number {
  const seen = new Set<Id>();
  for (const id of list.slice(0, k)) if (relevant.has(id)) seen.add(id);
  return seen.size;
}

/** Mean of f over users with at least one relevant id; `null` when there is none. */
function meanOverUsers(
  recommended: readonly (readonly Id[])[],
  relevant: readonly ReadonlySet<Id>[],
  f: (list: readonly Id[], rel: ReadonlySet<Id>) => number,
): number | null {
  let s = 0;
  let users = 0;
  recommended.forEach((list, u) => {
    const rel = relevant[u] as ReadonlySet<Id>;
    if (rel.size === 0) return;
    s += f(list, rel);
    users++;
  });
  return users === 0 ? null : s / users;
}

/**
 * Precision@k: mean over users of |top-k ∩ relevant| / k (a list shorter than k still divides by k).
 * Like every ranked-list metric here, it averages over users with at least one relevant id in the
 * holdout and is `null` when there is none.
 */
export function precisionAtK<T extends Id>(recommended: readonly (readonly T[])[], relevant: readonly ReadonlySet<T>[], k: number): number | null {
  checkLists('precisionAtK', recommended, relevant, k);
  return meanOverUsers(recommended, relevant, (list, rel) => hitsAtK(list, rel, k) / k);
}

/** Recall@k: mean over users (with a relevant id) of |top-k ∩ relevant| / |relevant|. */
export function recallAtK<T extends Id>(recommended: readonly (readonly T[])[], relevant: readonly ReadonlySet<T>[], k: number): number | null {
  checkLists('recallAtK', recommended, relevant, k);
  return meanOverUsers(recommended, relevant, (list, rel) => hitsAtK(list, rel, k) / rel.size);
}

/**
 * NDCG@k with binary relevance and log2 discount: DCG = Σᵢ₌₁ᵏ relᵢ / log₂(i + 1), divided by the
 * ideal DCG = Σᵢ₌₁^min(k, |relevant|) 1 / log₂(i + 1); mean over users with a relevant id.
 * A repeated id earns its gain once, at its first position.
 */
export function ndcgAtK<T extends Id>(recommended: readonly (readonly T[])[], relevant: readonly ReadonlySet<T>[], k: number): number | null {
  checkLists('ndcgAtK', recommended, relevant, k);
  return meanOverUsers(recommended, relevant, (list, rel) => {
    const seen = new Set<Id>();
    let dcg = 0;
    list.slice(0, k).forEach((id, i) => {
      if (rel.has(id) && !seen.has(id)) dcg += 1 / Math.log2(i + 2);
      seen.add(id);
    });
    let ideal = 0;
    for (let i = 0; i < Math.min(k, rel.size); i++) ideal += 1 / Math.log2(i + 2);
    return dcg / ideal;
  });
}

/** Hit rate@k: share of users (with a relevant id) with at least one relevant id in their top k. */
export function hitRateAtK<T extends Id>(recommended: readonly (readonly T[])[], relevant: readonly ReadonlySet<T>[], k: number): number | null {
  checkLists('hitRateAtK', recommended, relevant, k);
  return meanOverUsers(recommended, relevant, (list, rel) => (hitsAtK(list, rel, k) > 0 ? 1 : 0));
}

/**
 * Catalogue coverage@k: distinct catalogue ids appearing in any user's top k, divided by the
 * catalogue size (ids outside the catalogue are ignored). `null` for an empty catalogue.
 */
export function catalogueCoverage<T extends Id>(recommended: readonly (readonly T[])[], catalogue: ReadonlySet<T>, k: number): number | null {
  checkK('catalogueCoverage', k);
  if (catalogue.size === 0) return null;
  const shown = new Set<T>();
  for (const list of recommended) for (const id of list.slice(0, k)) if (catalogue.has(id)) shown.add(id);
  return shown.size / catalogue.size;
}

// ---------------------------------------------------------------------------------------------
// Purchase-count charts

/** Cumulative and per-period purchases, actual and predicted, over the same periods. */
export interface TrackingSeries {
  actualCumulative: number[];
  predictedCumulative: number[];
  actualPerPeriod: number[];
  predictedPerPeriod: number[];
}

/**
 * Tracking-plot data: from per-period actual purchase counts and the model's cumulative expected
 * purchases at the end of each period (same periods, calibration then holdout), both series
 * cumulative and per period (predicted per period = successive differences).
 */
export function trackingSeries(actualPerPeriod: NumArray, predictedCumulative: NumArray): TrackingSeries {
  checkPair('trackingSeries', actualPerPeriod, predictedCumulative);
  const actualCumulative: number[] = [];
  const predictedPerPeriod: number[] = [];
  let cum = 0;
  for (let i = 0; i < actualPerPeriod.length; i++) {
    cum += at(actualPerPeriod, i);
    actualCumulative.push(cum);
    predictedPerPeriod.push(at(predictedCumulative, i) - (i === 0 ? 0 : at(predictedCumulative, i - 1)));
  }
  return {
    actualCumulative,
    predictedCumulative: Array.from(predictedCumulative),
    actualPerPeriod: Array.from(actualPerPeriod),
    predictedPerPeriod,
  };
}

/** Customers with the same number of calibration-period repeat purchases. */
export interface ConditionalExpectationBucket {
  /** Calibration frequency of the bucket; the last bucket holds this and every higher frequency. */
  frequency: number;
  /** "0", "1", ... and "7+" for the last. */
  label: string;
  count: number;
  /** Mean holdout purchases actually made; `null` when the bucket is empty. */
  meanActual: number | null;
  /** Mean holdout purchases the model expected; `null` when the bucket is empty. */
  meanPredicted: number | null;
}

/**
 * Conditional expectation of holdout purchases given calibration frequency (Fader–Hardie–Lee 2005,
 * fig. 4): customers bucketed by calibration repeat purchases 0, 1, ..., maxBucket+ and per bucket
 * the mean actual and mean predicted holdout purchases. Frequencies must be integers >= 0.
 */
export function conditionalExpectation(
  calibrationFrequency: NumArray,
  actualHoldout: NumArray,
  predictedHoldout: NumArray,
  maxBucket = 7,
): ConditionalExpectationBucket[] {
  checkPair('conditionalExpectation', actualHoldout, predictedHoldout);
  if (calibrationFrequency.length !== actualHoldout.length) {
    fail(`conditionalExpectation: ${calibrationFrequency.length} frequencies but ${actualHoldout.length} holdout values`);
  }
  if (!Number.isInteger(maxBucket) || maxBucket < 0) fail(`conditionalExpectation: maxBucket ${maxBucket} must be an integer >= 0`);
  const count = new Array<number>(maxBucket + 1).fill(0);
  const sumA = new Array<number>(maxBucket + 1).fill(0);
  const sumP = new Array<number>(maxBucket + 1).fill(0);
  for (let i = 0; i < calibrationFrequency.length; i++) {
    const f = at(calibrationFrequency, i);
    if (!Number.isInteger(f) || f < 0) fail(`conditionalExpectation: calibrationFrequency[${i}] is ${f}, expected an integer >= 0`);
    const b = Math.min(f, maxBucket);
    count[b] = (count[b] as number) + 1;
    sumA[b] = (sumA[b] as number) + at(actualHoldout, i);
    sumP[b] = (sumP[b] as number) + at(predictedHoldout, i);
  }
  return count.map((c, b) => ({
    frequency: b,
    label: b === maxBucket ? `${b}+` : String(b),
    count: c,
    meanActual: c === 0 ? null : (sumA[b] as number) / c,
    meanPredicted: c === 0 ? null : (sumP[b] as number) / c,
  }));
}
