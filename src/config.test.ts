// Settings: the defaults pass their own checks, a config file merges over them, and absurd values are refused with USAGE.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG, loadConfig, validateConfig, type EngagementSettings, type KairosConfig, type RecommendSettings } from './config.js';
import { DUCKDB_ALLOCATOR_CONF, tuneAllocator } from './store/allocator.js';

const withScores = (scores: Partial<KairosConfig['scores']>): KairosConfig => ({ ...DEFAULT_CONFIG, scores: { ...DEFAULT_CONFIG.scores, ...scores } });

describe('validateConfig', () => {
  it('accepts the defaults and 1 to 64 summary partitions', () => {
    expect(() => validateConfig(DEFAULT_CONFIG)).not.toThrow();
    expect(() => validateConfig(withScores({ summaryPartitions: 64 }))).not.toThrow();
  });

  it('refuses a summary partition count that is not an integer from 1 to 64, with a USAGE error', () => {
    for (const p of [0, 1.5, 65, Number.NaN]) {
      expect(() => validateConfig(withScores({ summaryPartitions: p }))).toThrow(expect.objectContaining({ code: 'USAGE' }));
    }
  });

  it('takes a model-choice sample of 0 (every customer) or at least 1000 customers', () => {
    for (const n of [0, 1000, 100_000]) expect(() => validateConfig(withScores({ choiceSample: n }))).not.toThrow();
    for (const n of [-1, 10, 999, 1500.5]) {
      expect(() => validateConfig(withScores({ choiceSample: n }))).toThrow(expect.objectContaining({ code: 'USAGE' }));
    }
  });
});

const withEngagement = (e: Partial<EngagementSettings>): KairosConfig => ({ ...DEFAULT_CONFIG, engagement: { ...DEFAULT_CONFIG.engagement, ...e } });

describe('engagement settings', () => {
  it('merge a config file over the defaults per event type, keeping the other types and settings', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kairos-config-'));
    try {
      const file = join(dir, 'kairos.config.json');
      writeFileSync(file, JSON.stringify({ engagement: { weights: { web_visit: 4, loyalty_signup: 2 }, halfLifeDays: { loyalty_signup: 90 }, ambassador: { midpoint: 5 } } }));
      const e = loadConfig(file).engagement;
      expect(e.weights).toEqual({ ...DEFAULT_CONFIG.engagement.weights, web_visit: 4, loyalty_signup: 2 });
      expect(e.halfLifeDays['loyalty_signup']).toBe(90);
      expect(e.halfLifeDays['email_open']).toBe(DEFAULT_CONFIG.engagement.halfLifeDays['email_open']);
      expect(e.ambassador).toEqual({ ...DEFAULT_CONFIG.engagement.ambassador, midpoint: 5 });
      expect(e.midpoint).toBe(DEFAULT_CONFIG.engagement.midpoint);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuse a weighted type without a half-life, names that are not stored types, and out-of-order thresholds', () => {
    const refused: [Partial<EngagementSettings>, RegExp][] = [
      [{ weights: { ...DEFAULT_CONFIG.engagement.weights, loyalty_signup: 2 } }, /engagement\.weights\.loyalty_signup is 2 but engagement\.halfLifeDays has no loyalty_signup/],
      [{ weights: { 'Email Open': 1 } }, /"Email Open" is not an event type name/],
      [{ halfLifeDays: { ...DEFAULT_CONFIG.engagement.halfLifeDays, web_visit: 0 } }, /halfLifeDays\.web_visit must be a number of days > 0, got 0/],
      [{ weights: { web_visit: '2' as unknown as number } }, /weights\.web_visit must be a number, got "2"/],
      [{ midpoint: 0 }, /engagement\.midpoint must be a number > 0/],
      [{ dormantBelow: 70 }, /0 <= dormantBelow < highlyEngagedFrom <= 100, got 70 and 60/],
      [{ trendBand: -1 }, /engagement\.trendBand must be a number of points from 0 to 100/],
      [{ ambassador: { ...DEFAULT_CONFIG.engagement.ambassador, ratingScale: [5, 1] } }, /ratingScale must be \[lowest, highest\]/],
      [{ ambassador: { ...DEFAULT_CONFIG.engagement.ambassador, supporterFrom: 60 } }, /0 < supporterFrom < ambassadorFrom <= 100, got 60 and 50/],
    ];
    for (const [e, message] of refused) {
      expect(() => validateConfig(withEngagement(e)), message.source).toThrow(expect.objectContaining({ code: 'USAGE', message: expect.stringMatching(message) }));
    }
    // A weight of 0 needs no half-life: the type is not counted.
    expect(() => validateConfig(withEngagement({ weights: { ...DEFAULT_CONFIG.engagement.weights, loyalty_signup: 0 } }))).not.toThrow();
  });
});

const withRecommend = (r: Partial<RecommendSettings>): KairosConfig => ({ ...DEFAULT_CONFIG, recommend: { ...DEFAULT_CONFIG.recommend, ...r } });

describe('recommend settings', () => {
  it('merge a config file over the defaults (als sizes one by one) and refuse absurd values with USAGE', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kairos-config-'));
    try {
      const file = join(dir, 'kairos.config.json');
      writeFileSync(file, JSON.stringify({ recommend: { k: 5, consumableCategories: ['Grocery'], als: { factors: 16 } } }));
      const r = loadConfig(file).recommend;
      expect(r).toEqual({ ...DEFAULT_CONFIG.recommend, k: 5, consumableCategories: ['Grocery'], als: { ...DEFAULT_CONFIG.recommend.als, factors: 16 } });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const refused: [Partial<RecommendSettings>, RegExp][] = [
      [{ k: 0 }, /recommend\.k must be an integer from 1 to 100, got 0/],
      [{ holdoutDays: 1.5 }, /recommend\.holdoutDays must be an integer/],
      [{ halfLifeDays: 0 }, /recommend\.halfLifeDays must be a number of days > 0/],
      [{ eventWeights: { product_view: -1 } }, /recommend\.eventWeights\.product_view must be a number >= 0/],
      [{ eventWeights: { 'Product View': 1 } }, /"Product View" is not an event type name/],
      [{ candidates: ['svd' as 'als'] }, /invalid recommender "svd" \(expected one of item-knn, als, popularity\)/],
      [{ candidates: [] }, /recommend\.candidates must be a non-empty list/],
      [{ als: { factors: 0, iterations: 10 } }, /recommend\.als\.factors must be an integer from 1 to 512/],
      [{ popularitySegments: 'region' as 'country' }, /recommend\.popularitySegments must be "none" or "country", got "region"/],
    ];
    for (const [r, message] of refused) {
      expect(() => validateConfig(withRecommend(r)), message.source).toThrow(expect.objectContaining({ code: 'USAGE', message: expect.stringMatching(message) }));
    }
  });
});

describe('tuneAllocator', () => {
  it("sets DuckDB's jemalloc options unless the environment already has some", () => {
    expect(tuneAllocator({})['DUCKDB_JE_MALLOC_CONF']).toBe(DUCKDB_ALLOCATOR_CONF);
    expect(tuneAllocator({ DUCKDB_JE_MALLOC_CONF: 'dirty_decay_ms:0' })['DUCKDB_JE_MALLOC_CONF']).toBe('dirty_decay_ms:0');
  });
});
