// Stable JSON for the evaluation report: sorted keys and rounded numbers, so `--json` output diffs cleanly and golden tests hold.
import { KairosError } from '../../errors.js';
import type { EvaluationReport } from '../../backtest/types.js';

/** Significant digits kept for non-integer numbers in JSON output. */
export const JSON_SIGNIFICANT_DIGITS = 6;

/** `x` rounded to `digits` significant digits; integers are kept exact; −0 becomes 0. */
export function roundSignificant(x: number, digits = JSON_SIGNIFICANT_DIGITS): number {
  if (Number.isInteger(x)) return x === 0 ? 0 : x;
  const r = Number(x.toPrecision(digits));
  return r === 0 ? 0 : r;
}

function normalise(value: unknown, path: string): unknown {
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new KairosError('INTERNAL', `report JSON: ${path} is ${value}; use null for an undefined metric`);
    return roundSignificant(value);
  }
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value;
  if (Array.isArray(value)) return value.map((v, i) => normalise(v, `${path}[${i}]`));
  if (typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) {
      const v = (value as Record<string, unknown>)[key];
      if (v !== undefined) out[key] = normalise(v, `${path}.${key}`);
    }
    return out;
  }
  throw new KairosError('INTERNAL', `report JSON: ${path} is a ${typeof value}, which JSON cannot hold`);
}

/**
 * The report as stable JSON: object keys sorted, non-integer numbers rounded to 6 significant
 * digits, undefined properties left out, two-space indent, trailing newline. Throws KairosError
 * 'INTERNAL' on NaN or infinite numbers (an undefined metric must be `null`).
 */
export function renderReportJson(report: EvaluationReport): string {
  return `${JSON.stringify(normalise(report, 'report'), null, 2)}\n`;
}
