// Audiences by promotion appetence combined with other stored scores (an allow-list of columns, bound values), with the margin an average discount would give away.
import { KairosError } from '../../errors.js';
import { quoteIdentifier, type SqlValue, type Store } from '../../store/db.js';
import { formatMoney } from '../../util/format.js';
import type { ScoreRegistry } from '../registry.js';
import { storedResults } from '../results.js';
import { PROMO_LABELS } from './appetence.js';

/** Comparison operators of a score filter. */
export const FILTER_OPERATORS = ['>=', '<=', '!=', '=', '>', '<'] as const;
export type FilterOperator = (typeof FILTER_OPERATORS)[number];

/** One condition on a column of customer_scores: `clv_12m>=500`, `engagement_label=cooling`. */
export interface ScoreFilter {
  readonly column: string;
  readonly op: FilterOperator;
  readonly value: string | number;
}

/** The margin an average discount gives away: a share of the expected spend, or money off each expected purchase. */
export type AverageDiscount = { readonly share: number } | { readonly money: number };

/** Days of expected spend the margin is counted on: the purchase model's expected purchases horizon. */
export const MARGIN_DAYS = 90;

/** Defaults of the promotion audience, in one place. */
export const PROMOTION_AUDIENCE_DEFAULTS = { top: 5000 } as const;

/** The columns a filter may name: the registry's score columns holding a number or text (no lists, maps or dates). */
function filterable(registry: ScoreRegistry): Map<string, 'number' | 'text'> {
  const out = new Map<string, 'number' | 'text'>();
  for (const [name, c] of registry.columns) {
    if (c.type === 'number' || c.type === 'integer') out.set(name, 'number');
    else if (c.type === 'text') out.set(name, 'text');
  }
  return out;
}

/**
 * Parses `COLUMN OP VALUE` (OP one of >=, <=, !=, =, >, <), checking the column against the registry's score columns
 * and the value against the column's type. A USAGE error names what is wrong and what is allowed.
 */
export function parseScoreFilter(text: string, registry: ScoreRegistry): ScoreFilter {
  const m = /^\s*([a-z][a-z0-9_]*)\s*(>=|<=|!=|=|>|<)\s*(.*?)\s*$/.exec(text);
  if (!m) throw new KairosError('USAGE', `--where "${text}": expected COLUMN OP VALUE, e.g. clv_12m>=500 or engagement_label=cooling (OP: ${FILTER_OPERATORS.join(' ')})`);
  const [, column, op, raw] = m as unknown as [string, string, FilterOperator, string];
  const kinds = filterable(registry);
  const kind = kinds.get(column);
  if (kind === undefined) {
    throw new KairosError('USAGE', `--where "${text}": "${column}" is not a score column with a number or text (expected one of ${[...kinds.keys()].join(', ')})`);
  }
  if (raw === '') throw new KairosError('USAGE', `--where "${text}": no value after ${op}`);
  if (kind === 'number') {
    const v = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/.test(raw) ? Number(raw) : Number.NaN;
    if (!Number.isFinite(v)) throw new KairosError('USAGE', `--where "${text}": ${column} is a number, got "${raw}"`);
    return { column, op, value: v };
  }
  if (op !== '=' && op !== '!=') throw new KairosError('USAGE', `--where "${text}": ${column} is text: compare it with = or !=`);
  return { column, op, value: raw };
}

/**
 * Parses an average discount: a share of the spend (`0.15`, or `15%`), or money off each purchase (`5EUR`, `5 EUR`,
 * in the store's currency). A USAGE error otherwise.
 */
export function parseAverageDiscount(text: string, currency: string): AverageDiscount {
  const t = text.trim();
  const pct = /^(\d+(\.\d*)?|\.\d+)\s*%$/.exec(t);
  if (pct) {
    const share = Number(pct[1]) / 100;
    if (share > 0 && share < 1) return { share };
  }
  if (/^(\d+(\.\d*)?|\.\d+)$/.test(t)) {
    const share = Number(t);
    if (share > 0 && share < 1) return { share };
  }
  const money = new RegExp(`^(\\d+(\\.\\d*)?|\\.\\d+)\\s*${currency}$`, 'i').exec(t);
  if (money && Number(money[1]) > 0) return { money: Number(money[1]) };
  throw new KairosError('USAGE', `--average-discount "${text}": expected a share of the spend between 0 and 1 (0.15 or 15%) or money off each purchase in ${currency} (e.g. 5${currency})`);
}

