// The boosted-tree learner: known splits, determinism over seeds and threads, losses, early stopping, missing values, errors.
import { describe, expect, it } from 'vitest';
import { KairosError } from '../errors.js';
import { createRng } from '../math/random.js';
import { expectClose } from '../testing/expect-close.js';
import { sliceRows, syntheticTabular } from '../testing/tabular.js';
import { predictGbdt, predictGbdtMargin, trainGbdt, type GbdtOptions } from './gbdt.js';
import type { FeatureMatrix } from './matrix.js';
import { marginOf } from './tree.js';
import { ensembleFromJson, ensembleToJson } from './tree-json.js';

const data = syntheticTabular(6000, 7);
const train = sliceRows(data.matrix, 0, 4000);
const valid = sliceRows(data.matrix, 4000, 6000);
const trainLabels = data.labels.subarray(0, 4000);
const validLabels = data.labels.subarray(4000, 6000);

/** The margin tree.ts computes for row r of a matrix. */
function treeMargin(model: Parameters<typeof marginOf>[0], matrix: FeatureMatrix, r: number): number {
  return marginOf(model, (f) => (matrix.columns[f] as Float32Array | Float64Array)[r] as number);
}

async function thrown(run: () => Promise<unknown>): Promise<KairosError> {
  try {
    await run();
  } catch (err) {
    expect(err).toBeInstanceOf(KairosError);
    return err as KairosError;
  }
  throw new Error('expected a KairosError');
}

