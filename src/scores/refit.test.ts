// The refit policy (config `refit`): every N runs the purchase and spend models are fitted, in between the last fit is reused; drift; config errors.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG, loadConfig, type KairosConfig, type RefitPolicy } from '../config.js';
import type { Store } from '../store/db.js';
import { toyStore } from '../testing/toy-scorers.js';
import { runScores } from './run.js';

let dir: string;
let store: Store;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kairos-refit-'));
  store = await toyStore(dir, join(dir, 'k.duckdb'));
});
afterAll(() => {
  store?.close();
  rmSync(dir, { recursive: true, force: true });
});

// One purchase model (no choice among three on a holdout): the policy is the same, the runs faster.
const config = (refit: RefitPolicy): KairosConfig => {
  const c = structuredClone(DEFAULT_CONFIG);
  return { ...c, scores: { ...c.scores, model: 'bg-nbd' }, refit };
};
const fits = async (runId: number): Promise<Record<string, { params: Record<string, number>; reusedFrom?: number }>> =>
  Object.fromEntries((await store.all<{ model: string; fit: string }>('SELECT model, fit::VARCHAR AS fit FROM model_fits WHERE run_id = ?', [runId])).map((r) => [r.model, JSON.parse(r.fit)]));

describe('refit policy', () => {
  it('every 2 runs: the second run scores with the first run’s fitted parameters (and says so), the third refits', async () => {
    const every2 = config({ every: 'runs', runs: 2 });
    const r1 = await runScores(store, { config: every2, asOf: '2023-08-01', scorers: ['rfm', 'clv'] });
    expect(r1.notes.join('\n')).toMatch(/no earlier fit of the purchase model to reuse, fitted/);
    const r2 = await runScores(store, { config: every2, asOf: '2023-10-01', scorers: ['rfm', 'clv'] });
    expect(r2.notes.join('\n')).toMatch(new RegExp(`every 2 runs: the fitted models of run ${r1.runId} reused \\(run 2 of 2 on them\\); learned \\(boosted trees\\)`));
    const [f1, f2] = [await fits(r1.runId), await fits(r2.runId)];
    const model = Object.keys(f1).find((m) => m !== 'gamma-gamma') as string;
    expect(f2[model]?.params).toEqual(f1[model]?.params);
    expect(f2[model]?.reusedFrom).toBe(r1.runId);
    expect(f2['gamma-gamma']?.params).toEqual(f1['gamma-gamma']?.params);
    // The scores are the reused model's on the new data: the same p_alive as a run that fits gives the parameters of run 1.
    expect(Number(await store.value('SELECT count(*) FROM scores_clv WHERE run_id = ? AND p_alive IS NOT NULL', [r2.runId]))).toBeGreaterThan(300);
    const r3 = await runScores(store, { config: every2, asOf: '2023-10-01', scorers: ['rfm', 'clv'] });
    expect(r3.notes.join('\n')).toMatch(new RegExp(`every 2 runs, and 2 run\\(s\\) have scored with the fit of run ${r1.runId}: refitted`));
    expect((await fits(r3.runId))[model]?.reusedFrom).toBeUndefined();
  });

  it('on drift: reuses while the last run’s PSI is within the threshold, refits above it', async () => {
    const within = await runScores(store, { config: config({ every: 'drift', psi: 10 }), asOf: '2023-09-01', scorers: ['rfm', 'clv'] });
    expect(within.notes.join('\n')).toMatch(/drift PSI \d\.\d{3} \(\w+, run \d+\) within 10: the fitted models of run \d+ reused/);
    const above = await runScores(store, { config: config({ every: 'drift', psi: 1e-9 }), asOf: '2023-10-01', scorers: ['rfm', 'clv'] });
    expect(above.notes.join('\n')).toMatch(/drift PSI \d\.\d{3} \(\w+, run \d+\) exceeds 1e-9: refitted/);
  });

  it('refuses a malformed policy with a clear error', () => {
    const file = join(dir, 'kairos.config.json');
    for (const [refit, message] of [
      [{ every: 'week' }, /refit \.every must be "run", "runs" or "drift", got "week"/],
      [{ every: 'runs', runs: 0 }, /refit \.runs must be an integer from 1 to 1000, got 0/],
      [{ every: 'drift' }, /refit \{ "every": "drift" \} takes "psi" only/],
      [{ every: 'drift', psi: -1 }, /refit \.psi must be a number in \(0, 10\]/],
    ] as const) {
      writeFileSync(file, JSON.stringify({ refit }));
      expect(() => loadConfig(file)).toThrow(message);
    }
    writeFileSync(file, JSON.stringify({ watch: { entities: { 'x*.csv': 'invoices' } } }));
    expect(() => loadConfig(file)).toThrow(/watch.entities\["x\*.csv"\] must be one of customers, products, orders, events, got "invoices"/);
  });
});
