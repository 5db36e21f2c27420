// The backtest split: holdout lengths, the cut, and the no-leakage property (no holdout row reaches a fit, the store is unchanged).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG } from '../config.js';
import { KairosError } from '../errors.js';
import { TRANSACTION_MODEL_NAMES } from '../models/index.js';
import type { Store } from '../store/db.js';
import { fixtureStore } from '../testing/orders-fixture.js';
import { clvDetails, evaluateStore, type EvaluationResult } from '../evaluate/evaluate.js';
import { parseHoldout, resolveSplit } from './split.js';

const SPLIT = { calibrationEnd: '2023-08-31', holdout: '16w' } as const;

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'kairos-split-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

async function withFixture<T>(name: string, extra: readonly string[], fn: (store: Store) => Promise<T>): Promise<T> {
  const store = await fixtureStore(join(dir, name), join(dir, `${name}.duckdb`), {}, extra);
  try {
    return await fn(store);
  } finally {
    store.close();
  }
}

/** Bit-for-bit equality of two float arrays (NaN equal to NaN, 0 distinct from −0). */
function sameBits(a: Float64Array, b: Float64Array): boolean {
  return a.length === b.length && Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

describe('parseHoldout', () => {
  it('reads days and weeks', () => {
    expect(parseHoldout('180d')).toBe(180);
    expect(parseHoldout('39w')).toBe(273);
    expect(parseHoldout('26 W')).toBe(182);
    expect(parseHoldout('12')).toBe(12);
    expect(parseHoldout(30)).toBe(30);
  });

  it('rejects anything else as a usage error naming the format', () => {
    for (const bad of ['0d', '3x', '-5d', '1.5w', '', 'six weeks']) {
      expect(() => parseHoldout(bad)).toThrow(KairosError);
      expect(() => parseHoldout(bad)).toThrow(/expected Nd or Nw/);
    }
  });
});

describe('resolveSplit', () => {
  it('cuts at the midnight after --calibration-end, or at --as-of, and defaults the holdout to the rest of the data', async () => {
    await withFixture('a', [], async (store) => {
      const byEnd = await resolveSplit(store, SPLIT);
      expect(byEnd).toMatchObject({ cut: '2023-09-01 00:00:00', holdoutDays: 112, holdoutStart: '2023-09-01', calibrationEnd: '2023-08-31', holdoutLast: '2023-12-21' });
      const byAsOf = await resolveSplit(store, { asOf: '2023-09-01', holdout: '112d' });
      expect(byAsOf).toEqual(byEnd);
      const rest = await resolveSplit(store, { calibrationEnd: '2023-08-31' });
      expect(rest.holdoutEnd).toBe(rest.dataEnd);
      const none = await resolveSplit(store, {});
      expect(none.holdoutDays).toBe(180);
      expect(none.holdoutEnd).toBe(none.dataEnd);
    });
  });

  it('refuses contradictory or impossible splits with a usage error that says what to change', async () => {
    await withFixture('a', [], async (store) => {
      await expect(resolveSplit(store, { calibrationEnd: '2023-08-31', asOf: '2023-09-01' })).rejects.toThrow(/not both/);
      await expect(resolveSplit(store, { calibrationEnd: '2023-08-31', holdout: '52w' })).rejects.toMatchObject({ code: 'USAGE', hint: expect.stringMatching(/--holdout \d+d or less/) });
      await expect(resolveSplit(store, { calibrationEnd: '2030-01-01' })).rejects.toMatchObject({ code: 'USAGE' });
      await expect(resolveSplit(store, { calibrationEnd: '2022-01-01' })).rejects.toMatchObject({ code: 'INSUFFICIENT_DATA' });
      await expect(resolveSplit(store, { calibrationEnd: '31/08/2023' })).rejects.toMatchObject({ code: 'USAGE' });
    });
  });
});

describe('no leakage from the holdout', () => {
  // Absurd rows after the cut: existing customers buying for a million in the holdout, customers first seen in the
  // holdout, and rows after the holdout's end. None may change a fit, the calibration summary or the population.
  const absurd = [
    ...Array.from({ length: 60 }, (_, i) => `X${i},K${String(i + 1).padStart(4, '0')},2023-10-${String((i % 28) + 1).padStart(2, '0')}T12:00:00Z,1000000.00,completed`),
    ...Array.from({ length: 60 }, (_, i) => `Y${i},K${String(i + 1).padStart(4, '0')},2023-11-${String((i % 28) + 1).padStart(2, '0')}T12:00:00Z,999999.00,completed`),
    ...Array.from({ length: 40 }, (_, i) => `N${i},NEW${i},2023-09-${String((i % 28) + 1).padStart(2, '0')}T08:00:00Z,5000.00,completed`),
    ...Array.from({ length: 40 }, (_, i) => `N${i}b,NEW${i},2023-10-${String((i % 28) + 1).padStart(2, '0')}T08:00:00Z,5000.00,completed`),
    ...Array.from({ length: 30 }, (_, i) => `Z${i},K${String(i + 100).padStart(4, '0')},2024-01-${String((i % 28) + 1).padStart(2, '0')}T08:00:00Z,777777.00,completed`),
  ];
  const holdoutAbsurdValue = 60 * 1_000_000 + 60 * 999_999;

  it('fits, parameters, model choice and calibration summary are bit-identical with absurd holdout rows; the holdout side sees them', async () => {
    // One DuckDB thread: amounts are DOUBLE and a parallel sum adds them in a thread-dependent order, so two runs on
    // the same rows can differ in the last bit. With one thread both stores sum the calibration rows in the same order.
    const run = (name: string, extra: readonly string[]): Promise<EvaluationResult> =>
      withFixture(name, extra, async (store) => {
        await store.run('SET threads = 1');
        return evaluateStore(store, { config: DEFAULT_CONFIG, ...SPLIT, generatedAt: 'fixed' });
      });
    const clean = await run('clean', []);
    const dirty = await run('dirty', absurd);

    // The calibration population and its summary: same customers, same x, t_x, T, m to the last bit.
    expect(clvDetails(dirty).calibration.customerIds).toEqual(clvDetails(clean).calibration.customerIds);
    expect(clvDetails(dirty).calibration.customerIds.some((id) => id.startsWith('NEW'))).toBe(false);
    expect(dirty.report.customers).toBe(clean.report.customers);
    for (const k of ['x', 'tx', 'T', 'm'] as const) expect(sameBits(clvDetails(dirty).calibration[k], clvDetails(clean).calibration[k]), k).toBe(true);

    // Every fit: identical parameters, standard errors and log-likelihood.
    for (const name of TRANSACTION_MODEL_NAMES) {
      const a = clvDetails(clean).models[name].fit;
      const b = clvDetails(dirty).models[name].fit;
      expect(a, name).not.toBeNull();
      expect(b?.params).toEqual(a?.params);
      expect(b?.diagnostics.standardErrors).toEqual(a?.diagnostics.standardErrors);
      expect(b?.diagnostics.logLik).toBe(a?.diagnostics.logLik);
      for (const [p, v] of Object.entries(a?.params ?? {})) expect(Object.is(b?.params[p], v), `${name}.${p}`).toBe(true);
    }
    expect(clvDetails(dirty).spend.fit?.params).toEqual(clvDetails(clean).spend.fit?.params);
    expect(clvDetails(dirty).choice).toEqual(clvDetails(clean).choice);
    // The calibration half of the tracking chart and its parameters tables are identical too.
    const cal = (r: EvaluationResult): unknown => r.report.scores.map((s) => s.parameters);
    expect(cal(dirty)).toEqual(cal(clean));

    // The holdout did see the absurd rows (so the comparison above is not vacuous), but not those after its end.
    expect(clvDetails(dirty).totals.holdoutValue - clvDetails(clean).totals.holdoutValue).toBeCloseTo(holdoutAbsurdValue, 2);
    expect(clvDetails(dirty).totals.holdoutActual).toBeGreaterThan(clvDetails(clean).totals.holdoutActual);
    const headline = (r: EvaluationResult, i: number): number | null => r.report.scores[i]?.metrics[0]?.model ?? null;
    expect(headline(dirty, 0)).not.toBe(headline(clean, 0));
  });

  it('leaves the store as it was: the evaluation runs in a rolled-back transaction', async () => {
    await withFixture('a', [], async (store) => {
      const state = async (): Promise<unknown> => ({
        tables: await store.all(`SELECT schema_name, table_name, temporary, estimated_size FROM duckdb_tables() ORDER BY ALL`),
        views: await store.all(`SELECT view_name, temporary FROM duckdb_views() WHERE NOT internal ORDER BY ALL`),
        orders: await store.value('SELECT count(*) FROM orders'),
        runs: await store.value('SELECT count(*) FROM score_runs'),
      });
      const before = await state();
      await evaluateStore(store, { config: DEFAULT_CONFIG, ...SPLIT });
      expect(await state()).toEqual(before);
      await expect(evaluateStore(store, { config: DEFAULT_CONFIG, calibrationEnd: '2023-08-31', holdout: '60w' })).rejects.toThrow(KairosError);
      expect(await state()).toEqual(before);
    });
  });
});
