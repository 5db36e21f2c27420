// Settings and their defaults, in one place: built-in defaults, then kairos.config.json, then command-line flags.
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { KairosError } from './errors.js';
import type { Entity } from './store/migrations.js';

export interface IngestSettings {
  /** contract column -> source column. */
  map?: Record<string, string>;
  /** Product ids whose order lines are not products (postage, fees). */
  excludeProducts?: string[];
  /** IANA zone of timestamps written without an offset (default: the store's `timezone`). */
  timezone?: string;
  /** strptime format for dates that are not ISO, e.g. "%d/%m/%Y %H:%M". */
  dateFormat?: string;
  /** CSV delimiter (default: detected). */
  delimiter?: string;
  /** File encoding: utf-8 (default), latin-1 or utf-16. */
  encoding?: string;
  /** Longest line of a text file, in bytes (default 2 MiB): a longer one refuses the file. */
  maxLineBytes?: number;
}

export interface ScoreSettings {
  /** Transaction model: 'auto' fits all three and picks by held-out fit. */
  model: 'auto' | 'bg-nbd' | 'pareto-nbd' | 'mbg-nbd';
  /** CLV horizon in months and monthly discount rate. */
  clvMonths: number;
  monthlyDiscountRate: number;
  /** P(alive) threshold that defines the churn decisive moment. */
  decisiveThreshold: number;
  /** Days before the decisive date to send the last-chance offer (reported in explanations). */
  offerLeadDays: number;
  /**
   * Passes over the orders for the purchase summary, each on a share of the customers: more passes, less memory
   * (the aggregation's share of the peak divides by about this number: at 1M customers 2 passes peak at 351-363 MB
   * instead of 380-410) and more time (one more read of the orders each). Default 1.
   */
  summaryPartitions: number;
  /**
   * With model 'auto', the candidates are fitted and compared on a random sample of at most this many customers (their
   * parameters are population-level; the chosen model is then fitted on everyone). 0: on every customer. Default 50,000
   * (how often a sample of that size makes the whole population's choice: docs/benchmarks.md, "Choosing the purchase model").
   */
  choiceSample: number;
}

/** The learned churn, conversion and value models (src/scores/learned): windows, snapshots and the trees' size. */
export interface LearnedSettings {
  /** false: the purchase models' scores only (no trees are trained). */
  enabled: boolean;
  /** Churn = no purchase in the next `churnDays` days. */
  churnDays: number;
  /** Snapshots per fit, `stepDays` apart, the latest one window before the as-of (and the inner fit's one window earlier). */
  snapshots: number;
  stepDays: number;
  /** Customers per snapshot at most (a deterministic sample by a hash of the id); 0: everyone. */
  sampleCustomers: number;
  /** Boosting: at most this many trees (early stopping on a validation share of the customers), depth and shrinkage. */
  rounds: number;
  maxDepth: number;
  learningRate: number;
}

/** Category affinity and audiences (src/scores/affinity): which product groups, the horizon, the snapshots. */
export interface AffinitySettings {
  /**
   * true: affinity is computed on every run. Off by default: it trains its own trees on seven snapshots of pairs (with
   * item-knn refitted at each), several seconds a run even on a small store (docs/benchmarks.md, "Category affinity").
   */
  enabled: boolean;
  /** 'category': a level of the category path ('A > B > C'); 'attribute:<key>': a key of the products' attributes JSON. */
  by: string;
  /** With by 'category': the path cut after this many levels (1 = the top level). */
  level: number;
  /** Probability of buying in the group within this many days. */
  horizonDays: number;
  /** The most-bought groups scored (by distinct buyers before the as-of). */
  maxGroups: number;
  /** Training snapshots, `stepDays` apart, the latest one horizon before the as-of. */
  snapshots: number;
  stepDays: number;
  /** Customers per training snapshot at most (a deterministic sample by a hash of the id); 0: everyone. */
  sampleCustomers: number;
}

/** Lifecycle stages (src/scores/lifecycle): the rules' thresholds, in days and purchases. */
export interface LifecycleSettings {
  /** New: the first purchase within this many days. */
  newDays: number;
  /** Reactivated: a purchase within this many days that came after a gap of at least lapsedDays. */
  activeDays: number;
  /** Lapsed: no purchase for more than this many days. */
  lapsedDays: number;
  /** Loyal: at least this many purchases, the first at least loyalTenureDays ago. */
  loyalPurchases: number;
  loyalTenureDays: number;
  /** At risk: the churn decisive date has passed, or the purchase model's churn risk is at least this. */
  atRiskChurnRisk: number;
}

/** Promotion appetence (src/scores/promotion): which e-mail campaigns are promotional, how responses tilt the score, the labels. */
export interface PromotionSettings {
  /**
   * E-mail campaigns that are promotions, as SQL LIKE patterns on events' campaign_id (e.g. "PROMO-%"): their
   * email_sent count as promotional campaigns received, their email_click as responses. Default none: only
   * campaign_received and coupon_redemption events are promotional.
   */
  emailCampaigns: string[];
  /** The response rate tilts the odds of the score by (shrunk rate / population rate)^responseWeight (0: no tilt). */
  responseWeight: number;
  /**
   * promo_label from the odds ratio to the typical customer (promo_odds_ratio): 'promotion-driven' from `drivenFrom`,
   * 'promotion-sensitive' from `sensitiveFrom`, 'full-price' below `fullPriceBelow`, else 'indifferent'.
   */
  drivenFrom: number;
  sensitiveFrom: number;
  fullPriceBelow: number;
}

