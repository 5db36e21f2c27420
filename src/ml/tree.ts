// Fitted tree ensembles in one shape, shared by the learner (gbdt.ts), the explanations (treeshap.ts) and the store
// (model_fits JSON). Node 0 is the root; the arrays hold one entry per node.
//
// A row goes to the left child when its feature value is below the threshold (x < threshold, as XGBoost), to the side
// `missingLeft` names when the value is missing (NaN), and to the right otherwise.

/** One regression tree in flat arrays. A node is a leaf when `left[i] < 0`. */
export interface Tree {
  /** Feature index of the split; -1 at leaves. */
  readonly feature: Int32Array;
  /** Split value on the raw feature scale: x < threshold goes left. */
  readonly threshold: Float64Array;
  /** 1: a missing value (NaN) goes left; 0: right. */
  readonly missingLeft: Uint8Array;
  /** Children; -1 at leaves. */
  readonly left: Int32Array;
  readonly right: Int32Array;
  /** At leaves: the leaf's output on the margin scale, the learning rate applied. Elsewhere unused (0). */
  readonly value: Float64Array;
  /** Training weight that reached the node (sum of hessians, as XGBoost's cover): the expectations of TreeSHAP. */
  readonly cover: Float64Array;
}

/** What the margin means and how a prediction is made from it. */
export type Objective = 'logistic' | 'squared' | 'tweedie';

/** A boosted ensemble: prediction = link^-1(baseMargin + sum of the trees' leaf values). */
export interface Ensemble {
  readonly objective: Objective;
  /** Variance power of the Tweedie objective (1 < p < 2), when objective is 'tweedie'. */
  readonly tweediePower?: number;
  /** Margin every row starts from (log-odds for logistic, log-mean for tweedie, mean for squared). */
  readonly baseMargin: number;
  readonly featureNames: readonly string[];
  readonly trees: readonly Tree[];
}

/** Leaf a row reaches; `x(f)` gives the row's value of feature f (NaN when missing). */
export function leafOf(tree: Tree, x: (feature: number) => number): number {
  let i = 0;
  while ((tree.left[i] ?? -1) >= 0) {
    const v = x(tree.feature[i] ?? 0);
    const goLeft = Number.isNaN(v) ? tree.missingLeft[i] === 1 : v < (tree.threshold[i] ?? 0);
    i = (goLeft ? tree.left[i] : tree.right[i]) ?? 0;
  }
  return i;
}

/** The ensemble's margin for one row. */
export function marginOf(model: Ensemble, x: (feature: number) => number): number {
  let m = model.baseMargin;
  for (const t of model.trees) m += t.value[leafOf(t, x)] ?? 0;
  return m;
}

/** From the margin scale to the prediction's: a probability (logistic), a mean (tweedie: exp), or as is (squared). */
export function fromMargin(objective: Objective, margin: number): number {
  if (objective === 'logistic') return 1 / (1 + Math.exp(-margin));
  if (objective === 'tweedie') return Math.exp(margin);
  return margin;
}
