// The conversion model's cross-sectional check on Hillstrom's e-mail test: boosted trees against recency on the e-mailed customers.
import type { LearnedSettings } from '../config.js';
import { prAuc, rocAuc } from '../backtest/metrics.js';
import { trainGbdt, predictGbdtMargin } from '../ml/gbdt.js';
import { quoteLiteral, type Store } from '../store/db.js';
import { boostingOptions, type Matrix } from '../scores/learned/train.js';

/** Folds of the cross-validation: every e-mailed customer is predicted once, by trees that never saw them. */
export const HILLSTROM_FOLDS = 5;

/** The file's columns from before the campaign, as numbers (zip area and channel coded 1-3); also read by hillstrom-uplift.ts. */
export const HILLSTROM_PRE_PERIOD_SQL = `recency::DOUBLE AS recency, history::DOUBLE AS history, mens::DOUBLE AS mens, womens::DOUBLE AS womens,
       (CASE zip_code WHEN 'Urban' THEN 1 WHEN 'Surburban' THEN 2 WHEN 'Rural' THEN 3 END)::DOUBLE AS zip, newbie::DOUBLE AS newbie,
       (CASE channel WHEN 'Phone' THEN 1 WHEN 'Web' THEN 2 WHEN 'Multichannel' THEN 3 END)::DOUBLE AS channel`;

/** The features the file has before the campaign (no dates: the file is one snapshot). */
const FEATURES = ['recency', 'history', 'mens', 'womens', 'zip', 'newbie', 'channel', 'womens_mail'] as const;

export interface HillstromCheck {
  readonly customers: number;
  readonly conversions: number;
  readonly folds: number;
  /** Out-of-fold ROC AUC and PR AUC of the trees, and of the rules: recency (months since the last purchase) and past-year spend. */
  readonly trees: { readonly rocAuc: number | null; readonly prAuc: number | null };
  readonly recency: { readonly rocAuc: number | null; readonly prAuc: number | null };
  readonly history: { readonly rocAuc: number | null; readonly prAuc: number | null };
}

/**
 * Reads hillstrom.csv(.gz) and predicts conversion in the two weeks after the e-mail for the customers who were
 * e-mailed (Mens or Womens E-Mail), by boosted trees with the conversion model's settings (`boostingOptions`), in
 * HILLSTROM_FOLDS folds by row number (each fold's trees stop early on a fifth of the other folds' rows). Graded like
 * the conversion score: against recency, the rule it must beat.
 */
export async function hillstromConversionCheck(store: Store, file: string, settings: LearnedSettings): Promise<HillstromCheck> {
  const { numbers } = await store.readColumns(
    `SELECT ${HILLSTROM_PRE_PERIOD_SQL},
       (segment = 'Womens E-Mail')::DOUBLE AS womens_mail, conversion::DOUBLE AS conversion,
       ((row_number() OVER ()) % ${HILLSTROM_FOLDS})::DOUBLE AS fold
     FROM read_csv(${quoteLiteral(file)}, header = true) WHERE segment <> 'No E-Mail'`,
  );
  const y = numbers['conversion'] as Float64Array;
  const fold = numbers['fold'] as Float64Array;
  const n = y.length;
  const columns = FEATURES.map((f) => numbers[f] as Float64Array);
  const pick = (rows: number[]): Matrix => ({ names: FEATURES, rows: rows.length, columns: columns.map((c) => Float64Array.from(rows, (i) => c[i] as number)) });
  const predicted = new Float64Array(n);
  for (let k = 0; k < HILLSTROM_FOLDS; k++) {
    const test: number[] = [];
    const train: number[] = [];
    const valid: number[] = [];
    for (let i = 0; i < n; i++) {
      if (fold[i] === k) test.push(i);
      else if (fold[i] === (k + 1) % HILLSTROM_FOLDS) valid.push(i);
      else train.push(i);
    }
    const fit = await trainGbdt(pick(train), Float64Array.from(train, (i) => y[i] as number), boostingOptions('conversion', settings), {
      matrix: pick(valid),
      labels: Float64Array.from(valid, (i) => y[i] as number),
    });
    const margins = predictGbdtMargin(fit.model, pick(test));
    test.forEach((i, j) => (predicted[i] = margins[j] as number));
  }
  const recency = (numbers['recency'] as Float64Array).map((r) => -r);
  const history = numbers['history'] as Float64Array;
  const both = (score: Float64Array): { rocAuc: number | null; prAuc: number | null } => ({ rocAuc: rocAuc(y, score), prAuc: prAuc(y, score) });
  return {
    customers: n,
    conversions: y.reduce((a, b) => a + b, 0),
    folds: HILLSTROM_FOLDS,
    trees: both(predicted),
    recency: both(recency),
    history: both(history),
  };
}
