// Fitted models as versioned JSON: { model, version, params, fittedAt, dataHash, diagnostics }, and its validated parse.
import { KairosError } from '../errors.js';
import { parseParams as parseGammaGammaParams } from './gamma-gamma/index.js';
import { TRANSACTION_MODEL_NAMES, getTransactionModel } from './registry.js';
import type {
  BgNbdParams,
  FitDiagnostics,
  FitResult,
  GammaGammaParams,
  MbgNbdParams,
  ModelName,
  ModelParams,
  ParetoNbdParams,
} from './types.js';

/** Format version of serialised fits; bump when the shape changes, and keep parsing the old ones. */
export const FIT_FORMAT_VERSION = 1;

/** A persisted fit. */
export interface StoredFit<M extends ModelName = ModelName, P extends ModelParams = ModelParams> {
  readonly model: M;
  readonly version: typeof FIT_FORMAT_VERSION;
  readonly params: P;
  /** ISO-8601 time of the fit. */
  readonly fittedAt: string;
  /** Hash of the data the model was fitted on (computed by the caller). */
  readonly dataHash: string;
  readonly diagnostics: FitDiagnostics<P>;
}

/** Any persisted fit, discriminated by model. */
export type AnyStoredFit =
  | StoredFit<'bg-nbd', BgNbdParams>
  | StoredFit<'pareto-nbd', ParetoNbdParams>
  | StoredFit<'mbg-nbd', MbgNbdParams>
  | StoredFit<'gamma-gamma', GammaGammaParams>;

const MODEL_NAMES: readonly ModelName[] = [...TRANSACTION_MODEL_NAMES, 'gamma-gamma'];

/** The JSON text of a fit. Numbers are written as JSON numbers (fits never hold NaN or ±Infinity). */
export function serializeFit(
  model: ModelName,
  fit: FitResult,
  options: { dataHash: string; fittedAt?: Date },
): string {
  const stored: StoredFit = {
    model,
    version: FIT_FORMAT_VERSION,
    params: { ...fit.params },
    fittedAt: (options.fittedAt ?? new Date()).toISOString(),
    dataHash: options.dataHash,
    diagnostics: { ...fit.diagnostics, standardErrors: { ...fit.diagnostics.standardErrors } },
  };
  // Round-trip through the parser so that nothing invalid is ever written.
  const text = JSON.stringify(stored);
  parseFit(text);
  return text;
}

function fail(message: string): never {
  throw new KairosError('VALIDATION', `invalid stored fit: ${message}`);
}

function finiteNumber(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) fail(`${what} must be a finite number (got ${JSON.stringify(value)})`);
  return value;
}

function parseParamsFor(model: ModelName, value: unknown): ModelParams {
  try {
    return model === 'gamma-gamma' ? parseGammaGammaParams(value) : getTransactionModel(model).parseParams(value);
  } catch (err) {
    if (err instanceof KairosError) fail(err.message);
    throw err;
  }
}

/** Parses and validates the JSON of a stored fit (text or already-parsed value). Throws KairosError('VALIDATION'). */
export function parseFit(json: string | unknown): AnyStoredFit {
  let value: unknown = json;
  if (typeof json === 'string') {
    try {
      value = JSON.parse(json);
    } catch (err) {
      fail(`not JSON (${(err as Error).message})`);
    }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail('expected a JSON object');
  const o = value as Record<string, unknown>;
  const model = o.model;
  if (typeof model !== 'string' || !(MODEL_NAMES as readonly string[]).includes(model)) {
    fail(`model must be one of ${MODEL_NAMES.join(', ')} (got ${JSON.stringify(model)})`);
  }
  const name = model as ModelName;
  if (o.version !== FIT_FORMAT_VERSION) fail(`unsupported version ${JSON.stringify(o.version)} (expected ${FIT_FORMAT_VERSION})`);
  const params = parseParamsFor(name, o.params);
  if (typeof o.fittedAt !== 'string' || Number.isNaN(Date.parse(o.fittedAt))) fail('fittedAt must be an ISO-8601 date string');
  if (typeof o.dataHash !== 'string' || o.dataHash.length === 0) fail('dataHash must be a non-empty string');
  const d = o.diagnostics;
  if (typeof d !== 'object' || d === null || Array.isArray(d)) fail('diagnostics must be an object');
  const diag = d as Record<string, unknown>;
  if (typeof diag.converged !== 'boolean') fail('diagnostics.converged must be a boolean');
  if (typeof diag.message !== 'string') fail('diagnostics.message must be a string');
  const iterations = finiteNumber(diag.iterations, 'diagnostics.iterations');
  const se = diag.standardErrors;
  if (typeof se !== 'object' || se === null || Array.isArray(se)) fail('diagnostics.standardErrors must be an object');
  const standardErrors: Record<string, number> = {};
  for (const key of Object.keys(params)) {
    const v = finiteNumber((se as Record<string, unknown>)[key], `diagnostics.standardErrors.${key}`);
    if (v < 0) fail(`diagnostics.standardErrors.${key} must be >= 0`);
    standardErrors[key] = v;
  }
  const diagnostics: FitDiagnostics = {
    logLik: finiteNumber(diag.logLik, 'diagnostics.logLik'),
    converged: diag.converged,
    iterations,
    gradNorm: finiteNumber(diag.gradNorm, 'diagnostics.gradNorm'),
    standardErrors,
    message: diag.message,
    nObs: finiteNumber(diag.nObs, 'diagnostics.nObs'),
    penalty: finiteNumber(diag.penalty, 'diagnostics.penalty'),
  };
  return {
    model: name,
    version: FIT_FORMAT_VERSION,
    params,
    fittedAt: o.fittedAt,
    dataHash: o.dataHash,
    diagnostics,
  } as AnyStoredFit;
}

/** The FitResult inside a stored fit. */
export function storedFitResult<P extends ModelParams>(stored: StoredFit<ModelName, P>): FitResult<P> {
  return { params: stored.params, diagnostics: stored.diagnostics };
}
