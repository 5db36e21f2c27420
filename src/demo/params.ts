// The true parameters of the demo data: one place for every default the generators use.

/** BG/NBD (Fader, Hardie & Lee 2005) and Gamma-Gamma (Fader, Hardie & Lee 2005b) parameters; time unit is the day. */
export interface PurchaseParams {
  /** Purchase rate heterogeneity: lambda ~ Gamma(shape r, rate alpha), purchases per day. */
  readonly r: number;
  readonly alpha: number;
  /** Dropout after each repeat purchase: p ~ Beta(a, b). */
  readonly a: number;
  readonly b: number;
  /** Spend: nu ~ Gamma(shape q, rate gamma); each order value ~ Gamma(shape p, rate nu), so E[value | nu] = p / nu. */
  readonly p: number;
  readonly q: number;
  readonly gamma: number;
}

/** Defaults of the purchase-log benchmark (`simulatePurchaseLog`): mean order value p * gamma / (q - 1) = 32.14. */
export const DEFAULT_PURCHASE_PARAMS: PurchaseParams = Object.freeze({
  r: 0.5,
  alpha: 28,
  a: 0.8,
  b: 3.0,
  p: 6,
  q: 3.8,
  gamma: 15,
});

/** Defaults of the purchase-log benchmark's calendar: acquisition over the first year, observed for 547 days. */
export const DEFAULT_PURCHASE_LOG = Object.freeze({ acquisitionDays: 365, horizonDays: 547, start: '2024-01-01' });

/** The synthetic retailer's latent process. */
export interface RetailerParams extends PurchaseParams {
  /** On promo days a customer's purchase rate is lambda * (1 + promoLift * promo_sensitivity). */
  readonly promoLift: number;
  /** promo_sensitivity ~ Beta(sensitivityA, sensitivityB). */
  readonly sensitivityA: number;
  readonly sensitivityB: number;
  /** engagement ~ Beta(engagementA + engagementLambdaWeight * g, engagementB), g = rho / (1 + rho), rho = lambda * alpha / r. */
  readonly engagementA: number;
  readonly engagementB: number;
  readonly engagementLambdaWeight: number;
  /** Customers are acquired over this share of the period (from its start). */
  readonly acquisitionShare: number;
}

/**
 * The retailer's true values: about 3.8 orders per customer over 2.5 years (30% one-time buyers),
 * mean order value p * gamma / (q - 1) = 60.00 EUR before promo discounts.
 */
export const DEFAULT_RETAILER_PARAMS: RetailerParams = Object.freeze({
  r: 0.5,
  alpha: 60,
  a: 0.8,
  b: 3.0,
  p: 6,
  q: 3.8,
  gamma: 28,
  promoLift: 3,
  sensitivityA: 1,
  sensitivityB: 2.2,
  engagementA: 1.2,
  engagementLambdaWeight: 2.4,
  engagementB: 3.0,
  acquisitionShare: 0.6,
});

/** Defaults of `kairos demo`: 10,000 customers, 2023-01-01 to 2025-06-30 (inclusive), EUR. */
export const DEFAULT_RETAILER_OPTIONS = Object.freeze({
  customers: 10_000,
  seed: 42,
  start: '2023-01-01',
  end: '2025-06-30',
  currency: 'EUR',
});

/** Days after the data end over which truth.csv states expected and realised future purchases. */
export const TRUTH_HORIZON_DAYS = 180;

/** Behaviour around purchases: e-mail, web, reviews, returns, complaints (rates per day or per occasion). */
export const BEHAVIOUR = Object.freeze({
  /** P(open) = openBase + openEngagement * engagement, times the post-dropout decay. */
  openBase: 0.04,
  openEngagement: 0.5,
  /** P(click | open) = clickBase + clickEngagement * engagement (+ clickPromoSensitivity * sensitivity on promo mails). */
  clickBase: 0.06,
  clickEngagement: 0.3,
  clickPromoSensitivity: 0.3,
  /** P(unsubscribe | mail) = unsubscribeBase * (1.5 - engagement), times unsubscribeAfterDropout once dropped out. */
  unsubscribeBase: 0.0015,
  unsubscribeAfterDropout: 3,
  /** P(unsubscribe | complaint). */
  unsubscribeAfterComplaint: 0.25,
  /** Background web visits per day: visitBase + visitEngagement * engagement + visitLambda * lambda. */
  visitBase: 0.004,
  visitEngagement: 0.04,
  visitLambda: 1.0,
  /** Product views per visit: 1 + Poisson(viewsBase + viewsEngagement * engagement). */
  viewsBase: 0.3,
  viewsEngagement: 1.2,
  /** P(add_to_cart | product_view) on visits without an order (abandoned carts). */
  abandonedCart: 0.08,
  /** P(a research visit 1-5 days before an order). */
  researchVisit: 0.5,
  /** Engagement decays after dropout: factor max(decayFloor, exp(-(t - dropped_at) / decayDays)). */
  decayDays: 90,
  decayFloor: 0.1,
  /** P(review | completed line) = reviewBase + reviewEngagement * engagement (+ reviewAfterReturn when returned). */
  reviewBase: 0.03,
  reviewEngagement: 0.15,
  reviewAfterReturn: 0.2,
  /** Ambassadors (engagement >= ambassadorEngagement) refer and share at these rates per day. */
  ambassadorEngagement: 0.72,
  referralPerDay: 1 / 120,
  sharePerDay: 1 / 75,
  /** Complaints: background rate per day, and P(complaint | return). */
  complaintPerDay: 1 / 2500,
  complaintAfterReturn: 0.2,
  /** Off-promo coupons: P(coupon on an order) = couponBase + couponSensitivity * sensitivity, couponDiscount off every line. */
  couponBase: 0.03,
  couponSensitivity: 0.12,
  couponDiscount: 0.1,
  /** Share of lines a running promotion applies to. */
  promoEligible: 0.85,
});
