// Uplift on Hillstrom's e-mail test: which ranking of the pre-period columns finds the customers the e-mail moves.
import type { LearnedSettings } from '../config.js';
import { quoteLiteral, type Store } from '../store/db.js';
import { boostingOptions, type Matrix } from '../scores/learned/train.js';
import { HILLSTROM_PRE_PERIOD_SQL } from './hillstrom.js';
import { crossFittedUplift, UPLIFT_METHODS, type UpliftMethod } from './uplift-models.js';
import { qiniCurve, randomQiniSpread, sampleCurve, upliftByDecile, upliftOf, type CurvePoint, type OutcomeKind, type UpliftDecile, type UpliftGroup, type UpliftSample } from './uplift.js';

/** The pre-period columns the uplift models learn from (history_segment is `history` in bands: left out). */
const FEATURES = ['recency', 'history', 'mens', 'womens', 'zip', 'newbie', 'channel'] as const;

/**
 * Rates of the file's three arms as quoted from Hillstrom's challenge (Hillstrom 2008, "The MineThatData E-Mail
 * Analytics And Data Mining Challenge", blog.minethatdata.com, March 2008) and its write-ups: visit and conversion in
 * percent, spend in dollars per customer, to the digits printed. The results page itself could not be retrieved while
 * this was written; the figures are the ones the uplift literature repeats (any e-mail: visits 16.7% against 10.6%).
 */
export const HILLSTROM_PUBLISHED = {
  'Mens E-Mail': { visit: 18.28, conversion: 1.25, spend: 1.42 },
  'Womens E-Mail': { visit: 15.14, conversion: 0.88, spend: 1.08 },
  'No E-Mail': { visit: 10.62, conversion: 0.57, spend: 0.65 },
} as const;

export const HILLSTROM_OUTCOMES = ['visit', 'conversion', 'spend'] as const;
export type HillstromOutcome = (typeof HILLSTROM_OUTCOMES)[number];
const KIND: Readonly<Record<HillstromOutcome, OutcomeKind>> = { visit: 'binary', conversion: 'binary', spend: 'amount' };

/** Treated = any e-mail (Mens or Womens) against No E-Mail, or one e-mail against No E-Mail (the other e-mail left out). */
export type HillstromArm = 'any e-mail' | 'Womens E-Mail' | 'Mens E-Mail';
export const HILLSTROM_ARMS: readonly HillstromArm[] = ['any e-mail', 'Womens E-Mail', 'Mens E-Mail'];

/** The rankings compared: the two uplift models, and the two rules a marketer would use. */
export type RankingKey = UpliftMethod | 'recency' | 'history';
export const RANKING_LABELS: Readonly<Record<RankingKey, string>> = {
  'two-model': 'two-model uplift (boosted trees)',
  'transformed-outcome': 'transformed-outcome uplift (boosted trees)',
  recency: 'recency (most recent first)',
  history: 'past-year spend (highest first)',
};

export interface RankingResult {
  readonly key: RankingKey;
  readonly deciles: UpliftDecile[];
  /** Null only when an arm is empty. */
  readonly qiniCoefficient: number | null;
  readonly auuc: number | null;
  /** The Qini curve at every 1% of customers targeted (for charts). */
  readonly curve: CurvePoint[];
}

export interface OutcomeResult {
  readonly outcome: HillstromOutcome;
  readonly kind: OutcomeKind;
  /** The whole arm's uplift, with its interval. */
  readonly overall: UpliftGroup;
  readonly rankings: RankingResult[];
  /** Standard deviation of the Qini coefficients of RANDOM_DRAWS seeded random scores: how far a Qini strays by chance. */
  readonly randomQiniSd: number | null;
}

/** Random scores drawn for the chance spread of a Qini coefficient. */
export const RANDOM_DRAWS = 20;

export interface ArmResult {
  readonly arm: HillstromArm;
  readonly customers: number;
  readonly outcomes: OutcomeResult[];
}

export interface HillstromUplift {
  /** Rows of the file. */
  readonly customers: number;
  /** Per segment of the file: customers and the mean of each outcome (rates as shares, spend in dollars). */
  readonly segments: Record<keyof typeof HILLSTROM_PUBLISHED, { customers: number } & Record<HillstromOutcome, number>>;
  readonly folds: number;
  readonly seed: number;
  readonly arms: ArmResult[];
}

