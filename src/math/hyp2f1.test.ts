// Tests of the Gauss hypergeometric function against closed forms (DLMF 15.4) across z < 1, and of its gradient.
import { describe, expect, it } from 'vitest';
import { KairosError } from '../errors.js';
import { expectClose } from '../testing/expect-close.js';
import { hyp2f1, hyp2f1Series, logHyp2f1Grad } from './hyp2f1.js';

describe('hyp2f1 against closed forms (DLMF 15.4)', () => {
  // 2F1(1, 1; 2; z) = −ln(1 − z)/z (DLMF 15.4.2): c − a − b = 0 is the degenerate case of the 1 − z formula.
  it.each([-50, -5, -1, -0.5, 1e-3, 0.3, 0.7, 0.9, 0.95, 0.999, 0.999999])('2F1(1,1;2;%s) = −ln(1−z)/z', (z) => {
    expectClose(hyp2f1(1, 1, 2, z), -Math.log1p(-z) / z, { rtol: 1e-12 }, `z=${z}`);
  });
  // 2F1(a, b; b; z) = (1 − z)^{−a} (DLMF 15.4.6).
  it.each([
    [0.7, 2.3, -3],
    [2.5, 0.4, 0.5],
    [0.3, 1.7, 0.97],
    [4.2, 3.1, -0.2],
  ])('2F1(%s, b; b; z) = (1−z)^−a', (a, b, z) => {
    expectClose(hyp2f1(a, b, b, z), Math.pow(1 - z, -a), { rtol: 1e-12 }, `a=${a} b=${b} z=${z}`);
  });
  // 2F1(1/2, 1/2; 3/2; z²) = arcsin(z)/z (DLMF 15.4.4) and 2F1(1/2, 1; 3/2; −z²) = arctan(z)/z (DLMF 15.4.3).
  it.each([0.1, 0.5, 0.9, 0.99, 0.9999])('arcsin and arctan forms at z=%s', (z) => {
    expectClose(hyp2f1(0.5, 0.5, 1.5, z * z), Math.asin(z) / z, { rtol: 1e-11 }, 'arcsin');
    expectClose(hyp2f1(0.5, 1, 1.5, -z * z * 100), Math.atan(10 * z) / (10 * z), { rtol: 1e-12 }, 'arctan');
  });
  it('is a polynomial when a is a non-positive integer, for any z < 1', () => {
    // 2F1(−3, b; c; z) = 1 − 3bz/c + 3b(b+1)z²/(c(c+1)) − b(b+1)(b+2)z³/(c(c+1)(c+2))
    const [b, c] = [2.5, 1.5];
    const poly = (z: number): number =>
      1 - (3 * b * z) / c + (3 * b * (b + 1) * z * z) / (c * (c + 1)) - (b * (b + 1) * (b + 2) * z ** 3) / (c * (c + 1) * (c + 2));
    for (const z of [-7, -1, 0.5, 0.99]) expectClose(hyp2f1(-3, b, c, z), poly(z), { rtol: 1e-12, atol: 1e-12 }, `z=${z}`);
  });
  it('matches the direct series where both apply, across the branches (Euler, 1 − z, Pfaff)', () => {
    const cases: Array<[number, number, number]> = [
      [0.55, 1.6, 2.1],
      [3.2, 2.5, 1.3], // c − a − b < 0: Euler branch
      [1.2, 0.7, 4.5],
      [10.3, 1.0, 12.5],
    ];
    for (const [a, b, c] of cases) {
      for (const z of [0.2, 0.6, 0.85]) {
        expectClose(hyp2f1(a, b, c, z), hyp2f1Series(a, b, c, z), { rtol: 1e-12 }, `(${a},${b},${c},${z})`);
      }
      // Above 0.9 the 1 − z formula is used; the raw series still converges and is the reference.
      for (const z of [0.93, 0.98]) {
        expectClose(hyp2f1(a, b, c, z), hyp2f1Series(a, b, c, z), { rtol: 1e-10 }, `(${a},${b},${c},${z})`);
      }
      // z < 0: Pfaff against the raw alternating series (|z| < 1 only).
      expectClose(hyp2f1(a, b, c, -0.6), hyp2f1Series(a, b, c, -0.6), { rtol: 1e-11 }, `(${a},${b},${c},-0.6)`);
    }
  });
  it('uses the logarithmic formulas (A&S 15.3.10-11) when c − a − b is an integer, near z = 1', () => {
    // c − a − b = 1, 2, −1, −2 and 0; the raw series (slow but convergent at z = 0.97) is the reference.
    const cases: Array<[number, number, number]> = [
      [1, 1, 3],
      [0.5, 1.5, 4],
      [2, 1.5, 2.5],
      [3.3, 0.9, 2.2],
      [0.4, 2.1, 2.5],
    ];
    for (const [a, b, c] of cases) {
      expectClose(hyp2f1(a, b, c, 0.97), hyp2f1Series(a, b, c, 0.97), { rtol: 1e-11 }, `(${a},${b},${c})`);
    }
  });
  it('interpolates when c − a − b is within 1e-5 of an integer, near z = 1', () => {
    for (const eps of [3e-6, -7e-7, 1e-12]) {
      expectClose(hyp2f1(0.5, 1.5, 4 + eps, 0.97), hyp2f1Series(0.5, 1.5, 4 + eps, 0.97), { rtol: 1e-11 }, `eps=${eps}`);
    }
    // 2F1(1, 1; 2 + ε; z) is smooth in ε: the near-degenerate value is close to the ε = 0 closed form.
    expectClose(hyp2f1(1, 1, 2 + 1e-13, 0.995), -Math.log(0.005) / 0.995, { rtol: 1e-11 }, 'near-integer');
  });
  it('rejects z >= 1 and c a non-positive integer', () => {
    expect(() => hyp2f1(1, 1, 2, 1)).toThrow(KairosError);
    expect(() => hyp2f1(1, 1, -2, 0.5)).toThrow(/non-positive integer/);
  });
});

