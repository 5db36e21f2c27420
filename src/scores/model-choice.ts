// Choosing the transaction model by held-out fit: each candidate fitted on an earlier cut, scored on what customers did after it.
import { purchasesSql } from '../features/purchases.js';
import { purchaseSummary, observationEnd } from '../features/summary.js';
import { getTransactionModel, TRANSACTION_MODEL_NAMES, type TransactionModelName } from '../models/index.js';
import { KairosError } from '../errors.js';
import { quoteLiteral, type Store } from '../store/db.js';
import { mae } from '../evaluate/metrics.js';

export interface CandidateResult {
  readonly model: TransactionModelName;
  /** Mean absolute error of per-customer purchase days in the holdout (lower is better). */
  readonly holdoutMae: number | null;
  readonly error?: string;
}

export interface ModelChoice {
  readonly model: TransactionModelName;
  readonly reason: string;
  readonly candidates: readonly CandidateResult[];
}

/** Holdout length for the choice: a quarter of the observed span, between 30 and 180 days. */
export function choiceHoldoutDays(spanDays: number): number {
  return Math.max(30, Math.min(180, Math.floor(spanDays / 4)));
}

/**
 * Fits every transaction model on orders before `asOf - H` and compares its expected purchases in the H days after
 * the cut with the purchase days customers actually made there (per-customer MAE). The lowest error wins. Uses only
 * the as-of view `asof_orders`, so nothing at or after `asOf` is seen.
 */
export async function chooseTransactionModel(store: Store, asOf: string): Promise<ModelChoice> {
  const span = Number(
    (await store.value<number | null>(`SELECT date_diff('day', min(ordered_at)::DATE, $1::TIMESTAMP::DATE) FROM asof_orders`, [asOf])) ?? 0,
  );
  const h = choiceHoldoutDays(span);
  const cut = new Date(new Date(`${asOf.replace(' ', 'T')}Z`).getTime() - h * 86_400_000).toISOString().slice(0, 19).replace('T', ' ');
  await store.run(`CREATE OR REPLACE TEMP VIEW __choice_orders AS SELECT * FROM asof_orders WHERE ordered_at < TIMESTAMP ${quoteLiteral(cut)}`);
  const cal = await purchaseSummary(store, cut, '__choice_orders');
  const repeaters = cal.rfm.x.reduce((n, v) => n + (v > 0 ? 1 : 0), 0);
  if (cal.customerIds.length < 50 || repeaters < 10) {
    return {
      model: 'bg-nbd',
      reason: `bg-nbd by default: too little history before ${cut.slice(0, 10)} to compare models on a ${h}-day holdout (${cal.customerIds.length} customers, ${repeaters} repeat buyers)`,
      candidates: [],
    };
  }
  // Actual purchase days in the holdout, aligned with the calibration customers (sorted by id in both queries).
  const actual = await store.readColumns(
    `WITH cal AS (SELECT DISTINCT customer_id FROM (${purchasesSql('__choice_orders')})),
       later AS (SELECT customer_id, count(DISTINCT placed_at::DATE) AS n FROM (${purchasesSql('asof_orders')})
                 WHERE placed_at >= TIMESTAMP ${quoteLiteral(cut)} GROUP BY customer_id)
     SELECT cal.customer_id, coalesce(later.n, 0)::DOUBLE AS n FROM cal LEFT JOIN later USING (customer_id) ORDER BY cal.customer_id`,
  );
  const ids = actual.texts['customer_id'] ?? [];
  const counts = actual.numbers['n'] ?? new Float64Array(0);
  if (ids.length !== cal.customerIds.length || ids.some((id, i) => id !== cal.customerIds[i])) {
    throw new KairosError('INTERNAL', 'model choice: holdout customers do not align with the calibration summary');
  }
  const horizon = Math.max(1, Math.round((Date.parse(observationEnd(asOf)) - Date.parse(cal.observationEnd)) / 86_400_000));
  const candidates: CandidateResult[] = [];
  for (const name of TRANSACTION_MODEL_NAMES) {
    try {
      const model = getTransactionModel(name);
      const fit = model.fit(cal.rfm);
      const predicted = model.expectedPurchases(fit.params, cal.rfm, horizon);
      candidates.push({ model: name, holdoutMae: mae(counts, predicted) });
    } catch (err) {
      candidates.push({ model: name, holdoutMae: null, error: (err as Error).message });
    }
  }
  const ranked = candidates.filter((c) => c.holdoutMae !== null).sort((a, b) => (a.holdoutMae as number) - (b.holdoutMae as number));
  const best = ranked[0];
  if (!best) {
    throw new KairosError('CONVERGENCE', `no transaction model could be fitted: ${candidates.map((c) => `${c.model}: ${c.error}`).join('; ')}`, {
      hint: 'check the orders (kairos sql "SELECT count(*) FROM orders"), or set scores.model in kairos.config.json',
    });
  }
  const others = ranked.slice(1).map((c) => `${c.model} ${(c.holdoutMae as number).toFixed(4)}`).join(', ');
  const failed = candidates.filter((c) => c.holdoutMae === null).map((c) => `${c.model} failed to fit`).join(', ');
  return {
    model: best.model,
    reason:
      `${best.model} chosen by held-out fit: per-customer MAE of purchases in the ${horizon} days after ${cal.observationEnd} ` +
      `${(best.holdoutMae as number).toFixed(4)}${others ? ` vs ${others}` : ''}${failed ? ` (${failed})` : ''}`,
    candidates,
  };
}