/** The ambassador score: advocacy (reviews and their ratings, referrals, social shares), recency-weighted. */
export interface AmbassadorSettings {
  /**
   * Weight of one event of a type in the ambassador score; types not listed weigh 0. A review's weight is multiplied by
   * its rating read on `ratingScale`: -1 for the lowest, 0 for the middle, +1 for the highest (0.5 without a rating).
   */
  weights: Record<string, number>;
  /** The weighted, decayed advocacy that scores 50: score = 100 (1 - 2^(-advocacy / midpoint)). */
  midpoint: number;
  /** ambassador_label is 'ambassador' from this score (0-100), 'supporter' from `supporterFrom`. */
  ambassadorFrom: number;
  /** ambassador_label is 'supporter' from this score, and 'detractor' when the same transform of the negative sum reaches it. */
  supporterFrom: number;
  /** Lowest and highest rating of a review (the `value` of a review event). */
  ratingScale: [number, number];
}

/**
 * The engagement score (src/scores/engagement): each event counts its type's weight, halved every half-life of its type
 * since it happened; the sum goes through a fixed saturating transform to 0-100, so scores compare across runs.
 */
export interface EngagementSettings {
  /** Half-life in days of each event type: an event counts half after this many days, a quarter after twice as many. */
  halfLifeDays: Record<string, number>;
  /** Weight of one event of a type (negative: a negative signal); types not listed, unknown types included, weigh 0. */
  weights: Record<string, number>;
  /** The weighted, decayed activity that scores 50: score = 100 (1 - 2^(-activity / midpoint)), 0 below 0. */
  midpoint: number;
  /** Change in points since the previous run within which the trend is 'stable' (beyond: rising or cooling). */
  trendBand: number;
  /** engagement_label: 'dormant' below this score, 'highly engaged' from `highlyEngagedFrom` (unless cooling). */
  dormantBelow: number;
  highlyEngagedFrom: number;
  ambassador: AmbassadorSettings;
}

/** The recommendations (src/scores/recommend): what counts as an interaction, what may be recommended, which recommenders compete. */
export interface RecommendSettings {
  /** false: no recommendations (the scorer returns empty lists at once). */
  enabled: boolean;
  /** Products per customer. */
  k: number;
  /** The inner holdout: candidates are fitted on the data before as-of minus this many days and graded on the purchases after. */
  holdoutDays: number;
  /** A purchase (quantity, returns negative) and a weighted event count half after this many days. */
  halfLifeDays: number;
  /** Weight of one event of a type with a product (a purchase of one unit weighs 1); types not listed are not interactions. */
  eventWeights: Record<string, number>;
  /** Categories (a full path or any level above it: "GROCERY" covers "GROCERY > SOUP > ...") whose products may be recommended again to customers who bought them (groceries); a product's attributes.consumable = true does the same. */
  consumableCategories: string[];
  /** Recommenders compared on the inner holdout, in order of preference on a tie. */
  candidates: ('item-knn' | 'als' | 'popularity')[];
  /** Implicit ALS: latent factors and alternations. */
  als: { factors: number; iterations: number };
  /**
   * Item-knn: users in common a neighbour needs (support floor) and the shrinkage lambda of similarity x n / (n + lambda)
   * for n users in common (src/ml/recommend/item-knn.ts).
   */
  itemKnn: { minSupport: number; shrinkage: number };
  /**
   * Popularity per segment: 'country' ranks each customer's country's products first (countries with at least 50
   * customers with an interaction; the others get the overall order), 'none' one order for everyone.
   */
  popularitySegments: 'none' | 'country';
}

/** One criterion of a custom score: a filter over customer_scores (the saved segments' language) and its points. */
export interface CustomCriterion {
  /** A filter, e.g. "frequency >= 5": docs/segments.md, "The filter language". */
  when: string;
  /** Whole points (negative: the criterion counts against) added when the filter holds. */
  points: number;
  /** Words for people (kairos show, exports); default: the filter itself. Unique within the score. */
  label?: string;
}

/**
 * Where a custom score's points go: a number from `min` to `max` (linear over the grid's possible points), or letter
 * grades, the best first, by quantiles of the points or by fixed cut-offs (points, one fewer than the grades, descending).
 */
export type CustomScale =
  | { min: number; max: number }
  | { grades: string[]; by?: 'quantiles' }
  | { grades: string[]; by: 'cutoffs'; cutoffs: number[] };

/**
 * What a custom score claims to predict, within `withinDays` of the as-of date: 'purchase' (at least one), 'churn' (no
 * purchase), 'spend' (net spend above `threshold`, in the store's currency) or an event type such as 'review' or
 * 'referral' (at least `threshold` events, default 1).
 */
export interface CustomObjective {
  event: string;
  withinDays: number;
  threshold?: number;
}

/** A score a team defines itself (docs/scores.md, "Custom scores"): criteria with points, a scale, an objective. */
export interface CustomScoreDefinition {
  /** snake_case: the score's column in customer_scores (with `<name>_points` and `<name>_criteria`). */
  name: string;
  description?: string;
  scale: CustomScale;
  criteria: CustomCriterion[];
  objective: CustomObjective;
}

