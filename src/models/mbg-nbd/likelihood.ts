// MBG/NBD log-likelihood and its analytic gradient on a grouped transaction summary (Batislam, Denizel & Filiztekin 2007, appendix A).
import { betaGeoLogLik } from '../beta-geometric-likelihood.js';
import type { PreparedTransactionSummary } from '../transaction-summary.js';

/**
 * Σ_i w_i ln L(r, α, a, b | x_i, t_x,i, T_i). MBG/NBD lets a customer also drop out at time 0, so the dropout
 * term is present for every x (Batislam et al. 2007, appendix A; Wagner & Hoppe 2008):
 *
 *   L = B(a, b+x+1)/B(a, b) · Γ(r+x)α^r/(Γ(r)(α+T)^{r+x}) + B(a+1, b+x)/B(a, b) · Γ(r+x)α^r/(Γ(r)(α+t_x)^{r+x}),
 *   ln L = ln Γ(r+x) − ln Γ(r) + r ln α + ln B(a, b+x+1) − ln B(a, b) − (r+x) ln(α+T) + ln(1 + e^D),
 *   D = ln a − ln(b+x) + (r+x) [ln(α+T) − ln(α+t_x)],   as B(a+1, b+x)/B(a, b+x+1) = a/(b+x).
 *
 * With π = e^D/(1+e^D) = 1 − P(alive):
 *   ∂/∂r = ψ(r+x) − ψ(r) + ln α − ln(α+T) + π [ln(α+T) − ln(α+t_x)]
 *   ∂/∂α = r/α − (r+x)/(α+T) + π (r+x) [1/(α+T) − 1/(α+t_x)]
 *   ∂/∂a = ψ(a+b) − ψ(a+b+x+1) + π/a
 *   ∂/∂b = ψ(b+x+1) − ψ(a+b+x+1) − ψ(b) + ψ(a+b) − π/(b+x).
 * params = [r, α, a, b]; grad (if given) receives ∂/∂[r, α, a, b], hess (if given, with grad) the Hessian, row-major
 * (formulas in beta-geometric-likelihood.ts).
 */
export function mbgNbdLogLik(
  prep: PreparedTransactionSummary,
  params: Float64Array,
  grad: Float64Array | null,
  hess: Float64Array | null = null,
): number {
  return betaGeoLogLik(prep, params, grad, hess, 1);
}