describe('trainGbdt on known cases', () => {
  it('finds the threshold of a step function with one split', async () => {
    const rng = createRng(3);
    const n = 2000;
    // 101 distinct values (a grid of 0.1): each its own bin, so the split can fall exactly on the step.
    const x = Float64Array.from({ length: n }, () => Math.round(rng.uniformIn(0, 10) * 10) / 10);
    const y = Float64Array.from(x, (v) => (v < 3.7 ? 1 : 5));
    const fit = await trainGbdt({ names: ['x'], columns: [x], rows: n }, y, { objective: 'squared', maxDepth: 1, rounds: 1, learningRate: 1, lambda: 0 });
    const tree = fit.model.trees[0];
    expect(tree?.feature[0]).toBe(0);
    // The smallest training value at or above the step: x < threshold sends exactly the rows below it left.
    const above = Math.min(...Array.from(x).filter((v) => v >= 3.7));
    expect(tree?.threshold[0]).toBe(above);
    const mean = y.reduce((a, b) => a + b, 0) / n;
    expectClose(fit.model.baseMargin + (tree?.value[tree.left[0] ?? 0] ?? NaN), 1, { atol: 1e-9 }, 'left leaf');
    expectClose(fit.model.baseMargin + (tree?.value[tree.right[0] ?? 0] ?? NaN), 5, { atol: 1e-9 }, 'right leaf');
    expectClose(fit.model.baseMargin, mean, { rtol: 1e-12 }, 'base margin');
    expect(Array.from(tree?.cover ?? [])).toEqual([n, x.filter((v) => v < 3.7).length, x.filter((v) => v >= 3.7).length]);
  });

  it('learns where missing values go (missing -> high label)', async () => {
    const rng = createRng(5);
    const n = 3000;
    const x = new Float64Array(n);
    const y = new Float64Array(n);
    for (let r = 0; r < n; r++) {
      const missing = rng.uniform() < 0.3;
      x[r] = missing ? NaN : Math.floor(rng.uniformIn(0, 100)) / 100;
      // Missing rows behave as the low values: the split must send them left.
      y[r] = missing || (x[r] as number) < 0.5 ? 10 : 0;
    }
    const fit = await trainGbdt({ names: ['x'], columns: [x], rows: n }, y, { objective: 'squared', maxDepth: 1, rounds: 1, learningRate: 1, lambda: 0 });
    const tree = fit.model.trees[0];
    expect(tree?.missingLeft[0]).toBe(1);
    const pred = predictGbdt(fit.model, { names: ['x'], columns: [Float64Array.from([NaN, 0.1, 0.9])], rows: 3 });
    // Gradients are rounded to about 1e-9 of their largest (gbdt.ts), hence atol.
    [10, 10, 0].forEach((v, i) => expectClose(pred[i] as number, v, { atol: 1e-7 }, `prediction ${i}`));
    // And the mirror case: missing rows behave as the high values.
    const y2 = Float64Array.from(x, (v) => (Number.isNaN(v) || v >= 0.5 ? 10 : 0));
    const fit2 = await trainGbdt({ names: ['x'], columns: [x], rows: n }, y2, { objective: 'squared', maxDepth: 1, rounds: 1, learningRate: 1, lambda: 0 });
    expect(fit2.model.trees[0]?.missingLeft[0]).toBe(0);
    const pred2 = predictGbdt(fit2.model, { names: ['x'], columns: [Float64Array.from([NaN, 0.1, 0.9])], rows: 3 });
    [10, 0, 10].forEach((v, i) => expectClose(pred2[i] as number, v, { atol: 1e-7 }, `prediction ${i}`));
  });

  it('splits present from missing when a feature has one value besides missing', async () => {
    const n = 1000;
    const x = Float64Array.from({ length: n }, (_, r) => (r % 4 === 0 ? NaN : 2));
    const y = Float64Array.from(x, (v) => (Number.isNaN(v) ? 1 : 0));
    const fit = await trainGbdt({ names: ['x'], columns: [x], rows: n }, y, { objective: 'logistic', maxDepth: 1, rounds: 30, learningRate: 0.5 });
    expect(fit.diagnostics.droppedFeatures).toEqual([]);
    const pred = predictGbdt(fit.model, { names: ['x'], columns: [Float64Array.from([NaN, 2])], rows: 2 });
    expect(pred[0]).toBeGreaterThan(0.95);
    expect(pred[1]).toBeLessThan(0.05);
  });

  it('drops constant and all-missing features, lists them and never splits on them', async () => {
    const n = 500;
    const x = Float64Array.from({ length: n }, (_, r) => r % 10);
    const constant = new Float64Array(n).fill(3);
    const empty = new Float64Array(n).fill(NaN);
    const y = Float64Array.from(x, (v) => v * 2);
    const fit = await trainGbdt({ names: ['constant', 'x', 'empty'], columns: [constant, x, empty], rows: n }, y, { objective: 'squared', rounds: 5 });
    expect(fit.diagnostics.droppedFeatures).toEqual(['constant', 'empty']);
    expect(fit.model.featureNames).toEqual(['constant', 'x', 'empty']);
    for (const t of fit.model.trees) for (const f of t.feature) expect([-1, 1]).toContain(f);
  });

  it('keeps to maxLeaves, and to gamma (on XGBoost\'s scale of gains)', async () => {
    const leavesOf = (t: { left: Int32Array }): number => t.left.filter((v) => v < 0).length;
    const free = await trainGbdt(train, trainLabels, { rounds: 5, maxDepth: 6 });
    expect(Math.max(...free.model.trees.map(leavesOf))).toBeGreaterThan(20);
    const limited = await trainGbdt(train, trainLabels, { rounds: 5, maxDepth: 6, maxLeaves: 7 });
    expect(limited.model.trees.map(leavesOf)).toEqual([7, 7, 7, 7, 7]);
    // The first tree's root split is the root's best, with or without the limit.
    expect([limited.model.trees[0]?.feature[0], limited.model.trees[0]?.threshold[0]]).toEqual([free.model.trees[0]?.feature[0], free.model.trees[0]?.threshold[0]]);
    const stumps = await trainGbdt(train, trainLabels, { rounds: 3, gamma: 1e9 });
    expect(stumps.model.trees.map(leavesOf)).toEqual([1, 1, 1]);
  });

  it('fits a smooth squared-error target and a Tweedie mean', async () => {
    const trainTarget = data.target.subarray(0, 4000);
    const fit = await trainGbdt(train, trainTarget, { objective: 'squared', rounds: 100, maxDepth: 4 });
    const pred = predictGbdt(fit.model, valid);
    let se = 0;
    let seNull = 0;
    const mean = trainTarget.reduce((a, b) => a + b, 0) / trainTarget.length;
    for (let r = 0; r < valid.rows; r++) {
      const t = data.target[4000 + r] as number;
      se += ((pred[r] as number) - t) ** 2;
      seNull += (mean - t) ** 2;
    }
    // The noise is N(0, 0.5): an RMSE near 0.5 is the best possible; the mean alone is far worse.
    const rmse = Math.sqrt(se / valid.rows);
    expect(rmse).toBeLessThan(0.65);
    expect(rmse).toBeLessThan(0.6 * Math.sqrt(seNull / valid.rows));

    // Tweedie: labels with a point mass at 0 and a positive tail; mean exp(logit / 2).
    const rng = createRng(11);
    const amounts = Float64Array.from(data.logit, (z) => (rng.uniform() < 0.4 ? 0 : rng.gamma(2, 2 / Math.exp(z / 2)) / 0.6));
    const tw = await trainGbdt(train, amounts.subarray(0, 4000), { objective: 'tweedie', rounds: 80, maxDepth: 3 });
    expect(tw.model.tweediePower).toBe(1.5);
    const twPred = predictGbdt(tw.model, valid);
    expect(twPred.every((v) => v > 0 && Number.isFinite(v))).toBe(true);
    const trueMean = Float64Array.from(data.logit.subarray(4000), (z) => Math.exp(z / 2));
    // The fitted means track the true ones better than the overall mean does.
    const overall = amounts.subarray(0, 4000).reduce((a, b) => a + b, 0) / 4000;
    let errFit = 0;
    let errMean = 0;
    for (let r = 0; r < valid.rows; r++) {
      errFit += Math.abs(Math.log((twPred[r] as number) / (trueMean[r] as number)));
      errMean += Math.abs(Math.log(overall / (trueMean[r] as number)));
    }
    expect(errFit).toBeLessThan(0.7 * errMean);
  });
});

