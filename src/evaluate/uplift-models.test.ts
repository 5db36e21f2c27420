// The cross-fitted uplift models find who a simulated treatment moves, not who responds anyway.
import { describe, expect, it } from 'vitest';
import { spearman } from '../backtest/metrics.js';
import { DEFAULT_CONFIG } from '../config.js';
import { createRng } from '../math/random.js';
import { boostingOptions, type Matrix } from '../scores/learned/train.js';
import { assignFolds, crossFittedUplift, UPLIFT_METHODS } from './uplift-models.js';
import { qiniCurve, type UpliftSample } from './uplift.js';

/**
 * A randomised test with treated share `p`: x1, x2, x3 uniform on [0, 1]; the response rate is 0.05 + 0.2 x2 without
 * the treatment and 0.3 x1 more with it. x2 says who responds anyway, x1 who is moved; x3 is noise.
 */
function simulate(n: number, seed: number, p: number): { matrix: Matrix; sample: UpliftSample; tau: Float64Array; x2: Float64Array } {
  const rng = createRng(seed);
  const cols = [new Float64Array(n), new Float64Array(n), new Float64Array(n)] as const;
  const tau = new Float64Array(n);
  const treated = new Uint8Array(n);
  const outcome = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    for (const c of cols) c[i] = rng.uniform();
    tau[i] = 0.3 * (cols[0][i] as number);
    treated[i] = rng.uniform() < p ? 1 : 0;
    outcome[i] = rng.uniform() < 0.05 + 0.2 * (cols[1][i] as number) + (treated[i] as number) * (tau[i] as number) ? 1 : 0;
  }
  return { matrix: { names: ['x1', 'x2', 'x3'], rows: n, columns: cols }, sample: { treated, outcome, kind: 'binary' }, tau, x2: cols[1] };
}

const boosting = boostingOptions('conversion', DEFAULT_CONFIG.learned);

describe('assignFolds', () => {
  it('deals every row to one of k folds of near-equal size, by a seeded draw', () => {
    const f = assignFolds(1003, 5, 9);
    const sizes = [0, 1, 2, 3, 4].map((k) => f.filter((x) => x === k).length);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(1003);
    expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
    expect([...assignFolds(1003, 5, 9)]).toEqual([...f]);
    expect([...assignFolds(1003, 5, 10)]).not.toEqual([...f]);
    expect(() => assignFolds(10, 2, 1)).toThrow(/folds/);
  });
});

describe('crossFittedUplift', () => {
  // 10,000 customers, two thirds e-mailed as in Hillstrom's test (seed 21). The true uplift's Qini on this sample is the
  // ceiling; ranking by the response without treatment (x2) is what a response model would do, and gains nothing. On
  // six other seeds (30-35) the models reached 0.66-0.90 (two-model) and 0.64-0.87 (transformed outcome) of the
  // ceiling, with Spearman correlations to the true uplift of 0.76-0.90 and 0.71-0.81; a random score's Qini has a
  // standard deviation of about 0.002 at this size (uplift.test.ts), against a ceiling near 0.02.
  const { matrix, sample, tau, x2 } = simulate(10_000, 21, 2 / 3);
  const ceiling = qiniCurve(sample, tau)?.qiniCoefficient ?? NaN;
  const responders = qiniCurve(sample, x2)?.qiniCoefficient ?? NaN;

  it.each(UPLIFT_METHODS)('%s: ranks the moved customers with a Qini well above random and near the true uplift\'s', async (method) => {
    const fit = await crossFittedUplift(method, matrix, sample, { boosting, folds: 5, seed: 3 });
    expect(fit.uplift.every(Number.isFinite)).toBe(true);
    expect(fit.diagnostics.folds).toBe(5);
    expect(fit.diagnostics.trees.length).toBe(method === 'two-model' ? 10 : 5);
    const q = qiniCurve(sample, fit.uplift)?.qiniCoefficient ?? NaN;
    // Analytic Qini of the true uplift is 0.025 (0.3 x1: area 0.1 less the random line's 0.075).
    expect(ceiling).toBeGreaterThan(0.015);
    expect(Math.abs(responders)).toBeLessThan(0.005);
    expect(q).toBeGreaterThan(0.5 * ceiling);
    expect(spearman(tau, fit.uplift)).toBeGreaterThan(0.6);
    if (method === 'transformed-outcome') fit.diagnostics.propensity.forEach((p) => expect(Math.abs(p - 2 / 3)).toBeLessThan(0.03));
  });

  it('scores no customer with trees that saw them: on pure noise the out-of-fold uplift ranks like chance (seed 22)', async () => {
    // Outcomes independent of everything. Trees that had seen a customer would give its own response back and put the
    // treated responders first: a large positive Qini. Out of fold, the Qini must stay among those of random scores.
    const rng = createRng(22);
    const n = 3000;
    const noise: UpliftSample = { treated: Uint8Array.from({ length: n }, () => (rng.uniform() < 0.5 ? 1 : 0)), outcome: Float64Array.from({ length: n }, () => (rng.uniform() < 0.3 ? 1 : 0)), kind: 'binary' };
    const m: Matrix = { names: ['a', 'b'], rows: n, columns: [Float64Array.from({ length: n }, () => rng.uniform()), Float64Array.from({ length: n }, () => rng.uniform())] };
    const fit = await crossFittedUplift('transformed-outcome', m, noise, { boosting, folds: 5, seed: 4 });
    const q = qiniCurve(noise, fit.uplift)?.qiniCoefficient ?? NaN;
    const chance = Array.from({ length: 40 }, () => qiniCurve(noise, Float64Array.from({ length: n }, () => rng.uniform()))?.qiniCoefficient ?? NaN);
    expect(q).toBeLessThanOrEqual(Math.max(...chance.map(Math.abs)));
  });
});
