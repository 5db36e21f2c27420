// Tests of the seeded random stream: determinism per seed and the parameterisations the simulators rely on.
import { describe, expect, it } from 'vitest';
import { expectClose } from '../testing/expect-close.js';
import { createRng } from './random.js';

describe('createRng', () => {
  it('repeats its sequence for a seed and differs across seeds', () => {
    const draw = (seed: number): number[] => {
      const rng = createRng(seed);
      return [rng.uniform(), rng.gamma(2, 3), rng.beta(1, 2), rng.exponential(4), rng.poisson(3)];
    };
    expect(draw(42)).toEqual(draw(42));
    expect(draw(42)).not.toEqual(draw(43));
    expect(draw(0)).toEqual(draw(0));
  });
  it('uses the shape/rate gamma of the papers: mean k/θ (seed 5, 200,000 draws, 4 standard errors)', () => {
    const rng = createRng(5);
    const n = 200_000;
    let s = 0;
    for (let i = 0; i < n; i++) s += rng.gamma(0.5, 28);
    const mean = 0.5 / 28;
    const se = Math.sqrt(0.5) / 28 / Math.sqrt(n);
    expectClose(s / n, mean, { atol: 4 * se }, 'gamma mean');
  });
  it('rejects negative and non-integer seeds', () => {
    expect(() => createRng(-1)).toThrow(/seed/);
    expect(() => createRng(1.5)).toThrow(/seed/);
  });
});
