// Time for the demo data: ISO dates, fast UTC timestamp formatting, the promotion calendar, acquisition seasonality and time of day.
import { KairosError } from '../errors.js';

const DAY_MS = 86_400_000;

/** Parses `YYYY-MM-DD` to whole days since 1970-01-01 (UTC); throws USAGE on anything else. */
export function parseIsoDay(value: string, what: string): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  const ms = m === null ? NaN : Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  if (!Number.isFinite(ms) || new Date(ms).toISOString().slice(0, 10) !== value) {
    throw new KairosError('USAGE', `${what} "${value}" is not a date of the form YYYY-MM-DD`, { details: { [what]: value } });
  }
  return ms / DAY_MS;
}

/** `YYYY-MM-DD` of an epoch day. */
export function isoDay(epochDay: number): string {
  return new Date(epochDay * DAY_MS).toISOString().slice(0, 10);
}

const TWO_DIGITS: readonly string[] = Array.from({ length: 60 }, (_, i) => String(i).padStart(2, '0'));

/** Formats times given in days since an origin day as `YYYY-MM-DDTHH:MM:SSZ` (UTC, whole seconds), from a table of day strings. */
export class Clock {
  private readonly days: string[];

  /** `originDay` is an epoch day; times from `0` to `spanDays` (exclusive) can be formatted. */
  constructor(readonly originDay: number, readonly spanDays: number) {
    this.days = Array.from({ length: spanDays }, (_, d) => isoDay(originDay + d));
  }

  /** `YYYY-MM-DD` of the day containing time t. */
  date(t: number): string {
    return this.dayString(Math.floor(t));
  }

  /** `YYYY-MM-DDTHH:MM:SSZ` of time t (seconds truncated, after a 0.1 ms allowance for floating-point error; never past the day). */
  timestamp(t: number): string {
    const d = Math.floor(t);
    let s = Math.floor((t - d) * 86_400 + 1e-4);
    if (s > 86_399) s = 86_399;
    const hh = Math.floor(s / 3600);
    const mm = Math.floor((s - hh * 3600) / 60);
    return `${this.dayString(d)}T${TWO_DIGITS[hh]}:${TWO_DIGITS[mm]}:${TWO_DIGITS[s - hh * 3600 - mm * 60]}Z`;
  }

  private dayString(d: number): string {
    const s = this.days[d];
    if (s === undefined) throw new KairosError('INTERNAL', `day ${d} is outside the clock's ${this.spanDays} days`);
    return s;
  }
}

/** One promotion period: days [startDay, endDay) counted from the calendar's origin. */
export interface PromoPeriod {
  readonly id: string;
  readonly name: string;
  readonly startDay: number;
  readonly endDay: number;
  /** Share of the list price taken off eligible lines, e.g. 0.2. */
  readonly discount: number;
}

/** The yearly promotions, as [id, name, month (1-12), first day of month, length in days, discount]; Black Friday is computed. */
const YEARLY_PROMOS: readonly (readonly [string, string, number, number, number, number])[] = [
  ['winter-sale', 'Winter sale', 1, 2, 11, 0.2],
  ['spring-sale', 'Spring sale', 3, 15, 5, 0.15],
  ['summer-sale', 'Summer sale', 7, 1, 12, 0.25],
  ['singles-day', "Singles' day", 11, 11, 1, 0.15],
  ['christmas', 'Christmas week', 12, 12, 4, 0.1],
];

/** Black Friday week: the Thursday before Black Friday (day after the 4th Thursday of November) to Cyber Monday, 5 days. */
function blackFridayStart(year: number): number {
  const nov1 = Date.UTC(year, 10, 1) / DAY_MS;
  const weekday = new Date(nov1 * DAY_MS).getUTCDay(); // 0 = Sunday, 4 = Thursday
  const firstThursday = nov1 + ((4 - weekday + 7) % 7);
  return firstThursday + 21; // 4th Thursday (Thanksgiving); the week runs Thu..Mon
}

/** Promotion calendar over days [0, spanDays) from an origin epoch day; ~10% of days are promo days. */
export class PromoCalendar {
  readonly periods: readonly PromoPeriod[];
  /** Per day: index into `periods`, or -1 when no promotion runs. */
  readonly periodOfDay: Int16Array;
  /** Per day d: number of promo days in [0, d). */
  private readonly promoDaysBefore: Float64Array;