/**
 * When a scoring run refits its models (kairos score, POST /runs, --schedule): every run, every N runs, or when drift
 * since the last fit exceeds a PSI threshold. Without a refit, the purchase and spend models score with the fitted
 * parameters of the last run that fitted them (docs/api.md, "Refit policy").
 */
export type RefitPolicy = { readonly every: 'run' } | { readonly every: 'runs'; readonly runs: number } | { readonly every: 'drift'; readonly psi: number };

/** `kairos serve --watch DIR`: which entity a dropped file holds, how often the folder is read, how long a file must rest. */
export interface WatchSettings {
  /** File-name pattern (`*` any characters, case-insensitive) -> entity; else the name's first word (orders-2024.csv). */
  entities: Record<string, Entity>;
  /** Seconds between two looks at the folder. */
  intervalSeconds: number;
  /** A file is taken once its size and modification time have not changed for this many seconds. */
  settleSeconds: number;
}

export interface KairosConfig {
  /** ISO 4217 code of all money in the store. */
  currency: string;
  /** IANA zone used for timestamps written without an offset. Everything is stored in UTC. */
  timezone: string;
  ingest: Partial<Record<Entity, IngestSettings>>;
  rfm: { bins: number };
  scores: ScoreSettings;
  learned: LearnedSettings;
  engagement: EngagementSettings;
  recommend: RecommendSettings;
  affinity: AffinitySettings;
  lifecycle: LifecycleSettings;
  promotion: PromotionSettings;
  /**
   * Customer fields that identify a person: the `customers` columns and the keys of `attributes` named here. The API
   * (`kairos serve`) returns them to admin keys only (docs/api.md). `email` is always one of them.
   */
  personalFields: string[];
  /** Scores the team defines (src/scores/custom): checked here for shape, against the score columns when the registry is built. */
  customScores: CustomScoreDefinition[];
  refit: RefitPolicy;
  watch: WatchSettings;
}

export const DEFAULT_CONFIG: KairosConfig = {
  currency: 'EUR',
  timezone: 'UTC',
  ingest: {},
  rfm: { bins: 5 },
  scores: { model: 'auto', clvMonths: 12, monthlyDiscountRate: 0.01, decisiveThreshold: 0.5, offerLeadDays: 14, summaryPartitions: 1, choiceSample: 50_000 },
  learned: { enabled: true, churnDays: 90, snapshots: 4, stepDays: 30, sampleCustomers: 10_000, rounds: 400, maxDepth: 3, learningRate: 0.05 },
  lifecycle: { newDays: 90, activeDays: 180, lapsedDays: 365, loyalPurchases: 5, loyalTenureDays: 365, atRiskChurnRisk: 0.7 },
  affinity: { enabled: false, by: 'category', level: 1, horizonDays: 90, maxGroups: 50, snapshots: 3, stepDays: 30, sampleCustomers: 10_000 },
  // Why these values: docs/scores.md, "Promotion appetence".
  promotion: { emailCampaigns: [], responseWeight: 0.5, drivenFrom: 1.6, sensitiveFrom: 1.2, fullPriceBelow: 0.8 },
  // Why these values: docs/scores.md, "Engagement and ambassador". email_sent weighs 0 (a mail received is exposure,
  // not engagement) but has a half-life: it is the denominator of email_open_rate.
  engagement: {
    halfLifeDays: {
      email_sent: 60,
      email_open: 60,
      email_click: 60,
      web_visit: 45,
      product_view: 45,
      add_to_cart: 45,
      review: 180,
      referral: 180,
      social_share: 180,
      unsubscribe: 365,
      complaint: 180,
    },
    weights: {
      email_open: 1,
      email_click: 3,
      web_visit: 2,
      product_view: 0.5,
      add_to_cart: 2,
      review: 3,
      referral: 5,
      social_share: 3,
      unsubscribe: -5,
      complaint: -3,
    },
    midpoint: 12,
    trendBand: 5,
    dormantBelow: 10,
    highlyEngagedFrom: 60,
    ambassador: { weights: { review: 1, referral: 3, social_share: 2 }, midpoint: 3, ambassadorFrom: 50, supporterFrom: 10, ratingScale: [1, 5] },
  },
  // A view says less than a purchase: 0.2 and 0.5 of one unit bought. 32 factors and 10 alternations keep the demo's fit under a second.
  recommend: {
    enabled: true,
    k: 10,
    holdoutDays: 30,
    halfLifeDays: 180,
    eventWeights: { product_view: 0.2, add_to_cart: 0.5 },
    consumableCategories: [],
    candidates: ['item-knn', 'als', 'popularity'],
    als: { factors: 32, iterations: 10 },
    itemKnn: { minSupport: 1, shrinkage: 0 },
    // Per country: +2% NDCG@10 for popularity on Online Retail, -4% on the demo (docs/benchmarks.md): off by default.
    popularitySegments: 'none',
  },
  personalFields: ['email'],
  customScores: [],
  refit: { every: 'run' },
  watch: { entities: {}, intervalSeconds: 2, settleSeconds: 2 },
};

/** The engagement settings of a config file over the defaults: weights and half-lives merge per event type. */
function mergeEngagement(raw: (Partial<Omit<EngagementSettings, 'ambassador'>> & { ambassador?: Partial<AmbassadorSettings> }) | undefined): EngagementSettings {
  const d = DEFAULT_CONFIG.engagement;
  return {
    ...d,
    ...raw,
    halfLifeDays: { ...d.halfLifeDays, ...raw?.halfLifeDays },
    weights: { ...d.weights, ...raw?.weights },
    ambassador: { ...d.ambassador, ...raw?.ambassador, weights: { ...d.ambassador.weights, ...raw?.ambassador?.weights } },
  };
}

