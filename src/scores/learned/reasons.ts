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

/** One feature's value said in words, e.g. "days since the last purchase: 120". Categorical codes show their level. */
export function featureInWords(name: string, value: number, currency: string, levels?: readonly string[]): string {
  const spec = SPECS.get(name);
  if (!spec) {
    const level = levels && Number.isInteger(value) ? levels[value - 1] : undefined;
    const label = name.replace(/^attr_/, '').replace(/_/g, ' ');
    return `${label}: ${level ?? (Number.isFinite(value) ? String(value) : 'unknown')}`;
  }
  return `${spec.description}: ${amount(value, spec.unit, currency)}`;
}

/**
 * The reasons of one score: each feature's value in words and whether it raises or lowers the score (on the margin:
 * log-odds for probabilities, log of the value for spend), largest first.
 */
export function reasonsInWords(
  contributions: ReadonlyMap<string, number> | Readonly<Record<string, number>>,
  values: ReadonlyMap<string, number> | Readonly<Record<string, number>>,
  currency: string,
  levels: Readonly<Record<string, readonly string[]>> = {},
): string[] {
  const entries = contributions instanceof Map ? [...contributions.entries()] : Object.entries(contributions);
  const get = (name: string): number => {
    const v = values instanceof Map ? values.get(name) : (values as Record<string, number>)[name];
    return v === undefined || v === null ? Number.NaN : Number(v);
  };
  return entries
    .filter(([, c]) => Number.isFinite(c) && c !== 0)
    .sort((a, b) => Math.abs(b[1]) - Math.abs(a[1]) || a[0].localeCompare(b[0]))
    .map(([key, c]) => {
      // A categorical reason names its level in its key: "attr_channel=paid_social".
      const eq = key.indexOf('=');
      const said = eq > 0 ? `${key.slice(0, eq).replace(/^attr_/, '').replace(/_/g, ' ')}: ${key.slice(eq + 1)}` : featureInWords(key, get(key), currency, levels[key]);
      return `${said} (${c > 0 ? 'raises' : 'lowers'} it)`;
    });
}
