// Seeded random streams for the demo generators: one stdlib Mersenne Twister per stream, stdlib samplers drawing from it.
import beta from '@stdlib/random-base-beta';
import gamma from '@stdlib/random-base-gamma';
import mt19937 from '@stdlib/random-base-mt19937';
import normal from '@stdlib/random-base-normal';
import poisson from '@stdlib/random-base-poisson';

/** A seeded stream of draws. All samplers of one stream share one generator state, so a stream is reproducible on its own. */
export interface RandomStream {
  /** Uniform on [0, 1). */
  uniform(): number;
  /** Integer uniform on 0..n-1. */
  int(n: number): number;
  /** Exponential with the given rate (mean 1 / rate). */
  exponential(rate: number): number;
  /** Gamma with shape and rate (mean shape / rate). */
  gamma(shape: number, rate: number): number;
  /** Beta(a, b). */
  beta(a: number, b: number): number;
  /** Normal with mean mu and standard deviation sigma. */
  normal(mu: number, sigma: number): number;
  /** Poisson with the given mean (0 when mean <= 0). */
  poisson(mean: number): number;
  /** Index drawn from cumulative weights (last entry = total); linear scan, meant for short tables. */
  categorical(cumulative: ArrayLike<number>): number;
  /** A Gamma(shape, rate) sampler with fixed parameters: faster than `gamma` in hot loops. */
  gammaSampler(shape: number, rate: number): () => number;
  /** A Beta(a, b) sampler with fixed parameters. */
  betaSampler(a: number, b: number): () => number;
}

/** Mixes a user seed and a stream number into a valid Mersenne Twister seed (1 .. 2^32-1), murmur3's finaliser. */
export function streamSeed(seed: number, stream: number): number {
  const lo = seed % 0x1_0000_0000;
  const hi = Math.floor(seed / 0x1_0000_0000);
  let h = (lo ^ Math.imul(hi + 0x85eb_ca6b, 0x9e37_79b1) ^ Math.imul(stream + 1, 0xc2b2_ae35)) >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85eb_ca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2_ae35);
  h ^= h >>> 16;
  h >>>= 0;
  return h === 0 ? 1 : h;
}

/** Opens stream number `stream` of the user seed `seed` (a non-negative safe integer). */
export function randomStream(seed: number, stream: number): RandomStream {
  const source = mt19937.factory({ seed: streamSeed(seed, stream) });
  // `normalized` (documented in the package README, missing from its typings) gives 53-bit uniforms on [0, 1).
  const uniform = (source as unknown as { normalized: () => number }).normalized;
  const options = { prng: uniform };
  const gammaFn = gamma.factory(options);
  const betaFn = beta.factory(options);
  const normalFn = normal.factory(options);
  const poissonFn = poisson.factory(options);
  return {
    uniform,
    int: (n) => Math.floor(uniform() * n),
    exponential: (rate) => -Math.log1p(-uniform()) / rate,
    gamma: (shape, rate) => gammaFn(shape, rate),
    beta: (a, b) => betaFn(a, b),
    normal: (mu, sigma) => normalFn(mu, sigma),
    poisson: (mean) => (mean > 0 ? poissonFn(mean) : 0),
    categorical: (cumulative) => {
      const n = cumulative.length;
      const x = uniform() * (cumulative[n - 1] ?? 0);
      for (let i = 0; i < n - 1; i++) if (x < (cumulative[i] ?? 0)) return i;
      return n - 1;
    },
    gammaSampler: (shape, rate) => gamma.factory(shape, rate, options),
    betaSampler: (a, b) => beta.factory(a, b, options),
  };
}

/** Running sums of weights, for `RandomStream.categorical`. */
export function cumulate(weights: readonly number[]): Float64Array {
  const out = new Float64Array(weights.length);
  let sum = 0;
  for (let i = 0; i < weights.length; i++) {
    sum += weights[i] ?? 0;
    out[i] = sum;
  }
  return out;
}
