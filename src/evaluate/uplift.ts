// Uplift of a randomised test by decile of a score, and the Qini curve: how well a score ranks the customers a treatment moves.
//
// The data are one row per customer of a randomised test: whether they were treated (e-mailed), their outcome (a 0/1
// response such as a visit, or an amount such as spend) and a score (higher = expected to be moved more). Nothing
// here fits a model: the uplift models that produce such scores are in uplift-models.ts.
import { KairosError } from '../errors.js';
import { newcombeInterval, welchInterval, type Interval } from '../math/intervals.js';
import { createRng } from '../math/random.js';

/** A 0/1 response (rates, Newcombe's interval) or an amount (means, Welch's interval). */
export type OutcomeKind = 'binary' | 'amount';

/** One randomised test: per customer, treated (1) or control (0), and the outcome after it. */
export interface UpliftSample {
  readonly treated: Uint8Array;
  readonly outcome: Float64Array;
  readonly kind: OutcomeKind;
}

/** Uplift within one group of customers: the treated's rate (or mean) minus the control's, with its 95% interval. */
export interface UpliftGroup {
  readonly treated: number;
  readonly control: number;
  /** Rate (binary) or mean (amount) of each arm; null when the arm is empty. */
  readonly meanTreated: number | null;
  readonly meanControl: number | null;
  /** Sum of the outcome in each arm (responders for a 0/1 outcome). */
  readonly sumTreated: number;
  readonly sumControl: number;
  /** meanTreated - meanControl with its interval (Newcombe's hybrid score, or Welch); null when an arm is too small. */
  readonly uplift: Interval | null;
}

/** One decile of customers ranked by score (decile 1 = the highest scores). */
export interface UpliftDecile extends UpliftGroup {
  readonly decile: number;
  readonly customers: number;
  /** Lowest and highest score in the decile. */
  readonly scoreMin: number;
  readonly scoreMax: number;
}

/** Checks that the sample and the score describe the same customers with finite values; 0/1 outcomes for 'binary'. */
function check(what: string, sample: UpliftSample, score?: ArrayLike<number>): void {
  const n = sample.treated.length;
  if (sample.outcome.length !== n) throw new KairosError('VALIDATION', `${what}: ${n} treatment flags but ${sample.outcome.length} outcomes`);
  if (score !== undefined && score.length !== n) throw new KairosError('VALIDATION', `${what}: ${n} customers but ${score.length} scores`);
  for (let i = 0; i < n; i++) {
    const t = sample.treated[i] as number;
    const y = sample.outcome[i] as number;
    if (t !== 0 && t !== 1) throw new KairosError('VALIDATION', `${what}: the treatment flag of row ${i} is ${t} (expected 0 or 1)`);
    if (!Number.isFinite(y) || (sample.kind === 'binary' && y !== 0 && y !== 1)) {
      throw new KairosError('VALIDATION', `${what}: the outcome of row ${i} is ${y} (expected ${sample.kind === 'binary' ? '0 or 1' : 'a finite amount'})`);
    }
    if (score !== undefined && !Number.isFinite(score[i] as number)) throw new KairosError('VALIDATION', `${what}: the score of row ${i} is ${score[i]}`);
  }
}

/** Uplift of the customers `rows` (all when omitted): means per arm and the difference with its 95% interval. */
export function upliftOf(sample: UpliftSample, rows?: ArrayLike<number>): UpliftGroup {
  const { treated: t, outcome: y } = sample;
  const m = rows?.length ?? t.length;
  let nT = 0;
  let nC = 0;
  let sT = 0;
  let sC = 0;
  for (let j = 0; j < m; j++) {
    const i = rows ? (rows[j] as number) : j;
    if (t[i] === 1) {
      nT++;
      sT += y[i] as number;
    } else {
      nC++;
      sC += y[i] as number;
    }
  }
  const meanT = nT > 0 ? sT / nT : null;
  const meanC = nC > 0 ? sC / nC : null;
  let uplift: Interval | null;
  if (sample.kind === 'binary') uplift = newcombeInterval(sT, nT, sC, nC);
  else {
    // Sums of squares about each arm's mean, in a second pass (no cancellation on spend in the thousands).
    let qT = 0;
    let qC = 0;
    for (let j = 0; j < m; j++) {
      const i = rows ? (rows[j] as number) : j;
      if (t[i] === 1) qT += ((y[i] as number) - (meanT as number)) ** 2;
      else qC += ((y[i] as number) - (meanC as number)) ** 2;
    }
    uplift =
      meanT === null || meanC === null
        ? null
        : welchInterval({ n: nT, mean: meanT, variance: nT > 1 ? qT / (nT - 1) : 0 }, { n: nC, mean: meanC, variance: nC > 1 ? qC / (nC - 1) : 0 });
  }
  return { treated: nT, control: nC, meanTreated: meanT, meanControl: meanC, sumTreated: sT, sumControl: sC, uplift };
}

