// Gauss-Legendre quadrature nodes and weights (Golub-Welsch-free: Newton iteration on P_n), for smooth finite integrals.
//
// Hand-written: a dozen lines, computed once per order; no maintained Node package provides them.

export interface GaussLegendreRule {
  /** Nodes on [−1, 1], ascending. */
  readonly nodes: Float64Array;
  readonly weights: Float64Array;
}

const cache = new Map<number, GaussLegendreRule>();

/**
 * The n-point Gauss-Legendre rule on [−1, 1] (exact for polynomials of degree 2n − 1): nodes are the roots of the
 * Legendre polynomial P_n found by Newton's method from cos(π(i − 1/4)/(n + 1/2)), weights 2/((1 − x²) P_n'(x)²)
 * (Abramowitz & Stegun 25.4.29).
 */
export function gaussLegendre(n: number): GaussLegendreRule {
  const hit = cache.get(n);
  if (hit !== undefined) return hit;
  const nodes = new Float64Array(n);
  const weights = new Float64Array(n);
  for (let i = 0; i < Math.ceil(n / 2); i++) {
    let x = Math.cos((Math.PI * (i + 0.75)) / (n + 0.5));
    let dp = 0;
    for (let iter = 0; iter < 100; iter++) {
      // Recurrence (k+1) P_{k+1} = (2k+1) x P_k − k P_{k−1}.
      let p0 = 1;
      let p1 = x;
      for (let k = 1; k < n; k++) {
        const p2 = ((2 * k + 1) * x * p1 - k * p0) / (k + 1);
        p0 = p1;
        p1 = p2;
      }
      dp = (n * (x * p1 - p0)) / (x * x - 1);
      const dx = p1 / dp;
      x -= dx;
      if (Math.abs(dx) < 1e-16) break;
    }
    const w = 2 / ((1 - x * x) * dp * dp);
    nodes[i] = -x;
    nodes[n - 1 - i] = x;
    weights[i] = w;
    weights[n - 1 - i] = w;
  }
  const rule = { nodes, weights };
  cache.set(n, rule);
  return rule;
}