export const CONFIG_FILE = 'kairos.config.json';

/** Loads `path` (or ./kairos.config.json when present) over the defaults, checking the few values that can be wrong. */
export function loadConfig(path?: string): KairosConfig {
  const file = resolve(path ?? CONFIG_FILE);
  if (!existsSync(file)) {
    if (path) throw new KairosError('NOT_FOUND', `config file ${file} not found`);
    return structuredClone(DEFAULT_CONFIG);
  }
  let raw: Partial<Omit<KairosConfig, 'engagement' | 'recommend'>> & {
    engagement?: Parameters<typeof mergeEngagement>[0];
    recommend?: Partial<Omit<RecommendSettings, 'als' | 'itemKnn'>> & { als?: Partial<RecommendSettings['als']>; itemKnn?: Partial<RecommendSettings['itemKnn']> };
  };
  try {
    raw = JSON.parse(readFileSync(file, 'utf8')) as typeof raw;
  } catch (cause) {
    throw new KairosError('USAGE', `config file ${file} is not valid JSON: ${(cause as Error).message}`, { cause });
  }
  const config: KairosConfig = {
    currency: raw.currency ?? DEFAULT_CONFIG.currency,
    timezone: raw.timezone ?? DEFAULT_CONFIG.timezone,
    ingest: raw.ingest ?? {},
    rfm: { ...DEFAULT_CONFIG.rfm, ...raw.rfm },
    scores: { ...DEFAULT_CONFIG.scores, ...raw.scores },
    learned: { ...DEFAULT_CONFIG.learned, ...raw.learned },
    engagement: mergeEngagement(raw.engagement),
    recommend: { ...DEFAULT_CONFIG.recommend, ...raw.recommend, als: { ...DEFAULT_CONFIG.recommend.als, ...raw.recommend?.als },
      itemKnn: { ...DEFAULT_CONFIG.recommend.itemKnn, ...raw.recommend?.itemKnn },
    },
    affinity: { ...DEFAULT_CONFIG.affinity, ...raw.affinity },
    lifecycle: { ...DEFAULT_CONFIG.lifecycle, ...raw.lifecycle },
    promotion: { ...DEFAULT_CONFIG.promotion, ...raw.promotion },
    // A malformed value is kept as it is for validateConfig to name.
    personalFields: Array.isArray(raw.personalFields) ? [...new Set(['email', ...raw.personalFields])] : (raw.personalFields ?? ['email']),
    customScores: raw.customScores ?? [],
    refit: raw.refit ?? DEFAULT_CONFIG.refit,
    watch: { ...DEFAULT_CONFIG.watch, ...raw.watch, entities: { ...raw.watch?.entities } },
  };
  validateConfig(config, file);
  return config;
}

/** Checks the values a typo would make absurd. */
export function validateConfig(config: KairosConfig, where = 'config'): void {
  if (!/^[A-Z]{3}$/.test(config.currency)) throw new KairosError('USAGE', `${where}: currency "${config.currency}" is not an ISO 4217 code`);
  if (!Array.isArray(config.personalFields) || config.personalFields.some((f) => typeof f !== 'string' || f === '')) {
    throw new KairosError('USAGE', `${where}: personalFields must be a list of field names, e.g. ["email", "phone"]`);
  }
  const bins = config.rfm.bins;
  if (!Number.isInteger(bins) || bins < 2 || bins > 10) throw new KairosError('USAGE', `${where}: rfm.bins must be an integer from 2 to 10, got ${bins}`);
  const t = config.scores.decisiveThreshold;
  if (!(t > 0 && t < 1)) throw new KairosError('USAGE', `${where}: scores.decisiveThreshold must be in (0, 1), got ${t}`);
  if (!(config.scores.monthlyDiscountRate >= 0 && config.scores.monthlyDiscountRate < 1)) {
    throw new KairosError('USAGE', `${where}: scores.monthlyDiscountRate must be in [0, 1)`);
  }
  const p = config.scores.summaryPartitions;
  if (!(Number.isInteger(p) && p >= 1 && p <= 64)) throw new KairosError('USAGE', `${where}: scores.summaryPartitions must be an integer from 1 to 64, got ${p}`);
  const sample = config.scores.choiceSample;
  if (!(Number.isInteger(sample) && (sample === 0 || sample >= 1000))) {
    throw new KairosError('USAGE', `${where}: scores.choiceSample must be 0 (every customer) or an integer of at least 1000, got ${sample}`);
  }
  if (!(Number.isInteger(config.scores.clvMonths) && config.scores.clvMonths >= 1 && config.scores.clvMonths <= 120)) {
    throw new KairosError('USAGE', `${where}: scores.clvMonths must be an integer from 1 to 120`);
  }
  const l = config.learned;
  const integer = (name: keyof LearnedSettings, min: number, max: number): void => {
    const v = l[name];
    if (!(typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max)) {
      throw new KairosError('USAGE', `${where}: learned.${name} must be an integer from ${min} to ${max}, got ${String(v)}`);
    }
  };
  if (typeof l.enabled !== 'boolean') throw new KairosError('USAGE', `${where}: learned.enabled must be true or false`);
  integer('churnDays', 7, 730);
  integer('snapshots', 1, 24);
  integer('stepDays', 1, 365);
  if (!(l.sampleCustomers === 0 || (Number.isInteger(l.sampleCustomers) && l.sampleCustomers >= 1000))) {
    throw new KairosError('USAGE', `${where}: learned.sampleCustomers must be 0 (every customer) or an integer of at least 1000, got ${l.sampleCustomers}`);
  }
  integer('rounds', 1, 10_000);
  integer('maxDepth', 1, 12);
  if (!(l.learningRate > 0 && l.learningRate <= 1)) throw new KairosError('USAGE', `${where}: learned.learningRate must be in (0, 1], got ${l.learningRate}`);
  validateEngagement(config.engagement, where);
  validateRecommend(config.recommend, where);
  validateAffinity(config.affinity, where);
  validateLifecycle(config.lifecycle, where);
  validatePromotion(config.promotion, where);
  validateCustomScores(config.customScores, where);
  validateRefit(config.refit, where);
  validateWatch(config.watch, where);
}

