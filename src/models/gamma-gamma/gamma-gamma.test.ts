// Gamma-Gamma reference tests (Fader, Hardie & Lee 2005 "RFM and CLV"; lifetimes 0.11.3), the simulated case lifetimes fails, and CLV.
import { describe, expect, it } from 'vitest';
import { KairosError } from '../../errors.js';
import { createRng } from '../../math/random.js';
import { expectClose } from '../../testing/expect-close.js';
import { bgNbd } from '../bg-nbd/index.js';
import { loadLifetimesCdnow } from '../../testing/reference-data.js';
import { expectHessianMatchesGradient, finiteDifferenceGradient, maxRelativeDifference } from '../../testing/models.js';
import type { GammaGammaParams } from '../types.js';
import { gammaGammaLogLik, prepareSpend } from './likelihood.js';
import * as gammaGamma from './index.js';

/** lifetimes 0.11.3's Gamma-Gamma fit on the 946 CDNOW repeat customers (peers/README.md). */
const LIFETIMES: GammaGammaParams = { p: 6.249572, q: 3.744225, gamma: 15.443521 };

function codeOf(f: () => unknown): string | undefined {
  try {
    f();
  } catch (err) {
    return err instanceof KairosError ? err.code : 'not a KairosError';
  }
  return undefined;
}

describe('Gamma-Gamma on CDNOW', () => {
  const ref = loadLifetimesCdnow();

  it('matches Fader-Hardie-Lee 2005 (RFM and CLV) Gamma-Gamma parameters p 6.25, q 3.74, gamma 15.44 on the 946 repeat customers', () => {
    const fit = gammaGamma.fit(ref.spend);
    expect(fit.diagnostics.nObs).toBe(946);
    expectClose(fit.params.p, 6.25, { atol: 5e-3 }, 'p');
    expectClose(fit.params.q, 3.74, { atol: 5e-3 }, 'q');
    expectClose(fit.params.gamma, 15.44, { atol: 5e-3 }, 'gamma');
  });

  it('matches lifetimes 0.11.3 Gamma-Gamma parameters (rtol 1e-6; observed 9e-8)', () => {
    const fit = gammaGamma.fit(ref.spend);
    for (const k of gammaGamma.PARAM_NAMES) expectClose(fit.params[k], LIFETIMES[k], { rtol: 1e-6 }, k);
  });

  it("reproduces lifetimes' per-customer conditional expected spend (note 025 eq. 5) at its and at our parameters (rtol 1e-6)", () => {
    const expected = ref.column('gg_expected_spend');
    expect(maxRelativeDifference(gammaGamma.conditionalExpectedSpend(LIFETIMES, ref.spend), expected)).toBeLessThan(1e-6);
    const fit = gammaGamma.fit(ref.spend);
    expect(maxRelativeDifference(gammaGamma.conditionalExpectedSpend(fit.params, ref.spend), expected)).toBeLessThan(1e-6);
  });

  it('has an analytic Hessian equal to central finite differences of the analytic gradient (and the same ℓ, ∇ℓ)', () => {
    const prep = prepareSpend(ref.spend);
    expectHessianMatchesGradient((p, g, h) => gammaGammaLogLik(prep, p, g, h), gammaGamma.PARAM_NAMES, [Float64Array.of(6, 3.7, 15), Float64Array.of(1.2, 8, 90)]);
  });

  it('has an analytic gradient (from sufficient statistics) equal to central finite differences', () => {
    const prep = prepareSpend(ref.spend);
    for (const p of [Float64Array.of(6, 3.7, 15), Float64Array.of(1.2, 8, 90)]) {
      const g = new Float64Array(3);
      gammaGammaLogLik(prep, p, g);
      const fd = finiteDifferenceGradient((q) => gammaGammaLogLik(prep, q, null), p);
      g.forEach((v, i) => expectClose(v, fd[i] as number, { rtol: 1e-6, atol: 1e-4 }, `d/d${gammaGamma.PARAM_NAMES[i]}`));
    }
  });
});

