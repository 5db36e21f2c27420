// Formatting for people: money with its currency, dates in ISO, percentages, counts.

/** "EUR 1,234.50" (ISO code first: unambiguous in logs and exports). */
export function formatMoney(amount: number, currency: string): string {
  if (!Number.isFinite(amount)) return `${currency} n/a`;
  return `${currency} ${amount.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
}

/**
 * A probability for people: a rounded percentage, never an exponent nor "0.0%" for a chance that is not zero
 * ("< 0.01%", "0.37%", "86.4%", "> 99.99%"). Files and --json keep the full number.
 */
export function formatProbability(p: number): string {
  if (!Number.isFinite(p)) return 'n/a';
  if (p <= 0 || p >= 1) return `${Math.round(p * 100)}%`;
  if (p < 0.0001) return '< 0.01%';
  if (p > 0.9999) return '> 99.99%';
  return p < 0.01 || p > 0.99 ? `${(p * 100).toFixed(2)}%` : `${(p * 100).toFixed(1)}%`;
}

/** "12,345". */
export function formatCount(n: number): string {
  return Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : 'n/a';
}

/** Date part of an ISO timestamp or Date: "2024-03-05". */
export function isoDate(value: string | Date): string {
  return (typeof value === 'string' ? value : value.toISOString()).slice(0, 10);
}

/** Adds days to an ISO date. */
export function addDays(date: string, days: number): string {
  const d = new Date(`${date.slice(0, 10)}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}

/** A score value for people: up to 3 significant decimals, "n/a" when not finite. */
export function formatNumber(x: number): string {
  if (!Number.isFinite(x)) return 'n/a';
  return Number.isInteger(x) ? x.toLocaleString('en-US') : x.toLocaleString('en-US', { maximumSignificantDigits: 3 });
}

/** The file formats of the exports (json: one object per line, NDJSON), lightweight here for the CLI's help. */
export const EXPORT_FORMATS = ['csv', 'parquet', 'json'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];