/** Objectives that are not event types. */
export const CUSTOM_OBJECTIVES = ['purchase', 'churn', 'spend'] as const;

/**
 * The custom scores' shape: snake_case names used once, criteria with a filter and whole points (labels unique), a scale
 * whose ends differ (and points that can vary), grades with ordered cut-offs, an objective with a window. Filters are
 * parsed and their columns checked when the registry is built (src/scores/custom), which knows the score columns.
 */
function validateCustomScores(list: unknown, where: string): void {
  const fail = (message: string, hint?: string): never => {
    throw new KairosError('USAGE', `${where}: customScores${message}`, hint === undefined ? {} : { hint });
  };
  if (!Array.isArray(list)) fail(` must be a list of scores, got ${JSON.stringify(list)}`);
  const names = new Set<string>();
  (list as unknown[]).forEach((raw, i) => {
    const d = raw as Partial<CustomScoreDefinition> | null;
    if (d === null || typeof d !== 'object' || Array.isArray(d)) return fail(`[${i}] must be an object with name, scale, criteria and objective`);
    const at = typeof d.name === 'string' ? `[${i}] (${d.name})` : `[${i}]`;
    if (typeof d.name !== 'string' || !/^[a-z][a-z0-9_]{0,39}$/.test(d.name)) {
      fail(`${at}.name must be snake_case (a lower-case letter, then letters, digits or _; at most 40), got ${JSON.stringify(d.name)}`, 'it becomes a column of customer_scores, e.g. vip_potential');
    }
    const name = d.name as string;
    if (names.has(name)) fail(`${at}: two custom scores are named "${name}"`);
    names.add(name);
    if (d.description !== undefined && typeof d.description !== 'string') fail(`${at}.description must be text`);
    if (!Array.isArray(d.criteria) || d.criteria.length === 0 || d.criteria.length > 30) {
      fail(`${at}.criteria must be a list of 1 to 30 criteria ({ "when": "frequency >= 5", "points": 30 })`);
    }
    const labels = new Set<string>();
    const points: number[] = [];
    (d.criteria as unknown[]).forEach((rc, j) => {
      const c = rc as Partial<CustomCriterion> | null;
      const ca = `${at}.criteria[${j}]`;
      if (c === null || typeof c !== 'object' || Array.isArray(c)) return fail(`${ca} must be an object { "when": FILTER, "points": N }`);
      if (typeof c.when !== 'string' || c.when.trim() === '') fail(`${ca}.when must be a filter such as "frequency >= 5"`);
      if (!(typeof c.points === 'number' && Number.isInteger(c.points) && Math.abs(c.points) <= 1_000_000)) {
        fail(`${ca}.points must be a whole number (negative counts against), got ${JSON.stringify(c.points)}`);
      }
      if (c.label !== undefined && (typeof c.label !== 'string' || c.label.trim() === '' || c.label.length > 120)) fail(`${ca}.label must be 1 to 120 characters`);
      const label = c.label ?? (c.when as string);
      if (labels.has(label)) fail(`${ca}: the label "${label}" is used twice`, 'give each criterion its own label: kairos show names them');
      labels.add(label);
      points.push(c.points as number);
    });
    const lo = points.reduce((s, p) => s + Math.min(p, 0), 0);
    const hi = points.reduce((s, p) => s + Math.max(p, 0), 0);
    if (lo === hi) fail(`${at}: every criterion gives 0 points, so the score cannot vary`, 'give points to the criteria');
    const scale = d.scale as Record<string, unknown> | undefined;
    if (scale === null || typeof scale !== 'object' || Array.isArray(scale)) {
      return fail(`${at}.scale must be { "min": 0, "max": 100 } or { "grades": ["A", "B", "C"] }`);
    }
    if ('grades' in scale) {
      const g = scale['grades'];
      if (!Array.isArray(g) || g.length < 2 || g.length > 26 || !g.every((x) => typeof x === 'string' && x.trim() !== '' && x.length <= 40) || new Set(g).size !== g.length) {
        fail(`${at}.scale.grades must be 2 to 26 distinct names, the best first, e.g. ["A", "B", "C", "D", "E"]`);
      }
      const by = scale['by'] ?? 'quantiles';
      if (by !== 'quantiles' && by !== 'cutoffs') fail(`${at}.scale.by must be "quantiles" or "cutoffs", got ${JSON.stringify(by)}`);
      if (by === 'cutoffs') {
        const cuts = scale['cutoffs'];
        const n = (g as string[]).length - 1;
        if (!Array.isArray(cuts) || cuts.length !== n || !cuts.every((x) => typeof x === 'number' && Number.isFinite(x)) || cuts.some((x, k) => k > 0 && !((x as number) < (cuts[k - 1] as number)))) {
          fail(`${at}.scale.cutoffs must be ${n} point thresholds, descending (the least points of each grade but the last), got ${JSON.stringify(cuts)}`);
        }
      } else if (scale['cutoffs'] !== undefined) fail(`${at}.scale.cutoffs go with "by": "cutoffs"`);
    } else {
      const { min, max } = scale as { min?: unknown; max?: unknown };
      if (!(typeof min === 'number' && Number.isFinite(min) && typeof max === 'number' && Number.isFinite(max))) {
        fail(`${at}.scale must be { "min": NUMBER, "max": NUMBER } or { "grades": [...] }, got ${JSON.stringify(scale)}`);
      }
      if (min === max) fail(`${at}.scale: min and max are both ${String(min)}: the scale has no room`, 'e.g. "scale": { "min": 0, "max": 100 }');
      if ((min as number) > (max as number)) fail(`${at}.scale: min (${String(min)}) is above max (${String(max)})`);
    }
    const o = d.objective as Partial<CustomObjective> | undefined;
    if (o === null || typeof o !== 'object' || Array.isArray(o)) return fail(`${at}.objective must be { "event": "purchase", "withinDays": 90 }`);
    if (typeof o.event !== 'string' || !((CUSTOM_OBJECTIVES as readonly string[]).includes(o.event) || EVENT_TYPE_NAME.test(o.event))) {
      fail(`${at}.objective.event must be purchase, churn, spend or an event type (e.g. review, referral), got ${JSON.stringify(o.event)}`);
    }
    if (!(typeof o.withinDays === 'number' && Number.isInteger(o.withinDays) && o.withinDays >= 1 && o.withinDays <= 730)) {
      fail(`${at}.objective.withinDays must be a whole number of days from 1 to 730, got ${JSON.stringify(o.withinDays)}`);
    }
    if (o.event === 'spend') {
      if (!(typeof o.threshold === 'number' && Number.isFinite(o.threshold) && o.threshold >= 0)) fail(`${at}.objective: spend needs a threshold (net spend above it, in the store's currency), got ${JSON.stringify(o.threshold)}`);
    } else if (o.event === 'purchase' || o.event === 'churn') {
      if (o.threshold !== undefined) fail(`${at}.objective.threshold goes with spend or an event type, not ${o.event}`);
    } else if (o.threshold !== undefined && !(typeof o.threshold === 'number' && Number.isInteger(o.threshold) && o.threshold >= 1)) {
      fail(`${at}.objective.threshold of an event type is the least number of events, a whole number >= 1, got ${JSON.stringify(o.threshold)}`);
    }
  });
}