describe('trainGbdt determinism and losses', () => {
  const options: Partial<GbdtOptions> = { rounds: 25, maxDepth: 4, subsample: 0.8, colsampleByTree: 0.7, seed: 9, parallelMinRows: 0 };

  it('gives the same model for the same seed, another for another seed', async () => {
    const a = await trainGbdt(train, trainLabels, { ...options, threads: 1 });
    const b = await trainGbdt(train, trainLabels, { ...options, threads: 1 });
    const c = await trainGbdt(train, trainLabels, { ...options, threads: 1, seed: 10 });
    expect(JSON.stringify(ensembleToJson(b.model))).toBe(JSON.stringify(ensembleToJson(a.model)));
    expect(JSON.stringify(ensembleToJson(c.model))).not.toBe(JSON.stringify(ensembleToJson(a.model)));
  });

  it('gives the same model and losses whatever the number of threads', async () => {
    // 12,000 rows make three blocks of 4096 rows, so up to three shards.
    const big = syntheticTabular(15000, 8);
    const bigTrain = sliceRows(big.matrix, 0, 12000);
    const bigValid = { matrix: sliceRows(big.matrix, 12000, 15000), labels: big.labels.subarray(12000) };
    const fits = [];
    for (const threads of [1, 2, 3]) fits.push(await trainGbdt(bigTrain, big.labels.subarray(0, 12000), { ...options, rounds: 15, threads }, bigValid));
    expect(fits.map((f) => f.diagnostics.threads)).toEqual([1, 2, 3]);
    const [first, ...rest] = fits;
    for (const f of rest) {
      expect(JSON.stringify(ensembleToJson(f.model))).toBe(JSON.stringify(ensembleToJson(first?.model as never)));
      expect(f.diagnostics.trainLoss).toEqual(first?.diagnostics.trainLoss);
      expect(f.diagnostics.validLoss).toEqual(first?.diagnostics.validLoss);
      expect(Array.from(f.trainMargin)).toEqual(Array.from(first?.trainMargin ?? []));
    }
  });

  it('lowers the training loss every round (no subsampling)', async () => {
    const fit = await trainGbdt(train, trainLabels, { rounds: 40, maxDepth: 4 });
    const loss = fit.diagnostics.trainLoss;
    expect(loss).toHaveLength(40);
    expect(fit.diagnostics.lossName).toBe('logloss');
    for (let i = 1; i < loss.length; i++) expect(loss[i]).toBeLessThan(loss[i - 1] as number);
    // The last figure is the log-loss of the model's own predictions on the training rows.
    const p = predictGbdt(fit.model, train);
    let ll = 0;
    for (let r = 0; r < train.rows; r++) ll -= trainLabels[r] === 1 ? Math.log(p[r] as number) : Math.log(1 - (p[r] as number));
    expectClose(loss[loss.length - 1] as number, ll / train.rows, { rtol: 1e-9 }, 'final training log-loss');
  });

  it('reports the same loss for the training rows given again as validation rows, for every objective', async () => {
    const amounts = Float64Array.from(data.target.subarray(0, 4000), (v) => Math.exp(v / 2));
    for (const [objective, y] of [['logistic', trainLabels], ['squared', data.target.subarray(0, 4000)], ['tweedie', amounts]] as const) {
      const fit = await trainGbdt(train, y, { objective, rounds: 5, maxDepth: 3 }, { matrix: train, labels: y });
      fit.diagnostics.trainLoss.forEach((v, i) => expectClose(fit.diagnostics.validLoss[i] as number, v, { rtol: 1e-12 }, `${objective} loss, round ${i + 1}`));
    }
  });

  it('routes rows at prediction (tree.ts, raw thresholds) exactly as in training (bins)', async () => {
    const fit = await trainGbdt(train, trainLabels, { rounds: 30, subsample: 0.7, seed: 4 });
    const viaPredict = predictGbdtMargin(fit.model, train);
    for (let r = 0; r < train.rows; r++) {
      const m = treeMargin(fit.model, train, r);
      if (m !== fit.trainMargin[r] || m !== viaPredict[r]) expect({ row: r, tree: m, predict: viaPredict[r] }).toEqual({ row: r, tree: fit.trainMargin[r], predict: fit.trainMargin[r] });
    }
  });

  it('stops early on the validation loss and keeps the best round', async () => {
    // Deep trees and a high learning rate overfit 4000 rows quickly.
    const fit = await trainGbdt(train, trainLabels, { rounds: 300, maxDepth: 8, learningRate: 0.5, minChildWeight: 0, lambda: 0.1, earlyStoppingRounds: 10 }, { matrix: valid, labels: validLabels });
    const d = fit.diagnostics;
    expect(d.stoppedEarly).toBe(true);
    expect(d.rounds).toBe(d.bestRound + 10);
    expect(d.rounds).toBeLessThan(300);
    expect(fit.model.trees).toHaveLength(d.bestRound);
    expect(d.validLoss).toHaveLength(d.rounds);
    expect(Math.min(...d.validLoss)).toBe(d.validLoss[d.bestRound - 1]);
    expect(d.message).toMatch(/stopped after/);
    // The training margins are the kept model's.
    for (let r = 0; r < train.rows; r += 97) expect(treeMargin(fit.model, train, r)).toBe(fit.trainMargin[r]);
  });

  it('weights a row as its copies would', async () => {
    // Few distinct values, so the bins of the weighted and the expanded sets are the same.
    const n = 600;
    const rng = createRng(21);
    const x = Float64Array.from({ length: n }, () => Math.floor(rng.uniform() * 20));
    const z = Float64Array.from({ length: n }, () => Math.floor(rng.uniform() * 5));
    const y = Float64Array.from(x, (v, r) => (rng.uniform() < 1 / (1 + Math.exp(-(v - 10) / 3 - (z[r] as number) / 2)) ? 1 : 0));
    const w = Float64Array.from({ length: n }, () => 1 + Math.floor(rng.uniform() * 3));
    const expand = (a: Float64Array): Float64Array => Float64Array.from(Array.from(a).flatMap((v, r) => Array<number>(w[r] as number).fill(v)));
    const opts: Partial<GbdtOptions> = { rounds: 20, maxDepth: 3, minChildWeight: 0.5 };
    const weighted = await trainGbdt({ names: ['x', 'z'], columns: [x, z], rows: n }, y, { ...opts, weights: w });
    const expandedX = expand(x);
    const expanded = await trainGbdt({ names: ['x', 'z'], columns: [expandedX, expand(z)], rows: expandedX.length }, expand(y), opts);
    const grid = { names: ['x', 'z'], columns: [Float64Array.from({ length: 100 }, (_, i) => i % 20), Float64Array.from({ length: 100 }, (_, i) => Math.floor(i / 20))], rows: 100 };
    const a = predictGbdt(weighted.model, grid);
    const b = predictGbdt(expanded.model, grid);
    for (let i = 0; i < 100; i++) expectClose(a[i] as number, b[i] as number, { atol: 1e-7 }, `prediction ${i}`);
  });
});

