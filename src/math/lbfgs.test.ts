// Tests of the L-BFGS minimiser and its strong-Wolfe line search on standard problems.
import { describe, expect, it } from 'vitest';
import { expectClose } from '../testing/expect-close.js';
import { minimizeLbfgs, type Objective } from './lbfgs.js';
import { strongWolfeLineSearch } from './line-search.js';

/** Extended Rosenbrock function (Nocedal & Wright eq. 9.1 for n = 2) and its gradient. */
const rosenbrock: Objective = (x, g) => {
  let f = 0;
  g.fill(0);
  for (let i = 0; i + 1 < x.length; i++) {
    const a = x[i] as number;
    const b = x[i + 1] as number;
    f += 100 * (b - a * a) ** 2 + (1 - a) ** 2;
    g[i] = (g[i] as number) - 400 * a * (b - a * a) - 2 * (1 - a);
    g[i + 1] = (g[i + 1] as number) + 200 * (b - a * a);
  }
  return f;
};

describe('minimizeLbfgs', () => {
  it('minimises the Rosenbrock function from (−1.2, 1) (N&W section 9.1)', () => {
    const r = minimizeLbfgs(rosenbrock, Float64Array.of(-1.2, 1), { gradientTolerance: 1e-10 });
    expect(r.converged).toBe(true);
    expect(r.gradNorm).toBeLessThanOrEqual(1e-10);
    expectClose(r.x[0] as number, 1, { atol: 1e-9 }, 'x1');
    expectClose(r.x[1] as number, 1, { atol: 1e-9 }, 'x2');
    expect(r.iterations).toBeLessThan(60);
  });
  it('minimises a 10-dimensional Rosenbrock function', () => {
    const x0 = new Float64Array(10).fill(-1);
    const r = minimizeLbfgs(rosenbrock, x0, { gradientTolerance: 1e-9 });
    expect(r.converged).toBe(true);
    for (const v of r.x) expectClose(v, 1, { atol: 1e-7 }, 'x_i');
  });
  it('solves an ill-conditioned quadratic exactly', () => {
    const d = [1, 10, 100, 1e4];
    const f: Objective = (x, g) => {
      let s = 0;
      for (let i = 0; i < d.length; i++) {
        s += 0.5 * (d[i] as number) * ((x[i] as number) - i) ** 2;
        g[i] = (d[i] as number) * ((x[i] as number) - i);
      }
      return s;
    };
    const r = minimizeLbfgs(f, new Float64Array(4).fill(5), { gradientTolerance: 1e-10 });
    expect(r.converged).toBe(true);
    r.x.forEach((v, i) => expectClose(v, i, { atol: 1e-9 }, `x${i}`));
  });
  it('treats a non-finite objective as a step that is too long (log-barrier at x <= 0)', () => {
    // f(x) = x − ln x, minimum at 1; infinite for x <= 0.
    const f: Objective = (x, g) => {
      const v = x[0] as number;
      if (!(v > 0)) return Infinity;
      g[0] = 1 - 1 / v;
      return v - Math.log(v);
    };
    const r = minimizeLbfgs(f, Float64Array.of(20), { gradientTolerance: 1e-12, maxFirstStep: 100 });
    expect(r.converged).toBe(true);
    expectClose(r.x[0] as number, 1, { atol: 1e-10 }, 'x');
  });
  it('reports non-convergence at the iteration cap, with a message', () => {
    const r = minimizeLbfgs(rosenbrock, Float64Array.of(-1.2, 1), { maxIterations: 3 });
    expect(r.converged).toBe(false);
    expect(r.iterations).toBe(3);
    expect(r.message).toMatch(/maximum iterations/);
  });
});

describe('strongWolfeLineSearch (N&W Algorithms 3.5, 3.6)', () => {
  it('returns a step satisfying sufficient decrease and the strong curvature condition', () => {
    // φ(α) = (α − 3)² + sin(4α): several local minima along the line.
    const phi = (a: number): { f: number; d: number } => ({ f: (a - 3) ** 2 + Math.sin(4 * a), d: 2 * (a - 3) + 4 * Math.cos(4 * a) });
    const { f: f0, d: d0 } = phi(0);
    for (const c2 of [0.9, 0.1]) {
      const r = strongWolfeLineSearch(phi, f0, d0, 1, { c1: 1e-4, c2 });
      expect(r.ok).toBe(true);
      expect(r.f).toBeLessThanOrEqual(f0 + 1e-4 * r.alpha * d0);
      expect(Math.abs(r.d)).toBeLessThanOrEqual(-c2 * d0);
    }
  });
});