describe('Gamma-Gamma on the simulated data where lifetimes 0.11.3 fails unpenalised (peers/README.md)', () => {
  it('fits 10,000 simulated customers without a penalty and recovers p 6, q 3.8, gamma 15 within 3 standard errors', () => {
    // BG/NBD purchases (days: r 0.5, alpha 28, a 0.8, b 3), customers acquired uniformly over one year, calibration
    // ending at day 547; Gamma-Gamma spend per repeat purchase with the true (p, q, gamma). Seeds 1 / 101 / 201.
    const truth: GammaGammaParams = { p: 6, q: 3.8, gamma: 15 };
    const n = 10_000;
    const rng = createRng(1);
    const T = new Float64Array(n);
    for (let i = 0; i < n; i++) T[i] = 547 - rng.uniformIn(0, 365);
    const purchases = bgNbd.simulate({ r: 0.5, alpha: 28, a: 0.8, b: 3 }, { T, seed: 101 });
    const spend = gammaGamma.simulate(truth, { x: purchases.x, seed: 201 });
    const fit = gammaGamma.fit(spend.data, { penalty: 0 });
    expect(fit.diagnostics.converged).toBe(true);
    expect(fit.diagnostics.gradNorm).toBeLessThanOrEqual(1e-8);
    for (const k of gammaGamma.PARAM_NAMES) {
      // Observed z-scores for this seed: p −0.30, q −0.62, gamma 0.11.
      const z = (fit.params[k] - truth[k]) / fit.diagnostics.standardErrors[k];
      expect(Math.abs(z), `${k}: estimate ${fit.params[k]}, SE ${fit.diagnostics.standardErrors[k]}`).toBeLessThan(3);
    }
    expectClose(gammaGamma.populationMeanSpend(fit.params), (6 * 15) / 2.8, { rtol: 0.02 }, 'mean spend pγ/(q−1)');
  });
});

describe('Gamma-Gamma inputs and spend predictions', () => {
  const f = (...v: number[]): Float64Array => Float64Array.from(v);
  it('says when there is too little data, and rejects zero spend for a repeat customer', () => {
    expect(codeOf(() => gammaGamma.fit({ x: f(1, 2, 0), m: f(5, 6, 0) }))).toBe('INSUFFICIENT_DATA');
    expect(codeOf(() => gammaGamma.fit({ x: f(1, 2, 3), m: f(0, 0, 0) }))).toBe('INSUFFICIENT_DATA');
    expect(codeOf(() => gammaGamma.fit({ x: f(1, 2, 3, 1), m: f(5, 0, 7, 3) }))).toBe('VALIDATION');
    expect(codeOf(() => gammaGamma.fit({ x: f(1, 2, 3), m: f(5, -1, 7) }))).toBe('VALIDATION');
  });
  it('gives customers without repeat purchases the population mean, and refuses an infinite mean (q <= 1)', () => {
    const e = gammaGamma.conditionalExpectedSpend({ p: 6, q: 3.8, gamma: 15 }, { x: f(0, 2), m: f(0, 40) });
    expectClose(e[0] as number, (6 * 15) / 2.8, { rtol: 1e-15 }, 'x = 0');
    expectClose(e[1] as number, ((15 + 80) * 6) / (12 + 2.8), { rtol: 1e-15 }, 'x = 2');
    expect(codeOf(() => gammaGamma.conditionalExpectedSpend({ p: 6, q: 0.9, gamma: 15 }, { x: f(0), m: f(0) }))).toBe('VALIDATION');
  });
});

describe('clv', () => {
  const params = { r: 0.5, alpha: 28, a: 0.8, b: 3 };
  const data = { x: f2(0, 1, 4, 12), tx: f2(0, 30, 200, 360), T: f2(100, 300, 365, 365) };
  const spend = f2(30, 25, 40, 55);
  function f2(...v: number[]): Float64Array {
    return Float64Array.from(v);
  }

  it('is the discounted sum of monthly expected purchases times spend (lifetimes convention)', () => {
    const months = 12;
    const d = 0.01;
    const value = gammaGamma.clv(bgNbd, params, data, spend, { months, monthlyDiscount: d, monthLength: 30 });
    const cumulative = bgNbd.expectedPurchasesMany(params, data, Array.from({ length: months }, (_, k) => 30 * (k + 1)));
    for (let i = 0; i < spend.length; i++) {
      let manual = 0;
      for (let k = 0; k < months; k++) {
        const inMonth = ((cumulative[k] as Float64Array)[i] as number) - (k === 0 ? 0 : ((cumulative[k - 1] as Float64Array)[i] as number));
        manual += (inMonth * (spend[i] as number)) / Math.pow(1 + d, k + 1);
      }
      expectClose(value[i] as number, manual, { rtol: 1e-12 }, `customer ${i}`);
    }
  });

  it('does not depend on the time unit when monthLength and the rate parameter are rescaled together', () => {
    const days = gammaGamma.clv(bgNbd, params, data, spend, { monthLength: 30 });
    const weeks = gammaGamma.clv(
      bgNbd,
      { ...params, alpha: params.alpha / 7 },
      { x: data.x, tx: data.tx.map((v) => v / 7), T: data.T.map((v) => v / 7) },
      spend,
      { monthLength: 30 / 7 },
    );
    days.forEach((v, i) => expectClose(weeks[i] as number, v, { rtol: 1e-12 }, `customer ${i}`));
  });

  it('rejects a missing month length and mismatched spend', () => {
    expect(codeOf(() => gammaGamma.clv(bgNbd, params, data, spend, { monthLength: 0 }))).toBe('VALIDATION');
    expect(codeOf(() => gammaGamma.clv(bgNbd, params, data, f2(1), { monthLength: 30 }))).toBe('VALIDATION');
  });
});
