// The boosted-tree learner against XGBoost 1.7 `hist` (Debian's python3-xgboost) on the same synthetic data and hyper-parameters.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { rocAuc } from '../backtest/metrics.js';
import { expectClose } from '../testing/expect-close.js';
import { sliceRows, syntheticTabular } from '../testing/tabular.js';
import { runXgboost, SYSTEM_PYTHON, writeFloat32Rows, xgboostAvailable } from '../testing/xgboost.js';
import { predictGbdtMargin, trainGbdt } from './gbdt.js';

const ROWS = 40_000;
const TRAIN = 30_000;
const ROUNDS = 100;
const available = xgboostAvailable();
const skipped = available ? '' : ` (skipped: ${SYSTEM_PYTHON} cannot import xgboost; apt-get install python3-xgboost python3-numpy)`;
if (!available) console.warn(`gbdt.xgboost.test.ts${skipped}`);

/** Shared hyper-parameters, in our names and in XGBoost's (no subsampling: both learners are then deterministic). */
const SAME = { learningRate: 0.1, maxDepth: 6, lambda: 1, minChildWeight: 1, gamma: 0, maxBins: 256, rounds: ROUNDS, earlyStoppingRounds: 0 };
const XGB = { tree_method: 'hist', eta: 0.1, max_depth: 6, lambda: 1, min_child_weight: 1, gamma: 0, max_bin: 256, nthread: 1, seed: 0 };

function logLoss(labels: Float64Array, margins: Float64Array): number {
  let s = 0;
  for (let r = 0; r < labels.length; r++) {
    const m = margins[r] as number;
    s += (m > 0 ? m + Math.log1p(Math.exp(-m)) : Math.log1p(Math.exp(m))) - (labels[r] as number) * m;
  }
  return s / labels.length;
}

function rmse(target: Float64Array, predicted: Float64Array): number {
  let s = 0;
  for (let r = 0; r < target.length; r++) s += ((predicted[r] as number) - (target[r] as number)) ** 2;
  return Math.sqrt(s / target.length);
}

const mean = (a: Float64Array): number => a.reduce((x, y) => x + y, 0) / a.length;

describe('trainGbdt against XGBoost hist (python3-xgboost 1.7, same data, same hyper-parameters)', () => {
  const data = syntheticTabular(ROWS, 2024);
  const dir = mkdtempSync(join(tmpdir(), 'kairos-gbdt-xgb-'));
  const featuresPath = join(dir, 'features.f32');
  if (available) writeFloat32Rows(data.matrix, featuresPath);
  const train = sliceRows(data.matrix, 0, TRAIN);
  const test = sliceRows(data.matrix, TRAIN, ROWS);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.skipIf(!available)(`logistic: test AUC within 0.005 and log-loss within 1% of XGBoost's${skipped}`, async () => {
    const labels = data.labels;
    const trainLabels = labels.subarray(0, TRAIN);
    const testLabels = labels.subarray(TRAIN);
    const xgb = runXgboost(featuresPath, labels, data.matrix.columns.length, TRAIN, { ...XGB, objective: 'binary:logistic', base_score: mean(trainLabels) }, ROUNDS);
    expect(xgb.version).toMatch(/^1\./);
    const fit = await trainGbdt(train, trainLabels, { ...SAME, objective: 'logistic' });
    const ours = predictGbdtMargin(fit.model, test);
    const aucOurs = rocAuc(testLabels, ours) as number;
    const aucXgb = rocAuc(testLabels, xgb.margins) as number;
    expectClose(aucOurs, aucXgb, { atol: 0.005 }, 'test AUC, ours against XGBoost');
    expectClose(logLoss(testLabels, ours), logLoss(testLabels, xgb.margins), { rtol: 0.01 }, 'test log-loss, ours against XGBoost');
    // Both learned something: well above the AUC of a coin.
    expect(aucXgb).toBeGreaterThan(0.75);
  });

  it.skipIf(!available)(`squared error: test RMSE within 1% of XGBoost's${skipped}`, async () => {
    const target = data.target;
    const trainTarget = target.subarray(0, TRAIN);
    const xgb = runXgboost(featuresPath, target, data.matrix.columns.length, TRAIN, { ...XGB, objective: 'reg:squarederror', base_score: mean(trainTarget) }, ROUNDS);
    const fit = await trainGbdt(train, trainTarget, { ...SAME, objective: 'squared' });
    const ours = predictGbdtMargin(fit.model, test);
    const testTarget = target.subarray(TRAIN);
    expectClose(rmse(testTarget, ours), rmse(testTarget, xgb.margins), { rtol: 0.01 }, 'test RMSE, ours against XGBoost');
    // Below the spread of the target: both learned the signal.
    expect(rmse(testTarget, xgb.margins)).toBeLessThan(0.8 * rmse(testTarget, new Float64Array(testTarget.length).fill(mean(trainTarget))));
  });
});
