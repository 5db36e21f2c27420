// XGBoost (Debian's python3-xgboost under /usr/bin/python3) as a reference for the boosted-tree learner: never a runtime dependency.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FeatureMatrix } from '../ml/matrix.js';
import { projectRoot } from './shared-data.js';

/** Debian's Python, not a pyenv one on PATH: python3-xgboost and python3-numpy install there. */
export const SYSTEM_PYTHON = '/usr/bin/python3';
const SCRIPT = join(projectRoot, 'src/ml/__fixtures__/xgboost_reference.py');

/** Whether /usr/bin/python3 can import xgboost and numpy. */
export function xgboostAvailable(): boolean {
  return spawnSync(SYSTEM_PYTHON, ['-c', 'import xgboost, numpy'], { stdio: 'ignore' }).status === 0;
}

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
