// Choosing the transaction model by held-out fit: each candidate fitted on an earlier cut, scored on what customers did after it.
import { observationEnd } from '../../features/summary.js';
import { getTransactionModel, groupTransactionSummary, ungroup, TRANSACTION_MODEL_NAMES, type TransactionModelName, type TransactionSummary } from '../../models/index.js';
import { holdoutData } from './choice-data.js';
import { fitTransaction } from './fitting.js';
import { KairosError } from '../../errors.js';
import type { Store } from '../../store/db.js';
import { brierScore, mae } from '../../backtest/metrics.js';
import type { ScoreSettings } from '../../config.js';

export interface CandidateResult {
  readonly model: TransactionModelName;
  /** Mean absolute error of per-customer purchase days in the holdout (lower is better). */
  readonly holdoutMae: number | null;
  /** Brier score of P(a purchase in the holdout) against whether the customer bought in it (lower is better). */
  readonly holdoutBrier: number | null;
  /** L2 penalty the fit needed (0: plain maximum likelihood). */
  readonly penalty?: number;
  /** The parameters fitted on the calibration (days as the time unit). */
  readonly params?: Readonly<Record<string, number>>;
  readonly error?: string;
}

export interface ModelChoice {
  readonly model: TransactionModelName;
  readonly reason: string;
  readonly candidates: readonly CandidateResult[];
  /** Customers the candidates were fitted and compared on (a sample when the store has more than scores.choiceSample). */
  readonly customers?: number;
  /** What the clv scorer records with the fit, so that a later run on the same data and settings can reuse the choice. */
  readonly record?: ChoiceRecord;
  /** The completed run whose choice this is, when reused. */
  readonly reusedFrom?: number;
}

/** A held-out choice as model_fits keeps it: its reason and the scores.choiceSample it was made with. */
export interface ChoiceRecord {
  readonly reason: string;
  readonly sample: number;
  readonly customers?: number;
}

/** How the choice samples customers: at most `sample` of them (0: every customer). */
export interface ChoiceOptions {
  readonly sample: number;
  /** Customers with a purchase before the as-of date, when the caller knows it (the purchase summary's rows). */
  readonly population?: number;
  /** Called as each step starts ('holdout data', 'fit NAME', 'predict NAME') and with 'done': for bench/model-choice.ts. */
  readonly onStep?: (step: string) => void;
}

/**
 * A random sample of customers in SQL, the same at every run on the same ids: a customer is in it when a hash of its
 * id falls in the first `fraction` of the hash range (each customer independently, so the sample's size is about
 * fraction x the population, and its mix of frequencies and ages is the population's up to sampling noise).
 */
export function customerSampleSql(fraction: number, column = 'customer_id'): string {
  if (!(fraction > 0 && fraction < 1)) return 'true';
  return `(hash(${column}) % 1000000) < ${Math.ceil(fraction * 1_000_000)}`;
}

/**
 * The purchase model the clv scorer uses as of `asOf`, and why: the configured one (scores.model), or with 'auto'
 * the one chosen by held-out fit. The one place the choice is made, for scoring and for its backtest.
 */
export async function decideTransactionModel(
  store: Store,
  asOf: string,
  settings: Pick<ScoreSettings, 'model' | 'choiceSample'>,
  dataFingerprint?: string,
  population?: number,
): Promise<ModelChoice> {
  if (settings.model !== 'auto') return { model: settings.model, reason: `${settings.model} set in the configuration (scores.model)`, candidates: [] };
  if (dataFingerprint) {
    const earlier = await storedChoice(store, asOf, settings.choiceSample, dataFingerprint);
    if (earlier) return earlier;
  }
  return chooseTransactionModel(store, asOf, { sample: settings.choiceSample, ...(population === undefined ? {} : { population }) });
}

/** What model_fits records of a choice (the transaction model's fit JSON, written by the clv scorer). */
interface StoredChoiceRecord {
  readonly selection?: readonly CandidateResult[];
  readonly choice?: ChoiceRecord;
}

