// P(next purchase on promotion | purchase) by boosted trees, used in the appetence score only where it beats the shrunk share on an inner time holdout.
import { rocAuc } from '../../backtest/metrics.js';
import type { PromotionSettings } from '../../config.js';
import { predictGbdt, trainGbdt, type GbdtOptions } from '../../ml/gbdt.js';
import type { FeatureMatrix } from '../../ml/matrix.js';
import type { Store } from '../../store/db.js';
import { formatCount } from '../../util/format.js';
import { createAppetenceTable, NEXT_PURCHASE_FEATURES, type AppetenceFacts } from './appetence.js';

/** Settings of the next-purchase model, in one place (docs/scores.md, "Promotion appetence"). */
export const NEXT_PURCHASE = {
  /** Inner holdout: labels are the first purchase day within this many days after a cut. */
  horizonDays: 90,
  /**
   * The trees are used when their ROC AUC on the inner holdout beats the shrunk share's by this much and by twice the
   * standard error of the difference (aucDifferenceError): a win within the noise of a few hundred buyers is no win.
   */
  margin: 0.01,
  /** Fewer labelled buyers (or fewer of either class) at a cut than this: no trees. */
  minLabelled: 200,
  minClass: 20,
  /** Buyers per training cut at most (the first by a hash of the id: the same sample at every run). */
  sample: 20_000,
  boosting: {
    objective: 'logistic',
    learningRate: 0.05,
    maxDepth: 3,
    rounds: 300,
    earlyStoppingRounds: 30,
    minChildWeight: 5,
    lambda: 1,
    subsample: 0.8,
    colsampleByTree: 0.8,
    seed: 42,
    threads: 1,
  } satisfies Partial<GbdtOptions>,
} as const;

/** What the choice found, for the run's notes and model_fits. */
export interface NextPurchaseChoice {
  /** true: the trees give the score's base. */
  readonly used: boolean;
  /** Why not, when the trees were not even compared. */
  readonly skipped: string | null;
  /** The inner holdout: features at `cut`, labels in [cut, cut + horizon). */
  readonly cut: string | null;
  readonly labelled: number;
  readonly aucTrees: number | null;
  readonly aucShrunk: number | null;
  /** The margin the trees had to beat the shrunk share by: NEXT_PURCHASE.margin or twice the difference's standard error. */
  readonly needed: number | null;
  readonly trees: number | null;
}

/** 'YYYY-MM-DD HH:MM:SS' `days` before `at`. */
function daysBefore(at: string, days: number): string {
  return new Date(Date.parse(`${at.replace(' ', 'T')}Z`) - days * 86_400_000).toISOString().slice(0, 19).replace('T', ' ');
}

/** The features of `table` (NEXT_PURCHASE_FEATURES, buyers in id order), with the label of each buyer who buys in [from, to). */
async function labelled(store: Store, features: string, from: string, to: string, sample: number): Promise<{ matrix: FeatureMatrix; labels: Float64Array; shrunk: Float64Array }> {
  const cols = NEXT_PURCHASE_FEATURES.map((f) => `f.${f}`).join(', ');
  const { numbers } = await store.readColumns(
    `WITH day AS (
       SELECT customer_id, ordered_at::DATE AS day, max(discount) > 0 AS promo FROM asof_orders
       WHERE quantity > 0 AND status = 'completed' AND amount >= 0 AND ordered_at >= $1::TIMESTAMP AND ordered_at < $2::TIMESTAMP
       GROUP BY customer_id, day),
     nxt AS (SELECT customer_id, arg_min(promo, day)::DOUBLE AS label FROM day GROUP BY customer_id)
     SELECT ${cols}, n.label, ((f.share_days_shrunk + f.share_spend_shrunk) / 2)::DOUBLE AS shrunk
     FROM ${features} f JOIN nxt n USING (customer_id)
     ORDER BY hash(f.customer_id), f.customer_id LIMIT $3`,
    [from, to, sample],
  );
  const columns = NEXT_PURCHASE_FEATURES.map((f) => Float64Array.from(numbers[f] ?? new Float64Array(0), (v) => (Number.isFinite(v) ? v : Number.NaN)));
  const labels = numbers['label'] ?? new Float64Array(0);
  return { matrix: { names: [...NEXT_PURCHASE_FEATURES], columns, rows: labels.length }, labels, shrunk: numbers['shrunk'] ?? new Float64Array(0) };
}

/**
 * Standard error of the difference of two ROC AUCs on the same labels, from Hanley & McNeil (1982, eq. 2) for each,
 * SE² = [A(1 − A) + (n₁ − 1)(Q₁ − A²) + (n₀ − 1)(Q₂ − A²)] / (n₁ n₀), Q₁ = A / (2 − A), Q₂ = 2A² / (1 + A), added as if the
 * two were independent: on the same buyers they are positively correlated, so this overstates the error (conservative).
 */