/**
 * Customer indices by score, highest first. Ties are put in a seeded random order: tied customers are alike for the
 * score, so which of them fall on either side of a decile boundary is a draw (recency has 12 values for 64,000
 * customers), and every customer stays in exactly one decile.
 */
export function rankByScore(score: ArrayLike<number>, seed = 42): Uint32Array {
  const n = score.length;
  const rng = createRng(seed);
  const key = Float64Array.from({ length: n }, () => rng.uniform());
  const order = Uint32Array.from({ length: n }, (_, i) => i);
  order.sort((a, b) => (score[b] as number) - (score[a] as number) || (key[a] as number) - (key[b] as number));
  return order;
}

/**
 * Uplift by decile of a score (decile 1 = the highest scores; `groups` groups whose sizes differ by at most one):
 * per decile the customers of each arm, the treated's rate (mean) minus the control's, and its 95% interval
 * (Newcombe's hybrid score for a 0/1 outcome, Welch for an amount). The deciles partition the customers, so their
 * counts and sums add up to the whole sample's.
 */
export function upliftByDecile(sample: UpliftSample, score: ArrayLike<number>, options: { groups?: number; seed?: number } = {}): UpliftDecile[] {
  check('upliftByDecile', sample, score);
  const groups = options.groups ?? 10;
  if (!Number.isInteger(groups) || groups < 1) throw new KairosError('VALIDATION', `upliftByDecile: groups must be a positive integer (got ${groups})`);
  const n = sample.treated.length;
  const order = rankByScore(score, options.seed);
  return Array.from({ length: groups }, (_, g) => {
    const rows = order.subarray(Math.floor((g * n) / groups), Math.floor(((g + 1) * n) / groups));
    let lo = Infinity;
    let hi = -Infinity;
    for (const i of rows) {
      lo = Math.min(lo, score[i] as number);
      hi = Math.max(hi, score[i] as number);
    }
    return { decile: g + 1, customers: rows.length, scoreMin: lo, scoreMax: hi, ...upliftOf(sample, rows) };
  });
}

/** A point of a Qini or uplift curve: the share of customers targeted, and the curve's value there. */
export interface CurvePoint {
  readonly fraction: number;
  readonly value: number;
}

/** The Qini curve of a score, its area measures and the uplift curve beside it. */
export interface QiniResult {
  /**
   * Q(k) / N_T at the end of every run of tied scores (and at 0): incremental responders among the first k customers,
   * Q(k) = R_T(k) - R_C(k) N_T(k) / N_C(k), per treated customer of the whole sample; the curve ends at the overall
   * uplift. Straight between points (customers inside a tie are in no particular order).
   */
  readonly qini: CurvePoint[];
  /** (R_T(k)/N_T(k) - R_C(k)/N_C(k)) k / N: the uplift curve; it ends at the overall uplift too. */
  readonly uplift: CurvePoint[];
  /** The treated's rate (mean) minus the control's on the whole sample: where both curves end, and the random line's slope. */
  readonly overall: number;
  /** Qini coefficient: area between the Qini curve and the random line (0 to the overall uplift), fractions on x. */
  readonly qiniCoefficient: number;
  /** Area under the uplift curve (AUUC), fractions on x; a random score has about overall / 2. */
  readonly auuc: number;
}

/**
 * The Qini curve (Radcliffe 2007, "Using control groups to target on predicted lift: building and assessing uplift
 * models", Direct Marketing Analytics Journal: 14-21): customers ranked by score, highest first; after the first k,
 * Q(k) = R_T(k) - R_C(k) N_T(k) / N_C(k), the treated's responders less the control's scaled to as many customers
 * (for an amount, R is the sum of the outcome). Normalised, as Guelman's R package `uplift` (qini.performance) does, by
 * the treated customers of the whole sample, with the share of customers targeted on x: the curve runs from 0 to the
 * overall uplift, and the Qini coefficient is the area between it and the straight line of random targeting (0 for a
 * random score, up to about overall / 2 for a perfect one when nobody is hurt by the treatment). While no control
 * customer has been passed, N_T(k) / N_C(k) counts as 0 (as scikit-uplift's qini_curve does). The uplift curve and its
 * area (AUUC) follow Rzepakowski & Jaroszewicz (2012), "Decision trees for uplift modeling with single and multiple
 * treatments", Knowledge and Information Systems 32: 303-327. Areas by the trapezoid rule between runs of tied scores.
 * `null` when an arm is empty.
 */
