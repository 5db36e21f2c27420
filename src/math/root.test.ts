// Tests of Brent's bracketed root finder.
import { describe, expect, it } from 'vitest';
import { expectClose } from '../testing/expect-close.js';
import { brentRoot } from './root.js';

describe('brentRoot', () => {
  it('finds the root of cos x − x (Dottie number)', () => {
    expectClose(brentRoot((x) => Math.cos(x) - x, 0, 1), 0.7390851332151607, { atol: 1e-14 }, 'dottie');
  });
  it('finds a root of a steep monotone function across decades', () => {
    const root = brentRoot((d) => 1 / (1 + Math.pow(1 + d / 50, 3)) - 0.01, 0, 1e6);
    expectClose(1 / (1 + Math.pow(1 + root / 50, 3)), 0.01, { rtol: 1e-10 }, 'f(root)');
  });
  it('throws when the interval does not bracket a root', () => {
    expect(() => brentRoot((x) => x * x + 1, -1, 1)).toThrow(RangeError);
  });
});
