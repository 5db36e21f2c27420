// Parameter records: checking that a model's parameters are present, finite and positive.
import { KairosError } from '../errors.js';
import { validateHorizon } from './transaction-summary.js';
import type { ModelParams, ScoreOptions } from './types.js';

/** Checks params has exactly the model's names, each a finite number > 0; returns a frozen copy. */
export function parseParams<P extends ModelParams>(model: string, names: readonly string[], value: unknown): P {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new KairosError('VALIDATION', `${model}: parameters must be an object with ${names.join(', ')}`);
  }
  const record = value as Record<string, unknown>;
  const out: Record<string, number> = {};
  for (const name of names) {
    const v = record[name];
    if (typeof v !== 'number' || !(v > 0) || !Number.isFinite(v)) {
      throw new KairosError('VALIDATION', `${model}: parameter ${name} must be a finite number > 0 (got ${String(v)})`);
    }
    out[name] = v;
  }
  for (const key of Object.keys(record)) {
    if (!names.includes(key)) {
      throw new KairosError('VALIDATION', `${model}: unknown parameter "${key}" (expected ${names.join(', ')})`);
    }
  }
  return Object.freeze(out) as unknown as P;
}

/** Throws VALIDATION unless every named parameter is a finite number > 0 (the prediction functions' guard). */
export function checkParams(model: string, names: readonly string[], params: ModelParams): void {
  for (const name of names) {
    const v = params[name];
    if (typeof v !== 'number' || !(v > 0) || !Number.isFinite(v)) {
      throw new KairosError('VALIDATION', `${model}: parameter ${name} must be a finite number > 0 (got ${String(v)})`);
    }
  }
}

/** Checks a P(alive) threshold lies strictly between 0 and 1. */
export function checkThreshold(threshold: number): void {
  if (!(threshold > 0 && threshold < 1)) {
    throw new KairosError('VALIDATION', `threshold must be strictly between 0 and 1 (got ${threshold})`);
  }
}

/** Checks the options of scoreCustomers: finite horizons >= 0, one coefficient per CLV horizon, a threshold in (0, 1). */
export function checkScoreOptions(options: ScoreOptions): void {
  validateHorizon(options.expectedHorizon, 'expectedHorizon');
  validateHorizon(options.conversionHorizon, 'conversionHorizon');
  for (const t of options.clvHorizons) validateHorizon(t, 'horizon');
  if (options.clvCoefficients.length !== options.clvHorizons.length) {
    throw new KairosError(
      'VALIDATION',
      `coefficients (${options.clvCoefficients.length}) and horizons (${options.clvHorizons.length}) differ in length`,
    );
  }
  checkThreshold(options.decisiveThreshold);
}
