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

export interface KairosConfig {
  /** ISO 4217 code of all money in the store. */
  currency: string;
  /** IANA zone used for timestamps written without an offset. Everything is stored in UTC. */
  timezone: string;
  ingest: Partial<Record<Entity, IngestSettings>>;
  rfm: { bins: number };
  scores: ScoreSettings;
  learned: LearnedSettings;
}

export const DEFAULT_CONFIG: KairosConfig = {
  currency: 'EUR',
  timezone: 'UTC',
  ingest: {},
  rfm: { bins: 5 },
  scores: { model: 'auto', clvMonths: 12, monthlyDiscountRate: 0.01, decisiveThreshold: 0.5, offerLeadDays: 14, summaryPartitions: 1, choiceSample: 50_000 },
  learned: { enabled: true, churnDays: 90, snapshots: 4, stepDays: 30, sampleCustomers: 100_000, rounds: 400, maxDepth: 3, learningRate: 0.05 },
};

export const CONFIG_FILE = 'kairos.config.json';

/** Loads `path` (or ./kairos.config.json when present) over the defaults, checking the few values that can be wrong. */
export function loadConfig(path?: string): KairosConfig {
  const file = resolve(path ?? CONFIG_FILE);
  if (!existsSync(file)) {
    if (path) throw new KairosError('NOT_FOUND', `config file ${file} not found`);
    return structuredClone(DEFAULT_CONFIG);
  }
  let raw: Partial<KairosConfig>;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8')) as Partial<KairosConfig>;
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
  };
  validateConfig(config, file);
  return config;
}

/** Checks the values a typo would make absurd. */
export function validateConfig(config: KairosConfig, where = 'config'): void {
  if (!/^[A-Z]{3}$/.test(config.currency)) throw new KairosError('USAGE', `${where}: currency "${config.currency}" is not an ISO 4217 code`);
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
}
