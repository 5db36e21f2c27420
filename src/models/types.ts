// Shared types of the customer-base models: columnar data, parameters, fit results and the transaction-model contract.

/**
 * Per-customer purchase summary, columnar. Any time unit (days, weeks), the same for all three columns.
 * x = number of repeat purchases, tx = time of the last purchase since the first (0 when x = 0),
 * T = age: time from the first purchase to the end of calibration. weights = customers per row (default 1).
 */
export interface TransactionSummary {
  readonly x: Float64Array;
  readonly tx: Float64Array;
  readonly T: Float64Array;
  readonly weights?: Float64Array;
}

/** Spend summary of customers: x repeat purchases with mean value m (Gamma-Gamma fits customers with x > 0 only). */
export interface SpendData {
  readonly x: Float64Array;
  readonly m: Float64Array;
  readonly weights?: Float64Array;
}

export type TransactionModelName = 'bg-nbd' | 'pareto-nbd' | 'mbg-nbd';
export type ModelName = TransactionModelName | 'gamma-gamma';

/** BG/NBD (Fader, Hardie & Lee 2005): λ ~ Gamma(r, α) purchase rates, p ~ Beta(a, b) dropout after each purchase. */
export type BgNbdParams = Readonly<{ r: number; alpha: number; a: number; b: number }>;
/** MBG/NBD (Batislam, Denizel & Filiztekin 2007): as BG/NBD, but dropout is also possible at time 0. */
export type MbgNbdParams = Readonly<{ r: number; alpha: number; a: number; b: number }>;
/** Pareto/NBD (Schmittlein, Morrison & Colombo 1987): λ ~ Gamma(r, α), lifetime rate μ ~ Gamma(s, β). */
export type ParetoNbdParams = Readonly<{ r: number; alpha: number; s: number; beta: number }>;
/** Gamma-Gamma spend (Fader, Hardie & Lee 2005 "RFM and CLV"): z ~ Gamma(p, ν), ν ~ Gamma(q, γ). */
export type GammaGammaParams = Readonly<{ p: number; q: number; gamma: number }>;

/** Any model's parameters: a readonly record of positive numbers. */
export type ModelParams = Readonly<Record<string, number>>;

/** Hyper-parameters of a fit (never learned). */
export interface FitOptions<P extends ModelParams = ModelParams> {
  /** L2 penalty on the log-parameters, added to the mean negative log-likelihood: penalty · Σ (ln θ)². Default 0. */
  penalty?: number;
  /** L-BFGS iteration cap; default 500. */
  maxIterations?: number;
  /** Convergence: ‖∇‖_∞ of the mean negative log-likelihood in log-parameter space; default 1e-8. */
  tolerance?: number;
  /** Starting values (natural scale); missing ones come from the model's data-driven defaults. */
  initial?: Partial<P>;
}

/** What a fit reports besides its parameters. */
export interface FitDiagnostics<P extends ModelParams = ModelParams> {
  /** Total log-likelihood Σ_i w_i ln L_i at the estimate (without the penalty). */
  readonly logLik: number;
  readonly converged: boolean;
  readonly iterations: number;
  /** ‖∇‖_∞ of the penalised mean negative log-likelihood in log-parameter space at the estimate. */
  readonly gradNorm: number;
  /** Asymptotic standard errors on the natural scale (delta method from the log-scale Hessian). */
  readonly standardErrors: { readonly [K in keyof P]: number };
  readonly message: string;
  /** Number of customers (sum of weights). */
  readonly nObs: number;
  /** The penalty the fit used. */
  readonly penalty: number;
}

export interface FitResult<P extends ModelParams = ModelParams> {
  readonly params: P;
  readonly diagnostics: FitDiagnostics<P>;
}

/** Options of the transaction-model simulators. */
export interface SimulateOptions {
  /** Number of customers; may be omitted when T is an array (one customer per entry). */
  customers?: number;
  /** Observation length per customer (same time unit as the parameters): one value for all, or one each. */
  T: number | Float64Array;
  /** Seed of the random stream (see math/random.ts). */
  seed: number;
}

