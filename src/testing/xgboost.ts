// XGBoost (Debian's python3-xgboost under /usr/bin/python3) as a reference for the boosted-tree learner and TreeSHAP: never a runtime dependency.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FeatureMatrix } from '../ml/matrix.js';
import type { Ensemble, Tree } from '../ml/tree.js';
import type { FeatureMatrix as ShapMatrix } from '../ml/treeshap.js';
import { projectRoot } from './shared-data.js';

/** Debian's Python, not a pyenv one on PATH: python3-xgboost and python3-numpy install there. */
export const SYSTEM_PYTHON = '/usr/bin/python3';
const SCRIPT = join(projectRoot, 'src/ml/__fixtures__/xgboost_reference.py');

/** Whether /usr/bin/python3 can import xgboost and numpy. */
export function xgboostAvailable(): boolean {
  return spawnSync(SYSTEM_PYTHON, ['-c', 'import xgboost, numpy'], { stdio: 'ignore' }).status === 0;
}

/** The same check, under the name the TreeSHAP tests use. */
export const hasXgboost = xgboostAvailable;

/** Writes a matrix as float32 little-endian rows (row-major, NaN for missing), as numpy.fromfile reads it. */
export function writeFloat32Rows(matrix: FeatureMatrix, path: string): void {
  const p = matrix.columns.length;
  const out = new Float32Array(matrix.rows * p);
  matrix.columns.forEach((c, j) => {
    for (let r = 0, o = j; r < matrix.rows; r++, o += p) out[o] = c[r] as number;
  });
  writeFileSync(path, new Uint8Array(out.buffer));
}

export interface XgboostRun {
  /** Margins of the rows after the training rows. */
  readonly margins: Float64Array;
  /** Training seconds in Python: DMatrix (its binning) and boosting; and the process's CPU seconds meanwhile (all threads). */
  readonly seconds: number;
  readonly cpuSeconds: number;
  readonly peakMb: number;
  readonly version: string;
}

/**
 * Trains XGBoost on the first `train` rows of a float32 row file (writeFloat32Rows) with `params` for `rounds` rounds,
 * and returns its margins of the remaining rows. Files go to a temporary folder, removed after.
 */
export function runXgboost(featuresPath: string, labels: Float64Array, cols: number, train: number, params: Record<string, unknown>, rounds: number): XgboostRun {
  const dir = mkdtempSync(join(tmpdir(), 'kairos-xgb-'));
  try {
    const labelsPath = join(dir, 'labels.f64');
    writeFileSync(labelsPath, new Uint8Array(labels.buffer, labels.byteOffset, labels.byteLength));
    const marginsPath = join(dir, 'margins.f64');
    const specPath = join(dir, 'spec.json');
    writeFileSync(specPath, JSON.stringify({ features: featuresPath, labels: labelsPath, rows: labels.length, cols, train, params, rounds, margins: marginsPath }));
    const r = spawnSync(SYSTEM_PYTHON, [SCRIPT, specPath], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`xgboost_reference.py failed (${r.status}):\n${r.stderr}`);
    const lines = r.stdout.trim().split('\n');
    const summary = JSON.parse(lines[lines.length - 1] ?? '{}') as { xgboost: string; seconds: number; cpuSeconds: number; peakMb: number };
    const bytes = readFileSync(marginsPath);
    const margins = new Float64Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
    return { margins, seconds: summary.seconds, cpuSeconds: summary.cpuSeconds, peakMb: summary.peakMb, version: summary.xgboost };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** What XGBoost made: the data (float32 values, NaN missing), its model as ours, its margins and pred_contribs. */
export interface XgboostReference {
  readonly matrix: ShapMatrix;
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
