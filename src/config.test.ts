import { describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG, validateConfig, type KairosConfig } from './config.js';
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

describe('tuneAllocator', () => {
  it("sets DuckDB's jemalloc options unless the environment already has some", () => {
    expect(tuneAllocator({})['DUCKDB_JE_MALLOC_CONF']).toBe(DUCKDB_ALLOCATOR_CONF);
    expect(tuneAllocator({ DUCKDB_JE_MALLOC_CONF: 'dirty_decay_ms:0' })['DUCKDB_JE_MALLOC_CONF']).toBe('dirty_decay_ms:0');
  });
});
