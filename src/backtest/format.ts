// Number formatting for report text and tables: short, deterministic, and never hiding a difference.

/** `x` to `digits` significant digits ("0.912", "12.3"); whole numbers >= 10^digits with thousands separators; null as "n/a". */
export function formatNumber(x: number | null, digits = 3): string {
  if (x === null) return 'n/a';
  if (!Number.isFinite(x)) return String(x);
  if (Object.is(x, -0) || x === 0) return '0';
  if (Math.abs(x) >= 10 ** digits) return Math.round(x).toLocaleString('en-US');
  return String(Number(x.toPrecision(digits)));
}

/** Both numbers with the fewest significant digits (3 to 6) at which they read differently, if they differ. */
export function formatPair(a: number | null, b: number | null): [string, string] {
  let digits = 3;
  while (digits < 6 && a !== null && b !== null && a !== b && formatNumber(a, digits) === formatNumber(b, digits)) digits++;
  return [formatNumber(a, digits), formatNumber(b, digits)];
}

/** A share in [0, 1] as a percentage with one decimal at most ("12.5%", "40%"). */
export function formatPercent(share: number | null): string {
  if (share === null) return 'n/a';
  return `${String(Number((share * 100).toFixed(1)))}%`;
}

/** A whole count with thousands separators ("23,570"). */
export function formatCount(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

/** "39-week" or "100-day". */
export function holdoutLabel(days: number): string {
  if (Number.isInteger(days) && days % 7 === 0) return `${days / 7}-week`;
  return `${formatNumber(days)}-day`;
}
