// BG/NBD log-likelihood and its analytic gradient on a grouped transaction summary (Fader, Hardie & Lee 2005, eq. 6).
import { betaGeoLogLik } from '../beta-geometric-likelihood.js';
import type { PreparedTransactionSummary } from '../transaction-summary.js';

/**
 * Σ_i w_i ln L(r, α, a, b | x_i, t_x,i, T_i) with FHL 2005 eq. (6) written in log space:
 *
 *   ln L = ln Γ(r+x) − ln Γ(r) + r ln α + ln B(a, b+x) − ln B(a, b) − (r+x) ln(α+T) + ln(1 + δ_{x>0} e^D),
 *   D    = ln a − ln(b+x−1) + (r+x) [ln(α+T) − ln(α+t_x)],
 *
 * since B(a+1, b+x−1)/B(a, b+x) = a/(b+x−1). With π = δ_{x>0} e^D/(1+e^D) = 1 − P(alive), the gradient is
 *   ∂/∂r = ψ(r+x) − ψ(r) + ln α − ln(α+T) + π [ln(α+T) − ln(α+t_x)]
 *   ∂/∂α = r/α − (r+x)/(α+T) + π (r+x) [1/(α+T) − 1/(α+t_x)]
 *   ∂/∂a = ψ(a+b) − ψ(a+b+x) + π/a
 *   ∂/∂b = ψ(b+x) − ψ(a+b+x) − ψ(b) + ψ(a+b) − π/(b+x−1).
 * Terms depending only on x are computed once per distinct x; ln(α+T) and ln(α+t_x) once per distinct value.
 * params = [r, α, a, b]; grad (if given) receives ∂/∂[r, α, a, b], hess (if given, with grad) the Hessian, row-major
 * (formulas in beta-geometric-likelihood.ts).
 */
export function bgNbdLogLik(
  prep: PreparedTransactionSummary,
  params: Float64Array,
  grad: Float64Array | null,
  hess: Float64Array | null = null,
): number {
  return betaGeoLogLik(prep, params, grad, hess, 0);
}
