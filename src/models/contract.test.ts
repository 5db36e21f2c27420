// The contract every registered transaction model (and Gamma-Gamma where it applies) must meet: one suite for all.
import { describe, expect, it } from 'vitest';
import { KairosError } from '../errors.js';
import { createRng } from '../math/random.js';
import { expectClose } from '../testing/expect-close.js';
import * as gammaGamma from './gamma-gamma/index.js';
import { TRANSACTION_MODEL_NAMES, getTransactionModel, type TransactionModelParams } from './registry.js';
import type { GammaGammaParams, ModelParams, SpendData, TransactionModel, TransactionModelName, TransactionSummary } from './types.js';

/** True parameters per model, in days; typed by the registry so that a new model cannot skip the suite. */
const TRUTH: { [N in TransactionModelName]: TransactionModelParams[N] } = {
  'bg-nbd': { r: 0.5, alpha: 28, a: 0.8, b: 3 },
  'pareto-nbd': { r: 0.5, alpha: 28, s: 0.6, beta: 40 },
  'mbg-nbd': { r: 0.5, alpha: 28, a: 0.8, b: 3 },
};

const f = (...v: number[]): Float64Array => Float64Array.from(v);

/** Edge rows: x = 0, t_x = T, T = 0, huge T, a heavy buyer, purchases at time 0. */
const EDGE: TransactionSummary = {
  x: f(0, 0, 0, 1, 1, 3, 5, 200, 2, 1, 0),
  tx: f(0, 0, 0, 0, 0.5, 50, 10, 300, 1e7, 1e-9, 0),
  T: f(0, 100, 1e7, 0, 1, 50, 1e7, 300.5, 1e7, 1e-9, 1e-12),
};

/** Customers acquired uniformly over a year, calibration ending at day 547 (the peers' set-up), seeded. */
function ages(n: number, seed: number): Float64Array {
  const rng = createRng(seed);
  const T = new Float64Array(n);
  for (let i = 0; i < n; i++) T[i] = 547 - rng.uniformIn(0, 365);
  return T;
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return err instanceof KairosError ? err.code : `not a KairosError: ${String(err)}`;
  }
  return undefined;
}

function expectAllFinite(values: Float64Array, label: string): void {
  values.forEach((v, i) => expect(Number.isFinite(v), `${label}[${i}] = ${v}`).toBe(true));
}

const HORIZONS = [0, 0.5, 1, 7, 30, 90, 365, 1e4, 1e6];

