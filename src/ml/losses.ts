// The objectives of the boosted-tree learner: the labels each accepts, the margin it starts from, and how its loss is reported.
import { KairosError } from '../errors.js';
import type { ObjectiveCode } from './kernels.js';
import type { Objective } from './tree.js';

/** What the learner needs to know of an objective beyond its gradients (kernels.ts). */
export interface ObjectiveSpec {
  readonly code: ObjectiveCode;
  /** Name of the reported loss, as XGBoost's eval metric. */
  readonly lossName: string;
  /** Why a label is out of the objective's domain, or null when it is fine. */
  labelProblem(y: number): string | null;
  /** The margin every row starts from, for the weighted mean label; throws when there is nothing to learn. */
  baseMargin(mean: number): number;
  /** The reported loss from the weighted mean of the row losses (kernels.ts rowLoss). */
  report(meanRowLoss: number): number;
}

const same = (v: number): number => v;

/** The objectives by name. */
export const OBJECTIVES: Readonly<Record<Objective, ObjectiveSpec>> = {
  logistic: {
    code: 0,
    lossName: 'logloss',
    labelProblem: (y) => (y >= 0 && y <= 1 ? null : 'a logistic label must be in [0, 1]'),
    baseMargin(mean) {
      if (!(mean > 0 && mean < 1)) {
        throw new KairosError('INSUFFICIENT_DATA', `every training label is ${mean <= 0 ? 0 : 1}: there is nothing to learn`, {
          hint: 'train on rows of both classes',
        });
      }
      return Math.log(mean / (1 - mean));
    },
    report: same,
  },
  squared: {
    code: 1,
    lossName: 'rmse',
    labelProblem: () => null,
    baseMargin: same,
    report: Math.sqrt,
  },
  tweedie: {
    code: 2,
    lossName: 'tweedie-nloglik',
    labelProblem: (y) => (y >= 0 ? null : 'a Tweedie label must not be negative'),
    baseMargin(mean) {
      if (!(mean > 0)) {
        throw new KairosError('INSUFFICIENT_DATA', 'every training label is 0: a Tweedie model has nothing to learn', {
          hint: 'train on rows with some positive labels',
        });
      }
      return Math.log(mean);
    },
    report: same,
  },
};

/** Throws a VALIDATION error naming the first row whose label is not finite or out of the objective's domain, or whose weight is negative or not finite. */
export function checkLabels(objective: Objective, labels: Float64Array, weights: Float64Array | undefined, rows: number, what: string): void {
  if (labels.length !== rows) throw new KairosError('VALIDATION', `${what}: ${labels.length} labels for ${rows} rows`);
  if (weights !== undefined && weights.length !== rows) throw new KairosError('VALIDATION', `${what}: ${weights.length} weights for ${rows} rows`);
  const spec = OBJECTIVES[objective];
  for (let r = 0; r < rows; r++) {
    const y = labels[r] as number;
    if (!Number.isFinite(y)) {
      throw new KairosError('VALIDATION', `${what}: the label of row ${r} is ${y}`, { hint: 'drop or fill the rows without a finite label before training' });
    }
    const problem = spec.labelProblem(y);
    if (problem !== null) throw new KairosError('VALIDATION', `${what}: the label of row ${r} is ${y}: ${problem}`, { hint: `check the labels, or choose another objective than ${objective}` });
    if (weights !== undefined) {
      const w = weights[r] as number;
      if (!(Number.isFinite(w) && w >= 0)) throw new KairosError('VALIDATION', `${what}: the weight of row ${r} is ${w}`, { hint: 'weights must be finite and not negative' });
    }
  }
}
