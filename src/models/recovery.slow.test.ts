// Slow accuracy test: on 100,000 simulated customers the 95% intervals of every model cover the true parameters.
import { describe, expect, it } from 'vitest';
import { createRng } from '../math/random.js';
import * as gammaGamma from './gamma-gamma/index.js';
import { TRANSACTION_MODEL_NAMES, getTransactionModel, type TransactionModelParams } from './registry.js';
import type { GammaGammaParams, ModelParams, TransactionModel, TransactionModelName } from './types.js';

const CUSTOMERS = 100_000;
const SEEDS = [1, 2, 3, 4];
/** True values in days (the peers' simulation set-up: acquired over a year, calibration ending at day 547). */
const TRUTH: { [N in TransactionModelName]: TransactionModelParams[N] } = {
  'bg-nbd': { r: 0.5, alpha: 28, a: 0.8, b: 3 },
  'pareto-nbd': { r: 0.5, alpha: 28, s: 0.6, beta: 40 },
  'mbg-nbd': { r: 0.5, alpha: 28, a: 0.8, b: 3 },
};
const GG_TRUTH: GammaGammaParams = { p: 6, q: 3.8, gamma: 15 };

function ages(seed: number): Float64Array {
  const rng = createRng(seed);
  const T = new Float64Array(CUSTOMERS);
  for (let i = 0; i < CUSTOMERS; i++) T[i] = 547 - rng.uniformIn(0, 365);
  return T;
}

/** Whether truth lies in estimate ± 1.96 SE, per parameter; logs the z-scores for the report. */
function covered(label: string, params: ModelParams, se: ModelParams, truth: ModelParams): Record<string, boolean> {
  const out: Record<string, boolean> = {};
  const z: string[] = [];
  for (const k of Object.keys(truth)) {
    const score = ((params[k] as number) - (truth[k] as number)) / (se[k] as number);
    out[k] = Math.abs(score) <= 1.959964;
    z.push(`${k} ${score.toFixed(2)}`);
  }
  console.log(`${label}: z = ${z.join(', ')}`);
  return out;
}

function expectCoverage(results: Array<Record<string, boolean>>, names: readonly string[]): void {
  for (const k of names) {
    const hits = results.filter((r) => r[k]).length;
    expect(hits, `${k}: truth inside the 95% CI for ${hits} of ${results.length} seeds`).toBeGreaterThanOrEqual(3);
  }
}

describe('parameter recovery on 100,000 simulated customers (95% CI covers the truth for >= 3 of 4 seeds)', () => {
  it.each(TRANSACTION_MODEL_NAMES)('%s', (name) => {
    const model = getTransactionModel(name) as TransactionModel<ModelParams>;
    const truth = TRUTH[name] as ModelParams;
    const results = SEEDS.map((seed) => {
      const data = model.simulate(truth, { T: ages(seed), seed: 1000 + seed });
      const fit = model.fit(data);
      expect(fit.diagnostics.converged).toBe(true);
      return covered(`${name} seed ${seed}`, fit.params, fit.diagnostics.standardErrors, truth);
    });
    expectCoverage(results, model.paramNames);
  });

  it('gamma-gamma (spend of BG/NBD repeat purchases, unpenalised)', () => {
    const purchases = getTransactionModel('bg-nbd');
    const results = SEEDS.map((seed) => {
      const counts = purchases.simulate(TRUTH['bg-nbd'], { T: ages(seed), seed: 2000 + seed }).x;
      const spend = gammaGamma.simulate(GG_TRUTH, { x: counts, seed: 3000 + seed });
      const fit = gammaGamma.fit(spend.data);
      expect(fit.diagnostics.converged).toBe(true);
      return covered(`gamma-gamma seed ${seed}`, fit.params, fit.diagnostics.standardErrors, GG_TRUTH);
    });
    expectCoverage(results, gammaGamma.PARAM_NAMES);
  });
});
