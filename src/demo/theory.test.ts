// Tests of the closed-form expectations behind truth.csv, against identities and a seeded simulation.
import { describe, expect, it } from 'vitest';
import { expectClose } from '../testing/expect-close.js';
import { randomStream } from './rng.js';
import { bgnbdExpectedRepeatPurchases, expectedPurchasesAlive, hyp2f1, pAliveGivenHistory } from './theory.js';

describe('hyp2f1', () => {
  it('matches 2F1(1, 1; 2; z) = -ln(1 - z) / z (Abramowitz & Stegun 15.1.3)', () => {
    for (const z of [0.1, 0.5, 0.9, 0.97]) expectClose(hyp2f1(1, 1, 2, z), -Math.log1p(-z) / z, { rtol: 1e-10 }, `z=${z}`);
  });
  it('matches 2F1(a, b; b; z) = (1 - z)^-a (A&S 15.1.8)', () => {
    expectClose(hyp2f1(0.7, 2.3, 2.3, 0.6), Math.pow(0.4, -0.7), { rtol: 1e-10 }, '2F1(0.7,2.3;2.3;0.6)');
  });
});

describe('expectedPurchasesAlive', () => {
  it('is 0 at t = 0, increasing, bounded by 1/p, and lambda t as p -> 0', () => {
    expect(expectedPurchasesAlive(0, 0.3)).toBe(0);
    expect(expectedPurchasesAlive(2, 0.3)).toBeLessThan(expectedPurchasesAlive(3, 0.3));
    expect(expectedPurchasesAlive(1e6, 0.25)).toBeCloseTo(4, 10);
    expectClose(expectedPurchasesAlive(1.5, 1e-12), 1.5, { rtol: 1e-9 }, 'p -> 0');
    expect(expectedPurchasesAlive(1.5, 0)).toBe(1.5);
  });

  it('matches a seeded simulation of Poisson purchases with dropout after each (seed 99)', () => {
    const rng = randomStream(99, 0);
    const lambda = 0.05;
    const p = 0.2;
    const t = 60;
    let total = 0;
    const n = 200_000;
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (;;) {
        s += rng.exponential(lambda);
        if (s > t) break;
        total++;
        if (rng.uniform() < p) break;
      }
    }
    expectClose(total / n, expectedPurchasesAlive(lambda * t, p), { rtol: 0.01 }, 'E[X(t) | lambda, p]');
  });
});

describe('pAliveGivenHistory', () => {
  it('is 1 without repeat purchases and falls with time since the last one', () => {
    expect(pAliveGivenHistory(0.3, 0, 5)).toBe(1);
    expect(pAliveGivenHistory(0.3, 2, 0)).toBeCloseTo(0.7, 12);
    expect(pAliveGivenHistory(0.3, 2, 1)).toBeLessThan(pAliveGivenHistory(0.3, 2, 0.5));
  });
});

describe('bgnbdExpectedRepeatPurchases', () => {
  it('is 0 at t = 0 and tends to the mean of lambda t for tiny t (FHL 2005 eq. 9)', () => {
    const params = { r: 0.243, alpha: 4.414, a: 0.793, b: 2.426 }; // FHL 2005 CDNOW estimates (weeks)
    expect(bgnbdExpectedRepeatPurchases(params, 0)).toBeCloseTo(0, 12);
    expectClose(bgnbdExpectedRepeatPurchases(params, 1e-4), (params.r / params.alpha) * 1e-4, { rtol: 1e-3 }, 'small t');
    expect(bgnbdExpectedRepeatPurchases(params, 39)).toBeGreaterThan(bgnbdExpectedRepeatPurchases(params, 20));
  });

  it('matches a seeded simulation of the mixed process (seed 5)', () => {
    const params = { r: 0.5, alpha: 28, a: 0.8, b: 3 };
    const rng = randomStream(5, 0);
    const drawLambda = rng.gammaSampler(params.r, params.alpha);
    const drawP = rng.betaSampler(params.a, params.b);
    const t = 300;
    const n = 200_000;
    let total = 0;
    for (let i = 0; i < n; i++) {
      const lambda = drawLambda();
      const p = drawP();
      let s = 0;
      for (;;) {
        s += rng.exponential(lambda);
        if (s > t) break;
        total++;
        if (rng.uniform() < p) break;
      }
    }
    expectClose(total / n, bgnbdExpectedRepeatPurchases(params, t), { rtol: 0.03 }, 'E[X(300)]');
  });
});
