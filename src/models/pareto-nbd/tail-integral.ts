// The Pareto/NBD integral ∫_u0^∞ (A+u)^−p (B+u)^−q du in closed form (via 2F1), in log space, with its gradient.
import { gaussLegendre } from '../../math/gauss-legendre.js';
import { logHyp2f1Grad } from '../../math/hyp2f1.js';

/** Beyond this 2F1 argument the series is slow (≈ ln ε / ln z terms): the integral is split, see logTailIntegralGrad. */
const Z_SPLIT = 0.9;
const RULE = gaussLegendre(16);

/**
 * ln G and its partial derivatives [ln G, ∂/∂p, ∂/∂q, ∂/∂A, ∂/∂B] (written into out), where
 * G = ∫_{u0}^∞ (A+u)^{−p} (B+u)^{−q} du, p + q > 1, A, B > 0, u0 ≥ 0.
 *
 * Substituting v = (A+u0)/(A+u) gives G = (A+u0)^{−(p+q−1)}/(p+q−1) · 2F1(p+q−1, q; p+q; (A−B)/(A+u0)) (DLMF 15.6.1),
 * the form of Fader & Hardie (2005, note 009, eqs. 19–20, with p = r+x, q = s+1). Euler's transformation (DLMF
 * 15.8.1) turns it into a series of positive terms whose ratio is below z:
 *
 *   A ≥ B: G = (A+u0)^{−p} (B+u0)^{1−q} / (p+q−1) · 2F1(1, p; p+q; (A−B)/(A+u0))
 *   A < B: G = (B+u0)^{−q} (A+u0)^{1−p} / (p+q−1) · 2F1(1, q; p+q; (B−A)/(B+u0))
 *
 * (the two are Pfaff transforms of each other, so the argument always lies in [0, 1)). The 2F1 derivatives come from
 * the term-by-term differentiated series (math/hyp2f1.ts). When z > 0.9 (rates of very different size, e.g. β ≪ α
 * near u0 = 0) the series would need ~ln ε / ln z terms, so G is split at the u1 where z = 0.9: the tail beyond u1 by
 * the series, [u0, u1] by Gauss-Legendre quadrature (below). scratch holds 5 numbers.
 */
export function logTailIntegralGrad(
  p: number,
  q: number,
  A: number,
  B: number,
  u0: number,
  out: Float64Array,
  scratch: Float64Array,
): void {
  const big = A >= B ? A : B;
  const z = Math.abs(A - B) / (big + u0);
  if (z > Z_SPLIT) {
    splitTail(p, q, A, B, u0, out, scratch);
    return;
  }
  seriesTail(p, q, A, B, u0, out, scratch);
}

/** ln G only (same method). */
export function logTailIntegral(p: number, q: number, A: number, B: number, u0: number): number {
  const out = new Float64Array(5);
  logTailIntegralGrad(p, q, A, B, u0, out, new Float64Array(5));
  return out[0] as number;
}

function seriesTail(p: number, q: number, A: number, B: number, u0: number, out: Float64Array, scratch: Float64Array): void {
  const k = p + q - 1;
  const lnA = Math.log(A + u0);
  const lnB = Math.log(B + u0);
  if (A >= B) {
    const z = (A - B) / (A + u0);
    logHyp2f1Grad(1, p, p + q, z, scratch);
    const Fb = scratch[2] as number;
    const Fc = scratch[3] as number;
    const Fz = scratch[4] as number;
    out[0] = -p * lnA + (1 - q) * lnB - Math.log(k) + (scratch[0] as number);
    out[1] = -lnA - 1 / k + Fb + Fc;
    out[2] = -lnB - 1 / k + Fc;
    out[3] = -p / (A + u0) + (Fz * (B + u0)) / ((A + u0) * (A + u0));
    out[4] = (1 - q) / (B + u0) - Fz / (A + u0);
    return;
  }
  const z = (B - A) / (B + u0);
  logHyp2f1Grad(1, q, p + q, z, scratch);
  const Fb = scratch[2] as number;
  const Fc = scratch[3] as number;
  const Fz = scratch[4] as number;
  out[0] = -q * lnB + (1 - p) * lnA - Math.log(k) + (scratch[0] as number);
  out[1] = -lnA - 1 / k + Fc;
  out[2] = -lnB - 1 / k + Fb + Fc;
  out[3] = (1 - p) / (A + u0) - Fz / (B + u0);
  out[4] = -q / (B + u0) + (Fz * (A + u0)) / ((B + u0) * (B + u0));
}