/**
 * The choice of the latest completed run made at the same as-of on the same data (exact fingerprint) with the same
 * sample setting: the same held-out comparison would give the same answer, so it is not made again. Null otherwise.
 */
async function storedChoice(store: Store, asOf: string, sample: number, dataFingerprint: string): Promise<ModelChoice | null> {
  const row = await store.one<{ run_id: number; model: string; fit: StoredChoiceRecord }>(
    `SELECT f.run_id, f.model, f.fit FROM model_fits f JOIN score_runs r USING (run_id)
     WHERE r.status = 'completed' AND r.data_fingerprint = ? AND r.as_of = ?::TIMESTAMP AND f.model IN (${TRANSACTION_MODEL_NAMES.map(() => '?').join(', ')})
     ORDER BY f.run_id DESC LIMIT 1`,
    [dataFingerprint, asOf, ...TRANSACTION_MODEL_NAMES],
  );
  const choice = row?.fit.choice;
  if (!row || !choice || choice.sample !== sample || !row.fit.selection?.length) return null;
  return {
    model: row.model as TransactionModelName,
    reason: `${choice.reason} (the choice of run ${row.run_id}, made on the same data at the same as-of date with the same settings, reused)`,
    candidates: row.fit.selection,
    record: choice,
    reusedFrom: row.run_id,
    ...(choice.customers === undefined ? {} : { customers: choice.customers }),
  };
}

/** Holdout length for the choice: a quarter of the observed span, between 30 and 180 days. */
export function choiceHoldoutDays(spanDays: number): number {
  return Math.max(30, Math.min(180, Math.floor(spanDays / 4)));
}

/**
 * Fits every transaction model on orders before `asOf - H` and compares, over the H days after the cut, (1) its
 * expected purchases with the purchase days customers made (per-customer MAE) and (2) its probability of a purchase
 * with whether they bought (Brier score): how many and who. Each error is divided by the best candidate's, the two
 * ratios are added, and the lowest sum wins (a model best on both scores 2). Uses only the as-of view `asof_orders`,
 * so nothing at or after `asOf` is seen.
 *
 * The parameters are population-level, so with more than `options.sample` customers the candidates are fitted and
 * compared on a random sample of that size (customerSampleSql): the choice stays on held-out data, at a fraction of
 * the cost for a million customers. The chosen model is then fitted on every customer by the caller. The sample's
 * lines are read once (choice-data.ts).
 */