export interface PromotionAudienceOptions {
  /** Keep these appetence labels (any of them). */
  readonly appetence?: readonly string[];
  /** Leave out these appetence labels. */
  readonly excludeAppetence?: readonly string[];
  /** Other conditions, all of which must hold. */
  readonly where?: readonly ScoreFilter[];
  readonly top?: number;
  readonly averageDiscount?: AverageDiscount;
  readonly currency: string;
  readonly registry: ScoreRegistry;
}

export interface PromotionAudienceRow {
  readonly customer_id: string;
  readonly email: string | null;
  readonly promo_appetence: number | null;
  readonly promo_label: string | null;
  /** Expected purchases in the next 90 days × expected spend per purchase (purchase model); null without them. */
  readonly expected_spend_90d: number | null;
  /** What the average discount gives away on that spend; null without a discount or an expected spend. */
  readonly expected_discount_90d: number | null;
  readonly rank: number;
}

export interface PromotionAudience {
  /** The conditions in words, e.g. `promo_label in (full-price) and clv_12m >= 500`. */
  readonly conditions: string;
  readonly runId: number;
  readonly asOf: string;
  readonly rows: readonly PromotionAudienceRow[];
  readonly size: number;
  readonly expectedSpend: number | null;
  readonly averageDiscount: AverageDiscount | null;
  /** Sum of expected_discount_90d: the margin the discount would give away on the audience, in the store's currency. */
  readonly marginGivenAway: number | null;
  readonly notes: readonly string[];
}

/** Checks labels against PROMO_LABELS. */
function checkLabels(labels: readonly string[], option: string): void {
  for (const l of labels) {
    if (!(PROMO_LABELS as readonly string[]).includes(l)) throw new KairosError('USAGE', `${option}: invalid appetence label "${l}" (expected one of ${PROMO_LABELS.join(', ')})`);
  }
}

/** The WHERE clause of the filters over customer_scores, with $-placeholders from `first`, and the values to bind. */
export function filterSql(filters: readonly ScoreFilter[], first: number): { sql: string; params: SqlValue[] } {
  const params: SqlValue[] = [];
  const parts = filters.map((f) => {
    params.push(f.value);
    const p = `$${first + params.length - 1}`;
    const col = quoteIdentifier(f.column);
    // != keeps customers without a value out, as every other comparison does: a condition holds only on known values.
    return f.op === '!=' ? `(${col} IS NOT NULL AND ${col} <> ${p})` : `${col} ${f.op} ${p}`;
  });
  return { sql: parts.length ? parts.join(' AND ') : 'true', params };
}

/**
 * The customers of the published scores whose appetence label is among `appetence` (and not among `excludeAppetence`)
 * and who meet every `where` condition, by appetence (highest first, ties by id), at most `top`. With an average
 * discount, each row carries what it would give away on the customer's expected spend of the next 90 days
 * (expected_purchases_90d × expected_order_value of the purchase model, or × the money off each purchase), and the
 * audience its sum. Labels are checked; columns come only from the registry's allow-list; values are bound.
 */
