// Tests of the log-space helpers at the extremes where the naive formulas overflow or cancel.
import { describe, expect, it } from 'vitest';
import { expectClose } from '../testing/expect-close.js';
import { log1mExp, logAddExp, logSubExp, logSumExp } from './log-sum-exp.js';
import { exprel, gammaSign, logistic, softplus } from './special.js';

describe('log-sum-exp helpers', () => {
  it('logSumExp does not overflow and handles empty and −∞ inputs', () => {
    expectClose(logSumExp([1000, 1000]), 1000 + Math.LN2, { rtol: 1e-15 }, 'big');
    expectClose(logSumExp([-1000, -1001]), -1000 + Math.log1p(Math.exp(-1)), { rtol: 1e-15 }, 'small');
    expect(logSumExp([])).toBe(-Infinity);
    expect(logSumExp([-Infinity, -Infinity])).toBe(-Infinity);
  });
  it('logAddExp and logSubExp invert each other', () => {
    const s = logAddExp(700, 699);
    expectClose(logSubExp(s, 699), 700, { rtol: 1e-15 }, 'roundtrip');
    expect(logSubExp(3, 3)).toBe(-Infinity);
    expect(logAddExp(-Infinity, 2)).toBe(2);
  });
  it('log1mExp is accurate near 0 and far from 0', () => {
    expectClose(log1mExp(-1e-20), Math.log(1e-20), { rtol: 1e-12 }, 'near 0');
    expectClose(log1mExp(-50), -Math.exp(-50), { rtol: 1e-12 }, 'far');
  });
});

describe('special helpers', () => {
  it('exprel is continuous at 0', () => {
    expectClose(exprel(0), 1, { rtol: 0 }, 'exprel(0)');
    expectClose(exprel(1e-7), Math.expm1(1e-7) / 1e-7, { rtol: 1e-14 }, 'small');
    expectClose(exprel(-3), Math.expm1(-3) / -3, { rtol: 1e-15 }, 'moderate');
  });
  it('softplus and logistic do not overflow', () => {
    expect(softplus(1000)).toBe(1000);
    expectClose(softplus(-1000), 0, { atol: 1e-300 }, 'softplus(-1000)');
    expect(logistic(-1000)).toBe(0);
    expect(logistic(1000)).toBe(1);
  });
  it('gammaSign follows Γ on the negative axis', () => {
    expect([gammaSign(2.5), gammaSign(-0.5), gammaSign(-1.5), gammaSign(-2)]).toEqual([1, -1, 1, 0]);
  });
});