  constructor(readonly originDay: number, readonly spanDays: number) {
    const firstYear = new Date(originDay * DAY_MS).getUTCFullYear();
    const lastYear = new Date((originDay + spanDays) * DAY_MS).getUTCFullYear();
    const periods: PromoPeriod[] = [];
    for (let y = firstYear; y <= lastYear; y++) {
      const yearly = YEARLY_PROMOS.map(([id, name, month, day, length, discount]) => ({
        id, name, start: Date.UTC(y, month - 1, day) / DAY_MS, length, discount,
      }));
      yearly.push({ id: 'black-friday', name: 'Black Friday week', start: blackFridayStart(y), length: 5, discount: 0.25 });
      yearly.sort((p, q) => p.start - q.start);
      for (const p of yearly) {
        const startDay = p.start - originDay;
        const endDay = startDay + p.length;
        if (endDay <= 0 || startDay >= spanDays) continue;
        periods.push({ id: `${p.id}-${y}`, name: `${p.name} ${y}`, startDay, endDay, discount: p.discount });
      }
    }
    this.periods = periods;
    this.periodOfDay = new Int16Array(spanDays).fill(-1);
    periods.forEach((p, i) => {
      for (let d = Math.max(0, p.startDay); d < Math.min(spanDays, p.endDay); d++) this.periodOfDay[d] = i;
    });
    this.promoDaysBefore = new Float64Array(spanDays + 1);
    for (let d = 0; d < spanDays; d++) {
      this.promoDaysBefore[d + 1] = (this.promoDaysBefore[d] ?? 0) + ((this.periodOfDay[d] ?? -1) >= 0 ? 1 : 0);
    }
  }

  /** Whether a promotion runs at time t (days from the origin). */
  isPromo(t: number): boolean {
    return (this.periodOfDay[Math.floor(t)] ?? -1) >= 0;
  }

  /** The promotion running at time t, if any. */
  periodAt(t: number): PromoPeriod | undefined {
    const i = this.periodOfDay[Math.floor(t)] ?? -1;
    return i >= 0 ? this.periods[i] : undefined;
  }

  /** Promo time (in days, fractional at the ends) inside [t0, t1). */
  promoDaysBetween(t0: number, t1: number): number {
    return t1 <= t0 ? 0 : this.promoTimeBefore(t1) - this.promoTimeBefore(t0);
  }

  private promoTimeBefore(t: number): number {
    if (t <= 0) return 0;
    if (t >= this.spanDays) return this.promoDaysBefore[this.spanDays] ?? 0;
    const d = Math.floor(t);
    return (this.promoDaysBefore[d] ?? 0) + ((this.periodOfDay[d] ?? -1) >= 0 ? t - d : 0);
  }
}

/** Share of orders per UTC hour for a European web shop: quiet nights, an evening peak. */
const HOURLY_WEIGHTS: readonly number[] = [
  1.0, 0.6, 0.4, 0.3, 0.3, 0.4, 0.8, 1.5, 2.5, 3.0, 3.2, 3.4, 3.6, 3.4, 3.3, 3.3, 3.5, 4.0, 4.8, 5.5, 5.8, 5.0, 3.5, 2.0,
];
const HOURLY_CDF: Float64Array = (() => {
  const total = HOURLY_WEIGHTS.reduce((s, w) => s + w, 0);
  const cdf = new Float64Array(25);
  for (let h = 0; h < 24; h++) cdf[h + 1] = (cdf[h] ?? 0) + (HOURLY_WEIGHTS[h] ?? 0) / total;
  cdf[24] = 1;
  return cdf;
})();

/**
 * Maps a uniform time within a day to a realistic time of day, monotonically (so order is kept):
 * `floor(t) + timeOfDay(t - floor(t))` keeps every event on the day the process put it on.
 */
export function timeOfDay(u: number): number {
  let h = 0;
  while (h < 23 && u >= (HOURLY_CDF[h + 1] ?? 1)) h++;
  const lo = HOURLY_CDF[h] ?? 0;
  const hi = HOURLY_CDF[h + 1] ?? 1;
  return (h + (u - lo) / (hi - lo)) / 24;
}

/** Moves a process time onto a realistic hour of the same day. */
export function onShopHours(t: number): number {
  const d = Math.floor(t);
  return d + timeOfDay(t - d);
}

/**
 * Relative acquisition intensity of each day in [0, days): a yearly wave peaking in winter, +40% in
 * November-December, +60% on promo days, slightly fewer sign-ups at weekends.
 */
export function acquisitionWeights(originDay: number, days: number, promos: PromoCalendar): Float64Array {
  const w = new Float64Array(days);
  for (let d = 0; d < days; d++) {
    const date = new Date((originDay + d) * DAY_MS);
    const month = date.getUTCMonth();
    const dayOfYear = (Date.UTC(date.getUTCFullYear(), month, date.getUTCDate()) - Date.UTC(date.getUTCFullYear(), 0, 1)) / DAY_MS;
    const weekday = date.getUTCDay();
    let x = 1 + 0.2 * Math.cos((2 * Math.PI * (dayOfYear - 20)) / 365.25);
    if (month >= 10) x *= 1.4;
    if (promos.isPromo(d)) x *= 1.6;
    if (weekday === 0 || weekday === 6) x *= 0.9;
    w[d] = x;
  }
  return w;
}
