// Formatting for people: money with its currency, dates in ISO, percentages, counts.

// Made once: toLocaleString with options makes a formatter at every call (some 50 us; kairos serve explains a
// customer with a dozen amounts).
const MONEY = new Intl.NumberFormat('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
const COUNT = new Intl.NumberFormat('en-US');
const SIGNIFICANT = new Intl.NumberFormat('en-US', { maximumSignificantDigits: 3 });

/** "EUR 1,234.50" (ISO code first: unambiguous in logs and exports). */
export function formatMoney(amount: number, currency: string): string {
  if (!Number.isFinite(amount)) return `${currency} n/a`;
  return `${currency} ${MONEY.format(amount)}`;
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
  return Number.isFinite(n) ? COUNT.format(Math.round(n)) : 'n/a';
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
  return Number.isInteger(x) ? COUNT.format(x) : SIGNIFICANT.format(x);
}

/** The file formats of the exports (json: one object per line, NDJSON), lightweight here for the CLI's help. */
export const EXPORT_FORMATS = ['csv', 'parquet', 'json'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];
