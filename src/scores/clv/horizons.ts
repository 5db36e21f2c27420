// The clv scores' horizons, in one place for the scorer and its backtest.

/** Horizons of the scores, in days (the models are fitted in days). */
export const CLV_HORIZONS = { expectedPurchasesDays: 90, conversionDays: 30, monthDays: 30 } as const;
