// BG/NBD reference tests on CDNOW (Fader, Hardie & Lee 2005; lifetimes 0.11.3) and checks of the formulas.
import { describe, expect, it } from 'vitest';
import { hyp2f1 } from '../../math/hyp2f1.js';
import { expectClose } from '../../testing/expect-close.js';
import { loadFhlCdnowSummary, loadLifetimesCdnow } from '../../testing/reference-data.js';
import { prepareTransactionSummary } from '../transaction-summary.js';
import { expectHessianMatchesGradient, finiteDifferenceGradient, maxRelativeDifference } from '../../testing/models.js';
import type { BgNbdParams } from '../types.js';
import { PARAM_NAMES, bgNbd } from './index.js';
import { bgNbdLogLik } from './likelihood.js';

/** lifetimes 0.11.3's BG/NBD fit on the same CDNOW summary (peers/README.md), printed to 6 significant digits. */
const LIFETIMES: BgNbdParams = { r: 0.242595, alpha: 4.413603, a: 0.792922, b: 2.425906 };

describe('BG/NBD on CDNOW', () => {
  it('matches Fader-Hardie-Lee 2005 BG/NBD parameters on CDNOW (r 0.243, alpha 4.414, a 0.793, b 2.426, LL -9582.4)', () => {
    // The paper's own 39-week summary (t_x and T in weeks to 2 decimals); published to 3 decimals.
    const fit = bgNbd.fit(loadFhlCdnowSummary().summary);
    const tol = { atol: 5e-4 };
    expectClose(fit.params.r, 0.243, tol, 'r');
    expectClose(fit.params.alpha, 4.414, tol, 'alpha');
    expectClose(fit.params.a, 0.793, tol, 'a');
    expectClose(fit.params.b, 2.426, tol, 'b');
    expectClose(fit.diagnostics.logLik, -9582.4, { atol: 0.05 }, 'log-likelihood');
    expect(fit.diagnostics.converged).toBe(true);
    expect(fit.diagnostics.nObs).toBe(2357);
  });

  const ref = loadLifetimesCdnow();
  const holdout = (ref.column('duration_holdout')[0] as number) / 7; // 273 days = 39 weeks

  it('matches lifetimes 0.11.3 BG/NBD parameters on the same summary (rtol 5e-6: the reference prints 6 digits)', () => {
    const fit = bgNbd.fit(ref.summary);
    for (const k of PARAM_NAMES) expectClose(fit.params[k], LIFETIMES[k], { rtol: 5e-6 }, k);
    expect(fit.diagnostics.gradNorm).toBeLessThan(1e-8);
  });

  it("reproduces lifetimes' per-customer P(alive) and 39-week expected purchases at its parameters (rtol 1e-5)", () => {
    // Limited by the reference CSV's 8 significant digits and the 6-digit parameters: observed max 1.9e-6.
    const pAlive = bgNbd.pAlive(LIFETIMES, ref.summary);
    const expected = bgNbd.expectedPurchases(LIFETIMES, ref.summary, holdout);
    expect(maxRelativeDifference(pAlive, ref.column('bgnbd_p_alive'))).toBeLessThan(1e-5);
    expect(maxRelativeDifference(expected, ref.column('bgnbd_exp_holdout'))).toBeLessThan(1e-5);
  });

  it("matches lifetimes' per-customer predictions from our own fit (rtol 1e-4)", () => {
    const fit = bgNbd.fit(ref.summary);
    expect(maxRelativeDifference(bgNbd.pAlive(fit.params, ref.summary), ref.column('bgnbd_p_alive'))).toBeLessThan(1e-4);
    expect(maxRelativeDifference(bgNbd.expectedPurchases(fit.params, ref.summary, holdout), ref.column('bgnbd_exp_holdout'))).toBeLessThan(1e-4);
  });

  it('has an analytic Hessian equal to central finite differences of the analytic gradient (and the same ℓ, ∇ℓ)', () => {
    const prep = prepareTransactionSummary(ref.summary);
    expectHessianMatchesGradient((p, g, h) => bgNbdLogLik(prep, p, g, h), PARAM_NAMES, [Float64Array.of(0.3, 5, 0.7, 2.1), Float64Array.of(1.4, 20, 3.5, 0.6)]);
  });

  it('has an analytic gradient equal to central finite differences of the log-likelihood', () => {
    const prep = prepareTransactionSummary(ref.summary);
    for (const p of [Float64Array.of(0.3, 5, 0.7, 2.1), Float64Array.of(1.4, 20, 3.5, 0.6)]) {
      const g = new Float64Array(4);
      bgNbdLogLik(prep, p, g);
      const fd = finiteDifferenceGradient((q) => bgNbdLogLik(prep, q, null), p);
      g.forEach((v, i) => expectClose(v, fd[i] as number, { rtol: 1e-6, atol: 1e-4 }, `d/d${PARAM_NAMES[i]}`));
    }
  });
});