/** Horizons and settings of scoreCustomers: everything the CLV scorer asks a transaction model for, in one call. */
export interface ScoreOptions {
  /** Horizon t of expectedPurchases (e.g. 90 days). */
  readonly expectedHorizon: number;
  /** Horizon t of conversionProbability (e.g. 30 days). */
  readonly conversionHorizon: number;
  /** Horizons t_k and coefficients c_k of discountedPurchases = Σ_k c_k E[Y(t_k)] (see expectedPurchasesCombination). */
  readonly clvHorizons: readonly number[];
  readonly clvCoefficients: readonly number[];
  /** P(alive) threshold of decisiveSinceLast. */
  readonly decisiveThreshold: number;
}

/** Per-customer outputs of scoreCustomers, each equal (to 1e-12 relative) to the separate method named. */
export interface CustomerScores {
  /** pAlive(params, data). */
  readonly pAlive: Float64Array;
  /** expectedPurchases(params, data, expectedHorizon). */
  readonly expectedPurchases: Float64Array;
  /** conversionProbability(params, data, conversionHorizon). */
  readonly conversion: Float64Array;
  /** expectedPurchasesCombination(params, data, clvHorizons, clvCoefficients). */
  readonly discountedPurchases: Float64Array;
  /** expectedWaitToNextPurchase(params, data). */
  readonly medianWait: Float64Array;
  /** decisiveTime(params, { x, tx, T: tx }, decisiveThreshold): the decisive moment measured from the last purchase. */
  readonly decisiveSinceLast: Float64Array;
}

/**
 * The contract every transaction model meets (the registry holds one of each). All per-customer outputs are
 * Float64Arrays aligned with the input rows and always finite; inputs are validated (KairosError 'VALIDATION').
 * Members use method syntax so a model typed with its own parameters fits the registry's ModelParams table.
 */
export interface TransactionModel<P extends ModelParams = ModelParams> {
  readonly name: TransactionModelName;
  /** Parameter names in the paper's order. */
  readonly paramNames: readonly string[];
  /** Maximum-likelihood fit (weights respected; identical rows are grouped internally). */
  fit(data: TransactionSummary, options?: FitOptions<P>): FitResult<P>;
  /** Total log-likelihood Σ w_i ln L(params | x_i, tx_i, T_i). */
  logLikelihood(params: P, data: TransactionSummary): number;
  /** P(alive at T | x, tx, T). */
  pAlive(params: P, data: TransactionSummary): Float64Array;
  /** E[Y(t) | x, tx, T]: expected purchases in (T, T + t]. */
  expectedPurchases(params: P, data: TransactionSummary, t: number): Float64Array;
  /** E[Y(t_k) | x, tx, T] for several horizons at once (one array per horizon), sharing the per-customer work. */
  expectedPurchasesMany(params: P, data: TransactionSummary, horizons: readonly number[]): Float64Array[];
  /** Σ_k c_k · E[Y(t_k) | x, tx, T] per customer (e.g. discounted purchases for CLV), in one output array. */
  expectedPurchasesCombination(
    params: P,
    data: TransactionSummary,
    horizons: readonly number[],
    coefficients: readonly number[],
  ): Float64Array;
  /** Unconditional P(X(t) = n) for a newly acquired customer. */
  probNPurchases(params: P, n: number, t: number): number;
  /** Unconditional E[X(t)] for a newly acquired customer (the Fader-Hardie tracking chart). */
  unconditionalExpectedPurchases(params: P, t: number): number;
  /** P(at least one purchase in (T, T + t] | x, tx, T). */
  conversionProbability(params: P, data: TransactionSummary, t: number): Float64Array;
  /** Median waiting time from T to the next purchase, given the customer is alive (and stays so). */
  expectedWaitToNextPurchase(params: P, data: TransactionSummary): Float64Array;
  /**
   * Time d ≥ 0 after T at which P(alive | x, tx, T + d) — no purchase in (T, T + d] — falls below threshold:
   * 0 if it already is below, Infinity if it never does.
   */
  decisiveTime(params: P, data: TransactionSummary, threshold?: number): Float64Array;
  /**
   * All per-customer scores of the CLV scorer in one call: validates once and shares the per-customer work (P(alive),
   * per-x and per-(x, T) tables) across the six outputs.
   */
  scoreCustomers(params: P, data: TransactionSummary, options: ScoreOptions): CustomerScores;
  /** Seeded simulation of calibration summaries from the model. */
  simulate(params: P, options: SimulateOptions): TransactionSummary;
  /** Checks an unknown record is a valid parameter set of this model (used by parseFit). */
  parseParams(value: unknown): P;
}
