// Tests of the Gauss-Legendre rule.
import { describe, it } from 'vitest';
import { expectClose } from '../testing/expect-close.js';
import { gaussLegendre } from './gauss-legendre.js';

describe('gaussLegendre', () => {
  it('integrates polynomials of degree 2n − 1 exactly and e^x to machine precision', () => {
    const { nodes, weights } = gaussLegendre(16);
    let sumW = 0;
    let x30 = 0;
    let ex = 0;
    for (let i = 0; i < 16; i++) {
      sumW += weights[i] as number;
      x30 += (weights[i] as number) * (nodes[i] as number) ** 30;
      ex += (weights[i] as number) * Math.exp(nodes[i] as number);
    }
    expectClose(sumW, 2, { rtol: 1e-15 }, '∫ 1');
    expectClose(x30, 2 / 31, { rtol: 1e-13 }, '∫ x^30');
    expectClose(ex, Math.E - 1 / Math.E, { rtol: 1e-15 }, '∫ e^x');
  });
});
