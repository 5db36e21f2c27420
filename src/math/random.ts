// Seeded random numbers for simulators and tests: one Mersenne Twister stream feeding @stdlib's samplers.
import betaFactory from '@stdlib/random-base-beta';
import exponentialFactory from '@stdlib/random-base-exponential';
import gammaFactory from '@stdlib/random-base-gamma';
import lognormalFactory from '@stdlib/random-base-lognormal';
import mt19937 from '@stdlib/random-base-mt19937';
import normalFactory from '@stdlib/random-base-normal';
import poissonFactory from '@stdlib/random-base-poisson';
import { KairosError } from '../errors.js';

/** A seeded generator. All draws come from one MT19937 stream, so a seed fixes every sequence. */
export interface Rng {
  readonly seed: number;
  /** Uniform on [0, 1). */
  uniform(): number;
  /** Uniform on [lo, hi). */
  uniformIn(lo: number, hi: number): number;
  /** Exponential with rate λ (mean 1/λ). */
  exponential(rate: number): number;
  /** Gamma with shape k and rate θ (mean k/θ): the papers' Gamma(r, α) is gamma(r, alpha). */
  gamma(shape: number, rate: number): number;
  /** Beta(a, b). */
  beta(a: number, b: number): number;
  /** Poisson with mean λ. */
  poisson(mean: number): number;
  /** Normal with mean μ and standard deviation σ. */
  normal(mean: number, sd: number): number;
  /** Log-normal: e^{N(μ, σ)}. */
  lognormal(mu: number, sigma: number): number;
}

const MAX_SEED = 4294967295;

/**
 * A generator for a non-negative integer seed (any safe integer; MT19937 needs 1..2^32−1, so the seed is mapped
 * to (seed mod (2^32 − 1)) + 1).
 */
export function createRng(seed: number): Rng {
  if (!Number.isSafeInteger(seed) || seed < 0) {
    throw new KairosError('VALIDATION', `seed must be a non-negative integer (got ${seed})`);
  }
  const mtSeed = (seed % MAX_SEED) + 1;
  const base = mt19937.factory({ seed: mtSeed });
  // `normalized` (uniform on [0,1) from the same state) exists at runtime but is missing from stdlib's typings.
  const normalized = (base as unknown as { normalized?: () => number }).normalized;
  if (typeof normalized !== 'function') throw new KairosError('INTERNAL', 'mt19937.normalized is not available');
  const prng = normalized;
  const gamma = gammaFactory.factory({ prng });
  const beta = betaFactory.factory({ prng });
  const exponential = exponentialFactory.factory({ prng });
  const poisson = poissonFactory.factory({ prng });
  const normal = normalFactory.factory({ prng });
  const lognormal = lognormalFactory.factory({ prng });
  return {
    seed,
    uniform: () => prng(),
    uniformIn: (lo, hi) => lo + (hi - lo) * prng(),
    exponential: (rate) => exponential(rate),
    gamma: (shape, rate) => gamma(shape, rate),
    beta: (a, b) => beta(a, b),
    poisson: (mean) => poisson(mean),
    normal: (mean, sd) => normal(mean, sd),
    lognormal: (mu, sigma) => lognormal(mu, sigma),
  };
}