export function aucDifferenceError(a: number, b: number, positives: number, negatives: number): number {
  const variance = (x: number): number => {
    const q1 = x / (2 - x);
    const q2 = (2 * x * x) / (1 + x);
    return (x * (1 - x) + (positives - 1) * (q1 - x * x) + (negatives - 1) * (q2 - x * x)) / (positives * negatives);
  };
  return Math.sqrt(Math.max(0, variance(a)) + Math.max(0, variance(b)));
}

/** Whether a labelled set is big enough, with both classes. */
function enough(labels: Float64Array): boolean {
  const positives = labels.reduce((a, b) => a + b, 0);
  return labels.length >= NEXT_PURCHASE.minLabelled && positives >= NEXT_PURCHASE.minClass && labels.length - positives >= NEXT_PURCHASE.minClass;
}

/** Halves: buyers whose hash is even train, odd validate (early stopping). */
function split(m: FeatureMatrix, y: Float64Array): { train: { matrix: FeatureMatrix; labels: Float64Array }; valid: { matrix: FeatureMatrix; labels: Float64Array } } {
  const pick = (keep: (i: number) => boolean): { matrix: FeatureMatrix; labels: Float64Array } => {
    const idx = Array.from({ length: m.rows }, (_, i) => i).filter(keep);
    return {
      matrix: { names: m.names, columns: m.columns.map((c) => Float64Array.from(idx, (i) => c[i] as number)), rows: idx.length },
      labels: Float64Array.from(idx, (i) => y[i] as number),
    };
  };
  return { train: pick((i) => i % 5 !== 0), valid: pick((i) => i % 5 === 0) };
}

/** Trees on a labelled set, early-stopped on a fifth of it. */
async function fitTrees(set: { matrix: FeatureMatrix; labels: Float64Array }): Promise<Awaited<ReturnType<typeof trainGbdt>>> {
  const { train, valid } = split(set.matrix, set.labels);
  return trainGbdt(train.matrix, train.labels, NEXT_PURCHASE.boosting, valid);
}

/**
 * Creates the appetence table of `asOf` (createAppetenceTable), after deciding whether boosted trees predict whether the
 * next purchase day is on promotion better than the shrunk share. The decision is made inside the data before `asOf`:
 * trees fitted on the features at c2 = asOf − 2H with the labels of [c2, c1) are graded at c1 = asOf − H against the
 * labels of [c1, asOf), beside the shrunk share (the mean of the two posterior means) on the same buyers (ROC AUC).
 * When the trees win by NEXT_PURCHASE.margin, they are fitted again at c1 and their probabilities at `asOf` become the
 * score's base (docs/scores.md, "Promotion appetence"); otherwise the score is the shrunk shares with the response tilt.
 */