export async function chooseTransactionModel(store: Store, asOf: string, options: ChoiceOptions = { sample: 0 }): Promise<ModelChoice> {
  const customers = options.population === undefined ? 'count(DISTINCT customer_id)' : String(Math.trunc(options.population));
  const stats = await store.one<{ span: number | null; customers: number }>(
    `SELECT date_diff('day', min(ordered_at)::DATE, $1::TIMESTAMP::DATE) AS span, ${customers} AS customers FROM asof_orders`,
    [asOf],
  );
  const span = Number(stats?.span ?? 0);
  const population = Number(stats?.customers ?? 0);
  const fraction = options.sample > 0 && population > options.sample ? options.sample / population : 1;
  const h = choiceHoldoutDays(span);
  const cut = new Date(new Date(`${asOf.replace(' ', 'T')}Z`).getTime() - h * 86_400_000).toISOString().slice(0, 19).replace('T', ' ');
  // The sampled customers' orders before the as-of date: the calibration is their lines before the cut, the holdout
  // their purchase days from the cut's day on.
  await store.run(`CREATE OR REPLACE TEMP VIEW __choice_asof AS SELECT * FROM asof_orders WHERE ${customerSampleSql(fraction)}`);
  const step = options.onStep ?? (() => {});
  step('holdout data');
  const data = await holdoutData(store, '__choice_asof', cut, Math.ceil(fraction * population));
  const cal = data.transactions;
  const n = cal.x.length;
  const repeaters = cal.x.reduce((k, v) => k + (v > 0 ? 1 : 0), 0);
  if (n < 50 || repeaters < 10) {
    return {
      model: 'bg-nbd',
      reason: `bg-nbd by default: too little history before ${cut.slice(0, 10)} to compare models on a ${h}-day holdout (${n} customers, ${repeaters} repeat buyers)`,
      candidates: [],
    };
  }
  const counts = data.holdout;
  // The candidates are fitted and predict once per distinct (x, t_x, T), with its customers as the weight: the same
  // fits and predictions (model contract: weighted rows fit as the expanded rows) on fewer rows (in days, 100,000
  // customers make ~57,000).
  const groups = groupTransactionSummary(cal);
  const rows: TransactionSummary = { x: groups.x, tx: groups.tx, T: groups.T, weights: groups.weights };
  const horizon = Math.max(1, Math.round((Date.parse(observationEnd(asOf)) - Date.parse(data.observationEnd)) / 86_400_000));
  const bought = counts.map((c) => (c > 0 ? 1 : 0));
  const candidates: CandidateResult[] = [];
  for (const name of TRANSACTION_MODEL_NAMES) {
    try {
      step(`fit ${name}`);
      const { fit, penalty } = fitTransaction(name, rows);
      step(`predict ${name}`);
      const model = getTransactionModel(name as string);
      const predicted = ungroup(model.expectedPurchases(fit.params, rows, horizon), groups.groupOf);
      const p = ungroup(model.conversionProbability(fit.params, rows, horizon), groups.groupOf);
      const params = Object.fromEntries(Object.entries(fit.params as object).map(([k, v]) => [k, Number(v)]));
      candidates.push({ model: name, holdoutMae: mae(counts, predicted), holdoutBrier: brierScore(bought, p), penalty, params });
    } catch (err) {
      candidates.push({ model: name, holdoutMae: null, holdoutBrier: null, error: (err as Error).message });
    }
  }
  step('done');
  const ok = candidates.filter((c) => c.holdoutMae !== null && c.holdoutBrier !== null);
  if (ok.length === 0) {
    throw new KairosError('CONVERGENCE', `no transaction model could be fitted: ${candidates.map((c) => `${c.model}: ${c.error}`).join('; ')}`, {
      hint: 'check the orders (kairos sql "SELECT count(*) FROM orders"), or set scores.model in kairos.config.json',
    });
  }
  const bestMae = Math.min(...ok.map((c) => c.holdoutMae as number));
  const bestBrier = Math.min(...ok.map((c) => c.holdoutBrier as number));
  const score = (c: CandidateResult): number => ratio(c.holdoutMae as number, bestMae) + ratio(c.holdoutBrier as number, bestBrier);
  const ranked = [...ok].sort((a, b) => score(a) - score(b));
  const best = ranked[0] as CandidateResult;
  const describe = (c: CandidateResult): string =>
    `${c.model} MAE ${(c.holdoutMae as number).toFixed(4)}, Brier ${(c.holdoutBrier as number).toFixed(4)}${c.penalty ? ' (penalised)' : ''}`;
  const failed = candidates.filter((c) => c.holdoutMae === null).map((c) => `${c.model} failed to fit`);
  const on =
    fraction < 1
      ? ` of a random sample of ${n.toLocaleString('en')} customers (of ${population.toLocaleString('en')}; scores.choiceSample ${options.sample.toLocaleString('en')})`
      : '';
  const reason = `${best.model} chosen by held-out fit${on} over the ${horizon} days after ${data.observationEnd}: ` + [...ranked.map(describe), ...failed].join('; ');
  return {
    model: best.model,
    reason,
    candidates,
    customers: n,
    record: { reason, sample: options.sample, customers: n },
  };
}

/** a / b, with 0 / 0 = 1 (two perfect candidates tie). */
function ratio(a: number, b: number): number {
  return b > 0 ? a / b : a > 0 ? Number.POSITIVE_INFINITY : 1;
}
