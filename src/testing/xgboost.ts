// XGBoost as a reference for the explanations: trains a small model in Debian's Python (xgboost 1.7) and reads its
// JSON model into our Ensemble, with its pred_contribs (Lundberg et al. 2018's TreeSHAP, in float32) beside it.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Ensemble, Tree } from '../ml/tree.js';
import type { FeatureMatrix } from '../ml/treeshap.js';

/** Debian's Python, which has xgboost and numpy (the pyenv python3 on PATH has neither). */
export const SYSTEM_PYTHON = '/usr/bin/python3';

/** True when `SYSTEM_PYTHON -c 'import xgboost'` works. */
export function hasXgboost(): boolean {
  return spawnSync(SYSTEM_PYTHON, ['-c', 'import xgboost'], { encoding: 'utf8' }).status === 0;
}

/** What XGBoost made: the data (float32 values, NaN missing), its model as ours, its margins and pred_contribs. */
export interface XgboostReference {
  readonly matrix: FeatureMatrix;
  readonly model: Ensemble;
  readonly version: string;
  /** output_margin=True, per row. */
  readonly margins: number[];
  /** pred_contribs=True: per row, one value per feature then the bias. */
  readonly contributions: number[][];
}

const TRAIN = `
import json, sys
import numpy as np
import xgboost as xgb
out = sys.argv[1]
rng = np.random.default_rng(7)
n, F = 600, 6
X = rng.normal(size=(n, F)).astype(np.float32)
X[:, 2] = rng.integers(0, 4, size=n)
X[rng.random((n, F)) < 0.15] = np.nan
Z = np.nan_to_num(X)
y = (rng.random(n) < 1 / (1 + np.exp(-(1.5 * Z[:, 0] - Z[:, 1] * Z[:, 2] + 0.5 * Z[:, 3])))).astype(np.float32)
params = {'objective': 'binary:logistic', 'max_depth': 4, 'eta': 0.3, 'base_score': 0.3, 'tree_method': 'hist', 'seed': 0}
booster = xgb.train(params, xgb.DMatrix(X, label=y), num_boost_round=20)
booster.save_model(out + '/model.json')
d = xgb.DMatrix(X)
json.dump({
  'version': xgb.__version__,
  'X': [[None if np.isnan(v) else float(v) for v in row] for row in X],
  'margins': booster.predict(d, output_margin=True).astype(float).tolist(),
  'contributions': booster.predict(d, pred_contribs=True).astype(float).tolist(),
}, open(out + '/reference.json', 'w'))
`;

interface XgbTree {
  left_children: number[];
  right_children: number[];
  split_indices: number[];
  split_conditions: number[];
  default_left: (number | boolean)[];
  sum_hessian: number[];
}

interface XgbModel {
  learner: {
    learner_model_param: { base_score: string; num_feature: string };
    objective: { name: string };
    gradient_booster: { model: { trees: XgbTree[] } };
  };
}

/**
 * XGBoost's JSON model (save_model, 1.7) as our Ensemble: x < split_condition goes left, `default_left` takes missing
 * values, leaves hold their value (eta applied) in split_conditions, cover is sum_hessian; thresholds are float32, as
 * XGBoost compares; for binary:logistic, base_score is a probability and the base margin its logit.
 */
export function ensembleFromXgboost(json: XgbModel, featureNames: readonly string[]): Ensemble {
  const { learner } = json;
  if (learner.objective.name !== 'binary:logistic') throw new Error(`only binary:logistic is converted (got ${learner.objective.name})`);
  const p = Number.parseFloat(learner.learner_model_param.base_score);
  const trees = learner.gradient_booster.model.trees.map((t): Tree => {
    const leaf = (i: number): boolean => (t.left_children[i] ?? -1) < 0;
    const n = t.left_children.length;
    return {
      feature: Int32Array.from({ length: n }, (_, i) => (leaf(i) ? -1 : (t.split_indices[i] ?? 0))),
      threshold: Float64Array.from({ length: n }, (_, i) => (leaf(i) ? 0 : Math.fround(t.split_conditions[i] ?? 0))),
      missingLeft: Uint8Array.from({ length: n }, (_, i) => (Number(t.default_left[i]) === 1 ? 1 : 0)),
      left: Int32Array.from(t.left_children),
      right: Int32Array.from(t.right_children),
      value: Float64Array.from({ length: n }, (_, i) => (leaf(i) ? (t.split_conditions[i] ?? 0) : 0)),
      cover: Float64Array.from(t.sum_hessian),
    };
  });
  return { objective: 'logistic', baseMargin: Math.log(p / (1 - p)), featureNames, trees };
}

/** Trains the reference model (20 trees of depth <= 4 on 600 rows, 6 features, 15% missing) and reads what it made. */
export function trainXgboostReference(): XgboostReference {
  const dir = mkdtempSync(join(tmpdir(), 'kairos-xgb-'));
  try {
    const run = spawnSync(SYSTEM_PYTHON, ['-c', TRAIN, dir], { encoding: 'utf8' });
    if (run.status !== 0) throw new Error(`training the XGBoost reference failed (${run.status}):\n${run.stderr}`);
    const ref = JSON.parse(readFileSync(join(dir, 'reference.json'), 'utf8')) as {
      version: string;
      X: (number | null)[][];
      margins: number[];
      contributions: number[][];
    };
    const F = ref.X[0]?.length ?? 0;
    const names = Array.from({ length: F }, (_, f) => `f${f}`);
    const columns = names.map((_, f) => Float64Array.from(ref.X, (row) => row[f] ?? Number.NaN));
    const model = ensembleFromXgboost(JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8')) as XgbModel, names);
    return { matrix: { names, columns, rows: ref.X.length }, model, version: ref.version, margins: ref.margins, contributions: ref.contributions };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
