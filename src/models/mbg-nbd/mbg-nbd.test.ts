// MBG/NBD reference tests on CDNOW (lifetimes 0.11.3) and checks of the formulas (Batislam et al. 2007).
import { describe, expect, it } from 'vitest';
import { hyp2f1 } from '../../math/hyp2f1.js';
import { expectClose } from '../../testing/expect-close.js';
import { loadLifetimesCdnow } from '../../testing/reference-data.js';
import { prepareTransactionSummary } from '../transaction-summary.js';
import { expectHessianMatchesGradient, finiteDifferenceGradient, maxRelativeDifference } from '../../testing/models.js';
import type { MbgNbdParams } from '../types.js';
import { PARAM_NAMES, mbgNbd } from './index.js';
import { mbgNbdLogLik } from './likelihood.js';

/** lifetimes 0.11.3's MBG/NBD fit on the CDNOW summary (peers/README.md), printed to 6 significant digits. */
const LIFETIMES: MbgNbdParams = { r: 0.524843, alpha: 6.183082, a: 0.89136, b: 1.614003 };

describe('MBG/NBD on CDNOW', () => {
  const ref = loadLifetimesCdnow();
  const holdout = (ref.column('duration_holdout')[0] as number) / 7;

  it('matches the reference implementation (lifetimes 0.11.3) MBG/NBD parameters r 0.524843, alpha 6.183082, a 0.891360, b 1.614003 (rtol 1e-6)', () => {
    const fit = mbgNbd.fit(ref.summary);
    // Observed: largest relative difference 6.7e-7 (a), i.e. within the reference's 6-digit printing.
    for (const k of PARAM_NAMES) expectClose(fit.params[k], LIFETIMES[k], { rtol: 1e-6 }, k);
    expect(fit.diagnostics.converged).toBe(true);
  });

  it("reproduces lifetimes' per-customer P(alive) and 39-week expected purchases at its parameters (rtol 1e-5)", () => {
    expect(maxRelativeDifference(mbgNbd.pAlive(LIFETIMES, ref.summary), ref.column('mbgnbd_p_alive'))).toBeLessThan(1e-5);
    expect(maxRelativeDifference(mbgNbd.expectedPurchases(LIFETIMES, ref.summary, holdout), ref.column('mbgnbd_exp_holdout'))).toBeLessThan(1e-5);
  });

  it("matches lifetimes' per-customer predictions from our own fit (rtol 1e-4)", () => {
    const fit = mbgNbd.fit(ref.summary);
    expect(maxRelativeDifference(mbgNbd.pAlive(fit.params, ref.summary), ref.column('mbgnbd_p_alive'))).toBeLessThan(1e-4);
    expect(maxRelativeDifference(mbgNbd.expectedPurchases(fit.params, ref.summary, holdout), ref.column('mbgnbd_exp_holdout'))).toBeLessThan(1e-4);
  });

  it('has an analytic Hessian equal to central finite differences of the analytic gradient (and the same ℓ, ∇ℓ)', () => {
    const prep = prepareTransactionSummary(ref.summary);
    expectHessianMatchesGradient((p, g, h) => mbgNbdLogLik(prep, p, g, h), PARAM_NAMES, [Float64Array.of(0.3, 5, 0.7, 2.1), Float64Array.of(1.4, 20, 3.5, 0.6)]);
  });

  it('has an analytic gradient equal to central finite differences of the log-likelihood', () => {
    const prep = prepareTransactionSummary(ref.summary);
    for (const p of [Float64Array.of(0.3, 5, 0.7, 2.1), Float64Array.of(1.4, 20, 3.5, 0.6)]) {
      const g = new Float64Array(4);
      mbgNbdLogLik(prep, p, g);
      const fd = finiteDifferenceGradient((q) => mbgNbdLogLik(prep, q, null), p);
      g.forEach((v, i) => expectClose(v, fd[i] as number, { rtol: 1e-6, atol: 1e-4 }, `d/d${PARAM_NAMES[i]}`));
    }
  });
});

describe('MBG/NBD formulas', () => {
  const params: MbgNbdParams = { r: 0.5, alpha: 28, a: 0.8, b: 3 };
  const data = { x: Float64Array.of(0, 1, 4, 12), tx: Float64Array.of(0, 30, 200, 360), T: Float64Array.of(100, 300, 365, 365) };

  it('P(X(t)=n) sums to 1 and has mean E[X(t)] = b/(a−1)[1 − (α/(α+t))^r 2F1(r, b+1; a+b; t/(α+t))]', () => {
    for (const t of [7, 90, 365]) {
      let total = 0;
      let mean = 0;
      for (let n = 0; n < 5000; n++) {
        const p = mbgNbd.probNPurchases(params, n, t);
        total += p;
        mean += n * p;
        if (n > 20 && n * p < 1e-16) break;
      }
      const { r, alpha, a, b } = params;
      const direct = (b / (a - 1)) * (1 - Math.pow(alpha / (alpha + t), r) * hyp2f1(r, b + 1, a + b, t / (alpha + t)));
      expectClose(total, 1, { atol: 1e-12 }, `Σ P at t=${t}`);
      expectClose(mean, direct, { rtol: 1e-10 }, `mean at t=${t}`);
      expectClose(mbgNbd.unconditionalExpectedPurchases(params, t), direct, { rtol: 1e-12 }, `E[X(t)] at t=${t}`);
    }
  });

  it('puts the decisive moment where P(alive) crosses the threshold, for x = 0 too', () => {
    const d = mbgNbd.decisiveTime(params, data, 0.5);
    for (let i = 0; i < data.x.length; i++) {
      const di = d[i] as number;
      expect(Number.isFinite(di)).toBe(true);
      const later = { x: data.x.subarray(i, i + 1), tx: data.tx.subarray(i, i + 1), T: Float64Array.of((data.T[i] as number) + di) };
      const pa = mbgNbd.pAlive(params, later)[0] as number;
      if (di > 0) expectClose(pa, 0.5, { rtol: 1e-12 }, `row ${i}`);
      else expect(pa).toBeLessThanOrEqual(0.5);
    }
  });
});