const REFIT_EXAMPLES = '{ "every": "run" }, { "every": "runs", "runs": 7 } or { "every": "drift", "psi": 0.2 }';

/** The refit policy: one of three shapes, with a whole number of runs or a positive PSI. */
function validateRefit(r: RefitPolicy, where: string): void {
  const fail = (m: string): never => {
    throw new KairosError('USAGE', `${where}: refit ${m}`, { hint: `e.g. ${REFIT_EXAMPLES}` });
  };
  if (r === null || typeof r !== 'object' || Array.isArray(r)) fail(`must be an object, e.g. ${REFIT_EXAMPLES}`);
  const keys = Object.keys(r).sort().join(',');
  if (r.every === 'run') {
    if (keys !== 'every') fail('{ "every": "run" } takes no other key');
  } else if (r.every === 'runs') {
    if (keys !== 'every,runs') fail('{ "every": "runs" } takes "runs" only');
    if (!(Number.isInteger(r.runs) && r.runs >= 1 && r.runs <= 1000)) fail(`.runs must be an integer from 1 to 1000, got ${String(r.runs)}`);
  } else if (r.every === 'drift') {
    if (keys !== 'every,psi') fail('{ "every": "drift" } takes "psi" only');
    if (!(typeof r.psi === 'number' && r.psi > 0 && r.psi <= 10)) fail(`.psi must be a number in (0, 10] (0.1: moderate shift, 0.25: major), got ${String(r.psi)}`);
  } else fail(`.every must be "run", "runs" or "drift", got ${JSON.stringify((r as { every?: unknown }).every)}`);
}

const ENTITIES = ['customers', 'products', 'orders', 'events'];

/** The watch settings: entities by pattern, positive intervals. */
function validateWatch(w: WatchSettings, where: string): void {
  for (const [pattern, entity] of Object.entries(w.entities)) {
    if (!ENTITIES.includes(entity)) throw new KairosError('USAGE', `${where}: watch.entities["${pattern}"] must be one of ${ENTITIES.join(', ')}, got ${JSON.stringify(entity)}`);
  }
  if (!(typeof w.intervalSeconds === 'number' && w.intervalSeconds >= 0.1 && w.intervalSeconds <= 3600)) {
    throw new KairosError('USAGE', `${where}: watch.intervalSeconds must be a number from 0.1 to 3600, got ${String(w.intervalSeconds)}`);
  }
  if (!(typeof w.settleSeconds === 'number' && w.settleSeconds >= 0 && w.settleSeconds <= 3600)) {
    throw new KairosError('USAGE', `${where}: watch.settleSeconds must be a number from 0 to 3600, got ${String(w.settleSeconds)}`);
  }
}