describe('logHyp2f1Grad', () => {
  it('returns ln F and derivatives equal to central differences of hyp2f1', () => {
    const out = new Float64Array(5);
    for (const [a, b, c, z] of [
      [1, 0.8, 2.3, 0.4],
      [1, 5.5, 6.9, 0.85],
      [2.2, 0.3, 1.7, 0.1],
      [1, 1.6, 3.2, 0.99],
    ] as Array<[number, number, number, number]>) {
      logHyp2f1Grad(a, b, c, z, out);
      expectClose(out[0] as number, Math.log(hyp2f1(a, b, c, z)), { rtol: 1e-13, atol: 1e-13 }, 'value');
      const h = 1e-6;
      const lf = (aa: number, bb: number, cc: number, zz: number): number => Math.log(hyp2f1(aa, bb, cc, zz));
      const fd = [
        (lf(a + h, b, c, z) - lf(a - h, b, c, z)) / (2 * h),
        (lf(a, b + h, c, z) - lf(a, b - h, c, z)) / (2 * h),
        (lf(a, b, c + h, z) - lf(a, b, c - h, z)) / (2 * h),
        (lf(a, b, c, z + h * (1 - z)) - lf(a, b, c, z - h * (1 - z))) / (2 * h * (1 - z)),
      ];
      fd.forEach((v, i) => expectClose(out[i + 1] as number, v, { rtol: 1e-6, atol: 1e-8 }, `d${'abcz'[i]} at (${a},${b},${c},${z})`));
    }
  });
  it('at z = 0 gives ∂/∂z = ab/c', () => {
    const out = new Float64Array(5);
    logHyp2f1Grad(2, 3, 4, 0, out);
    expect(Array.from(out)).toEqual([0, 0, 0, 0, 1.5]);
  });
});