describe.each(TRANSACTION_MODEL_NAMES)('transaction model contract: %s', (name) => {
  const model = getTransactionModel(name) as TransactionModel<ModelParams>;
  const params = TRUTH[name] as ModelParams;
  const sample = model.simulate(params, { T: ages(2000, 3), seed: 4 });

  it('is registered under its name with the paper parameter names', () => {
    expect(model.name).toBe(name);
    expect(Object.keys(params)).toEqual([...model.paramNames]);
  });

  it('gives probabilities in [0, 1] (P(alive), conversion), finite on edge inputs', () => {
    for (const data of [EDGE, sample]) {
      const alive = model.pAlive(params, data);
      expectAllFinite(alive, 'pAlive');
      for (const v of alive) expect(v >= 0 && v <= 1).toBe(true);
      for (const t of [0, 1, 30, 1e4]) {
        const conv = model.conversionProbability(params, data, t);
        expectAllFinite(conv, `conversion t=${t}`);
        conv.forEach((v, i) => expect(v >= 0 && v <= (alive[i] as number) * (1 + 1e-12)).toBe(true));
      }
    }
  });

  it('expects 0 purchases at t = 0 and a non-decreasing number in t, finite on edge inputs', () => {
    for (const data of [EDGE, sample]) {
      const curves = model.expectedPurchasesMany(params, data, HORIZONS);
      expect(Array.from(curves[0] as Float64Array).every((v) => v === 0)).toBe(true);
      for (let k = 1; k < HORIZONS.length; k++) {
        const cur = curves[k] as Float64Array;
        expectAllFinite(cur, `E[Y(${HORIZONS[k]})]`);
        cur.forEach((v, i) => expect(v, `row ${i} t=${HORIZONS[k]}`).toBeGreaterThanOrEqual(((curves[k - 1] as Float64Array)[i] as number) * (1 - 1e-12)));
      }
      const single = model.expectedPurchases(params, data, 90);
      single.forEach((v, i) => expectClose(v, (curves[5] as Float64Array)[i] as number, { rtol: 1e-12, atol: 1e-300 }, `row ${i}`));
    }
    let prev = 0;
    for (const t of HORIZONS) {
      const e = model.unconditionalExpectedPurchases(params, t);
      expect(Number.isFinite(e) && e >= prev * (1 - 1e-12)).toBe(true);
      prev = e;
    }
    expect(model.unconditionalExpectedPurchases(params, 0)).toBe(0);
  });

  it('has P(N(t) = n) summing to 1 over n', () => {
    for (const t of [1, 30, 365]) {
      let total = 0;
      for (let n = 0; n < 5000; n++) {
        const p = model.probNPurchases(params, n, t);
        expect(p >= 0 && p <= 1).toBe(true);
        total += p;
        if (n > 20 && n * p < 1e-16) break;
      }
      expectClose(total, 1, { atol: 1e-9 }, `Σ_n P(N(${t}) = n)`);
    }
    expect(model.probNPurchases(params, 0, 0)).toBe(1);
  });

  it('gives finite, non-negative waits and decisive moments (Infinity only where P(alive) never falls)', () => {
    for (const data of [EDGE, sample]) {
      expectAllFinite(model.expectedWaitToNextPurchase(params, data), 'wait');
      const d = model.decisiveTime(params, data, 0.5);
      d.forEach((v, i) => {
        expect(v >= 0, `decisive[${i}] = ${v}`).toBe(true);
        if (v === Infinity) expect(name === 'bg-nbd' && data.x[i] === 0).toBe(true);
      });
    }
  });

  it('scores customers in one call exactly as the separate methods (x = 0, T = 0, t_x = T, integer days)', () => {
    const T = ages(3000, 31).map(Math.floor);
    const sim = model.simulate(params, { T, seed: 32 });
    const days = { x: sim.x, tx: sim.tx.map(Math.floor), T };
    const months = Array.from({ length: 12 }, (_, k) => 30 * (k + 1));
    const discount = months.map((_, k) => 1.01 ** -(k + 1) - (k < 11 ? 1.01 ** -(k + 2) : 0));
    const settings = [
      { expectedHorizon: 90, conversionHorizon: 30, clvHorizons: months, clvCoefficients: discount, decisiveThreshold: 0.5 },
      { expectedHorizon: 7.5, conversionHorizon: 0, clvHorizons: [1, 1e4], clvCoefficients: [0.3, -2], decisiveThreshold: 0.2 },
      { expectedHorizon: 0, conversionHorizon: 1e4, clvHorizons: [], clvCoefficients: [], decisiveThreshold: 0.9 },
    ];
    const same = (actual: Float64Array, expected: Float64Array, label: string): void => {
      expect(actual.length).toBe(expected.length);
      expected.forEach((v, i) => {
        if (v === Infinity || v === 0) expect(actual[i], `${label}[${i}]`).toBe(v);
        else expectClose(actual[i] as number, v, { rtol: 1e-12, atol: 1e-300 }, `${label}[${i}]`);
      });
    };
    for (const data of [EDGE, sample, days]) {
      for (const o of settings) {
        const scores = model.scoreCustomers(params, data, o);
        same(scores.pAlive, model.pAlive(params, data), 'pAlive');
        same(scores.expectedPurchases, model.expectedPurchases(params, data, o.expectedHorizon), 'expectedPurchases');
        same(scores.conversion, model.conversionProbability(params, data, o.conversionHorizon), 'conversion');
        same(scores.discountedPurchases, model.expectedPurchasesCombination(params, data, o.clvHorizons, o.clvCoefficients), 'discounted');
        same(scores.medianWait, model.expectedWaitToNextPurchase(params, data), 'medianWait');
        same(scores.decisiveSinceLast, model.decisiveTime(params, { x: data.x, tx: data.tx, T: data.tx }, o.decisiveThreshold), 'decisive');
      }
    }
    const o = settings[0] as (typeof settings)[number];
    expect(codeOf(() => model.scoreCustomers(params, { x: f(1), tx: f(5), T: f(2) }, o))).toBe('VALIDATION');
    expect(codeOf(() => model.scoreCustomers(params, EDGE, { ...o, conversionHorizon: -1 }))).toBe('VALIDATION');
    expect(codeOf(() => model.scoreCustomers(params, EDGE, { ...o, clvCoefficients: [1] }))).toBe('VALIDATION');
    expect(codeOf(() => model.scoreCustomers(params, EDGE, { ...o, decisiveThreshold: 1 }))).toBe('VALIDATION');
  });

  it('fits weighted rows exactly as the expanded rows', () => {
    // Integer days make duplicates; each distinct row gets weight k and is repeated k times, in shuffled order.
    const T = ages(1500, 8).map(Math.floor);
    const sim = model.simulate(params, { T, seed: 9 });
    const x = sim.x;
    const tx = sim.tx.map(Math.floor);
    const weights = new Float64Array(x.length);
    const rows: number[] = [];
    for (let i = 0; i < x.length; i++) {
      const k = 1 + (i % 3);
      weights[i] = k;
      for (let j = 0; j < k; j++) rows.push(i);
    }
    const rng = createRng(10);
    for (let i = rows.length - 1; i > 0; i--) {
      const j = Math.floor(rng.uniform() * (i + 1));
      [rows[i], rows[j]] = [rows[j] as number, rows[i] as number];
    }
    const expanded = { x: f(...rows.map((i) => x[i] as number)), tx: f(...rows.map((i) => tx[i] as number)), T: f(...rows.map((i) => T[i] as number)) };
    const withZero = { x: f(...x, 7), tx: f(...tx, 3), T: f(...T, 400), weights: f(...weights, 0) };
    const a = model.fit(withZero);
    const b = model.fit(expanded);
    for (const k of model.paramNames) expectClose(a.params[k] as number, b.params[k] as number, { rtol: 1e-7 }, k);
    expectClose(a.diagnostics.logLik, b.diagnostics.logLik, { rtol: 1e-12 }, 'logLik');
    expect(a.diagnostics.nObs).toBe(rows.length);
  });

  it('recovers its own parameters from 5,000 simulated customers (seed 11): each within 4 standard errors', () => {
    const data = model.simulate(params, { T: ages(5000, 12), seed: 11 });
    const fit = model.fit(data);
    expect(fit.diagnostics.converged).toBe(true);
    for (const k of model.paramNames) {
      const z = ((fit.params[k] as number) - (params[k] as number)) / (fit.diagnostics.standardErrors[k] as number);
      expect(Math.abs(z), `${k}: estimate ${fit.params[k]}, SE ${fit.diagnostics.standardErrors[k]}`).toBeLessThan(4);
    }
  });

  it('simulates deterministically for a seed', () => {
    const a = model.simulate(params, { customers: 50, T: 365, seed: 5 });
    const b = model.simulate(params, { customers: 50, T: 365, seed: 5 });
    expect(Array.from(a.x)).toEqual(Array.from(b.x));
    expect(Array.from(a.tx)).toEqual(Array.from(b.tx));
  });

  it('rejects invalid data and parameters (VALIDATION), too little data (INSUFFICIENT_DATA) and failed fits (CONVERGENCE)', () => {
    expect(codeOf(() => model.pAlive(params, { x: f(1), tx: f(5), T: f(2) }))).toBe('VALIDATION');
    expect(codeOf(() => model.expectedPurchases(params, { x: f(NaN), tx: f(0), T: f(2) }, 1))).toBe('VALIDATION');
    expect(codeOf(() => model.expectedPurchases(params, EDGE, -1))).toBe('VALIDATION');
    const bad = { ...params, [model.paramNames[0] as string]: -1 };
    expect(codeOf(() => model.pAlive(bad, EDGE))).toBe('VALIDATION');
    expect(codeOf(() => model.fit({ x: f(1, 2), tx: f(1, 2), T: f(3, 3) }))).toBe('INSUFFICIENT_DATA');
    expect(codeOf(() => model.fit({ x: f(0, 0, 0, 0), tx: f(0, 0, 0, 0), T: f(3, 3, 5, 9) }))).toBe('INSUFFICIENT_DATA');
    expect(codeOf(() => model.fit({ x: f(1, 1, 2, 0), tx: f(0, 0, 0, 0), T: f(0, 0, 0, 0) }))).toBe('INSUFFICIENT_DATA');
    try {
      model.fit(sample, { maxIterations: 1, tolerance: 1e-15 });
      expect.unreachable('fit should not converge in one iteration to 1e-15');
    } catch (err) {
      expect(err).toBeInstanceOf(KairosError);
      const e = err as KairosError;
      expect(e.code).toBe('CONVERGENCE');
      expect(e.hint).toMatch(/penalty/);
      expect((e.details.diagnostics as { converged: boolean }).converged).toBe(false);
    }
  });
});