/** The lifecycle thresholds: whole days and purchases, a probability, new within active within lapsed. */
function validateLifecycle(l: LifecycleSettings, where: string): void {
  const fail = (m: string): never => {
    throw new KairosError('USAGE', `${where}: lifecycle.${m}`);
  };
  for (const k of ['newDays', 'activeDays', 'lapsedDays', 'loyalPurchases', 'loyalTenureDays'] as const) {
    const v = l[k];
    if (!(typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= 10_000)) fail(`${k} must be a whole number from 1 to 10,000, got ${JSON.stringify(v)}`);
  }
  if (!(typeof l.atRiskChurnRisk === 'number' && l.atRiskChurnRisk > 0 && l.atRiskChurnRisk <= 1)) fail(`atRiskChurnRisk must be in (0, 1], got ${JSON.stringify(l.atRiskChurnRisk)}`);
  if (!(l.activeDays <= l.lapsedDays)) fail(`activeDays (${l.activeDays}) must not exceed lapsedDays (${l.lapsedDays})`);
}

/** The promotion settings: text patterns, a response weight >= 0, ordered label thresholds. */
function validatePromotion(p: PromotionSettings, where: string): void {
  if (!Array.isArray(p.emailCampaigns) || !p.emailCampaigns.every((x) => typeof x === 'string' && x.length > 0)) {
    throw new KairosError('USAGE', `${where}: promotion.emailCampaigns must be a list of campaign_id patterns (SQL LIKE, e.g. "PROMO-%"), got ${JSON.stringify(p.emailCampaigns)}`);
  }
  if (!(typeof p.responseWeight === 'number' && p.responseWeight >= 0 && p.responseWeight <= 5)) {
    throw new KairosError('USAGE', `${where}: promotion.responseWeight must be a number from 0 to 5, got ${JSON.stringify(p.responseWeight)}`);
  }
  const [f, s, d] = [p.fullPriceBelow, p.sensitiveFrom, p.drivenFrom];
  if (!([f, s, d].every((x) => typeof x === 'number' && Number.isFinite(x)) && f > 0 && f <= 1 && s >= 1 && s < d)) {
    throw new KairosError('USAGE', `${where}: promotion thresholds must satisfy 0 < fullPriceBelow <= 1 <= sensitiveFrom < drivenFrom (odds ratios), got ${JSON.stringify([f, s, d])}`);
  }
}

const RECOMMEND_CANDIDATES = ['item-knn', 'als', 'popularity'] as const;

/** The recommendation settings: sizes in range, finite non-negative event weights, known candidates. */
function validateRecommend(r: RecommendSettings, where: string): void {
  const fail = (message: string): never => {
    throw new KairosError('USAGE', `${where}: recommend.${message}`);
  };
  const integer = (name: string, v: unknown, min: number, max: number): void => {
    if (!(typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max)) fail(`${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(v)}`);
  };
  if (typeof r.enabled !== 'boolean') fail('enabled must be true or false');
  integer('k', r.k, 1, 100);
  integer('holdoutDays', r.holdoutDays, 1, 365);
  if (!(typeof r.halfLifeDays === 'number' && r.halfLifeDays > 0 && Number.isFinite(r.halfLifeDays))) fail(`halfLifeDays must be a number of days > 0, got ${JSON.stringify(r.halfLifeDays)}`);
  if (r.eventWeights === null || typeof r.eventWeights !== 'object' || Array.isArray(r.eventWeights)) fail('eventWeights must be an object of event type -> weight');
  for (const [type, w] of Object.entries(r.eventWeights)) {
    if (!EVENT_TYPE_NAME.test(type)) fail(`eventWeights: "${type}" is not an event type name`);
    if (!(typeof w === 'number' && Number.isFinite(w) && w >= 0)) fail(`eventWeights.${type} must be a number >= 0, got ${JSON.stringify(w)}`);
  }
  if (!Array.isArray(r.consumableCategories) || r.consumableCategories.some((c) => typeof c !== 'string')) fail('consumableCategories must be a list of category names');
  if (!Array.isArray(r.candidates) || r.candidates.length === 0) fail(`candidates must be a non-empty list of ${RECOMMEND_CANDIDATES.join(', ')}`);
  for (const c of r.candidates) {
    if (!(RECOMMEND_CANDIDATES as readonly string[]).includes(c)) fail(`candidates: invalid recommender "${String(c)}" (expected one of ${RECOMMEND_CANDIDATES.join(', ')})`);
  }
  if (r.popularitySegments !== 'none' && r.popularitySegments !== 'country') fail(`popularitySegments must be "none" or "country", got ${JSON.stringify(r.popularitySegments)}`);
  integer('als.factors', r.als?.factors, 1, 512);
  integer('als.iterations', r.als?.iterations, 1, 100);
  integer('itemKnn.minSupport', r.itemKnn?.minSupport, 1, 1_000_000);
  if (!(typeof r.itemKnn?.shrinkage === 'number' && Number.isFinite(r.itemKnn.shrinkage) && r.itemKnn.shrinkage >= 0)) fail(`itemKnn.shrinkage must be a number >= 0, got ${JSON.stringify(r.itemKnn?.shrinkage)}`);
}