export interface HillstromUpliftOptions {
  readonly arms?: readonly HillstromArm[];
  readonly outcomes?: readonly HillstromOutcome[];
  readonly folds?: number;
  /** Seed of the folds and of the tie-breaks between deciles. */
  readonly seed?: number;
  readonly onProgress?: (message: string) => void;
}

/**
 * Reads hillstrom.csv(.gz) and, for each arm (default: any e-mail, then each e-mail alone) and outcome (visit,
 * conversion, spend), ranks the arm's customers and the No E-Mail customers by four scores: the cross-fitted two-model
 * and transformed-outcome uplift of that outcome (uplift-models.ts, the conversion model's boosting settings; a
 * tweedie response model for spend), recency (fewer months since the last purchase first) and past-year spend. Per
 * score: uplift by decile with 95% intervals, and the Qini curve and coefficient (uplift.ts); per outcome, the spread
 * of random scores' Qini coefficients, to read them against.
 */
export async function hillstromUplift(store: Store, file: string, settings: LearnedSettings, options: HillstromUpliftOptions = {}): Promise<HillstromUplift> {
  const folds = options.folds ?? 5;
  const seed = options.seed ?? 42;
  const { numbers, texts } = await store.readColumns(
    `SELECT ${HILLSTROM_PRE_PERIOD_SQL}, segment, visit::DOUBLE AS visit, conversion::DOUBLE AS conversion, spend::DOUBLE AS spend
     FROM read_csv(${quoteLiteral(file)}, header = true)`,
  );
  const segment = texts['segment'] as string[];
  const n = segment.length;
  const segments = Object.fromEntries(
    Object.keys(HILLSTROM_PUBLISHED).map((name) => {
      const rows = segment.flatMap((s, i) => (s === name ? [i] : []));
      const mean = (o: HillstromOutcome): number => rows.reduce((a, i) => a + ((numbers[o] as Float64Array)[i] as number), 0) / rows.length;
      return [name, { customers: rows.length, visit: mean('visit'), conversion: mean('conversion'), spend: mean('spend') }];
    }),
  ) as HillstromUplift['segments'];

  const arms: ArmResult[] = [];
  for (const arm of options.arms ?? HILLSTROM_ARMS) {
    const rows = segment.flatMap((s, i) => (s === 'No E-Mail' || (arm === 'any e-mail' ? s !== 'No E-Mail' : s === arm) ? [i] : []));
    const take = (c: Float64Array): Float64Array => Float64Array.from(rows, (i) => c[i] as number);
    const matrix: Matrix = { names: FEATURES, rows: rows.length, columns: FEATURES.map((f) => take(numbers[f] as Float64Array)) };
    const treated = Uint8Array.from(rows, (i) => (segment[i] === 'No E-Mail' ? 0 : 1));
    const rules: Record<'recency' | 'history', Float64Array> = { recency: take(numbers['recency'] as Float64Array).map((r) => -r), history: take(numbers['history'] as Float64Array) };
    const outcomes: OutcomeResult[] = [];
    for (const outcome of options.outcomes ?? HILLSTROM_OUTCOMES) {
      const sample: UpliftSample = { treated, outcome: take(numbers[outcome] as Float64Array), kind: KIND[outcome] };
      const scores: [RankingKey, Float64Array][] = [];
      for (const method of UPLIFT_METHODS) {
        options.onProgress?.(`${arm}, ${outcome}: ${method}, ${folds} folds`);
        const boosting = boostingOptions(outcome === 'spend' ? 'value' : 'conversion', settings);
        scores.push([method, (await crossFittedUplift(method, matrix, sample, { boosting, folds, seed })).uplift]);
      }
      scores.push(['recency', rules.recency], ['history', rules.history]);
      const rankings = scores.map(([key, score]): RankingResult => {
        const q = qiniCurve(sample, score);
        return {
          key,
          deciles: upliftByDecile(sample, score, { seed }),
          qiniCoefficient: q?.qiniCoefficient ?? null,
          auuc: q?.auuc ?? null,
          curve: q ? sampleCurve(q.qini, 100) : [],
        };
      });
      outcomes.push({ outcome, kind: KIND[outcome], overall: upliftOf(sample), rankings, randomQiniSd: randomQiniSpread(sample, RANDOM_DRAWS, seed) });
    }
    arms.push({ arm, customers: rows.length, outcomes });
  }
  return { customers: n, segments, folds, seed, arms };
}