export async function buildPromotionAudience(store: Store, o: PromotionAudienceOptions): Promise<PromotionAudience> {
  const top = o.top ?? PROMOTION_AUDIENCE_DEFAULTS.top;
  if (!(Number.isInteger(top) && top >= 1)) throw new KairosError('USAGE', `--top must be a whole number of 1 or more, got ${top}`);
  checkLabels(o.appetence ?? [], '--appetence');
  checkLabels(o.excludeAppetence ?? [], '--exclude-appetence');
  const stored = await storedResults(store, o.registry);
  const promotion = stored.get('promotion');
  if (!promotion) throw new KairosError('NOT_FOUND', 'no promotion appetence stored', { hint: 'run kairos score (the promotion scorer needs order lines with a discount)' });
  const filters: ScoreFilter[] = [...(o.where ?? [])];
  const words: string[] = [];
  const labelParams: SqlValue[] = [];
  const labelParts: string[] = [];
  // Each label a bound value; Array.push returns the new length, the placeholder's number.
  if (o.appetence?.length) {
    labelParts.push(`promo_label IN (${o.appetence.map((l) => `$${labelParams.push(l)}`).join(', ')})`);
    words.push(`promo_label in (${o.appetence.join(', ')})`);
  }
  if (o.excludeAppetence?.length) {
    labelParts.push(`promo_label IS NOT NULL AND promo_label NOT IN (${o.excludeAppetence.map((l) => `$${labelParams.push(l)}`).join(', ')})`);
    words.push(`promo_label not in (${o.excludeAppetence.join(', ')})`);
  }
  for (const f of filters) words.push(`${f.column} ${f.op} ${f.value}`);
  const where = filterSql(filters, labelParams.length + 1);
  const params: SqlValue[] = [...labelParams, ...where.params];
  const discount = o.averageDiscount ?? null;
  const share = discount !== null && 'share' in discount ? discount.share : null;
  const money = discount !== null && 'money' in discount ? discount.money : null;
  const n = params.length;
  const rows = await store.all<Omit<PromotionAudienceRow, 'rank'>>(
    `WITH a AS (
       SELECT customer_id, email, promo_appetence, promo_label,
         CASE WHEN expected_purchases_90d IS NOT NULL AND expected_order_value IS NOT NULL THEN round(expected_purchases_90d * expected_order_value, 2) END AS expected_spend_90d,
         expected_purchases_90d
       FROM customer_scores
       WHERE run_id IS NOT NULL AND ${labelParts.length ? labelParts.join(' AND ') : 'true'} AND ${where.sql})
     SELECT customer_id, email, promo_appetence, promo_label, expected_spend_90d,
       CASE WHEN $${n + 1}::DOUBLE IS NOT NULL THEN round(expected_spend_90d * $${n + 1}, 2)
            WHEN $${n + 2}::DOUBLE IS NOT NULL THEN round(expected_purchases_90d * $${n + 2}, 2) END AS expected_discount_90d
     FROM a ORDER BY promo_appetence DESC NULLS LAST, customer_id LIMIT $${n + 3}`,
    [...params, share, money, top],
  );
  const ranked = rows.map((r, k) => ({ ...r, email: r.email ?? null, rank: k + 1 }));
  const sum = (k: 'expected_spend_90d' | 'expected_discount_90d'): number | null => {
    const known = ranked.filter((r) => r[k] !== null);
    return known.length ? Math.round(100 * known.reduce((a, r) => a + (r[k] as number), 0)) / 100 : null;
  };
  const notes: string[] = [];
  const scored = Number(await store.value('SELECT count(promo_appetence) FROM customer_scores WHERE run_id IS NOT NULL'));
  if (scored === 0) notes.push(`the published promotion run ${promotion.runId} has no appetence score (no discount data: see its notes in kairos runs): empty labels`);
  if (ranked.length === 0) notes.push(`no customer meets ${words.join(' and ') || 'the conditions'}: empty audience`);
  const missingSpend = ranked.filter((r) => r.expected_spend_90d === null).length;
  if (discount !== null && missingSpend > 0) {
    notes.push(`${missingSpend} of the ${ranked.length} customers have no expected spend (no purchase-model score: kairos score runs the clv scorer): not in the margin`);
  }
  return {
    conditions: words.join(' and ') || 'every scored customer',
    runId: promotion.runId,
    asOf: promotion.asOf,
    rows: ranked,
    size: ranked.length,
    expectedSpend: sum('expected_spend_90d'),
    averageDiscount: discount,
    marginGivenAway: discount === null ? null : sum('expected_discount_90d'),
    notes,
  };
}

/** A CSV field: quoted when it holds a comma, a quote or a line break. */
function csvField(v: unknown): string {
  const s = v === null || v === undefined ? '' : String(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** The audience as CSV: customer_id, email, promo_appetence, promo_label, expected_spend_90d, expected_discount_90d, rank. */
export function promotionAudienceCsv(a: PromotionAudience): string {
  const header = 'customer_id,email,promo_appetence,promo_label,expected_spend_90d,expected_discount_90d,rank';
  return [header, ...a.rows.map((r) => [r.customer_id, r.email, r.promo_appetence, r.promo_label, r.expected_spend_90d, r.expected_discount_90d, r.rank].map(csvField).join(','))].join('\n') + '\n';
}

/** One line: the conditions, the size, the expected spend and, with a discount, the margin it would give away. */
export function promotionAudienceSummary(a: PromotionAudience, currency: string): string {
  const spend = a.expectedSpend === null ? 'no expected spend' : `expected spend ${formatMoney(a.expectedSpend, currency)} in the next ${MARGIN_DAYS} days`;
  let margin = '';
  if (a.averageDiscount !== null) {
    const what = 'share' in a.averageDiscount ? `a ${Math.round(a.averageDiscount.share * 1000) / 10}% discount` : `${formatMoney(a.averageDiscount.money, currency)} off each purchase`;
    margin = a.marginGivenAway === null ? `; ${what}: margin given away unknown (no expected spend)` : `; ${what} would give away ${formatMoney(a.marginGivenAway, currency)}`;
  }
  return `audience (${a.conditions}): ${a.size.toLocaleString('en')} customers, ${spend}${margin} (scores as of ${a.asOf.slice(0, 10)}, run ${a.runId})`;
}
