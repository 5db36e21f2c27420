// The beta-binomial prior: recovery of known (α, β) from its own simulator, the moments fallback, and shrinkage of a thin history.
import { describe, expect, it } from 'vitest';
import { createRng } from '../math/random.js';
import { expectClose } from '../testing/expect-close.js';
import { betaBinomialMoments, fitBetaBinomial, posteriorMean } from './beta-binomial.js';

/** Customers with θ ~ Beta(alpha, beta), n ~ 1 + Poisson(meanTrials), k ~ Binomial(n, θ). */
function simulate(seed: number, customers: number, alpha: number, beta: number, meanTrials: number): { k: Float64Array; n: Float64Array } {
  const rng = createRng(seed);
  const k = new Float64Array(customers);
  const n = new Float64Array(customers);
  for (let i = 0; i < customers; i++) {
    const theta = rng.beta(alpha, beta);
    const trials = 1 + rng.poisson(meanTrials);
    let s = 0;
    for (let t = 0; t < trials; t++) s += rng.uniform() < theta ? 1 : 0;
    k[i] = s;
    n[i] = trials;
  }
  return { k, n };
}

describe('fitBetaBinomial', () => {
  it('recovers a = 2, b = 5 from 5,000 simulated customers (seed 20261202), within 3 standard errors', () => {
    const fit = fitBetaBinomial(simulate(20261202, 5000, 2, 5, 8));
    expect(fit.diagnostics.method).toBe('mle');
    expect(fit.diagnostics.converged).toBe(true);
    const se = fit.diagnostics.standardErrors;
    expect(se).not.toBeNull();
    expectClose(fit.params.alpha, 2, { atol: 3 * (se?.alpha ?? 0) }, 'alpha');
    expectClose(fit.params.beta, 5, { atol: 3 * (se?.beta ?? 0) }, 'beta');
    // A real estimate, not a wide one: the standard errors are a tenth of the values or less.
    expect(se?.alpha ?? Infinity).toBeLessThan(0.2);
    expect(se?.beta ?? Infinity).toBeLessThan(0.5);
  });

  it('recovers a U-shaped prior (a = 0.4, b = 0.6: customers mostly always or never on promotion), seed 7', () => {
    const fit = fitBetaBinomial(simulate(7, 4000, 0.4, 0.6, 10));
    const se = fit.diagnostics.standardErrors;
    expect(fit.diagnostics.method).toBe('mle');
    expectClose(fit.params.alpha, 0.4, { atol: 3 * (se?.alpha ?? 0) }, 'alpha');
    expectClose(fit.params.beta, 0.6, { atol: 3 * (se?.beta ?? 0) }, 'beta');
  });

  it('does not depend on the order of the customers (equal (k, n) pairs are grouped)', () => {
    const data = simulate(5, 500, 1.5, 3, 5);
    const order = Array.from({ length: 500 }, (_, i) => (i * 7919) % 500);
    const a = fitBetaBinomial(data);
    const b = fitBetaBinomial({ k: order.map((i) => data.k[i] as number), n: order.map((i) => data.n[i] as number) });
    expectClose(b.params.alpha, a.params.alpha, { rtol: 1e-9 }, 'alpha');
    expectClose(b.params.beta, a.params.beta, { rtol: 1e-9 }, 'beta');
    expect(a.diagnostics.nObs).toBe(500);
  });

  it('falls back to the moments estimate, capped, when rates spread no more than chance (every θ = 0.3)', () => {
    const rng = createRng(11);
    const k: number[] = [];
    const n: number[] = [];
    for (let i = 0; i < 3000; i++) {
      const trials = 1 + rng.poisson(6);
      let s = 0;
      for (let t = 0; t < trials; t++) s += rng.uniform() < 0.3 ? 1 : 0;
      k.push(s);
      n.push(trials);
    }
    const fit = fitBetaBinomial({ k, n });
    // A strong prior either way: with no spread between customers the prior is worth hundreds of trials or more.
    expect(fit.params.alpha + fit.params.beta).toBeGreaterThan(100);
    expectClose(fit.params.alpha / (fit.params.alpha + fit.params.beta), 0.3, { atol: 0.01 }, 'prior mean');
    if (fit.diagnostics.method === 'moments') expect(fit.diagnostics.message).toMatch(/boundary|moments/);
  });

  it('with no customer of two trials, uses a weak prior around the pooled rate and says so', () => {
    const fit = fitBetaBinomial({ k: [1, 0, 0, 1], n: [1, 1, 1, 1] });
    expect(fit.diagnostics.method).toBe('moments');
    expect(fit.diagnostics.message).toMatch(/not identified/);
    expectClose(fit.params.alpha + fit.params.beta, 2, { rtol: 1e-12 }, 'precision');
    expectClose(fit.params.alpha, 1, { rtol: 1e-6 }, 'alpha');
  });

  it('accepts fractional successes (a value-weighted share) and refuses k > n', () => {
    const fit = fitBetaBinomial({ k: [0.5, 2.25, 0, 3.9, 1], n: [1, 3, 2, 4, 5] });
    expect(fit.params.alpha).toBeGreaterThan(0);
    expect(() => fitBetaBinomial({ k: [3], n: [2] })).toThrow(/0 <= k <= n/);
  });

  it('moments match the prior mean of the simulation (seed 3)', () => {
    const m = betaBinomialMoments(simulate(3, 5000, 2, 5, 8));
    expectClose(m.params.alpha / (m.params.alpha + m.params.beta), 2 / 7, { atol: 0.01 }, 'prior mean');
  });
});

describe('posteriorMean', () => {
  it('one discounted purchase of one is not 100%: it is shrunk towards the population', () => {
    const prior = { alpha: 2, beta: 5 };
    const p = posteriorMean(prior, 1, 1);
    expectClose(p, 3 / 8, { rtol: 1e-12 }, 'posterior');
    expect(p).toBeLessThan(0.5);
    // Twenty of twenty moves much further from the prior mean (2/7) than one of one.
    expect(posteriorMean(prior, 20, 20)).toBeGreaterThan(0.8);
  });
});