/** The affinity settings: a known grouping, whole numbers in range. */
function validateAffinity(a: AffinitySettings, where: string): void {
  if (typeof a.enabled !== 'boolean') throw new KairosError('USAGE', `${where}: affinity.enabled must be true or false`);
  if (typeof a.by !== 'string' || !(a.by === 'category' || /^attribute:[^\s"]+$/.test(a.by))) {
    throw new KairosError('USAGE', `${where}: affinity.by must be 'category' or 'attribute:<key>' (e.g. attribute:brand), got ${JSON.stringify(a.by)}`);
  }
  const integer = (name: keyof AffinitySettings, min: number, max: number): void => {
    const v = a[name];
    if (!(typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max)) {
      throw new KairosError('USAGE', `${where}: affinity.${name} must be an integer from ${min} to ${max}, got ${String(v)}`);
    }
  };
  integer('level', 1, 10);
  integer('horizonDays', 7, 730);
  integer('maxGroups', 1, 1000);
  integer('snapshots', 1, 24);
  integer('stepDays', 1, 365);
  if (!(a.sampleCustomers === 0 || (Number.isInteger(a.sampleCustomers) && a.sampleCustomers >= 100))) {
    throw new KairosError('USAGE', `${where}: affinity.sampleCustomers must be 0 (every customer) or an integer of at least 100, got ${a.sampleCustomers}`);
  }
}

/** Event type names as ingest stores them: lower snake case (letters that are not upper case, digits, underscores). */
const EVENT_TYPE_NAME = /^(?:(?!\p{Lu})[\p{L}\p{N}_])+$/u;

/** The engagement settings: event type names, finite weights, a half-life for every weighted type, ordered thresholds. */
function validateEngagement(e: EngagementSettings, where: string): void {
  const fail = (message: string, hint?: string): never => {
    throw new KairosError('USAGE', `${where}: ${message}`, hint === undefined ? {} : { hint });
  };
  const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
  const types = (key: string, record: Record<string, number>, check: (v: number) => boolean, expected: string): void => {
    if (record === null || typeof record !== 'object' || Array.isArray(record)) fail(`${key} must be an object of event type -> number`);
    for (const [type, v] of Object.entries(record)) {
      if (!EVENT_TYPE_NAME.test(type)) fail(`${key}: "${type}" is not an event type name`, 'event types are stored in lower snake case (ingest turns "Email Open" into email_open)');
      if (!isNumber(v) || !check(v)) fail(`${key}.${type} must be ${expected}, got ${JSON.stringify(v)}`);
    }
  };
  types('engagement.halfLifeDays', e.halfLifeDays, (v) => v > 0, 'a number of days > 0');
  types('engagement.weights', e.weights, () => true, 'a number');
  types('engagement.ambassador.weights', e.ambassador?.weights, () => true, 'a number');
  for (const [key, weights] of [['engagement.weights', e.weights], ['engagement.ambassador.weights', e.ambassador.weights]] as const) {
    for (const [type, w] of Object.entries(weights)) {
      if (w !== 0 && e.halfLifeDays[type] === undefined) {
        fail(`${key}.${type} is ${w} but engagement.halfLifeDays has no ${type}`, `add "${type}": DAYS to engagement.halfLifeDays (how fast one such event stops counting)`);
      }
    }
  }
  for (const [key, v] of [['engagement.midpoint', e.midpoint], ['engagement.ambassador.midpoint', e.ambassador.midpoint]] as const) {
    if (!isNumber(v) || v <= 0) fail(`${key} must be a number > 0, got ${JSON.stringify(v)}`);
  }
  if (!isNumber(e.trendBand) || e.trendBand < 0 || e.trendBand >= 100) fail(`engagement.trendBand must be a number of points from 0 to 100, got ${JSON.stringify(e.trendBand)}`);
  if (!(isNumber(e.dormantBelow) && isNumber(e.highlyEngagedFrom) && e.dormantBelow >= 0 && e.dormantBelow < e.highlyEngagedFrom && e.highlyEngagedFrom <= 100)) {
    fail(`engagement.dormantBelow and engagement.highlyEngagedFrom must satisfy 0 <= dormantBelow < highlyEngagedFrom <= 100, got ${JSON.stringify(e.dormantBelow)} and ${JSON.stringify(e.highlyEngagedFrom)}`);
  }
  const { ambassadorFrom: a, supporterFrom: sf } = e.ambassador;
  if (!(isNumber(a) && isNumber(sf) && sf > 0 && sf < a && a <= 100)) {
    fail(`engagement.ambassador.supporterFrom and ambassadorFrom must satisfy 0 < supporterFrom < ambassadorFrom <= 100, got ${JSON.stringify(sf)} and ${JSON.stringify(a)}`);
  }
  const [lo, hi] = Array.isArray(e.ambassador.ratingScale) ? e.ambassador.ratingScale : [];
  if (!(isNumber(lo) && isNumber(hi) && lo < hi && e.ambassador.ratingScale.length === 2)) {
    fail(`engagement.ambassador.ratingScale must be [lowest, highest] ratings, lowest < highest, got ${JSON.stringify(e.ambassador.ratingScale)}`);
  }
}
