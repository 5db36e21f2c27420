// The backtest end to end on a tiny deterministic shop: the report's JSON against a golden file, and failures reported, not thrown.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG } from '../config.js';
import { ingest } from '../ingest/ingest.js';
import { Store } from '../store/db.js';
import { fixtureStore } from '../testing/orders-fixture.js';
import { clvDetails, evaluateStore, type EvaluationResult } from './evaluate.js';
import { renderReportHtml } from './report/html.js';
import { renderReportJson } from './report/json.js';
import { SCORE_KINDS, type EvaluationReport } from '../backtest/types.js';

const golden = join(dirname(fileURLToPath(import.meta.url)), '__fixtures__', 'evaluate.golden.json');

/** Golden normalisation: the stable JSON, with every non-integer rounded further to 4 significant digits. */
function normaliseReport(report: EvaluationReport): string {
  const round = (v: unknown): unknown => {
    if (typeof v === 'number') return Number.isInteger(v) ? v : Number(v.toPrecision(4));
    if (Array.isArray(v)) return v.map(round);
    if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, round(x)]));
    return v;
  };
  return `${JSON.stringify(round(JSON.parse(renderReportJson(report))), null, 2)}\n`;
}

let dir: string;
let result: EvaluationResult;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kairos-evaluate-'));
  const store = await fixtureStore(dir, join(dir, 'k.duckdb'));
  try {
    await store.run('SET threads = 1'); // DOUBLE sums are bit-reproducible only in one thread (see split.test.ts)
    result = await evaluateStore(store, {
      config: DEFAULT_CONFIG,
      calibrationEnd: '2023-08-31',
      holdout: '16w',
      dataset: 'fixture',
      generatedAt: '2024-05-01T12:00:00.000Z',
    });
  } finally {
    store.close();
  }
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('evaluateStore on the fixture shop', () => {
  it('matches the golden report (set KAIROS_UPDATE_GOLDEN=1 to rewrite it after a deliberate change)', () => {
    const json = normaliseReport(result.report);
    if (process.env.KAIROS_UPDATE_GOLDEN === '1') writeFileSync(golden, json);
    expect(json).toBe(readFileSync(golden, 'utf8'));
  });

  it('has every evaluated kind, three count sections side by side, graded, NaN-free', () => {
    const r = result.report;
    expect(r.schemaVersion).toBe(1);
    expect(r.calibration).toEqual({ start: '2023-01-01', end: '2023-08-31' });
    expect(r.holdout).toEqual({ start: '2023-09-01', end: '2023-12-21' });
    const kinds = r.scores.map((s) => s.kind);
    // clv: three purchase models, value, P(alive), conversion, decisive moment; learned: churn (trees, purchase model), conversion, value.
    expect(kinds).toEqual(['count', 'count', 'count', 'value', 'probability', 'probability', 'decisive-moment', 'probability', 'probability', 'probability', 'value']);
    expect(kinds.every((k) => SCORE_KINDS.includes(k))).toBe(true);
    // The fixture's orders carry no product id: the recommendations are not backtested (no section, not a fake one).
    expect(kinds).not.toContain('ranking');
    expect(new Set(r.scores.slice(0, 3).map((s) => s.model))).toEqual(new Set(['bg-nbd', 'pareto-nbd', 'mbg-nbd']));
    expect(r.scores[0]?.name).toContain('(chosen for scoring)');
    expect(r.scores[0]?.description).toMatch(/wins on this holdout/);
    for (const s of r.scores) {
      expect(['A', 'B', 'C']).toContain(s.grade.grade);
      expect(s.metrics[0]?.model).not.toBeNull();
      expect(s.metrics[0]?.baseline).not.toBeNull();
      expect(s.charts.length).toBeGreaterThan(0);
    }
    const json = renderReportJson(r); // throws on NaN or Infinity
    expect(json).not.toMatch(/NaN|Infinity/);
    expect(renderReportHtml(r)).not.toContain('NaN');
    const tracking = r.scores[0]?.charts[0];
    expect(tracking?.kind).toBe('tracking');
    if (tracking?.kind === 'tracking') {
      expect(tracking.periods.length).toBe(tracking.actualCumulative.length);
      expect(tracking.periods[tracking.holdoutStartIndex]).toBe('2023-09-01');
      expect(tracking.actualCumulative.at(-1)).toBe(clvDetails(result).totals.calibrationActual + clvDetails(result).totals.holdoutActual);
    }
  });

  it('says which purchase model wins and keeps the totals consistent', () => {
    const d = clvDetails(result);
    const maes = (['bg-nbd', 'pareto-nbd', 'mbg-nbd'] as const).map((m) => d.models[m].holdoutMae as number);
    expect(d.models[d.winner ?? 'bg-nbd'].holdoutMae).toBe(Math.min(...maes));
    const ce = result.report.scores[0]?.charts.find((c) => c.kind === 'conditional-expectation');
    expect(ce?.kind === 'conditional-expectation' ? ce.buckets.reduce((n, b) => n + b.count, 0) : 0).toBe(result.report.customers);
    for (const m of ['bg-nbd', 'pareto-nbd', 'mbg-nbd'] as const) {
      expect(d.models[m].totalConditional).toBeGreaterThan(0);
      expect(d.models[m].calibrationTracking).toBeGreaterThan(0);
    }
  });
});

describe('evaluateStore when the models cannot be fitted', () => {
  it('reports every model section as N/A with the reason instead of crashing', async () => {
    const tiny = mkdtempSync(join(tmpdir(), 'kairos-evaluate-tiny-'));
    const file = join(tiny, 'orders.csv');
    // Four one-time buyers before the cut, one of them buying again in the holdout: nothing to fit a model on.
    writeFileSync(
      file,
      ['order_id,customer_id,ordered_at,amount', 'a,c1,2024-01-03,10', 'b,c2,2024-01-10,20', 'c,c3,2024-02-01,15', 'd,c4,2024-02-20,30', 'e,c1,2024-03-15,12', 'f,c9,2024-03-30,5'].join('\n'),
    );
    const store = await Store.open(join(tiny, 'k.duckdb'));
    try {
      await ingest(store, { entity: 'orders', files: [file], rejectsDir: tiny, now: new Date('2030-01-01T00:00:00Z') });
      const r = await evaluateStore(store, { config: DEFAULT_CONFIG, calibrationEnd: '2024-02-29', generatedAt: 'x' });
      expect(r.report.customers).toBe(4);
      for (const s of r.report.scores) {
        expect(s.grade.grade, s.name).toBe('N/A');
        expect(s.metrics[0]?.model).toBeNull();
      }
      expect(r.report.scores[0]?.description).toMatch(/could not be fitted/);
      expect(clvDetails(r).winner).toBeNull();
      expect(() => renderReportJson(r.report)).not.toThrow();
      expect(renderReportHtml(r.report)).not.toContain('NaN');
    } finally {
      store.close();
      rmSync(tiny, { recursive: true, force: true });
    }
  });
});
