// BG/NBD per-customer predictions (Fader, Hardie & Lee 2005, eqs. 7, 8, 10; FHL 2008 note on P(alive)).
import { KairosError } from '../../errors.js';
import { betaln } from '../../math/special.js';
import { betaGeoPredictions } from '../beta-geometric-predict.js';
import { betaGeoAliveExpectation, logNbdPmf, nbdUpperTail } from '../beta-geometric.js';
import { checkParams } from '../params.js';
import { validateHorizon } from '../transaction-summary.js';
import type { BgNbdParams } from '../types.js';

export const PARAM_NAMES = ['r', 'alpha', 'a', 'b'] as const;
const MODEL = 'bg-nbd';

// The per-customer predictions (formulas in beta-geometric-predict.ts): BG/NBD lets a customer drop out only after
// a repeat purchase (s = 0).
export const {
  pAlive,
  expectedPurchases,
  expectedPurchasesMany,
  expectedPurchasesCombination,
  conversionProbability,
  expectedWaitToNextPurchase,
  decisiveTime,
  scoreCustomers,
} = betaGeoPredictions<BgNbdParams>(MODEL, 0);

/**
 * Unconditional P(X(t) = n) (FHL 2005 eq. 8):
 *   B(a, b+n)/B(a, b) · NBD(n; r, α, t) + δ_{n>0} B(a+1, b+n−1)/B(a, b) · P(NBD(r, α, t) ≥ n).
 */
export function probNPurchases(params: BgNbdParams, n: number, t: number): number {
  checkParams(MODEL, PARAM_NAMES, params);
  validateHorizon(t);
  if (!Number.isInteger(n) || n < 0) throw new KairosError('VALIDATION', `n must be a non-negative integer (got ${n})`);
  const { r, alpha, a, b } = params;
  const lnBab = betaln(a, b);
  let p = Math.exp(betaln(a, b + n) - lnBab + logNbdPmf(n, r, alpha, t));
  if (n > 0) p += Math.exp(betaln(a + 1, b + n - 1) - lnBab) * nbdUpperTail(n, r, alpha, t);
  return Math.min(1, Math.max(0, p));
}

/** Unconditional E[X(t)] = (a+b−1)/(a−1) · [1 − (α/(α+t))^r 2F1(r, b; a+b−1; t/(α+t))] (FHL 2005 eq. 7). */
export function unconditionalExpectedPurchases(params: BgNbdParams, t: number): number {
  checkParams(MODEL, PARAM_NAMES, params);
  validateHorizon(t);
  return betaGeoAliveExpectation(params.a, params.b, params.r, params.alpha, t);
}