/**
 * G = ∫_{u0}^{u1} f + G(u1), with u1 chosen so that the series argument at u1 is Z_SPLIT. With S the smaller of A, B
 * (exponent e = q or p) and v = ln(S + u), the finite part is ∫ f (S+u) dv, where f (S+u) ≈ const · e^{(1−e) v}:
 * smooth, so 16-point Gauss-Legendre panels of width min(1, 2/|1−e|) in v integrate it to rounding error; panels stop
 * early once the (then decreasing) integrand no longer contributes. Derivatives are taken under the integral sign
 * (∂f/∂p = −ln(A+u) f, ∂f/∂A = −p f/(A+u), ...); u1's own dependence on A, B cancels between the two parts.
 */
function splitTail(p: number, q: number, A: number, B: number, u0: number, out: Float64Array, scratch: Float64Array): void {
  const aBig = A >= B;
  const big = aBig ? A : B;
  const small = aBig ? B : A;
  const u1 = (big - small) / Z_SPLIT - big;
  seriesTail(p, q, A, B, u1, out, scratch);
  const lnTail = out[0] as number;
  // Work relative to the tail's size to stay in floating-point range: values below are G/e^{lnTail}.
  const tail = 1;
  const dTail = [(out[1] as number) * tail, (out[2] as number) * tail, (out[3] as number) * tail, (out[4] as number) * tail];
  const v0 = Math.log(small + u0);
  const v1 = Math.log(small + u1);
  const exponent = 1 - (aBig ? q : p); // of (S+u) in f·(S+u)
  const width = Math.min(1, 2 / Math.max(1e-12, Math.abs(exponent)));
  const panels = Math.max(1, Math.ceil((v1 - v0) / width));
  const h = (v1 - v0) / panels;
  const { nodes, weights } = RULE;
  let I = 0;
  let Ip = 0;
  let Iq = 0;
  let IA = 0;
  let IB = 0;
  const decreasing = exponent <= 0; // then f·(S+u) decreases in v and the loop may stop early
  for (let k = 0; k < panels; k++) {
    const mid = v0 + (k + 0.5) * h;
    let panel = 0;
    for (let j = 0; j < nodes.length; j++) {
      const v = mid + 0.5 * h * (nodes[j] as number);
      const su = Math.exp(v); // S + u
      const u = su - small;
      const au = A + u;
      const bu = B + u;
      const lnAu = Math.log(au);
      const lnBu = Math.log(bu);
      // f·(S+u) relative to the tail: exp(−p ln(A+u) − q ln(B+u) + v − lnTail)
      const g = (0.5 * h * (weights[j] as number)) * Math.exp(-p * lnAu - q * lnBu + v - lnTail);
      panel += g;
      Ip -= lnAu * g;
      Iq -= lnBu * g;
      IA -= (p * g) / au;
      IB -= (q * g) / bu;
    }
    I += panel;
    if (decreasing && panel <= 1e-17 * (I + tail)) break;
  }
  const total = I + tail;
  out[0] = lnTail + Math.log(total);
  out[1] = (Ip + (dTail[0] as number)) / total;
  out[2] = (Iq + (dTail[1] as number)) / total;
  out[3] = (IA + (dTail[2] as number)) / total;
  out[4] = (IB + (dTail[3] as number)) / total;
}