describe('trainGbdt refuses what it cannot fit', () => {
  it('says which label is not finite or out of range', async () => {
    const bad = Float64Array.from(trainLabels);
    bad[17] = NaN;
    const e1 = await thrown(() => trainGbdt(train, bad));
    expect(e1.code).toBe('VALIDATION');
    expect(e1.message).toMatch(/row 17 is NaN/);
    bad[17] = 2;
    expect((await thrown(() => trainGbdt(train, bad))).message).toMatch(/row 17 is 2: a logistic label must be in \[0, 1\]/);
    const negative = Float64Array.from(trainLabels, (v) => v - 0.5);
    expect((await thrown(() => trainGbdt(train, negative, { objective: 'tweedie' }))).message).toMatch(/must not be negative/);
  });

  it('refuses a single class, bad options and a validation matrix without the training features', async () => {
    const e = await thrown(() => trainGbdt(train, new Float64Array(train.rows)));
    expect(e.code).toBe('INSUFFICIENT_DATA');
    expect(e.hint).toMatch(/both classes/);
    expect((await thrown(() => trainGbdt(train, trainLabels, { maxBins: 1000 }))).message).toMatch(/maxBins must be an integer from 2 to 256/);
    expect((await thrown(() => trainGbdt(train, trainLabels, { learningRate: 0 }))).message).toMatch(/learningRate/);
    const missing = { names: valid.names.slice(1), columns: valid.columns.slice(1), rows: valid.rows };
    expect((await thrown(() => trainGbdt(train, trainLabels, {}, { matrix: missing, labels: validLabels }))).message).toMatch(/no column "score"/);
    const empty = sliceRows(valid, 0, 0);
    expect((await thrown(() => trainGbdt(train, trainLabels, {}, { matrix: empty, labels: new Float64Array(0) }))).message).toMatch(/validation set has no rows/);
  });

  it('throws CONVERGENCE rather than report numbers that are not finite', async () => {
    // Labels of +-1e300: finite, but their squared errors overflow.
    const y = Float64Array.from({ length: train.rows }, (_, r) => (r % 2 ? 1e300 : -1e300));
    const e = await thrown(() => trainGbdt(train, y, { objective: 'squared', rounds: 5 }));
    expect(e.code).toBe('CONVERGENCE');
    expect(e.message).toMatch(/training loss is Infinity after round 1/);
    expect(e.hint).toMatch(/learningRate/);
  });
});