describe('Gamma-Gamma contract', () => {
  const truth: GammaGammaParams = { p: 6, q: 3.8, gamma: 15 };
  const counts = getTransactionModel('bg-nbd').simulate(TRUTH['bg-nbd'], { T: ages(5000, 21), seed: 22 }).x;
  const spend = gammaGamma.simulate(truth, { x: counts, seed: 23 }).data;

  it('gives finite positive expected spend, on edge inputs too', () => {
    const edge: SpendData = { x: f(0, 1, 1, 500, 3), m: f(0, 1e-9, 1e9, 20, 35) };
    for (const data of [edge, spend]) {
      const e = gammaGamma.conditionalExpectedSpend(truth, data);
      expectAllFinite(e, 'spend');
      for (const v of e) expect(v).toBeGreaterThan(0);
    }
  });

  it('fits weighted rows exactly as the expanded rows', () => {
    const x = spend.x.slice(0, 800);
    const m = spend.m.slice(0, 800);
    const weights = x.map((_, i) => 1 + (i % 3));
    const ex: number[] = [];
    const em: number[] = [];
    x.forEach((xi, i) => {
      for (let j = 0; j < (weights[i] as number); j++) {
        ex.push(xi);
        em.push(m[i] as number);
      }
    });
    const a = gammaGamma.fit({ x, m, weights });
    const b = gammaGamma.fit({ x: f(...ex), m: f(...em) });
    for (const k of gammaGamma.PARAM_NAMES) expectClose(a.params[k], b.params[k], { rtol: 1e-7 }, k);
  });

  it('recovers its own parameters from 5,000 simulated customers (seed 23): each within 4 standard errors', () => {
    const fit = gammaGamma.fit(spend);
    for (const k of gammaGamma.PARAM_NAMES) {
      const z = (fit.params[k] - truth[k]) / fit.diagnostics.standardErrors[k];
      expect(Math.abs(z), `${k}: estimate ${fit.params[k]}`).toBeLessThan(4);
    }
  });
});
