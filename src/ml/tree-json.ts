// Fitted tree ensembles to and from plain JSON (the model_fits table), with a format version.
import { KairosError } from '../errors.js';
import type { Ensemble, Objective, Tree } from './tree.js';

/** Version of the JSON layout below; bump it when the layout changes, and read the older ones. */
export const ENSEMBLE_JSON_VERSION = 1;

/** A tree as JSON: plain arrays. A threshold that is not finite is written as the string "Infinity" or "-Infinity". */
export interface TreeJson {
  readonly feature: number[];
  readonly threshold: (number | string)[];
  readonly missingLeft: number[];
  readonly left: number[];
  readonly right: number[];
  readonly value: number[];
  readonly cover: number[];
}

export interface EnsembleJson {
  readonly format: 'kairos-tree-ensemble';
  readonly version: number;
  readonly objective: Objective;
  readonly tweediePower?: number;
  readonly baseMargin: number;
  readonly featureNames: string[];
  readonly trees: TreeJson[];
}

/** The ensemble as a JSON-ready record (numbers survive JSON.stringify / JSON.parse exactly). */
export function ensembleToJson(model: Ensemble): EnsembleJson {
  return {
    format: 'kairos-tree-ensemble',
    version: ENSEMBLE_JSON_VERSION,
    objective: model.objective,
    ...(model.tweediePower === undefined ? {} : { tweediePower: model.tweediePower }),
    baseMargin: model.baseMargin,
    featureNames: [...model.featureNames],
    trees: model.trees.map((t) => ({
      feature: Array.from(t.feature),
      threshold: Array.from(t.threshold, (v) => (Number.isFinite(v) ? v : String(v))),
      missingLeft: Array.from(t.missingLeft),
      left: Array.from(t.left),
      right: Array.from(t.right),
      value: Array.from(t.value),
      cover: Array.from(t.cover),
    })),
  };
}

const OBJECTIVES: readonly Objective[] = ['logistic', 'squared', 'tweedie'];

/** Reads what ensembleToJson wrote (parsed JSON); throws a VALIDATION error naming the first broken fact. */
export function ensembleFromJson(json: unknown): Ensemble {
  const fail = (what: string): never => {
    throw new KairosError('VALIDATION', `tree ensemble JSON: ${what}`, { hint: 'the stored model may be damaged or from another program: fit it again' });
  };
  const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (!isRecord(json)) return fail('not an object');
  if (json.format !== 'kairos-tree-ensemble') fail(`format is ${JSON.stringify(json.format)}, not "kairos-tree-ensemble"`);
  if (json.version !== ENSEMBLE_JSON_VERSION) fail(`version ${JSON.stringify(json.version)} is not one this build reads (${ENSEMBLE_JSON_VERSION})`);
  const objective = json.objective as Objective;
  if (!OBJECTIVES.includes(objective)) fail(`unknown objective ${JSON.stringify(json.objective)}`);
  if (typeof json.baseMargin !== 'number' || !Number.isFinite(json.baseMargin)) fail('baseMargin is not a finite number');
  const names = json.featureNames;
  if (!Array.isArray(names) || !names.every((n) => typeof n === 'string')) return fail('featureNames is not a list of strings');
  if (json.tweediePower !== undefined && typeof json.tweediePower !== 'number') fail('tweediePower is not a number');
  if (!Array.isArray(json.trees)) return fail('trees is not a list');
  const trees = json.trees.map((t: unknown, k): Tree => {
    if (!isRecord(t)) return fail(`tree ${k} is not an object`);
    const numbers = (key: string, check: (v: number) => boolean): number[] => {
      const a = t[key];
      if (!Array.isArray(a)) return fail(`tree ${k}: ${key} is not a list`);
      return a.map((v: unknown, i) => {
        const x = key === 'threshold' && (v === 'Infinity' || v === '-Infinity') ? Number(v) : v;
        if (typeof x !== 'number' || !check(x)) return fail(`tree ${k}: ${key}[${i}] is ${JSON.stringify(v)}`);
        return x;
      });
    };
    const feature = numbers('feature', (v) => Number.isInteger(v) && v >= -1 && v < names.length);
    const size = feature.length;
    const index = (v: number): boolean => Number.isInteger(v) && v >= -1 && v < size;
    const tree: Tree = {
      feature: Int32Array.from(feature),
      threshold: Float64Array.from(numbers('threshold', (v) => !Number.isNaN(v))),
      missingLeft: Uint8Array.from(numbers('missingLeft', (v) => v === 0 || v === 1)),
      left: Int32Array.from(numbers('left', index)),
      right: Int32Array.from(numbers('right', index)),
      value: Float64Array.from(numbers('value', Number.isFinite)),
      cover: Float64Array.from(numbers('cover', Number.isFinite)),
    };
    for (const key of ['threshold', 'missingLeft', 'left', 'right', 'value', 'cover'] as const) {
      if (tree[key].length !== size) fail(`tree ${k}: ${key} has ${tree[key].length} entries for ${size} nodes`);
    }
    for (let i = 0; i < size; i++) {
      const l = tree.left[i] as number;
      const r = tree.right[i] as number;
      // Children come after their parent: no cycle, every walk ends at a leaf.
      if ((l < 0) !== (r < 0) || (l >= 0 && (l <= i || r <= i)) || (l >= 0 && (tree.feature[i] as number) < 0)) {
        fail(`tree ${k}: node ${i} has children ${l} and ${r}`);
      }
    }
    return tree;
  });
  return {
    objective,
    ...(typeof json.tweediePower === 'number' ? { tweediePower: json.tweediePower } : {}),
    baseMargin: json.baseMargin as number,
    featureNames: names as string[],
    trees,
  };
}