export function qiniCurve(sample: UpliftSample, score: ArrayLike<number>): QiniResult | null {
  check('qiniCurve', sample, score);
  const n = score.length;
  const { treated: t, outcome: y } = sample;
  let totalT = 0;
  let totalC = 0;
  let sumT = 0;
  let sumC = 0;
  for (let i = 0; i < n; i++) {
    if (t[i] === 1) {
      totalT++;
      sumT += y[i] as number;
    } else {
      totalC++;
      sumC += y[i] as number;
    }
  }
  if (totalT === 0 || totalC === 0) return null;
  const overall = sumT / totalT - sumC / totalC;
  const s = Float64Array.from(score);
  const order = Uint32Array.from({ length: n }, (_, i) => i).sort((a, b) => (s[b] as number) - (s[a] as number));
  // Points at the end of each run of ties, in typed arrays first (one object per point only at the end).
  const fx = new Float64Array(n + 1);
  const fq = new Float64Array(n + 1);
  const fu = new Float64Array(n + 1);
  let points = 1;
  let nT = 0;
  let nC = 0;
  let rT = 0;
  let rC = 0;
  let qiniArea = 0;
  let upliftArea = 0;
  for (let k = 0; k < n; k++) {
    const i = order[k] as number;
    if (t[i] === 1) {
      nT++;
      rT += y[i] as number;
    } else {
      nC++;
      rC += y[i] as number;
    }
    if (k + 1 < n && s[order[k + 1] as number] === s[i]) continue;
    const fraction = (k + 1) / n;
    const q = (rT - (nC > 0 ? (rC * nT) / nC : 0)) / totalT;
    const u = ((nT > 0 ? rT / nT : 0) - (nC > 0 ? rC / nC : 0)) * fraction;
    const w = fraction - (fx[points - 1] as number);
    qiniArea += (w * (q + (fq[points - 1] as number))) / 2;
    upliftArea += (w * (u + (fu[points - 1] as number))) / 2;
    fx[points] = fraction;
    fq[points] = q;
    fu[points] = u;
    points++;
  }
  const qini = Array.from({ length: points }, (_, j): CurvePoint => ({ fraction: fx[j] as number, value: fq[j] as number }));
  const uplift = Array.from({ length: points }, (_, j): CurvePoint => ({ fraction: fx[j] as number, value: fu[j] as number }));
  return { qini, uplift, overall, qiniCoefficient: qiniArea - overall / 2, auuc: upliftArea };
}

/**
 * How far a Qini coefficient strays by chance on this sample: the standard deviation of the Qini coefficients of
 * `draws` random scores (seeded), a permutation reference for reading a score's Qini. `null` when an arm is empty.
 */
export function randomQiniSpread(sample: UpliftSample, draws = 20, seed = 42): number | null {
  if (!Number.isInteger(draws) || draws < 2) throw new KairosError('VALIDATION', `randomQiniSpread: draws must be an integer >= 2 (got ${draws})`);
  const rng = createRng(seed);
  const n = sample.treated.length;
  const q: number[] = [];
  for (let d = 0; d < draws; d++) {
    const r = qiniCurve(sample, Float64Array.from({ length: n }, () => rng.uniform()));
    if (r === null) return null;
    q.push(r.qiniCoefficient);
  }
  const mean = q.reduce((a, b) => a + b, 0) / draws;
  return Math.sqrt(q.reduce((a, b) => a + (b - mean) ** 2, 0) / (draws - 1));
}

/** A curve read at `points + 1` evenly spaced fractions 0, 1/points, ..., 1 (linear between its points): for charts. */
export function sampleCurve(curve: readonly CurvePoint[], points = 100): CurvePoint[] {
  const out: CurvePoint[] = [];
  let j = 0;
  for (let s = 0; s <= points; s++) {
    const x = s / points;
    while (j < curve.length - 2 && (curve[j + 1] as CurvePoint).fraction < x) j++;
    const a = curve[j] as CurvePoint;
    const b = (curve[j + 1] ?? a) as CurvePoint;
    const w = b.fraction > a.fraction ? Math.min(1, Math.max(0, (x - a.fraction) / (b.fraction - a.fraction))) : 1;
    out.push({ fraction: x, value: a.value + w * (b.value - a.value) });
  }
  return out;
}