describe('BG/NBD formulas', () => {
  const params: BgNbdParams = { r: 0.5, alpha: 28, a: 0.8, b: 3 };
  const data = {
    x: Float64Array.of(0, 1, 4, 12, 3),
    tx: Float64Array.of(0, 30, 200, 360, 10),
    T: Float64Array.of(100, 300, 365, 365, 400),
  };

  it('evaluates FHL 2005 eq. 10 like the original 2F1 form, without the a = 1 singularity', () => {
    const t = 90;
    for (const a of [0.3, 0.8, 0.999, 1.2, 4]) {
      const p = { ...params, a };
      const e = bgNbd.expectedPurchases(p, data, t);
      const alive = bgNbd.pAlive(p, data);
      for (let i = 0; i < data.x.length; i++) {
        const [x, T] = [data.x[i] as number, data.T[i] as number];
        const z = t / (p.alpha + T + t);
        const direct =
          ((p.a + p.b + x - 1) / (p.a - 1)) *
          (1 - Math.pow((p.alpha + T) / (p.alpha + T + t), p.r + x) * hyp2f1(p.r + x, p.b + x, p.a + p.b + x - 1, z));
        expectClose(e[i] as number, (alive[i] as number) * direct, { rtol: a === 0.999 ? 1e-9 : 1e-12 }, `a=${a} row ${i}`);
      }
    }
    // Continuity through a = 1.
    const below = bgNbd.expectedPurchases({ ...params, a: 1 - 1e-9 }, data, t);
    const at = bgNbd.expectedPurchases({ ...params, a: 1 }, data, t);
    at.forEach((v, i) => expectClose(v, below[i] as number, { rtol: 1e-7 }, `a=1 row ${i}`));
  });

  it('P(X(t)=n) (eq. 8) sums to 1 and has mean E[X(t)] (eq. 7)', () => {
    for (const t of [7, 90, 365]) {
      let total = 0;
      let mean = 0;
      for (let n = 0; n < 5000; n++) {
        const p = bgNbd.probNPurchases(params, n, t);
        total += p;
        mean += n * p;
        if (n > 20 && n * p < 1e-16) break;
      }
      expectClose(total, 1, { atol: 1e-12 }, `Σ P at t=${t}`);
      expectClose(mean, bgNbd.unconditionalExpectedPurchases(params, t), { rtol: 1e-10 }, `mean at t=${t}`);
    }
  });

  it('puts the decisive moment where P(alive) crosses the threshold (closed form)', () => {
    for (const threshold of [0.5, 0.2]) {
      const d = bgNbd.decisiveTime(params, data, threshold);
      expect(d[0]).toBe(Infinity); // x = 0: always alive
      for (let i = 1; i < data.x.length; i++) {
        const di = d[i] as number;
        const later = { x: data.x.subarray(i, i + 1), tx: data.tx.subarray(i, i + 1), T: Float64Array.of((data.T[i] as number) + di) };
        const pa = bgNbd.pAlive(params, later)[0] as number;
        if (di > 0) expectClose(pa, threshold, { rtol: 1e-12 }, `row ${i}`);
        else expect(bgNbd.pAlive(params, { x: later.x, tx: later.tx, T: data.T.subarray(i, i + 1) })[0]).toBeLessThanOrEqual(threshold);
      }
    }
  });

  it('gives conversion probabilities below P(alive) that approach it as t grows', () => {
    const alive = bgNbd.pAlive(params, data);
    const near = bgNbd.conversionProbability(params, data, 30);
    const far = bgNbd.conversionProbability(params, data, 1e9);
    for (let i = 0; i < data.x.length; i++) {
      expect(near[i]).toBeLessThan(alive[i] as number);
      expectClose(far[i] as number, alive[i] as number, { rtol: 1e-3 }, `row ${i}`);
    }
  });

  it('gives the Lomax median as the wait to the next purchase', () => {
    const w = bgNbd.expectedWaitToNextPurchase(params, data);
    for (let i = 0; i < data.x.length; i++) {
      const s = params.alpha + (data.T[i] as number);
      expectClose(1 - Math.pow(s / (s + (w[i] as number)), params.r + (data.x[i] as number)), 0.5, { rtol: 1e-13 }, `row ${i}`);
    }
  });
});
