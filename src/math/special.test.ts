// Tests of the hand-written special functions (trigamma) against known values and stdlib's digamma.
import { describe, it } from 'vitest';
import { expectClose } from '../testing/expect-close.js';
import { digamma, trigamma } from './special.js';

describe('trigamma', () => {
  it('matches ψ′(1) = π²/6, ψ′(1/2) = π²/2 and tabulated values (DLMF 5.15.2, 5.15.3; Abramowitz-Stegun table 6.1)', () => {
    expectClose(trigamma(1), Math.PI ** 2 / 6, { rtol: 1e-15 }, 'ψ′(1)');
    expectClose(trigamma(0.5), Math.PI ** 2 / 2, { rtol: 1e-15 }, 'ψ′(1/2)');
    // ψ′(n) = π²/6 − Σ_{k<n} 1/k².
    let s = Math.PI ** 2 / 6;
    for (let n = 1; n < 40; n++) {
      expectClose(trigamma(n), s, { rtol: 4e-15 }, `ψ′(${n})`);
      s -= 1 / (n * n);
    }
  });

  it('is the derivative of stdlib digamma (central differences, rtol 1e-8)', () => {
    for (const x of [1e-3, 0.07, 0.5, 2.3, 9.99, 10, 31.4, 1e3, 1e6]) {
      const h = 1e-5 * x;
      const fd = (digamma(x + h) - digamma(x - h)) / (2 * h);
      expectClose(trigamma(x), fd, { rtol: 1e-8 }, `ψ′(${x})`);
    }
  });
});
