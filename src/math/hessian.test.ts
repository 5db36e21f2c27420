// Tests of the central-difference Hessian and the SPD inversion used for standard errors.
import { describe, expect, it } from 'vitest';
import { expectClose } from '../testing/expect-close.js';
import { invertSpd, numericalHessian, solveSpd, standardErrorsFromHessian } from './hessian.js';

describe('numericalHessian', () => {
  it('matches the analytic Hessian of f(x, y) = e^x y² + x³ from its gradient', () => {
    const grad = (v: Float64Array, out: Float64Array): void => {
      const [x, y] = [v[0] as number, v[1] as number];
      out[0] = Math.exp(x) * y * y + 3 * x * x;
      out[1] = 2 * Math.exp(x) * y;
    };
    const [x, y] = [0.3, -1.7];
    const h = numericalHessian(grad, Float64Array.of(x, y));
    const exact = [Math.exp(x) * y * y + 6 * x, 2 * Math.exp(x) * y, 2 * Math.exp(x) * y, 2 * Math.exp(x)];
    exact.forEach((v, i) => expectClose(h[i] as number, v, { rtol: 1e-8 }, `H[${i}]`));
  });
});

describe('SPD inversion', () => {
  const a = Float64Array.of(4, 2, 0.6, 2, 5, 1, 0.6, 1, 3);
  it('inverts a symmetric positive-definite matrix', () => {
    const inv = invertSpd(a, 3);
    expect(inv).not.toBeNull();
    for (let i = 0; i < 3; i++) {
      for (let j = 0; j < 3; j++) {
        let s = 0;
        for (let k = 0; k < 3; k++) s += (a[i * 3 + k] as number) * ((inv as Float64Array)[k * 3 + j] as number);
        expectClose(s, i === j ? 1 : 0, { atol: 1e-14 }, `(A A⁻¹)[${i},${j}]`);
      }
    }
    const x = solveSpd(a, Float64Array.of(1, 2, 3)) as Float64Array;
    expectClose(4 * (x[0] as number) + 2 * (x[1] as number) + 0.6 * (x[2] as number), 1, { atol: 1e-14 }, 'solve row 0');
  });
  it('returns null when the matrix is not positive definite (a non-identified parameter)', () => {
    expect(invertSpd(Float64Array.of(1, 2, 2, 1), 2)).toBeNull();
    expect(standardErrorsFromHessian(Float64Array.of(1, 0, 0, 0), 2)).toBeNull();
    const se = standardErrorsFromHessian(Float64Array.of(4, 0, 0, 25), 2) as Float64Array;
    expectClose(se[0] as number, 0.5, { rtol: 1e-15 }, 'se0');
    expectClose(se[1] as number, 0.2, { rtol: 1e-15 }, 'se1');
  });
});
