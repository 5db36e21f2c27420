// MBG/NBD per-customer predictions (Batislam, Denizel & Filiztekin 2007; Wagner & Hoppe 2008 erratum).
import { KairosError } from '../../errors.js';
import { betaln } from '../../math/special.js';
import { betaGeoPredictions } from '../beta-geometric-predict.js';
import { betaGeoAliveExpectation, logNbdPmf, nbdUpperTail } from '../beta-geometric.js';
import { checkParams } from '../params.js';
import { validateHorizon } from '../transaction-summary.js';
import type { MbgNbdParams } from '../types.js';

export const PARAM_NAMES = ['r', 'alpha', 'a', 'b'] as const;
const MODEL = 'mbg-nbd';

// The per-customer predictions (formulas in beta-geometric-predict.ts): MBG/NBD lets a customer drop out right after
// the first purchase too (s = 1).
export const {
  pAlive,
  expectedPurchases,
  expectedPurchasesMany,
  expectedPurchasesCombination,
  conversionProbability,
  expectedWaitToNextPurchase,
  decisiveTime,
  scoreCustomers,
} = betaGeoPredictions<MbgNbdParams>(MODEL, 1);

/**
 * Unconditional P(X(t) = n). Given λ and p, X(t) = n if the customer survives n coins (at time 0 and after each of
 * the first n−1 purchases) and then either dies after the n-th purchase or survives but makes no further purchase:
 * (1−p)^n [p · P(N(t) ≥ n) + (1−p) · P(N(t) = n)], N(t) ~ Poisson(λt). Mixing over λ and p:
 *   B(a, b+n+1)/B(a, b) · NBD(n; r, α, t) + B(a+1, b+n)/B(a, b) · P(NBD(r, α, t) ≥ n)
 * (the MBG analogue of FHL 2005 eq. 8; for n = 0 the second term is a/(a+b), dropout at time 0).
 */
export function probNPurchases(params: MbgNbdParams, n: number, t: number): number {
  checkParams(MODEL, PARAM_NAMES, params);
  validateHorizon(t);
  if (!Number.isInteger(n) || n < 0) throw new KairosError('VALIDATION', `n must be a non-negative integer (got ${n})`);
  const { r, alpha, a, b } = params;
  const lnBab = betaln(a, b);
  const p =
    Math.exp(betaln(a, b + n + 1) - lnBab + logNbdPmf(n, r, alpha, t)) +
    Math.exp(betaln(a + 1, b + n) - lnBab) * nbdUpperTail(n, r, alpha, t);
  return Math.min(1, Math.max(0, p));
}

/**
 * Unconditional E[X(t)] = b/(a−1) · [1 − (α/(α+t))^r 2F1(r, b+1; a+b; t/(α+t))] (Wagner & Hoppe 2008): with
 * probability b/(a+b) the customer survives time 0, and then p ~ Beta(a, b+1).
 */
export function unconditionalExpectedPurchases(params: MbgNbdParams, t: number): number {
  checkParams(MODEL, PARAM_NAMES, params);
  validateHorizon(t);
  const { r, alpha, a, b } = params;
  return (b / (a + b)) * betaGeoAliveExpectation(a, b + 1, r, alpha, t);
}
