// Per-customer reasons of a learned score in words: the features with the largest TreeSHAP contributions, said as a marketer would.
import { SNAPSHOT_FEATURES, type FeatureSpec } from '../../features/snapshots.js';
import { formatMoney } from '../../util/format.js';
import { PURCHASE_MODEL_FEATURES } from './train.js';

const SPECS = new Map<string, Pick<FeatureSpec, 'unit' | 'description'>>([
  ...SNAPSHOT_FEATURES.map((f) => [f.name, f] as const),
  ...PURCHASE_MODEL_FEATURES.map((f) => [f.name, f] as const),
]);

/** Reasons kept per customer and score. */
export const REASONS_KEPT = 3;

function amount(value: number, unit: string, currency: string): string {
  if (!Number.isFinite(value)) return 'none';
  switch (unit) {
    case 'money':
      return formatMoney(value, currency);
    case 'share':
    case 'probability':
      return `${Math.round(value * 100)}%`;
    case 'ratio':
      return `${value.toFixed(1)}x`;
    case 'flag':
      return value > 0 ? 'yes' : 'no';
    default:
      return Number.isInteger(value) ? String(value) : value.toFixed(1);
  }
}

/** One feature's value said in words, e.g. "days since the last purchase: 120". */
export function featureInWords(name: string, value: number, currency: string): string {
  const spec = SPECS.get(name);
  return spec ? `${spec.description}: ${amount(value, spec.unit, currency)}` : `${name.replace(/_/g, ' ')}: ${Number.isFinite(value) ? String(value) : 'unknown'}`;
}

/**
 * The reasons of one score, [feature, its value as stored, contribution], in words: each feature's value and whether it
 * raises or lowers the score (on the margin: log-odds for probabilities, log of the value for spend), largest first. A
 * categorical attribute's value is its level.
 */
export function reasonsInWords(reasons: readonly (readonly [string, string, number])[], currency: string): string[] {
  return [...reasons]
    .filter(([, , c]) => Number.isFinite(c) && c !== 0)
    .sort((a, b) => Math.abs(b[2]) - Math.abs(a[2]) || a[0].localeCompare(b[0]))
    .map(([name, value, c]) => {
      const said = SPECS.has(name) ? featureInWords(name, Number(value), currency) : `${name.replace(/^attr_/, '').replace(/_/g, ' ')}: ${value}`;
      return `${said} (${c > 0 ? 'raises' : 'lowers'} it)`;
    });
}