export async function computeAppetence(
  store: Store,
  table: string,
  settings: PromotionSettings,
  asOf: string,
  progress: (message: string) => void = () => {},
): Promise<{ facts: AppetenceFacts; choice: NextPurchaseChoice }> {
  const H = NEXT_PURCHASE.horizonDays;
  const c1 = daysBefore(asOf, H);
  const c2 = daysBefore(asOf, 2 * H);
  const none = (skipped: string, cut: string | null = null, n = 0): NextPurchaseChoice => ({ used: false, skipped, cut, labelled: n, aucTrees: null, aucShrunk: null, needed: null, trees: null });
  const F1 = '__promotion_features_c1';
  const F2 = '__promotion_features_c2';
  const F0 = '__promotion_features_asof';
  const P = '__promotion_next';
  const PREDICTIONS = '__promotion_next_values';
  let choice: NextPurchaseChoice;
  try {
    const first = await store.value<string | null>(`SELECT strftime(min(ordered_at), '%Y-%m-%d %H:%M:%S') FROM asof_orders`);
    const discounted = await store.value<boolean>('SELECT EXISTS (SELECT 1 FROM asof_orders WHERE discount > 0 AND ordered_at < $1::TIMESTAMP)', [asOf]);
    if (!discounted) {
      choice = none('no discounted order line');
    } else if (first === null || first >= c2) {
      choice = none(`less than ${2 * H} days of orders before the as-of date: no inner holdout for the trees`);
    } else {
      progress('promotion: next purchase on promotion, boosted trees on an inner holdout');
      const f2 = await createAppetenceTable(store, '__promotion_c2', settings, c2, { features: F2 });
      const f1 = await createAppetenceTable(store, '__promotion_c1', settings, c1, { features: F1 });
      if (f2.typicalShare === null || f1.typicalShare === null) {
        choice = none('no discounted line before the inner cuts');
      } else {
        const old = await labelled(store, F2, c2, c1, NEXT_PURCHASE.sample);
        const recent = await labelled(store, F1, c1, asOf, NEXT_PURCHASE.sample);
        if (!enough(old.labels) || !enough(recent.labels)) {
          choice = none(`too few buyers with a next purchase to learn from (${old.labels.length} and ${recent.labels.length}; at least ${NEXT_PURCHASE.minLabelled}, ${NEXT_PURCHASE.minClass} of each outcome)`, c1, recent.labels.length);
        } else {
          const graded = await fitTrees(old);
          const p = predictGbdt(graded.model, recent.matrix);
          const aucTrees = rocAuc(recent.labels, p);
          const aucShrunk = rocAuc(recent.labels, recent.shrunk);
          const positives = recent.labels.reduce((a, b) => a + b, 0);
          const error = aucTrees === null || aucShrunk === null ? Number.NaN : aucDifferenceError(aucTrees, aucShrunk, positives, recent.labels.length - positives);
          const needed = Math.max(NEXT_PURCHASE.margin, 2 * error);
          const used = aucTrees !== null && aucShrunk !== null && aucTrees - aucShrunk >= needed;
          choice = { used, skipped: null, cut: c1, labelled: recent.labels.length, aucTrees, aucShrunk, needed: Number.isFinite(needed) ? needed : null, trees: graded.diagnostics.bestRound };
          if (used) {
            const final = await fitTrees(recent);
            const facts0 = await createAppetenceTable(store, '__promotion_asof', settings, asOf, { features: F0 });
            if (facts0.typicalShare !== null) {
              const all = await store.readColumns(`SELECT ${NEXT_PURCHASE_FEATURES.join(', ')} FROM ${F0} ORDER BY customer_id`);
              const ids = await store.all<{ customer_id: string }>(`SELECT customer_id FROM ${F0} ORDER BY customer_id`);
              const columns = NEXT_PURCHASE_FEATURES.map((f) => Float64Array.from(all.numbers[f] ?? new Float64Array(0), (v) => (Number.isFinite(v) ? v : Number.NaN)));
              const probability = predictGbdt(final.model, { names: [...NEXT_PURCHASE_FEATURES], columns, rows: ids.length });
              // Exposed to DuckDB straight from the arrays, then copied to a temp table: a run computes with the store read-only.
              store.exposeColumns(PREDICTIONS, [
                { name: 'customer_id', type: 'VARCHAR', values: ids.map((r) => r.customer_id) },
                { name: 'p', type: 'DOUBLE', values: probability },
              ]);
              try {
                await store.run(`CREATE OR REPLACE TEMP TABLE ${P} AS SELECT * FROM ${PREDICTIONS}()`);
              } finally {
                store.releaseColumns(PREDICTIONS);
              }
              const typical = probability.reduce((a, b) => a + b, 0) / Math.max(1, probability.length);
              const facts = await createAppetenceTable(store, table, settings, asOf, { next: { table: P, typical } });
              return { facts, choice: { ...choice, trees: final.diagnostics.bestRound } };
            }
          }
        }
      }
    }
  } finally {
    for (const t of ['__promotion_c1', '__promotion_c2', '__promotion_asof', F0, F1, F2, P]) await store.run(`DROP TABLE IF EXISTS ${t}`);
  }
  return { facts: await createAppetenceTable(store, table, settings, asOf), choice };
}

/** The note on the next-purchase trees: used or not, and by how much. */
export function nextPurchaseNote(c: NextPurchaseChoice): string {
  if (c.skipped !== null) return `promotion: no boosted trees for the next purchase on promotion: ${c.skipped}; the score is the shrunk shares`;
  const f = (x: number | null): string => (x === null ? 'n/a' : x.toFixed(3));
  const figures = `ROC AUC ${f(c.aucTrees)} for the trees against ${f(c.aucShrunk)} for the shrunk share, on the next purchase day of ${formatCount(c.labelled)} buyers in the ${NEXT_PURCHASE.horizonDays} days after ${String(c.cut).slice(0, 10)}`;
  return c.used
    ? `promotion: boosted trees predict the next purchase on promotion better, by more than ${f(c.needed)} (${figures}): their probability is the score's base (${c.trees} trees)`
    : `promotion: boosted trees do not beat the shrunk share by ${f(c.needed)} (the larger of ${NEXT_PURCHASE.margin} and twice the standard error of the difference; ${figures}): the score is the shrunk shares with the response tilt`;
}