describe('ensembleToJson / ensembleFromJson', () => {
  it('round-trips a fitted model through JSON text with the same predictions', async () => {
    const fit = await trainGbdt(train, trainLabels, { rounds: 20 });
    const text = JSON.stringify(ensembleToJson(fit.model));
    const back = ensembleFromJson(JSON.parse(text));
    expect(Array.from(predictGbdt(back, valid))).toEqual(Array.from(predictGbdt(fit.model, valid)));
    expect(JSON.parse(text)).toMatchObject({ format: 'kairos-tree-ensemble', version: 1, objective: 'logistic' });
  });

  it('keeps infinite thresholds and refuses damaged records', () => {
    const model = {
      objective: 'squared' as const,
      baseMargin: 0.5,
      featureNames: ['a'],
      trees: [
        {
          feature: Int32Array.from([0, -1, -1]),
          threshold: Float64Array.from([Infinity, 0, 0]),
          missingLeft: Uint8Array.from([1, 0, 0]),
          left: Int32Array.from([1, -1, -1]),
          right: Int32Array.from([2, -1, -1]),
          value: Float64Array.from([0, -1, 1]),
          cover: Float64Array.from([2, 1, 1]),
        },
      ],
    };
    const back = ensembleFromJson(JSON.parse(JSON.stringify(ensembleToJson(model))));
    expect(back.trees[0]?.threshold[0]).toBe(Infinity);
    const json = ensembleToJson(model);
    expect(() => ensembleFromJson({ ...json, version: 99 })).toThrow(/version 99/);
    expect(() => ensembleFromJson({ ...json, trees: [{ ...json.trees[0], left: [0, -1, -1] }] })).toThrow(/node 0 has children 0 and 2/);
    expect(() => ensembleFromJson({ ...json, trees: [{ ...json.trees[0], value: [0, 'x', 1] }] })).toThrow(/value\[1\]/);
    expect(() => ensembleFromJson('model')).toThrow(KairosError);
  });
});
