// The clv scores of customers from a fitted purchase model and their expected spend, in one place: the run scores every customer with it, the API rescores one.
import { gammaGamma, type ModelParams, type TransactionModel, type TransactionSummary } from '../../models/index.js';
import { CLV_HORIZONS } from './horizons.js';

/** The settings the clv scores depend on (kairos.config.json: scores.* and learned.churnDays). */
export interface ClvSettings {
  readonly clvMonths: number;
  readonly monthlyDiscountRate: number;
  readonly decisiveThreshold: number;
  /** The churn window of churn_risk_purchase_model (learned.churnDays). */
  readonly churnDays: number;
}

/** Per customer, in the summary's row order; dates as day numbers since 1970-01-01 (NaN: no date). */
export interface ClvPredictions {
  readonly pAlive: Float64Array;
  /** P(at least one purchase in the churn window): churn_risk_purchase_model is 1 minus it. */
  readonly buysInChurnWindow: Float64Array;
  readonly expectedPurchases90d: Float64Array;
  readonly conversion30d: Float64Array;
  /** Expected spend per purchase day, rounded to cents. */
  readonly expectedOrderValue: Float64Array;
  /** Discounted value over scores.clvMonths months, rounded to cents. */
  readonly clv: Float64Array;
  readonly nextOrderDay: Float64Array;
  readonly churnDecisiveDay: Float64Array;
}

/** DuckDB's round(v, 2) on a DOUBLE: half away from zero; the input itself when the result is not finite. */
export function round2(v: number): number {
  const r = (v < 0 ? -Math.round(-v * 100) : Math.round(v * 100)) / 100;
  return Number.isFinite(r) ? r : v;
}

/**
 * Every clv score of the customers of `transactions` (x, t_x, T in days) from the model's parameters, in one pass
 * (model.scoreCustomers: P(alive) once each, equal to the separate prediction methods to 1e-12) plus the churn window:
 * - next-order day: the last observed day `endDay` (one for all, or one per customer) + the median wait (at least 1 day), when P(alive) >= the threshold;
 * - decisive day: the last purchase day + the time after which P(alive) falls below the threshold without a purchase;
 * - value: Σ_k c_k E[Y(30k)] × expected spend (gammaGamma.clvSchedule, lifetimes' discounted monthly sum).
 * `spend` (expected spend per purchase day) is rounded in place and returned as expectedOrderValue; the model's
 * output arrays are reused for the dates and the value, to keep a run's peak memory down.
 */
export function predictClv(
  model: TransactionModel<ModelParams>,
  params: ModelParams,
  transactions: TransactionSummary,
  spend: Float64Array,
  lastDay: Float64Array,
  endDay: number | Float64Array,
  settings: ClvSettings,
): ClvPredictions {
  const schedule = gammaGamma.clvSchedule({ months: settings.clvMonths, monthlyDiscount: settings.monthlyDiscountRate, monthLength: CLV_HORIZONS.monthDays });
  gammaGamma.checkSpend(spend, transactions.x.length);
  const scored = model.scoreCustomers(params, transactions, {
    expectedHorizon: CLV_HORIZONS.expectedPurchasesDays,
    conversionHorizon: CLV_HORIZONS.conversionDays,
    clvHorizons: schedule.horizons,
    clvCoefficients: schedule.coefficients,
    decisiveThreshold: settings.decisiveThreshold,
  });
  const { pAlive, expectedPurchases, conversion, medianWait: wait, decisiveSinceLast: sinceLast } = scored;
  // Churn as the learned model defines it: no purchase in the next churnDays days.
  const stays = model.conversionProbability(params, transactions, settings.churnDays);
  const clv = scored.discountedPurchases;
  const nextDay = wait;
  const decisiveDay = sinceLast;
  for (let i = 0; i < pAlive.length; i++) {
    const pa = pAlive[i] as number;
    nextDay[i] = pa >= settings.decisiveThreshold ? (typeof endDay === 'number' ? endDay : (endDay[i] as number)) + Math.max(1, Math.ceil(wait[i] as number)) : Number.NaN;
    const d = sinceLast[i] as number;
    decisiveDay[i] = Number.isFinite(d) ? (lastDay[i] as number) + Math.ceil(d) : Number.NaN;
    clv[i] = round2((clv[i] as number) * (spend[i] as number));
    spend[i] = round2(spend[i] as number);
  }
  return {
    pAlive,
    buysInChurnWindow: stays,
    expectedPurchases90d: expectedPurchases,
    conversion30d: conversion,
    expectedOrderValue: spend,
    clv,
    nextOrderDay: nextDay,
    churnDecisiveDay: decisiveDay,
  };
}
